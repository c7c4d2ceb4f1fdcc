//! Presets through the whole layer: a Twilio form delivery, a Stripe event
//! and a LinkedIn notification deduplicated by their body ids, every
//! handshake answered without calling the handler (and never before the
//! signature verified, for signed ones), and the asymmetric presets
//! (Standard Webhooks v1a, SendGrid) with their features.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use tower::{Layer, Service, ServiceExt};
use tower_webhook::scheme::{Dropbox, LinkedIn, Meta, Scheme, Slack, Stripe, Twilio, Twitch, Zoom};
use tower_webhook::sign::Signer;
use tower_webhook::{Verified, WebhookLayer};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sms {
    from: String,
    body: String,
}

/// A handler that counts its calls and answers with what `describe` says.
fn handler<T: tower_webhook::payload::Decode + Send + 'static>(
    calls: Arc<AtomicUsize>,
    describe: fn(&T) -> String,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |req: Request<Full<Bytes>>| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let (parts, _) = req.into_parts();
            let text = Verified::<T>::from_parts(&parts)
                .map(|v| describe(&v.0))
                .unwrap_or_default();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
        }
    })
}

async fn send<S, B>(svc: &mut S, req: Request<Bytes>) -> (StatusCode, Bytes)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(req.map(Full::new))
        .await
        .unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn twilio_form_delivery_parses_and_dedups() {
    let scheme = Twilio::new("auth-token", "https://example.com/sms").unwrap();
    let signer_scheme = scheme.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(scheme).layer(handler::<Sms>(calls.clone(), |s| {
        format!("{}: {}", s.from, s.body)
    }));
    let signed = || {
        Signer::new(&signer_scheme)
            .id("idem-1")
            .content_type("application/x-www-form-urlencoded")
            .request("/sms", "From=%2B15551234567&Body=hello+there&To=%2B1555")
            .unwrap()
    };
    let (status, body) = send(&mut svc, signed()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_ref(), b"+15551234567: hello there");
    let (status, _) = send(&mut svc, signed()).await;
    assert_eq!(status, StatusCode::OK, "a redelivery is acknowledged");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "and not handled twice");

    let mut tampered = signed();
    *tampered.body_mut() = Bytes::from_static(b"From=%2B15551234567&Body=pwned&To=%2B1555");
    let (status, _) = send(&mut svc, tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn stripe_event_id_from_body_dedups() {
    let scheme = Stripe::new("whsec_layer").unwrap();
    let signer_scheme = scheme.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(scheme)
        .layer(handler::<serde_json::Value>(calls.clone(), |v| {
            v["type"].to_string()
        }));
    for _ in 0..2 {
        // Signed afresh each time: only the event id in the body is shared.
        let req = Signer::new(&signer_scheme)
            .request("/", r#"{"id":"evt_1","type":"invoice.paid"}"#)
            .unwrap();
        let (status, _) = send(&mut svc, req).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slack_url_verification_answered_only_when_signed() {
    let scheme = Slack::new("slack-secret").unwrap();
    let signer_scheme = scheme.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(scheme)
        .layer(handler::<serde_json::Value>(calls.clone(), |_| {
            String::new()
        }));
    let body = r#"{"token":"x","challenge":"c-123","type":"url_verification"}"#;
    let req = Signer::new(&signer_scheme).request("/slack", body).unwrap();
    let (status, answer) = send(&mut svc, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer.as_ref(), br#"{"challenge":"c-123"}"#);

    let forged = Request::post("/slack")
        .header("x-slack-request-timestamp", "1")
        .header("x-slack-signature", "v0=00")
        .body(Bytes::from(body))
        .unwrap();
    let (status, answer) = send(&mut svc, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!answer.as_ref().windows(5).any(|w| w == b"c-123"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn zoom_and_twitch_signed_post_handshakes() {
    let calls = Arc::new(AtomicUsize::new(0));
    let zoom = Zoom::new("zoom-token").unwrap();
    let req = Signer::new(&zoom)
        .request(
            "/zoom",
            r#"{"payload":{"plainToken":"pt"},"event":"endpoint.url_validation"}"#,
        )
        .unwrap();
    let mut svc = WebhookLayer::new(zoom)
        .layer(handler::<serde_json::Value>(calls.clone(), |_| {
            String::new()
        }));
    let (status, answer) = send(&mut svc, req).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(json["plainToken"], "pt");
    assert_eq!(json["encryptedToken"].as_str().unwrap().len(), 64);

    let twitch = Twitch::new("twitch-secret").unwrap();
    let mut req = Signer::new(&twitch)
        .request("/twitch", r#"{"challenge":"ch-9","subscription":{}}"#)
        .unwrap();
    req.headers_mut().insert(
        "twitch-eventsub-message-type",
        "webhook_callback_verification".parse().unwrap(),
    );
    let mut svc = WebhookLayer::new(twitch)
        .layer(handler::<serde_json::Value>(calls.clone(), |_| {
            String::new()
        }));
    let (status, answer) = send(&mut svc, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer.as_ref(), b"ch-9");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn get_challenges_dropbox_and_meta() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc =
        WebhookLayer::new(Dropbox::new("db").unwrap())
            .layer(handler::<serde_json::Value>(calls.clone(), |_| {
                String::new()
            }));
    let get = |uri: &str| Request::get(uri).body(Bytes::new()).unwrap();
    let (status, answer) = send(&mut svc, get("/dropbox?challenge=xyz")).await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"xyz"[..]));
    let (status, _) = send(&mut svc, get("/dropbox")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let meta = Meta::new("app-secret").unwrap().verify_token("vt");
    assert_eq!(meta.name(), "meta");
    let mut svc = WebhookLayer::new(meta)
        .layer(handler::<serde_json::Value>(calls.clone(), |_| {
            String::new()
        }));
    let (status, answer) = send(
        &mut svc,
        get("/meta?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=77"),
    )
    .await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"77"[..]));
    let (status, _) = send(
        &mut svc,
        get("/meta?hub.mode=subscribe&hub.verify_token=no&hub.challenge=77"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn linkedin_challenge_and_notification_dedup() {
    use hmac::{Hmac, KeyInit, Mac};

    let scheme = LinkedIn::new("li-client-secret").unwrap();
    let signer_scheme = scheme.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(scheme)
        .layer(handler::<serde_json::Value>(calls.clone(), |v| {
            v["action"].to_string()
        }));

    // The validation GET, answered by the layer.
    let code = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
    let get = |uri: String| Request::get(uri).body(Bytes::new()).unwrap();
    let res = ServiceExt::<Request<Full<Bytes>>>::ready(&mut svc)
        .await
        .unwrap()
        .call(get(format!("/li?challengeCode={code}")).map(Full::new))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let answer = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"li-client-secret").unwrap();
    mac.update(code.as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(json["challengeCode"], code);
    assert_eq!(json["challengeResponse"], expected.as_str());
    let (status, _) = send(&mut svc, get("/li".to_owned())).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // A signed notification reaches the handler once; a redelivery with the
    // same notificationId (its body re-serialised) is acknowledged without it.
    let signed = |body: &'static str| Signer::new(&signer_scheme).request("/li", body).unwrap();
    let (status, body) = send(
        &mut svc,
        signed(r#"{"notificationId":4387123,"action":"COMMENT"}"#),
    )
    .await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, &br#""COMMENT""#[..])
    );
    let (status, body) = send(
        &mut svc,
        signed(r#"{"action":"COMMENT", "notificationId":4387123}"#),
    )
    .await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, &b"already processed\n"[..]),
        "answered by the layer, not the handler"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Unsigned or forged: refused.
    let mut forged = signed(r#"{"notificationId":1,"action":"LIKE"}"#);
    *forged.body_mut() = Bytes::from_static(br#"{"notificationId":2,"action":"LIKE"}"#);
    let (status, _) = send(&mut svc, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[cfg(feature = "ed25519")]
#[tokio::test]
async fn ed25519_delivery_verifies_with_the_public_key_and_dedups_by_id() {
    use tower_webhook::scheme::{StandardWebhooks, StandardWebhooksEd25519};
    let sender = StandardWebhooksEd25519::from_secret_key(
        "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
    )
    .unwrap();
    let receiver = StandardWebhooksEd25519::from_public_keys(sender.public_keys()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(receiver)
        .layer(handler::<serde_json::Value>(calls.clone(), |v| {
            v["type"].to_string()
        }));
    let body = r#"{"type":"invoice.paid"}"#;
    let signed = |id: &str| Signer::new(&sender).id(id).request("/hook", body).unwrap();
    let (status, answer) = send(&mut svc, signed("msg_1")).await;
    assert_eq!(
        (status, answer.as_ref()),
        (StatusCode::OK, &br#""invoice.paid""#[..])
    );
    let (status, _) = send(&mut svc, signed("msg_1")).await;
    assert_eq!(status, StatusCode::OK, "a redelivery is acknowledged");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "and not handled twice");

    // The same delivery signed only with v1 (HMAC): refused.
    let hmac = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let v1_only = Signer::new(&hmac)
        .id("msg_2")
        .request("/hook", body)
        .unwrap();
    let (status, _) = send(&mut svc, v1_only).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut tampered = signed("msg_3");
    *tampered.body_mut() = Bytes::from_static(br#"{"type":"invoice.void"}"#);
    let (status, _) = send(&mut svc, tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[cfg(feature = "sendgrid")]
#[tokio::test]
async fn sendgrid_batches_dedup_on_the_body_hash() {
    use std::time::{Duration, SystemTime};
    use tower_webhook::scheme::SendGrid;
    let sender =
        SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=").unwrap();
    let receiver = SendGrid::with_public_keys(sender.public_keys()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = WebhookLayer::new(receiver)
        .layer(handler::<serde_json::Value>(calls.clone(), |v| {
            v[0]["event"].to_string()
        }));
    let batch = r#"[{"event":"delivered","sg_event_id":"e1"}]"#;
    let signed = |body: &'static str, ago: u64| {
        Signer::new(&sender)
            .timestamp(SystemTime::now() - Duration::from_secs(ago))
            .request("/sendgrid", body)
            .unwrap()
    };
    let (status, answer) = send(&mut svc, signed(batch, 0)).await;
    assert_eq!(
        (status, answer.as_ref()),
        (StatusCode::OK, &br#""delivered""#[..])
    );
    // The same batch again, signed at another time: recognised by its hash.
    let (status, _) = send(&mut svc, signed(batch, 10)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Another batch is another delivery.
    let (status, answer) = send(&mut svc, signed(r#"[{"event":"open"}]"#, 0)).await;
    assert_eq!(
        (status, answer.as_ref()),
        (StatusCode::OK, &br#""open""#[..])
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let mut tampered = signed(batch, 0);
    *tampered.body_mut() = Bytes::from_static(br#"[{"event":"bounce"}]"#);
    let (status, _) = send(&mut svc, tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&mut svc, signed(r#"[{"event":"stale"}]"#, 3600)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
