//! eBay through the layer, against a key server on loopback: the official
//! vector of `tests/vectors/published-keys.md` (1.5; body from
//! `published-keys/ebay_body.json`, unchanged) with one OAuth token and one
//! key fetch for many deliveries, the negatives, an unknown kid asked for
//! once per TTL, and the challenge handshake's two vectors.

#![cfg(feature = "ebay")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod keyserver;

use std::time::Duration;

use bytes::Bytes;
use common::{Counter, send};
use http::{Request, StatusCode};
use http_body_util::Full;
use keyserver::KeyServer;
use tower::Layer;
use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::keys::CacheSettings;
use tower_webhook::scheme::{Ebay, Scheme};
use tower_webhook::{Rejection, WebhookLayer};

const HOST: &str = "api.ebay.com";
const KID: &str = "9936261a-7d7b-4621-a0f1-96ccb428af49";
const VALID: &str = "eyJhbGciOiJlY2RzYSIsImtpZCI6Ijk5MzYyNjFhLTdkN2ItNDYyMS1hMGYxLTk2Y2NiNDI4YWY0OSIsInNpZ25hdHVyZSI6Ik1FWUNJUUNmeGZJV3V4bVdjSUJRSjljNS9YN2lHREpxczJSQ0dzQkVhQWppbnlycmZBSWhBSVY2d0djVGlCdVY1S0pVaWYyaG9reXJMK1E5c3NIa2FkK214Mm5FRTI1dyIsImRpZ2VzdCI6IlNIQTEifQ==";
const MISMATCH: &str = "eyJhbGciOiJlY2RzYSIsImtpZCI6Ijk5MzYyNjFhLTdkN2ItNDYyMS1hMGYxLTk2Y2NiNDI4YWY0OSIsInNpZ25hdHVyZSI6Ik1FVUNJUUNHY1NubUFrVGZyK1paMlZnMGJXRW9zOGEvdGVCcWk3UGU2OCtoR21MTUNRSWdlRnZrcnRvKzhkczhSVndJM0dnbjFtTUdDck5NRVpKM1NSbE8yZngveHFJPSIsImRpZ2VzdCI6IlNIQTEifQ==";
const KEY_RESPONSE: &str = r#"{"key":"-----BEGIN PUBLIC KEY-----MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZhhxXKtR+TOvtDbgTPCkSof02qgBB7IsYOyf76ilExJ/upAa/vKIKheOoCyOpcLmi4t0b4uepb7LLjmMr90FUg==-----END PUBLIC KEY-----","algorithm":"ECDSA","digest":"SHA1"}"#;

fn body() -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys");
    std::fs::read(dir.join("ebay_body.json")).unwrap()
}

fn post(signature: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::post("/ebay")
        .header("X-EBAY-SIGNATURE", signature)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn server() -> KeyServer {
    let server = KeyServer::start(&[HOST]).await;
    server.route(
        "/identity/v1/oauth2/token",
        200,
        r#"{"access_token":"t0k","expires_in":7200,"token_type":"Application Access Token"}"#,
    );
    server.route(
        &format!("/commerce/notification/v1/public_key/{KID}"),
        200,
        KEY_RESPONSE,
    );
    server
}

fn ebay(server: &KeyServer, cache: CacheSettings) -> Ebay {
    Ebay::new("client-id", "client-secret")
        .unwrap()
        .fetch_with(server.client(), HOST, cache)
}

#[tokio::test]
async fn the_official_vector_with_one_token_and_one_key_fetch() {
    let server = server().await;
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let svc = WebhookLayer::new(ebay(&server, CacheSettings::default()))
        .clock(ManualClock::at_unix(1_700_000_000))
        .dedup(MemoryStore::new())
        .layer(handler.service());
    let (status, rejection, _, _) = send(svc.clone(), post(VALID, body())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{rejection:?}");
    for _ in 0..5 {
        let (status, rejection, _, _) = send(svc.clone(), post(VALID, body())).await;
        assert!(
            matches!(rejection, Some(Rejection::Duplicate { .. })),
            "{status}"
        );
    }
    let tampered = String::from_utf8(body())
        .unwrap()
        .replace("\"test_user\"", "\"test_user2\"");
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body()).unwrap())
            .unwrap();
    for (what, request) in [
        ("tampered", post(VALID, tampered.into_bytes())),
        ("signature mismatch", post(MISMATCH, body())),
        ("pretty-printed", post(VALID, pretty)),
        (
            "no header",
            Request::post("/ebay")
                .body(Full::new(Bytes::from(body())))
                .unwrap(),
        ),
        ("not base64", post("%%%", body())),
    ] {
        let (status, rejection, _, _) = send(svc.clone(), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {rejection:?}");
    }
    assert_eq!(handler.calls(), 1);
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|s| s.path.contains("oauth2")).count(), 1);
    let key_requests: Vec<_> = seen
        .iter()
        .filter(|s| s.path.contains("public_key"))
        .collect();
    assert_eq!(key_requests.len(), 1, "one fetch serves every delivery");
    assert_eq!(key_requests[0].authorization.as_deref(), Some("bearer t0k"));
    let token_request = seen.iter().find(|s| s.path.contains("oauth2")).unwrap();
    assert_eq!(token_request.method, "POST");
    assert!(
        token_request
            .authorization
            .as_deref()
            .unwrap()
            .starts_with("Basic ")
    );
    assert!(String::from_utf8_lossy(&token_request.body).contains("grant_type=client_credentials"));
}

#[tokio::test]
async fn an_unknown_kid_is_asked_for_once_per_ttl() {
    let server = server().await;
    let clock = ManualClock::at_unix(1_700_000_000);
    let scheme = ebay(
        &server,
        CacheSettings::default().negative_ttl(Duration::from_secs(600)),
    );
    let svc = WebhookLayer::new(scheme)
        .clock(clock.clone())
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    // The valid header with another kid: eBay answers 404 for it.
    let header = String::from_utf8(base64_decode(VALID))
        .unwrap()
        .replace(KID, "unknown-kid");
    let header = base64_encode(header.as_bytes());
    for _ in 0..5 {
        let (status, _, _, _) = send(svc.clone(), post(&header, body())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let path = "/commerce/notification/v1/public_key/unknown-kid";
    assert_eq!(server.hits(path), 1);
    clock.advance(Duration::from_secs(601));
    let (status, _, _, _) = send(svc.clone(), post(&header, body())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.hits(path), 2);
}

#[tokio::test]
async fn the_challenge_is_answered_byte_exact_and_never_reaches_the_handler() {
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let endpoint = "http://www.testendpoint.com/webhook";
    let scheme = Ebay::new("id", "secret")
        .unwrap()
        .verification("71745723-d031-455c-bfa5-f90d11b4f20a", endpoint)
        .unwrap();
    let svc = WebhookLayer::new(scheme).layer(handler.service());
    for (code, hex) in [
        (
            "a8628072-3d33-45ee-9004-bee86830a22d",
            "ca527df75caa230092d7e90484071e8f05d63068f1317973d6a3a42593734bbb",
        ),
        (
            "71745723-d031-455c-bfa5-f90d11b4f20a",
            "048de9ffd0e35021fefc0388d5c52e0f475324f582f3778ca81a53354ccbbc97",
        ),
    ] {
        let request = Request::get(format!("/webhook?challenge_code={code}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, _, answer, headers) = send(svc.clone(), request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            answer,
            Bytes::from(format!(r#"{{"challengeResponse":"{hex}"}}"#))
        );
    }
    let request = Request::get("/webhook")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, _, _) = send(svc.clone(), request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(handler.calls(), 0);
    assert!(
        Ebay::new("id", "s")
            .unwrap()
            .challenge(
                &Request::get("/?challenge_code=x")
                    .body(())
                    .unwrap()
                    .into_parts()
                    .0
            )
            .is_none()
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
