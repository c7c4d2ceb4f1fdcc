//! [`WebhookLayer`]: the builder users see.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Response;
use http::request::Parts;
use tower_layer::Layer;
use tracing::Level;

use crate::budget::Budget;
use crate::clock::{Clock, SystemClock};
use crate::dedup::{DedupStore, MemoryStore};
use crate::future::BoxBody;
use crate::rejection::{Rejection, RejectionResponse};
use crate::resolver::Resolver;
use crate::scheme::{Scheme, Tolerance};
use crate::service::Webhook;

/// Default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Default lease of an in-flight reservation: 60 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Default retention of processed ids for schemes without a signed timestamp: 3 days.
pub const DEFAULT_UNTIMED_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);
/// Default budget for the bytes all requests in flight may buffer at once:
/// 64 MiB (raised to the body limit when that is larger).
pub const DEFAULT_MAX_BUFFERED: usize = 64 * 1024 * 1024;
/// Default time a request may take to deliver its whole body: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A custom rejection response. A trait of its own rather than `dyn Fn(&Rejection)`:
/// a higher-ranked closure type inside the service trips rustc's `Send`
/// inference for futures that hold it (rust-lang/rust#102211).
pub(crate) trait OnRejection: Send + Sync + 'static {
    fn respond(&self, rejection: &Rejection, head: &Parts) -> Response<BoxBody>;
}

impl<F, R> OnRejection for F
where
    F: Fn(&Rejection, &Parts) -> R + Send + Sync + 'static,
    R: RejectionResponse,
{
    fn respond(&self, rejection: &Rejection, head: &Parts) -> Response<BoxBody> {
        self(rejection, head).into_webhook_response()
    }
}

pub(crate) type RejectionHandler = Arc<dyn OnRejection>;

#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) max_body: usize,
    pub(crate) max_buffered: usize,
    /// Shared by every clone of the layer and every service it makes.
    pub(crate) budget: Arc<Budget>,
    pub(crate) tolerance: Tolerance,
    pub(crate) store: Option<Arc<dyn DedupStore>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) lease: Duration,
    pub(crate) retention: Option<Duration>,
    pub(crate) untimed_retention: Duration,
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) namespace_per_path: bool,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) on_rejection: Option<RejectionHandler>,
    /// Whether acknowledgements (duplicates) go through `on_rejection` too.
    pub(crate) hook_acknowledgements: bool,
    /// The level refusals are logged at (store failures are errors,
    /// acknowledgements info).
    pub(crate) rejection_level: Level,
}

/// A tower [`Layer`] that verifies webhook deliveries before the handler
/// sees them. See the [crate documentation](crate) for the request flow.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
///
/// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
///     .max_body(256 * 1024)
///     .tolerance(Duration::from_secs(300));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WebhookLayer<S> {
    pub(crate) keys: KeySource<S>,
    pub(crate) settings: Settings,
    /// The default memory store, built when the first service is made (with
    /// the clock set by then) and shared by every clone of the layer and
    /// every service it makes; `None` once `dedup` or `without_dedup` chose.
    /// Built lazily: a layer whose store is replaced never allocates one
    /// (the default store sizes its maps up front, about 130 µs).
    default_store: Option<Arc<OnceLock<Arc<dyn DedupStore>>>>,
}

/// Where the scheme (and its keys) for a request comes from.
pub(crate) enum KeySource<S> {
    /// One scheme for every request.
    Static(Arc<S>),
    /// Looked up per request (per tenant).
    Resolver(Arc<dyn Resolver<S>>),
}

impl<S> Clone for KeySource<S> {
    fn clone(&self) -> Self {
        match self {
            Self::Static(s) => Self::Static(Arc::clone(s)),
            Self::Resolver(r) => Self::Resolver(Arc::clone(r)),
        }
    }
}

impl<S> Clone for WebhookLayer<S> {
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
            settings: self.settings.clone(),
            default_store: self.default_store.clone(),
        }
    }
}

impl<S: Scheme> fmt::Debug for WebhookLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookLayer")
            .field(
                "scheme",
                &match &self.keys {
                    KeySource::Static(s) => s.name(),
                    KeySource::Resolver(_) => "<per request>",
                },
            )
            .field("max_body", &self.settings.max_body)
            .field("max_buffered", &self.settings.budget.limit())
            .field("tolerance", &self.settings.tolerance)
            .field(
                "dedup",
                &(self.settings.store.is_some() || self.default_store.is_some()),
            )
            .field("lease", &self.settings.lease)
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> WebhookLayer<S> {
    /// A layer for `scheme` with the defaults: 1 MiB body limit, five minutes
    /// of tolerance each way, an in-memory dedup store.
    pub fn new(scheme: S) -> Self {
        Self::from_keys(KeySource::Static(Arc::new(scheme)))
    }

    /// A layer that finds the scheme for each request with `resolver` (for
    /// instance per tenant, with [`TenantKeys`](crate::resolver::TenantKeys)).
    /// Same defaults as [`new`](Self::new); the tenant becomes part of the
    /// dedup key. Resolution fails with 401 for unknown tenants and 503 when
    /// the lookup fails.
    pub fn with_resolver(resolver: impl Resolver<S>) -> Self {
        Self::from_keys(KeySource::Resolver(Arc::new(resolver)))
    }

    fn from_keys(keys: KeySource<S>) -> Self {
        Self {
            keys,
            settings: Settings {
                max_body: DEFAULT_MAX_BODY,
                max_buffered: DEFAULT_MAX_BUFFERED,
                budget: Arc::new(Budget::new(DEFAULT_MAX_BUFFERED)),
                tolerance: Tolerance::default(),
                store: None,
                clock: Arc::new(SystemClock),
                lease: DEFAULT_LEASE,
                retention: None,
                untimed_retention: DEFAULT_UNTIMED_RETENTION,
                namespace: None,
                namespace_per_path: false,
                body_timeout: Some(DEFAULT_BODY_TIMEOUT),
                on_rejection: None,
                hook_acknowledgements: false,
                rejection_level: Level::WARN,
            },
            default_store: Some(Arc::default()),
        }
    }
}

impl<S: Scheme> WebhookLayer<S> {
    /// The scheme, for a layer with one static scheme (for instance to build
    /// a [`Signer`](crate::sign::Signer) in tests); `None` with a resolver.
    pub fn scheme(&self) -> Option<&S> {
        match &self.keys {
            KeySource::Static(s) => Some(s),
            KeySource::Resolver(_) => None,
        }
    }

    /// Largest body accepted, in bytes (default 1 MiB). Larger ones get 413,
    /// by `Content-Length` before reading or while reading.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self.new_budget()
    }

    /// The most bytes all requests in flight through this layer may buffer
    /// at once (default 64 MiB, and never less than [`max_body`](Self::max_body)),
    /// shared by the layer's clones and every service it makes. A request
    /// takes its share before it reads (its `Content-Length`, or 64 KiB at a
    /// time for a body of unknown length) and gives it back when it ends,
    /// however it ends; one the budget cannot hold gets 503 +
    /// `Retry-After` at once, and the sender retries. With the body timeout,
    /// it bounds what unauthenticated clients can make the receiver hold:
    /// this many bytes, each for at most the body timeout plus the
    /// handler's run.
    ///
    /// ```
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .max_body(256 * 1024)
    ///     .max_buffered(16 * 1024 * 1024);
    /// assert_eq!(layer.buffered(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_buffered(mut self, bytes: usize) -> Self {
        self.settings.max_buffered = bytes;
        self.new_budget()
    }

    /// Bytes buffered right now by requests in flight through this layer
    /// and its clones (for metrics and tests).
    pub fn buffered(&self) -> usize {
        self.settings.budget.in_use()
    }

    fn new_budget(mut self) -> Self {
        let s = &mut self.settings;
        s.budget = Arc::new(Budget::new(s.max_buffered.max(s.max_body)));
        self
    }

    /// Accepted timestamp distance, both past and future (default 5 min).
    pub fn tolerance(mut self, d: Duration) -> Self {
        self.settings.tolerance = Tolerance::symmetric(d);
        self
    }

    /// How old a timestamp may be.
    pub fn tolerance_past(mut self, d: Duration) -> Self {
        self.settings.tolerance.past = d;
        self
    }

    /// How far in the future a timestamp may be (sender clock skew).
    pub fn tolerance_future(mut self, d: Duration) -> Self {
        self.settings.tolerance.future = d;
        self
    }

    /// The dedup store (default: a [`MemoryStore`] of its default capacity,
    /// built when the layer makes its first service and shared by every
    /// service the layer and its clones make).
    pub fn dedup(mut self, store: impl DedupStore) -> Self {
        self.settings.store = Some(Arc::new(store));
        self.default_store = None;
        self
    }

    /// Turns deduplication off: every verified delivery reaches the handler,
    /// duplicates and replays within the tolerance included.
    pub fn without_dedup(mut self) -> Self {
        self.settings.store = None;
        self.default_store = None;
        self
    }

    /// The clock timestamps are checked against (default: the system clock).
    ///
    /// The default memory store follows it too; a store passed to
    /// [`dedup`](Self::dedup) keeps its own clock.
    ///
    /// ```
    /// use tower_webhook::{clock::ManualClock, scheme::StandardWebhooks, WebhookLayer};
    /// let clock = ManualClock::at_unix(1_700_000_000);
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .clock(clock.clone());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        if self.default_store.is_some() {
            // A store of its own, not shared with copies made before, which
            // keep the clock they had.
            self.default_store = Some(Arc::default());
        }
        self.settings.clock = Arc::new(clock);
        self
    }

    /// How long an in-flight reservation lasts if its process dies (default
    /// 60 s). Set it above your handler's longest run time.
    pub fn lease(mut self, d: Duration) -> Self {
        self.settings.lease = d;
        self
    }

    /// How long processed ids are remembered. By default: until the
    /// delivery's timestamp leaves the tolerance (plus a minute), or 3 days
    /// for schemes without a signed timestamp. For schemes with a signed
    /// timestamp it is never less than that window: a shorter setting is
    /// raised to it, since a delivery forgotten inside its window could be
    /// replayed.
    pub fn retention(mut self, d: Duration) -> Self {
        self.settings.retention = Some(d);
        self
    }

    /// How long processed ids are remembered for schemes without a signed
    /// timestamp (default 3 days).
    pub fn untimed_retention(mut self, d: Duration) -> Self {
        self.settings.untimed_retention = d;
        self
    }

    /// Names this endpoint in dedup keys, instead of the default: a keyed,
    /// one-way fingerprint of the scheme's newest key
    /// ([`Scheme::key_id`](crate::scheme::Scheme::key_id)), on which replicas
    /// sharing a configuration agree and apps with different secrets never
    /// collide. Set it to keep dedup history across a key rotation (the
    /// fingerprint changes with the newest key), or to share it between
    /// endpoints on purpose. The request path is not part of the key (it is
    /// not signed: one delivery posted to `/hook`, `/hook/` and `//hook`
    /// is one delivery) unless [`namespace_per_path`](Self::namespace_per_path)
    /// asks for it.
    ///
    /// ```
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .namespace("billing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.settings.namespace = Some(Arc::from(ns.into()));
        self
    }

    /// Adds the request path to dedup keys, so that one delivery posted to
    /// two paths is handled once per path. The path is not signed: use it
    /// only where distinct paths really are distinct endpoints with the same
    /// keys.
    ///
    /// ```
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .namespace_per_path();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn namespace_per_path(mut self) -> Self {
        self.settings.namespace_per_path = true;
        self
    }

    /// The longest a request may take to deliver its whole body once the
    /// layer starts reading it (default 30 s); a slower one gets 408. This
    /// is a deadline for the whole body, not an idle timeout between chunks
    /// (tower-http's `RequestBodyTimeout` is the latter, and does not stop
    /// a sender that trickles a byte at a time). `None` turns it off. It
    /// needs tokio's timer (a runtime built with `enable_time`, as
    /// `#[tokio::main]` does); outside a tokio runtime the body is read
    /// without a deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .body_timeout(Some(Duration::from_secs(10)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_timeout(mut self, d: Option<Duration>) -> Self {
        self.settings.body_timeout = d;
        self
    }

    /// Replaces the layer's own refusals with what `hook` returns for the
    /// [`Rejection`] and the request head: with feature `axum`, anything
    /// that implements `IntoResponse`. The rejection is still logged, and
    /// put into the response's extensions. Acknowledgements (a duplicate's
    /// 200) keep their default answer unless
    /// [`hook_acknowledgements`](Self::hook_acknowledgements) is set;
    /// endpoint handshakes never go through the hook.
    ///
    #[cfg_attr(feature = "axum", doc = "```")]
    #[cfg_attr(not(feature = "axum"), doc = "```ignore")]
    /// use axum::Json;
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    ///
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .on_rejection(|r, head| {
    ///         let body = serde_json::json!({ "error": r.message(), "path": head.uri.path() });
    ///         (r.status(), Json(body))
    ///     });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_rejection<F, R>(mut self, hook: F) -> Self
    where
        F: Fn(&Rejection, &Parts) -> R + Send + Sync + 'static,
        R: RejectionResponse,
    {
        self.settings.on_rejection = Some(Arc::new(hook));
        self
    }

    /// Sends acknowledgements (a duplicate's 200) through the
    /// [`on_rejection`](Self::on_rejection) hook too (default: they keep
    /// their default answer). The hook must then answer 2xx for them, or
    /// the sender retries a delivery that was already processed.
    ///
    /// ```
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .hook_acknowledgements(true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hook_acknowledgements(mut self, yes: bool) -> Self {
        self.settings.hook_acknowledgements = yes;
        self
    }

    /// The `tracing` level refusals (401, 405, 413, ...) are logged at
    /// (default `WARN`). A store or key lookup that fails (503) is always
    /// an `ERROR`; acknowledgements and handshakes are `INFO`.
    ///
    /// ```
    /// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
    /// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .rejection_log_level(tracing::Level::INFO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rejection_log_level(mut self, level: Level) -> Self {
        self.settings.rejection_level = level;
        self
    }
}

impl<S: Scheme, Inner> Layer<Inner> for WebhookLayer<S> {
    type Service = Webhook<S, Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        let mut settings = self.settings.clone();
        if let Some(cell) = &self.default_store {
            let store = cell.get_or_init(|| {
                Arc::new(
                    MemoryStore::builder()
                        .clock(Arc::clone(&settings.clock))
                        .build(),
                )
            });
            settings.store = Some(Arc::clone(store));
        }
        Webhook::new(self.keys.clone(), settings, inner)
    }
}
