//! [`Webhook`]: the tower service that verifies, deduplicates and forwards.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::{Either, Full};
use sha2::{Digest, Sha256};
use tower_service::Service;

use crate::body::{self, BodyError};
use crate::dedup::{Claim, DedupStore, Reservation, Token};
use crate::future::{ResponseFuture, WebhookBody};
use crate::layer::{KeySource, Settings};
use crate::payload::Decode;
use crate::rejection::Rejection;
use crate::resolver::Resolved;
use crate::scheme::{self, Dedup, Envelope, Scheme, Verdict};
use crate::verified::{Delivery, Slot, Verified};

/// Extra retention beyond the end of the replay window, for clock skew
/// between replicas and the sender.
const RETENTION_MARGIN: Duration = Duration::from_secs(60);

/// The service [`WebhookLayer`](crate::WebhookLayer) wraps around a handler.
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
///
/// let svc = ServiceBuilder::new()
///     .layer(WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?))
///     .service_fn(|req: http::Request<http_body_util::Full<bytes::Bytes>>| async move {
///         Ok::<_, std::convert::Infallible>(http::Response::new(req.into_body()))
///     });
/// # let _ = svc;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The inner service receives `Request<Full<Bytes>>` (the buffered body)
/// with [`Verified<T>`](crate::Verified) and [`Delivery`] in its extensions.
pub struct Webhook<S, P, Inner> {
    shared: Arc<Shared<S>>,
    inner: Inner,
    _payload: PhantomData<fn() -> P>,
}

struct Shared<S> {
    keys: KeySource<S>,
    settings: Settings,
}

impl<S, P, Inner: Clone> Clone for Webhook<S, P, Inner> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
            _payload: PhantomData,
        }
    }
}

impl<S: Scheme, P, Inner: fmt::Debug> fmt::Debug for Webhook<S, P, Inner> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, P, Inner> Webhook<S, P, Inner> {
    pub(crate) fn new(keys: KeySource<S>, settings: Settings, inner: Inner) -> Self {
        Self {
            shared: Arc::new(Shared { keys, settings }),
            inner,
            _payload: PhantomData,
        }
    }
}

impl<S, P, Inner, ReqBody, ResBody> Service<Request<ReqBody>> for Webhook<S, P, Inner>
where
    S: Scheme,
    P: Decode,
    Inner: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Send + 'static,
{
    type Response = Response<WebhookBody<ResBody>>;
    type Error = Inner::Error;
    type Future = ResponseFuture<ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone takes the place of the service that was driven to
        // readiness, which handles this request.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        ResponseFuture {
            inner: Box::pin(handle::<S, P, Inner, ReqBody, ResBody>(
                shared, inner, request,
            )),
        }
    }
}

async fn handle<S, P, Inner, ReqBody, ResBody>(
    shared: Arc<Shared<S>>,
    mut inner: Inner,
    request: Request<ReqBody>,
) -> Result<Response<WebhookBody<ResBody>>, Inner::Error>
where
    S: Scheme,
    P: Decode,
    Inner: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut head, body) = request.into_parts();
    let mut name = "";
    let (bytes, envelope, retention, reservation, payload) =
        match admit::<S, P, ReqBody>(&shared, &head, body, &mut name).await {
            Ok(admitted) => admitted,
            Err(Stop::Answer(answer)) => return Ok(handshake(name, answer)),
            Err(Stop::Reject(r, envelope)) => {
                return Ok(shared.reject(name, r, envelope.as_ref()));
            }
        };
    let ack = envelope.acknowledgement.clone();
    let delivery = Delivery {
        id: envelope.id,
        id_signed: envelope.id_signed,
        timestamp: envelope.timestamp,
        scheme: name,
        raw: bytes.clone(),
    };
    head.extensions.insert(delivery.clone());
    head.extensions
        .insert(Slot::new(Verified(payload, delivery)));
    let request = Request::from_parts(head, Full::new(bytes));

    // If the handler panics or this future is dropped, `reservation` is
    // dropped unsettled and its Drop releases the keys.
    let result = inner.call(request).await;
    if let Some(r) = reservation {
        let succeeded = matches!(&result, Ok(response) if response.status().is_success());
        r.settle(succeeded.then_some(retention)).await;
    }
    result.map(|response| match ack {
        // The sender's required acknowledgement replaces the handler's 2xx.
        Some(ack) if response.status().is_success() => {
            ack.response().map(|b| Either::Right(Full::new(b)))
        }
        _ => response.map(Either::Left),
    })
}

/// Why the layer answers by itself instead of calling the handler.
enum Stop {
    /// A refusal: logged, and answered through the rejection hook.
    Reject(Rejection, Option<Envelope>),
    /// A sender's endpoint handshake, answered.
    Answer(Response<Bytes>),
}

impl<E: Into<Rejection>> From<E> for Stop {
    fn from(e: E) -> Self {
        Self::Reject(e.into(), None)
    }
}

/// A delivery let through: its verified body, envelope, retention,
/// reservation and decoded payload.
type Admitted<T> = (Bytes, Envelope, Duration, Option<Reserved>, T);

/// The request flow up to the handler: every refusal is a `?`. `name` is
/// set to the scheme's name once it is known.
async fn admit<S, P, ReqBody>(
    shared: &Shared<S>,
    head: &http::request::Parts,
    body: ReqBody,
    name: &mut &'static str,
) -> Result<Admitted<P::Output>, Stop>
where
    S: Scheme,
    P: Decode,
    ReqBody: Body,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let settings = &shared.settings;
    if let KeySource::Static(s) = &shared.keys {
        *name = s.name();
    }
    let limit = settings.max_body;
    let declared = body::content_length(&head.headers);
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    // Cheap refusals first: they need no key lookup. Handshakes are `GET`s.
    if head.method != Method::POST && head.method != Method::GET {
        return Err(Rejection::MethodNotAllowed(head.method.clone()).into());
    }
    if declared.is_some_and(|n| n > limit64) || body.size_hint().lower() > limit64 {
        return Err(Rejection::PayloadTooLarge { limit }.into());
    }
    let resolved: Resolved<S>;
    let (scheme, tenant): (&S, Option<&str>) = match &shared.keys {
        KeySource::Static(s) => (&**s, None),
        KeySource::Resolver(r) => {
            resolved = r.resolve(head).await?;
            (&*resolved.scheme, resolved.tenant.as_deref())
        }
    };
    *name = scheme.name();
    if let Some(answer) = scheme.challenge(head) {
        return Err(Stop::Answer(answer));
    }
    if head.method != Method::POST {
        return Err(Rejection::MethodNotAllowed(head.method.clone()).into());
    }
    // Refuse what the head alone condemns before reading a byte of the body
    // (a cheap filter: the verdict is given once the body is in).
    let early = scheme::Context::new(settings.clock.now(), settings.tolerance);
    let read = scheme.read(head, &early)?;
    // The body's share of the layer's budget: its declared length up front,
    // or chunk by chunk as it arrives. Given back when this request ends,
    // however it ends (the share is dropped with this future).
    let over_budget = || Rejection::OverBudget {
        limit: settings.budget.limit(),
    };
    let mut share = settings.budget.share();
    if !share.cover_exactly(declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0)) {
        return Err(over_budget().into());
    }
    // The deadline needs tokio's timer; outside a tokio runtime (a plain
    // executor, the fuzz targets) the body is read without one.
    let deadline = settings
        .body_timeout
        .filter(|_| tokio::runtime::Handle::try_current().is_ok());
    let collect = body::collect(body, limit, &mut share);
    let collected = match deadline {
        Some(timeout) => tokio::time::timeout(timeout, collect)
            .await
            .map_err(|_| Rejection::BodyTimeout { timeout })?,
        None => collect.await,
    };
    let bytes = collected.map_err(|e| match e {
        BodyError::TooLarge => Rejection::PayloadTooLarge { limit },
        BodyError::Stream(e) => Rejection::BodyRead(e),
        BodyError::OverBudget => over_budget(),
    })?;
    // The delivery is judged when the whole of it is in: a head that arrived
    // inside the window does not carry a body that arrives after it.
    let ctx = scheme::Context::new(settings.clock.now(), settings.tolerance);
    let envelope = match scheme.verify(head, read, &bytes, &ctx)? {
        Verdict::Deliver(envelope) => envelope,
        // A signed handshake: answered, never handed to the handler.
        Verdict::Answer(answer) => return Err(Stop::Answer(answer)),
    };
    // Only verified deliveries reach the store, under keys from signed data.
    let retention = shared.retention(scheme, &envelope, &ctx);
    let reservation = match &settings.store {
        Some(store) => {
            let prefix = shared.key_prefix(scheme, tenant, head);
            reserve(store, &prefix, &envelope, &bytes, settings.lease, retention).await
        }
        None => Ok(None),
    };
    let reservation = reservation.map_err(|r| Stop::Reject(r, Some(envelope.clone())))?;
    match P::decode(&bytes, envelope.format) {
        Ok(payload) => Ok((bytes, envelope, retention, reservation, payload)),
        Err(e) => {
            if let Some(r) = reservation {
                r.settle(None).await;
            }
            Err(Stop::Reject(e.into(), Some(envelope)))
        }
    }
}

/// Reserves every dedup key of a verified delivery; `None` when it has
/// none (dedup off). A key found done or in flight refuses the delivery.
async fn reserve(
    store: &Arc<dyn DedupStore>,
    prefix: &str,
    envelope: &Envelope,
    body: &[u8],
    lease: Duration,
    retention: Duration,
) -> Result<Option<Reserved>, Rejection> {
    let keys = dedup_keys(envelope, body);
    if keys.is_empty() {
        return Ok(None);
    }
    let mut held = Reserved::new(Arc::clone(store));
    for key in &keys {
        let full_key = format!("{prefix}{key}");
        let claim = Claim::new(lease, retention);
        // Registered before the store answers: if this request is dropped
        // meanwhile, the guard releases what the store may have reserved.
        held.push(full_key.clone(), claim.token);
        let shown = || envelope.id.clone().unwrap_or_else(|| key.clone());
        return Err(match store.reserve(&full_key, claim).await {
            Ok(Reservation::Fresh) => continue,
            Ok(Reservation::Done) => {
                held.forget(&full_key);
                // A later key seen before (a retry under a changed signed
                // body): this copy is remembered too.
                held.settle(Some(retention)).await;
                Rejection::Duplicate { id: shown() }
            }
            Ok(Reservation::InFlight { retry_after }) => {
                held.forget(&full_key);
                held.settle(None).await;
                Rejection::InFlight {
                    id: shown(),
                    retry_after,
                }
            }
            Err(e) => {
                held.settle(None).await;
                e.into()
            }
        });
    }
    Ok(Some(held))
}

/// What the store remembers a verified delivery by, each key from signed
/// data (see [`Dedup`]): `id:` a signed event id, `sha256:` the signed
/// body's digest, `value:` another signed value; `uid:` an unsigned id, only
/// ever beside one of those.
fn dedup_keys(envelope: &Envelope, body: &[u8]) -> Vec<String> {
    let signed_id = envelope.id.as_deref().filter(|_| envelope.id_signed);
    let unsigned_id = envelope.id.as_deref().filter(|_| !envelope.id_signed);
    let signed = || match signed_id {
        Some(id) => format!("id:{id}"),
        None => format!("sha256:{}", crate::scheme::hex(&Sha256::digest(body))),
    };
    let with_unsigned = |first: String| {
        let mut keys = vec![first];
        keys.extend(unsigned_id.map(|id| format!("uid:{id}")));
        keys
    };
    match &envelope.dedup {
        Dedup::Off => Vec::new(),
        Dedup::SignedOrId => with_unsigned(signed()),
        Dedup::Value(v) => with_unsigned(format!("value:{v}")),
        // `Dedup` is non-exhaustive; `Signed` is the default.
        _ => vec![signed()],
    }
}

impl<S: Scheme> Shared<S> {
    /// The part of every dedup key before the delivery's own:
    /// `{scheme}:{namespace}:`, then `t{len}:{tenant}:` with a tenant and
    /// `p{len}:{path}:` when the path is asked for. The namespace is
    /// `k{key id}` (a keyed fingerprint of the scheme's newest key) unless
    /// set, then `n{len}:{namespace}`. Lengths make the layout unambiguous.
    fn key_prefix(&self, scheme: &S, tenant: Option<&str>, head: &http::request::Parts) -> String {
        use std::fmt::Write as _;
        // Each variable part is length-prefixed, so no two (namespace,
        // tenant, path) triples give the same prefix. Writing into a
        // `String` cannot fail.
        let mut prefix = String::with_capacity(96);
        let _ = match &self.settings.namespace {
            Some(ns) => write!(prefix, "{}:n{}:{ns}:", scheme.name(), ns.len()),
            None => write!(prefix, "{}:k{}:", scheme.name(), scheme.key_id()),
        };
        if let Some(t) = tenant {
            let _ = write!(prefix, "t{}:{t}:", t.len());
        }
        if self.settings.namespace_per_path {
            let path = head.uri.path();
            let _ = write!(prefix, "p{}:{path}:", path.len());
        }
        prefix
    }

    /// How long a processed delivery must be remembered: until its
    /// timestamp leaves the window (plus a margin), or the configured
    /// retention when that is longer; for schemes without a signed
    /// timestamp, the configured (or untimed) retention.
    fn retention(&self, scheme: &S, envelope: &Envelope, ctx: &scheme::Context) -> Duration {
        let s = &self.settings;
        let window = match envelope.timestamp {
            Some(ts) if scheme.has_timestamp() => ts.checked_add(s.tolerance.past).map(|end| {
                end.duration_since(ctx.now).unwrap_or(Duration::ZERO) + RETENTION_MARGIN
            }),
            _ => None,
        };
        match (window, s.retention) {
            // Never below the replay window, whatever was configured.
            (Some(w), Some(r)) => w.max(r),
            (Some(w), None) => w,
            (None, Some(r)) => r,
            (None, None) => s.untimed_retention,
        }
    }

    fn reject<B>(
        &self,
        scheme: &'static str,
        rejection: Rejection,
        envelope: Option<&Envelope>,
    ) -> Response<WebhookBody<B>> {
        let id = envelope.and_then(|e| e.id.as_deref()).unwrap_or("");
        let status = rejection.status().as_u16();
        match &rejection {
            Rejection::Duplicate { .. } | Rejection::InFlight { .. } => {
                tracing::info!(scheme, event_id = id, status, reason = %rejection, "webhook delivery not forwarded");
            }
            Rejection::Store(_)
            | Rejection::Tenant(crate::resolver::ResolveError::Unavailable(_)) => {
                tracing::error!(scheme, event_id = id, status, reason = %rejection, "webhook delivery refused");
            }
            _ => {
                tracing::warn!(scheme, event_id = id, status, reason = %rejection, "webhook delivery rejected");
            }
        }
        let ack = envelope.and_then(|e| e.acknowledgement.as_ref());
        let response = match (&rejection, ack, &self.settings.on_rejection) {
            // A copy already handled gets the acknowledgement its sender
            // requires, as the first did.
            (Rejection::Duplicate { .. }, Some(ack), _) => ack.response(),
            (_, _, Some(f)) => f.respond(&rejection),
            (_, _, None) => rejection.default_response(),
        };
        let mut response = response.map(|b| Either::Right(Full::new(b)));
        response.extensions_mut().insert(rejection);
        response
    }
}

fn handshake<B>(scheme: &'static str, answer: Response<Bytes>) -> Response<WebhookBody<B>> {
    tracing::info!(
        scheme,
        status = answer.status().as_u16(),
        "answered the sender's endpoint handshake"
    );
    answer.map(|b| Either::Right(Full::new(b)))
}

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
struct Reserved {
    store: Arc<dyn DedupStore>,
    held: Vec<(String, Token)>,
    /// `Some(retention)` once a commit started.
    committing: Option<Duration>,
}

impl Reserved {
    fn new(store: Arc<dyn DedupStore>) -> Self {
        Self {
            store,
            held: Vec::with_capacity(2),
            committing: None,
        }
    }

    fn push(&mut self, key: String, token: Token) {
        self.held.push((key, token));
    }

    /// The store did not reserve `key` for us: nothing to settle.
    fn forget(&mut self, key: &str) {
        self.held.retain(|(k, _)| k != key);
    }

    /// Commits every key for `retention`, or releases them (`None`).
    async fn settle(mut self, commit: Option<Duration>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys_come_from_signed_data_only() {
        let body = b"{}";
        let digest = format!("sha256:{}", crate::scheme::hex(&Sha256::digest(body)));
        let signed = Envelope::signed_id("evt_1");
        assert_eq!(dedup_keys(&signed, body), ["id:evt_1"]);
        let unsigned = Envelope::unsigned_id(Some("d-1".into()));
        assert_eq!(dedup_keys(&unsigned, body), std::slice::from_ref(&digest));
        assert_eq!(
            dedup_keys(&unsigned.clone().with_dedup(Dedup::SignedOrId), body),
            [digest.clone(), "uid:d-1".to_owned()]
        );
        assert_eq!(
            dedup_keys(&signed.clone().with_dedup(Dedup::SignedOrId), body),
            ["id:evt_1"]
        );
        assert_eq!(
            dedup_keys(
                &unsigned.clone().with_dedup(Dedup::Value("tok".into())),
                body
            ),
            ["value:tok", "uid:d-1"]
        );
        assert!(dedup_keys(&signed.with_dedup(Dedup::Off), body).is_empty());
        assert_eq!(dedup_keys(&Envelope::default(), body), [digest]);
    }
}
