//! [`Webhook`]: the tower service that verifies, deduplicates and forwards.

use std::fmt;
use std::future::Future as _;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, header};
use http_body::Body;
use http_body_util::{Either, Full};
use sha2::{Digest, Sha256};
use tower_service::Service;

use crate::body::{self, BodyError};
use crate::dedup::{DedupStore, Reservation, Token};
use crate::future::{ResponseFuture, WebhookBody};
use crate::layer::{KeySource, Settings};
use crate::payload::Decode;
use crate::rejection::Rejection;
use crate::resolver::Resolved;
use crate::scheme::{self, Envelope, Scheme};
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
    let settings = &shared.settings;
    let (mut head, body) = request.into_parts();

    let limit = settings.max_body;
    let too_large = body::content_length(&head.headers).is_some_and(|n| n > limit as u64);
    let resolved: Resolved<S>;
    let (scheme, tenant): (&S, Option<&str>) = match &shared.keys {
        KeySource::Static(s) => (&**s, None),
        KeySource::Resolver(r) => {
            // Cheap refusals first: they need no key lookup.
            if head.method != Method::POST && head.method != Method::GET {
                return Ok(shared.reject(
                    "",
                    Rejection::MethodNotAllowed(head.method.clone()),
                    None,
                ));
            }
            if too_large {
                return Ok(shared.reject("", Rejection::PayloadTooLarge { limit }, None));
            }
            resolved = match r.resolve(&head).await {
                Ok(resolved) => resolved,
                Err(e) => return Ok(shared.reject("", e.into(), None)),
            };
            (&*resolved.scheme, resolved.tenant.as_deref())
        }
    };
    let name = scheme.name();

    if let Some(answer) = scheme.handshake(&head, None) {
        return Ok(handshake(name, answer));
    }
    if head.method != Method::POST {
        return Ok(shared.reject(name, Rejection::MethodNotAllowed(head.method.clone()), None));
    }
    if too_large {
        return Ok(shared.reject(name, Rejection::PayloadTooLarge { limit }, None));
    }
    let ctx = scheme::Context::new(settings.clock.now(), settings.tolerance);
    // Reject what the head alone condemns before reading a byte of the body.
    if let Err(e) = scheme.check_head(&head, &ctx) {
        return Ok(shared.reject(name, e.into(), None));
    }
    let bytes = match body::collect(body, limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return Ok(shared.reject(name, Rejection::PayloadTooLarge { limit }, None));
        }
        Err(BodyError::Stream(e)) => return Ok(shared.reject(name, Rejection::BodyRead(e), None)),
    };
    let envelope = match scheme.verify(&head, &bytes, &ctx) {
        Ok(env) => env,
        Err(e) => return Ok(shared.reject(name, e.into(), None)),
    };
    if let Some(answer) = scheme.handshake(&head, Some(&bytes)) {
        return Ok(handshake(name, answer));
    }

    // Only verified deliveries reach the store.
    let reservation = match &settings.store {
        None => None,
        Some(store) => {
            let digest;
            let dedup_id: &str = match &envelope.id {
                Some(id) => id,
                None => {
                    digest = body_digest(&bytes);
                    &digest
                }
            };
            let key = shared.key(name, tenant, &head, dedup_id);
            // Stores without I/O answer at once, with no future to box.
            let reserved = match store.reserve_ready(&key, settings.lease) {
                Some(r) => r,
                None => store.reserve(&key, settings.lease).await,
            };
            match reserved {
                Ok(Reservation::Fresh(token)) => Some(Reserved::new(Arc::clone(store), key, token)),
                Ok(Reservation::Done) => {
                    return Ok(shared.reject(
                        name,
                        Rejection::Duplicate {
                            id: dedup_id.to_owned(),
                        },
                        Some(&envelope),
                    ));
                }
                Ok(Reservation::InFlight { retry_after }) => {
                    return Ok(shared.reject(
                        name,
                        Rejection::InFlight {
                            id: dedup_id.to_owned(),
                            retry_after,
                        },
                        Some(&envelope),
                    ));
                }
                Err(e) => return Ok(shared.reject(name, e.into(), Some(&envelope))),
            }
        }
    };

    let payload = match P::decode(&bytes, head.headers.get(header::CONTENT_TYPE)) {
        Ok(p) => p,
        Err(e) => {
            if let Some(r) = reservation {
                r.release().await;
            }
            return Ok(shared.reject(name, e.into(), Some(&envelope)));
        }
    };

    let retention = shared.retention(scheme, &envelope, &ctx);
    let delivery = Delivery {
        id: envelope.id,
        timestamp: envelope.timestamp,
        scheme: name,
        raw: bytes.clone(),
    };
    head.extensions.insert(delivery.clone());
    head.extensions
        .insert(Slot::new(Verified(payload, delivery)));
    let request = Request::from_parts(head, Full::new(bytes));

    // If the handler panics or this future is dropped, `reservation` is
    // dropped unreleased and its Drop releases the id.
    let result = inner.call(request).await;
    if let Some(r) = reservation {
        let succeeded = matches!(&result, Ok(response) if response.status().is_success());
        if succeeded {
            r.commit(retention).await;
        } else {
            r.release().await;
        }
    }
    result.map(|response| response.map(Either::Left))
}

impl<S: Scheme> Shared<S> {
    /// The dedup key: scheme, endpoint and event id, length-prefixed so that
    /// no two (namespace, id) pairs give the same key.
    fn key(
        &self,
        scheme: &str,
        tenant: Option<&str>,
        head: &http::request::Parts,
        id: &str,
    ) -> String {
        let ns = match &self.settings.namespace {
            Some(ns) => &**ns,
            None => head.uri.path(),
        };
        dedup_key(scheme, tenant, ns, id)
    }

    /// How long a processed id must be remembered: until its timestamp
    /// leaves the window (plus a margin), or the configured retention.
    fn retention(&self, scheme: &S, envelope: &Envelope, ctx: &scheme::Context) -> Duration {
        if let Some(r) = self.settings.retention {
            return r;
        }
        match envelope.timestamp {
            Some(ts) if scheme.has_timestamp() => {
                match ts.checked_add(self.settings.tolerance.past) {
                    Some(window_end) => {
                        window_end.duration_since(ctx.now).unwrap_or(Duration::ZERO)
                            + RETENTION_MARGIN
                    }
                    // A tolerance past what time can hold: the window never
                    // ends, so keep the id as long as an untimed one.
                    None => self.settings.untimed_retention,
                }
            }
            _ => self.settings.untimed_retention,
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
        let response = match &self.settings.on_rejection {
            Some(f) => f.respond(&rejection),
            None => rejection.default_response(),
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

/// For schemes without an event id: the body's SHA-256 stands in for it.
/// `{scheme}:{ns.len()}:{ns}:{id}`, or with the tenant
/// `{scheme}:t{t.len()}:{t}:{ns.len()}:{ns}:{id}`.
///
/// Built by hand rather than with `format!`, whose machinery (`format_inner`
/// and its writes) took about 35-50 ns a request in the loopback load test's
/// profile.
fn dedup_key(scheme: &str, tenant: Option<&str>, ns: &str, id: &str) -> String {
    let mut key = String::with_capacity(
        scheme.len() + tenant.map_or(0, |t| t.len() + 8) + ns.len() + id.len() + 8,
    );
    key.push_str(scheme);
    key.push(':');
    if let Some(t) = tenant {
        key.push('t');
        push_decimal(&mut key, t.len());
        key.push(':');
        key.push_str(t);
        key.push(':');
    }
    push_decimal(&mut key, ns.len());
    key.push(':');
    key.push_str(ns);
    key.push(':');
    key.push_str(id);
    key
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

fn body_digest(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.iter() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// A reservation the handler's outcome has not settled yet.
///
/// Settled explicitly with [`commit`](Self::commit) or
/// [`release`](Self::release); dropped unsettled (handler panicked, future
/// dropped), it releases in the background.
struct Reserved {
    store: Arc<dyn DedupStore>,
    key: String,
    token: Option<Token>,
}

impl Reserved {
    fn new(store: Arc<dyn DedupStore>, key: String, token: Token) -> Self {
        Self {
            store,
            key,
            token: Some(token),
        }
    }

    async fn commit(mut self, retention: Duration) {
        let Some(token) = self.token.take() else {
            return;
        };
        let committed = match self.store.commit_ready(&self.key, token, retention) {
            Some(r) => r,
            None => self.store.commit(&self.key, token, retention).await,
        };
        match committed {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                key = %self.key,
                "webhook handled, but its reservation had expired and was taken over (lease too short for the handler?)"
            ),
            Err(e) => tracing::error!(
                key = %self.key,
                error = %e,
                "webhook handled, but the dedup store did not record it; a redelivery would be processed again"
            ),
        }
    }

    async fn release(mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let released = match self.store.release_ready(&self.key, token) {
            Some(r) => r,
            None => self.store.release(&self.key, token).await,
        };
        if let Err(e) = released {
            tracing::error!(key = %self.key, error = %e, "could not release a webhook reservation; it ends with its lease");
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        let store = Arc::clone(&self.store);
        let key = std::mem::take(&mut self.key);
        tracing::warn!(key = %key, "webhook handler did not finish (panic or cancelled); releasing its reservation");
        let mut release = Box::pin(async move {
            if let Err(e) = store.release(&key, token).await {
                tracing::error!(key = %key, error = %e, "could not release a webhook reservation; it ends with its lease");
            }
        });
        // Stores that answer at once (the memory store) are done here;
        // others finish on the runtime.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if release.as_mut().poll(&mut cx).is_pending() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(release);
                }
                Err(_) => tracing::error!(
                    "no tokio runtime to release a webhook reservation on; it ends with its lease"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys_are_the_documented_layout() {
        for (scheme, tenant, ns, id) in [
            ("standard", None, "/webhook", "msg_1"),
            ("stripe", Some("acme"), "/hooks/billing", "evt_1"),
            ("github", Some(""), "", ""),
            ("x", Some("t:1"), &"n".repeat(1234)[..], "a:b"),
        ] {
            let want = match tenant {
                None => format!("{scheme}:{}:{ns}:{id}", ns.len()),
                Some(t) => format!("{scheme}:t{}:{t}:{}:{ns}:{id}", t.len(), ns.len()),
            };
            assert_eq!(dedup_key(scheme, tenant, ns, id), want);
        }
        for n in [0usize, 9, 10, 99, 100, 12_345, usize::MAX] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
