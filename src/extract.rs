//! axum extractors for [`Verified<T>`] and [`Delivery`] (feature `axum`).
//!
//! Used on a route without the layer (or with a layer configured for another
//! payload type), they fail with 500 and a message that says so: that is a
//! wiring bug, never a client error.
//!
//! ```
//! use axum::{routing::post, Router, http::StatusCode};
//! use tower_webhook::{scheme::StandardWebhooks, Delivery, Verified, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Event { r#type: String }
//!
//! async fn handle(Verified(event, delivery): Verified<Event>) -> StatusCode {
//!     println!("{} {:?}", event.r#type, delivery.id);
//!     StatusCode::NO_CONTENT
//! }
//!
//! let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let app: Router = Router::new()
//!     .route("/webhook", post(handle))
//!     .route_layer(layer.payload::<Event>());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::verified::{Delivery, Verified};

/// The extractor found no verified delivery: the layer is missing on this
/// route or produces another payload type. Answers 500.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "tower-webhook: no verified delivery of type `{type_name}` in the request: add `.route_layer(layer.payload::<{type_name}>())` (or `.raw()` for bytes) to this route"
)]
pub struct MissingLayer {
    type_name: &'static str,
}

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "webhook extractor used without WebhookLayer");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<T, S> FromRequestParts<S> for Verified<T>
where
    T: Send + 'static,
    S: Send + Sync,
{
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Verified::take(&mut parts.extensions).ok_or(MissingLayer {
            type_name: std::any::type_name::<T>(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Delivery {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Delivery>()
            .cloned()
            .ok_or(MissingLayer {
                type_name: "Delivery",
            })
    }
}
