#!/usr/bin/env bash
# Makes sure a Redis server is reachable and prints the URL to use.
# Uses $REDIS_URL if it answers, else 127.0.0.1:6379, else starts
# redis-server on a free port (installing it from Debian's packages if
# missing). Diagnostics go to stderr; the URL is the only stdout line.
set -euo pipefail

ping() { redis-cli -u "$1" ping 2>/dev/null | grep -q PONG; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "redis-server not found; installing it from Debian's packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
fi

if [ -n "${REDIS_URL:-}" ] && ping "$REDIS_URL"; then
  echo "$REDIS_URL"; exit 0
fi
if ping "redis://127.0.0.1:6379"; then
  echo "redis://127.0.0.1:6379"; exit 0
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
echo "starting redis-server on 127.0.0.1:$port (data in $dir)" >&2
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "$dir" --logfile "$dir/redis.log" >&2
for _ in $(seq 1 50); do
  if ping "redis://127.0.0.1:$port"; then echo "redis://127.0.0.1:$port"; exit 0; fi
  sleep 0.1
done
echo "redis-server did not come up; see $dir/redis.log" >&2
exit 1
