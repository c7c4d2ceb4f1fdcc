//! Over a real TCP socket: axum routes behind the layer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::sign::Signer;
use tower_webhook::{Delivery, Verified, WebhookLayer, endpoint};

#[derive(serde::Deserialize)]
struct Event {
    r#type: String,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn post_to(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    req: Request<Bytes>,
) -> (StatusCode, Bytes) {
    let (mut head, body) = req.into_parts();
    head.uri = format!("http://{addr}{}", head.uri.path()).parse().unwrap();
    let res = client
        .request(Request::from_parts(head, Full::new(body)))
        .await
        .unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_copies_of_one_event_run_the_handler_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move |Verified(event, delivery): Verified<Event>| {
        let c = c.clone();
        async move {
            assert_eq!(event.r#type, "invoice.paid");
            assert_eq!(delivery.id, "msg_once");
            c.fetch_add(1, Ordering::SeqCst);
            // Hold the reservation long enough for the others to collide.
            tokio::time::sleep(Duration::from_millis(200)).await;
            StatusCode::NO_CONTENT
        }
    };
    let layer = WebhookLayer::new(scheme()).dedup(MemoryStore::new());
    let app = Router::new().route("/webhook", endpoint(layer, handler));
    let addr = serve(app).await;
    let client = client();
    let s = scheme();
    let request = Signer::new(&s)
        .id("msg_once")
        .request("/webhook", r#"{"type":"invoice.paid"}"#)
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (client, req) = (client.clone(), request.clone());
        tasks.push(tokio::spawn(
            async move { post_to(&client, addr, req).await.0 },
        ));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "{statuses:?}");
    let handled = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(handled, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::NO_CONTENT, StatusCode::CONFLICT, StatusCode::OK].contains(s)),
        "{statuses:?}"
    );
    // After it completed, a retry is a 200 duplicate.
    assert_eq!(post_to(&client, addr, request).await.0, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn forged_delivery_is_401_over_the_wire_and_extractors_work() {
    let app = Router::new().route(
        "/webhook",
        endpoint(
            WebhookLayer::new(scheme()),
            |Verified(event, _): Verified<Event>, delivery: Delivery| async move {
                format!("{} {}", event.r#type, delivery.id)
            },
        ),
    );
    let addr = serve(app).await;
    let client = client();
    let s = scheme();
    let ok = Signer::new(&s)
        .id("msg_a")
        .request("/webhook", r#"{"type":"t"}"#)
        .unwrap();
    let (status, body) = post_to(&client, addr, ok.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"t msg_a");
    let forged = ok.map(|_| Bytes::from_static(br#"{"type":"u"}"#));
    let (status, body) = post_to(&client, addr, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(&body[..], b"unauthorized\n");
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_500_that_names_the_fix() {
    let app = Router::new().route(
        "/webhook",
        post(|Verified(_e, _): Verified<Event>| async { "unreachable" }),
    );
    let addr = serve(app).await;
    let s = scheme();
    let req = Signer::new(&s)
        .request("/webhook", r#"{"type":"t"}"#)
        .unwrap();
    let (status, body) = post_to(&client(), addr, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(&body[..], b"webhook layer missing");
    // The log line (the error's Display) names the type and the fix.
    let logged = tower_webhook::VerifiedRejection::MissingLayer {
        type_name: std::any::type_name::<Event>(),
    }
    .to_string();
    assert!(
        logged.contains("tower_webhook::endpoint") && logged.contains("Event"),
        "{logged}"
    );
}

#[tokio::test]
async fn oversized_chunked_body_is_413_over_the_wire() {
    let app = Router::new()
        .route("/webhook", post(|| async { StatusCode::OK }))
        .route_layer(WebhookLayer::new(scheme()).max_body(1024));
    let addr = serve(app).await;
    let s = scheme();
    let req = Signer::new(&s)
        .request("/webhook", vec![b' '; 4096])
        .unwrap();
    // Stream it in chunks without a Content-Length.
    let (mut head, body) = req.into_parts();
    head.uri = format!("http://{addr}/webhook").parse().unwrap();
    head.headers.remove("content-length");
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = body
        .chunks(256)
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let stream = http_body_util::StreamBody::new(tokio_stream_iter(chunks));
    let client: Client<HttpConnector, http_body_util::StreamBody<_>> =
        Client::builder(TokioExecutor::new()).build_http();
    let res = client
        .request(Request::from_parts(head, stream))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A `Stream` over a vector, without a futures dependency.
fn tokio_stream_iter<T: Unpin>(items: Vec<T>) -> impl futures_core::Stream<Item = T> {
    struct Iter<T>(std::collections::VecDeque<T>);
    impl<T: Unpin> futures_core::Stream for Iter<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.pop_front())
        }
    }
    Iter(items.into())
}
