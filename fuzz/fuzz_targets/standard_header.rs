//! Standard Webhooks header parsing and verification over arbitrary header
//! values, differentially against an independent reference.
//!
//! Input: `id \n timestamp \n signature \n body` (the body is the rest and may
//! hold newlines; a missing line means a missing header). The scheme uses the
//! official vector's secret, the clock stands at the vector's timestamp.
//!
//! Asserts: no panic; `read` (the head, once) then `verify` (the body
//! against what was read) gives the same result as the one-call `check`, and
//! a head `read` refuses is refused with `read`'s error (before the reshape:
//! `check_head` refusing implied `verify` refusing the same way); the
//! scheme accepts exactly when the spec-following reference
//! (HMAC-SHA256 over `{id}.{ts}.{body}` with the hmac/sha2 crates, canonical
//! timestamp within 300 s, 1 to 32 entries, id of 1 to 256 visible bytes
//! without `.`)
//! does; errors never quote the secret or a signature.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use fuzz_support::{
    NOW, SECRET, SECRET_B64, TOLERANCE_SECS, canonical_seconds, is_visible_ascii, key, lists_v1,
    reference_signature,
};
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance, Verdict};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let id = parts.next();
    let ts = parts.next();
    let sig = parts.next();
    let body = parts.next().unwrap_or(&[]);

    let mut builder = Request::post("/webhook");
    for (name, value) in [
        ("webhook-id", id),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ] {
        if let Some(v) = value {
            match HeaderValue::from_bytes(v) {
                Ok(hv) => builder = builder.header(name, hv),
                // Not a value an HTTP stack would hand over (control bytes).
                Err(_) => return,
            }
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (head, ()) = request.into_parts();

    let scheme = StandardWebhooks::new(SECRET).expect("the vector's secret is valid");
    let ctx = Context::new(
        UNIX_EPOCH + Duration::from_secs(NOW as u64),
        Tolerance::default(),
    );
    // As the layer does: the head read once, the body verified against it.
    let early = scheme.read(&head, &ctx);
    let early_err = early.as_ref().err().cloned();
    let verified = early
        .and_then(|read| scheme.verify(&head, read, body, &ctx))
        .map(Verdict::envelope);
    let checked = scheme.check(&head, body, &ctx).map(Verdict::envelope);
    if let Some(e) = &early_err {
        assert_eq!(
            checked.as_ref().err(),
            Some(e),
            "read refused, check did not"
        );
    }
    assert_eq!(checked, verified, "check and read + verify disagree");

    let (id, ts, sig) = (id.unwrap_or(&[]), ts.unwrap_or(&[]), sig.unwrap_or(&[]));
    let expected = reference_signature(&key(), id, ts, body);
    let entries = sig.split(|&b| b == b' ').filter(|e| !e.is_empty()).count();
    let reference_accepts = !id.is_empty()
        && id.len() <= 256
        && id.iter().all(|&b| is_visible_ascii(b) && b != b'.')
        && canonical_seconds(ts).is_some_and(|t| (t - NOW).abs() <= TOLERANCE_SECS)
        && sig.iter().all(|&b| is_visible_ascii(b))
        && (1..=32).contains(&entries)
        && lists_v1(sig, &expected);
    assert_eq!(
        verified.is_ok(),
        reference_accepts,
        "scheme and reference disagree: {verified:?}"
    );

    match &verified {
        Ok(envelope) => {
            let envelope = envelope
                .as_ref()
                .expect("a delivery, never a handshake's answer");
            assert_eq!(envelope.id.as_deref().map(str::as_bytes), Some(id));
            let secs = canonical_seconds(ts).expect("accepted, so canonical");
            assert_eq!(
                envelope.timestamp,
                Some(UNIX_EPOCH + Duration::from_secs(secs as u64))
            );
        }
        Err(e) => {
            let msg = format!("{e} {e:?}");
            assert!(!msg.contains(SECRET_B64), "{msg}");
            assert!(!msg.contains(&expected), "{msg}");
            for entry in sig.split(|&b| b == b' ') {
                // A signature entry is `version,signature`; entries without
                // a comma can equal template text (a header name) and prove
                // nothing when found in a message.
                if entry.len() >= 16
                    && entry.contains(&b',')
                    && !entry.contains(&b'`')
                    && let Ok(entry) = std::str::from_utf8(entry)
                {
                    assert!(
                        !msg.contains(entry),
                        "error quotes a signature entry: {msg}"
                    );
                }
            }
        }
    }
});
