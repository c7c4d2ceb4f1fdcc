//! A request dropped while the layer awaits its store (the client went
//! away, an outer timeout fired) leaves no reservation that nobody settles:
//!
//! - dropped while `reserve` answers: the layer made the token before it
//!   asked and registered the key under it, so its guard releases it;
//! - dropped while `commit` or `release` answers (the handler has finished):
//!   the guard finishes what the layer was doing, in the background.
//!
//! A store wrapper holds back one operation (`reserve` after the inner store
//! reserved, or before it was asked; `commit` or `release` before the inner
//! store is asked), the request's future is dropped while it waits, the
//! guard settles the key, and a retry of the same delivery must be handled
//! (or answered as a duplicate when the handler had succeeded), never
//! refused with 409 for the rest of the lease. Checked on `MemoryStore` (on
//! a `ManualClock`) and `RedisStore` (feature `redis`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::sync::{Notify, mpsc};
use tower::{Layer, ServiceExt};
use tower_webhook::dedup::{BoxFuture, Claim, DedupStore, Reservation, StoreError, Token};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::{Rejection, WebhookLayer};

const BODY: &str = r#"{"type":"invoice.paid"}"#;

/// Which operation the wrapper holds back (the first of its kind only).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Hold {
    /// `reserve`: the inner store reserved; its answer never arrives.
    ReserveAnswer,
    /// `reserve`: the inner store is never asked.
    ReserveRequest,
    /// `commit` (the handler answered 2xx): the inner store is never asked.
    Commit,
    /// `release` (the handler answered 500): the inner store is never asked.
    Release,
}

/// What reached the inner store after the hold.
#[derive(Debug, PartialEq)]
enum Settled {
    Commit(Result<bool, StoreError>),
    Release(Result<bool, StoreError>),
}

/// A store that never answers one operation (as over a network that went
/// quiet), and reports every commit and release that reached the inner
/// store.
struct Held<S> {
    inner: S,
    hold: Hold,
    /// Whether the next operation of the held kind is held.
    armed: AtomicBool,
    /// Signalled when the held operation is waiting.
    waiting: Notify,
    settled: mpsc::UnboundedSender<Settled>,
}

impl<S> Held<S> {
    /// Whether this call of `op` is the one to hold.
    fn holds(&self, op: Hold) -> bool {
        self.hold == op && self.armed.swap(false, Ordering::SeqCst)
    }

    async fn wait_forever<T>(&self) -> T {
        self.waiting.notify_one();
        std::future::pending().await
    }
}

impl<S: DedupStore> DedupStore for Held<S> {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(async move {
            if self.holds(Hold::ReserveAnswer) {
                assert_eq!(self.inner.reserve(key, claim).await, Ok(Reservation::Fresh));
                return self.wait_forever().await;
            }
            if self.holds(Hold::ReserveRequest) {
                return self.wait_forever().await;
            }
            self.inner.reserve(key, claim).await
        })
    }

    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            if self.holds(Hold::Commit) {
                return self.wait_forever().await;
            }
            let r = self.inner.commit(key, token, retention).await;
            let _ = self.settled.send(Settled::Commit(r.clone()));
            r
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            if self.holds(Hold::Release) {
                return self.wait_forever().await;
            }
            let r = self.inner.release(key, token).await;
            let _ = self.settled.send(Settled::Release(r.clone()));
            r
        })
    }
}

/// The delivery made by `request` goes through `layer` (whose store the
/// test replaces with a [`Held`] around `inner`), is dropped while the
/// store holds `hold` back, then retried.
async fn dropped_while_the_store_answers<S: DedupStore>(
    inner: S,
    hold: Hold,
    layer: WebhookLayer<StandardWebhooks>,
    request: impl Fn() -> Request<Full<Bytes>>,
) {
    let (settled, mut settlements) = mpsc::unbounded_channel();
    let store = Arc::new(Held {
        inner,
        hold,
        armed: AtomicBool::new(true),
        waiting: Notify::new(),
        settled,
    });
    let layer = layer.dedup(Arc::clone(&store));
    let first = Counter::new(if hold == Hold::Release {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    });

    let task = tokio::spawn(layer.clone().layer(first.service()).oneshot(request()));
    tokio::time::timeout(Duration::from_secs(5), store.waiting.notified())
        .await
        .expect("the layer never reached the held operation");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    // The dropped request's guard settles the key (at once for the memory
    // store, on the runtime for Redis).
    let settlement = tokio::time::timeout(Duration::from_secs(5), settlements.recv())
        .await
        .unwrap_or_else(|_| panic!("{hold:?}: nothing settled the dropped request's key"))
        .unwrap();
    let handled_first = match hold {
        Hold::ReserveAnswer => {
            assert_eq!(
                settlement,
                Settled::Release(Ok(true)),
                "released: the store held the key for the dropped request's token"
            );
            false
        }
        Hold::ReserveRequest => {
            assert_eq!(
                settlement,
                Settled::Release(Ok(false)),
                "nothing to release"
            );
            false
        }
        Hold::Commit => {
            assert_eq!(settlement, Settled::Commit(Ok(true)), "the handler's work");
            true
        }
        Hold::Release => {
            assert_eq!(settlement, Settled::Release(Ok(true)));
            false
        }
    };
    assert_eq!(
        first.calls(),
        usize::from(hold == Hold::Commit || hold == Hold::Release)
    );

    let retry = Counter::new(StatusCode::NO_CONTENT);
    let (status, rejection, ..) = send(layer.clone().layer(retry.service()), request()).await;
    if handled_first {
        assert_eq!(status, StatusCode::OK, "{hold:?}: {rejection:?}");
        assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
        assert_eq!(retry.calls(), 0, "not handled a second time");
    } else {
        assert_eq!(status, StatusCode::NO_CONTENT, "{hold:?}: {rejection:?}");
        assert_eq!(retry.calls(), 1);
    }
    let (status, ..) = send(layer.layer(retry.service()), request()).await;
    assert_eq!(status, StatusCode::OK, "and it is remembered");
}

mod on_memory {
    use super::*;

    async fn dropped(hold: Hold) {
        let f = fixture();
        dropped_while_the_store_answers(f.store.clone(), hold, f.layer.clone(), || {
            signed("msg_cancel", BODY)
        })
        .await;
    }

    #[tokio::test]
    async fn dropped_after_reserve_is_released() {
        dropped(Hold::ReserveAnswer).await;
    }

    #[tokio::test]
    async fn dropped_before_reserve_holds_nothing() {
        dropped(Hold::ReserveRequest).await;
    }

    #[tokio::test]
    async fn dropped_while_committing_is_committed() {
        dropped(Hold::Commit).await;
    }

    #[tokio::test]
    async fn dropped_while_releasing_is_released() {
        dropped(Hold::Release).await;
    }
}

#[cfg(feature = "redis")]
mod on_redis {
    use super::*;
    use tower_webhook::dedup::RedisStore;

    async fn dropped(hold: Hold) {
        let Some(url) = redis_url_or_skip("the cancelled requests on RedisStore").await else {
            return;
        };
        let prefix = format!(
            "tower-webhook-test:{}:{:016x}:",
            std::process::id(),
            Token::generate().as_u64()
        );
        let store = RedisStore::builder()
            .prefix(prefix)
            .timeout(Duration::from_secs(2))
            .connect(&url)
            .await
            .unwrap();
        // Redis's expiry runs on real time, so the layer's clock does too.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let now = i64::try_from(now.as_secs()).unwrap();
        let layer = WebhookLayer::new(scheme()).lease(Duration::from_secs(60));
        dropped_while_the_store_answers(store, hold, layer, || signed_at("evt_cancel", now, BODY))
            .await;
    }

    #[tokio::test]
    async fn dropped_after_reserve_is_released() {
        dropped(Hold::ReserveAnswer).await;
    }

    #[tokio::test]
    async fn dropped_before_reserve_holds_nothing() {
        dropped(Hold::ReserveRequest).await;
    }

    #[tokio::test]
    async fn dropped_while_committing_is_committed() {
        dropped(Hold::Commit).await;
    }

    #[tokio::test]
    async fn dropped_while_releasing_is_released() {
        dropped(Hold::Release).await;
    }
}
