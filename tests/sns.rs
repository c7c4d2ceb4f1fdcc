//! AWS SNS through the layer, against a key server on loopback (HTTPS with
//! a test CA): the 4 real AWS messages of `tests/vectors/published-keys/`
//! (kept unchanged) with one certificate fetch between them, the negatives,
//! the URL policy (no connection), an unknown certificate (asked once per
//! TTL), a key server down (503, then the retry succeeds), an expired
//! certificate, and subscription confirmations that never reach the handler.

#![cfg(feature = "sns")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod keyserver;

use std::time::Duration;

use bytes::Bytes;
use common::{Counter, send};
use http::{Request, StatusCode};
use http_body_util::Full;
use keyserver::{KeyServer, RSA_KEY};
use tower::Layer;
use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::keys::{CacheSettings, CertificateTrust, UrlPolicy};
use tower_webhook::scheme::{Sns, VerifyError};
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, WebhookLayer};

const HOST: &str = "sns.us-east-2.amazonaws.com";
const CERT_PATH: &str = "/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";
/// 2022-07-28T22:00:00Z: the real certificate is valid (2021-09-07 to 2022-08-17).
const JULY_2022: i64 = 1_659_045_600;

fn fixtures() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys");
    let text = std::fs::read_to_string(dir.join("sns_fixtures.json")).unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    all.iter().map(|m| m.to_string()).collect()
}

fn real_cert() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys");
    std::fs::read_to_string(dir.join("sns_cert.pem")).unwrap()
}

/// The message's signed `Timestamp`, in Unix seconds.
fn sent_at(message: &str) -> i64 {
    let m: serde_json::Value = serde_json::from_str(message).unwrap();
    let t = time::OffsetDateTime::parse(
        m["Timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    t.unix_timestamp()
}

fn post(body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post("/sns")
        .header("content-type", "text/plain; charset=UTF-8")
        .body(Full::new(body.into()))
        .unwrap()
}

async fn server() -> KeyServer {
    let server = KeyServer::start(&[HOST]).await;
    server.route(CERT_PATH, 200, real_cert());
    server
}

/// The receiver of the real AWS messages. Their certificate was issued by
/// Amazon's intermediate `Server CA 1B`, which the certificate URL does not
/// serve and published-keys.md does not include: no chain can be built to
/// a root, so these tests check the name and dates only. The chain check
/// itself is tested with the test CA below.
fn sns(server: &KeyServer) -> Sns {
    Sns::new(["*"])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
    // The default: no chain check (the real certificate's intermediate
    // is not served); the name and dates are checked.
}

/// Trusts the test CA of `server` (the chain check on).
fn trusting(server: &KeyServer) -> CertificateTrust {
    CertificateTrust::sns()
        .root_certificates(&server.ca_pem)
        .unwrap()
}

#[tokio::test]
async fn the_four_aws_messages_verify_with_one_certificate_fetch() {
    let server = server().await;
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let clock = ManualClock::at_unix(JULY_2022);
    // The four were sent over an hour and a half: the certificate is kept
    // for two hours here, so that one fetch serves them all.
    let scheme = sns(&server).fetch_with(
        server.client(),
        UrlPolicy::sns(),
        CacheSettings::default().ttl(Duration::from_secs(2 * 3600)),
    );
    let svc = WebhookLayer::new(scheme)
        .clock(clock.clone())
        .dedup(MemoryStore::new())
        .layer(handler.service());
    for (i, message) in fixtures().into_iter().enumerate() {
        // A minute after it was sent: the four span an hour and a half, more
        // than the window of a message's age.
        clock.set_unix(sent_at(&message) + 60);
        let (status, rejection, _, _) = send(svc.clone(), post(message.clone())).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "fixture {i}: {rejection:?}");
        // A retry of the same message: deduplicated on the signed MessageId.
        let (status, rejection, _, _) = send(svc.clone(), post(message)).await;
        assert_eq!(status, StatusCode::OK, "{rejection:?}");
        assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    }
    assert_eq!(handler.calls(), 4);
    assert_eq!(server.hits(CERT_PATH), 1, "one fetch serves every delivery");

    // Negatives, all refused by the cached certificate.
    let original: serde_json::Value = serde_json::from_str(&fixtures()[0]).unwrap();
    let tamper = |field: &str, value: &str| {
        let mut m = original.clone();
        m[field] = value.into();
        m.to_string()
    };
    for (what, body) in [
        ("message changed", tamper("Message", "Hello world!")),
        ("v1 signature as v2", tamper("SignatureVersion", "2")),
        ("unknown version", tamper("SignatureVersion", "3")),
        ("subject added", tamper("Subject", "Hello world")),
        ("type changed", tamper("Type", "UnsubscribeConfirmation")),
        ("not SNS", "{\"hello\":1}".to_owned()),
    ] {
        let (status, rejection, _, _) = send(svc.clone(), post(body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {rejection:?}");
    }
    assert_eq!(handler.calls(), 4);
    assert_eq!(server.hits(CERT_PATH), 1);

    // The same certificate, read at today's date: expired.
    clock.advance(Duration::from_secs(4 * 365 * 86_400));
    let mut fresh = original.clone();
    fresh["MessageId"] = "other".into();
    let (status, rejection, _, _) = send(svc.clone(), post(fixtures()[1].clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    match rejection {
        Some(Rejection::Unverified(VerifyError::KeyRefused { reason, .. })) => {
            assert!(reason.contains("expired"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn urls_outside_the_policy_are_refused_without_a_connection() {
    let server = server().await;
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let svc = WebhookLayer::new(sns(&server))
        .clock(ManualClock::at_unix(JULY_2022))
        .layer(handler.service());
    let original: serde_json::Value = serde_json::from_str(&fixtures()[0]).unwrap();
    for url in [
        format!("http://{HOST}{CERT_PATH}"),
        format!("https://{HOST}/cert.txt"),
        format!("https://{HOST}:8443{CERT_PATH}"),
        format!("https://s3.amazonaws.com{CERT_PATH}"),
        format!("https://{HOST}.evil.example{CERT_PATH}"),
        format!("https://{HOST}{CERT_PATH}?x=1"),
    ] {
        let mut m = original.clone();
        m["SigningCertURL"] = url.clone().into();
        let (status, rejection, _, _) = send(svc.clone(), post(m.to_string())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{url}");
        assert!(
            matches!(
                rejection,
                Some(Rejection::Unverified(VerifyError::KeyRefused { .. }))
            ),
            "{url}: {rejection:?}"
        );
    }
    assert!(
        server.seen().is_empty(),
        "no request reached the key server"
    );
    assert_eq!(handler.calls(), 0);
}

#[tokio::test]
async fn an_unknown_certificate_is_asked_for_once_per_ttl() {
    let server = server().await;
    let clock = ManualClock::at_unix(JULY_2022);
    let scheme = Sns::new(["*"]).unwrap().fetch_with(
        server.client(),
        UrlPolicy::sns(),
        CacheSettings::default().negative_ttl(Duration::from_secs(600)),
    );
    let svc = WebhookLayer::new(scheme)
        .clock(clock.clone())
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    let missing = "/SimpleNotificationService-00000000000000000000000000000000.pem";
    let mut m: serde_json::Value = serde_json::from_str(&fixtures()[0]).unwrap();
    m["SigningCertURL"] = format!("https://{HOST}{missing}").into();
    for _ in 0..5 {
        let (status, rejection, _, _) = send(svc.clone(), post(m.to_string())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{rejection:?}");
    }
    assert_eq!(server.hits(missing), 1);
    clock.advance(Duration::from_secs(601));
    let (status, _, _, _) = send(svc.clone(), post(m.to_string())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.hits(missing),
        2,
        "asked again after the negative TTL"
    );
}

#[tokio::test]
async fn a_key_server_down_gives_503_then_the_retry_succeeds() {
    let server = server().await;
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let svc = WebhookLayer::new(sns(&server))
        .clock(ManualClock::at_unix(JULY_2022))
        .dedup(MemoryStore::new())
        .layer(handler.service());
    server.set_down(true);
    let (status, rejection, _, headers) = send(svc.clone(), post(fixtures()[0].clone())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{rejection:?}");
    assert!(matches!(rejection, Some(Rejection::KeyUnavailable(_))));
    assert!(headers.contains_key("retry-after"));
    assert_eq!(handler.calls(), 0);
    server.set_down(false);
    let (status, rejection, _, _) = send(svc.clone(), post(fixtures()[0].clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{rejection:?}");
    assert_eq!(handler.calls(), 1);
}

/// A sender signing with the test key, its certificate served by the key
/// server, valid `from`..`until`.
fn test_sender(server: &KeyServer, path: &str, from: i32, until: i32) -> Sns {
    server.route(path, 200, server.signing_certificate(from, until));
    signer("arn:aws:sns:us-east-2:123456789012:orders", path)
}

/// A sender for `topic` signing with the test key, naming the certificate
/// at `path` on the key server.
fn signer(topic: &str, path: &str) -> Sns {
    Sns::new([topic])
        .unwrap()
        .signing_key(RSA_KEY, &format!("https://{HOST}{path}"))
        .unwrap()
}

/// Message `id` with `body`, signed by `sender` at 1,700,000,000 s.
fn signed_message(sender: &Sns, id: &str, body: &str) -> Request<Full<Bytes>> {
    Signer::new(sender)
        .timestamp(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .id(id)
        .request("/sns", body.to_owned())
        .unwrap()
        .map(Full::new)
}

#[tokio::test]
async fn signed_by_a_test_key_and_expiry_on_the_layers_clock() {
    let server = server().await;
    let sender = test_sender(&server, "/SimpleNotificationService-test.pem", 2020, 2030);
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let clock = ManualClock::at_unix(1_700_000_000);
    let receiver = Sns::new(["arn:aws:sns:us-east-2:123456789012:orders"])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
        .certificate_trust(trusting(&server));
    let svc = WebhookLayer::new(receiver)
        .clock(clock.clone())
        .layer(handler.service());
    let request = signed_message(&sender, "m-1", "order placed");
    let (status, rejection, _, _) = send(svc.clone(), request).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{rejection:?}");
    // Another topic: refused before any fetch.
    let other = signer(
        "arn:aws:sns:us-east-2:123456789012:other",
        "/SimpleNotificationService-test.pem",
    );
    let request = signed_message(&other, "m-2", "x");
    let (status, _, _, _) = send(svc.clone(), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // 2031: the test certificate has expired.
    clock.advance(Duration::from_secs(10 * 365 * 86_400));
    let request = Signer::new(&sender)
        .id("m-3")
        .request("/sns", "x")
        .unwrap()
        .map(Full::new);
    let (status, _, _, _) = send(svc.clone(), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(handler.calls(), 1);
    // Raw delivery: no signature, refused.
    let raw = Request::post("/sns")
        .header("x-amz-sns-rawdelivery", "true")
        .body(Full::new(Bytes::from_static(b"order placed")))
        .unwrap();
    let (status, _, _, _) = send(svc.clone(), raw).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn confirmation(sender: &Sns, kind: &str, topic: &str, subscribe_url: &str) -> String {
    let mut m = serde_json::json!({
        "Type": kind,
        "MessageId": "c-1",
        "Token": "tok",
        "TopicArn": topic,
        "Message": "You have chosen to subscribe to the topic. To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2023-11-14T22:13:20.000Z",
    });
    sender.sign_message(&mut m).unwrap();
    m.to_string()
}

#[tokio::test]
async fn subscriptions_are_confirmed_for_allowed_topics_and_never_reach_the_handler() {
    let server = server().await;
    let topic = "arn:aws:sns:us-east-2:123456789012:orders";
    let sender = test_sender(&server, "/SimpleNotificationService-test.pem", 2020, 2030);
    let confirm_path = format!("/?Action=ConfirmSubscription&TopicArn={topic}&Token=tok");
    server.route(&confirm_path, 200, "<ConfirmSubscriptionResponse/>");
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let receiver = Sns::new([topic])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
        .certificate_trust(trusting(&server));
    let svc = WebhookLayer::new(receiver)
        .clock(ManualClock::at_unix(1_700_000_000))
        .dedup(MemoryStore::new())
        .layer(handler.service());
    let url = format!("https://{HOST}{confirm_path}");
    let body = confirmation(&sender, "SubscriptionConfirmation", topic, &url);
    let (status, rejection, answer, _) = send(svc.clone(), post(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{rejection:?}");
    assert!(rejection.is_none());
    assert!(answer.is_empty());
    assert_eq!(server.hits(&confirm_path), 1, "confirmed once");
    let (status, _, _, _) = send(svc.clone(), post(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.hits(&confirm_path),
        1,
        "a repeat is not confirmed again"
    );

    // A SubscribeURL outside the policy: refused, nothing fetched.
    let before = server.seen().len();
    let evil = confirmation(
        &sender,
        "SubscriptionConfirmation",
        topic,
        "https://evil.example/?Action=ConfirmSubscription",
    );
    let (status, _, _, _) = send(svc.clone(), post(evil)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Unsubscribe: answered 200, nothing fetched.
    let unsubscribe = confirmation(&sender, "UnsubscribeConfirmation", topic, &url);
    let (status, _, _, _) = send(svc.clone(), post(unsubscribe)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.seen().len(), before);
    assert_eq!(handler.calls(), 0, "no confirmation reaches the handler");
}

#[tokio::test]
async fn a_callback_takes_subscriptions_instead() {
    let server = server().await;
    let topic = "arn:aws:sns:us-east-2:123456789012:orders";
    let sender = test_sender(&server, "/SimpleNotificationService-test.pem", 2020, 2030);
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    let receiver = Sns::new([topic])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
        .certificate_trust(trusting(&server))
        .on_subscription(move |s| g.lock().unwrap().push(s.token.clone()));
    let svc = WebhookLayer::new(receiver)
        .clock(ManualClock::at_unix(1_700_000_000))
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    let url = format!("https://{HOST}/?Action=ConfirmSubscription&TopicArn={topic}&Token=tok");
    let body = confirmation(&sender, "SubscriptionConfirmation", topic, &url);
    let (status, _, _, _) = send(svc, post(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(*got.lock().unwrap(), ["tok"]);
    assert_eq!(server.hits("/SimpleNotificationService-test.pem"), 1);
    assert!(server.seen().iter().all(|s| !s.path.contains("Confirm")));
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_or_for_another_name_is_refused() {
    let server = server().await;
    let topic = "arn:aws:sns:us-east-2:123456789012:orders";
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let receiver = Sns::new([topic])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
        .certificate_trust(trusting(&server));
    let svc = WebhookLayer::new(receiver)
        .clock(ManualClock::at_unix(1_700_000_000))
        .layer(handler.service());
    let cases = [
        (
            "/SimpleNotificationService-untrusted.pem",
            server.untrusted_certificate("sns.amazonaws.com", 2020, 2030),
            "chain",
        ),
        (
            "/SimpleNotificationService-other-name.pem",
            server.signing_certificate_for("evil.example", 2020, 2030),
            "name",
        ),
    ];
    for (path, pem, why) in cases {
        server.route(path, 200, pem);
        let request = signed_message(&signer(topic, path), path, "x");
        let (status, rejection, _, _) = send(svc.clone(), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        match rejection {
            Some(Rejection::Unverified(VerifyError::KeyRefused { reason, .. })) => {
                assert!(reason.contains(why), "{path}: {reason}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(handler.calls(), 0);
    // The same certificates under a trust with the chain check off: the
    // name is still checked.
    let lax = Sns::new([topic])
        .unwrap()
        .fetch_with(server.client(), UrlPolicy::sns(), CacheSettings::default())
        .certificate_trust(CertificateTrust::sns().without_chain_check());
    let svc = WebhookLayer::new(lax)
        .clock(ManualClock::at_unix(1_700_000_000))
        .layer(handler.service());
    for (path, status) in [
        (
            "/SimpleNotificationService-untrusted.pem",
            StatusCode::NO_CONTENT,
        ),
        (
            "/SimpleNotificationService-other-name.pem",
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let request = signed_message(&signer(topic, path), path, "x");
        assert_eq!(send(svc.clone(), request).await.0, status, "{path}");
    }
}

#[tokio::test]
async fn a_message_older_than_the_window_or_ahead_of_the_clock_is_refused() {
    let server = server().await;
    let clock = ManualClock::at_unix(JULY_2022);
    let message = fixtures()[0].clone(); // sent 36 minutes before JULY_2022
    let svc = WebhookLayer::new(sns(&server))
        .clock(clock.clone())
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    clock.set_unix(
        sent_at(&message) + tower_webhook::scheme::SNS_DEFAULT_MAX_AGE.as_secs() as i64 + 1,
    );
    let (status, rejection, _, _) = send(svc.clone(), post(message.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        matches!(
            rejection,
            Some(Rejection::Unverified(VerifyError::TooOld {
                header: "Timestamp",
                ..
            }))
        ),
        "{rejection:?}"
    );
    clock.set_unix(sent_at(&message) - 301);
    let (status, rejection, _, _) = send(svc.clone(), post(message.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        matches!(
            rejection,
            Some(Rejection::Unverified(VerifyError::TooNew { .. }))
        ),
        "{rejection:?}"
    );
    // No window: the age alone refuses nothing (the dedup store remains).
    let svc = WebhookLayer::new(sns(&server).max_age(None))
        .clock(ManualClock::at_unix(sent_at(&message) + 3 * 3600))
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    assert_eq!(send(svc, post(message)).await.0, StatusCode::NO_CONTENT);
}
