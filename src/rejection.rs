//! Why the layer answered instead of the handler, and how it answers.
//!
//! Every response the layer produces itself carries the [`Rejection`] in its
//! extensions (like tower-http's csrf layer attaches its error), so tests and
//! outer middleware can see exactly why. The default bodies say little, to
//! give an attacker no oracle; the `tracing` event logged for each rejection
//! says everything except secrets and signatures. Replace the response with
//! [`WebhookLayer::on_rejection`](crate::WebhookLayer::on_rejection).
//!
//! | rejection | status |
//! |---|---|
//! | [`MethodNotAllowed`](Rejection::MethodNotAllowed) | 405 + `Allow: POST` |
//! | [`PayloadTooLarge`](Rejection::PayloadTooLarge) | 413 |
//! | [`BodyRead`](Rejection::BodyRead) | 400 |
//! | [`BodyTimeout`](Rejection::BodyTimeout) | 408 |
//! | [`Unverified`](Rejection::Unverified) | 401 |
//! | [`Duplicate`](Rejection::Duplicate) | 200 |
//! | [`InFlight`](Rejection::InFlight) | 409 + `Retry-After` |
//! | [`Store`](Rejection::Store) | 503 + `Retry-After` |
//! | [`OverBudget`](Rejection::OverBudget) | 503 + `Retry-After` |
//! | [`Tenant`](Rejection::Tenant) | 401 (no tenant, unknown tenant, [tenant name too long](ResolveError::TenantTooLong)), or 503 + `Retry-After` when the key lookup fails |
//! | [`KeyUnavailable`](Rejection::KeyUnavailable) | 503 + `Retry-After` when the key server cannot be reached (or the fetch rate limit is spent), 401 for a key URL outside the policy |
//! | [`NestedLayers`](Rejection::NestedLayers) | 500 |
//!
//! A duplicate (200) is an acknowledgement, not an error: it does not reach
//! the [`on_rejection`](crate::WebhookLayer::on_rejection) hook unless
//! [`hook_acknowledgements`](crate::WebhookLayer::hook_acknowledgements)
//! asks for it. Endpoint handshakes never do (they are no rejection).
//!
//! ```
//! use http::StatusCode;
//! use tower_webhook::Rejection;
//! let r = Rejection::PayloadTooLarge { limit: 1024 };
//! assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
//! assert_eq!(r.default_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
//! ```

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};

use crate::dedup::StoreError;
use crate::future::{BoxBody, BoxError};
use crate::keys::FetchError;
use crate::resolver::ResolveError;
use crate::scheme::VerifyError;

/// How long a sender is asked to wait when the dedup store is down.
pub(crate) const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A response the layer gave instead of calling the handler.
///
/// ```
/// use tower_webhook::{scheme::VerifyError, Rejection};
/// let r = Rejection::from(VerifyError::MissingHeader { header: "webhook-signature" });
/// assert_eq!(r.status(), 401);
/// assert_eq!(r.to_string(), "delivery not verified: missing `webhook-signature` header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Deliveries are POSTed; this request used another method.
    #[error("method {0} not allowed: webhook deliveries are POSTed")]
    MethodNotAllowed(Method),
    /// The body is larger than the configured limit.
    #[error("body larger than the {limit}-byte limit (WebhookLayer::max_body)")]
    PayloadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The bytes all requests in flight may buffer are spent: refused at
    /// once, the sender retries.
    #[error(
        "the {limit}-byte budget for bodies in flight is spent (WebhookLayer::max_buffered); refusing so the sender retries"
    )]
    OverBudget {
        /// The configured budget.
        limit: usize,
    },
    /// The body could not be read (client went away, broken framing).
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The body did not arrive whole within the body timeout.
    #[error(
        "the body did not arrive within {timeout:?} (WebhookLayer::body_timeout); cutting off a slow sender"
    )]
    BodyTimeout {
        /// The configured timeout.
        timeout: Duration,
    },
    /// Signature, timestamp or a required header failed.
    #[error("delivery not verified: {0}")]
    Unverified(#[from] VerifyError),
    /// The event was already processed; the handler is not called again.
    #[error("event {id:?} was already processed; answering 200 without calling the handler")]
    Duplicate {
        /// The event id (or body hash, for schemes without ids).
        id: String,
    },
    /// Another request is processing the same event right now.
    #[error("event {id:?} is being processed by another request; retry after {retry_after:?}")]
    InFlight {
        /// The event id.
        id: String,
        /// When the other request's lease ends at the latest.
        retry_after: Duration,
    },
    /// The dedup store could not answer; failing closed.
    #[error("{0}; failing closed so the sender retries")]
    Store(#[from] StoreError),
    /// No keys could be found for the request's tenant (401), or the
    /// lookup failed (503).
    #[error("{0}")]
    Tenant(#[from] ResolveError),
    /// A second `WebhookLayer` wraps a route another one already wraps (a
    /// `route_layer` call applied to routes added before it): a wiring bug,
    /// refused with 500 before anything is read. Give each route its own
    /// layer with [`endpoint`](crate::endpoint).
    #[error(
        "two WebhookLayers wrap this route (`route_layer` applies to every route added before it): give each route its own layer with `tower_webhook::endpoint(layer, handler)`"
    )]
    NestedLayers,
    /// The key the delivery names could not be fetched: the key server is
    /// unreachable or timed out, or the fetch rate limit is spent (503 +
    /// `Retry-After`: the sender retries, nothing is lost); or its URL is
    /// outside the sender's policy (401).
    ///
    /// ```
    /// use tower_webhook::{keys::FetchError, Rejection};
    /// let r = Rejection::KeyUnavailable(FetchError::Unavailable { reason: "timeout".into() });
    /// assert_eq!(r.status(), 503);
    /// ```
    #[error("{0}")]
    KeyUnavailable(FetchError),
}

impl Rejection {
    /// Whether the layer could not serve the delivery right now (the store,
    /// the key lookup, the key server or the buffering budget): 503 +
    /// `Retry-After`, and the sender retries. The one place that says so.
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            Self::Store(_) | Self::OverBudget { .. } => true,
            Self::Tenant(e) => matches!(e, ResolveError::Unavailable(_)),
            Self::KeyUnavailable(e) => e.is_unavailable(),
            _ => false,
        }
    }

    /// The status code of the default response.
    pub fn status(&self) -> StatusCode {
        if self.is_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::NestedLayers => StatusCode::INTERNAL_SERVER_ERROR,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Unverified(_) => StatusCode::UNAUTHORIZED,
            Self::Duplicate { .. } => StatusCode::OK,
            Self::InFlight { .. } => StatusCode::CONFLICT,
            Self::Store(_) | Self::OverBudget { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Tenant(_) | Self::KeyUnavailable(_) => StatusCode::UNAUTHORIZED,
        }
    }

    /// When the sender should retry, for 409 and 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::InFlight { retry_after, .. } => Some(*retry_after),
            _ if self.is_unavailable() => Some(STORE_RETRY_AFTER),
            _ => None,
        }
    }

    /// A short message that is safe to send to anyone: it reveals nothing
    /// about why a signature failed, names no header and quotes no input.
    /// The [`Display`](std::fmt::Display) text says everything, for logs.
    ///
    /// ```
    /// use tower_webhook::{scheme::VerifyError, Rejection};
    /// let r = Rejection::from(VerifyError::MissingHeader { header: "stripe-signature" });
    /// assert_eq!(r.message(), "unauthorized");
    /// ```
    pub fn message(&self) -> &'static str {
        if self.is_unavailable() {
            return "temporarily unavailable, retry later";
        }
        match self {
            Self::MethodNotAllowed(_) => "method not allowed",
            Self::PayloadTooLarge { .. } => "payload too large",
            Self::BodyRead(_) => "bad request",
            Self::BodyTimeout { .. } => "request timeout",
            Self::Unverified(_) => "unauthorized",
            Self::Duplicate { .. } => "already processed",
            Self::InFlight { .. } => "in progress, retry later",
            Self::Store(_) | Self::OverBudget { .. } => "temporarily unavailable, retry later",
            Self::Tenant(_) | Self::KeyUnavailable(_) => "unauthorized",
            Self::NestedLayers => "webhook endpoint misconfigured",
        }
    }

    /// Whether this answer acknowledges the delivery (a duplicate: 200)
    /// rather than refusing it.
    ///
    /// ```
    /// use tower_webhook::Rejection;
    /// assert!(Rejection::Duplicate { id: "evt_1".into() }.is_acknowledgement());
    /// assert!(!Rejection::NestedLayers.is_acknowledgement());
    /// ```
    pub fn is_acknowledgement(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }

    /// The default response: the status, `Retry-After` or `Allow` where
    /// relevant, and the [`message`](Self::message) as plain text.
    pub fn default_response(&self) -> Response<Bytes> {
        let body = format!("{}\n", self.message());
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Self::MethodNotAllowed(_) = self {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if let Some(after) = self.retry_after() {
            // Whole seconds, rounded up, at least 1.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// What the [`on_rejection`](crate::WebhookLayer::on_rejection) hook may
/// return: with feature `axum`, anything that implements axum's
/// `IntoResponse` (`(StatusCode, Json(...))`, a `Response`, ...); without
/// it, an `http::Response` whose body yields [`Bytes`].
///
#[cfg_attr(feature = "axum", doc = "```")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// use axum::{http::StatusCode, Json};
/// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
///
/// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
///     .on_rejection(|r, _head| (r.status(), Json(serde_json::json!({ "error": r.message() }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RejectionResponse {
    /// The response, its body boxed.
    fn into_webhook_response(self) -> Response<BoxBody>;
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<R: axum::response::IntoResponse> RejectionResponse for R {
    fn into_webhook_response(self) -> Response<BoxBody> {
        use http_body_util::BodyExt as _;
        self.into_response()
            .map(|body| body.map_err(BoxError::from).boxed_unsync())
    }
}

#[cfg(not(feature = "axum"))]
#[cfg_attr(docsrs, doc(cfg(not(feature = "axum"))))]
impl<B> RejectionResponse for Response<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn into_webhook_response(self) -> Response<BoxBody> {
        use http_body_util::BodyExt as _;
        self.map(|body| body.map_err(Into::into).boxed_unsync())
    }
}

/// A rejection's default response, its body boxed.
pub(crate) fn boxed(response: Response<Bytes>) -> Response<BoxBody> {
    use http_body_util::BodyExt as _;
    response.map(|b| {
        http_body_util::Full::new(b)
            .map_err(|never| match never {})
            .boxed_unsync()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_headers() {
        let r = Rejection::MethodNotAllowed(Method::GET).default_response();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
        let r = Rejection::InFlight {
            id: "a".into(),
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(r.default_response().status(), 409);
        assert_eq!(r.default_response().headers()["retry-after"], "2");
        let r = Rejection::InFlight {
            id: "a".into(),
            retry_after: Duration::ZERO,
        };
        assert_eq!(r.default_response().headers()["retry-after"], "1");
        let r = Rejection::Store(StoreError::Timeout(Duration::from_millis(50)));
        assert_eq!(r.default_response().status(), 503);
        assert_eq!(r.default_response().headers()["retry-after"], "5");
        let r = Rejection::Duplicate { id: "a".into() }.default_response();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("retry-after").is_none());
    }

    #[test]
    fn tenant_refusals_are_401_except_a_failed_lookup() {
        for e in [
            ResolveError::NoTenant,
            ResolveError::UnknownTenant("x".into()),
            ResolveError::TenantTooLong { len: 200, max: 128 },
        ] {
            let r = Rejection::Tenant(e);
            assert_eq!(r.status(), 401);
            assert_eq!(r.retry_after(), None);
            assert_eq!(
                r.default_response().body(),
                &Bytes::from_static(b"unauthorized\n")
            );
        }
        let r = Rejection::Tenant(ResolveError::Unavailable("down".into()));
        assert_eq!(r.status(), 503);
        assert_eq!(r.retry_after(), Some(STORE_RETRY_AFTER));
    }

    #[test]
    fn unauthorized_body_reveals_nothing() {
        let r = Rejection::Unverified(VerifyError::NoMatch {
            header: "webhook-signature",
            candidates: 1,
            keys: 1,
        });
        assert_eq!(
            r.default_response().body(),
            &Bytes::from_static(b"unauthorized\n")
        );
        assert!(r.to_string().contains("webhook-signature"));
    }
}
