//! Replay protection: the [`DedupStore`] contract and its implementations.
//!
//! After a delivery's signature verified, the layer asks the store to
//! **reserve** its event id for a lease. The store answers:
//!
//! - [`Reservation::Fresh`] with a [`Token`]: nobody has this id; the handler runs.
//!   When it answers 2xx the layer **commits** the id for a retention period
//!   (later copies answer 200 without reaching the handler). When it answers
//!   anything else, errors, panics, or its future is dropped, the layer
//!   **releases** the id, so the sender's retry is processed and no event is lost.
//! - [`Reservation::InFlight`]: another request holds the id right now (409).
//! - [`Reservation::Done`]: the id was processed (200, handler not called).
//!
//! A reservation has a lease: if the process dies mid-handler and never
//! releases, the lease expires and the sender's retry goes through. Commit and
//! release act only when the caller's token still owns the id, so a slow
//! handler whose lease expired cannot overwrite or delete a newer
//! reservation.
//!
//! Only verified deliveries reach the store: an attacker without the secret
//! cannot write into it.
//!
//! ```
//! use std::time::Duration;
//! use tower_webhook::dedup::{DedupStore, MemoryStore, Reservation};
//!
//! # tokio_test();
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn tokio_test() {
//! let store = MemoryStore::new();
//! let Reservation::Fresh(token) = store.reserve("standard:/hook:msg_1", Duration::from_secs(60)).await.unwrap() else {
//!     unreachable!()
//! };
//! assert!(matches!(store.reserve("standard:/hook:msg_1", Duration::from_secs(60)).await, Ok(Reservation::InFlight { .. })));
//! store.commit("standard:/hook:msg_1", token, Duration::from_secs(600)).await.unwrap();
//! assert_eq!(store.reserve("standard:/hook:msg_1", Duration::from_secs(60)).await, Ok(Reservation::Done));
//! # }
//! ```

pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;
mod table;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use memory::MemoryStore;

/// A boxed, sendable future, as returned by [`DedupStore`] methods.
///
/// ```
/// let ready: tower_webhook::dedup::BoxFuture<'static, u8> = Box::pin(async { 1 });
/// # drop(ready);
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Identifies one reservation; commit and release must present it.
///
/// ```
/// use tower_webhook::dedup::Token;
/// let a = Token::generate();
/// let b = Token::generate();
/// assert_ne!(a, b);
/// assert_eq!(Token::from_u64(a.as_u64()), a);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(u64);

impl Token {
    /// A token no other reservation of this process holds, and that another
    /// process is unlikely to hold (random per process, never zero).
    pub fn generate() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = *SEED.get_or_init(|| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
                h.write_u128(d.as_nanos());
            }
            h.finish()
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // splitmix64 is a bijection: distinct counters give distinct tokens.
        let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(z.max(1))
    }

    /// A token from its numeric form (for stores that persist it).
    pub const fn from_u64(v: u64) -> Self {
        Self(v)
    }

    /// The numeric form of the token.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

/// The store's answer to a reservation.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::dedup::{MemoryStore, Reservation};
/// let store = MemoryStore::new();
/// assert!(matches!(store.reserve_now("k", Duration::from_secs(5)), Ok(Reservation::Fresh(_))));
/// assert!(matches!(store.reserve_now("k", Duration::from_secs(5)), Ok(Reservation::InFlight { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The id is now reserved for the caller.
    Fresh(Token),
    /// Another request holds the id; try again after `retry_after`.
    InFlight {
        /// When the current lease ends (at most).
        retry_after: Duration,
    },
    /// The id was processed and committed.
    Done,
}

/// Why the store could not answer. The layer fails closed: 503 with
/// `Retry-After`, handler not called.
///
/// ```
/// use tower_webhook::{dedup::StoreError, Rejection};
/// let r = Rejection::from(StoreError::Unavailable("connection refused".into()));
/// assert_eq!(r.status(), 503);
/// assert!(r.to_string().contains("connection refused"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend is unreachable or answered with an error.
    #[error("dedup store unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("dedup store did not answer within {0:?}")]
    Timeout(Duration),
    /// Every slot holds an id that is still inside its replay window.
    #[error(
        "dedup store is full: {capacity} ids are within their replay window; raise the store's capacity (MemoryStore::builder().capacity(..)) or shorten the tolerance"
    )]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
}

/// Where event ids are reserved, committed and released.
///
/// Implementations must make `reserve` atomic (two concurrent reservations
/// of one key: exactly one gets [`Reservation::Fresh`]) and make `commit` and
/// `release` compare-and-set on the token. They must never block the async
/// runtime.
///
/// A store that wraps another and counts reservations:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use tower_webhook::dedup::{BoxFuture, DedupStore, MemoryStore, Reservation, StoreError, Token};
///
/// #[derive(Default)]
/// struct Counting { inner: MemoryStore, reserves: AtomicUsize }
///
/// impl DedupStore for Counting {
///     fn reserve<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Reservation, StoreError>> {
///         self.reserves.fetch_add(1, Ordering::Relaxed);
///         self.inner.reserve(key, lease)
///     }
///     fn commit<'a>(&'a self, key: &'a str, token: Token, retention: Duration) -> BoxFuture<'a, Result<bool, StoreError>> {
///         self.inner.commit(key, token, retention)
///     }
///     fn release<'a>(&'a self, key: &'a str, token: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
///         self.inner.release(key, token)
///     }
/// }
/// let layer = tower_webhook::WebhookLayer::new(
///     tower_webhook::scheme::StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
/// ).dedup(Counting::default());
/// ```
pub trait DedupStore: Send + Sync + 'static {
    /// Reserves `key` for `lease` unless it is held or done.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>>;

    /// Marks `key` as processed for `retention`, if `token` still holds it.
    /// Returns whether it did.
    ///
    /// The layer computes `retention` from the moment the delivery verified,
    /// just before `reserve`; a store keeps the id at least that long counted
    /// from its reservation ([`MemoryStore`] counts from the reservation,
    /// `RedisStore` from the commit, a little longer).
    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Deletes the reservation of `key`, if `token` still holds it.
    /// Returns whether it did.
    fn release<'a>(&'a self, key: &'a str, token: Token)
    -> BoxFuture<'a, Result<bool, StoreError>>;

    /// [`reserve`](Self::reserve) answered at once, for a store that does no
    /// I/O; `None` (the default) means "call `reserve`". The layer tries this
    /// first and saves allocating a future; both must behave the same.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{DedupStore, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let first = DedupStore::reserve_ready(&store, "evt_1", Duration::from_secs(30));
    /// assert!(matches!(first, Some(Ok(Reservation::Fresh(_)))));
    /// ```
    fn reserve_ready(&self, key: &str, lease: Duration) -> Option<Result<Reservation, StoreError>> {
        let _ = (key, lease);
        None
    }

    /// [`commit`](Self::commit) answered at once; `None` (the default) means
    /// "call `commit`". See [`reserve_ready`](Self::reserve_ready).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{DedupStore, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let Some(Ok(Reservation::Fresh(token))) = store.reserve_ready("evt_1", Duration::from_secs(30)) else {
    ///     unreachable!("a fresh store reserves at once")
    /// };
    /// assert!(matches!(store.commit_ready("evt_1", token, Duration::from_secs(600)), Some(Ok(true))));
    /// assert!(matches!(store.reserve_ready("evt_1", Duration::from_secs(30)), Some(Ok(Reservation::Done))));
    /// ```
    fn commit_ready(
        &self,
        key: &str,
        token: Token,
        retention: Duration,
    ) -> Option<Result<bool, StoreError>> {
        let _ = (key, token, retention);
        None
    }

    /// [`release`](Self::release) answered at once; `None` (the default)
    /// means "call `release`". See [`reserve_ready`](Self::reserve_ready).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{DedupStore, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let Some(Ok(Reservation::Fresh(token))) = store.reserve_ready("evt_1", Duration::from_secs(30)) else {
    ///     unreachable!("a fresh store reserves at once")
    /// };
    /// assert!(matches!(store.release_ready("evt_1", token), Some(Ok(true))));
    /// // Released: the id can be reserved again.
    /// assert!(matches!(store.reserve_ready("evt_1", Duration::from_secs(30)), Some(Ok(Reservation::Fresh(_)))));
    /// ```
    fn release_ready(&self, key: &str, token: Token) -> Option<Result<bool, StoreError>> {
        let _ = (key, token);
        None
    }
}

macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<T: DedupStore + ?Sized> DedupStore for $ty {
            fn reserve<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Reservation, StoreError>> {
                (**self).reserve(key, lease)
            }
            fn commit<'a>(&'a self, key: &'a str, token: Token, retention: Duration) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).commit(key, token, retention)
            }
            fn release<'a>(&'a self, key: &'a str, token: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).release(key, token)
            }
            fn reserve_ready(&self, key: &str, lease: Duration) -> Option<Result<Reservation, StoreError>> {
                (**self).reserve_ready(key, lease)
            }
            fn commit_ready(&self, key: &str, token: Token, retention: Duration) -> Option<Result<bool, StoreError>> {
                (**self).commit_ready(key, token, retention)
            }
            fn release_ready(&self, key: &str, token: Token) -> Option<Result<bool, StoreError>> {
                (**self).release_ready(key, token)
            }
        }
    )*};
}

forward_store!(Arc<T>, Box<T>);
