//! Memory stays bounded under a flood: the bytes buffered by all requests in
//! flight never exceed the layer's budget, slow senders are cut off by the
//! body timeout, and the budget always comes back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::{Layer, ServiceExt};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, Verified, WebhookLayer};

const MIB: usize = 1024 * 1024;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn head_bytes(request: &Request<Bytes>, content_length: usize) -> Vec<u8> {
    let mut out = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {content_length}\r\n",
        request.uri(),
    )
    .into_bytes();
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The status of the answer, or `None` when the server closed without one.
async fn read_status(stream: &mut TcpStream) -> Option<u16> {
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).and_then(|s| s.parse().ok())
}

/// 40 connections announce 1 MB bodies, send 900 KB and stall. With a 4 MiB
/// budget the receiver never holds more than that in bodies; every stalled
/// connection is answered 408 or 503 (or closed) within the body timeout;
/// a real signed delivery sent during the flood is handled (its sender
/// retries on 503, as senders do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_stalled_large_bodies_stays_within_the_budget_over_tcp() {
    const BODY_TIMEOUT: Duration = Duration::from_secs(2);
    let layer = WebhookLayer::new(scheme())
        .max_body(MIB)
        .max_buffered(4 * MIB)
        .body_timeout(Some(BODY_TIMEOUT));
    let watch = layer.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move |_: Verified<serde_json::Value>| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            StatusCode::NO_CONTENT
        }
    };
    let app = Router::new()
        .route("/webhook", post(handler))
        .route_layer(layer);
    let addr = serve(app).await;

    // The most the layer ever held, sampled while the flood runs.
    let peak = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, watch) = (peak.clone(), sampling.clone(), watch.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::SeqCst) {
                peak.fetch_max(watch.buffered(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let s = scheme();
    let started = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..40 {
        let request = Signer::new(&s)
            .id(format!("msg_flood_{i}"))
            .request("/webhook", Bytes::new())
            .unwrap();
        stalled.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(&head_bytes(&request, 1_000_000))
                .await
                .unwrap();
            // The server may refuse (503) before all of it is written.
            let _ = stream.write_all(&vec![b' '; 900_000]).await;
            let status = read_status(&mut stream).await;
            (status, started.elapsed())
        }));
    }

    // A real delivery during the flood; retried on 503 as a sender would.
    let real = Signer::new(&s)
        .id("msg_real")
        .request("/webhook", r#"{"type":"real"}"#)
        .unwrap();
    let mut answers = Vec::new();
    loop {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&head_bytes(&real, real.body().len()))
            .await
            .unwrap();
        stream.write_all(real.body()).await.unwrap();
        let status = read_status(&mut stream).await;
        answers.push(status);
        if status == Some(204) || started.elapsed() > 4 * BODY_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        answers.last(),
        Some(&Some(204)),
        "real delivery: {answers:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    for task in stalled {
        let (status, after) = task.await.unwrap();
        assert!(
            matches!(status, Some(408) | Some(503) | None),
            "a stalled connection got {status:?}"
        );
        assert!(
            after < BODY_TIMEOUT + Duration::from_secs(2),
            "answered after {after:?}"
        );
    }
    sampling.store(false, Ordering::SeqCst);
    sampler.await.unwrap();
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= 4 * MIB, "peak {peak} bytes");
    assert!(
        peak >= 3 * MIB,
        "the flood did fill the budget ({peak} bytes)"
    );
    assert_eq!(watch.buffered(), 0, "everything given back");
}

// ---------------------------------------------------------------------------
// The budget always returns to zero

/// A body that yields its frames, then ends, fails, or never ends.
struct Scripted {
    frames: VecDeque<Bytes>,
    end: End,
}

impl Scripted {
    fn new(frames: impl IntoIterator<Item = Bytes>, end: End) -> Self {
        Self {
            frames: frames.into_iter().collect(),
            end,
        }
    }

    fn spaces(n: usize, size: usize, end: End) -> Self {
        Self::new((0..n).map(|_| Bytes::from(vec![b' '; size])), end)
    }
}

#[derive(Clone, Copy, Debug)]
enum End {
    Finish,
    Fail,
    Hang,
}

impl Body for Scripted {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match self.end {
            End::Finish => Poll::Ready(None),
            End::Fail => Poll::Ready(Some(Err(std::io::Error::other("reset")))),
            End::Hang => Poll::Pending,
        }
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A valid delivery, handled.
    Completed,
    /// A valid delivery whose handler panics.
    Panicking,
    /// A body that stops arriving: the body timeout ends it.
    TimedOut,
    /// A body that fails half way.
    Broken,
    /// A request whose future is dropped while its body is read.
    Dropped,
    /// A body bigger than the budget allows now.
    Large,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Completed),
        Just(Kind::Panicking),
        Just(Kind::TimedOut),
        Just(Kind::Broken),
        Just(Kind::Dropped),
        Just(Kind::Large),
    ]
}

fn request(s: &StandardWebhooks, i: usize, kind: Kind) -> Request<Scripted> {
    let body = if matches!(kind, Kind::Panicking) {
        "{\"panic\":true}"
    } else {
        "{}"
    };
    let signed = Signer::new(s)
        .id(format!("msg_{i}"))
        .timestamp(std::time::UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .request("/webhook", body)
        .unwrap();
    let (head, bytes) = signed.into_parts();
    let body = match kind {
        Kind::Completed | Kind::Panicking => Scripted::new([bytes], End::Finish),
        Kind::TimedOut | Kind::Dropped => Scripted::spaces(3, 10_000, End::Hang),
        Kind::Broken => Scripted::spaces(2, 10_000, End::Fail),
        Kind::Large => Scripted::spaces(40, 10_000, End::Finish),
    };
    Request::from_parts(head, body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any mix of completed, refused, timed-out, broken, dropped and
    /// panicking requests, run concurrently: the budget never goes over its
    /// limit and always comes back to zero.
    #[test]
    fn the_budget_always_returns_to_zero(kinds in proptest::collection::vec(kind(), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let layer = WebhookLayer::new(scheme())
                .clock(tower_webhook::clock::ManualClock::at_unix(NOW))
                .max_body(400_000)
                .max_buffered(200_000)
                .body_timeout(Some(Duration::from_secs(5)));
            let watch = layer.clone();
            let handler = tower::service_fn(|req: Request<Full<Bytes>>| async move {
                if req.extensions().get::<tower_webhook::Delivery>().is_some_and(|d| d.raw.starts_with(b"{\"panic\"")) {
                    panic!("handler panics");
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            });
            let svc = layer.layer(handler);
            let s = scheme();
            let mut tasks = Vec::new();
            for (i, kind) in kinds.iter().copied().enumerate() {
                let svc = svc.clone();
                let req = request(&s, i, kind);
                let watch = watch.clone();
                tasks.push(tokio::spawn(async move {
                    let call = svc.oneshot(req);
                    if let Kind::Dropped = kind {
                        // Dropped while its body is being read.
                        let _ = tokio::time::timeout(Duration::from_millis(10), call).await;
                    } else {
                        let _ = call.await;
                    }
                    assert!(watch.buffered() <= 200_000);
                }));
            }
            for task in tasks {
                // A panicking handler fails its task; the budget must not care.
                let _ = task.await;
            }
            assert_eq!(watch.buffered(), 0, "{kinds:?}");
        });
    }
}

/// Over the budget at once: 503 with `Retry-After`, and nothing held.
#[tokio::test]
async fn a_declared_length_over_what_is_left_is_503_at_once() {
    let layer = WebhookLayer::new(scheme())
        .clock(tower_webhook::clock::ManualClock::at_unix(NOW))
        .max_body(MIB)
        .max_buffered(MIB);
    let watch = layer.clone();
    let h = Counter::new(StatusCode::NO_CONTENT);
    // One request holds most of the budget (its body hangs).
    let hanging = {
        let svc = layer.layer(h.service());
        let (head, _) = signed("msg_a", "{}").into_parts();
        let mut head = head;
        head.headers.insert("content-length", (MIB - 10).into());
        let body = Scripted::spaces(1, 100, End::Hang);
        tokio::spawn(svc.oneshot(Request::from_parts(head, body)))
    };
    for _ in 0..10_000 {
        if watch.buffered() > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        watch.buffered(),
        MIB - 10,
        "the hanging request holds its share"
    );
    let mut req = signed("msg_b", "{}");
    req.headers_mut().insert("content-length", 100.into());
    let (status, rejection, _, headers) = send(layer.layer(h.service()), req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(rejection, Some(Rejection::OverBudget { .. })));
    assert!(headers.contains_key("retry-after"));
    hanging.abort();
    let _ = hanging.await;
    assert_eq!(watch.buffered(), 0);
    assert_eq!(h.calls(), 0);
}
