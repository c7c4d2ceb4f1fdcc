//! AWS SNS messages: the body parser and the string to sign
//! (`Sns::check`), against a certificate given in advance
//! (`Sns::certificate`, the test key's certificate).
//!
//! Input: 1 mode byte, then data. Mode (mod 3): 0 the data is the body;
//! 1 the data is a JSON object whose string fields (when they parse) fill a
//! message that the test key signs, then one byte of the signed body
//! (chosen by two data bytes) is flipped; 2 as 1, without the flip but with
//! the fields re-ordered and re-serialised (pretty-printed).
//!
//! Asserts: no panic; a body the scheme refuses for its signature (not for
//! its shape) is one the independent reader (`serde_json::Value`, the
//! fields per `Type` as AWS documents them, written here) reads too; a
//! message signed by the test key verifies, whatever its field order and
//! whitespace (the string to sign depends on the values only); with any
//! single byte flipped it no longer verifies, unless the independent
//! reader finds the same string to sign and the same signature.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_webhook::scheme::{Context, Scheme, Sns, Tolerance, Verdict, VerifyError};

const KEY: &str = include_str!("../../tests/vectors/test-keys/rsa-2048.pem");
const CERT: &str = include_str!("../../tests/vectors/test-keys/rsa-2048-cert.pem");
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-fuzz.pem";
/// 2030-01-01: the test certificate is valid (2026 to 2046).
const NOW: u64 = 1_893_456_000;

/// The string AWS signs, computed from the JSON value alone, and the
/// decoded signature; `None` if the value is not a signable SNS message.
fn reference(v: &Value) -> Option<(String, Vec<u8>)> {
    let o = v.as_object()?;
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    let kind = s("Type")?;
    let names: &[&str] = match kind {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
        _ => return None,
    };
    let mut out = String::new();
    for name in names {
        let value = match (*name, o.get(*name)) {
            ("Subject", None | Some(Value::Null)) => continue,
            ("SubscribeURL", None) => s("SubscribeUrl")?,
            (_, Some(Value::String(v))) => v.as_str(),
            _ => return None,
        };
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    Some((out, STANDARD.decode(s("Signature")?).ok()?))
}

fn ctx() -> Context {
    Context::new(UNIX_EPOCH + Duration::from_secs(NOW), Tolerance::default())
}

fn receiver() -> Sns {
    Sns::new(["*"])
        .and_then(|s| s.certificate(CERT_URL, CERT))
        .map(|s| s.on_subscription(|_| {}))
        .expect("the test certificate")
}

fn head() -> http::request::Parts {
    http::Request::post("/sns")
        .body(())
        .expect("static parts")
        .into_parts()
        .0
}

/// The fuzzed fields over a valid notification.
fn message(data: &[u8]) -> Option<Value> {
    let mut m = serde_json::json!({
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:fuzz",
        "Message": "hello",
        "Timestamp": "2030-01-01T00:00:00.000Z",
    });
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(data) {
        for (k, v) in fields {
            if v.is_string() || v.is_null() {
                m[k] = v;
            }
        }
    }
    Some(m)
}

fn check_body(body: &[u8]) {
    let scheme = receiver();
    match scheme.check(&head(), body, &ctx()) {
        Err(VerifyError::NoMatch { .. }) => {
            let v: Value =
                serde_json::from_slice(body).expect("a body checked for its signature is JSON");
            assert!(reference(&v).is_some(), "the reference cannot read {v}");
        }
        Ok(_) => {
            // Only the test key's signatures verify: the fuzzer cannot forge
            // one, but it can replay a seed made by the test signer.
            let v: Value = serde_json::from_slice(body).expect("a verified body is JSON");
            assert!(reference(&v).is_some());
        }
        Err(_) => {}
    }
}

fn check_signed(data: &[u8], flip: bool) {
    if data.len() < 2 {
        return;
    }
    let (pick, fields) = data.split_at(2);
    let Some(mut m) = message(fields) else { return };
    let sender = Sns::new(["*"])
        .and_then(|s| s.signing_key(KEY, CERT_URL))
        .expect("the test key");
    if sender.sign_message(&mut m).is_err() {
        return;
    }
    let body = if flip {
        m.to_string().into_bytes()
    } else {
        serde_json::to_vec_pretty(&m).expect("a JSON value serialises")
    };
    let scheme = receiver();
    match scheme.check(&head(), &body, &ctx()) {
        Ok(Verdict::Deliver(envelope)) => {
            assert_eq!(envelope.id.as_deref(), m["MessageId"].as_str());
        }
        Ok(_) => assert_ne!(m["Type"], "Notification", "a notification answered"),
        // What the scheme refuses besides the signature: an empty or
        // over-long MessageId, a confirmation's URL outside the policy, a
        // fuzzed `Timestamp` outside the window.
        Err(
            VerifyError::MalformedBody { .. }
            | VerifyError::MalformedMessage { .. }
            | VerifyError::TooOld { .. }
            | VerifyError::TooNew { .. },
        ) => return,
        Err(e) => panic!("a message signed by the test key was refused: {e:?}\n{m}"),
    }
    if !flip {
        return;
    }
    let at = usize::from(u16::from_le_bytes([pick[0], pick[1]])) % body.len();
    let mut flipped = body.clone();
    flipped[at] ^= 0x01;
    if scheme.check(&head(), &flipped, &ctx()).is_ok() {
        let after = serde_json::from_slice::<Value>(&flipped).ok();
        assert_eq!(
            after.as_ref().and_then(reference),
            reference(&m),
            "a flip at {at} verified with another string to sign"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => check_body(rest),
        1 => check_signed(rest, true),
        _ => check_signed(rest, false),
    }
});
