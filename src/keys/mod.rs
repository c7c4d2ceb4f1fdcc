//! Keys a sender publishes, fetched when a delivery names one the scheme
//! does not hold yet (eBay's `kid`, AWS SNS's `SigningCertURL`, PayPal's
//! `PAYPAL-CERT-URL`).
//!
//! Schemes stay synchronous: when [`Scheme::verify`](crate::scheme::Scheme::verify)
//! meets a well-formed delivery naming a key it has not cached, it answers
//! [`VerifyError::KeyNeeded`](crate::scheme::VerifyError::KeyNeeded) with a
//! [`KeyRequest`]. The layer hands the request to the scheme's
//! [`KeyFetcher`] (async), then reads the head and verifies again, once.
//!
//! - The URL policy of the sender is checked by the scheme **before** it asks
//!   for anything, and again by the fetcher before it connects: a URL outside
//!   it is refused (401) without a connection.
//! - Fetching is HTTPS only, over rustls ([`HttpsClient`], feature
//!   `published-keys`), with a timeout and a response size cap.
//! - What is fetched lives in a bounded cache whose expiry is read on the
//!   layer's clock; a key the server does not know is remembered as unknown
//!   for a while (negative cache), so it costs at most one fetch per TTL.
//!   Fetches of one key are single-flight, and fetches of keys not cached are
//!   limited in rate, so a flood of made-up key ids or URLs is not a flood of
//!   fetches.
//! - A key server that cannot be reached (or the rate limit) gives 503 with
//!   `Retry-After` ([`Rejection::KeyUnavailable`](crate::Rejection::KeyUnavailable)):
//!   the sender retries and nothing is lost. Failures are never cached.
//!
//! ```
//! use tower_webhook::keys::{FetchError, KeyRequest};
//! let request = KeyRequest::key("9936261a-7d7b-4621-a0f1-96ccb428af49");
//! assert_eq!(request.locator(), "9936261a-7d7b-4621-a0f1-96ccb428af49");
//! assert!(FetchError::Unavailable { reason: "connection refused".into() }.is_unavailable());
//! ```

// With `published-keys` alone (no sender), the crate-internal cache and
// helpers have no user yet.
#![cfg_attr(
    not(any(feature = "sns", feature = "paypal", feature = "ebay")),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "published-keys")]
mod cache;
#[cfg(any(feature = "sns", feature = "paypal"))]
pub(crate) mod cert;
#[cfg(feature = "published-keys")]
mod fetch;
mod policy;
#[cfg(any(feature = "sns", feature = "paypal"))]
mod trust;

use std::time::SystemTime;

#[cfg(feature = "published-keys")]
pub use cache::CacheSettings;
#[cfg(feature = "published-keys")]
pub(crate) use cache::{Fetched, KeyCache, Lookup};
#[cfg(feature = "published-keys")]
pub use fetch::{FetchConfigError, HttpsClient};
pub use policy::{PolicyError, UrlPolicy};
#[cfg(any(feature = "sns", feature = "paypal"))]
pub use trust::{CertificateTrust, TrustConfigError};

use crate::dedup::BoxFuture;

/// What a scheme needs fetched before it can give its verdict: a key (by id
/// or certificate URL), or, for AWS SNS, the confirmation of a subscription
/// (a `GET` of its `SubscribeURL`).
///
/// ```
/// use tower_webhook::keys::{KeyRequest, Purpose};
/// let r = KeyRequest::confirmation("https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription");
/// assert_eq!(r.purpose(), Purpose::Confirmation);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    locator: String,
    purpose: Purpose,
}

/// Why a [`KeyRequest`] is made.
///
/// ```
/// assert_ne!(tower_webhook::keys::Purpose::Key, tower_webhook::keys::Purpose::Confirmation);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A key or certificate, named by the delivery.
    Key,
    /// A subscription to confirm (AWS SNS `SubscribeURL`).
    Confirmation,
}

impl KeyRequest {
    /// A key named by `locator` (a key id or a certificate URL).
    ///
    /// ```
    /// assert_eq!(tower_webhook::keys::KeyRequest::key("k1").locator(), "k1");
    /// ```
    pub fn key(locator: impl Into<String>) -> Self {
        Self {
            locator: locator.into(),
            purpose: Purpose::Key,
        }
    }

    /// A subscription to confirm by fetching `url`.
    ///
    /// ```
    /// let r = tower_webhook::keys::KeyRequest::confirmation("https://example.com/confirm");
    /// assert_eq!(r.locator(), "https://example.com/confirm");
    /// ```
    pub fn confirmation(url: impl Into<String>) -> Self {
        Self {
            locator: url.into(),
            purpose: Purpose::Confirmation,
        }
    }

    /// The key id or URL.
    pub fn locator(&self) -> &str {
        &self.locator
    }

    /// Why it is asked for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
}

/// Why a fetch gave nothing the scheme can use.
///
/// ```
/// use tower_webhook::keys::FetchError;
/// let e = FetchError::Throttled { limit: 30 };
/// assert!(e.is_unavailable());
/// assert!(e.to_string().contains("30"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The key server could not be reached, timed out, or answered with an
    /// error of its own (5xx): the sender is asked to retry (503).
    #[error("the key server is unavailable: {reason}")]
    Unavailable {
        /// What went wrong (no secret, no response body).
        reason: String,
    },
    /// More keys not cached were asked for than the rate limit allows
    /// (`CacheSettings::max_fetches_per_minute`): refused without a
    /// connection, the sender retries (503).
    #[error(
        "more than {limit} key fetches in a minute (CacheSettings::max_fetches_per_minute); refusing so the sender retries"
    )]
    Throttled {
        /// The configured limit.
        limit: u32,
    },
    /// The URL is outside the sender's URL policy: refused without a
    /// connection (401).
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl FetchError {
    /// Whether the sender should retry (503), rather than be refused (401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Throttled { .. })
    }
}

/// Fetches what a scheme asked for in a [`KeyRequest`] and stores it where
/// the scheme looks (a cache the two share), so that verifying again finds
/// it. A key the server does not know is stored as unknown, and `Ok(())` is
/// returned: the second verification refuses it.
///
/// ```
/// use std::time::SystemTime;
/// use tower_webhook::dedup::BoxFuture;
/// use tower_webhook::keys::{FetchError, KeyFetcher, KeyRequest};
///
/// /// A fetcher for a key server that is always down.
/// struct Down;
/// impl KeyFetcher for Down {
///     fn fetch<'a>(&'a self, _: &'a KeyRequest, _: SystemTime) -> BoxFuture<'a, Result<(), FetchError>> {
///         Box::pin(async { Err(FetchError::Unavailable { reason: "down".into() }) })
///     }
/// }
/// ```
pub trait KeyFetcher: Send + Sync {
    /// Fetches `request` at the layer's time `now` (cache expiry is read on
    /// the layer's clock).
    fn fetch<'a>(
        &'a self,
        request: &'a KeyRequest,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), FetchError>>;
}

/// A 5xx (or 429) is the key server's trouble: retried later, not cached.
#[cfg(feature = "published-keys")]
pub(crate) fn classify_status(status: http::StatusCode) -> Result<(), FetchError> {
    if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(FetchError::Unavailable {
            reason: format!("the key server answered {status}"),
        });
    }
    Ok(())
}
