#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for a bounded time each.
#
#   bash scripts/fuzz.sh                 # 20 s per target
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh
#   FUZZ_TARGETS="layer roundtrip" bash scripts/fuzz.sh
#   FUZZ_SEED=0 FUZZ_SECONDS=600 bash scripts/fuzz.sh   # explore: a random seed
#
# Needs the nightly toolchain (libFuzzer's instrumentation); without it the
# script says so and exits 0. Installs cargo-fuzz when missing. Each run
# starts from the committed seeds (fuzz/seeds/<target>/) plus the local,
# ignored working corpus (fuzz/corpus/<target>/), with debug assertions and
# overflow checks on, a resident-memory cap (FUZZ_RSS_MB, default 1024;
# AddressSanitizer alone takes about 500), a cap on any single allocation
# (FUZZ_MALLOC_MB, default 64) and a 10 s per-input timeout. Exits non-zero
# if any target crashed, leaked, hung, went over a memory cap or failed to
# build; crash inputs land in fuzz/artifacts/<target>/.
#
# libFuzzer's seed is fixed (FUZZ_SEED, default 1), so that CI replays the
# same mutations on every clone and a red run means a change broke
# something, not that a new random walk found an old flaw on this one
# submission. Exploration is a separate, longer run with FUZZ_SEED=0 (a
# random seed); what it finds is fixed and kept in fuzz/seeds/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
rss_mb="${FUZZ_RSS_MB:-1024}"
malloc_mb="${FUZZ_MALLOC_MB:-64}"
seed="${FUZZ_SEED:-1}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (cargo +nightly); skipping the fuzz targets"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cd fuzz && cargo +nightly fuzz list)}"
echo "fuzz: building ${targets//$'\n'/ }" >&2
cargo +nightly fuzz build -O -a

failed=()
summary=()
for t in $targets; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/target/fuzz-$t.log"
  echo "== fuzz $t (${seconds} s)"
  if cargo +nightly fuzz run -O -a "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$seconds" -seed="$seed" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" \
      -max_len=4096 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
    summary+=("$t: ok, ${runs:-no stats}")
  else
    failed+=("$t")
    summary+=("$t: FAILED (log: $log)")
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$log" | head -20 || true
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in fuzz/artifacts/" >&2
  exit 1
fi
