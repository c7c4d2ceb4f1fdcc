#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable and prints the URL to use.
# Uses $POSTGRES_URL if it answers, else postgres@127.0.0.1:5432/test (the
# database `test` is created there if missing), else starts a private server
# on a free port from the installed binaries (installing Debian's postgresql
# if there are none). Diagnostics go to stderr; the URL is the only stdout
# line.
set -euo pipefail

answers() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if ! command -v psql >/dev/null || [ -z "$(bindir)" ]; then
  echo "PostgreSQL not found; installing it from Debian's packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi

if [ -n "${POSTGRES_URL:-}" ] && answers "$POSTGRES_URL"; then
  echo "$POSTGRES_URL"; exit 0
fi
for user in postgres root; do
  if answers "postgres://$user@127.0.0.1:5432/postgres"; then
    if ! answers "postgres://$user@127.0.0.1:5432/test"; then
      psql "postgres://$user@127.0.0.1:5432/postgres" -qc 'CREATE DATABASE test' >&2 || true
    fi
    if answers "postgres://$user@127.0.0.1:5432/test"; then
      echo "postgres://$user@127.0.0.1:5432/test"; exit 0
    fi
  fi
done

bin=$(bindir)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
# initdb refuses to run as root: run the server as the `postgres` user then.
as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
echo "starting PostgreSQL ($bin) on 127.0.0.1:$port (data in $dir)" >&2
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >&2 \
  || { cat "$dir/server.log" >&2; exit 1; }
psql "postgres://postgres@127.0.0.1:$port/postgres" -qc 'CREATE DATABASE test' >&2
echo "postgres://postgres@127.0.0.1:$port/test"
