#!/usr/bin/env bash
# Runs the README's demo for real: the receiver on a free port, the sender
# against it, and checks what the receiver printed on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --features redis,discord,salesforce --example receiver --example send
bin=${CARGO_TARGET_DIR:-target}/debug/examples
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$(mktemp); err=$(mktemp)
WEBHOOK_BIND=127.0.0.1:$port $bin/receiver >"$out" 2>"$err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out" "$err"' EXIT
for _ in $(seq 1 100); do
  grep -q "receiving webhooks" "$err" && break
  sleep 0.1
done
send() { WEBHOOK_URL=http://127.0.0.1:$port/webhook $bin/send "$@" 2>/dev/null; }
fail() { echo "demo smoke test failed: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }

[ "$(send --id msg_smoke '{"type":"invoice.paid"}')" = "204 No Content" ] || fail "first delivery"
[ "$(send --id msg_smoke '{"type":"invoice.paid"}')" = "200 OK" ] || fail "duplicate"
[ "$(send --timestamp 1000 '{"type":"x"}')" = "401 Unauthorized" ] || fail "stale timestamp"
[ "$(WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw send '{"type":"x"}')" = "401 Unauthorized" ] || fail "wrong secret"
sleep 0.2
[ "$(wc -l <"$out")" -eq 1 ] || fail "expected exactly one line on stdout"
[ "$(cat "$out")" = '{"event":"invoice.paid","id":"msg_smoke","payload":{"type":"invoice.paid"}}' ] || fail "unexpected stdout line"
grep -q "development secret" "$err" || fail "no warning about the development secret"
kill $pid 2>/dev/null || true

# Every preset: the receiver started with WEBHOOK_SCHEME, the sender signing
# with the same settings; a first delivery is handled, a copy is not. The
# secret is the development one (WEBHOOK_SECRET unset).
dev_secret=whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=
presets="standard stripe github shopify slack square hubspot paddle pagerduty twilio gitlab dropbox linear typeform calendly zoom intercom mailgun twitch meta linkedin"
# GET /webhook$1: prints the body, then the status and the content type.
get() { curl -s -w ' %{http_code} %{content_type}' "http://127.0.0.1:$port/webhook$1"; }
for scheme in $presets; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  : >"$out"; : >"$err"
  export WEBHOOK_SCHEME=$scheme WEBHOOK_BIND=127.0.0.1:$port WEBHOOK_PUBLIC_URL=http://127.0.0.1:$port/webhook
  export WEBHOOK_VERIFY_TOKEN=smoke-verify-token
  $bin/receiver >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q "receiving webhooks" "$err" && break; sleep 0.05; done
  # The endpoint verification requests, answered by the layer itself.
  case $scheme in
    meta)
      [ "$(get "?hub.mode=subscribe&hub.verify_token=smoke-verify-token&hub.challenge=1158201444")" = "1158201444 200 text/plain" ] \
        || fail "meta: verification request"
      [[ "$(get "?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444")" = *" 405 "* ]] \
        || fail "meta: wrong verify token answered"
      ;;
    linkedin)
      code=890e4665-4dfe-4ab1-b689-ed553bceeed0
      mac=$(python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$dev_secret" "$code")
      [ "$(get "?challengeCode=$code")" = "{\"challengeCode\":\"$code\",\"challengeResponse\":\"$mac\"} 200 application/json" ] \
        || fail "linkedin: challengeCode validation"
      [[ "$(get "?challengeCode=")" = *" 405 "* ]] || fail "linkedin: empty challengeCode answered"
      ;;
  esac
  # Linear signs a millisecond timestamp inside the body; the body carries
  # the event id where each body-id sender reads it (Stripe `id`, Slack and
  # Square `event_id`, Paddle `notification_id`, PagerDuty `event.id`,
  # LinkedIn `notificationId`). Senders without any event id get no `--id`
  # (the signer refuses an id a delivery would not carry).
  body="{\"id\":\"evt_$scheme\",\"event_id\":\"evt_$scheme\",\"notification_id\":\"evt_$scheme\",\"notificationId\":\"evt_$scheme\",\"event\":{\"id\":\"evt_$scheme\"},\"type\":\"x\",\"webhookTimestamp\":$(date +%s%3N)}"
  case $scheme in
    hubspot|dropbox|calendly|zoom|meta) idarg=() ;;
    *) idarg=(--id "evt_$scheme") ;;
  esac
  [ "$(send "${idarg[@]}" "$body")" = "204 No Content" ] || fail "$scheme: first delivery"
  if [ "$scheme" = dropbox ]; then
    # Dropbox's notifications legitimately repeat ("this account changed"):
    # its dedup is off, so the copy is handled too.
    [ "$(send "${idarg[@]}" "$body")" = "204 No Content" ] || fail "$scheme: repeated notification"
    lines=2
  else
    [ "$(send "${idarg[@]}" "$body")" = "200 OK" ] || fail "$scheme: duplicate"
    lines=1
  fi
  sleep 0.1
  [ "$(wc -l <"$out")" -eq "$lines" ] || fail "$scheme: expected $lines line(s) on stdout"
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
done
unset WEBHOOK_SCHEME WEBHOOK_BIND WEBHOOK_PUBLIC_URL WEBHOOK_VERIFY_TOKEN

# Discord: the receiver holds the application's public key (hex); the sender
# signs with a test secret key (RFC 8032 TEST 1's seed followed by its
# public key). PINGs are answered PONG only when their signature verifies.
discord_public=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
discord_pair=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60$discord_public
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: >"$out"; : >"$err"
WEBHOOK_SCHEME=discord WEBHOOK_SECRET=$discord_public WEBHOOK_BIND=127.0.0.1:$port $bin/receiver >"$out" 2>"$err" &
pid=$!
for _ in $(seq 1 100); do grep -q "receiving webhooks" "$err" && break; sleep 0.05; done
# The status on stdout; `send` prints a response body on stderr.
dsend() { WEBHOOK_SCHEME=discord WEBHOOK_SECRET=$discord_pair WEBHOOK_URL=http://127.0.0.1:$port/webhook $bin/send "$@"; }
ping='{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}'
[ "$(dsend "$ping" 2>&1 | tr '\n' ' ')" = '200 OK {"type":1} ' ] || fail "discord: PING not answered PONG"
bad=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Signature-Ed25519: $(printf '0%.0s' $(seq 1 128))" \
  -H "X-Signature-Timestamp: $(date +%s)" -H 'Content-Type: application/json' -d "$ping" "http://127.0.0.1:$port/webhook")
[ "$bad" = 401 ] || fail "discord: PING with a bad signature answered $bad"
command='{"id":"1180000000000000001","type":2,"data":{"name":"hello"}}'
[ "$(dsend "$command" 2>/dev/null)" = "204 No Content" ] || fail "discord: first command"
[ "$(dsend "$command" 2>/dev/null)" = "200 OK" ] || fail "discord: duplicate command"
[ "$(dsend --timestamp 1000 "$command" 2>/dev/null)" = "401 Unauthorized" ] || fail "discord: stale timestamp"
sleep 0.1
[ "$(wc -l <"$out")" -eq 1 ] || fail "discord: expected one line on stdout"
grep -q '"id":"1180000000000000001"' "$out" || fail "discord: unexpected stdout line"
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true

# Salesforce: the receiver allows one OrganizationId (WEBHOOK_SECRET); the
# message is the test fixture. The layer answers the SOAP acknowledgement,
# to the copy too, and refuses other orgs and DTDs.
org=00D5e000000KQ2eEAG
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: >"$out"; : >"$err"
WEBHOOK_SCHEME=salesforce WEBHOOK_SECRET=$org WEBHOOK_BIND=127.0.0.1:$port $bin/receiver >"$out" 2>"$err" &
pid=$!
for _ in $(seq 1 100); do grep -q "receiving webhooks" "$err" && break; sleep 0.05; done
ssend() { WEBHOOK_SCHEME=salesforce WEBHOOK_SECRET=$org WEBHOOK_URL=http://127.0.0.1:$port/webhook $bin/send "$@"; }
message=$(cat tests/vectors/salesforce/outbound_message.xml)
ack='<?xml version="1.0" encoding="UTF-8"?> <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"> <soapenv:Body> <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"> <Ack>true</Ack> </notificationsResponse> </soapenv:Body> </soapenv:Envelope>'
answer() { tr -s ' \n' ' ' | sed 's/ $//'; }
[ "$(ssend "$message" 2>&1 | answer)" = "200 OK $ack" ] || fail "salesforce: first message not acknowledged"
[ "$(ssend "$message" 2>&1 | answer)" = "200 OK $ack" ] || fail "salesforce: copy not acknowledged"
[ "$(ssend "${message//$org/00D000000000001EAA}" 2>/dev/null)" = "401 Unauthorized" ] || fail "salesforce: other org accepted"
[ "$(ssend "<!DOCTYPE x [<!ENTITY a \"b\">]>$message" 2>/dev/null)" = "401 Unauthorized" ] || fail "salesforce: DTD accepted"
sleep 0.1
[ "$(wc -l <"$out")" -eq 1 ] || fail "salesforce: expected one line on stdout"
grep -q '"id":\["04l5e00000Gx7QzAAJ","04l5e00000Gx7R0AAJ"\]' "$out" || fail "salesforce: unexpected stdout line"
grep -q "FakeSessionId" "$out" "$err" && fail "salesforce: the SessionId was printed"
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true

# Two replicas sharing Redis (WEBHOOK_REDIS_URL): a copy that lands on the
# other replica is recognised.
redis_url=$(bash scripts/ensure-redis.sh)
pa=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pb=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: >"$out"; : >"$err"
WEBHOOK_REDIS_URL=$redis_url WEBHOOK_BIND=127.0.0.1:$pa $bin/receiver >>"$out" 2>>"$err" &
pid=$!
WEBHOOK_REDIS_URL=$redis_url WEBHOOK_BIND=127.0.0.1:$pb $bin/receiver >>"$out" 2>"$err.b" &
pid_b=$!
trap 'kill $pid $pid_b 2>/dev/null || true; rm -f "$out" "$err" "$err.b"' EXIT
for _ in $(seq 1 100); do
  grep -q "receiving webhooks" "$err" && grep -q "receiving webhooks" "$err.b" && break
  sleep 0.05
done
id="evt_replicas_$(date +%s%N)"
port=$pa; [ "$(send --id "$id" '{"type":"x"}')" = "204 No Content" ] || fail "replica A: first delivery"
port=$pb; [ "$(send --id "$id" '{"type":"x"}')" = "200 OK" ] || fail "replica B: copy not recognised"
sleep 0.1
[ "$(wc -l <"$out")" -eq 1 ] || fail "replicas: expected one line on stdout"
echo "demo smoke test: standard checks, $(echo $presets | wc -w) presets (with the meta and linkedin verification requests), discord (PING, PONG only when verified), salesforce (acknowledgements, org allow-list) and two replicas on Redis hold"
