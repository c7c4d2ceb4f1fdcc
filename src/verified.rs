//! The verified delivery handed to the handler.
//!
//! The layer puts a [`Verified<T>`] and a [`Delivery`] into the request's
//! extensions before calling the inner service. With axum, extract them
//! (feature `axum`); with plain tower, take them with [`Verified::take`].
//!
//! ```
//! use bytes::Bytes;
//! use tower_webhook::{Delivery, Verified};
//!
//! fn handle(mut request: http::Request<Bytes>) {
//!     if let Some(Verified(payload, delivery)) = Verified::<serde_json::Value>::take(request.extensions_mut()) {
//!         println!("{:?} {}", delivery.id, payload);
//!     }
//! }
//! # handle(http::Request::new(Bytes::new()));
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::Extensions;

/// Facts about a verified delivery.
///
/// With axum, extract it on its own: `async fn handle(delivery: Delivery)`;
/// otherwise read it from the request extensions:
///
/// ```
/// fn event_id(request: &http::Request<()>) -> Option<&str> {
///     request.extensions().get::<tower_webhook::Delivery>()?.id.as_deref()
/// }
/// # assert_eq!(event_id(&http::Request::new(())), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The sender's event id, when the scheme carries one.
    pub id: Option<String>,
    /// Whether the signature covers `id`. An unsigned id (GitHub's
    /// `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`, ...) is shown
    /// for logs; anyone can set it, so never decide anything on it.
    pub id_signed: bool,
    /// The signed timestamp, when the scheme carries one.
    pub timestamp: Option<SystemTime>,
    /// The scheme that verified it (`"standard"`, `"stripe"`, ...).
    pub scheme: &'static str,
    /// The body exactly as received and verified.
    pub raw: Bytes,
}

/// A verified, first-seen delivery: the parsed payload and its [`Delivery`].
///
/// With axum: `async fn handle(Verified(event, delivery): Verified<Event>)`.
///
#[cfg_attr(feature = "axum", doc = "```")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// async fn handle(tower_webhook::Verified(event, delivery): tower_webhook::Verified<serde_json::Value>) -> &'static str {
///     println!("{:?}: {event}", delivery.id);
///     "ok"
/// }
/// let _: axum::routing::MethodRouter = axum::routing::post(handle);
/// ```
pub struct Verified<T>(pub T, pub Delivery);

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verified")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<T> Verified<T> {
    /// The payload.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Send + 'static> Verified<T> {
    /// Takes the verified delivery out of request extensions. `None` when the
    /// layer did not run, was configured for another payload type, or it was
    /// taken already.
    pub fn take(extensions: &mut Extensions) -> Option<Self> {
        let slot = extensions.remove::<Slot<T>>()?;
        let mut guard = slot
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.take()
    }
}

/// Extensions require `Clone`; payload types should not have to be. The
/// slot is cloneable and hands the value out once.
pub(crate) struct Slot<T>(Arc<Mutex<Option<Verified<T>>>>);

impl<T> Slot<T> {
    pub(crate) fn new(v: Verified<T>) -> Self {
        Self(Arc::new(Mutex::new(Some(v))))
    }
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}
