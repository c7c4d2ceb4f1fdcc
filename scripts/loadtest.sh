#!/usr/bin/env bash
# Loopback load test: the axum app whose handler does nothing, with the
# webhook layer (memory store, typed payload) and without it, 1 KiB bodies,
# every request a fresh signed event. The server runs on core 0 (one tokio
# thread), wrk on core 1. Runs alternate bare / bare-body / layer PAIRS times so that all
# see the same machine load; prints one line per run and a summary table.
# Bounded: each run lasts DURATION seconds, and the server is killed after it.
# Only 127.0.0.1 is used.
#
#   scripts/loadtest.sh                 # defaults below
#   PAIRS=5 DURATION=10 CONNECTIONS=32 scripts/loadtest.sh
#   REDIS=1 scripts/loadtest.sh         # also the layer on RedisStore
#                                       # (scripts/ensure-redis.sh finds or starts a Redis)
#   BASELINES="8a8de61 6831bdb" scripts/loadtest.sh
#                                       # also the layer as built at each commit (a git
#                                       # worktree under $TARGET/loadtest-at), run as mode
#                                       # "at-<commit>" in the same alternation: side by side
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-3}
REDIS=${REDIS:-0}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-39871}
RATE_GUESS=${RATE_GUESS:-160000}  # requests per second to pre-sign for (the layer must not run out)
TARGET=${CARGO_TARGET_DIR:-target}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p bench-peers --bin bench_server --bin gen_requests
BIN="$TARGET/release"
TARGET_ABS=$(cd "$TARGET" && pwd)
at_server() { # commit -> path of the bench_server built at that commit
  local dir="$TARGET_ABS/loadtest-at/$1"
  if [ ! -e "$dir/Cargo.toml" ]; then
    git worktree remove --force "$dir" 2>/dev/null || rm -rf "$dir"
    git worktree add --detach "$dir" "$1" >/dev/null
  fi
  (cd "$dir" && CARGO_TARGET_DIR="$TARGET_ABS/loadtest-at/target" cargo build --release -q -p bench-peers --bin bench_server)
  mkdir -p "$TARGET_ABS/loadtest-at/bin"
  cp "$TARGET_ABS/loadtest-at/target/release/bench_server" "$TARGET_ABS/loadtest-at/bin/$1"
  echo "$TARGET_ABS/loadtest-at/bin/$1"
}
AT_MODES=
for c in ${BASELINES:-}; do
  at_server "$c" >/dev/null
  echo "# at-$c: the layer at $(git log --oneline -1 "$c")"
  AT_MODES="$AT_MODES at-$c"
done

echo "# machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "# $PAIRS pairs of ${DURATION}s runs, $CONNECTIONS connections, 1 wrk thread; server on core 0, wrk on core 1"

run() { # mode -> one LT line
  local mode=$1 server="$BIN/bench_server" served=$1
  # at-<commit>: the layer mode, served by the build of that commit.
  if [ "${mode#at-}" != "$mode" ]; then server="$TARGET_ABS/loadtest-at/bin/${mode#at-}"; served=layer; fi
  # Fresh ids for every run (the layer's store would answer repeats with 200).
  "$BIN/gen_requests" "$WORK/reqs" $((RATE_GUESS * DURATION))
  taskset -c 0 "$server" "$served" "$PORT" 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  local load cpu0 cpu1 out
  load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)
  # Server CPU time (user + system, clock ticks) around the run: on a shared
  # machine the CPU time per request is steadier than requests per second.
  cpu0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
  out=$(timeout $((DURATION + 60)) taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
    -s scripts/loadtest.lua "http://127.0.0.1:$PORT/webhook" -- "$WORK/reqs" 1 | grep '^LT ')
  cpu1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  local reqs
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
  echo "$mode $out server_cpu_us_per_req=$(( (cpu1 - cpu0) * 1000000 / $(getconf CLK_TCK) / (reqs > 0 ? reqs : 1) )) server_busy_pct=$(( (cpu1 - cpu0) * 100 / $(getconf CLK_TCK) / DURATION )) load=$load"
}

: >"$WORK/results"
MODES="${MODES:-"bare bare-body layer"}$AT_MODES"
if [ "$REDIS" = 1 ]; then
  REDIS_URL=$(bash scripts/ensure-redis.sh)
  export REDIS_URL
  echo "# layer-redis uses $REDIS_URL (its server is not pinned)"
  MODES="$MODES layer-redis"
fi
for i in $(seq "$PAIRS"); do
  for mode in $MODES; do run "$mode" | tee -a "$WORK/results"; done
done

# Summary: medians per mode, and the ratios layer / bare.
awk '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ m = $1; if (!(m in seen)) { seen[m] = 1; modes[++nm] = m } for (k = 2; k <= NF; k++) { split($k, kv, "="); v[m, kv[1], ++c[m, kv[1]]] = kv[2] } }
END {
  split("rps p50_us p99_us server_cpu_us_per_req server_busy_pct", keys, " ")
  printf "\n| app | req/s | p50 µs | p99 µs | server CPU µs/req | server core busy %% | non-2xx | wraps |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
  for (mi = 1; mi <= nm; mi++) { m = modes[mi]; if (!((m, "rps") in c)) continue
    for (ki = 1; ki <= 5; ki++) { n = c[m, keys[ki]]; delete a; for (i = 1; i <= n; i++) a[i] = v[m, keys[ki], i]; med[m, keys[ki]] = median(a, n) }
    nx = 0; w = 0; for (i = 1; i <= c[m, "non2xx"]; i++) { nx += v[m, "non2xx", i]; w += v[m, "wraps", i] }
    printf "| %s | %.0f | %d | %d | %d | %d | %d | %d |\n", m, med[m, "rps"], med[m, "p50_us"], med[m, "p99_us"], med[m, "server_cpu_us_per_req"], med[m, "server_busy_pct"], nx, w }
  printf "\n(medians over the runs)\n"
  printf "\nlayer / bare: throughput %.3f (bar >= 0.80), p99 %.3f (bar <= 1.30)\n",
    med["layer", "rps"] / med["bare", "rps"], med["layer", "p99_us"] / med["bare", "p99_us"]
  printf "layer / bare: server CPU per request %.3f\n", med["layer", "server_cpu_us_per_req"] / med["bare", "server_cpu_us_per_req"]
  if (("bare-body", "rps") in c)
    printf "layer / bare-body (reads and parses the body itself): throughput %.3f, p99 %.3f, server CPU per request %.3f\n",
      med["layer", "rps"] / med["bare-body", "rps"], med["layer", "p99_us"] / med["bare-body", "p99_us"],
      med["layer", "server_cpu_us_per_req"] / med["bare-body", "server_cpu_us_per_req"]
  for (mi = 1; mi <= nm; mi++) if (modes[mi] ~ /^at-/)
    printf "layer / %s: throughput %.3f, p99 %.3f, server CPU per request %.3f\n", modes[mi],
      med["layer", "rps"] / med[modes[mi], "rps"], med["layer", "p99_us"] / med[modes[mi], "p99_us"],
      med["layer", "server_cpu_us_per_req"] / med[modes[mi], "server_cpu_us_per_req"]
  if (("layer-redis", "rps") in c)
    printf "layer-redis / bare: throughput %.3f, p99 %.3f, server CPU per request %.3f\n",
      med["layer-redis", "rps"] / med["bare", "rps"], med["layer-redis", "p99_us"] / med["bare", "p99_us"],
      med["layer-redis", "server_cpu_us_per_req"] / med["bare", "server_cpu_us_per_req"]
}' "$WORK/results"
