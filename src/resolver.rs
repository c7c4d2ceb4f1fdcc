//! Where a request's keys come from: one static scheme, or a per-tenant
//! lookup.
//!
//! A multi-tenant receiver (one endpoint per customer, each with its own
//! signing secret) resolves the scheme per request with [`TenantKeys`]: a
//! function picks the tenant out of the request head (a path segment, a
//! header), an async lookup builds that tenant's scheme (from a database, a
//! secrets manager), and the result is cached for a while. The tenant is part
//! of the dedup key, so tenants never see each other's event ids.
//!
//! # Untrusted tenant names
//!
//! The tenant is read before the signature is verified (its keys are needed
//! to verify it), so anyone can make the receiver look up names that do not
//! exist. [`TenantKeys`] bounds what that costs:
//!
//! - A tenant string longer than [`MAX_TENANT_LEN`] bytes (128; change it with
//!   [`max_tenant_len`](TenantKeys::max_tenant_len)) is refused with
//!   [`ResolveError::TenantTooLong`], and an empty one with
//!   [`ResolveError::NoTenant`] (both 401), before any lookup or cache insert.
//! - Lookups are single-flight: however many requests for one uncached tenant
//!   arrive together, the lookup runs once and they all get its answer. A
//!   failed lookup (`Err`, 503) is given to every request that waited on it
//!   and is not cached: the next request looks up again.
//! - Known tenants and unknown ones (the lookup answered `Ok(None)`) live in
//!   two separate bounded caches, [`capacity`](TenantKeys::capacity) and
//!   [`negative_capacity`](TenantKeys::negative_capacity) (10 000 entries
//!   each by default). When one is full it evicts entries one at a time, the
//!   least recently and least frequently used first (TinyLFU, from `moka`);
//!   it is never cleared whole, and a flood of made-up names can only push
//!   out other made-up names, never a known tenant. The caches hash with a
//!   randomly keyed SipHash, so names cannot be chosen to collide.
//! - Expiry ([`ttl`](TenantKeys::ttl), [`negative_ttl`](TenantKeys::negative_ttl))
//!   is measured on the injected [`clock`](TenantKeys::clock): each entry
//!   carries the instant it expires on that clock, and a request that finds
//!   it past that instant treats it as a miss (looked up again, still
//!   single-flight). The cache's own real-time expiry is not used; an expired
//!   entry nobody asks for again stays until capacity pushes it out.
//!
//! Every distinct unknown name still costs one lookup when it is first seen,
//! so a lookup backend should be cheap to ask.
//!
//! ```
//! use std::collections::HashMap;
//! use tower_webhook::resolver::TenantKeys;
//! use tower_webhook::scheme::StandardWebhooks;
//! use tower_webhook::WebhookLayer;
//!
//! let secrets: HashMap<String, String> = HashMap::from([
//!     ("acme".to_owned(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
//! ]);
//! // POST /webhooks/{tenant}
//! let keys = TenantKeys::new(
//!     |head| head.uri.path().strip_prefix("/webhooks/").map(str::to_owned),
//!     move |tenant: String| {
//!         let secret = secrets.get(&tenant).cloned();
//!         async move {
//!             secret
//!                 .map(|s| StandardWebhooks::new(s).map_err(|e| e.to_string()))
//!                 .transpose()
//!         }
//!     },
//! );
//! let layer = WebhookLayer::with_resolver(keys);
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use moka::future::Cache;
use moka::ops::compute::Op;

use crate::clock::{Clock, SystemClock, unix_millis};
use crate::dedup::BoxFuture;

/// The scheme to verify one request with, and the tenant it belongs to.
///
/// ```
/// use std::sync::Arc;
/// use tower_webhook::resolver::Resolved;
/// use tower_webhook::scheme::StandardWebhooks;
/// let r = Resolved {
///     tenant: Some(Arc::from("acme")),
///     scheme: Arc::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?),
/// };
/// assert_eq!(r.tenant.as_deref(), Some("acme"));
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
pub struct Resolved<S> {
    /// The tenant, part of the dedup key (`None` for a single-tenant layer).
    pub tenant: Option<Arc<str>>,
    /// The scheme holding the tenant's keys.
    pub scheme: Arc<S>,
}

impl<S> Clone for Resolved<S> {
    fn clone(&self) -> Self {
        Self {
            tenant: self.tenant.clone(),
            scheme: Arc::clone(&self.scheme),
        }
    }
}

/// Why no keys could be found for a request.
///
/// ```
/// use tower_webhook::{resolver::ResolveError, Rejection};
/// assert_eq!(Rejection::from(ResolveError::UnknownTenant("x".into())).status(), 401);
/// assert_eq!(Rejection::from(ResolveError::Unavailable("timeout".into())).status(), 503);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The request names no tenant, or an empty one (401).
    #[error("the request names no tenant")]
    NoTenant,
    /// The named tenant has no keys (401).
    #[error("no keys for tenant {0:?}")]
    UnknownTenant(String),
    /// The tenant string is longer than the limit (401): refused before any
    /// lookup or cache insert. The name itself is left out, so a huge one is
    /// never logged.
    ///
    /// ```
    /// use tower_webhook::resolver::{ResolveError, MAX_TENANT_LEN};
    /// let e = ResolveError::TenantTooLong { len: 4096, max: MAX_TENANT_LEN };
    /// assert_eq!(
    ///     e.to_string(),
    ///     "tenant name is 4096 bytes, over the 128-byte limit (TenantKeys::max_tenant_len)"
    /// );
    /// assert_eq!(tower_webhook::Rejection::from(e).status(), 401);
    /// ```
    #[error("tenant name is {len} bytes, over the {max}-byte limit (TenantKeys::max_tenant_len)")]
    TenantTooLong {
        /// The length of the tenant string, in bytes.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The lookup failed; the sender should retry (503).
    #[error("key lookup failed: {0}")]
    Unavailable(String),
}

/// Finds the scheme (and so the keys) for a request, before its body is read.
///
/// ```
/// use std::sync::Arc;
/// use tower_webhook::dedup::BoxFuture;
/// use tower_webhook::resolver::{Resolved, ResolveError, Resolver};
/// use tower_webhook::scheme::StandardWebhooks;
///
/// /// Everyone shares one scheme, but the `x-tenant` header separates dedup.
/// struct ByHeader(Arc<StandardWebhooks>);
/// impl Resolver<StandardWebhooks> for ByHeader {
///     fn resolve<'a>(&'a self, head: &'a http::request::Parts) -> BoxFuture<'a, Result<Resolved<StandardWebhooks>, ResolveError>> {
///         let tenant = head.headers.get("x-tenant").and_then(|v| v.to_str().ok()).map(Arc::from);
///         Box::pin(async move { Ok(Resolved { tenant, scheme: Arc::clone(&self.0) }) })
///     }
/// }
/// ```
pub trait Resolver<S>: Send + Sync + 'static {
    /// Resolves the scheme for the request with this head.
    fn resolve<'a>(&'a self, head: &'a Parts) -> BoxFuture<'a, Result<Resolved<S>, ResolveError>>;
}

/// The longest tenant string [`TenantKeys`] accepts by default, in bytes;
/// longer ones are refused with [`ResolveError::TenantTooLong`] before any
/// lookup. Change it with [`TenantKeys::max_tenant_len`].
///
/// ```
/// assert_eq!(tower_webhook::resolver::MAX_TENANT_LEN, 128);
/// ```
pub const MAX_TENANT_LEN: usize = 128;

/// Default of [`TenantKeys::capacity`] and [`TenantKeys::negative_capacity`].
const DEFAULT_CAPACITY: usize = 10_000;

type TenantOf = dyn Fn(&Parts) -> Option<String> + Send + Sync;
type Lookup<S> = dyn Fn(String) -> BoxFuture<'static, Result<Option<S>, String>> + Send + Sync;

/// A known tenant's scheme and when (on the injected clock, Unix ms) it
/// stops being reused.
struct Known<S> {
    scheme: Arc<S>,
    expires_at: i64,
}

impl<S> Clone for Known<S> {
    fn clone(&self) -> Self {
        Self {
            scheme: Arc::clone(&self.scheme),
            expires_at: self.expires_at,
        }
    }
}

/// Why a single-flight lookup produced no scheme; shared by every request
/// that waited on it.
enum Miss {
    Unknown,
    Unavailable(String),
}

/// A bounded cache of tenant names; the value carries its own expiry.
fn bounded<V: Clone + Send + Sync + 'static>(capacity: usize) -> Cache<Arc<str>, V> {
    Cache::builder()
        .max_capacity(u64::try_from(capacity).unwrap_or(u64::MAX))
        .build()
}

/// `now` plus `ttl`, in Unix milliseconds, saturating.
fn after(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// Removes `key` if its entry is still past its expiry at `now`; an entry a
/// concurrent lookup has just refreshed is left alone.
async fn remove_if_expired<V: Clone + Send + Sync + 'static>(
    cache: &Cache<Arc<str>, V>,
    key: &Arc<str>,
    now: i64,
    expires_at: fn(&V) -> i64,
) {
    cache
        .entry(Arc::clone(key))
        .and_compute_with(|entry| {
            let op = match entry {
                Some(e) if expires_at(e.value()) <= now => Op::Remove,
                _ => Op::Nop,
            };
            std::future::ready(op)
        })
        .await;
}

/// A cached per-tenant lookup of schemes. See the [module docs](self).
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::clock::ManualClock;
/// use tower_webhook::resolver::TenantKeys;
/// use tower_webhook::scheme::StandardWebhooks;
///
/// let keys = TenantKeys::new(
///     |head| head.headers.get("x-tenant")?.to_str().ok().map(str::to_owned),
///     |tenant: String| async move {
///         if tenant != "acme" {
///             return Ok(None);
///         }
///         StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
///             .map(Some)
///             .map_err(|e| e.to_string())
///     },
/// )
/// .ttl(Duration::from_secs(60))
/// .negative_ttl(Duration::from_secs(10))
/// .capacity(1_000)
/// .negative_capacity(5_000)
/// .max_tenant_len(64)
/// .clock(ManualClock::at_unix(1_700_000_000));
/// # let _ = keys;
/// ```
pub struct TenantKeys<S> {
    tenant_of: Box<TenantOf>,
    lookup: Box<Lookup<S>>,
    /// Known tenants.
    known: Cache<Arc<str>, Known<S>>,
    /// Unknown tenants: when (injected clock, Unix ms) each stops being
    /// remembered as unknown.
    unknown: Cache<Arc<str>, i64>,
    ttl: Duration,
    negative_ttl: Duration,
    capacity: usize,
    negative_capacity: usize,
    max_tenant_len: usize,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for TenantKeys<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantKeys")
            .field("ttl", &self.ttl)
            .field("negative_ttl", &self.negative_ttl)
            .field("capacity", &self.capacity)
            .field("negative_capacity", &self.negative_capacity)
            .field("max_tenant_len", &self.max_tenant_len)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> TenantKeys<S> {
    /// `tenant_of` picks the tenant from the request head; `lookup` builds
    /// its scheme, `Ok(None)` for an unknown tenant, `Err(message)` when the
    /// backend fails (503, the sender retries). Defaults: positive answers
    /// cached 5 min, unknown tenants 30 s, at most 10 000 known and 10 000
    /// unknown tenants, tenant strings of at most [`MAX_TENANT_LEN`] bytes.
    pub fn new<T, L, F, E>(tenant_of: T, lookup: L) -> Self
    where
        T: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
        L: Fn(String) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Option<S>, E>> + Send + 'static,
        E: fmt::Display,
    {
        Self {
            tenant_of: Box::new(tenant_of),
            lookup: Box::new(move |tenant| {
                let fut = lookup(tenant);
                Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
            }),
            known: bounded(DEFAULT_CAPACITY),
            unknown: bounded(DEFAULT_CAPACITY),
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
            capacity: DEFAULT_CAPACITY,
            negative_capacity: DEFAULT_CAPACITY,
            max_tenant_len: MAX_TENANT_LEN,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long a tenant's scheme is reused before it is looked up again
    /// (new secrets take effect after at most this long), on the
    /// [`clock`](Self::clock).
    pub fn ttl(mut self, d: Duration) -> Self {
        self.ttl = d;
        self
    }

    /// How long an unknown tenant is remembered as unknown, on the
    /// [`clock`](Self::clock).
    pub fn negative_ttl(mut self, d: Duration) -> Self {
        self.negative_ttl = d;
        self
    }

    /// The most known tenants cached at once (default 10 000, at least 1).
    /// Past it, the least recently and frequently used are evicted one at a
    /// time. Unknown tenants are bounded separately by
    /// [`negative_capacity`](Self::negative_capacity) and never evict a
    /// known one. Set it above the number of tenants that are active at once:
    /// a full cache may decline to admit a newcomer that has been asked for
    /// less often than what it would evict (the newcomer is then looked up
    /// on each request, still single-flight).
    ///
    /// ```
    /// # use tower_webhook::resolver::TenantKeys;
    /// # use tower_webhook::scheme::StandardWebhooks;
    /// let keys = TenantKeys::new(
    ///     |head| head.uri.path().strip_prefix("/hooks/").map(str::to_owned),
    ///     |_tenant: String| async { Ok::<Option<StandardWebhooks>, String>(None) },
    /// )
    /// .capacity(50_000);
    /// # let _ = keys;
    /// ```
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self.known = bounded(self.capacity);
        self
    }

    /// The most unknown tenants (the lookup answered `Ok(None)`) remembered
    /// at once (default 10 000, at least 1). This bound is separate from
    /// [`capacity`](Self::capacity), so a flood of made-up tenant names only
    /// evicts other unknown names, never a known tenant.
    ///
    /// ```
    /// # use tower_webhook::resolver::TenantKeys;
    /// # use tower_webhook::scheme::StandardWebhooks;
    /// let keys = TenantKeys::new(
    ///     |head| head.uri.path().strip_prefix("/hooks/").map(str::to_owned),
    ///     |_tenant: String| async { Ok::<Option<StandardWebhooks>, String>(None) },
    /// )
    /// .negative_capacity(1_000);
    /// # let _ = keys;
    /// ```
    pub fn negative_capacity(mut self, n: usize) -> Self {
        self.negative_capacity = n.max(1);
        self.unknown = bounded(self.negative_capacity);
        self
    }

    /// The longest tenant string accepted, in bytes (default
    /// [`MAX_TENANT_LEN`], at least 1). A longer one is refused with
    /// [`ResolveError::TenantTooLong`] (401) before any lookup or cache
    /// insert.
    ///
    /// ```
    /// # use tower_webhook::resolver::TenantKeys;
    /// # use tower_webhook::scheme::StandardWebhooks;
    /// // Tenants are UUIDs.
    /// let keys = TenantKeys::new(
    ///     |head| head.uri.path().strip_prefix("/hooks/").map(str::to_owned),
    ///     |_tenant: String| async { Ok::<Option<StandardWebhooks>, String>(None) },
    /// )
    /// .max_tenant_len(36);
    /// # let _ = keys;
    /// ```
    pub fn max_tenant_len(mut self, n: usize) -> Self {
        self.max_tenant_len = n.max(1);
        self
    }

    /// The clock cache expiry is measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn now(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    /// The lookup run once for every request waiting on `key`. An unknown
    /// tenant is remembered in the negative cache here, so it never takes a
    /// place among the known ones.
    async fn look_up(&self, key: &Arc<str>) -> Result<Known<S>, Miss> {
        // A lookup that answered "unknown" just before this one started.
        if self
            .unknown
            .get(&**key)
            .await
            .is_some_and(|until| until > self.now())
        {
            return Err(Miss::Unknown);
        }
        match (self.lookup)(key.to_string()).await {
            Ok(Some(scheme)) => Ok(Known {
                scheme: Arc::new(scheme),
                expires_at: after(self.now(), self.ttl),
            }),
            Ok(None) => {
                let until = after(self.now(), self.negative_ttl);
                self.unknown.insert(Arc::clone(key), until).await;
                Err(Miss::Unknown)
            }
            Err(message) => Err(Miss::Unavailable(message)),
        }
    }
}

impl<S: Send + Sync + 'static> Resolver<S> for TenantKeys<S> {
    fn resolve<'a>(&'a self, head: &'a Parts) -> BoxFuture<'a, Result<Resolved<S>, ResolveError>> {
        Box::pin(async move {
            let tenant = (self.tenant_of)(head)
                .filter(|t| !t.is_empty())
                .ok_or(ResolveError::NoTenant)?;
            if tenant.len() > self.max_tenant_len {
                return Err(ResolveError::TenantTooLong {
                    len: tenant.len(),
                    max: self.max_tenant_len,
                });
            }
            let key: Arc<str> = Arc::from(tenant);
            let now = self.now();
            if let Some(hit) = self.known.get(&*key).await {
                if hit.expires_at > now {
                    return Ok(Resolved {
                        tenant: Some(key),
                        scheme: hit.scheme,
                    });
                }
                remove_if_expired(&self.known, &key, now, |k| k.expires_at).await;
            }
            if let Some(until) = self.unknown.get(&*key).await {
                if until > now {
                    return Err(ResolveError::UnknownTenant(key.to_string()));
                }
                remove_if_expired(&self.unknown, &key, now, |until| *until).await;
            }
            // Single-flight: concurrent misses for `key` share one lookup,
            // and its error; only a found scheme is inserted here.
            match self
                .known
                .try_get_with(Arc::clone(&key), self.look_up(&key))
                .await
            {
                Ok(found) => Ok(Resolved {
                    tenant: Some(key),
                    scheme: found.scheme,
                }),
                Err(miss) => Err(match &*miss {
                    Miss::Unknown => ResolveError::UnknownTenant(key.to_string()),
                    Miss::Unavailable(message) => ResolveError::Unavailable(message.clone()),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    fn head(path: &str) -> Parts {
        http::Request::post(path).body(()).unwrap().into_parts().0
    }

    fn tenant_of(h: &Parts) -> Option<String> {
        h.uri.path().strip_prefix("/t/").map(str::to_owned)
    }

    /// "acme" and any "known-…" are known, "down" fails, the rest unknown.
    fn keys(calls: Arc<AtomicUsize>, clock: ManualClock) -> TenantKeys<String> {
        TenantKeys::new(tenant_of, move |tenant: String| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                match tenant.as_str() {
                    "down" => Err("backend down"),
                    t if t == "acme" || t.starts_with("known-") => {
                        Ok(Some(format!("scheme-of-{tenant}")))
                    }
                    _ => Ok(None),
                }
            }
        })
        .clock(clock)
        .ttl(Duration::from_secs(10))
        .negative_ttl(Duration::from_secs(1))
    }

    /// A lookup that waits until `gate` has a permit, then answers `answer`.
    fn gated_keys(
        calls: Arc<AtomicUsize>,
        gate: Arc<Semaphore>,
        answer: Result<Option<&'static str>, &'static str>,
        clock: ManualClock,
    ) -> TenantKeys<&'static str> {
        TenantKeys::new(tenant_of, move |_tenant: String| {
            calls.fetch_add(1, Ordering::SeqCst);
            let gate = Arc::clone(&gate);
            async move {
                // The permit goes back when dropped: once opened, the gate
                // stays open for every lookup.
                let _permit = gate.acquire().await.map_err(|_| "gate closed")?;
                answer
            }
        })
        .clock(clock)
        .ttl(Duration::from_secs(10))
    }

    /// Resolves `path` from `n` concurrent tasks while the lookup is held at
    /// the gate, then opens it and collects every answer.
    async fn resolve_together<S: Send + Sync + 'static>(
        k: &Arc<TenantKeys<S>>,
        calls: &AtomicUsize,
        gate: &Semaphore,
        path: &'static str,
        n: usize,
    ) -> Vec<Result<Arc<S>, ResolveError>> {
        let before = calls.load(Ordering::SeqCst);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let k = Arc::clone(k);
            tasks.spawn(async move { k.resolve(&head(path)).await.map(|r| r.scheme) });
        }
        // Let every task run until it waits (the test runtime has one
        // thread): on the lookup itself or on the one already running.
        while calls.load(Ordering::SeqCst) == before {
            tokio::task::yield_now().await;
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(tasks.try_join_next().is_none(), "nobody passed the gate");
        gate.add_permits(1);
        let answers = tasks.join_all().await;
        assert_eq!(answers.len(), n);
        answers
    }

    #[tokio::test]
    async fn resolves_caches_and_expires() {
        let calls = Arc::new(AtomicUsize::new(0));
        let clock = ManualClock::at_unix(0);
        let k = keys(calls.clone(), clock.clone());
        let r = k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(r.tenant.as_deref(), Some("acme"));
        assert_eq!(*r.scheme, "scheme-of-acme");
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "second resolve is cached");
        clock.advance(Duration::from_millis(9_999));
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "still within the ttl");
        clock.advance(Duration::from_millis(1));
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "expired entry is looked up again"
        );
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "and cached again");
    }

    #[tokio::test]
    async fn unknown_missing_and_failing_tenants() {
        let calls = Arc::new(AtomicUsize::new(0));
        let clock = ManualClock::at_unix(0);
        let k = keys(calls.clone(), clock.clone());
        assert_eq!(
            k.resolve(&head("/other")).await.err(),
            Some(ResolveError::NoTenant)
        );
        assert_eq!(
            k.resolve(&head("/t/nobody")).await.err(),
            Some(ResolveError::UnknownTenant("nobody".into()))
        );
        k.resolve(&head("/t/nobody")).await.err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "unknown tenants are cached"
        );
        assert_eq!(
            k.resolve(&head("/t/down")).await.err(),
            Some(ResolveError::Unavailable("backend down".into()))
        );
        k.resolve(&head("/t/down")).await.err();
        assert_eq!(calls.load(Ordering::SeqCst), 3, "failures are not cached");
    }

    #[tokio::test]
    async fn unknown_tenants_expire_on_the_injected_clock() {
        let calls = Arc::new(AtomicUsize::new(0));
        let clock = ManualClock::at_unix(0);
        let k = keys(calls.clone(), clock.clone());
        for _ in 0..2 {
            assert_eq!(
                k.resolve(&head("/t/nobody")).await.err(),
                Some(ResolveError::UnknownTenant("nobody".into()))
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_millis(999));
        k.resolve(&head("/t/nobody")).await.err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "within the negative ttl");
        clock.advance(Duration::from_millis(1));
        k.resolve(&head("/t/nobody")).await.err();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "expired: asked again");
        k.resolve(&head("/t/nobody")).await.err();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "and remembered again");
    }

    #[tokio::test]
    async fn a_tenant_moves_between_the_caches_as_its_entries_expire() {
        let calls = Arc::new(AtomicUsize::new(0));
        let exists = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clock = ManualClock::at_unix(0);
        let k = {
            let (calls, exists) = (calls.clone(), exists.clone());
            TenantKeys::new(tenant_of, move |_tenant: String| {
                calls.fetch_add(1, Ordering::SeqCst);
                let found = exists.load(Ordering::SeqCst).then_some("scheme");
                async move { Ok::<_, String>(found) }
            })
            .clock(clock.clone())
            .ttl(Duration::from_secs(10))
            .negative_ttl(Duration::from_secs(1))
        };
        let unknown = Some(ResolveError::UnknownTenant("new".into()));
        assert_eq!(k.resolve(&head("/t/new")).await.err(), unknown);
        exists.store(true, Ordering::SeqCst);
        assert_eq!(k.resolve(&head("/t/new")).await.err(), unknown, "cached");
        clock.advance(Duration::from_secs(1));
        assert!(k.resolve(&head("/t/new")).await.is_ok(), "created");
        exists.store(false, Ordering::SeqCst);
        assert!(k.resolve(&head("/t/new")).await.is_ok(), "cached");
        clock.advance(Duration::from_secs(10));
        assert_eq!(k.resolve(&head("/t/new")).await.err(), unknown, "deleted");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_junk_flood_never_evicts_a_known_tenant() {
        let calls = Arc::new(AtomicUsize::new(0));
        let k = keys(calls.clone(), ManualClock::at_unix(0))
            .capacity(3)
            .negative_capacity(3);
        k.resolve(&head("/t/acme")).await.unwrap();
        for i in 0..50 {
            let _ = k.resolve(&head(&format!("/t/junk{i}"))).await;
        }
        k.unknown.run_pending_tasks().await;
        k.known.run_pending_tasks().await;
        let after_flood = calls.load(Ordering::SeqCst);
        assert_eq!(after_flood, 51, "each junk name looked up once");
        let r = k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(*r.scheme, "scheme-of-acme");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            after_flood,
            "acme is still cached"
        );
    }

    #[tokio::test]
    async fn both_caches_stay_bounded() {
        let calls = Arc::new(AtomicUsize::new(0));
        let k = keys(calls, ManualClock::at_unix(0))
            .capacity(4)
            .negative_capacity(5);
        for i in 0..200 {
            let _ = k.resolve(&head(&format!("/t/x{i}"))).await;
            let _ = k.resolve(&head(&format!("/t/known-{i}"))).await;
        }
        k.unknown.run_pending_tasks().await;
        k.known.run_pending_tasks().await;
        let (known, unknown) = (k.known.entry_count(), k.unknown.entry_count());
        assert!(known <= 4, "{known} known tenants cached");
        assert!(unknown <= 5, "{unknown} unknown tenants cached");
        assert!(
            known > 0 && unknown > 0,
            "evicted one at a time, not cleared"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_lookup() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let k = Arc::new(gated_keys(
            calls.clone(),
            gate.clone(),
            Ok(Some("scheme")),
            ManualClock::at_unix(0),
        ));
        let answers = resolve_together(&k, &calls, &gate, "/t/acme", 50).await;
        assert!(answers.iter().all(|a| a.as_deref() == Ok(&"scheme")));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one lookup for 50 misses");
    }

    #[tokio::test]
    async fn an_expired_entry_is_refreshed_by_one_lookup() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(1));
        let clock = ManualClock::at_unix(0);
        let k = Arc::new(gated_keys(
            calls.clone(),
            gate.clone(),
            Ok(Some("scheme")),
            clock.clone(),
        ));
        k.resolve(&head("/t/acme")).await.unwrap();
        gate.forget_permits(1);
        clock.advance(Duration::from_secs(10));
        let answers = resolve_together(&k, &calls, &gate, "/t/acme", 50).await;
        assert!(answers.iter().all(|a| a.as_deref() == Ok(&"scheme")));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "one lookup for 50 refreshes"
        );
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the refreshed entry is cached"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_failure_and_it_is_not_cached() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let k = Arc::new(gated_keys(
            calls.clone(),
            gate.clone(),
            Err("backend down"),
            ManualClock::at_unix(0),
        ));
        let answers = resolve_together(&k, &calls, &gate, "/t/acme", 50).await;
        let down = ResolveError::Unavailable("backend down".into());
        assert!(answers.iter().all(|a| a.as_ref().err() == Some(&down)));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one lookup for 50 misses");
        assert_eq!(k.resolve(&head("/t/acme")).await.err(), Some(down));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the failure was not cached"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_for_an_unknown_tenant_share_one_lookup() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let k = Arc::new(gated_keys(
            calls.clone(),
            gate.clone(),
            Ok(None),
            ManualClock::at_unix(0),
        ));
        let answers = resolve_together(&k, &calls, &gate, "/t/nobody", 50).await;
        let unknown = ResolveError::UnknownTenant("nobody".into());
        assert!(answers.iter().all(|a| a.as_ref().err() == Some(&unknown)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        k.resolve(&head("/t/nobody")).await.err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "remembered as unknown");
        k.known.run_pending_tasks().await;
        assert_eq!(k.known.entry_count(), 0, "not among the known tenants");
    }

    #[tokio::test]
    async fn long_and_empty_tenant_names_are_refused_before_any_lookup() {
        let calls = Arc::new(AtomicUsize::new(0));
        let k = keys(calls.clone(), ManualClock::at_unix(0));
        let name = |len: usize| format!("known-{}", "a".repeat(len - "known-".len()));
        let too_long = name(MAX_TENANT_LEN + 1);
        assert_eq!(
            k.resolve(&head(&format!("/t/{too_long}"))).await.err(),
            Some(ResolveError::TenantTooLong {
                len: MAX_TENANT_LEN + 1,
                max: MAX_TENANT_LEN
            })
        );
        assert_eq!(
            k.resolve(&head("/t/")).await.err(),
            Some(ResolveError::NoTenant)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "no lookup");
        k.known.run_pending_tasks().await;
        k.unknown.run_pending_tasks().await;
        assert_eq!(k.known.entry_count() + k.unknown.entry_count(), 0);
        let longest = name(MAX_TENANT_LEN);
        let r = k.resolve(&head(&format!("/t/{longest}"))).await.unwrap();
        assert_eq!(r.tenant.as_deref(), Some(longest.as_str()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let k = keys(calls.clone(), ManualClock::at_unix(0)).max_tenant_len(4);
        assert!(k.resolve(&head("/t/acme")).await.is_ok());
        assert_eq!(
            k.resolve(&head("/t/acme2")).await.err(),
            Some(ResolveError::TenantTooLong { len: 5, max: 4 })
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
