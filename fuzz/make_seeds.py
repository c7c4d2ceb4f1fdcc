#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from the official test
vectors in tests/vectors/vectors.json (and a few hand-picked hostile
variants). Deterministic: re-running rewrites the same files.

Seeds added by hand (any file this script did not write) are kept: the
files it writes are listed in fuzz/seeds/GENERATED, and a re-run removes
only those before writing the new set.

    python3 fuzz/make_seeds.py
"""
import base64
import hashlib
import hmac
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
NOW = 1614265330  # the official vector's timestamp; fuzz_support::NOW

with open(os.path.join(ROOT, "tests", "vectors", "vectors.json")) as f:
    VECTORS = json.load(f)
ALL = VECTORS["official"] + VECTORS.get("third_party", [])
STANDARD = [
    v for v in ALL
    if v.get("scheme") == "v1 HMAC-SHA256"
    and ("standard-webhooks" in v["sender"] or "svix" in v["sender"])
]
assert STANDARD, "no Standard Webhooks v1 vector found"


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


MANIFEST = os.path.join(SEEDS, "GENERATED")
WRITTEN = []


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    WRITTEN.append(f"{target}/{name}")
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# Remove what the last run wrote (a seed it no longer writes must go), and
# nothing else: hand-added seeds stay.
if os.path.exists(MANIFEST):
    with open(MANIFEST) as f:
        for rel in f.read().split():
            path = os.path.join(SEEDS, rel)
            if os.path.isfile(path):
                os.remove(path)

# standard_header: id \n ts \n signature \n body
for n, v in enumerate(STANDARD):
    i, ts, sig, body = v["id"], v["timestamp"], v["signature_header"], v["body"]
    assert sign(v["secret"], i, ts, body.encode()) == sig.removeprefix("v1,")
    write("standard_header", f"vector{n}", f"{i}\n{ts}\n{sig}\n{body}")
    write("standard_header", f"vector{n}-noise",
          f"{i}\n{ts}\nv1a,AAAA v2,xyz {sig} v1,{'A' * 43}=\n{body}")
    write("standard_header", f"vector{n}-tampered-body", f"{i}\n{ts}\n{sig}\n{body} ")
    write("standard_header", f"vector{n}-plus-ts", f"{i}\n+{ts}\n{sig}\n{body}")
    write("standard_header", f"vector{n}-zero-ts", f"{i}\n0{ts}\n{sig}\n{body}")
    write("standard_header", f"vector{n}-fraction-ts", f"{i}\n{ts}.0\n{sig}\n{body}")
    write("standard_header", f"vector{n}-33-entries",
          f"{i}\n{ts}\n{'v1,x ' * 32}{sig}\n{body}")
    write("standard_header", f"vector{n}-dot-id", f"{i}.{ts}\n{ts}\n{sig}\n{body}")

# timestamp: now ms, past ms, future ms (LE), unit (even: seconds, odd:
# milliseconds; it was the digit limit, hence 12), text
def ts_seed(text, now_ms=NOW * 1000, past=300_000, future=300_000, unit=12):
    if isinstance(text, str):
        text = text.encode()
    return struct.pack("<qQQB", now_ms, past, future, unit) + text

for n, text in enumerate([str(NOW), "0", "+1614265330", "01614265330", "1614265330.5",
                          "-1614265330", "99999999999999999999999", "9223372036854775807",
                          "999999999999", "1614265630", "1614265631", " 1614265330", "1e9"]):
    write("timestamp", f"text{n}", ts_seed(text))
write("timestamp", "extremes-min", ts_seed("x", now_ms=-(2**63), past=2**64 - 1, future=0))
write("timestamp", "extremes-max", ts_seed("y", now_ms=2**63 - 1, past=0, future=2**64 - 1))
for n, text in enumerate([str(NOW * 1000), "999999999999999", "1000000000000000", "0" + str(NOW * 1000)]):
    write("timestamp", f"millis{n}", ts_seed(text, unit=1))
# Not canonical text: its first 8 bytes are the timestamp (ms, LE), written
# in RFC 3339 when before 1970 (the year 0 at the edges of the window).
YEAR0 = -62167219200000
for name, now_ms, ts in [("rfc3339-1969", -1000, -1500), ("rfc3339-year0", YEAR0, YEAR0),
                         ("rfc3339-year0-new", YEAR0 - 1, YEAR0)]:
    write("timestamp", name, ts_seed(struct.pack("<q", ts) + b"!", now_ms=now_ms, past=0, future=0))

# secret: every secret in the vectors, and Standard Webhooks variants
for n, v in enumerate(ALL):
    if isinstance(v.get("secret"), str):
        write("secret", f"vector{n}", v["secret"])
for n, s in enumerate(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                       "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=",
                       "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U",
                       "whsec_" + "-_" * 16, "whsec_", "whsec_c2hvcnQ=", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
                       "whsec_not base64!!", "whsec_" + "A" * 4096]):
    write("secret", f"variant{n}", s)

# body_limit: limit u16, frame, error_at, flags, cl_len, cl text, body
def body_seed(limit, frame, error_at, flags, cl=b"", body=b""):
    return struct.pack("<HBBBB", limit, frame, error_at, flags, len(cl)) + cl + body

b = STANDARD[0]["body"].encode()
write("body_limit", "fits-signed", body_seed(64, 7, 255, 1 | (1 << 1) | 8, body=b))
write("body_limit", "fits-unsigned", body_seed(64, 7, 255, 0, body=b))
write("body_limit", "over-chunked", body_seed(8, 3, 255, 1, body=b))
write("body_limit", "cl-lies-small", body_seed(64, 5, 255, 1 | (2 << 1), cl=b"1", body=b))
write("body_limit", "cl-huge", body_seed(64, 5, 255, 1 | (2 << 1), cl=b"18446744073709551616", body=b))
write("body_limit", "two-cl", body_seed(64, 5, 255, 1 | (3 << 1), cl=b"99999", body=b))
write("body_limit", "error-mid", body_seed(64, 4, 2, 1, body=b))
write("body_limit", "zero-limit", body_seed(0, 1, 255, 1, body=b""))

# layer: METHOD ADVANCE \n headers \n\n body, requests separated by \n~~~\n
def req(method="POST", advance=0, headers=(), body=""):
    lines = [f"{method} {advance}"] + [f"{k}: {v}" for k, v in headers]
    return "\n".join(lines) + "\n\n" + body

v = STANDARD[0]
good = [("webhook-id", v["id"]), ("webhook-timestamp", v["timestamp"]),
        ("webhook-signature", v["signature_header"])]
svix = [(k.replace("webhook-", "svix-"), x) for k, x in good]
templ = [("webhook-id", "msg_x"), ("webhook-timestamp", str(NOW)),
         ("webhook-signature", "v2,abc {{sig}} v1a,xyz"), ("content-type", "application/json")]
write("layer", "vector", req(headers=good, body=v["body"]))
write("layer", "vector-twice", "\n~~~\n".join([req(headers=good, body=v["body"])] * 2))
write("layer", "svix", req(headers=svix, body=v["body"]))
write("layer", "template", req(headers=templ, body='{"a":1}'))
write("layer", "template-fail-then-retry", "\n~~~\n".join([
    req(headers=templ, body="!fail"), req(advance=5, headers=templ, body="!fail"),
    req(advance=5, headers=templ, body="ok")]))
write("layer", "replay-after-window", "\n~~~\n".join([
    req(headers=good, body=v["body"]), req(advance=301, headers=good, body=v["body"]),
    req(advance=400, headers=good, body=v["body"])]))
write("layer", "get", req(method="GET", headers=good))
write("layer", "conflicting", req(headers=good + [("webhook-signature", "v1,AAAA")], body=v["body"]))
write("layer", "cl-over", req(headers=good + [("content-length", "100000")], body=v["body"]))
write("layer", "fill-store", "\n~~~\n".join(
    req(headers=[("webhook-id", f"msg_{i}"), ("webhook-timestamp", str(NOW)),
                 ("webhook-signature", "{{sig}}")], body="{}") for i in range(6)))

# roundtrip: before, after, target, bit u16, skew i8, id \0 body
rid = bytes((ord(c) - 0x21) for c in v["id"])
for target in range(5):
    write("roundtrip", f"target{target}",
          struct.pack("<BBBHb", 2, 3, target, 77, 0) + rid + b"\0" + v["body"].encode())
write("roundtrip", "many-noise", struct.pack("<BBBHb", 15, 15, 9, 0, -5) + rid + b"\0" + b"{}")

# presets: preset index, secret \n METHOD [?query] \n headers \n\n body. The order is
# scheme::PRESETS (from the senders branch); each preset gets the secret of a
# vector of its sender when there is one.
PRESETS = ["standard", "stripe", "github", "shopify", "slack", "square", "hubspot", "paddle",
           "pagerduty", "twilio", "gitlab", "dropbox", "linear", "typeform", "calendly",
           "zoom", "intercom", "mailgun", "twitch", "meta", "linkedin"]
for i, name in enumerate(PRESETS):
    secrets = [x["secret"] for x in ALL if isinstance(x.get("secret"), str)
               and name in x.get("sender", "").lower()]
    secret = secrets[0] if secrets else "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = next((x["body"] for x in ALL if name in x.get("sender", "").lower()
                 and isinstance(x.get("body"), str)), '{"type":"ping"}')
    write("presets", f"{i:02}-{name}",
          bytes([i]) + f"{secret}\nPOST\ncontent-type: application/json\n\n{body}".encode())

# The GET verification requests (`METHOD ?query`), answered before any body.
CHALLENGES = {
    "dropbox": "?challenge=abc123",
    "meta": "?hub.mode=subscribe&hub.verify_token=fuzz-verify-token&hub.challenge=1158201444",
    "linkedin": "?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0&applicationId=42",
}
for name, query in CHALLENGES.items():
    i = PRESETS.index(name)
    write("presets", f"{i:02}-{name}-challenge",
          bytes([i]) + f"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nGET {query}\n\n".encode())

# The asymmetric presets (features `ed25519`, `sendgrid`, enabled in the fuzz
# crate) come last in scheme::PRESETS; each seed is its official vector,
# headers included, so the fuzzer starts from a delivery that verifies.
ed = next(x for x in ALL if x.get("sender") == "svix (server)")
sg = next(x for x in ALL if x.get("sender") == "sendgrid")
ASYMMETRIC = [
    ("standard-ed25519", ed["secret"],
     [("webhook-id", ed["id"]), ("webhook-timestamp", ed["timestamp"]),
      ("webhook-signature", ed["signature_header"])], ed["body"]),
    ("sendgrid", sg["public_key"],
     [("x-twilio-email-event-webhook-signature", sg["signature_header"]),
      ("x-twilio-email-event-webhook-timestamp", sg["timestamp"])], sg["body"]),
]
for i, (name, key, headers, body) in enumerate(ASYMMETRIC, start=len(PRESETS)):
    lines = "".join(f"{k}: {v}\n" for k, v in headers)
    write("presets", f"{i:02}-{name}",
          bytes([i]) + f"{key}\nPOST\ncontent-type: application/json\n{lines}\n{body}".encode())

with open(MANIFEST, "w") as f:
    f.write("".join(f"{rel}\n" for rel in sorted(WRITTEN)))
print(len(WRITTEN), "seeds written under", SEEDS)
