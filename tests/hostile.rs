//! Hostile inputs, through the public API and, where the network matters,
//! over a real TCP socket: bodies that are too large, lie about their size,
//! arrive slowly or stop half-way; duplicated, conflicting, absurd, non-ASCII
//! and non-UTF-8 headers; malformed timestamps; re-framed signed content;
//! attempts to pollute or overflow the dedup store; and secrets leaking into
//! `Debug`, `Display`, error messages or logs.
//!
//! Where a test signs something odd (a strange timestamp, a non-ASCII id) it
//! signs with the real secret through an independent HMAC (the `hmac` and
//! `sha2` crates directly), so only the layer's parsing can refuse it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use common::*;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderValue, Request, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::Full;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::{Layer, ServiceExt};
use tower_webhook::dedup::{
    BoxFuture, Claim, DedupStore, MemoryStore, Reservation, StoreError, Token,
};
use tower_webhook::scheme::{Scheme, StandardWebhooks, VerifyError};
use tower_webhook::secret::{KeyRing, Secret};
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, WebhookLayer};

/// The base64 body of [`SECRET`]: must never appear in any output.
const SECRET_B64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// ---------------------------------------------------------------------------
// Helpers

/// `v1,` + base64 HMAC-SHA256 over `id.ts.body` with [`SECRET`], computed
/// without the crate.
fn reference_sig(id: &[u8], ts: &[u8], body: &[u8]) -> String {
    let key = B64.decode(SECRET_B64).unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    let mut content = id.to_vec();
    content.push(b'.');
    content.extend_from_slice(ts);
    content.push(b'.');
    content.extend_from_slice(body);
    mac.update(&content);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// A POST to `/webhook` with exactly these headers (raw bytes) and body.
fn raw_request(headers: &[(&str, &[u8])], body: &[u8]) -> Request<Full<Bytes>> {
    let mut b = Request::post("/webhook");
    for (name, value) in headers {
        b = b.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    b.body(Full::new(Bytes::copy_from_slice(body))).unwrap()
}

/// A request whose three headers carry `id` and `ts` as given, signed with
/// the real secret over exactly those bytes.
fn signed_raw(id: &[u8], ts: &[u8], body: &[u8]) -> Request<Full<Bytes>> {
    let sig = reference_sig(id, ts, body);
    raw_request(
        &[
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", sig.as_bytes()),
        ],
        body,
    )
}

/// A [`DedupStore`] wrapper counting every operation.
#[derive(Clone)]
struct CountingStore {
    inner: MemoryStore,
    ops: Arc<AtomicUsize>,
}

impl CountingStore {
    fn new(inner: MemoryStore) -> Self {
        Self {
            inner,
            ops: Arc::new(AtomicUsize::new(0)),
        }
    }
    fn ops(&self) -> usize {
        self.ops.load(Ordering::SeqCst)
    }
}

impl DedupStore for CountingStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        self.ops.fetch_add(1, Ordering::SeqCst);
        self.inner.reserve(key, claim)
    }
    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.ops.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(key, token, retention)
    }
    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.ops.fetch_add(1, Ordering::SeqCst);
        self.inner.release(key, token)
    }
}

/// The fixture's layer with a counting wrapper around its store.
fn counted() -> (Fixture, CountingStore, WebhookLayer<StandardWebhooks>) {
    let f = fixture();
    let store = CountingStore::new(f.store.clone());
    let layer = f.layer.clone().dedup(store.clone());
    (f, store, layer)
}

/// A body of `frames` frames of `size` bytes each (no size announced, like
/// chunked encoding) that counts the bytes pulled out of it, optionally
/// failing after `fail_after` frames or staying pending forever.
struct Counted {
    frames: usize,
    size: usize,
    fail_after: Option<usize>,
    pending_after: Option<usize>,
    sent: usize,
    pulled: Arc<AtomicUsize>,
}

impl Counted {
    fn new(frames: usize, size: usize) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = Self {
            frames,
            size,
            fail_after: None,
            pending_after: None,
            sent: 0,
            pulled: pulled.clone(),
        };
        (body, pulled)
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.fail_after == Some(self.sent) {
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            ))));
        }
        if self.pending_after == Some(self.sent) {
            return Poll::Pending;
        }
        if self.sent == self.frames {
            return Poll::Ready(None);
        }
        self.sent += 1;
        self.pulled.fetch_add(self.size, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; self.size])))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Serves `app` on a free local port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An axum app with the layer (raw payload, counting store) on `/webhook`
/// and a handler that counts.
fn app(
    layer: WebhookLayer<StandardWebhooks>,
    extra: impl FnOnce(Router) -> Router,
) -> (Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = Router::new()
        .route(
            "/webhook",
            post(move || {
                let c = c.clone();
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route_layer(layer);
    (extra(router), calls)
}

/// The head of an HTTP/1.1 POST carrying a signed delivery's headers.
fn wire_head(req: &Request<Full<Bytes>>, content_length: Option<u64>, close: bool) -> Vec<u8> {
    let mut out = b"POST /webhook HTTP/1.1\r\nhost: localhost\r\n".to_vec();
    for (name, value) in req.headers() {
        if name == "content-length" {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(n) = content_length {
        write!(out, "content-length: {n}\r\n").unwrap();
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads whatever the server sends until it closes or `wait` passes.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Status codes of every response in `raw`, in order.
fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

const BODY: &str = r#"{"type":"invoice.paid","n":1}"#;

// ---------------------------------------------------------------------------
// Bodies: too large, lying, slow, interrupted

#[tokio::test]
async fn content_length_over_limit_is_413_over_tcp_without_waiting_for_the_body() {
    let (_f, store, layer) = counted();
    let (app, calls) = app(layer.max_body(1024), |r| r);
    let addr = serve(app).await;
    let req = signed("msg_big", BODY);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Claims a gigabyte; sends not one byte of it.
    stream
        .write_all(&wire_head(&req, Some(1 << 30), true))
        .await
        .unwrap();
    let started = Instant::now();
    let raw = read_for(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(statuses(&raw), vec![413], "{raw}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited for the body"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
}

#[tokio::test]
async fn content_length_over_limit_never_pulls_a_byte_in_process() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let (body, pulled) = Counted::new(1000, 1000);
    let mut req = signed("msg_big", BODY).map(|_| body);
    req.headers_mut()
        .insert("content-length", HeaderValue::from(1_000_000u64));
    let (status, ..) = send(layer.max_body(1024).layer(h.service()), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn content_length_claiming_less_than_sent_verifies_only_what_was_framed() {
    let (_f, store, layer) = counted();
    let (app, calls) = app(layer, |r| r);
    let addr = serve(app).await;
    // Signed over the whole body; the header claims 10 bytes less.
    let req = signed("msg_short", BODY);
    let n = BODY.len() as u64 - 10;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&wire_head(&req, Some(n), false))
        .await
        .unwrap();
    stream.write_all(BODY.as_bytes()).await.unwrap();
    let raw = read_for(&mut stream, Duration::from_secs(5)).await;
    // The framed prefix fails verification; the 10 leftover bytes are not a
    // request hyper accepts (400 or a closed connection), never a delivery.
    let got = statuses(&raw);
    assert_eq!(got.first(), Some(&401), "{raw}");
    assert!(got[1..].iter().all(|s| *s == 400), "{raw}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
}

#[tokio::test]
async fn content_length_claiming_more_than_sent_then_eof_is_400_and_touches_nothing() {
    let (_f, store, layer) = counted();
    let (app, calls) = app(layer, |r| r);
    let addr = serve(app).await;
    let req = signed("msg_long", BODY);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&wire_head(&req, Some(BODY.len() as u64 + 100), false))
        .await
        .unwrap();
    stream.write_all(BODY.as_bytes()).await.unwrap();
    // Half-close: the body ends 100 bytes short of what was announced.
    stream.shutdown().await.unwrap();
    let raw = read_for(&mut stream, Duration::from_secs(5)).await;
    let got = statuses(&raw);
    assert!(got.is_empty() || got == vec![400], "{raw}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
}

#[tokio::test]
async fn chunked_body_over_limit_pulls_at_most_limit_plus_one_frame() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    // 100 MB offered in 100-byte frames against a 1000-byte limit.
    let (body, pulled) = Counted::new(1_000_000, 100);
    let req = signed("msg_chunked", BODY).map(|_| body);
    let (status, rejection, ..) = send(layer.max_body(1000).layer(h.service()), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rejection, Some(Rejection::PayloadTooLarge { limit: 1000 }));
    let pulled = pulled.load(Ordering::SeqCst);
    assert!(pulled <= 1000 + 100, "pulled {pulled} bytes");
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn chunked_body_over_limit_is_413_over_tcp_while_the_client_keeps_sending() {
    let (_f, store, layer) = counted();
    let (app, calls) = app(layer.max_body(4096), |r| r);
    let addr = serve(app).await;
    let req = signed("msg_stream", BODY);
    let mut head = wire_head(&req, None, false);
    head.truncate(head.len() - 2);
    head.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(&head).await.unwrap();
    // Keep sending 1 KiB chunks (up to 64 MiB) until the server stops reading.
    let writer = tokio::spawn(async move {
        let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
        for _ in 0..65_536 {
            if wr.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), rd.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert_eq!(statuses(&raw).first(), Some(&413), "{raw}");
    writer.abort();
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
}

/// Slow senders are not the layer's job: it waits for the body as long as
/// the server lets it. Put a timeout around it; the webhook future is then
/// dropped before anything was reserved.
#[tokio::test]
async fn slow_sender_is_cut_off_by_an_outer_timeout_layer_over_tcp() {
    use tower_http::timeout::TimeoutLayer;
    let (_f, store, layer) = counted();
    let (app, calls) = app(layer, |r| {
        r.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(300),
        ))
    });
    let addr = serve(app).await;
    let req = signed("msg_slow", BODY);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&wire_head(&req, Some(BODY.len() as u64), true))
        .await
        .unwrap();
    // Half the body, then silence.
    stream.write_all(&BODY.as_bytes()[..10]).await.unwrap();
    let started = Instant::now();
    let raw = read_for(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(statuses(&raw), vec![408], "{raw}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
}

#[tokio::test]
async fn slow_sender_in_process_with_tower_timeout_drops_the_future_cleanly() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let (mut body, pulled) = Counted::new(10, 10);
    body.pending_after = Some(2);
    let req = signed("msg_slow", BODY).map(|_| body);
    let svc = tower::ServiceBuilder::new()
        .timeout(Duration::from_millis(100))
        .layer(layer)
        .service(h.service());
    let err = svc.oneshot(req).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    assert_eq!(pulled.load(Ordering::SeqCst), 20);
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn client_gone_mid_body_is_400_in_process() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let (mut body, _) = Counted::new(10, 10);
    body.fail_after = Some(3);
    let req = signed("msg_gone", BODY).map(|_| body);
    let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(matches!(rejection, Some(Rejection::BodyRead(ref m)) if m.contains("went away")));
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn client_gone_mid_body_over_tcp_reserves_nothing_and_calls_nothing() {
    let (f, store, layer) = counted();
    let (app, calls) = app(layer, |r| r);
    let addr = serve(app).await;
    let req = signed("msg_gone", BODY);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&wire_head(&req, Some(BODY.len() as u64), false))
        .await
        .unwrap();
    stream.write_all(&BODY.as_bytes()[..10]).await.unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.ops(), 0);
    assert!(f.store.is_empty());
}

// ---------------------------------------------------------------------------
// Headers: duplicated, conflicting, absurd, non-ASCII

#[tokio::test]
async fn duplicated_signature_id_or_timestamp_headers_are_refused_even_if_one_is_valid() {
    for dup in ["webhook-signature", "webhook-id", "webhook-timestamp"] {
        let (_f, store, layer) = counted();
        let h = Counter::new(StatusCode::OK);
        let mut req = signed("msg_dup", BODY);
        let same = req.headers()[dup].clone();
        req.headers_mut().append(dup, same);
        let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{dup}");
        assert!(
            matches!(rejection, Some(Rejection::Unverified(VerifyError::MalformedHeader { header, .. })) if header == dup),
            "{dup}: {rejection:?}"
        );
        assert_eq!((h.calls(), store.ops()), (0, 0));
    }
}

#[tokio::test]
async fn conflicting_webhook_and_svix_headers_never_mix() {
    // webhook-* present: svix-* is ignored entirely, even when it is the valid one.
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let good = signed("msg_mix", BODY);
    let mut req = raw_request(
        &[
            ("webhook-id", b"msg_mix"),
            ("webhook-timestamp", NOW.to_string().as_bytes()),
            (
                "webhook-signature",
                b"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ],
        BODY.as_bytes(),
    );
    for (name, value) in good.headers() {
        if let Some(rest) = name.as_str().strip_prefix("webhook-") {
            req.headers_mut().insert(
                format!("svix-{rest}").parse::<http::HeaderName>().unwrap(),
                value.clone(),
            );
        }
    }
    let (status, ..) = send(layer.clone().layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A valid webhook-signature with a webhook-id from one delivery and an
    // svix-id from another: the signature covers webhook-id only.
    let mut req = signed("msg_a", BODY);
    req.headers_mut()
        .insert("svix-id", HeaderValue::from_static("msg_b"));
    req.headers_mut()
        .insert("svix-signature", HeaderValue::from_static("v1,garbage"));
    let (status, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.calls(), 1);
    assert_eq!(store.ops(), 2, "reserve and commit of msg_a only");
}

#[tokio::test]
async fn absurd_numbers_of_signature_entries_are_refused_before_the_body_is_read() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let valid = signed("msg_many", BODY).headers()["webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    // 31 noise entries + the valid one: exactly the maximum, accepted.
    let mut entries = vec!["v1,x"; 31].join(" ");
    entries.push(' ');
    entries.push_str(&valid);
    let mut req = signed("msg_many", BODY);
    req.headers_mut()
        .insert("webhook-signature", entries.parse().unwrap());
    let (status, ..) = send(layer.clone().layer(h.service()), req).await;
    assert_eq!(status, StatusCode::OK);
    // 100 000 entries with the valid one last: refused whole, quickly, body unread.
    let huge = format!("{}{valid}", "v1,x ".repeat(100_000));
    let (body, pulled) = Counted::new(1, 10);
    let mut req = signed("msg_many2", BODY).map(|_| body);
    req.headers_mut()
        .insert("webhook-signature", huge.parse().unwrap());
    let started = Instant::now();
    let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection,
        Some(Rejection::Unverified(VerifyError::TooManySignatures {
            max: 32,
            ..
        }))
    ));
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
    assert_eq!(h.calls(), 1);
    assert_eq!(store.ops(), 2, "only the first delivery reached the store");
}

#[tokio::test]
async fn non_ascii_and_non_utf8_header_values_are_refused_even_when_signed() {
    let ts = NOW.to_string();
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("latin-1 id", b"msg_\xe9".to_vec(), ts.clone().into_bytes()),
        (
            "UTF-8 id",
            "msg_é".as_bytes().to_vec(),
            ts.clone().into_bytes(),
        ),
        (
            "invalid UTF-8 id",
            b"msg_\xff\xfe".to_vec(),
            ts.clone().into_bytes(),
        ),
        (
            "Arabic-Indic digits",
            b"msg_1".to_vec(),
            "١٧٠٠٠٠٠٠٠٠".as_bytes().to_vec(),
        ),
        (
            "fullwidth digits",
            b"msg_1".to_vec(),
            "１７００000000".as_bytes().to_vec(),
        ),
    ];
    for (what, id, ts) in cases {
        let (_f, store, layer) = counted();
        let h = Counter::new(StatusCode::OK);
        let (status, rejection, ..) = send(
            layer.layer(h.service()),
            signed_raw(&id, &ts, BODY.as_bytes()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            matches!(
                rejection,
                Some(Rejection::Unverified(VerifyError::MalformedHeader { .. }))
            ),
            "{what}: {rejection:?}"
        );
        assert_eq!((h.calls(), store.ops()), (0, 0), "{what}");
    }
    // A signature header with a non-UTF-8 byte next to the valid entry.
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let mut req = signed("msg_sig", BODY);
    let mut sig = req.headers()["webhook-signature"].as_bytes().to_vec();
    sig.extend_from_slice(b" v1,\xff");
    req.headers_mut()
        .insert("webhook-signature", HeaderValue::from_bytes(&sig).unwrap());
    let (status, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn malformed_timestamps_are_refused_even_when_signed() {
    let n = NOW.to_string();
    let cases = [
        format!("-{n}"),
        format!("+{n}"),
        format!("0{n}"),
        format!("00{n}"),
        format!("{n}.0"),
        format!("{n}.5"),
        format!(" {n}"),
        format!("{n} "),
        format!("{n}\t"),
        "1.7e9".to_owned(),
        "0x6553F100".to_owned(),
        "9223372036854775807".to_owned(),
        "9223372036854775808".to_owned(),
        "-9223372036854775808".to_owned(),
        "99999999999999999999999999999999".to_owned(),
        String::new(),
    ];
    for ts in cases {
        let (_f, store, layer) = counted();
        let h = Counter::new(StatusCode::OK);
        let req = signed_raw(b"msg_ts", ts.as_bytes(), BODY.as_bytes());
        let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{ts:?}");
        assert!(
            matches!(
                rejection,
                Some(Rejection::Unverified(VerifyError::MalformedHeader {
                    header: "webhook-timestamp",
                    ..
                }))
            ),
            "{ts:?}: {rejection:?}"
        );
        assert_eq!((h.calls(), store.ops()), (0, 0), "{ts:?}");
    }
    // Well-formed but absurd: the epoch, and the largest accepted width.
    for (ts, old) in [("0", true), ("999999999999", false)] {
        let (_f, store, layer) = counted();
        let h = Counter::new(StatusCode::OK);
        let req = signed_raw(b"msg_ts", ts.as_bytes(), BODY.as_bytes());
        let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{ts}");
        let Some(Rejection::Unverified(e)) = rejection else {
            panic!("{ts}")
        };
        assert_eq!(matches!(e, VerifyError::TooOld { .. }), old, "{ts}: {e}");
        assert_eq!(matches!(e, VerifyError::TooNew { .. }), !old, "{ts}: {e}");
        assert_eq!((h.calls(), store.ops()), (0, 0));
    }
}

#[tokio::test]
async fn empty_and_overlong_ids_are_refused_and_the_longest_allowed_passes() {
    let ts = NOW.to_string();
    for (id, ok) in [
        (String::new(), false),
        ("x".repeat(257), false),
        ("x".repeat(256), true),
    ] {
        let (_f, store, layer) = counted();
        let h = Counter::new(StatusCode::OK);
        let req = signed_raw(id.as_bytes(), ts.as_bytes(), BODY.as_bytes());
        let (status, ..) = send(layer.layer(h.service()), req).await;
        let expected = if ok {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "id of {} bytes", id.len());
        assert_eq!(h.calls(), usize::from(ok));
        assert_eq!(store.ops(), if ok { 2 } else { 0 });
    }
}

/// The signed content is `{id}.{ts}.{body}`. Every other way of cutting a
/// valid delivery's signed content into (id, timestamp, body), sent with the
/// same signature, must be refused; otherwise a captured delivery could be
/// replayed under a new id (escaping dedup) with a different body.
#[tokio::test]
async fn signed_content_cannot_be_reframed_into_another_accepted_delivery() {
    let ts = NOW.to_string();
    let bodies = [
        BODY.to_owned(),
        // Bodies that begin like a timestamp and a dot: the dangerous case.
        format!("{ts}.{BODY}"),
        format!("{ts}.{ts}.5"),
        format!("{}.x", NOW - 10),
    ];
    for body in &bodies {
        let content = format!("a.{ts}.{body}");
        let sig = reference_sig(b"a", ts.as_bytes(), body.as_bytes());
        let dots: Vec<usize> = content.match_indices('.').map(|(i, _)| i).collect();
        let mut accepted = Vec::new();
        for (k, &first) in dots.iter().enumerate() {
            for &second in &dots[k + 1..] {
                let id = &content[..first];
                let t = &content[first + 1..second];
                let b = &content[second + 1..];
                let (_f, store, layer) = counted();
                let h = Counter::new(StatusCode::OK);
                let req = raw_request(
                    &[
                        ("webhook-id", id.as_bytes()),
                        ("webhook-timestamp", t.as_bytes()),
                        ("webhook-signature", sig.as_bytes()),
                    ],
                    b.as_bytes(),
                );
                // Raw payload: only verification decides.
                let (status, ..) = send(layer.layer(h.service()), req).await;
                if status.is_success() {
                    accepted.push((id.to_owned(), t.to_owned(), b.to_owned()));
                } else {
                    assert_eq!((h.calls(), store.ops()), (0, 0));
                }
            }
        }
        assert_eq!(
            accepted,
            vec![("a".to_owned(), ts.clone(), body.clone())],
            "body {body:?}: only the original framing may verify"
        );
    }
}

#[tokio::test]
async fn ids_containing_the_separator_are_refused() {
    let (_f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let req = signed_raw(b"evt.1", NOW.to_string().as_bytes(), BODY.as_bytes());
    let (status, rejection, ..) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection,
        Some(Rejection::Unverified(VerifyError::MalformedHeader {
            header: "webhook-id",
            ..
        }))
    ));
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

// ---------------------------------------------------------------------------
// The dedup store

#[tokio::test]
async fn failed_verification_never_touches_the_store() {
    let (f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let mut cases: Vec<Request<Full<Bytes>>> = Vec::new();
    // Wrong secret, tampered body, stale, unsigned, wrong method, too large.
    let other = StandardWebhooks::new(OTHER_SECRET).unwrap();
    cases.push(
        tower_webhook::sign::Signer::new(&other)
            .id("msg_1")
            .timestamp(UNIX_EPOCH + Duration::from_secs(NOW as u64))
            .request("/webhook", BODY)
            .unwrap()
            .map(Full::new),
    );
    let mut tampered = signed("msg_1", BODY);
    *tampered.body_mut() = Full::new(Bytes::from_static(b"{\"type\":\"invoice.paid\",\"n\":2}"));
    cases.push(tampered);
    cases.push(signed_at("msg_1", NOW - 301, BODY));
    cases.push(raw_request(&[], BODY.as_bytes()));
    let mut get = signed("msg_1", BODY);
    *get.method_mut() = http::Method::PUT;
    cases.push(get);
    let mut big = signed("msg_1", BODY);
    big.headers_mut()
        .insert("content-length", HeaderValue::from(10_000_000u64));
    cases.push(big);
    for req in cases {
        let (status, ..) = send(layer.clone().layer(h.service()), req).await;
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!((h.calls(), store.ops(), f.store.len()), (0, 0, 0));
}

#[tokio::test]
async fn ten_thousand_forged_deliveries_leave_the_store_empty() {
    let (f, store, layer) = counted();
    let h = Counter::new(StatusCode::OK);
    let svc = layer.layer(h.service());
    for i in 0..10_000u32 {
        let mut req = signed(&format!("msg_forged_{i}"), BODY);
        // A well-formed signature that is not the right one.
        let forged = format!("v1,{}", B64.encode([i.to_le_bytes()[0]; 32]));
        req.headers_mut()
            .insert("webhook-signature", forged.parse().unwrap());
        let (status, ..) = send(svc.clone(), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(f.store.len(), 0);
    assert_eq!((h.calls(), store.ops()), (0, 0));
}

#[tokio::test]
async fn full_store_refuses_with_503_rather_than_forget_and_evicts_expired_oldest_first() {
    let f = fixture();
    let store = MemoryStore::builder()
        .capacity(3)
        .clock(f.clock.clone())
        .build();
    let layer = f.layer.clone().dedup(store.clone());
    let h = Counter::new(StatusCode::NO_CONTENT);
    let svc = layer.layer(h.service());
    // a at T, b at T+100, c at T+200: each remembered until ts + 300 + 60.
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        if i > 0 {
            f.clock.advance(Duration::from_secs(100));
        }
        let (status, ..) = send(svc.clone(), signed_at(id, NOW + 100 * i as i64, BODY)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // Full, and every id is inside its window: refuse the newcomer.
    let (status, rejection, _, headers) = send(svc.clone(), signed_at("d", NOW + 200, BODY)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        rejection,
        Some(Rejection::Store(StoreError::Full { capacity: 3 }))
    );
    assert!(headers.contains_key("retry-after"));
    // Nothing was forgotten: replays are still recognised.
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let (status, rejection, ..) =
            send(svc.clone(), signed_at(id, NOW + 100 * i as i64, BODY)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            matches!(rejection, Some(Rejection::Duplicate { .. })),
            "{id}"
        );
    }
    assert_eq!(h.calls(), 3);
    // T+361: a's retention ended (its timestamp left the window at T+300).
    f.clock.set_unix(NOW + 361);
    let (status, ..) = send(svc.clone(), signed_at("d", NOW + 361, BODY)).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a, the oldest expired id, made room"
    );
    assert_eq!(h.calls(), 4);
    // b and c are still remembered; a can no longer be replayed (too old).
    for (id, ts) in [("b", NOW + 100), ("c", NOW + 200)] {
        let (status, rejection, ..) = send(svc.clone(), signed_at(id, ts, BODY)).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    }
    let (status, ..) = send(svc.clone(), signed_at("a", NOW, BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.calls(), 4);
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn a_verified_delivery_is_never_accepted_twice_within_its_replay_window() {
    // Timestamps at both edges of the window: sent 300 s in the past and
    // 300 s in the future of the receiver's clock.
    for skew in [-300i64, 0, 300] {
        let f = fixture();
        let h = Counter::new(StatusCode::NO_CONTENT);
        let svc = f.layer.clone().layer(h.service());
        let ts = NOW + skew;
        let (status, ..) = send(svc.clone(), signed_at("msg_once", ts, BODY)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // Replay every 15 s for as long as the timestamp is acceptable.
        let mut now = NOW;
        while now - ts <= 300 {
            f.clock.set_unix(now);
            let (status, rejection, ..) = send(svc.clone(), signed_at("msg_once", ts, BODY)).await;
            assert_eq!(status, StatusCode::OK, "skew {skew}, at +{}", now - NOW);
            assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
            now += 15;
        }
        // One second past the window, the timestamp itself refuses it.
        f.clock.set_unix(ts + 301);
        let (status, rejection, ..) = send(svc.clone(), signed_at("msg_once", ts, BODY)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "skew {skew}");
        assert!(matches!(
            rejection,
            Some(Rejection::Unverified(VerifyError::TooOld { .. }))
        ));
        assert_eq!(h.calls(), 1, "skew {skew}");
    }
}

/// A sender's retry carries a fresher timestamp, so its replay window ends
/// later than the first copy's. The duplicate it is answered with (200)
/// must keep the delivery for the retry's window: a replay of the retry,
/// after the first copy's retention ended but while the retry's timestamp is
/// still accepted, is refused too.
#[tokio::test]
async fn a_replayed_retry_is_refused_for_the_retrys_whole_window() {
    let f = fixture();
    let h = Counter::new(StatusCode::NO_CONTENT);
    let svc = f.layer.clone().layer(h.service());
    // Signed 250 s ago: remembered for 50 s more (plus the 60 s margin).
    let (status, ..) = send(svc.clone(), signed_at("msg_retry", NOW - 250, BODY)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The sender retries (it did not see the answer), signed now.
    let (status, rejection, ..) = send(svc.clone(), signed_at("msg_retry", NOW, BODY)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    // The first copy's retention has ended; the retry is still inside its
    // window and is replayed.
    f.clock.set_unix(NOW + 200);
    let (status, rejection, ..) = send(svc.clone(), signed_at("msg_retry", NOW, BODY)).await;
    assert_eq!(status, StatusCode::OK, "{rejection:?}");
    assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    f.clock.set_unix(NOW + 300);
    let (status, ..) = send(svc.clone(), signed_at("msg_retry", NOW, BODY)).await;
    assert_eq!(status, StatusCode::OK, "to the end of the retry's window");
    assert_eq!(h.calls(), 1);
}

/// The request path is not signed: a layer reachable under several paths (a
/// plain tower stack answers every path) handles one delivery once, whatever
/// path variants it is posted to, unless the user asks for per-path
/// namespaces.
#[tokio::test]
async fn one_delivery_on_several_paths_is_processed_once() {
    for (per_path, expected_calls) in [(false, 1), (true, 4)] {
        let f = fixture();
        let h = Counter::new(StatusCode::NO_CONTENT);
        let layer = if per_path {
            f.layer.clone().namespace_per_path()
        } else {
            f.layer.clone()
        };
        let svc = layer.layer(h.service());
        for path in ["/webhook", "/webhook/", "/other", "//webhook"] {
            let mut req = signed("msg_paths", BODY);
            *req.uri_mut() = path.parse().unwrap();
            let _ = send(svc.clone(), req).await;
        }
        assert_eq!(h.calls(), expected_calls, "per path: {per_path}");
    }
}

/// Two apps sharing one store, with the default namespace: a party holding
/// only app B's secret sends B an id that app A will receive later; A's real
/// delivery is still handled (namespaces derive from each app's key).
#[tokio::test]
async fn apps_with_different_secrets_never_share_dedup_keys() {
    let f = fixture();
    let app_a = f.layer.clone();
    let app_b = WebhookLayer::new(StandardWebhooks::new(OTHER_SECRET).unwrap())
        .clock(f.clock.clone())
        .dedup(f.store.clone());
    let b_signer = StandardWebhooks::new(OTHER_SECRET).unwrap();
    let ha = Counter::new(StatusCode::NO_CONTENT);
    let hb = Counter::new(StatusCode::NO_CONTENT);
    let planted = Signer::new(&b_signer)
        .id("msg_for_a")
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .request("/webhook", BODY)
        .unwrap()
        .map(Full::new);
    assert_eq!(
        send(app_b.layer(hb.service()), planted).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, ..) = send(app_a.layer(ha.service()), signed("msg_for_a", BODY)).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "A's real delivery is handled"
    );
    assert_eq!((ha.calls(), hb.calls()), (1, 1));
}

// ---------------------------------------------------------------------------
// Secrets never leak

/// Everything a user or a log could print about a configured layer.
#[tokio::test]
async fn debug_display_and_errors_never_contain_a_secret_or_a_signature() {
    let key = B64.decode(SECRET_B64).unwrap();
    let secret = Secret::standard(SECRET).unwrap();
    let other = Secret::standard(OTHER_SECRET).unwrap();
    let ring = KeyRing::new([secret.clone(), other.clone()]).unwrap();
    let scheme = StandardWebhooks::with_secrets([SECRET, OTHER_SECRET]).unwrap();
    let layer = WebhookLayer::new(scheme.clone());
    let svc = layer
        .clone()
        .layer(tower::service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
        }));
    let mut printed = vec![
        format!("{secret:?} {secret:#?} {other:?}"),
        format!("{ring:?} {ring:#?}"),
        format!("{scheme:?} {scheme:#?}"),
        format!("{layer:?} {layer:#?}"),
        format!("{svc:?}"),
        format!(
            "{:?}",
            tower_webhook::scheme::AnyScheme::new(scheme.clone())
        ),
    ];
    // Every error a delivery can cause, Display and Debug.
    let (f, _, _) = counted();
    let h = Counter::new(StatusCode::INTERNAL_SERVER_ERROR);
    let svc = f.layer.clone().layer(h.service());
    let good = signed("msg_leak", BODY);
    let signature = good.headers()["webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let tag = signature.trim_start_matches("v1,").to_owned();
    let mut requests = vec![good];
    let mut tampered = signed("msg_leak", BODY);
    *tampered.body_mut() = Full::new(Bytes::from_static(b"{}"));
    requests.push(tampered);
    requests.push(signed_at("msg_leak", NOW - 1000, BODY));
    requests.push(signed_at("msg_leak", NOW + 1000, BODY));
    let mut dup = signed("msg_leak", BODY);
    dup.headers_mut()
        .append("webhook-signature", signature.parse().unwrap());
    requests.push(dup);
    let mut many = signed("msg_leak", BODY);
    many.headers_mut().insert(
        "webhook-signature",
        format!("{} {signature}", "v1,x ".repeat(40))
            .parse()
            .unwrap(),
    );
    requests.push(many);
    for req in requests {
        let (_, rejection, body, _) = send(svc.clone(), req).await;
        if let Some(r) = rejection {
            printed.push(format!("{r} {r:?} {}", String::from_utf8_lossy(&body)));
            if let Rejection::Unverified(e) = &r {
                printed.push(format!("{e} {e:?}"));
            }
        }
    }
    for bad in [
        "",
        "whsec_",
        "whsec_c2hvcnQ=",
        "whsec_!!!!MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        let e = Secret::standard(bad).unwrap_err();
        printed.push(format!("{e} {e:?}"));
    }
    let all = printed.join("\n");
    assert!(all.contains("redacted"), "{all}");
    assert!(
        all.contains("no signature in `webhook-signature` matches"),
        "{all}"
    );
    for needle in [
        SECRET_B64,
        "MfKQ9r8G",
        OTHER_SECRET,
        "ZGV2ZWxvcG1l",
        &tag,
        &tag[..16],
    ] {
        assert!(!all.contains(needle), "{needle:?} printed in:\n{all}");
    }
    assert!(!all.contains(&String::from_utf8_lossy(&key).into_owned()));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_of_failing_and_passing_deliveries_never_contain_a_secret_or_a_signature() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let f = fixture();
    let failing = Counter::new(StatusCode::INTERNAL_SERVER_ERROR);
    let passing = Counter::new(StatusCode::NO_CONTENT);
    let mut signatures = Vec::new();
    let mut sent = |req: Request<Full<Bytes>>| {
        if let Some(s) = req.headers().get("webhook-signature") {
            signatures.push(s.to_str().unwrap().trim_start_matches("v1,").to_owned());
        }
        req
    };
    // Forged (other secret), tampered, stale, handler failure, success, duplicate.
    let other = StandardWebhooks::new(OTHER_SECRET).unwrap();
    let forged = tower_webhook::sign::Signer::new(&other)
        .id("msg_log")
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .request("/webhook", BODY)
        .unwrap()
        .map(Full::new);
    let _ = send(f.layer.clone().layer(passing.service()), sent(forged)).await;
    let mut tampered = signed("msg_log", BODY);
    *tampered.body_mut() = Full::new(Bytes::from_static(b"{}"));
    let _ = send(f.layer.clone().layer(passing.service()), sent(tampered)).await;
    let _ = send(
        f.layer.clone().layer(passing.service()),
        sent(signed_at("msg_log", NOW - 900, BODY)),
    )
    .await;
    let _ = send(
        f.layer.clone().layer(failing.service()),
        sent(signed("msg_log", BODY)),
    )
    .await;
    let _ = send(
        f.layer.clone().layer(passing.service()),
        sent(signed("msg_log", BODY)),
    )
    .await;
    let _ = send(
        f.layer.clone().layer(passing.service()),
        sent(signed("msg_log", BODY)),
    )
    .await;
    assert_eq!((failing.calls(), passing.calls()), (1, 1));

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("webhook delivery rejected"),
        "nothing captured:\n{log}"
    );
    assert!(
        log.contains("no signature in `webhook-signature` matches"),
        "{log}"
    );
    assert!(log.contains("already processed"), "{log}");
    assert!(!log.contains(SECRET_B64), "{log}");
    assert!(
        !log.contains(OTHER_SECRET.trim_start_matches("whsec_")),
        "{log}"
    );
    assert_eq!(signatures.len(), 6);
    for sig in &signatures {
        assert!(
            !log.contains(sig.as_str()),
            "signature {sig} logged:\n{log}"
        );
        assert!(!log.contains(&sig[..20]), "signature prefix logged:\n{log}");
    }
    // The scheme itself never puts the header value into an error.
    let e = scheme().check(
        &signed("msg_log", "{}").into_parts().0,
        b"{\"x\":1}",
        &tower_webhook::scheme::Context::new(
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
            Default::default(),
        ),
    );
    assert!(matches!(e, Err(VerifyError::NoMatch { .. })));
}

/// A tolerance too large to add to a timestamp (used to switch the time
/// check off) must not shrink the dedup retention to the 60 s margin.
#[tokio::test]
async fn an_unbounded_tolerance_does_not_shorten_the_retention() {
    let f = fixture();
    let h = Counter::new(StatusCode::NO_CONTENT);
    let svc = f.layer.clone().tolerance(Duration::MAX).layer(h.service());
    let (status, ..) = send(svc.clone(), signed("msg_forever", BODY)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for hours in [1, 24, 48] {
        f.clock.set_unix(NOW + hours * 3600);
        let (status, rejection, ..) = send(svc.clone(), signed("msg_forever", BODY)).await;
        assert_eq!(status, StatusCode::OK, "replayed {hours} h later");
        assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    }
    assert_eq!(h.calls(), 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any id (without `.`), timestamp in the window and body, including
    /// bodies that start with a timestamp and a dot: of every way to cut the
    /// signed content into (id, timestamp, body), only the original verifies.
    #[test]
    fn no_other_framing_of_signed_content_verifies(
        id in "[a-zA-Z0-9_-]{1,12}",
        skew in -300i64..=300,
        lead in proptest::option::of(-300i64..=300),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
    ) {
        let ts = (NOW + skew).to_string();
        let mut body = lead.map(|d| format!("{}.", NOW + d).into_bytes()).unwrap_or_default();
        body.extend_from_slice(&tail);
        let sig = reference_sig(id.as_bytes(), ts.as_bytes(), &body);
        let mut content = format!("{id}.{ts}.").into_bytes();
        content.extend_from_slice(&body);
        let dots: Vec<usize> = content.iter().enumerate().filter(|(_, b)| **b == b'.').map(|(i, _)| i).collect();
        let scheme = scheme();
        let ctx = tower_webhook::scheme::Context::new(
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
            Default::default(),
        );
        let mut accepted = 0;
        for (k, &first) in dots.iter().enumerate() {
            for &second in &dots[k + 1..] {
                let (Ok(i), Ok(t)) = (
                    HeaderValue::from_bytes(&content[..first]),
                    HeaderValue::from_bytes(&content[first + 1..second]),
                ) else { continue };
                let mut head = Request::post("/webhook").body(()).unwrap().into_parts().0;
                head.headers.insert("webhook-id", i);
                head.headers.insert("webhook-timestamp", t);
                head.headers.insert("webhook-signature", sig.parse().unwrap());
                if scheme.check(&head, &content[second + 1..], &ctx).is_ok() {
                    proptest::prop_assert_eq!(first, id.len(), "re-framed id accepted");
                    proptest::prop_assert_eq!(&content[second + 1..], &body[..]);
                    accepted += 1;
                }
            }
        }
        proptest::prop_assert_eq!(accepted, 1);
    }
}
