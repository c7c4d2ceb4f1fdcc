//! The verified delivery handed to the handler: [`Delivery`], and
//! [`Verified<T>`], its payload decoded as the handler asks.
//!
//! The layer puts a [`Delivery`] into the request's extensions before it
//! calls the inner service. The payload type is named once, where it is
//! used: by the [`Verified<T>`] extractor (axum), or by
//! [`Verified::from_parts`] (plain tower).
//!
//! ```
//! use tower_webhook::{Delivery, Verified};
//! use tower_webhook::scheme::Format;
//!
//! #[derive(serde::Deserialize)]
//! struct Event { r#type: String }
//!
//! // What the layer leaves in the request for the inner service:
//! let (mut parts, _) = http::Request::new(()).into_parts();
//! parts.extensions.insert(Delivery::for_tests(r#"{"type":"invoice.paid"}"#, Format::Json));
//!
//! let Verified(event, delivery) = Verified::<Event>::from_parts(&parts)?;
//! assert_eq!(event.r#type, "invoice.paid");
//! assert!(delivery.id.starts_with("sha256:"));
//! # Ok::<(), tower_webhook::VerifiedRejection>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use sha2::{Digest, Sha256};

use crate::payload::{Decode, PayloadError};
use crate::scheme::{EventName, Format};

/// Facts about a verified delivery, in the request's extensions.
///
/// With axum, extract it on its own: `async fn handle(delivery: Delivery)`;
/// otherwise read it from the extensions:
///
/// ```
/// fn event_id(request: &http::Request<()>) -> Option<&str> {
///     Some(&request.extensions().get::<tower_webhook::Delivery>()?.id)
/// }
/// # assert_eq!(event_id(&http::Request::new(())), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The sender's event id, or `sha256:<hex>` of the verified body when
    /// the sender gives none: always there, for logs and for your own
    /// records. [`id_kind`](Self::id_kind) says which it is.
    pub id: String,
    /// Whether the signature covers [`id`](Self::id).
    pub id_kind: IdKind,
    /// The signed timestamp, when the scheme carries one.
    pub timestamp: Option<SystemTime>,
    /// The scheme that verified it (`"standard"`, `"stripe"`, ...).
    pub scheme: &'static str,
    /// The tenant whose keys verified it (layers built
    /// [`with_resolver`](crate::WebhookLayer::with_resolver)).
    pub tenant: Option<String>,
    /// How the body is encoded, as the signed bytes say.
    pub format: Format,
    /// The body exactly as received and verified.
    pub raw: Bytes,
    event: Option<EventName>,
}

/// What a [`Delivery::id`] is.
///
/// ```
/// use tower_webhook::{Delivery, IdKind, scheme::Format};
/// assert_eq!(Delivery::for_tests("{}", Format::Json).id_kind, IdKind::Digest);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdKind {
    /// The sender's id, covered by the signature.
    Signed,
    /// The sender's id from a header the signature does not cover (GitHub's
    /// `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`): good for logs,
    /// never for decisions (anyone can set it).
    Unsigned,
    /// No sender id: `sha256:` and the hex SHA-256 of the verified body.
    Digest,
}

/// The event type a sender gave a delivery (Stripe's `type`, GitHub's
/// `X-GitHub-Event`, ...); see [`Delivery::event`].
///
/// ```
/// use tower_webhook::{Delivery, scheme::{EventName, Format}};
/// let d = Delivery::for_tests(r#"{"type":"ping"}"#, Format::Json).with_event(EventName::Body("/type"));
/// let event = d.event().unwrap();
/// assert_eq!((event.name.as_str(), event.signed), ("ping", true));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// The event type.
    pub name: String,
    /// Whether the signature covers it. An unsigned name (a header) may be
    /// changed by anyone who replays a captured delivery: decode the payload
    /// strictly before acting on it.
    pub signed: bool,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("id_kind", &self.id_kind)
            .field("timestamp", &self.timestamp)
            .field("scheme", &self.scheme)
            .field("tenant", &self.tenant)
            .field("format", &self.format)
            .field("event", &self.event)
            .field("raw", &format_args!("{} bytes", self.raw.len()))
            .finish()
    }
}

impl Delivery {
    pub(crate) fn new(
        sender_id: Option<(String, bool)>,
        timestamp: Option<SystemTime>,
        scheme: &'static str,
        tenant: Option<String>,
        format: Format,
        raw: Bytes,
        event: Option<EventName>,
    ) -> Self {
        let (id, id_kind) = match sender_id {
            Some((id, true)) => (id, IdKind::Signed),
            Some((id, false)) => (id, IdKind::Unsigned),
            None => (digest_id(&raw), IdKind::Digest),
        };
        Self {
            id,
            id_kind,
            timestamp,
            scheme,
            tenant,
            format,
            raw,
            event,
        }
    }

    /// A delivery of `body` as the layer would hand it over, for testing a
    /// handler without signing: scheme `"test"`, no timestamp, no tenant,
    /// the id of a sender that gives none ([`IdKind::Digest`]).
    ///
    /// ```
    /// let d = tower_webhook::Delivery::for_tests("a=1", tower_webhook::scheme::Format::Form);
    /// assert_eq!(d.scheme, "test");
    /// ```
    pub fn for_tests(body: impl Into<Bytes>, format: Format) -> Self {
        Self::new(None, None, "test", None, format, body.into(), None)
    }

    /// With the event type found where `event` says (for tests).
    ///
    /// ```
    /// use tower_webhook::{Delivery, scheme::{EventName, Format}};
    /// let d = Delivery::for_tests("{}", Format::Json).with_event(EventName::UnsignedHeader("push".into()));
    /// assert_eq!(d.event().map(|e| e.name).as_deref(), Some("push"));
    /// ```
    pub fn with_event(mut self, event: EventName) -> Self {
        self.event = Some(event);
        self
    }

    /// The event type the sender gave this delivery, and whether it is
    /// signed; `None` when the scheme does not know where senders put it or
    /// this delivery lacks it. A name in the body is read on each call.
    ///
    /// ```
    /// use tower_webhook::{Delivery, scheme::{EventName, Format}};
    /// let d = Delivery::for_tests(r#"{"data":{}}"#, Format::Json).with_event(EventName::Body("/type"));
    /// assert_eq!(d.event(), None);
    /// ```
    pub fn event(&self) -> Option<Event> {
        match self.event.as_ref()? {
            EventName::UnsignedHeader(name) => Some(Event {
                name: name.clone(),
                signed: false,
            }),
            EventName::Body(pointer) => {
                if self.format != Format::Json {
                    return None;
                }
                let mut fields = crate::scheme::json::fields(&self.raw, &[pointer])?;
                let name = fields.first_mut()?.take()?.into_string()?;
                Some(Event { name, signed: true })
            }
        }
    }

    /// The delivery the layer left in `parts`; a missing layer is reported
    /// as wanting `type_name`.
    pub(crate) fn in_parts<'a>(
        parts: &'a Parts,
        type_name: &'static str,
    ) -> Result<&'a Self, VerifiedRejection> {
        parts
            .extensions
            .get::<Self>()
            .ok_or(VerifiedRejection::MissingLayer { type_name })
    }

    /// The payload as `T` (what [`Verified<T>`] does).
    ///
    /// ```
    /// let (parts, _) = http::Request::new(()).into_parts();
    /// let d = tower_webhook::Delivery::for_tests("[1,2]", tower_webhook::scheme::Format::Json);
    /// assert_eq!(d.decode::<Vec<u8>>(&parts)?, [1, 2]);
    /// # Ok::<(), tower_webhook::payload::PayloadError>(())
    /// ```
    pub fn decode<T: Decode>(&self, head: &Parts) -> Result<T, PayloadError> {
        T::decode(self, head)
    }
}

/// `sha256:` and the hex SHA-256 of `body`.
pub(crate) fn digest_id(body: &[u8]) -> String {
    format!("sha256:{}", crate::scheme::hex(&Sha256::digest(body)))
}

/// A verified, first-seen delivery: its payload decoded as `T`, and its
/// [`Delivery`].
///
/// With axum: `async fn handle(Verified(event, delivery): Verified<Event>)`.
/// `T` is any `serde` type (decoded from JSON or a form, as the signed
/// bytes say), [`Tagged<T>`](crate::payload::Tagged) for a payload keyed by
/// its event name, or your own [`Decode`].
///
/// A payload that does not decode as `T` is refused with 400 by default
/// ([`VerifiedRejection`]), and the sender retries. When a sender may add
/// event types you do not know (they all do), take
/// `Result<Verified<T>, VerifiedRejection>` and answer 2xx to what you do
/// not handle: the event is then committed and never redelivered.
///
#[cfg_attr(feature = "axum", doc = "```")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// use axum::http::StatusCode;
/// use tower_webhook::{Verified, VerifiedRejection};
///
/// #[derive(serde::Deserialize)]
/// #[serde(tag = "type")]
/// enum Event {
///     #[serde(rename = "invoice.paid")]
///     InvoicePaid { id: String },
/// }
///
/// async fn handle(event: Result<Verified<Event>, VerifiedRejection>) -> StatusCode {
///     match event {
///         Ok(Verified(Event::InvoicePaid { id }, _)) => StatusCode::NO_CONTENT,
///         // A type this version does not know: acknowledged, not retried.
///         Err(VerifiedRejection::Payload(_)) => StatusCode::NO_CONTENT,
///         Err(wiring) => wiring.status(),
///     }
/// }
/// # let _: axum::routing::MethodRouter = tower_webhook::endpoint(tower_webhook::WebhookLayer::new(tower_webhook::scheme::Stripe::new("whsec_x").unwrap()), handle);
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
    ///
    /// ```
    /// let v = tower_webhook::Verified(1, tower_webhook::Delivery::for_tests("1", tower_webhook::scheme::Format::Json));
    /// assert_eq!(v.into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Decode> Verified<T> {
    /// The verified delivery in the request head `parts`, decoded as `T`.
    /// Fails when no layer ran before (500) or the payload is not a `T`
    /// (400).
    ///
    /// ```
    /// use tower_webhook::{Verified, VerifiedRejection};
    /// let (parts, _) = http::Request::new(()).into_parts();
    /// let e = Verified::<serde_json::Value>::from_parts(&parts).unwrap_err();
    /// assert_eq!(e.status(), 500);
    /// ```
    pub fn from_parts(parts: &Parts) -> Result<Self, VerifiedRejection> {
        let delivery = Delivery::in_parts(parts, std::any::type_name::<T>())?;
        let payload = delivery.decode(parts)?;
        Ok(Self(payload, delivery.clone()))
    }
}

/// Why [`Verified<T>`] could not be extracted.
///
/// ```
/// use tower_webhook::VerifiedRejection;
/// let e = VerifiedRejection::MissingLayer { type_name: "Event" };
/// assert_eq!(e.status(), 500);
/// assert!(e.to_string().contains("tower_webhook::endpoint"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifiedRejection {
    /// No [`WebhookLayer`](crate::WebhookLayer) ran before this handler: a
    /// wiring bug (500), never the sender's fault.
    #[error(
        "tower-webhook: no verified delivery in the request (wanted `{type_name}`): wrap this route with `tower_webhook::endpoint(layer, handler)`"
    )]
    MissingLayer {
        /// The payload type asked for.
        type_name: &'static str,
    },
    /// The verified payload is not of the handler's type (400).
    #[error("verified payload rejected: {0}")]
    Payload(#[from] PayloadError),
}

impl VerifiedRejection {
    /// 500 for a missing layer, 400 for a payload of another type.
    ///
    /// ```
    /// use tower_webhook::{payload::PayloadError, VerifiedRejection};
    /// let e = VerifiedRejection::Payload(PayloadError::NoEventName { type_name: "E" });
    /// assert_eq!(e.status(), 400);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingLayer { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Payload(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// A short message for the response body, which names no type and
    /// quotes no payload.
    ///
    /// ```
    /// let e = tower_webhook::VerifiedRejection::MissingLayer { type_name: "E" };
    /// assert_eq!(e.message(), "webhook layer missing");
    /// ```
    pub fn message(&self) -> &'static str {
        match self {
            Self::MissingLayer { .. } => "webhook layer missing",
            Self::Payload(_) => "payload not understood",
        }
    }
}
