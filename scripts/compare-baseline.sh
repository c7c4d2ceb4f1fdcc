#!/usr/bin/env bash
# Side by side in one run: this checkout against an earlier commit of the
# crate (default: the commit the 1.0 reshape started from), and against the
# `standardwebhooks` crate. Builds a throwaway cargo project under
# ${CARGO_TARGET_DIR:-target}/compare that depends on both versions of
# tower-webhook (the old one from this repository's git history), and runs
# scripts/compare/main.rs in release mode: Standard Webhooks verification
# (read + verify, as the layer does) at 64 B, 1 KiB, 16 KiB and 1 MiB, and
# the memory store's reserve + commit with 1 M live ids. Arms are
# interleaved round by round; medians of the rounds are printed.
#
#   bash scripts/compare-baseline.sh            # against 8a8de61
#   bash scripts/compare-baseline.sh <rev>      # against another commit
#   ROUNDS=41 bash scripts/compare-baseline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REV=${1:-8a8de61}
REPO=$(pwd)
DIR=${CARGO_TARGET_DIR:-$REPO/target}/compare
mkdir -p "$DIR/src"
cat >"$DIR/Cargo.toml" <<TOML
[package]
name = "tower-webhook-compare"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
old = { package = "tower-webhook", git = "file://$REPO", rev = "$REV" }
new = { package = "tower-webhook", path = "$REPO" }
standardwebhooks = "1"
serde_json = "1"
http = "1"
bytes = "1"
hmac = "0.13"
sha2 = "0.11"
base64 = "0.23"
tokio = { version = "1", features = ["rt"] }
tower = { version = "0.5", features = ["util"] }
http-body-util = "0.1"

[profile.release]
debug = 1
TOML
cp scripts/compare/main.rs "$DIR/src/main.rs"
echo "# baseline $REV ($(git log -1 --format='%h %s' "$REV" | cut -c1-70)) vs this checkout ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', with uncommitted changes'))"
echo "# machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
CARGO_TARGET_DIR="$DIR/target" cargo run --release -q --manifest-path "$DIR/Cargo.toml"
