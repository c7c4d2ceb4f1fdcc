//! axum glue (feature `axum`): [`endpoint`], the [`Verified<T>`] and
//! [`Delivery`] extractors, and `IntoResponse` for every rejection.
//!
//! Put the layer on a route with [`endpoint`]: every route gets exactly its
//! own layer, every method reaches it (GET handshakes included), and the
//! layer's answers go through its rejection hook.
//!
//! ```
//! use axum::{http::StatusCode, Router};
//! use tower_webhook::{endpoint, scheme::{GitHub, Stripe}, Verified, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct StripeEvent { r#type: String }
//!
//! async fn stripe(Verified(event, _): Verified<StripeEvent>) -> StatusCode {
//!     println!("{}", event.r#type);
//!     StatusCode::NO_CONTENT
//! }
//! async fn github(Verified(event, delivery): Verified<serde_json::Value>) -> StatusCode {
//!     println!("{:?} {event}", delivery.event());
//!     StatusCode::NO_CONTENT
//! }
//!
//! let app: Router = Router::new()
//!     .route("/webhooks/stripe", endpoint(WebhookLayer::new(Stripe::new("whsec_test")?), stripe))
//!     .route("/webhooks/github", endpoint(WebhookLayer::new(GitHub::new("s3cret")?), github));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::request::Parts;

use crate::layer::WebhookLayer;
use crate::rejection::Rejection;
use crate::scheme::Scheme;
use crate::verified::{Delivery, Verified, VerifiedRejection};

/// A route's method router: `handler` behind its own `layer`, for every
/// method.
///
/// Use it rather than `post(handler).route_layer(layer)`: that leaves GET
/// outside the layer (Dropbox's, Meta's and LinkedIn's handshakes get
/// axum's bare 405), and `Router::route_layer` wraps every route added
/// before it, so two webhook routes would each sit inside both layers.
/// Methods other than POST (and the scheme's handshake GET) get the layer's
/// 405, through its rejection hook.
///
/// ```
/// use axum::Router;
/// use tower_webhook::{endpoint, scheme::Dropbox, WebhookLayer};
///
/// async fn changed() -> &'static str { "" }
/// let app: Router = Router::new()
///     .route("/webhooks/dropbox", endpoint(WebhookLayer::new(Dropbox::new("app-secret")?), changed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn endpoint<S, H, T, St>(layer: WebhookLayer<S>, handler: H) -> MethodRouter<St>
where
    S: Scheme,
    H: Handler<T, St>,
    T: 'static,
    St: Clone + Send + Sync + 'static,
{
    axum::routing::any(handler).layer(layer)
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<T, St> FromRequestParts<St> for Verified<T>
where
    T: crate::payload::Decode,
    St: Send + Sync,
{
    type Rejection = VerifiedRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Verified::from_parts(parts)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<St: Send + Sync> FromRequestParts<St> for Delivery {
    type Rejection = VerifiedRejection;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Delivery::in_parts(parts, "Delivery").cloned()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for VerifiedRejection {
    /// The status and the short [`message`](VerifiedRejection::message);
    /// the whole story goes to the log (a missing layer at `ERROR`, a
    /// payload of another type at `WARN`).
    fn into_response(self) -> Response {
        match &self {
            Self::MissingLayer { .. } => tracing::error!(error = %self, "webhook handler wiring"),
            Self::Payload(_) => tracing::warn!(error = %self, "webhook payload not decoded"),
        }
        (self.status(), self.message()).into_response()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for Rejection {
    /// The [`default_response`](Rejection::default_response).
    fn into_response(self) -> Response {
        self.default_response().map(axum::body::Body::from)
    }
}
