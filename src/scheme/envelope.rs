//! What a verified delivery tells about itself: [`Envelope`], and the
//! [`Verdict`] a scheme gives on a whole request.

use std::time::SystemTime;

use bytes::Bytes;

/// A scheme's verdict on a verified request: a delivery for the handler, or
/// the answer to a signed endpoint handshake (Slack's `url_verification`,
/// Zoom's `endpoint.url_validation`, Twitch's verification), which the layer
/// gives without calling the handler or touching the dedup store.
///
/// ```
/// use tower_webhook::scheme::{Envelope, Verdict};
/// let v = Verdict::Deliver(Envelope::signed_id("evt_1"));
/// assert_eq!(v.envelope().and_then(|e| e.id), Some("evt_1".to_owned()));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// A delivery: dedup, then the handler.
    Deliver(Envelope),
    /// The sender's handshake, answered by the layer.
    Answer(http::Response<Bytes>),
}

impl Verdict {
    /// The delivery, if this is one.
    pub fn envelope(self) -> Option<Envelope> {
        match self {
            Self::Deliver(e) => Some(e),
            Self::Answer(_) => None,
        }
    }

    /// The handshake's answer, if this is one.
    ///
    /// ```
    /// use tower_webhook::scheme::Verdict;
    /// let v = Verdict::Answer(http::Response::new(bytes::Bytes::from_static(b"42")));
    /// assert_eq!(v.answer().map(|r| r.into_body()), Some(bytes::Bytes::from_static(b"42")));
    /// ```
    pub fn answer(self) -> Option<http::Response<Bytes>> {
        match self {
            Self::Answer(r) => Some(r),
            Self::Deliver(_) => None,
        }
    }
}

impl From<Envelope> for Verdict {
    fn from(e: Envelope) -> Self {
        Self::Deliver(e)
    }
}

/// What a verified delivery tells about itself, decided by the signed bytes
/// only: an unsigned header may be shown (an unsigned `id`), never trusted.
///
/// ```
/// use tower_webhook::scheme::{Dedup, Envelope, Format};
/// let e = Envelope::signed_id("evt_1");
/// assert_eq!(e.format, Format::Json);
/// assert_eq!(e.dedup, Dedup::Signed);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The sender's event or delivery id, when the scheme carries one
    /// (signed or not: see [`id_signed`](Self::id_signed)).
    pub id: Option<String>,
    /// Whether the signature covers `id`. Only a signed id can serve as the
    /// dedup key; an unsigned one is shown to the handler, and used by
    /// [`Dedup::SignedOrId`] only beside signed data.
    pub id_signed: bool,
    /// The signed timestamp, when the scheme carries one.
    pub timestamp: Option<SystemTime>,
    /// How the verified body is encoded, as the signed bytes say.
    pub format: Format,
    /// What the dedup store remembers the delivery by.
    pub dedup: Dedup,
    /// The answer the sender requires once the delivery is handled, in
    /// place of the handler's: given when the handler answers 2xx, and for
    /// a copy found already handled. `None` (every sender but Salesforce)
    /// keeps the handler's answer.
    pub acknowledgement: Option<Acknowledgement>,
    /// Where the sender names the event type, when it does.
    pub event: Option<EventName>,
}

/// Where a sender names the event type of a delivery (Stripe's `type`
/// field, GitHub's `X-GitHub-Event` header, ...).
///
/// ```
/// use tower_webhook::scheme::{Envelope, EventName};
/// let e = Envelope::signed_id("evt_1").with_event(EventName::Body("/type"));
/// assert_eq!(e.event, Some(EventName::Body("/type")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventName {
    /// A string field of the signed JSON body, as a JSON pointer: read only
    /// when the handler asks for it.
    Body(&'static str),
    /// The value of a header the signature does not cover (GitHub's
    /// `X-GitHub-Event`): anyone can change it, so it may route a
    /// delivery to a handler only where that handler checks the payload.
    UnsignedHeader(String),
}

impl Envelope {
    /// An envelope with a signed event id.
    ///
    /// ```
    /// let e = tower_webhook::scheme::Envelope::signed_id("msg_1");
    /// assert!(e.id_signed);
    /// ```
    pub fn signed_id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            id_signed: true,
            ..Self::default()
        }
    }

    /// An envelope with an event id the signature does not cover.
    ///
    /// ```
    /// let e = tower_webhook::scheme::Envelope::unsigned_id(Some("d-1".to_owned()));
    /// assert!(!e.id_signed);
    /// ```
    pub fn unsigned_id(id: Option<String>) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// With `dedup` as what the store remembers the delivery by.
    ///
    /// ```
    /// use tower_webhook::scheme::{Dedup, Envelope};
    /// assert_eq!(Envelope::default().with_dedup(Dedup::Off).dedup, Dedup::Off);
    /// ```
    pub fn with_dedup(mut self, dedup: Dedup) -> Self {
        self.dedup = dedup;
        self
    }

    /// With the signed timestamp `t`.
    ///
    /// ```
    /// let e = tower_webhook::scheme::Envelope::default().with_timestamp(std::time::UNIX_EPOCH);
    /// assert_eq!(e.timestamp, Some(std::time::UNIX_EPOCH));
    /// ```
    pub fn with_timestamp(mut self, t: SystemTime) -> Self {
        self.timestamp = Some(t);
        self
    }

    /// With `ack` as the answer the sender requires once the delivery is
    /// handled.
    ///
    /// ```
    /// use tower_webhook::scheme::{Acknowledgement, Envelope};
    /// let ack = Acknowledgement::new("text/plain", "ok");
    /// assert_eq!(Envelope::default().with_acknowledgement(ack.clone()).acknowledgement, Some(ack));
    /// ```
    pub fn with_acknowledgement(mut self, ack: Acknowledgement) -> Self {
        self.acknowledgement = Some(ack);
        self
    }

    /// With `event` as where the sender names the event type.
    ///
    /// ```
    /// use tower_webhook::scheme::{Envelope, EventName};
    /// let e = Envelope::default().with_event(EventName::UnsignedHeader("push".into()));
    /// assert!(matches!(e.event, Some(EventName::UnsignedHeader(_))));
    /// ```
    pub fn with_event(mut self, event: EventName) -> Self {
        self.event = Some(event);
        self
    }

    /// With the payload format `format`.
    ///
    /// ```
    /// use tower_webhook::scheme::{Envelope, Format};
    /// assert_eq!(Envelope::default().with_format(Format::Form).format, Format::Form);
    /// ```
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }
}

/// How a verified body is encoded. A scheme decides it from what the sender
/// signed (the body's own bytes, or a signed URL), never from the unsigned
/// `Content-Type`: a signed JSON body re-sent as a form stays JSON.
///
/// ```
/// use tower_webhook::scheme::Format;
/// assert_eq!(Format::json_or_form(b"  {\"a\":1}"), Format::Json);
/// assert_eq!(Format::json_or_form(b"a=1&b=2"), Format::Form);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// A JSON document.
    #[default]
    Json,
    /// An `application/x-www-form-urlencoded` form.
    Form,
    /// A form whose `payload` field holds the JSON document (GitHub's
    /// `application/x-www-form-urlencoded` content type, Slack's
    /// interactivity requests).
    FormPayload,
    /// An XML document (Salesforce's SOAP outbound messages), read by the
    /// sender's own payload type rather than by `serde`.
    Xml,
}

impl Format {
    /// JSON when the body's first non-whitespace byte opens a JSON object or
    /// array, a form otherwise.
    pub fn json_or_form(body: &[u8]) -> Self {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Self::Json,
            _ => Self::Form,
        }
    }

    /// JSON, or [`FormPayload`](Self::FormPayload) when the body is a form
    /// that starts with `payload=`.
    ///
    /// ```
    /// use tower_webhook::scheme::Format;
    /// assert_eq!(Format::json_or_payload_form(b"payload=%7B%7D"), Format::FormPayload);
    /// assert_eq!(Format::json_or_payload_form(b"{}"), Format::Json);
    /// ```
    pub fn json_or_payload_form(body: &[u8]) -> Self {
        if body.starts_with(b"payload=") {
            Self::FormPayload
        } else {
            Self::Json
        }
    }
}

/// What the dedup store remembers a verified delivery by. Keys come from
/// signed data only, so that one captured delivery re-sent with fresh
/// unsigned ids is still recognised; see `SENDERS.md` for each preset's
/// choice.
///
/// ```
/// use tower_webhook::scheme::Dedup;
/// assert_eq!(Dedup::default(), Dedup::Signed);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dedup {
    /// By the signed event id when the signature covers it
    /// ([`Envelope::id_signed`]), else by the SHA-256 of the verified body.
    /// For senders whose retries resend the same signed body or signed id.
    #[default]
    Signed,
    /// As [`Signed`](Self::Signed), and by the unsigned event id too: a
    /// delivery is a duplicate when either was seen. For senders whose
    /// retries re-sign a changed body (a fresh timestamp inside it) but keep
    /// their unsigned delivery id (Linear). The unsigned id is only written
    /// when a delivery is handled, never on a duplicate.
    SignedOrId,
    /// By this signed value, for a sender that signs neither the body nor
    /// the id (Mailgun's token), and by the unsigned event id too, as in
    /// [`SignedOrId`](Self::SignedOrId).
    Value(String),
    /// Not deduplicated: the sender's bodies legitimately repeat (Dropbox
    /// says only "this account changed"), so a second identical
    /// notification is a real one. Every verified delivery reaches the
    /// handler; make its work harmless to repeat.
    Off,
}

/// The answer a sender requires once a delivery is handled, given by the
/// layer in place of the handler's 2xx answer, and for a copy found already
/// handled: `200` with exactly these bytes. Salesforce re-delivers an
/// outbound message until it receives its SOAP acknowledgement, whatever
/// the status.
///
/// ```
/// use tower_webhook::scheme::Acknowledgement;
/// let ack = Acknowledgement::new("text/xml; charset=utf-8", "<Ack>true</Ack>");
/// let response = ack.response();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "text/xml; charset=utf-8");
/// assert_eq!(response.body().as_ref(), b"<Ack>true</Ack>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    content_type: &'static str,
    body: Bytes,
}

impl Acknowledgement {
    /// `body` as `content_type`, with status 200.
    pub fn new(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self {
            content_type,
            body: body.into(),
        }
    }

    /// The answer: `200`, the content type, `nosniff`, the body.
    pub fn response(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body.clone());
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type),
        );
        headers.insert(
            http::header::X_CONTENT_TYPE_OPTIONS,
            http::HeaderValue::from_static("nosniff"),
        );
        response
    }
}
