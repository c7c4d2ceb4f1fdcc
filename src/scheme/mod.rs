//! How senders sign: the [`Scheme`] trait, the generic [`HmacScheme`], and
//! one preset per sender.
//!
//! A scheme is plain synchronous code over the request head, the buffered
//! body and a [`Context`] (the current time and the timestamp tolerance). It
//! reads the head once ([`Scheme::read`]): the layer refuses what the head
//! alone condemns before it reads a byte of the body. Once the body is in, it
//! verifies the body against what it read ([`Scheme::verify`]) and gives its
//! [`Verdict`]: a delivery, described by an [`Envelope`] built from signed
//! bytes only, or the answer to a signed endpoint handshake. It knows nothing
//! about tower, axum or the dedup store, so it can be unit-tested and fuzzed
//! without a runtime.
//!
//! Every scheme of this crate compares signatures in constant time (with
//! [`subtle`]), tries every candidate signature against every active secret
//! without an early exit, and never puts a secret or a full signature into an
//! error. Signing, for tests and examples, is a trait of its own, [`Sign`].
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
//! let ctx = Context::new(now, Tolerance::default());
//! let read = scheme.read(&head, &ctx)?; // before the body: a cheap refusal
//! let verdict = scheme.verify(&head, read, &body, &ctx)?;
//! assert_eq!(verdict.envelope().and_then(|e| e.id).as_deref(), Some("msg_1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod any;
mod context;
mod envelope;
mod error;
mod handshake;
mod hmac;
pub(crate) mod json;
mod key_id;
mod presets;
mod rules;
pub(crate) use rules::hex;
mod url;

mod calendly;
#[cfg(feature = "discord")]
#[cfg_attr(docsrs, doc(cfg(feature = "discord")))]
mod discord;
mod dropbox;
#[cfg(feature = "ebay")]
mod ebay;
mod github;
mod hubspot;
mod intercom;
mod linear;
mod linkedin;
mod mailgun;
mod meta;
mod paddle;
mod pagerduty;
#[cfg(feature = "paypal")]
mod paypal;
#[cfg(feature = "salesforce")]
#[cfg_attr(docsrs, doc(cfg(feature = "salesforce")))]
mod salesforce;
#[cfg(feature = "sendgrid")]
#[cfg_attr(docsrs, doc(cfg(feature = "sendgrid")))]
mod sendgrid;
mod shopify;
mod slack;
#[cfg(feature = "sns")]
mod sns;
mod square;
mod standard;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
mod standard_ed25519;
mod stripe;
mod token;
mod twilio;
mod twitch;
mod typeform;
mod zoom;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;

pub use any::AnyScheme;
pub use calendly::Calendly;
pub use context::{Context, Tolerance};
#[cfg(feature = "discord")]
#[cfg_attr(docsrs, doc(cfg(feature = "discord")))]
pub use discord::Discord;
pub use dropbox::Dropbox;
#[cfg(feature = "ebay")]
pub use ebay::{Ebay, EbayHead};
pub use envelope::{Acknowledgement, Dedup, Envelope, EventName, Format, Verdict};
pub use error::{SchemeConfigError, SignError, VerifyError};
pub use github::GitHub;
pub use hmac::{Algorithm, Encoding, HmacBuilder, HmacScheme, Part, TimeUnit};
pub use hubspot::HubSpot;
pub use intercom::Intercom;
pub use key_id::KeyId;
pub use linear::Linear;
pub use linkedin::{LinkedIn, LinkedInReading};
pub use mailgun::Mailgun;
pub use meta::Meta;
pub use paddle::Paddle;
pub use pagerduty::PagerDuty;
#[cfg(feature = "paypal")]
pub use paypal::{PayPal, PayPalHead};
pub use presets::{PRESETS, PresetOptions, by_name};
#[cfg(feature = "salesforce")]
#[cfg_attr(docsrs, doc(cfg(feature = "salesforce")))]
pub use salesforce::{Notification, OutboundMessage, SObject, Salesforce, SessionId};
#[cfg(feature = "sendgrid")]
#[cfg_attr(docsrs, doc(cfg(feature = "sendgrid")))]
pub use sendgrid::SendGrid;
pub use shopify::Shopify;
pub use slack::Slack;
#[cfg(feature = "sns")]
pub use sns::{SNS_DEFAULT_MAX_AGE, Sns, SnsSubscription};
pub use square::Square;
pub use standard::StandardWebhooks;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use standard_ed25519::StandardWebhooksEd25519;
pub use stripe::Stripe;
pub use token::Token;
pub use twilio::Twilio;
pub use twitch::Twitch;
pub use typeform::Typeform;
pub use zoom::Zoom;

/// How one sender (or family of senders) signs its deliveries.
///
/// Implementations must compare signatures in constant time, try every
/// candidate against every secret without an early exit on a secret-dependent
/// condition, never panic on any input, and decide everything that decides
/// whether and how the handler runs (the event id it dedups on, the payload
/// format, the message type) from signed bytes only.
///
/// A sender that puts a shared token in a header (compared in constant
/// time; a token proves less than a signature over the body):
///
/// ```
/// use subtle::ConstantTimeEq;
/// use tower_webhook::scheme::{Context, Envelope, KeyId, Scheme, Verdict, VerifyError};
///
/// struct SharedToken(Vec<u8>);
///
/// impl Scheme for SharedToken {
///     type Head = ();
///     fn name(&self) -> &'static str { "token" }
///     fn key_id(&self) -> KeyId { KeyId::from_secret(&self.0) }
///     fn has_timestamp(&self) -> bool { false }
///     fn read(&self, head: &http::request::Parts, _: &Context) -> Result<(), VerifyError> {
///         let header = "x-token";
///         let got = head.headers.get(header).ok_or(VerifyError::MissingHeader { header })?;
///         if bool::from(got.as_bytes().ct_eq(&self.0)) {
///             Ok(())
///         } else {
///             Err(VerifyError::NoMatch { header, candidates: 1, keys: 1 })
///         }
///     }
///     fn verify(&self, _: &http::request::Parts, (): (), _: &[u8], _: &Context) -> Result<Verdict, VerifyError> {
///         Ok(Envelope::default().into())
///     }
/// }
/// let layer = tower_webhook::WebhookLayer::new(SharedToken(b"s3cret".to_vec()));
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// What [`read`](Self::read) learns from the head, handed to
    /// [`verify`](Self::verify): the head is parsed once.
    type Head: Send + Sync + 'static;

    /// A short stable name (`"standard"`, `"stripe"`), used in dedup keys
    /// and logs.
    fn name(&self) -> &'static str;

    /// A fingerprint of the keys this scheme verifies with (its newest
    /// secret, or its public keys): [`KeyId::from_secret`] or
    /// [`KeyId::from_public_key`]. The layer's default dedup namespace.
    fn key_id(&self) -> KeyId;

    /// Whether verified deliveries carry a signed timestamp. Schemes without
    /// one rely on the dedup retention alone against replays.
    fn has_timestamp(&self) -> bool;

    /// Answers an endpoint handshake that carries no signature, from the
    /// head alone (a `GET` challenge: Dropbox, Meta, LinkedIn), before
    /// anything else. An answer holding a keyed MAC of request data must only
    /// be given for input of the exact form the sender uses, and must never
    /// equal a signature [`verify`](Self::verify) accepts. The default
    /// answers nothing.
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        let _ = head;
        None
    }

    /// Reads what the head says, once, before the body is buffered: the
    /// required headers present and well-formed, the timestamp within the
    /// tolerance at `ctx`'s time. An error refuses the request before a byte
    /// of its body is read.
    fn read(&self, head: &Parts, ctx: &Context) -> Result<Self::Head, VerifyError>;

    /// Verifies the buffered body against what [`read`](Self::read) found,
    /// at `ctx`'s time (read when the whole body is in: a timestamp is
    /// checked again), and gives the verdict.
    fn verify(
        &self,
        head: &Parts,
        read: Self::Head,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError>;

    /// What fetches the keys this scheme's deliveries name, when
    /// [`verify`](Self::verify) answers [`VerifyError::KeyNeeded`] (the
    /// senders that publish their keys: eBay, AWS SNS, PayPal). The layer
    /// awaits [`KeyFetcher::fetch`](crate::keys::KeyFetcher::fetch), then
    /// reads and verifies again, once. The default fetches nothing.
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Stripe};
    /// assert!(Stripe::new("whsec_test")?.key_fetcher().is_none());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    fn key_fetcher(&self) -> Option<&dyn crate::keys::KeyFetcher> {
        None
    }

    /// [`read`](Self::read) then [`verify`](Self::verify) at one time: a
    /// whole request checked at once (tests, tools).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, Scheme, Stripe, Tolerance};
    /// use tower_webhook::sign::Signer;
    /// let scheme = Stripe::new("whsec_test")?;
    /// let (head, body) = Signer::new(&scheme).request("/hook", r#"{"id":"evt_1"}"#)?.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(SystemTime::now(), Tolerance::default()))?.envelope();
    /// assert_eq!(envelope.and_then(|e| e.id).as_deref(), Some("evt_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn check(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Verdict, VerifyError> {
        let read = self.read(head, ctx)?;
        self.verify(head, read, body, ctx)
    }
}

/// A scheme that can sign requests as its sender does, for tests, examples
/// and tools ([`Signer`](crate::sign::Signer) uses it). Verifying never
/// needs it.
///
/// ```
/// use std::time::SystemTime;
/// use tower_webhook::scheme::{Sign, Stripe};
/// let scheme = Stripe::new("whsec_test")?;
/// let mut request = http::Request::post("/hook").body(bytes::Bytes::from_static(br#"{"id":"evt_1"}"#))?;
/// scheme.sign(&mut request, "evt_1", SystemTime::now())?;
/// assert!(request.headers()["stripe-signature"].to_str()?.starts_with("t="));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Sign: Scheme {
    /// Signs `request` (adds headers, or rewrites the URI or body where the
    /// sender does) as the sender would for event `id` at `timestamp`.
    /// Senders that carry the id in the body ignore `id`; a scheme that
    /// cannot honour what it is asked answers [`SignError`].
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError>;
}

impl<S: Scheme + ?Sized> Scheme for Arc<S> {
    type Head = S::Head;
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn key_id(&self) -> KeyId {
        (**self).key_id()
    }
    fn has_timestamp(&self) -> bool {
        (**self).has_timestamp()
    }
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        (**self).challenge(head)
    }
    fn key_fetcher(&self) -> Option<&dyn crate::keys::KeyFetcher> {
        (**self).key_fetcher()
    }
    fn read(&self, head: &Parts, ctx: &Context) -> Result<S::Head, VerifyError> {
        (**self).read(head, ctx)
    }
    fn verify(
        &self,
        head: &Parts,
        read: S::Head,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        (**self).verify(head, read, body, ctx)
    }
}

impl<S: Sign + ?Sized> Sign for Arc<S> {
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        (**self).sign(request, id, timestamp)
    }
}

/// Helpers for the schemes' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use hmac::{KeyInit, Mac};

    use super::{Context, Envelope, Tolerance, Verdict};

    /// A context at `secs` Unix seconds, with the default tolerance.
    pub(crate) fn at(secs: u64) -> Context {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        Context::new(now, Tolerance::default())
    }

    /// A context at the current time, with the default tolerance.
    pub(crate) fn now() -> Context {
        Context::new(std::time::SystemTime::now(), Tolerance::default())
    }

    /// `scheme`'s delivery of a `POST /` carrying `headers` and `body`, now.
    pub(crate) fn check_now<S: super::Scheme>(
        scheme: &S,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Envelope, super::VerifyError> {
        scheme.check(&post(headers), body, &now()).map(deliver)
    }

    /// The head of a `POST /` carrying `headers`.
    #[allow(clippy::unwrap_used)]
    pub(crate) fn post(headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::post("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    /// HMAC-SHA256 of `parts` under `key`, with the `hmac` crate directly:
    /// an independent reference for the schemes' tags.
    pub(crate) fn hmac_sha256(key: &str, parts: &[&[u8]]) -> Vec<u8> {
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else {
            return Vec::new();
        };
        parts.iter().for_each(|p| mac.update(p));
        mac.finalize().into_bytes().to_vec()
    }

    /// The delivery of a verdict that must be one.
    #[allow(clippy::panic)]
    pub(crate) fn deliver(verdict: Verdict) -> Envelope {
        match verdict {
            Verdict::Deliver(e) => e,
            Verdict::Answer(r) => panic!("a handshake answer, not a delivery: {r:?}"),
        }
    }
}
