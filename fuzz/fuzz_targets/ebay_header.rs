//! eBay's `X-EBAY-SIGNATURE` header (`Ebay::read`) and the verification of
//! the raw body against a key given in advance (`Ebay::public_key`).
//!
//! Input: 1 mode byte, then data. Mode (mod 3): 0 the data is the header
//! value; 1 the data is the JSON inside the base64 (encoded here); 2 the
//! data is a body, signed with the test key, then one byte of the body or
//! of the header (chosen by the first two data bytes) is flipped.
//!
//! Asserts: no panic; what `read` accepts, an independent reader
//! (`serde_json` + `base64`, written here) reads too, with the same `kid`,
//! `digest` and signature bytes, and a header re-encoded from the parsed
//! fields reads back to the same fields; a body signed by the test key
//! verifies and delivers its `notificationId`; with any single byte
//! flipped (body or header) it no longer verifies, unless the flipped
//! header still decodes to the same kid and signature.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{Context, Ebay, Scheme, Tolerance, Verdict, VerifyError};
use tower_webhook::sign::Signer;

/// The test key: the P-256 scalar 0x42 × 32 and its public key.
const SCALAR: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
const SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOtOGGpViE5JRa7WT7wVYPtLlhm9ctiYKMBcjf9ibkK/Qlhx+NwdaZ5GjnGH1YpWwK20mVnthXmCqQe4cjoM4jQ==";
const KID: &str = "fuzz-kid-1";
const HEADER: &str = "x-ebay-signature";

/// What the independent reader finds: kid, digest (normalised), DER bytes.
fn reference(value: &str) -> Option<(String, Option<&'static str>, Vec<u8>)> {
    let json = STANDARD.decode(value.trim()).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let o = v.as_object()?;
    let kid = o.get("kid")?.as_str()?;
    let sig = STANDARD.decode(o.get("signature")?.as_str()?).ok()?;
    let digest = match o.get("digest") {
        None | Some(serde_json::Value::Null) => None,
        Some(d) => match d.as_str()?.to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Some("SHA1"),
            "SHA256" | "SHA-256" => Some("SHA256"),
            _ => return None,
        },
    };
    Some((kid.to_owned(), digest, sig))
}

fn head(value: &[u8]) -> Option<http::request::Parts> {
    let (head, ()) = http::Request::post("/ebay")
        .header(HEADER, http::HeaderValue::from_bytes(value).ok()?)
        .body(())
        .ok()?
        .into_parts();
    Some(head)
}

fn ctx() -> Context {
    Context::new(
        UNIX_EPOCH + Duration::from_secs(1_900_000_000),
        Tolerance::default(),
    )
}

fn receiver() -> Ebay {
    Ebay::new("id", "secret")
        .and_then(|e| e.public_key(KID, SPKI))
        .expect("the test key")
}

fn check_header(value: &[u8]) {
    let Some(head) = head(value) else { return };
    let scheme = receiver();
    let Ok(read) = scheme.read(&head, &ctx()) else {
        return;
    };
    let text = std::str::from_utf8(value).expect("an accepted header is text");
    let (kid, digest, der) = reference(text).expect("the reference reads what read accepts");
    assert_eq!(read.kid(), kid);
    assert_eq!(read.digest(), digest);
    // Strict DER: the signature the crate holds re-encodes to the same bytes.
    let canonical = read.signature_der();
    assert_eq!(canonical, der);
    // Re-encoded from its fields, the header reads back to the same fields.
    let mut fields = serde_json::json!({
        "alg": "ecdsa",
        "kid": read.kid(),
        "signature": STANDARD.encode(&canonical),
    });
    if let Some(d) = read.digest() {
        fields["digest"] = d.into();
    }
    let again = STANDARD.encode(fields.to_string());
    let head = head_of(&again);
    let reread = scheme
        .read(&head, &ctx())
        .expect("a re-encoded header reads");
    assert_eq!(reread.kid(), read.kid());
    assert_eq!(reread.digest(), read.digest());
    assert_eq!(reread.signature_der(), canonical);
}

fn head_of(value: &str) -> http::request::Parts {
    head(value.as_bytes()).expect("base64 is a valid header value")
}

fn check_signed(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let (pick, body) = data.split_at(2);
    let sender = Ebay::new("id", "secret")
        .and_then(|e| e.signing_key(SCALAR, KID))
        .expect("the test key");
    let Ok(request) = Signer::new(&sender).request("/ebay", Bytes::copy_from_slice(body)) else {
        return;
    };
    let (head, body) = request.into_parts();
    let scheme = receiver();
    match scheme.check(&head, &body, &ctx()) {
        Ok(Verdict::Deliver(envelope)) => {
            // The id is the body's notificationId when it has one.
            let id = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.pointer("/notification/notificationId")?
                        .as_str()
                        .map(str::to_owned)
                });
            if envelope.id.is_some() {
                assert_eq!(envelope.id, id);
            }
        }
        // A notificationId the crate refuses as an event id.
        Err(VerifyError::MalformedBody { .. }) => return,
        other => panic!("a body signed by the test key was refused: {other:?}"),
    }
    let value = head.headers[HEADER].as_bytes().to_vec();
    let at = usize::from(u16::from_le_bytes([pick[0], pick[1]]));
    let total = body.len() + value.len();
    let at = at % total;
    if at < body.len() {
        let mut flipped = body.to_vec();
        flipped[at] ^= 0x01;
        let verdict = scheme.check(&head, &flipped, &ctx());
        assert!(verdict.is_err(), "a flipped body byte at {at} verified");
    } else {
        let mut flipped = value.clone();
        flipped[at - body.len()] ^= 0x01;
        let Some(bad) = head_of_bytes(&flipped) else {
            return;
        };
        if scheme.check(&bad, &body, &ctx()).is_ok() {
            // Only a flip the base64 or JSON reader ignores may verify.
            let before = reference(std::str::from_utf8(&value).expect("base64"));
            let after = std::str::from_utf8(&flipped).ok().and_then(reference);
            assert_eq!(before.map(|b| (b.0, b.2)), after.map(|a| (a.0, a.2)));
        }
    }
}

fn head_of_bytes(value: &[u8]) -> Option<http::request::Parts> {
    head(value)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check_header(rest),
        1 => check_header(STANDARD.encode(rest).as_bytes()),
        _ => check_signed(rest),
    }
});
