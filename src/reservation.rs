//! [`Reserved`]: the dedup keys a delivery holds until the handler's
//! outcome settles them.

use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use crate::dedup::{DedupStore, Token};

/// Reservations the handler's outcome has not settled yet.
///
/// Each key is registered before the store is asked, with the token the
/// store will hold it under. Settled with [`settle`](Self::settle) (commit
/// for a retention, or release), a key at a time: each leaves the guard once
/// the store answered for it. Dropped unsettled (the handler panicked, or the
/// request's future was dropped, even while the store was still answering),
/// the guard finishes in the background: it commits the keys left when it
/// was committing (the handler did the work), and releases them otherwise.
/// A release of a key the store never reserved for that token changes
/// nothing; neither does a second commit.
pub(crate) struct Reserved {
    store: Arc<dyn DedupStore>,
    held: Vec<(String, Token)>,
    /// `Some(retention)` once a commit started.
    committing: Option<Duration>,
}

impl Reserved {
    pub(crate) fn new(store: Arc<dyn DedupStore>) -> Self {
        Self {
            store,
            held: Vec::with_capacity(2),
            committing: None,
        }
    }

    pub(crate) fn push(&mut self, key: String, token: Token) {
        self.held.push((key, token));
    }

    /// The store did not reserve `key` for us: nothing to settle.
    pub(crate) fn forget(&mut self, key: &str) {
        self.held.retain(|(k, _)| k != key);
    }

    /// Commits every key for `retention`, or releases them (`None`).
    pub(crate) async fn settle(mut self, commit: Option<Duration>) {
        self.committing = commit;
        while let Some((key, token)) = self.held.first() {
            settle_one(&*self.store, key, *token, commit).await;
            self.held.remove(0);
        }
    }
}

async fn settle_one(store: &dyn DedupStore, key: &str, token: Token, commit: Option<Duration>) {
    match commit {
        Some(retention) => match store.commit(key, token, retention).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                key = %key,
                "webhook handled, but its reservation was taken over or already recorded (lease too short for the handler?)"
            ),
            Err(e) => tracing::error!(
                key = %key,
                error = %e,
                "webhook handled, but the dedup store did not record it; a redelivery would be processed again"
            ),
        },
        None => {
            if let Err(e) = store.release(key, token).await {
                tracing::error!(key = %key, error = %e, "could not release a webhook reservation; it ends with its lease");
            }
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        let (store, commit) = (Arc::clone(&self.store), self.committing);
        tracing::warn!(
            keys = held.len(),
            committing = commit.is_some(),
            "webhook delivery interrupted (panic or cancelled); settling its reservation in the background"
        );
        let mut settle = Box::pin(async move {
            for (key, token) in held {
                settle_one(&*store, &key, token, commit).await;
            }
        });
        // Stores that answer at once (the memory store) are done here;
        // others finish on the runtime.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if settle.as_mut().poll(&mut cx).is_pending() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(settle);
                }
                Err(_) => tracing::error!(
                    "no tokio runtime to settle a webhook reservation on; it ends with its lease"
                ),
            }
        }
    }
}
