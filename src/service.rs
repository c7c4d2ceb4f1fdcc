//! [`Webhook`]: the tower service that verifies, deduplicates and forwards.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{Either, Full};
use tower_service::Service;
use tracing::{Instrument as _, Span};

use crate::body::{self, BodyError};
use crate::dedup::{Claim, DedupStore, Reservation};
use crate::future::{ResponseFuture, WebhookBody};
use crate::keys::{FetchError, KeyRequest};
use crate::layer::{KeySource, Settings};
use crate::rejection::{Rejection, boxed};
use crate::report::{self, Outcome};
use crate::reservation::Reserved;
use crate::resolver::Resolved;
use crate::scheme::{self, Acknowledgement, Dedup, Envelope, Scheme, Verdict};
use crate::verified::{Delivery, IdKind, digest_id};

/// Extra retention beyond the end of the replay window, for clock skew
/// between replicas and the sender.
const RETENTION_MARGIN: Duration = Duration::from_secs(60);

/// The most fetches one delivery may cause (see `verify_after_fetch`).
const MAX_FETCHES: usize = 2;

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
/// with the [`Delivery`] in its extensions, and runs inside the delivery's
/// `webhook` span.
pub struct Webhook<S, Inner> {
    shared: Arc<Shared<S>>,
    inner: Inner,
}

struct Shared<S> {
    keys: KeySource<S>,
    settings: Settings,
}

impl<S, Inner: Clone> Clone for Webhook<S, Inner> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
        }
    }
}

impl<S: Scheme, Inner: fmt::Debug> fmt::Debug for Webhook<S, Inner> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, Inner> Webhook<S, Inner> {
    pub(crate) fn new(keys: KeySource<S>, settings: Settings, inner: Inner) -> Self {
        Self {
            shared: Arc::new(Shared { keys, settings }),
            inner,
        }
    }
}

impl<S, Inner, ReqBody, ResBody> Service<Request<ReqBody>> for Webhook<S, Inner>
where
    S: Scheme,
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
        let span = report::span();
        ResponseFuture {
            inner: Box::pin(
                handle::<S, Inner, ReqBody, ResBody>(shared, inner, request, span.clone())
                    .instrument(span),
            ),
        }
    }
}

async fn handle<S, Inner, ReqBody, ResBody>(
    shared: Arc<Shared<S>>,
    mut inner: Inner,
    request: Request<ReqBody>,
    span: Span,
) -> Result<Response<WebhookBody<ResBody>>, Inner::Error>
where
    S: Scheme,
    Inner: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let (mut head, body) = request.into_parts();
    let mut name = "";
    let admitted = admit::<S, ReqBody>(&shared, &head, body, &mut name, &span).await;
    let finished = |outcome, status: Option<StatusCode>| {
        report::finished(
            &span,
            name,
            outcome,
            status.map(|s| s.as_u16()),
            started.elapsed(),
        );
    };
    let Admitted {
        delivery,
        retention,
        reservation,
        acknowledgement,
    } = match admitted {
        Ok(admitted) => admitted,
        Err(Stop::Answer(answer)) => {
            tracing::info!(
                status = answer.status().as_u16(),
                "answered the sender's endpoint handshake"
            );
            finished(Outcome::Handshake, Some(answer.status()));
            return Ok(boxed(answer).map(Either::Right));
        }
        Err(Stop::Reject(rejection, ack)) => {
            let outcome = Outcome::of(&rejection);
            let response = shared.reject(rejection, &head, ack.as_ref());
            finished(outcome, Some(response.status()));
            return Ok(response);
        }
    };
    let body = Full::new(delivery.raw.clone());
    head.extensions.insert(delivery);
    // A store whose commit can join the handler's transaction (PostgreSQL)
    // hands it the reservation; the flag says whether the handler committed.
    let in_tx = reservation
        .as_ref()
        .and_then(|r| r.hand_over(retention, &mut head.extensions));
    let request = Request::from_parts(head, body);

    // If the handler panics or this future is dropped, `reservation` is
    // dropped unsettled and its Drop releases the keys.
    let result = inner.call(request).await;
    let status = result.as_ref().ok().map(Response::status);
    let succeeded = status.is_some_and(|s| s.is_success());
    if let Some(mut r) = reservation {
        if succeeded && in_tx.is_some_and(|c| c.load(std::sync::atomic::Ordering::Acquire)) {
            // Committed in the handler's transaction: nothing left to do.
            r.settled_elsewhere();
        }
        r.settle(succeeded.then_some(retention)).await;
    }
    let outcome = if succeeded {
        Outcome::Handled
    } else {
        Outcome::HandlerFailed
    };
    finished(outcome, status);
    result.map(|response| match acknowledgement {
        // The sender's required acknowledgement replaces the handler's 2xx.
        Some(ack) if response.status().is_success() => boxed(ack.response()).map(Either::Right),
        _ => response.map(Either::Left),
    })
}

/// Why the layer answers by itself instead of calling the handler.
enum Stop {
    /// A refusal: logged, and answered through the rejection hook; for a
    /// duplicate, with the acknowledgement its sender requires, if any.
    Reject(Rejection, Option<Acknowledgement>),
    /// A sender's endpoint handshake, answered.
    Answer(Response<Bytes>),
}

impl<E: Into<Rejection>> From<E> for Stop {
    fn from(e: E) -> Self {
        Self::Reject(e.into(), None)
    }
}

/// A delivery let through: what the handler sees, how long to remember it,
/// and the dedup keys it holds.
struct Admitted {
    delivery: Delivery,
    retention: Duration,
    reservation: Option<Reserved>,
    /// What the sender requires as the answer once it is handled.
    acknowledgement: Option<Acknowledgement>,
}

/// The request flow up to the handler: every refusal is a `?`. `name` is
/// set to the scheme's name once it is known, and the span's fields as
/// they become known.
async fn admit<S, ReqBody>(
    shared: &Shared<S>,
    head: &http::request::Parts,
    body: ReqBody,
    name: &mut &'static str,
    span: &Span,
) -> Result<Admitted, Stop>
where
    S: Scheme,
    ReqBody: Body,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let settings = &shared.settings;
    if let KeySource::Static(s) = &shared.keys {
        *name = s.name();
        span.record("scheme", *name);
    }
    // A delivery already verified by an outer layer: two layers wrap this
    // route, and this one would refuse every delivery the outer one lets
    // through. Said once, loudly, instead of a silent 401.
    if head.extensions.get::<Delivery>().is_some() {
        return Err(Rejection::NestedLayers.into());
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
    if !matches!(shared.keys, KeySource::Static(_)) {
        *name = scheme.name();
        span.record("scheme", *name);
    }
    if let Some(t) = tenant {
        span.record("tenant", t);
    }
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
    let verdict = match scheme.verify(head, read, &bytes, &ctx) {
        // A key the scheme does not hold yet: fetched, then verified again.
        Err(scheme::VerifyError::KeyNeeded(request)) => {
            verify_after_fetch(scheme, head, &bytes, &ctx, request).await?
        }
        verdict => verdict?,
    };
    let envelope = match verdict {
        Verdict::Deliver(envelope) => envelope,
        // A signed handshake: answered, never handed to the handler.
        Verdict::Answer(answer) => return Err(Stop::Answer(answer)),
    };
    let retention = shared.retention(scheme, &envelope, &ctx);
    let sender_id = envelope.id.clone().map(|id| (id, envelope.id_signed));
    let delivery = Delivery::new(
        sender_id,
        envelope.timestamp,
        scheme.name(),
        tenant.map(str::to_owned),
        envelope.format,
        bytes,
        envelope.event.clone(),
    );
    span.record("event_id", delivery.id.as_str());
    // Only verified deliveries reach the store, under keys from signed data.
    let reservation = match &settings.store {
        Some(store) => {
            let prefix = shared.key_prefix(scheme, tenant, head);
            reserve(
                store,
                &prefix,
                &envelope,
                &delivery,
                settings.lease,
                retention,
            )
            .await
            .map_err(|r| Stop::Reject(r, envelope.acknowledgement.clone()))?
        }
        None => None,
    };
    Ok(Admitted {
        delivery,
        retention,
        reservation,
        acknowledgement: envelope.acknowledgement,
    })
}

/// A delivery naming a key the scheme does not hold yet (a key id, a
/// certificate URL): the scheme's fetcher fetches it into the cache the
/// scheme reads, then the head is read and the body verified again. At most
/// [`MAX_FETCHES`] fetches per delivery: a key, then a step the verified
/// message asks for (SNS's subscription confirmation). A key server that
/// cannot be reached gives 503 + `Retry-After`; a key it does not know is
/// refused by the next verification (401).
async fn verify_after_fetch<S: Scheme>(
    scheme: &S,
    head: &Parts,
    body: &[u8],
    ctx: &scheme::Context,
    mut request: KeyRequest,
) -> Result<Verdict, Rejection> {
    let Some(fetcher) = scheme.key_fetcher() else {
        return Err(scheme::VerifyError::KeyNeeded(request).into());
    };
    for _ in 0..MAX_FETCHES {
        fetcher
            .fetch(&request, ctx.now)
            .await
            .map_err(Rejection::KeyUnavailable)?;
        let read = scheme.read(head, ctx)?;
        match scheme.verify(head, read, body, ctx) {
            Err(scheme::VerifyError::KeyNeeded(next)) => request = next,
            verdict => return Ok(verdict?),
        }
    }
    Err(Rejection::KeyUnavailable(FetchError::Unavailable {
        reason: format!("still not verified after {MAX_FETCHES} fetches"),
    }))
}

/// Reserves every dedup key of a verified delivery; `None` when it has
/// none (dedup off). A key found done or in flight refuses the delivery.
async fn reserve(
    store: &Arc<dyn DedupStore>,
    prefix: &str,
    envelope: &Envelope,
    delivery: &Delivery,
    lease: Duration,
    retention: Duration,
) -> Result<Option<Reserved>, Rejection> {
    let keys = dedup_keys(envelope, delivery);
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
        let shown = || delivery.id.clone();
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
fn dedup_keys(envelope: &Envelope, delivery: &Delivery) -> Vec<String> {
    let signed_id = envelope.id.as_deref().filter(|_| envelope.id_signed);
    let unsigned_id = envelope.id.as_deref().filter(|_| !envelope.id_signed);
    let signed = || match (signed_id, delivery.id_kind) {
        (Some(id), _) => format!("id:{id}"),
        // The delivery's id is the body's digest already.
        (None, IdKind::Digest) => delivery.id.clone(),
        (None, _) => digest_id(&delivery.raw),
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

    /// The layer's own answer to `rejection`: logged, through the hook
    /// unless it is an acknowledgement the hook did not ask for, with the
    /// rejection in the response's extensions.
    fn reject<B>(
        &self,
        rejection: Rejection,
        head: &Parts,
        ack: Option<&Acknowledgement>,
    ) -> Response<WebhookBody<B>> {
        let s = &self.settings;
        report::rejected(&rejection, s.rejection_level);
        let hooked = s
            .on_rejection
            .as_ref()
            .filter(|_| s.hook_acknowledgements || !rejection.is_acknowledgement());
        let mut response = match (&rejection, ack, hooked) {
            // A copy already handled gets the acknowledgement its sender
            // requires, as the first did.
            (Rejection::Duplicate { .. }, Some(ack), _) => boxed(ack.response()),
            (_, _, Some(hook)) => hook.respond(&rejection, head),
            (_, _, None) => boxed(rejection.default_response()),
        }
        .map(Either::Right);
        response.extensions_mut().insert(rejection);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of `envelope`, for the body `{}`.
    fn keys(envelope: &Envelope, _: &[u8]) -> Vec<String> {
        let delivery = Delivery::new(
            envelope.id.clone().map(|id| (id, envelope.id_signed)),
            None,
            "test",
            None,
            scheme::Format::Json,
            Bytes::from_static(b"{}"),
            None,
        );
        dedup_keys(envelope, &delivery)
    }

    #[test]
    fn dedup_keys_come_from_signed_data_only() {
        let body = b"{}";
        let digest = digest_id(body);
        let signed = Envelope::signed_id("evt_1");
        assert_eq!(keys(&signed, body), ["id:evt_1"]);
        let unsigned = Envelope::unsigned_id(Some("d-1".into()));
        assert_eq!(keys(&unsigned, body), std::slice::from_ref(&digest));
        assert_eq!(
            keys(&unsigned.clone().with_dedup(Dedup::SignedOrId), body),
            [digest.clone(), "uid:d-1".to_owned()]
        );
        assert_eq!(
            keys(&signed.clone().with_dedup(Dedup::SignedOrId), body),
            ["id:evt_1"]
        );
        assert_eq!(
            keys(
                &unsigned.clone().with_dedup(Dedup::Value("tok".into())),
                body
            ),
            ["value:tok", "uid:d-1"]
        );
        assert!(keys(&signed.with_dedup(Dedup::Off), body).is_empty());
        assert_eq!(keys(&Envelope::default(), body), [digest]);
    }
}
