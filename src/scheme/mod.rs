//! How senders sign: the [`Scheme`] trait and one module per sender family.
//!
//! A scheme is plain synchronous code over the request head (method, URI,
//! headers), the buffered body, and a [`Context`] holding the current time and
//! the timestamp tolerance. It returns the verified [`Envelope`] (event id and
//! timestamp) or a [`VerifyError`]. It knows nothing about tower, axum or the
//! dedup store, so it can be unit-tested and fuzzed without a runtime.
//!
//! Every scheme in this crate compares signatures in constant time (with
//! [`subtle`]), tries every candidate signature against every active secret
//! without an early exit, and never puts a secret or a full signature into an
//! error.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance};
//! use tower_webhook::sign::Signer;
//!
//! let scheme = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
//! let request = Signer::new(&scheme).id("msg_1").timestamp(now).request("/webhook", r#"{"a":1}"#)?;
//! let (head, body) = request.into_parts();
//! let envelope = scheme.verify(&head, &body, &Context::new(now, Tolerance::default()))?;
//! assert_eq!(envelope.id.as_deref(), Some("msg_1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod encoding;
mod handshake;
pub mod hmac;
mod json_pointer;
mod keyed;
mod presets;
pub mod standard;
mod url;
mod util;

pub mod calendly;
pub mod dropbox;
pub mod github;
pub mod hubspot;
pub mod intercom;
pub mod linear;
pub mod linkedin;
pub mod mailgun;
pub mod paddle;
pub mod pagerduty;
#[cfg(feature = "sendgrid")]
pub mod sendgrid;
pub mod shopify;
pub mod slack;
pub mod square;
pub mod stripe;
pub mod token;
pub mod twilio;
pub mod twitch;
pub mod typeform;
pub mod zoom;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::request::Parts;

use crate::secret::SecretError;

pub use calendly::Calendly;
pub use dropbox::Dropbox;
pub use encoding::{Encoding, hex_decode_exact, hex_encode};
pub use github::{GitHub, Meta};
pub use hmac::{Algorithm, HmacBuilder, HmacScheme, Part, TimeUnit};
pub use hubspot::HubSpot;
pub use intercom::Intercom;
pub use keyed::Keyed;
pub use linear::Linear;
pub use linkedin::{LinkedIn, LinkedInReading};
pub use mailgun::Mailgun;
pub use paddle::Paddle;
pub use pagerduty::PagerDuty;
pub use presets::{FEATURE_PRESETS, PRESETS, PresetOptions, by_name};
#[cfg(feature = "sendgrid")]
pub use sendgrid::SendGrid;
pub use shopify::Shopify;
pub use slack::Slack;
pub use square::Square;
pub use standard::StandardWebhooks;
#[cfg(feature = "ed25519")]
pub use standard::ed25519::StandardWebhooksEd25519;
pub use stripe::Stripe;
pub use token::Token;
pub use twilio::Twilio;
pub use twitch::Twitch;
pub use typeform::Typeform;
pub use util::{check_timestamp, parse_rfc3339, parse_unix_digits, single_header};
pub use zoom::Zoom;

/// How far a delivery's timestamp may lie from the receiver's clock.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::scheme::Tolerance;
/// let t = Tolerance::symmetric(Duration::from_secs(60));
/// assert_eq!(t.past, t.future);
/// assert_eq!(Tolerance::default().past, Duration::from_secs(300));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be (clock skew at the sender).
    pub future: Duration,
}

impl Tolerance {
    /// The same tolerance in both directions.
    pub const fn symmetric(d: Duration) -> Self {
        Self { past: d, future: d }
    }
}

impl Default for Tolerance {
    /// Five minutes each way, as Standard Webhooks, Stripe and Slack recommend.
    fn default() -> Self {
        Self::symmetric(Duration::from_secs(300))
    }
}

/// What a scheme needs besides the request: the time and the tolerance.
///
/// ```
/// use tower_webhook::scheme::{Context, Tolerance};
/// let ctx = Context::new(std::time::SystemTime::now(), Tolerance::default());
/// assert_eq!(ctx.tolerance.future.as_secs(), 300);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The receiver's current time.
    pub now: SystemTime,
    /// The accepted timestamp window.
    pub tolerance: Tolerance,
}

impl Context {
    /// A context at `now` with `tolerance`.
    pub const fn new(now: SystemTime, tolerance: Tolerance) -> Self {
        Self { now, tolerance }
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

/// A one-way, keyed fingerprint of the keys a scheme verifies with. The
/// layer's default dedup namespace is built from it, so that replicas
/// sharing a configuration agree, and two apps with different secrets that
/// share a store never see each other's keys.
///
/// ```
/// use tower_webhook::scheme::KeyId;
/// let a = KeyId::from_secret(b"secret-a");
/// assert_ne!(a, KeyId::from_secret(b"secret-b"));
/// assert_eq!(a.to_string().len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 16]);

/// The label the fingerprints are derived under.
const KEY_ID_LABEL: &[u8] = b"tower-webhook dedup namespace v1";

impl KeyId {
    /// HMAC-SHA256 of a fixed label keyed with `secret`, truncated to 128
    /// bits: it reveals nothing a short secret could be guessed from
    /// without the secret itself.
    pub fn from_secret(secret: &[u8]) -> Self {
        use ::hmac::{KeyInit, Mac};
        let mut out = [0u8; 16];
        if let Ok(mut mac) = ::hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
            mac.update(KEY_ID_LABEL);
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        Self(out)
    }

    /// SHA-256 of a fixed label and `public_key`, truncated to 128 bits, for
    /// schemes that verify with public keys (nothing to hide).
    ///
    /// ```
    /// use tower_webhook::scheme::KeyId;
    /// assert_ne!(KeyId::from_public_key(b"pk"), KeyId::from_secret(b"pk"));
    /// ```
    pub fn from_public_key(public_key: &[u8]) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(b"/public/")
            .chain_update(public_key)
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a delivery failed verification. Every variant answers 401.
///
/// ```
/// use tower_webhook::scheme::VerifyError;
/// let e = VerifyError::TooOld { header: "webhook-timestamp", age_secs: 900, tolerance_secs: 300 };
/// assert_eq!(e.to_string(), "`webhook-timestamp` timestamp is 900 s old, more than the 300 s tolerance");
/// ```
///
/// Messages name the header at fault and never contain a secret or a
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent.
    #[error("missing `{header}` header")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A header is present but cannot be parsed.
    #[error("malformed `{header}` header: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature header lists more entries than any sender sends.
    #[error("`{header}` holds more than {max} entries; refusing it whole")]
    TooManySignatures {
        /// The header's name.
        header: &'static str,
        /// The most entries accepted.
        max: usize,
    },
    /// No candidate signature matches any active secret.
    #[error(
        "no signature in `{header}` matches any configured secret ({candidates} candidate(s), {keys} key(s)); check the secret and its encoding"
    )]
    NoMatch {
        /// The signature header's name.
        header: &'static str,
        /// How many well-formed candidate signatures the header held.
        candidates: usize,
        /// How many secrets were tried.
        keys: usize,
    },
    /// The signed timestamp is older than the tolerance.
    #[error("`{header}` timestamp is {age_secs} s old, more than the {tolerance_secs} s tolerance")]
    TooOld {
        /// The timestamp header's name.
        header: &'static str,
        /// Age in whole seconds.
        age_secs: u64,
        /// The configured past tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance.
    #[error(
        "`{header}` timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s tolerance"
    )]
    TooNew {
        /// The timestamp header's name.
        header: &'static str,
        /// How far ahead, in whole seconds.
        ahead_secs: u64,
        /// The configured future tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed body lacks something the scheme reads from it (an event id).
    #[error("signed body: {reason}")]
    MalformedBody {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why a [`Signer`](crate::sign::Signer) could not sign.
///
/// ```
/// assert_eq!(tower_webhook::scheme::SignError::Unsupported("x").to_string(), "the `x` scheme cannot sign requests");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// This scheme cannot produce signatures (it only verifies).
    #[error("the `{0}` scheme cannot sign requests")]
    Unsupported(&'static str),
    /// A value could not be put into a header or URI.
    #[error("cannot sign: {0}")]
    Invalid(String),
}

/// Why a scheme could not be configured. Messages name the setting at fault
/// and never quote a secret.
///
/// ```
/// use tower_webhook::scheme::{SchemeConfigError, Twilio};
/// let err = Twilio::new("token", "mycompany.com/sms").unwrap_err();
/// assert!(matches!(err, SchemeConfigError::InvalidPublicUrl { .. }));
/// assert!(err.to_string().starts_with("WEBHOOK_PUBLIC_URL"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemeConfigError {
    /// No preset has this name.
    #[error("unknown webhook scheme `{name}`; known schemes: {known}")]
    UnknownScheme {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The scheme signs the endpoint's URL, and none was configured.
    #[error(
        "the `{scheme}` scheme signs the endpoint's public URL: set WEBHOOK_PUBLIC_URL to the URL registered with the sender (such as https://example.com/webhooks)"
    )]
    MissingPublicUrl {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// The scheme answers the sender's verification request with a verify
    /// token, and none was configured.
    #[error(
        "the `{scheme}` scheme answers the sender's GET verification request only with the verify token: set WEBHOOK_VERIFY_TOKEN to the token entered in the sender's dashboard"
    )]
    MissingVerifyToken {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// The configured public URL cannot be used.
    #[error("WEBHOOK_PUBLIC_URL is not a usable URL: {reason}")]
    InvalidPublicUrl {
        /// What is wrong with it (the URL itself is not quoted).
        reason: &'static str,
    },
    /// A generic scheme's settings contradict each other.
    #[error("the `{scheme}` scheme is misconfigured: {reason}")]
    Invalid {
        /// The scheme's name.
        scheme: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The secret was refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The preset exists, but this build of the crate lacks the cargo
    /// feature it needs (see [`FEATURE_PRESETS`]).
    #[error(
        "the `{scheme}` webhook scheme needs the `{feature}` cargo feature of tower-webhook: add `features = [\"{feature}\"]` to the tower-webhook dependency in Cargo.toml and rebuild"
    )]
    FeatureDisabled {
        /// The preset's name.
        scheme: &'static str,
        /// The cargo feature to enable.
        feature: &'static str,
    },
}

/// How one sender (or family of senders) signs its deliveries.
///
/// Implementations must compare signatures in constant time, try every
/// candidate against every secret without an early exit on a secret-dependent
/// condition, and never panic on any input.
///
/// A sender that puts a shared token in a header (compared in constant
/// time; a token proves less than a signature over the body):
///
/// ```
/// use subtle::ConstantTimeEq;
/// use tower_webhook::scheme::{single_header, Context, Envelope, KeyId, Scheme, VerifyError};
///
/// struct Token(Vec<u8>);
///
/// impl Scheme for Token {
///     fn name(&self) -> &'static str { "token" }
///     fn key_id(&self) -> KeyId { KeyId::from_secret(&self.0) }
///     fn has_timestamp(&self) -> bool { false }
///     fn verify(&self, head: &http::request::Parts, _: &[u8], _: &Context) -> Result<Envelope, VerifyError> {
///         let header = "x-token";
///         let got = single_header(&head.headers, header)?.ok_or(VerifyError::MissingHeader { header })?;
///         if bool::from(got.as_bytes().ct_eq(&self.0)) {
///             Ok(Envelope::default())
///         } else {
///             Err(VerifyError::NoMatch { header, candidates: 1, keys: 1 })
///         }
///     }
/// }
/// let layer = tower_webhook::WebhookLayer::new(Token(b"s3cret".to_vec()));
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// A short stable name (`"standard"`, `"stripe"`), used in dedup keys and logs.
    fn name(&self) -> &'static str;

    /// A fingerprint of the keys this scheme verifies with (its newest
    /// secret, or its public keys): [`KeyId::from_secret`] or
    /// [`KeyId::from_public_key`]. The layer's default dedup namespace.
    fn key_id(&self) -> KeyId;

    /// Checks what can be checked from the head alone, before the body is
    /// buffered: required headers present and well-formed, timestamp within
    /// the tolerance. The default accepts everything.
    fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
        let _ = (head, ctx);
        Ok(())
    }

    /// Verifies signature and timestamp of a buffered delivery.
    fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError>;

    /// Recognises the sender's endpoint handshake and produces its answer.
    ///
    /// Called twice per request: with `body == None` before anything else (for
    /// challenges sent as `GET`), and with the body after it verified (for
    /// signed challenges sent as `POST`). The layer returns the answer without
    /// calling the handler or touching the dedup store. The default
    /// recognises nothing.
    ///
    /// An answer must never be usable as a signature [`verify`](Self::verify)
    /// accepts (a `GET` challenge is unauthenticated: anyone can ask), and a
    /// signed handshake message must be recognised from what is signed, not
    /// from a header, so that it cannot reach the handler relabelled. The
    /// presets' argument for each sender is in SECURITY.md, "Handshakes are
    /// never oracles".
    fn handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
        let _ = (head, body);
        None
    }

    /// Whether verified deliveries carry a signed timestamp. Schemes without
    /// one rely on the dedup retention alone against replays.
    fn has_timestamp(&self) -> bool {
        true
    }

    /// Signs `request` (adds headers, or rewrites the URI where the sender
    /// does) as the sender would for event `id` at `timestamp`.
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let _ = (request, id, timestamp);
        Err(SignError::Unsupported(self.name()))
    }
}

macro_rules! forward_scheme {
    ($($ty:ty),*) => {$(
        impl<S: Scheme + ?Sized> Scheme for $ty {
            fn name(&self) -> &'static str {
                (**self).name()
            }
            fn key_id(&self) -> KeyId {
                (**self).key_id()
            }
            fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
                (**self).check_head(head, ctx)
            }
            fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
                (**self).verify(head, body, ctx)
            }
            fn handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
                (**self).handshake(head, body)
            }
            fn has_timestamp(&self) -> bool {
                (**self).has_timestamp()
            }
            fn sign(&self, request: &mut http::Request<Bytes>, id: &str, timestamp: SystemTime) -> Result<(), SignError> {
                (**self).sign(request, id, timestamp)
            }
        }
    )*};
}

forward_scheme!(Box<S>, Arc<S>);

/// Any scheme, chosen at run time (from configuration, say).
///
/// Prefer it to `Box<dyn Scheme>` as the layer's scheme type: it is one
/// concrete type, which keeps the service's futures provably `Send` in every
/// server (rustc cannot always prove that through a boxed trait object).
///
/// ```
/// use tower_webhook::scheme::{AnyScheme, Scheme, StandardWebhooks};
/// let scheme = AnyScheme::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// assert_eq!(scheme.name(), "standard");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone)]
pub struct AnyScheme(Arc<dyn Scheme>);

impl AnyScheme {
    /// Wraps `scheme`.
    pub fn new(scheme: impl Scheme) -> Self {
        Self(Arc::new(scheme))
    }
}

impl From<Box<dyn Scheme>> for AnyScheme {
    fn from(scheme: Box<dyn Scheme>) -> Self {
        Self(Arc::from(scheme))
    }
}

impl std::fmt::Debug for AnyScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AnyScheme").field(&self.0.name()).finish()
    }
}

impl Scheme for AnyScheme {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }
    fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
        self.0.check_head(head, ctx)
    }
    fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
        self.0.verify(head, body, ctx)
    }
    fn handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
        self.0.handshake(head, body)
    }
    fn has_timestamp(&self) -> bool {
        self.0.has_timestamp()
    }
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        self.0.sign(request, id, timestamp)
    }
}
