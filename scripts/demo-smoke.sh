#!/usr/bin/env bash
# Runs the README's demo for real: the receiver on a free port, the sender
# against it, and checks what the receiver printed on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --example receiver --example send
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$(mktemp); err=$(mktemp)
WEBHOOK_BIND=127.0.0.1:$port target/debug/examples/receiver >"$out" 2>"$err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out" "$err"' EXIT
for _ in $(seq 1 100); do
  grep -q "receiving webhooks" "$err" && break
  sleep 0.1
done
send() { WEBHOOK_URL=http://127.0.0.1:$port/webhook target/debug/examples/send "$@" 2>/dev/null; }
fail() { echo "demo smoke test failed: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }

[ "$(send --id msg_smoke '{"type":"invoice.paid"}')" = "204 No Content" ] || fail "first delivery"
[ "$(send --id msg_smoke '{"type":"invoice.paid"}')" = "200 OK" ] || fail "duplicate"
[ "$(send --timestamp 1000 '{"type":"x"}')" = "401 Unauthorized" ] || fail "stale timestamp"
[ "$(WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw send '{"type":"x"}')" = "401 Unauthorized" ] || fail "wrong secret"
sleep 0.2
[ "$(wc -l <"$out")" -eq 1 ] || fail "expected exactly one line on stdout"
[ "$(cat "$out")" = '{"id":"msg_smoke","payload":{"type":"invoice.paid"}}' ] || fail "unexpected stdout line"
grep -q "development secret" "$err" || fail "no warning about the development secret"
echo "demo smoke test: all 6 checks hold"
