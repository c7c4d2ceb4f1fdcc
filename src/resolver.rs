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
//! Caveats: a lookup runs before the signature is verified (the keys are
//! needed to verify it), so an attacker can make the receiver look up tenants
//! that do not exist. Unknown tenants are cached too (for
//! [`negative_ttl`](TenantKeys::negative_ttl)), and the cache is bounded, but
//! a lookup backend should still be cheap to ask. Concurrent misses for one
//! tenant each run the lookup.
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

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::request::Parts;

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
    /// The request names no tenant (401).
    #[error("the request names no tenant")]
    NoTenant,
    /// The named tenant has no keys (401).
    #[error("no keys for tenant {0:?}")]
    UnknownTenant(String),
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

type TenantOf = dyn Fn(&Parts) -> Option<String> + Send + Sync;
type Lookup<S> = dyn Fn(String) -> BoxFuture<'static, Result<Option<S>, String>> + Send + Sync;

struct Cached<S> {
    scheme: Option<Arc<S>>,
    expires_at: i64,
}

/// A cached per-tenant lookup of schemes. See the [module docs](self).
pub struct TenantKeys<S> {
    tenant_of: Box<TenantOf>,
    lookup: Box<Lookup<S>>,
    cache: Mutex<HashMap<String, Cached<S>>>,
    ttl: Duration,
    negative_ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for TenantKeys<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantKeys")
            .field("ttl", &self.ttl)
            .field("negative_ttl", &self.negative_ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> TenantKeys<S> {
    /// `tenant_of` picks the tenant from the request head; `lookup` builds
    /// its scheme, `Ok(None)` for an unknown tenant, `Err(message)` when the
    /// backend fails (503, the sender retries). Defaults: positive answers
    /// cached 5 min, unknown tenants 30 s, at most 10 000 tenants.
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
            cache: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
            capacity: 10_000,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long a tenant's scheme is reused before it is looked up again
    /// (new secrets take effect after at most this long).
    pub fn ttl(mut self, d: Duration) -> Self {
        self.ttl = d;
        self
    }

    /// How long an unknown tenant is remembered as unknown.
    pub fn negative_ttl(mut self, d: Duration) -> Self {
        self.negative_ttl = d;
        self
    }

    /// The most tenants cached at once.
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// The clock cache expiry is measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn cached(&self, tenant: &str, now: i64) -> Option<Option<Arc<S>>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(tenant)
            .filter(|c| c.expires_at > now)
            .map(|c| c.scheme.clone())
    }

    fn remember(&self, tenant: &str, scheme: Option<Arc<S>>, now: i64) {
        let ttl = if scheme.is_some() {
            self.ttl
        } else {
            self.negative_ttl
        };
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= self.capacity && !cache.contains_key(tenant) {
            cache.retain(|_, c| c.expires_at > now);
            if cache.len() >= self.capacity {
                // Still full of live entries: start over rather than grow.
                cache.clear();
            }
        }
        cache.insert(tenant.to_owned(), Cached { scheme, expires_at });
    }
}

impl<S: Send + Sync + 'static> Resolver<S> for TenantKeys<S> {
    fn resolve<'a>(&'a self, head: &'a Parts) -> BoxFuture<'a, Result<Resolved<S>, ResolveError>> {
        Box::pin(async move {
            let tenant = (self.tenant_of)(head).ok_or(ResolveError::NoTenant)?;
            let now = unix_millis(self.clock.now());
            let scheme = match self.cached(&tenant, now) {
                Some(hit) => hit,
                None => {
                    let found = (self.lookup)(tenant.clone())
                        .await
                        .map_err(ResolveError::Unavailable)?
                        .map(Arc::new);
                    self.remember(&tenant, found.clone(), now);
                    found
                }
            };
            match scheme {
                Some(scheme) => Ok(Resolved {
                    tenant: Some(Arc::from(tenant)),
                    scheme,
                }),
                None => Err(ResolveError::UnknownTenant(tenant)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn head(path: &str) -> Parts {
        http::Request::post(path).body(()).unwrap().into_parts().0
    }

    fn keys(calls: Arc<AtomicUsize>, clock: ManualClock) -> TenantKeys<String> {
        TenantKeys::new(
            |h: &Parts| h.uri.path().strip_prefix("/t/").map(str::to_owned),
            move |tenant: String| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    match tenant.as_str() {
                        "down" => Err("backend down"),
                        "acme" => Ok(Some(format!("scheme-of-{tenant}"))),
                        _ => Ok(None),
                    }
                }
            },
        )
        .clock(clock)
        .ttl(Duration::from_secs(10))
        .negative_ttl(Duration::from_secs(1))
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
        clock.advance(Duration::from_secs(10));
        k.resolve(&head("/t/acme")).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "expired entry is looked up again"
        );
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
    async fn cache_stays_bounded() {
        let calls = Arc::new(AtomicUsize::new(0));
        let k = keys(calls, ManualClock::at_unix(0)).capacity(3);
        for i in 0..50 {
            let _ = k.resolve(&head(&format!("/t/x{i}"))).await;
        }
        assert!(k.cache.lock().unwrap().len() <= 3);
    }
}
