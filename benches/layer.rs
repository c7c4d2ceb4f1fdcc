//! The whole layer in process: `ServiceExt::oneshot` through `WebhookLayer`
//! (memory store, the handler decoding a typed payload with
//! `Verified::from_parts`) against the same inner service without the
//! layer, every request a fresh signed event with a 1 KiB JSON body; and the
//! parts of the layer's work measured alone, to say where the added time goes.
//!
//! Futures are polled with a no-op waker (they complete on the first poll:
//! the memory store and the inner service are ready at once), so no runtime
//! overhead is counted on either side.
//!
//! `cargo bench --bench layer` runs Criterion; `cargo bench --bench layer --
//! --ratios` prints interleaved tables (see `common/mod.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::Criterion;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use serde::Deserialize;
use tower::{Layer, ServiceExt, service_fn};
use tower_webhook::dedup::{Claim, MemoryStore, Reservation};
use tower_webhook::payload::Decode;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance};
use tower_webhook::sign::Signer;
use tower_webhook::{Delivery, Verified, WebhookLayer};

use common::{Arm, compare, ratios_mode};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY_LEN: usize = 1024;
/// A store is replaced (untimed) before it holds more ids than this, so it
/// never refuses a reservation: its default capacity is 100 000.
const STORE_REFILL_AT: usize = 80_000;

/// The small typed payload.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Event {
    r#type: String,
    timestamp: String,
    data: EventData,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct EventData {
    id: String,
    amount: u64,
}

/// A JSON event of exactly `BODY_LEN` bytes.
fn body() -> Bytes {
    let head = r#"{"type":"invoice.paid","timestamp":"2026-11-27T06:00:00Z","data":{"id":"in_1MtHbELkdIwHu7ixl4OzzPMv","amount":1234,"note":""#;
    let tail = r#""}}"#;
    let mut s = String::from(head);
    s.extend(std::iter::repeat_n('x', BODY_LEN - head.len() - tail.len()));
    s.push_str(tail);
    assert_eq!(s.len(), BODY_LEN);
    Bytes::from(s)
}

/// Drives a future that completes without waiting (no runtime needed).
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

type Req = Request<Full<Bytes>>;

/// Fresh, distinct, signed deliveries.
struct Deliveries {
    scheme: StandardWebhooks,
    body: Bytes,
    next: u64,
}

impl Deliveries {
    fn new() -> Self {
        Self {
            scheme: StandardWebhooks::new(SECRET).unwrap(),
            body: body(),
            next: 0,
        }
    }

    fn batch(&mut self, n: u64) -> Vec<Req> {
        let now = SystemTime::now();
        (0..n)
            .map(|_| {
                self.next += 1;
                Signer::new(&self.scheme)
                    .id(format!("msg_{:016x}", self.next))
                    .timestamp(now)
                    .content_type("application/json")
                    .request("/webhook", self.body.clone())
                    .unwrap()
                    .map(Full::new)
            })
            .collect()
    }
}

/// The inner service: answers 204 and does nothing else.
fn inner() -> impl tower::Service<
    Req,
    Response = Response<Empty<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Empty<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    service_fn(|req: Req| async move {
        black_box(&req);
        let mut res = Response::new(Empty::new());
        *res.status_mut() = http::StatusCode::NO_CONTENT;
        Ok(res)
    })
}

/// An inner service that decodes the payload as `P`, as a handler taking
/// `Verified<P>` does, then answers 204.
fn decoding<P: Decode + Send + 'static>() -> impl tower::Service<
    Req,
    Response = Response<Empty<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Empty<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    service_fn(|req: Req| async move {
        let (head, _) = req.into_parts();
        black_box(Verified::<P>::from_parts(&head).unwrap());
        let mut res = Response::new(Empty::new());
        *res.status_mut() = http::StatusCode::NO_CONTENT;
        Ok(res)
    })
}

/// One layered service with its own store, replaced when it fills.
fn layered_arm<'a>(
    name: &str,
    build: impl Fn(MemoryStore) -> Box<dyn FnMut(Req) -> u16 + 'a> + 'a,
    dedup: bool,
) -> Arm<'a> {
    let mut deliveries = Deliveries::new();
    let mut store = MemoryStore::new();
    let mut svc = build(store.clone());
    Arm::custom(name, move |n| {
        if dedup && store.len() + n as usize > STORE_REFILL_AT {
            store = MemoryStore::new();
            svc = build(store.clone());
        }
        let reqs = deliveries.batch(n);
        let start = Instant::now();
        for req in reqs {
            let status = svc(req);
            debug_assert_eq!(status, 204);
            black_box(status);
        }
        start.elapsed()
    })
}

fn base(store: MemoryStore, dedup: bool) -> WebhookLayer<StandardWebhooks> {
    let layer = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap());
    if dedup {
        layer.dedup(store)
    } else {
        layer.without_dedup()
    }
}

/// The layer around a handler that decodes `P`.
fn service<P: Decode + Send + 'static>(
    layer: WebhookLayer<StandardWebhooks>,
) -> Box<dyn FnMut(Req) -> u16> {
    let svc = layer.layer(decoding::<P>());
    Box::new(move |req| ready(svc.clone().oneshot(req)).unwrap().status().as_u16())
}

/// The layer around a handler that reads nothing.
fn service_raw(layer: WebhookLayer<StandardWebhooks>) -> Box<dyn FnMut(Req) -> u16> {
    let svc = layer.layer(inner());
    Box::new(move |req| ready(svc.clone().oneshot(req)).unwrap().status().as_u16())
}

fn whole_arms<'a>() -> Vec<Arm<'a>> {
    let mut deliveries = Deliveries::new();
    let svc = inner();
    let bare = Arm::custom("inner service alone", move |n| {
        let reqs = deliveries.batch(n);
        let start = Instant::now();
        for req in reqs {
            black_box(ready(svc.clone().oneshot(req)).unwrap().status().as_u16());
        }
        start.elapsed()
    });
    vec![
        bare,
        layered_arm(
            "layer: memory store, Verified<serde_json::Value>",
            |s| service::<serde_json::Value>(base(s, true)),
            true,
        ),
        layered_arm(
            "layer: memory store, Verified<Event> (small struct)",
            |s| service::<Event>(base(s, true)),
            true,
        ),
        layered_arm(
            "layer: memory store, Raw (no parse)",
            |s| service_raw(base(s, true)),
            true,
        ),
        layered_arm(
            "layer: no store, Raw (no parse)",
            |s| service_raw(base(s, false)),
            false,
        ),
    ]
}

/// The pieces of the layer's work, alone, on the same deliveries.
fn part_arms<'a>() -> Vec<Arm<'a>> {
    let scheme = StandardWebhooks::new(SECRET).unwrap();
    let mut d1 = Deliveries::new();
    let collect = Arm::custom("body collect (Full<Bytes>, 1 KiB)", move |n| {
        let bodies: Vec<_> = d1.batch(n).into_iter().map(|r| r.into_body()).collect();
        let start = Instant::now();
        for body in bodies {
            black_box(ready(body.collect()).unwrap().to_bytes());
        }
        start.elapsed()
    });
    let mut d2 = Deliveries::new();
    // What the layer runs on the scheme: `read` the head, then `verify` the
    // body against what was read (before, `check_head` then `verify`, which
    // parsed the head a second time). One clock reading, as before (the
    // layer takes one for `read` and one for `verify`).
    let verify = Arm::custom("clock read + read + verify (StandardWebhooks)", move |n| {
        let reqs: Vec<_> = d2
            .batch(n)
            .into_iter()
            .map(|r| {
                let (head, body) = r.into_parts();
                (head, ready(body.collect()).unwrap().to_bytes())
            })
            .collect();
        let start = Instant::now();
        for (head, bytes) in &reqs {
            let ctx = Context::new(SystemTime::now(), Tolerance::default());
            let read = scheme.read(head, &ctx).unwrap();
            black_box(scheme.verify(head, read, bytes, &ctx).unwrap());
        }
        let t = start.elapsed();
        drop(reqs);
        t
    });
    let mut store = MemoryStore::new();
    let mut next = 0u64;
    let reserve_commit = Arm::custom("store reserve + commit (memory, key formatted)", move |n| {
        if store.len() + n as usize > STORE_REFILL_AT {
            store = MemoryStore::new();
        }
        let ids: Vec<String> = (0..n)
            .map(|_| {
                next += 1;
                format!("msg_{next:016x}")
            })
            .collect();
        let start = Instant::now();
        for id in &ids {
            let key = format!("standard:8:/webhook:{id}");
            let claim = Claim::new(Duration::from_secs(60), Duration::from_secs(360));
            let Ok(Reservation::Fresh) = store.reserve_now(&key, claim) else {
                panic!("not fresh")
            };
            black_box(store.commit_now(&key, claim.token, Duration::from_secs(360)));
        }
        start.elapsed()
    });
    let (head, _) = Request::new(()).into_parts();
    let head2 = head.clone();
    let d = Delivery::for_tests(body(), tower_webhook::scheme::Format::Json);
    let d2 = d.clone();
    vec![
        collect,
        verify,
        reserve_commit,
        Arm::simple("decode serde_json::Value (1 KiB)", move || {
            black_box(&d).decode::<serde_json::Value>(&head).unwrap()
        }),
        Arm::simple("decode Event (1 KiB)", move || {
            black_box(&d2).decode::<Event>(&head2).unwrap()
        }),
    ]
}

fn main() {
    if ratios_mode() {
        compare(
            "whole layer, in process, 1 KiB fresh signed deliveries",
            whole_arms(),
        );
        compare("the layer's parts, alone", part_arms());
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("layer");
    for mut arm in whole_arms().into_iter().chain(part_arms()) {
        g.bench_function(arm.name.clone(), |b| b.iter_custom(|n| (arm.run)(n)));
    }
    g.finish();
    c.final_summary();
}
