//! Discord interactions and webhook events through the public API: the
//! derived vector of `tests/vectors/published-keys.md` (section 3.2, read
//! from the file, which is kept unchanged), the PING answered only after
//! verification, a command handled once, and property tests of the
//! signature.

#![cfg(feature = "discord")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use tower::ServiceExt;
use tower_webhook::clock::ManualClock;
use tower_webhook::scheme::{
    Context, Discord, PresetOptions, Scheme, Tolerance, Verdict, VerifyError, by_name,
};
use tower_webhook::sign::Signer;
use tower_webhook::{Delivery, Rejection, Verified, WebhookLayer, endpoint};

/// The derived vector of published-keys.md, section 3.2.
struct Vector {
    seed: String,
    public_key: String,
    timestamp: String,
    body: String,
    signature: String,
}

/// The first backtick-quoted value after `label` in `text`.
fn quoted_after<'a>(text: &'a str, label: &str) -> &'a str {
    let rest = &text[text.find(label).unwrap_or_else(|| panic!("{label}")) + label.len()..];
    let start = rest.find('`').unwrap() + 1;
    let end = start + rest[start..].find('`').unwrap();
    &rest[start..end]
}

fn vector() -> Vector {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("### 3.2").unwrap();
    let end = start + text[start..].find("### 3.3").unwrap();
    let section = &text[start..end];
    Vector {
        seed: quoted_after(section, "secret seed:").to_owned(),
        public_key: quoted_after(section, "public key (hex):").to_owned(),
        timestamp: quoted_after(section, "`X-Signature-Timestamp`:").to_owned(),
        body: quoted_after(section, "body:").to_owned(),
        signature: quoted_after(section, "`X-Signature-Ed25519`:").to_owned(),
    }
}

const NOW: u64 = 1_700_000_000;

fn ctx() -> Context {
    Context::new(UNIX_EPOCH + Duration::from_secs(NOW), Tolerance::default())
}

fn sender() -> Discord {
    Discord::from_secret_key(vector().seed).unwrap()
}

fn receiver() -> Discord {
    Discord::new(vector().public_key).unwrap()
}

/// A request as Discord sends it.
fn request(signature: &str, timestamp: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post("/interactions")
        .header("content-type", "application/json")
        .header("X-Signature-Ed25519", signature)
        .header("X-Signature-Timestamp", timestamp)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn signed(body: &str) -> Request<Full<Bytes>> {
    let s = sender();
    Signer::new(&s)
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW))
        .request("/interactions", body.to_owned())
        .unwrap()
        .map(Full::new)
}

/// An axum app: `POST /interactions` behind the layer, with a handler that
/// counts its calls and answers a deferred response, as a bot would.
fn app() -> (Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move |Verified(interaction, delivery): Verified<serde_json::Value>| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            assert_eq!(delivery.scheme, "discord");
            assert_eq!(delivery.id_kind, tower_webhook::IdKind::Signed);
            assert_eq!(interaction["type"], 2);
            axum::Json(serde_json::json!({ "type": 5 }))
        }
    };
    let layer = WebhookLayer::new(receiver()).clock(ManualClock::at_unix(NOW as i64));
    let app = Router::new().route("/interactions", endpoint(layer, handler));
    (app, calls)
}

async fn send(app: &Router, req: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, Bytes) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

#[test]
fn the_derived_vector_verifies_and_is_reproduced_by_the_signer() {
    let v = vector();
    assert_eq!(sender().public_key(), v.public_key);
    let (head, _) = request(&v.signature, &v.timestamp, &v.body).into_parts();
    let verdict = receiver().check(&head, v.body.as_bytes(), &ctx()).unwrap();
    let pong = verdict.answer().expect("the vector is a PING");
    assert_eq!(pong.status(), 200);
    assert_eq!(pong.body().as_ref(), br#"{"type":1}"#);
    // Ed25519 is deterministic: signing the vector's body gives its signature.
    let req = signed(&v.body);
    assert_eq!(req.headers()["x-signature-ed25519"], v.signature.as_str());
    assert_eq!(req.headers()["x-signature-timestamp"], v.timestamp.as_str());
    // "The same request with timestamp 1700000001 or with one body byte
    // changed -> 401": refused before any answer.
    let (head, _) = request(&v.signature, "1700000001", &v.body).into_parts();
    assert!(matches!(
        receiver().check(&head, v.body.as_bytes(), &ctx()),
        Err(VerifyError::NoMatch { .. })
    ));
    let changed = v.body.replacen("787", "788", 1);
    let (head, _) = request(&v.signature, &v.timestamp, &changed).into_parts();
    assert!(matches!(
        receiver().check(&head, changed.as_bytes(), &ctx()),
        Err(VerifyError::NoMatch { .. })
    ));
}

#[tokio::test]
async fn a_ping_is_answered_pong_only_when_its_signature_verifies() {
    let v = vector();
    let (app, calls) = app();
    // Discord's probes: a bad signature, a wrong timestamp, a changed body,
    // malformed and missing headers. Each is 401, never PONG.
    let mut bad_sig = v.signature.clone().into_bytes();
    bad_sig[0] = if bad_sig[0] == b'0' { b'1' } else { b'0' };
    let bad_sig = String::from_utf8(bad_sig).unwrap();
    for req in [
        request(&bad_sig, &v.timestamp, &v.body),
        request(&v.signature, "1700000001", &v.body),
        request(&v.signature, &v.timestamp, &v.body.replacen("1,", "1 ,", 1)),
        request(&v.signature[..127], &v.timestamp, &v.body),
        request("zz", &v.timestamp, &v.body),
        request("", &v.timestamp, &v.body),
        Request::post("/interactions")
            .body(Full::new(Bytes::from(v.body.clone())))
            .unwrap(),
    ] {
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(matches!(
            res.extensions().get::<Rejection>(),
            Some(Rejection::Unverified(_))
        ));
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.starts_with(br#"{"type":1"#));
    }
    // The genuine PING: PONG as JSON, without the handler.
    let (status, headers, body) = send(&app, request(&v.signature, &v.timestamp, &v.body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body.as_ref(), br#"{"type":1}"#);
    // Discord pings again: PONG again (a handshake never touches the store).
    let (status, _, body) = send(&app, request(&v.signature, &v.timestamp, &v.body)).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, &br#"{"type":1}"#[..])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_command_reaches_the_handler_once() {
    let (app, calls) = app();
    let body = r#"{"id":"1180000000000000001","application_id":"1","type":2,"token":"t","version":1,"data":{"id":"9","name":"hello","type":1}}"#;
    let (status, headers, answer) = send(&app, signed(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(answer.as_ref(), br#"{"type":5}"#);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The same interaction again: acknowledged, the handler not called.
    let res = app.clone().oneshot(signed(body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(matches!(
        res.extensions().get::<Rejection>(),
        Some(Rejection::Duplicate { id }) if id == "1180000000000000001"
    ));
    // The same id re-signed later with another body is the same interaction.
    let later = Signer::new(&sender())
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW + 60))
        .request(
            "/interactions",
            body.replace("hello", "hello again").into_bytes(),
        )
        .unwrap()
        .map(Full::new);
    assert_eq!(
        app.clone().oneshot(later).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn webhook_events_ping_is_204_and_events_reach_the_handler_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let c = c.clone();
        async move {
            let Verified(event, delivery) =
                Verified::<serde_json::Value>::from_parts(&req.into_parts().0).unwrap();
            assert_eq!(event["event"]["type"], "APPLICATION_AUTHORIZED");
            assert_eq!(delivery.id_kind, tower_webhook::IdKind::Digest);
            c.fetch_add(1, Ordering::SeqCst);
            let mut res = http::Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::NO_CONTENT;
            Ok::<_, Infallible>(res)
        }
    });
    let svc = tower::Layer::layer(
        &WebhookLayer::new(receiver()).clock(ManualClock::at_unix(NOW as i64)),
        handler,
    );
    let ping = r#"{"version":1,"application_id":"1234560123453231555","type":0}"#;
    let res = svc.clone().oneshot(signed(ping)).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        res.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty()
    );
    let event = r#"{"version":1,"application_id":"1234560123453231555","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"integration_type":1,"scopes":["applications.commands"],"user":{"id":"1"}}}}"#;
    for expected in [StatusCode::NO_CONTENT, StatusCode::OK] {
        let res = svc.clone().oneshot(signed(event)).await.unwrap();
        assert_eq!(res.status(), expected);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn delivery_facts_and_stale_timestamps() {
    let (app, calls) = app();
    let stale = Signer::new(&sender())
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW - 301))
        .request("/interactions", r#"{"id":"5","type":2}"#)
        .unwrap()
        .map(Full::new);
    let res = app.clone().oneshot(stale).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(matches!(
        res.extensions().get::<Rejection>(),
        Some(Rejection::Unverified(VerifyError::TooOld {
            header: "x-signature-timestamp",
            ..
        }))
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The Delivery extractor sees the signed id and timestamp.
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let app = Router::new()
        .route(
            "/i",
            post(move |delivery: Delivery| {
                let s = s.clone();
                async move {
                    *s.lock().unwrap() = Some(delivery);
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route_layer(WebhookLayer::new(receiver()).clock(ManualClock::at_unix(NOW as i64)));
    let req = Signer::new(&sender())
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW))
        .request("/i", r#"{"id":"77","type":3}"#)
        .unwrap()
        .map(Full::new);
    assert_eq!(
        app.oneshot(req).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let d = seen.lock().unwrap().take().unwrap();
    assert_eq!(d.id, "77");
    assert_eq!(d.timestamp, Some(UNIX_EPOCH + Duration::from_secs(NOW)));
}

#[test]
fn by_name_takes_the_public_key_or_a_signing_pair() {
    let v = vector();
    let options = PresetOptions::new();
    let receiver = by_name("discord", &v.public_key, &options).unwrap();
    assert_eq!(receiver.name(), "discord");
    assert!(Signer::new(&receiver).request("/", "{}").is_err());
    let pair = format!("{}{}", v.seed, v.public_key);
    let sender = by_name("Discord", &pair, &options).unwrap();
    let req = Signer::new(&sender)
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW))
        .request("/", v.body.clone())
        .unwrap();
    assert_eq!(req.headers()["x-signature-ed25519"], v.signature.as_str());
    let (head, body) = req.into_parts();
    assert!(matches!(
        receiver.check(&head, &body, &ctx()),
        Ok(Verdict::Answer(_))
    ));
    // A Standard Webhooks secret is no Discord key; the error never quotes it.
    let e = by_name(
        "discord",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &options,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("hex") && !e.contains("MfKQ9r8"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// What the signer signs verifies; any changed byte of the body, the
    /// signature or the timestamp is refused, and never answered PONG.
    #[test]
    fn sign_verify_and_any_changed_byte_is_refused(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "\\{\"id\":\"[0-9]{1,19}\",\"type\":[0-9]\\}".prop_map(String::into_bytes),
        ],
        secs in 1_000_000_000u64..4_000_000_000,
        pos in any::<usize>(),
        flip in 1u8..=255,
        digit in 1u8..=9,
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(secs);
        let ctx = Context::new(now, Tolerance::default());
        let (head, body) = Signer::new(&sender())
            .timestamp(now)
            .request("/", body)
            .unwrap()
            .into_parts();
        let r = receiver();
        prop_assert!(r.check(&head, &body, &ctx).is_ok());
        if !body.is_empty() {
            let mut bad = body.to_vec();
            let i = pos % bad.len();
            bad[i] ^= flip;
            let refused = matches!(r.check(&head, &bad, &ctx), Err(VerifyError::NoMatch { .. }));
            prop_assert!(refused);
        }
        // One hex digit of the signature replaced by another digit.
        let sig = head.headers["x-signature-ed25519"].as_bytes().to_vec();
        let i = pos % sig.len();
        let mut bad = sig.clone();
        let hex = b"0123456789abcdef";
        let at = hex.iter().position(|c| *c == sig[i].to_ascii_lowercase()).unwrap();
        bad[i] = hex[(at + usize::from(digit)) % 16];
        let mut h = head.clone();
        h.headers.insert("x-signature-ed25519", http::HeaderValue::from_bytes(&bad).unwrap());
        prop_assert!(r.check(&h, &body, &ctx).is_err());
        // One digit of the timestamp changed: refused (a new time outside
        // the window, or inside it and unsigned).
        let ts = head.headers["x-signature-timestamp"].as_bytes().to_vec();
        let i = pos % ts.len();
        let mut bad = ts.clone();
        bad[i] = b'0' + (bad[i] - b'0' + digit) % 10;
        let mut h = head.clone();
        h.headers.insert("x-signature-timestamp", http::HeaderValue::from_bytes(&bad).unwrap());
        prop_assert!(r.check(&h, &body, &ctx).is_err());
        // Too late.
        let late = Context::new(now + Duration::from_secs(301), Tolerance::default());
        prop_assert!(r.check(&head, &body, &late).is_err());
    }
}
