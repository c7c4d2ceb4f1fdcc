//! Shared pieces of the fuzz targets.
//!
//! - The fixed secret and clock of the official Standard Webhooks vector.
//! - [`reference_signature`]: an independent oracle. It concatenates
//!   `{id}.{timestamp}.{body}` into one buffer and computes HMAC-SHA256 with
//!   the `hmac` and `sha2` crates directly, then base64-encodes the tag, so
//!   it shares no code with the crate's HMAC engine or `StandardWebhooks`.
//! - [`block_on`]: every part of the stacks driven here (in-memory bodies,
//!   the memory store, a ready handler) answers at once, so a no-op waker
//!   suffices and no runtime is built per input.
//! - [`Handler`] (counts its calls and the ids it saw) and [`CountingStore`]
//!   (counts every store operation).

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use sha2::Sha256;
use tower_webhook::Delivery;
use tower_webhook::dedup::{BoxFuture, Claim, DedupStore, Reservation, StoreError, Token};

/// The secret of the official Standard Webhooks / Svix test vector.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Its base64 body (what must never appear in any output).
pub const SECRET_B64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The vector's timestamp; the fuzzed layers' clocks start here.
pub const NOW: i64 = 1_614_265_330;
/// The timestamp tolerance the fuzzed layers use, both ways (the default).
pub const TOLERANCE_SECS: i64 = 300;

/// The key bytes of [`SECRET`], decoded here without the crate.
pub fn key() -> Vec<u8> {
    STANDARD
        .decode(SECRET_B64)
        .expect("the vector's secret is base64")
}

/// `base64(HMAC-SHA256(key, id || "." || ts || "." || body))`, the Standard
/// Webhooks v1 signature, computed over one concatenated buffer.
pub fn reference_signature(key: &[u8], id: &[u8], ts: &[u8], body: &[u8]) -> String {
    let mut content = Vec::with_capacity(id.len() + ts.len() + body.len() + 2);
    content.extend_from_slice(id);
    content.push(b'.');
    content.extend_from_slice(ts);
    content.push(b'.');
    content.extend_from_slice(body);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&content);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether a space-separated signature header lists `v1,{expected}`
/// (compared as strings: canonical base64 is unique for a 32-byte tag).
pub fn lists_v1(header: &[u8], expected: &str) -> bool {
    let want = format!("v1,{expected}");
    header.split(|&b| b == b' ').any(|e| e == want.as_bytes())
}

/// Polls `f` to completion with a no-op waker. Panics if it stays pending:
/// everything under test here is ready at once, so pending means a hang.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the layer's future never completed although every part is ready");
}

/// What the handler saw: one entry per call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The verified event id from the `Delivery` extension.
    pub id: Option<String>,
    /// What the handler answered.
    pub status: StatusCode,
}

/// A handler that records every call. Answers 500 when the body starts with
/// `!` (to exercise release-and-retry), 204 otherwise.
#[derive(Clone, Default)]
pub struct Handler {
    /// Every call, in order.
    pub calls: Arc<Mutex<Vec<Call>>>,
}

impl Handler {
    /// Calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl tower_service::Service<Request<Full<Bytes>>> for Handler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        let delivery = req.extensions().get::<Delivery>();
        let id = delivery.map(|d| d.id.clone());
        let fail = delivery.is_some_and(|d| d.raw.first() == Some(&b'!'));
        let status = if fail {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        };
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call { id, status });
        }
        let mut res = Response::new(Full::new(Bytes::new()));
        *res.status_mut() = status;
        std::future::ready(Ok(res))
    }
}

/// A [`DedupStore`] wrapper that counts every operation.
#[derive(Clone)]
pub struct CountingStore<S> {
    /// The store that answers.
    pub inner: S,
    /// reserve + commit + release calls so far.
    pub ops: Arc<AtomicUsize>,
}

impl<S> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            ops: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Operations so far.
    pub fn ops(&self) -> usize {
        self.ops.load(Ordering::SeqCst)
    }
}

impl<S: DedupStore> DedupStore for CountingStore<S> {
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

/// Whether `b` is what `HeaderValue::to_str` accepts (visible ASCII, space, tab).
pub fn is_visible_ascii(b: u8) -> bool {
    (32..127).contains(&b) || b == b'\t'
}

/// A strict, spec-following reading of a canonical Unix-seconds timestamp:
/// 1 to 12 ASCII digits, no sign, no leading zero (except "0" itself).
pub fn canonical_seconds(ts: &[u8]) -> Option<i64> {
    if ts.is_empty() || ts.len() > 12 || !ts.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if ts.len() > 1 && ts[0] == b'0' {
        return None;
    }
    std::str::from_utf8(ts).ok()?.parse().ok()
}
