//! Every row of the status table, through the public API, in process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_webhook::dedup::{
    BoxFuture, Claim, DedupStore, MemoryStore, Reservation, StoreError, Token,
};
use tower_webhook::scheme::{
    Context as SchemeContext, Scheme, StandardWebhooks, Verdict, VerifyError,
};
use tower_webhook::{Delivery, Rejection, Verified, WebhookLayer};

/// A body that remembers whether anyone polled it.
struct Watched {
    polled: Arc<AtomicBool>,
    frames: VecDeque<Result<Bytes, &'static str>>,
    hint: SizeHint,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = &'static str;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
        self.polled.store(true, Ordering::SeqCst);
        Poll::Ready(self.frames.pop_front().map(|r| r.map(Frame::data)))
    }
    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

fn watched(
    req: Request<Full<Bytes>>,
    frames: Vec<Result<Bytes, &'static str>>,
) -> (Request<Watched>, Arc<AtomicBool>) {
    let polled = Arc::new(AtomicBool::new(false));
    let body = Watched {
        polled: polled.clone(),
        frames: frames.into(),
        hint: SizeHint::default(),
    };
    (req.map(|_| body), polled)
}

#[tokio::test]
async fn fresh_delivery_reaches_the_handler_with_verified_payload() {
    let f = fixture();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen2 = seen.clone();
    let svc = f
        .layer
        .clone()
        .layer(tower::service_fn(move |req: Request<Full<Bytes>>| {
            let seen = seen2.clone();
            async move {
                let delivery = req.extensions().get::<Delivery>().cloned().unwrap();
                let (parts, _) = req.into_parts();
                let Verified(payload, d2) =
                    Verified::<serde_json::Value>::from_parts(&parts).unwrap();
                assert_eq!(delivery, d2);
                *seen.lock().unwrap() = Some((payload, delivery));
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        }));
    let (status, rejection, body, _) = send(svc, signed("msg_1", r#"{"type":"ping"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rejection, None);
    assert_eq!(&body[..], b"ok");
    let (payload, delivery) = seen.lock().unwrap().take().unwrap();
    assert_eq!(payload["type"], "ping");
    assert_eq!(delivery.id, "msg_1");
    assert_eq!(delivery.id_kind, tower_webhook::IdKind::Signed);
    assert_eq!(delivery.scheme, "standard");
    // Standard Webhooks name the event in the signed `type` field.
    let event = delivery.event().unwrap();
    assert_eq!((event.name.as_str(), event.signed), ("ping", true));
    assert_eq!(&delivery.raw[..], br#"{"type":"ping"}"#);
    assert_eq!(
        delivery.timestamp,
        Some(std::time::UNIX_EPOCH + Duration::from_secs(NOW as u64))
    );
}

#[tokio::test]
async fn non_post_is_405_and_touches_nothing() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let mut req = signed("msg_1", "{}");
    *req.method_mut() = http::Method::GET;
    let (status, rejection, _, headers) = send(f.layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "POST");
    assert_eq!(
        rejection,
        Some(Rejection::MethodNotAllowed(http::Method::GET))
    );
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

/// A scheme that answers a GET challenge, as Meta or Dropbox do.
struct Challenging(StandardWebhooks);

impl Scheme for Challenging {
    type Head = <StandardWebhooks as Scheme>::Head;
    fn name(&self) -> &'static str {
        "challenging"
    }
    fn key_id(&self) -> tower_webhook::scheme::KeyId {
        self.0.key_id()
    }
    fn has_timestamp(&self) -> bool {
        self.0.has_timestamp()
    }
    fn challenge(&self, head: &http::request::Parts) -> Option<Response<Bytes>> {
        let challenge = head.uri.query()?.strip_prefix("challenge=")?;
        (head.method == http::Method::GET)
            .then(|| Response::new(Bytes::copy_from_slice(challenge.as_bytes())))
    }
    fn read(
        &self,
        head: &http::request::Parts,
        ctx: &SchemeContext,
    ) -> Result<Self::Head, VerifyError> {
        self.0.read(head, ctx)
    }
    fn verify(
        &self,
        head: &http::request::Parts,
        read: Self::Head,
        body: &[u8],
        ctx: &SchemeContext,
    ) -> Result<Verdict, VerifyError> {
        self.0.verify(head, read, body, ctx)
    }
}

#[tokio::test]
async fn handshake_is_answered_by_the_layer() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let layer = WebhookLayer::new(Challenging(scheme())).dedup(f.store.clone());
    let req = Request::get("/webhook?challenge=abc123")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, rejection, body, _) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rejection, None);
    assert_eq!(&body[..], b"abc123");
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
    // Without the challenge it is an ordinary GET: 405.
    let req = Request::get("/webhook")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn content_length_over_limit_is_413_before_reading() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let req = signed("msg_1", &"x".repeat(200));
    let (mut req, polled) = watched(req, vec![Ok(Bytes::from(vec![b'x'; 200]))]);
    req.headers_mut()
        .insert("content-length", "200".parse().unwrap());
    let svc = f.layer.clone().max_body(100).layer(h.service());
    let (status, rejection, ..) = send(svc, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rejection, Some(Rejection::PayloadTooLarge { limit: 100 }));
    assert!(!polled.load(Ordering::SeqCst), "the body must not be read");
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn chunked_body_growing_over_limit_is_413() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let req = signed("msg_1", "{}");
    let frames = (0..50)
        .map(|_| Ok(Bytes::from_static(&[b' '; 10])))
        .collect();
    let (req, polled) = watched(req, frames);
    let svc = f.layer.clone().max_body(100).layer(h.service());
    let (status, ..) = send(svc, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(polled.load(Ordering::SeqCst));
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn body_stream_error_is_400() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let (req, _) = watched(
        signed("msg_1", "{}"),
        vec![Ok(Bytes::from_static(b"{")), Err("connection reset")],
    );
    let (status, rejection, ..) = send(f.layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        matches!(rejection, Some(Rejection::BodyRead(ref m)) if m.contains("connection reset"))
    );
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn missing_or_malformed_signature_is_401_before_reading() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    for (name, value) in [
        ("webhook-signature", None),
        ("webhook-signature", Some("garbage")),
        ("webhook-signature", Some("")),
        ("webhook-id", None),
        ("webhook-timestamp", None),
        ("webhook-timestamp", Some("soon")),
    ] {
        let mut req = signed("msg_1", "{}");
        match value {
            None => {
                req.headers_mut().remove(name);
            }
            Some(v) => {
                req.headers_mut().insert(name, v.parse().unwrap());
            }
        }
        let (req, polled) = watched(req, vec![Ok(Bytes::from_static(b"{}"))]);
        let (status, rejection, body, _) = send(f.layer.layer(h.service()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}={value:?}");
        assert!(
            matches!(rejection, Some(Rejection::Unverified(_))),
            "{rejection:?}"
        );
        assert_eq!(&body[..], b"unauthorized\n");
        if value != Some("garbage") {
            // Everything but a non-matching signature is refused from the head alone.
            assert!(
                !polled.load(Ordering::SeqCst),
                "{name}={value:?}: body read"
            );
        }
    }
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn wrong_secret_is_401() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let other = StandardWebhooks::new(OTHER_SECRET).unwrap();
    let req = tower_webhook::sign::Signer::new(&other)
        .timestamp(f.clock.now_for_tests())
        .request("/webhook", "{}")
        .unwrap()
        .map(Full::new);
    let (status, rejection, ..) = send(f.layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection,
        Some(Rejection::Unverified(VerifyError::NoMatch {
            header: "webhook-signature",
            ..
        }))
    ));
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

trait NowForTests {
    fn now_for_tests(&self) -> std::time::SystemTime;
}
impl NowForTests for tower_webhook::clock::ManualClock {
    fn now_for_tests(&self) -> std::time::SystemTime {
        tower_webhook::clock::Clock::now(self)
    }
}

#[tokio::test]
async fn tampered_body_is_401() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let req = signed("msg_1", r#"{"amount":1}"#)
        .map(|_| Full::new(Bytes::from_static(br#"{"amount":9}"#)));
    let (status, ..) = send(f.layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.calls(), 0);
}

#[tokio::test]
async fn timestamp_edges_are_inclusive_in_both_directions() {
    let f = fixture();
    let layer = f.layer.clone().tolerance(Duration::from_secs(300));
    let cases = [
        (NOW - 300, StatusCode::OK),
        (NOW - 301, StatusCode::UNAUTHORIZED),
        (NOW + 300, StatusCode::OK),
        (NOW + 301, StatusCode::UNAUTHORIZED),
    ];
    for (i, (ts, expected)) in cases.into_iter().enumerate() {
        let h = Counter::new(StatusCode::OK);
        let (status, rejection, ..) = send(
            layer.layer(h.service()),
            signed_at(&format!("msg_{i}"), ts, "{}"),
        )
        .await;
        assert_eq!(status, expected, "ts offset {}: {rejection:?}", ts - NOW);
        if expected == StatusCode::UNAUTHORIZED {
            assert!(matches!(
                rejection,
                Some(Rejection::Unverified(
                    VerifyError::TooOld { .. } | VerifyError::TooNew { .. }
                ))
            ));
            assert_eq!(h.calls(), 0);
        }
    }
    // A delivery that was fresh goes stale as the clock moves on; nobody sleeps.
    let h = Counter::new(StatusCode::OK);
    let req = signed_at("msg_late", NOW, "{}");
    f.clock.advance(Duration::from_secs(301));
    let (status, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tolerance_can_differ_per_direction() {
    let f = fixture();
    let layer = f
        .layer
        .clone()
        .tolerance_past(Duration::from_secs(600))
        .tolerance_future(Duration::from_secs(10));
    let h = Counter::new(StatusCode::OK);
    let svc = || layer.layer(h.service());
    assert_eq!(
        send(svc(), signed_at("a", NOW - 600, "{}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(svc(), signed_at("b", NOW + 10, "{}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(svc(), signed_at("c", NOW + 11, "{}")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(svc(), signed_at("d", NOW - 601, "{}")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn completed_duplicate_is_200_without_the_handler() {
    let f = fixture();
    let h = Counter::new(StatusCode::NO_CONTENT);
    let (status, ..) = send(f.layer.layer(h.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, rejection, ..) = send(f.layer.layer(h.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rejection, Some(Rejection::Duplicate { id: "msg_1".into() }));
    assert_eq!(h.calls(), 1);
    // The path is not signed: posted elsewhere, it is the same delivery.
    let mut other = signed("msg_1", "{}");
    *other.uri_mut() = "/other".parse().unwrap();
    let (status, ..) = send(f.layer.layer(h.service()), other).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.calls(), 1);
    // Another namespace (endpoint) has its own ids.
    let (status, ..) = send(
        f.layer.clone().namespace("other").layer(h.service()),
        signed("msg_1", "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.calls(), 2);
}

/// The default memory store is built when the first service is made, on the
/// clock set by then, and shared by every service the layer and its clones
/// make; `.clock()` on a copy gives that copy a store of its own.
#[tokio::test]
async fn the_default_store_is_shared_and_follows_the_clock() {
    let clock = tower_webhook::clock::ManualClock::at_unix(NOW);
    let layer = WebhookLayer::new(scheme()).clock(clock.clone());
    let h = Counter::new(StatusCode::NO_CONTENT);
    let first = layer.layer(h.service());
    let clone = layer.clone();
    assert_eq!(
        send(first, signed("msg_d", "{}")).await.0,
        StatusCode::NO_CONTENT
    );
    // Another service of the same layer, and one of its clone: duplicates.
    for service in [layer.layer(h.service()), clone.layer(h.service())] {
        let (status, rejection, ..) = send(service, signed("msg_d", "{}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    }
    assert_eq!(h.calls(), 1);
    // The store reads the layer's clock: past the replay window (tolerance +
    // a minute) the id is forgotten and the timestamp refused.
    clock.advance(Duration::from_secs(300 + 61));
    assert_eq!(
        send(layer.layer(h.service()), signed("msg_d", "{}"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = signed_at("msg_d", NOW + 361, "{}");
    assert_eq!(
        send(layer.layer(h.service()), fresh).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.calls(), 2);
    // A copy given another clock gets a store of its own.
    let other = layer
        .clone()
        .clock(tower_webhook::clock::ManualClock::at_unix(NOW + 361));
    let fresh = signed_at("msg_d", NOW + 361, "{}");
    assert_eq!(
        send(other.layer(h.service()), fresh).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.calls(), 3);
}

#[tokio::test]
async fn duplicate_is_remembered_for_the_whole_replay_window() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    // Signed 299 s in the future: acceptable until NOW+299+300.
    let early = signed_at("msg_skew", NOW + 299, "{}");
    assert_eq!(
        send(f.layer.layer(h.service()), early).await.0,
        StatusCode::OK
    );
    f.clock.advance(Duration::from_secs(299 + 300));
    let replay = signed_at("msg_skew", NOW + 299, "{}");
    let (status, rejection, ..) = send(f.layer.layer(h.service()), replay).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        matches!(rejection, Some(Rejection::Duplicate { .. })),
        "{rejection:?}"
    );
    assert_eq!(h.calls(), 1);
    // One second later the timestamp itself is refused.
    f.clock.advance(Duration::from_secs(1));
    let replay = signed_at("msg_skew", NOW + 299, "{}");
    assert_eq!(
        send(f.layer.layer(h.service()), replay).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn same_id_in_flight_is_409_with_retry_after() {
    let f = fixture();
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let (g, e) = (gate.clone(), entered.clone());
    let slow = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let (g, e) = (g.clone(), e.clone());
        async move {
            e.notify_one();
            g.notified().await;
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }
    });
    let layer = f.layer.clone().lease(Duration::from_secs(30));
    let first = tokio::spawn(layer.layer(slow.clone()).oneshot(signed("msg_1", "{}")));
    entered.notified().await;
    let h = Counter::new(StatusCode::OK);
    let (status, rejection, _, headers) =
        send(layer.layer(h.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(headers["retry-after"], "30");
    assert!(matches!(rejection, Some(Rejection::InFlight { .. })));
    assert_eq!(h.calls(), 0);
    gate.notify_one();
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
    let (status, ..) = send(layer.layer(h.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.calls(), 0, "completed by the first request");
}

/// A store whose releases are lost: the process died before sending them.
struct NeverRelease(MemoryStore);

impl DedupStore for NeverRelease {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        self.0.reserve(key, claim)
    }
    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.commit(key, token, retention)
    }
    fn release<'a>(&'a self, _: &'a str, _: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Ok(false) })
    }
}

/// A store whose backend is down.
struct Down;

impl DedupStore for Down {
    fn reserve<'a>(
        &'a self,
        _: &'a str,
        _: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
    fn commit<'a>(
        &'a self,
        _: &'a str,
        _: Token,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
    fn release<'a>(&'a self, _: &'a str, _: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) })
    }
}

#[tokio::test]
async fn store_unreachable_is_503_with_retry_after_and_no_handler() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let svc = f.layer.clone().dedup(Down).layer(h.service());
    let (status, rejection, _, headers) = send(svc, signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    assert!(matches!(
        rejection,
        Some(Rejection::Store(StoreError::Unavailable(_)))
    ));
    assert_eq!(h.calls(), 0);
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Invoice {
    amount: u64,
}

/// A handler that decodes an `Invoice` and answers the extractor's
/// rejection when it cannot.
async fn invoice_handler(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, _) = req.into_parts();
    let status = match Verified::<Invoice>::from_parts(&parts) {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            assert!(e.to_string().contains("Invoice"), "{e}");
            e.status()
        }
    };
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    Ok(r)
}

#[tokio::test]
async fn unparsable_payload_is_400_and_releases_the_id() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let (status, rejection, ..) = send(
        f.layer.clone().layer(tower::service_fn(invoice_handler)),
        signed("msg_1", r#"{"amount":"ten"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(rejection, None, "the handler answered, not the layer");
    // The id is free again: a corrected retry (or a fixed deployment) processes it.
    let (status, ..) = send(
        f.layer.clone().layer(h.service()),
        signed("msg_1", r#"{"amount":"ten"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.calls(), 1);
}

#[tokio::test]
async fn failing_handler_releases_so_the_retry_is_processed() {
    let f = fixture();
    let failing = Counter::new(StatusCode::INTERNAL_SERVER_ERROR);
    let (status, rejection, ..) =
        send(f.layer.layer(failing.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(rejection, None);
    let ok = Counter::new(StatusCode::OK);
    let (status, ..) = send(f.layer.layer(ok.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((failing.calls(), ok.calls()), (1, 1));
}

#[tokio::test]
async fn panicking_handler_releases_so_the_retry_is_processed() {
    let f = fixture();
    let panicking = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let task = tokio::spawn(f.layer.layer(panicking).oneshot(signed("msg_1", "{}")));
    assert!(task.await.unwrap_err().is_panic());
    let ok = Counter::new(StatusCode::OK);
    let (status, ..) = send(f.layer.layer(ok.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ok.calls(), 1);
}

#[tokio::test]
async fn dropped_request_future_releases_so_the_retry_is_processed() {
    let f = fixture();
    let entered = Arc::new(tokio::sync::Notify::new());
    let e = entered.clone();
    let never = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let e = e.clone();
        async move {
            e.notify_one();
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }
    });
    let task = tokio::spawn(f.layer.layer(never).oneshot(signed("msg_1", "{}")));
    entered.notified().await;
    assert_eq!(f.store.len(), 1);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let ok = Counter::new(StatusCode::OK);
    let (status, ..) = send(f.layer.layer(ok.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ok.calls(), 1);
}

#[tokio::test]
async fn crashed_process_lease_expires_and_the_retry_goes_through() {
    let f = fixture();
    // A reservation nobody will settle: the process holding it died
    // before it could release (its store never hears the release).
    let dying = WebhookLayer::new(scheme())
        .clock(f.clock.clone())
        .dedup(NeverRelease(f.store.clone()));
    let failing = Counter::new(StatusCode::INTERNAL_SERVER_ERROR);
    let (status, ..) = send(dying.layer(failing.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let h = Counter::new(StatusCode::OK);
    let (status, ..) = send(f.layer.layer(h.service()), signed("msg_1", "{}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    f.clock.advance(Duration::from_secs(60));
    let (status, ..) = send(
        f.layer.layer(h.service()),
        signed_at("msg_1", NOW + 60, "{}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.calls(), 1);
}

#[tokio::test]
async fn rotation_accepts_old_and_new_secret_and_multiple_signatures() {
    let f = fixture();
    let both = StandardWebhooks::with_secrets([OTHER_SECRET, SECRET]).unwrap();
    let layer = WebhookLayer::new(both)
        .clock(f.clock.clone())
        .dedup(f.store.clone());
    let h = Counter::new(StatusCode::OK);
    // Signed with the old secret only.
    assert_eq!(
        send(layer.layer(h.service()), signed("a", "{}")).await.0,
        StatusCode::OK
    );
    // Signed with the new secret only.
    let new = StandardWebhooks::new(OTHER_SECRET).unwrap();
    let req = tower_webhook::sign::Signer::new(&new)
        .id("b")
        .timestamp(f.clock.now_for_tests())
        .request("/webhook", "{}")
        .unwrap()
        .map(Full::new);
    assert_eq!(send(layer.layer(h.service()), req).await.0, StatusCode::OK);
    // A sender signing with both secrets at once, received by old-only.
    let sender = StandardWebhooks::with_secrets([OTHER_SECRET, SECRET]).unwrap();
    let req = tower_webhook::sign::Signer::new(&sender)
        .id("c")
        .timestamp(f.clock.now_for_tests())
        .request("/webhook", "{}")
        .unwrap()
        .map(Full::new);
    assert_eq!(
        req.headers()["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert_eq!(
        send(f.layer.layer(h.service()), req).await.0,
        StatusCode::OK
    );
    assert_eq!(h.calls(), 3);
}

#[tokio::test]
async fn non_utf8_body_verifies_and_arrives_raw() {
    let f = fixture();
    let s = scheme();
    let body = Bytes::from_static(&[0xff, 0x00, 0xc3, 0x28, b'.', b'.']);
    let req = tower_webhook::sign::Signer::new(&s)
        .id("bin")
        .timestamp(f.clock.now_for_tests())
        .request("/webhook", body.clone())
        .unwrap()
        .map(Full::new);
    let expected = body.clone();
    let svc = f
        .layer
        .clone()
        .layer(tower::service_fn(move |req: Request<Full<Bytes>>| {
            let expected = expected.clone();
            async move {
                let raw = req.extensions().get::<Delivery>().unwrap().raw.clone();
                assert_eq!(raw, expected);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }
        }));
    assert_eq!(send(svc, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn custom_rejection_response_keeps_the_typed_rejection() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let layer = f.layer.clone().on_rejection(|r, _head| {
        (
            r.status(),
            [("content-type", "application/json")],
            format!("{{\"error\":{}}}", r.status().as_u16()),
        )
    });
    let mut req = signed("msg_1", "{}");
    req.headers_mut().remove("webhook-signature");
    let (status, rejection, body, _) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(&body[..], br#"{"error":401}"#);
    assert_eq!(
        rejection,
        Some(Rejection::Unverified(VerifyError::MissingHeader {
            header: "webhook-signature"
        }))
    );
}

#[tokio::test]
async fn without_dedup_every_verified_copy_reaches_the_handler() {
    let f = fixture();
    let h = Counter::new(StatusCode::OK);
    let layer = f.layer.clone().without_dedup();
    for _ in 0..3 {
        assert_eq!(
            send(layer.layer(h.service()), signed("msg_1", "{}"))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(h.calls(), 3);
}

#[tokio::test]
async fn default_store_follows_the_layer_clock() {
    let f = fixture();
    // No `.dedup(...)`: the layer's own memory store must expire with the
    // injected clock, not the system's.
    let layer = WebhookLayer::new(scheme()).clock(f.clock.clone());
    let h = Counter::new(StatusCode::OK);
    assert_eq!(
        send(layer.layer(h.service()), signed("msg_1", "{}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(layer.layer(h.service()), signed("msg_1", "{}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(h.calls(), 1);
    // Past its retention (window end + 1 min margin) the id is forgotten, and
    // a fresh copy signed at the new time goes through.
    f.clock.advance(Duration::from_secs(300 + 61));
    let later = signed_at("msg_1", NOW + 361, "{}");
    assert_eq!(
        send(layer.layer(h.service()), later).await.0,
        StatusCode::OK
    );
    assert_eq!(h.calls(), 2);
}
