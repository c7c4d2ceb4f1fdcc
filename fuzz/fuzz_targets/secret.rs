//! Secret and key parsing: `Secret::standard`, `Secret::from_text`,
//! `Secret::from_bytes`, and a scheme keyed with whatever parsed.
//!
//! Asserts: no panic; `Debug` of secrets, rings and schemes is the fixed
//! redacted form; error messages match their templates (digits aside), so
//! they can never quote the input; a parsed key signs exactly like the
//! reference HMAC with the same bytes; `from_text` keys are the trimmed text.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use fuzz_support::reference_signature;
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{Context, Scheme, Sign, StandardWebhooks, Tolerance};
use tower_webhook::secret::{KeyRing, Secret, SecretError};

/// The message with every run of digits replaced by `N`.
fn shape(msg: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

fn allowed_shapes() -> Vec<String> {
    let mut all = vec![
        SecretError::Empty.to_string(),
        SecretError::EmptyRing.to_string(),
        SecretError::TooShort { len: 1, min: 16 }.to_string(),
    ];
    for prefix in ["", "whsec_"] {
        for reason in [
            "invalid character at offset 1",
            "invalid length 1",
            "invalid last symbol at offset 1",
            "invalid padding",
        ] {
            all.push(
                SecretError::InvalidBase64 {
                    prefix,
                    reason: reason.to_owned(),
                }
                .to_string(),
            );
        }
    }
    all.iter().map(|m| shape(m)).collect()
}

fn check_error(e: &SecretError) {
    let msg = shape(&e.to_string());
    assert!(
        allowed_shapes().contains(&msg),
        "unexpected error text: {msg}"
    );
}

fn check_secret(s: &Secret) {
    assert_eq!(
        format!("{s:?}"),
        format!("Secret(<redacted, {} bytes>)", s.len())
    );
    let ring = KeyRing::single(s.clone());
    assert_eq!(format!("{ring:?}"), "KeyRing { secrets: 1 }");
}

/// A scheme over `secret` signs like the reference HMAC keyed with its bytes.
fn check_signs_like_reference(secret: &Secret) {
    let scheme = StandardWebhooks::from_ring(&KeyRing::single(secret.clone()))
        .expect("a non-empty secret keys a scheme");
    assert_eq!(
        format!("{scheme:?}"),
        "StandardWebhooks { keys: Keyed { keys: 1, .. } }"
    );
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut req = http::Request::post("/")
        .body(bytes::Bytes::from_static(b"{}"))
        .expect("request");
    scheme.sign(&mut req, "msg_1", now).expect("signs");
    let expected = reference_signature(secret.expose_secret(), b"msg_1", b"1700000000", b"{}");
    assert_eq!(
        req.headers()["webhook-signature"],
        format!("v1,{expected}").as_str()
    );
    let (head, body) = req.into_parts();
    assert!(
        scheme
            .check(&head, &body, &Context::new(now, Tolerance::default()))
            .is_ok()
    );
}

fuzz_target!(|data: &[u8]| {
    match Secret::from_bytes(data.to_vec()) {
        Ok(s) => {
            assert_eq!(s.expose_secret(), data);
            check_secret(&s);
        }
        Err(e) => {
            assert!(data.is_empty());
            check_error(&e);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match Secret::from_text(text) {
        Ok(s) => {
            assert_eq!(s.expose_secret(), text.trim().as_bytes());
            check_secret(&s);
        }
        Err(e) => {
            assert!(text.trim().is_empty());
            check_error(&e);
        }
    }

    match Secret::standard(text) {
        Ok(s) => {
            assert!(s.len() >= 16);
            // Independently: the trimmed text, minus the prefix, is base64
            // (standard or URL-safe alphabet, padding optional) of the key.
            let t = text.trim();
            let encoded = t.strip_prefix("whsec_").unwrap_or(t);
            let unpadded = encoded.trim_end_matches('=');
            let std_ok = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .ok();
            let url_ok = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(unpadded)
                .ok();
            assert!(
                std_ok.as_deref() == Some(s.expose_secret())
                    || url_ok.as_deref() == Some(s.expose_secret()),
                "decoded key differs from the reference decoding"
            );
            check_secret(&s);
            check_signs_like_reference(&s);
        }
        Err(e) => check_error(&e),
    }

    match StandardWebhooks::new(text) {
        Ok(scheme) => {
            assert_eq!(
                format!("{scheme:?}"),
                "StandardWebhooks { keys: Keyed { keys: 1, .. } }"
            )
        }
        Err(e) => check_error(&e),
    }
});
