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
use crate::scheme::{Sign, SignError};

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
        self.scheme.sign(request, &id, timestamp)
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
