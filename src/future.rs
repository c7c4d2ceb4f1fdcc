//! The response future of [`Webhook`](crate::Webhook).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::Either;

use crate::dedup::BoxFuture;

/// The body of responses from [`Webhook`](crate::Webhook): the handler's own
/// body, or the layer's (rejections and handshakes).
///
/// ```
/// use http_body_util::{BodyExt, Either, Full};
/// let body = Full::new(bytes::Bytes::from_static(b"unauthorized")).map_err(|e| match e {}).boxed_unsync();
/// let layer_answer: tower_webhook::WebhookBody<String> = Either::Right(body);
/// # drop(layer_answer);
/// ```
pub type WebhookBody<B> = Either<B, BoxBody>;

/// The error of a [`BoxBody`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of the layer's own answers: boxed, so a rejection hook can
/// answer with any body.
///
/// ```
/// use http_body_util::{BodyExt, Full};
/// let body: tower_webhook::BoxBody = Full::new(bytes::Bytes::from_static(b"{}")).map_err(|e| match e {}).boxed_unsync();
/// # drop(body);
/// ```
pub type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Resolves to the handler's response, or to the layer's own answer.
///
/// ```
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower::{Layer, ServiceExt};
/// use tower_webhook::{scheme::StandardWebhooks, WebhookLayer};
///
/// let handler = tower::service_fn(|_req: http::Request<Full<Bytes>>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
/// });
/// let svc = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?).layer(handler);
/// let response = svc.oneshot(http::Request::get("/").body(Full::new(Bytes::new()))?).await?;
/// assert_eq!(response.status(), 405);
/// # Ok(()) }
/// ```
pub struct ResponseFuture<B, E> {
    pub(crate) inner: BoxFuture<'static, Result<Response<WebhookBody<B>>, E>>,
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<WebhookBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
