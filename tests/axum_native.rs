//! The axum-native traps, each shown to be impossible or to give a clear
//! error: two webhook routes wired side by side, GET handshakes through the
//! documented wiring, a payload type that does not match, unknown event
//! types acknowledged by the handler, acknowledgements kept out of the error
//! hook, the delivery's span on the handler's log lines, configurable log
//! levels, and a `Signer` that refuses what it cannot honour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;
use tower_webhook::payload::Tagged;
use tower_webhook::scheme::{Calendly, Dropbox, GitHub, SignError, Stripe};
use tower_webhook::sign::Signer;
use tower_webhook::{Delivery, Rejection, Verified, VerifiedRejection, WebhookLayer, endpoint};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends `req` to `addr` over TCP: status and body.
async fn over_tcp(addr: SocketAddr, req: Request<Bytes>) -> (StatusCode, Bytes) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let (mut head, body) = req.into_parts();
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    head.uri = format!("http://{addr}{path}").parse().unwrap();
    let res = client
        .request(Request::from_parts(head, Full::new(body)))
        .await
        .unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

const STRIPE_SECRET: &str = "whsec_stripe_test";
const GITHUB_SECRET: &str = "github-s3cret";

#[derive(serde::Deserialize)]
struct StripeEvent {
    r#type: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "event", content = "payload", rename_all = "snake_case")]
#[allow(dead_code)] // read through `Debug` only
enum GitHubEvent {
    Push { r#ref: String },
    Ping { zen: String },
}

fn stripe_delivery(id: &str, kind: &str) -> Request<Bytes> {
    let stripe = Stripe::new(STRIPE_SECRET).unwrap();
    let body = format!(r#"{{"id":"{id}","type":"{kind}"}}"#);
    Signer::new(&stripe)
        .id(id)
        .request("/webhooks/stripe", body)
        .unwrap()
}

fn github_delivery(event: &str, body: &str) -> Request<Bytes> {
    let github = GitHub::new(GITHUB_SECRET).unwrap();
    let mut req = Signer::new(&github)
        .request("/webhooks/github", body.to_owned())
        .unwrap();
    req.headers_mut()
        .insert("x-github-event", event.parse().unwrap());
    req
}

// -- Two endpoints ----------------------------------------------------------

#[tokio::test]
async fn two_endpoints_each_get_their_own_layer_and_typed_payloads() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (s1, s2) = (seen.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/webhooks/stripe",
            endpoint(
                WebhookLayer::new(Stripe::new(STRIPE_SECRET).unwrap()),
                move |Verified(event, delivery): Verified<StripeEvent>| async move {
                    let e = delivery.event().unwrap();
                    assert!(e.signed, "Stripe's `type` is in the signed body");
                    assert_eq!(e.name, event.r#type);
                    s1.lock().unwrap().push(format!("stripe {}", event.r#type));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/webhooks/github",
            endpoint(
                WebhookLayer::new(GitHub::new(GITHUB_SECRET).unwrap()),
                move |Verified(Tagged(event), delivery): Verified<Tagged<GitHubEvent>>| async move {
                    let e = delivery.event().unwrap();
                    assert!(!e.signed, "X-GitHub-Event is not signed");
                    s2.lock().unwrap().push(format!("github {event:?}"));
                    StatusCode::NO_CONTENT
                },
            ),
        );
    let addr = serve(app).await;
    let (status, _) = over_tcp(addr, stripe_delivery("evt_1", "invoice.paid")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = over_tcp(addr, github_delivery("push", r#"{"ref":"main"}"#)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "stripe invoice.paid".to_owned(),
            r#"github Push { ref: "main" }"#.to_owned()
        ]
    );
    // A Stripe delivery posted to the GitHub endpoint is refused there.
    let mut wrong = stripe_delivery("evt_2", "invoice.paid");
    *wrong.uri_mut() = "/webhooks/github".parse().unwrap();
    assert_eq!(over_tcp(addr, wrong).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn route_layer_over_two_routes_is_the_trap_endpoint_avoids_and_nested_layers_name_the_fix() {
    // The trap: `route_layer` wraps every route added before it, so the
    // Stripe route sits inside both layers.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = Router::new()
        .route(
            "/webhooks/stripe",
            post(move || {
                c.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::NO_CONTENT }
            }),
        )
        .route_layer(WebhookLayer::new(Stripe::new(STRIPE_SECRET).unwrap()))
        .route(
            "/webhooks/github",
            post(|| async { StatusCode::NO_CONTENT }),
        )
        .route_layer(WebhookLayer::new(GitHub::new(GITHUB_SECRET).unwrap()));
    let response = app
        .oneshot(stripe_delivery("evt_1", "invoice.paid").map(Full::new))
        .await
        .unwrap();
    // The outer (GitHub) layer refuses the Stripe delivery: 401, as a
    // wrongly signed delivery would be (`endpoint` makes this wiring
    // impossible; see the test above). When the outer layer verifies, the
    // inner one sees a delivery verified already and says what is wrong:
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let app = Router::new()
        .route(
            "/webhooks/stripe",
            post(move || async { StatusCode::NO_CONTENT }),
        )
        .route_layer(WebhookLayer::new(Stripe::new(STRIPE_SECRET).unwrap()))
        .route_layer(WebhookLayer::new(Stripe::new(STRIPE_SECRET).unwrap()));
    let response = app
        .oneshot(stripe_delivery("evt_1", "invoice.paid").map(Full::new))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let rejection = response.extensions().get::<Rejection>().cloned();
    assert_eq!(rejection, Some(Rejection::NestedLayers));
    assert!(
        Rejection::NestedLayers
            .to_string()
            .contains("tower_webhook::endpoint")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// -- GET handshakes through the documented wiring ---------------------------

#[tokio::test]
async fn get_handshake_reaches_the_layer_through_endpoint_and_other_methods_get_its_405() {
    let hooked = Arc::new(AtomicUsize::new(0));
    let h = hooked.clone();
    let layer =
        WebhookLayer::new(Dropbox::new("dropbox-app-secret").unwrap()).on_rejection(move |r, _| {
            h.fetch_add(1, Ordering::SeqCst);
            (
                r.status(),
                Json(serde_json::json!({ "error": r.message() })),
            )
        });
    let app = Router::new().route(
        "/webhooks/dropbox",
        endpoint(layer, || async { StatusCode::OK }),
    );
    let addr = serve(app).await;
    let get = Request::get("/webhooks/dropbox?challenge=abc123")
        .body(Bytes::new())
        .unwrap();
    let (status, body) = over_tcp(addr, get).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"abc123"[..]));
    assert_eq!(hooked.load(Ordering::SeqCst), 0, "a handshake is no error");
    // Any other method is the layer's 405, through the hook (not axum's bare 405).
    let put = Request::put("/webhooks/dropbox")
        .body(Bytes::new())
        .unwrap();
    let (status, body) = over_tcp(addr, put).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(&body[..], br#"{"error":"method not allowed"}"#);
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
}

// -- The payload type, named once -------------------------------------------

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Invoice {
    amount: u64,
}

#[tokio::test]
async fn a_payload_of_another_type_is_a_400_naming_nothing_and_the_retry_is_processed() {
    let f = fixture();
    let app = Router::new().route(
        "/webhook",
        endpoint(f.layer.clone(), |_: Verified<Invoice>| async {
            StatusCode::NO_CONTENT
        }),
    );
    let response = app
        .clone()
        .oneshot(signed("msg_1", r#"{"amount":"ten"}"#))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"payload not understood");
    // Not committed: the sender's retry reaches the handler again (and a
    // fixed deployment would take it).
    let response = app
        .oneshot(signed("msg_1", r#"{"amount":"ten"}"#))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.extensions().get::<Rejection>().is_none());
}

#[tokio::test]
async fn the_extractor_without_a_layer_is_a_500_that_names_the_type() {
    let app = Router::new().route(
        "/webhook",
        post(|_: Verified<Invoice>| async { StatusCode::NO_CONTENT }),
    );
    let response = app.oneshot(signed("msg_1", "{}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let (parts, _) = Request::new(()).into_parts();
    let e = Verified::<Invoice>::from_parts(&parts).unwrap_err();
    assert!(e.to_string().contains("Invoice"), "{e}");
}

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "type")]
enum Known {
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
}

#[tokio::test]
async fn an_unknown_event_type_answered_2xx_is_committed_and_its_redelivery_is_a_duplicate() {
    let f = fixture();
    let unknown = Arc::new(AtomicUsize::new(0));
    let u = unknown.clone();
    let app = Router::new().route(
        "/webhook",
        endpoint(
            f.layer.clone(),
            move |event: Result<Verified<Known>, VerifiedRejection>| async move {
                match event {
                    Ok(Verified(Known::InvoicePaid, _)) => StatusCode::NO_CONTENT,
                    Err(VerifiedRejection::Payload(_)) => {
                        u.fetch_add(1, Ordering::SeqCst);
                        StatusCode::NO_CONTENT
                    }
                    Err(other) => other.status(),
                }
            },
        ),
    );
    let body = r#"{"type":"customer.created"}"#;
    let first = app.clone().oneshot(signed("msg_new", body)).await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let again = app.oneshot(signed("msg_new", body)).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(matches!(
        again.extensions().get::<Rejection>(),
        Some(Rejection::Duplicate { .. })
    ));
    assert_eq!(
        unknown.load(Ordering::SeqCst),
        1,
        "handled once, then remembered"
    );
}

// -- Acknowledgements and the error hook ------------------------------------

#[tokio::test]
async fn a_duplicate_does_not_reach_the_error_hook_unless_asked() {
    for asked in [false, true] {
        let f = fixture();
        let hooked = Arc::new(Mutex::new(Vec::new()));
        let h = hooked.clone();
        let layer = f
            .layer
            .clone()
            .hook_acknowledgements(asked)
            .on_rejection(move |r, head| {
                h.lock()
                    .unwrap()
                    .push((r.status(), head.uri.path().to_owned()));
                (
                    r.status(),
                    Json(serde_json::json!({ "error": r.message() })),
                )
            });
        let app = Router::new().route("/webhook", endpoint(layer, || async { StatusCode::OK }));
        let first = app.clone().oneshot(signed("msg_1", "{}")).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let dup = app.clone().oneshot(signed("msg_1", "{}")).await.unwrap();
        assert_eq!(dup.status(), StatusCode::OK);
        let body = dup.into_body().collect().await.unwrap().to_bytes();
        let mut forged = signed("msg_2", "{}");
        forged.headers_mut().remove("webhook-signature");
        let refused = app.oneshot(forged).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let seen = hooked.lock().unwrap().clone();
        if asked {
            assert_eq!(&body[..], br#"{"error":"already processed"}"#);
            assert_eq!(
                seen,
                [
                    (StatusCode::OK, "/webhook".to_owned()),
                    (StatusCode::UNAUTHORIZED, "/webhook".to_owned())
                ]
            );
        } else {
            assert_eq!(&body[..], b"already processed\n");
            assert_eq!(seen, [(StatusCode::UNAUTHORIZED, "/webhook".to_owned())]);
        }
    }
}

#[tokio::test]
async fn rejections_are_responses() {
    use axum::response::IntoResponse;
    let r = Rejection::PayloadTooLarge { limit: 10 }.into_response();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"payload too large\n");
    let v = VerifiedRejection::MissingLayer { type_name: "T" }.into_response();
    assert_eq!(v.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

// -- The span ---------------------------------------------------------------

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_handler_logs_inside_the_delivery_span() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let f = fixture();
    let app = Router::new().route(
        "/webhook",
        endpoint(f.layer.clone(), |delivery: Delivery| async move {
            tracing::info!(bytes = delivery.raw.len(), "handler ran");
            StatusCode::NO_CONTENT
        }),
    );
    let response = app.clone().oneshot(signed("msg_span", "{}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let logs = buffer.text();
    let line = logs
        .lines()
        .find(|l| l.contains("handler ran"))
        .unwrap_or_else(|| panic!("no handler line in:\n{logs}"));
    assert!(
        line.contains("webhook{scheme=\"standard\" event_id=\"msg_span\"}")
            || line.contains("webhook{scheme=standard event_id=msg_span}"),
        "{line}"
    );
    // A refusal is logged at WARN by default, with the reason.
    let mut forged = signed("msg_x", "{}");
    forged.headers_mut().remove("webhook-signature");
    app.oneshot(forged).await.unwrap();
    let logs = buffer.text();
    let refused = logs
        .lines()
        .find(|l| l.contains("webhook-signature"))
        .unwrap_or_else(|| panic!("no refusal in:\n{logs}"));
    assert!(refused.contains("WARN"), "{refused}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_rejection_log_level_is_configurable() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let f = fixture();
    let layer = f.layer.clone().rejection_log_level(tracing::Level::DEBUG);
    let app = Router::new().route("/webhook", endpoint(layer, || async { StatusCode::OK }));
    let mut forged = signed("msg_x", "{}");
    forged.headers_mut().remove("webhook-signature");
    assert_eq!(
        app.oneshot(forged).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let logs = buffer.text();
    let refused = logs
        .lines()
        .find(|l| l.contains("webhook-signature"))
        .unwrap_or_else(|| panic!("no refusal in:\n{logs}"));
    assert!(refused.contains("DEBUG"), "{refused}");
}

// -- The signer -------------------------------------------------------------

#[test]
fn the_signer_refuses_an_id_the_sender_cannot_carry() {
    // Calendly deliveries carry no event id at all.
    let calendly = Calendly::new("calendly-signing-key").unwrap();
    let e = Signer::new(&calendly)
        .id("evt_1")
        .request("/hook", "{}")
        .unwrap_err();
    assert!(
        matches!(
            &e,
            SignError::IdNotCarried {
                scheme: "calendly",
                found: None,
                ..
            }
        ),
        "{e:?}"
    );
    // Stripe carries it in the signed body: only that id is honoured.
    let stripe = Stripe::new(STRIPE_SECRET).unwrap();
    let e = Signer::new(&stripe)
        .id("evt_1")
        .request("/hook", r#"{"id":"evt_2"}"#)
        .unwrap_err();
    assert!(e.to_string().contains("write the id into the body"), "{e}");
    assert!(
        Signer::new(&stripe)
            .id("evt_1")
            .request("/hook", r#"{"id":"evt_1"}"#)
            .is_ok()
    );
}
