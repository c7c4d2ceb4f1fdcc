//! [`Signer`]: produces deliveries exactly as a sender would sign them.
//!
//! For tests (yours and ours), examples, and for checking an endpoint end to
//! end. Every scheme that can sign implements `scheme::Sign`; the signer
//! fills in an event id and a timestamp when you do not.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_webhook::{scheme::StandardWebhooks, sign::Signer};
//!
//! let scheme = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let request = Signer::new(&scheme)
//!     .id("msg_p5jXN8AQM9LWM0D4loKWxJek")
//!     .timestamp(UNIX_EPOCH + Duration::from_secs(1_614_265_330))
//!     .request("/webhook", r#"{"test": 2432232314}"#)?;
//! assert_eq!(
//!     request.headers()["webhook-signature"],
//!     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Request, header};

use crate::dedup::Token;
use crate::scheme::{Context, Sign, SignError, Tolerance, Verdict};

/// Signs requests with a scheme's secrets.
///
/// ```
/// use tower_webhook::{scheme::StandardWebhooks, sign::Signer};
/// let scheme = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let mut request = http::Request::post("/hook").body(bytes::Bytes::from_static(b"{}"))?;
/// Signer::new(&scheme).sign(&mut request)?;
/// assert!(request.headers()["webhook-id"].to_str()?.starts_with("msg_"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer<'a, S: ?Sized> {
    scheme: &'a S,
    id: Option<String>,
    timestamp: Option<SystemTime>,
    content_type: &'static str,
}

impl<S: Sign + ?Sized> fmt::Debug for Signer<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme.name())
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl<'a, S: Sign + ?Sized> Signer<'a, S> {
    /// A signer for `scheme`, with a fresh random id and the current time.
    pub fn new(scheme: &'a S) -> Self {
        Self {
            scheme,
            id: None,
            timestamp: None,
            content_type: "application/json",
        }
    }

    /// Signs as event `id` (default: a fresh `msg_...` id per request).
    ///
    /// For a sender that carries its event id in the signed body (Stripe,
    /// Slack, ...) or has none, signing fails with
    /// [`SignError::IdNotCarried`] unless the body already carries this id:
    /// a test never silently runs with an id other than the one it set.
    ///
    /// ```
    /// use tower_webhook::{scheme::{SignError, Stripe}, sign::Signer};
    /// let stripe = Stripe::new("whsec_test")?;
    /// let refused = Signer::new(&stripe).id("evt_1").request("/hook", r#"{"id":"evt_2"}"#);
    /// assert!(matches!(refused, Err(SignError::IdNotCarried { .. })));
    /// assert!(Signer::new(&stripe).id("evt_1").request("/hook", r#"{"id":"evt_1"}"#).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Signs at `timestamp` (default: now, per request).
    pub fn timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The `Content-Type` of requests built by [`request`](Self::request)
    /// (default `application/json`).
    pub fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// Signs an existing request in place.
    pub fn sign(&self, request: &mut Request<Bytes>) -> Result<(), SignError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => format!("msg_{:016x}", Token::generate().as_u64()),
        };
        let timestamp = self.timestamp.unwrap_or_else(SystemTime::now);
        self.scheme.sign(request, &id, timestamp)?;
        if self.id.is_some() {
            self.check_id(request, id, timestamp)?;
        }
        Ok(())
    }

    /// Refuses a request whose verified id is not the one asked for. Only a
    /// request the scheme verifies is judged (a scheme may need what a test
    /// adds later, such as a handshake's fields).
    fn check_id(
        &self,
        request: &Request<Bytes>,
        asked: String,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let (head, body) = {
            let mut r = Request::new(request.body().clone());
            *r.method_mut() = request.method().clone();
            *r.uri_mut() = request.uri().clone();
            *r.headers_mut() = request.headers().clone();
            r.into_parts()
        };
        let ctx = Context::new(timestamp, Tolerance::default());
        let found = match self.scheme.check(&head, &body, &ctx) {
            Ok(Verdict::Deliver(envelope)) => envelope.id,
            _ => return Ok(()),
        };
        if found.as_deref() == Some(asked.as_str()) {
            return Ok(());
        }
        Err(SignError::IdNotCarried {
            scheme: self.scheme.name(),
            asked,
            found,
        })
    }

    /// A signed `POST` of `body` to `uri`.
    pub fn request(&self, uri: &str, body: impl Into<Bytes>) -> Result<Request<Bytes>, SignError> {
        let mut request = Request::post(uri)
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            )
            .body(body.into())
            .map_err(|e| SignError::Invalid(format!("request to {uri:?}: {e}")))?;
        self.sign(&mut request)?;
        Ok(request)
    }
}
