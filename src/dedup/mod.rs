//! Replay protection: the [`DedupStore`] contract and its implementations.
//!
//! After a delivery's signature verified, the layer asks the store to
//! **reserve** its dedup key for a lease, presenting a [`Claim`]: a fresh
//! [`Token`], the lease, and the retention this copy of the delivery needs.
//! The store answers:
//!
//! - [`Reservation::Fresh`]: nobody holds this key; the token now does, and
//!   the handler runs. When it answers 2xx the layer **commits** the key for
//!   its retention (later copies answer 200 without reaching the handler).
//!   When it answers anything else, errors, panics, or its future is dropped,
//!   the layer **releases** the key, so the sender's retry is processed and
//!   no event is lost.
//! - [`Reservation::InFlight`]: another request holds the key right now (409).
//! - [`Reservation::Done`]: the key was processed (200, handler not called).
//!   The store extends its retention to cover the claim's: every accepted
//!   copy of a delivery (a sender's retry carries a fresher timestamp) is
//!   remembered for its own replay window.
//!
//! The layer makes the token before it asks, so a request dropped while the
//! store is still answering (the client went away) releases what the store
//! may have reserved for it. A reservation has a lease: if the process dies
//! mid-handler and never releases, the lease expires and the sender's retry
//! goes through. Commit and release act only for the caller's token, so a
//! slow handler whose lease expired can neither delete a newer reservation
//! nor mark it done; its commit still records the key as done when no live
//! reservation holds it (the handler did the work: better not to run it a
//! second time).
//!
//! Only verified deliveries reach the store, and keys are built from signed
//! data only: an attacker without the secret cannot write into it.
//!
//! ```
//! use std::time::Duration;
//! use tower_webhook::dedup::{Claim, DedupStore, MemoryStore, Reservation, Token};
//!
//! # tokio_test();
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn tokio_test() {
//! let store = MemoryStore::new();
//! let claim = Claim::new(Duration::from_secs(60), Duration::from_secs(600));
//! assert_eq!(store.reserve("standard:msg_1", claim).await, Ok(Reservation::Fresh));
//! let other = Claim::new(Duration::from_secs(60), Duration::from_secs(600));
//! assert!(matches!(store.reserve("standard:msg_1", other).await, Ok(Reservation::InFlight { .. })));
//! store.commit("standard:msg_1", claim.token, claim.retention).await.unwrap();
//! assert_eq!(store.reserve("standard:msg_1", other).await, Ok(Reservation::Done));
//! # }
//! ```

mod memory;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
mod postgres;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
mod redis;

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[cfg(all(feature = "postgres", feature = "axum"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "postgres", feature = "axum"))))]
pub use self::postgres::MissingTxCommit;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{
    PostgresError, PostgresStore, PostgresStoreBuilder, TxCommit, TxCommitError,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{ConnectError, RedisStore, RedisStoreBuilder};
pub use futures_core::future::BoxFuture;
pub use memory::{MemoryStore, MemoryStoreBuilder};

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

/// What a reservation asks for: the token that will hold the key, how long
/// it holds it ([`lease`](Self::lease)), and how long the key must be
/// remembered once done ([`retention`](Self::retention)).
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::dedup::Claim;
/// let a = Claim::new(Duration::from_secs(60), Duration::from_secs(660));
/// let b = Claim::new(Duration::from_secs(60), Duration::from_secs(660));
/// assert_ne!(a.token, b.token, "each claim has its own token");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Holds the key while the handler runs; commit and release present it.
    pub token: Token,
    /// How long the key stays held if the holder never commits nor releases.
    pub lease: Duration,
    /// How long this copy of the delivery must be remembered: a store that
    /// finds the key done keeps it at least this long from now.
    pub retention: Duration,
}

impl Claim {
    /// A claim with a fresh [`Token`].
    pub fn new(lease: Duration, retention: Duration) -> Self {
        Self {
            token: Token::generate(),
            lease,
            retention,
        }
    }
}

/// The store's answer to a reservation.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::dedup::{Claim, MemoryStore, Reservation};
/// let store = MemoryStore::new();
/// let claim = Claim::new(Duration::from_secs(5), Duration::from_secs(60));
/// assert_eq!(store.reserve_now("k", claim), Ok(Reservation::Fresh));
/// assert!(matches!(store.reserve_now("k", Claim::new(Duration::from_secs(5), Duration::ZERO)), Ok(Reservation::InFlight { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The key is now held by the claim's token.
    Fresh,
    /// Another request holds the key; try again after `retry_after`.
    InFlight {
        /// When the current lease ends (at most).
        retry_after: Duration,
    },
    /// The key was processed and committed (its retention now covers the
    /// claim's).
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

/// Where dedup keys are reserved, committed and released.
///
/// Implementations must make `reserve` atomic (two concurrent reservations
/// of one key: exactly one gets [`Reservation::Fresh`]) and make `commit` and
/// `release` act only for the caller's token. They must never block the
/// async runtime. The contract, which `tests/store_contract.rs` checks on
/// every store of this crate:
///
/// - `reserve`: a key that is absent, or whose lease or retention has run
///   out, becomes held by `claim.token` for `claim.lease` ([`Reservation::Fresh`]);
///   a key held by a running lease answers [`Reservation::InFlight`]; a key
///   that is done answers [`Reservation::Done`] and is kept at least
///   `claim.retention` from now.
/// - `commit`: marks the key done for `retention` from now and answers `true`
///   when `token` holds it, or when no live reservation holds it (the lease
///   ran out and nobody took over); answers `false`, changing nothing, when
///   another token holds it or it is done already.
/// - `release`: deletes the key and answers `true` only when `token` holds it
///   and it is not done.
///
/// A store that wraps another and counts reservations:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use tower_webhook::dedup::{BoxFuture, Claim, DedupStore, MemoryStore, Reservation, StoreError, Token};
///
/// #[derive(Default)]
/// struct Counting { inner: MemoryStore, reserves: AtomicUsize }
///
/// impl DedupStore for Counting {
///     fn reserve<'a>(&'a self, key: &'a str, claim: Claim) -> BoxFuture<'a, Result<Reservation, StoreError>> {
///         self.reserves.fetch_add(1, Ordering::Relaxed);
///         self.inner.reserve(key, claim)
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
    /// Reserves `key` for `claim.token`, unless it is held or done; see the
    /// [trait docs](DedupStore) for the contract.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>>;

    /// Marks `key` as processed for `retention` from now; see the
    /// [trait docs](DedupStore). Returns whether it did.
    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Deletes the reservation of `key`, if `token` holds it.
    /// Returns whether it did.
    fn release<'a>(&'a self, key: &'a str, token: Token)
    -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Lets the handler commit the delivery itself, inside its own database
    /// transaction, for a store that can (`PostgresStore`, whose handle is
    /// `TxCommit`; feature `postgres`).
    ///
    /// The layer calls it once every dedup key of a delivery is reserved
    /// (`held`: each key with its token), before it calls the handler, with
    /// the retention a commit must give. A store that can puts its handle
    /// into `extensions` and answers the flag the handle sets once the
    /// handler's commit went through. When the flag is set and the handler
    /// answers 2xx, the layer does not commit again; otherwise it releases as
    /// always (a release never undoes a committed key, so a transaction that
    /// committed stays committed, and one that rolled back leaves a
    /// reservation the release frees). The default does nothing and answers
    /// `None`: the layer commits on 2xx.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{DedupStore, MemoryStore, Token};
    /// let mut extensions = http::Extensions::new();
    /// let held = [("standard:k:id:evt_1".to_owned(), Token::generate())];
    /// assert!(MemoryStore::new().hand_over(&held, Duration::from_secs(60), &mut extensions).is_none());
    /// ```
    fn hand_over(
        &self,
        held: &[(String, Token)],
        retention: Duration,
        extensions: &mut http::Extensions,
    ) -> Option<Arc<AtomicBool>> {
        let _ = (held, retention, extensions);
        None
    }
}

macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<T: DedupStore + ?Sized> DedupStore for $ty {
            fn reserve<'a>(&'a self, key: &'a str, claim: Claim) -> BoxFuture<'a, Result<Reservation, StoreError>> {
                (**self).reserve(key, claim)
            }
            fn commit<'a>(&'a self, key: &'a str, token: Token, retention: Duration) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).commit(key, token, retention)
            }
            fn release<'a>(&'a self, key: &'a str, token: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
                (**self).release(key, token)
            }
            fn hand_over(&self, held: &[(String, Token)], retention: Duration, extensions: &mut http::Extensions) -> Option<Arc<AtomicBool>> {
                (**self).hand_over(held, retention, extensions)
            }
        }
    )*};
}

forward_store!(Arc<T>, Box<T>);
