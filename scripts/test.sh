#!/usr/bin/env bash
# Runs the whole test suite: unit, behaviour, property, vector and Redis
# and PostgreSQL tests (every feature), then the doc tests. Starts Redis and
# PostgreSQL if none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_URL=$(bash scripts/ensure-redis.sh)
export REDIS_URL
echo "Redis tests use $REDIS_URL" >&2
POSTGRES_URL=$(bash scripts/ensure-postgres.sh)
export POSTGRES_URL
echo "PostgreSQL tests use $POSTGRES_URL" >&2
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast
else
  cargo test --workspace --all-features --no-fail-fast --lib --bins --tests --examples
fi
cargo test --workspace --all-features --doc
