#!/usr/bin/env bash
# Runs every measurement BENCHMARKS.md quotes, in one go, and prints the
# machine, its load before each part, and Markdown tables. Nothing here runs
# in CI (CI only builds the benches: cargo bench --workspace --no-run).
#
#   scripts/bench.sh 2>&1 | tee bench-results.md
#   REDIS=1 scripts/bench.sh            # the load test also runs on RedisStore
set -euo pipefail
cd "$(dirname "$0")/.."

echo "## Machine"
echo
echo '```'
lscpu | grep -E '^(Model name|CPU family|Model:|CPU\(s\)|Thread|Core|Socket|L2|L3|Hypervisor)'
echo "nproc: $(nproc)"
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo '?')"
rustc --version
git log -1 --format='commit %h %s'
echo '```'

cargo bench --workspace --no-run -q 2>/dev/null || cargo bench --workspace --no-run

part() {
  echo
  echo "## $1"
  echo
  echo "uptime: $(uptime)"
}

part "Verification against peers"
cargo bench -q -p bench-peers --bench peers -- --ratios
part "Verification of each preset against its bare HMAC"
cargo bench -q --bench verify -- --ratios
part "The whole layer in process"
cargo bench -q --bench layer -- --ratios
part "Memory store"
cargo bench -q --bench memory_store -- --ratios
echo
cargo run -q --release -p bench-peers --bin store_bytes
echo
cargo run -q --release -p bench-peers --bin store_tail
part "Loopback load test"
MODES="bare layer layer-nostore" bash scripts/loadtest.sh
echo
echo "uptime at the end: $(uptime)"
