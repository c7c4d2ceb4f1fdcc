//! [`HmacBuilder`]: configures an [`HmacScheme`].

use std::fmt;

use bytes::Bytes;
use http::request::Parts;

use super::keys::{Algorithm, Keys};
use super::{Config, EventSource, FormatRule, HmacScheme, TimestampSource};
use crate::scheme::json::Field;
use crate::scheme::rules::Name;
use crate::scheme::url::PublicUrl;
use crate::scheme::{Dedup, Encoding, Format, SchemeConfigError, TimeUnit};
use crate::secret::{KeyRing, SecretError};

/// One piece of the signed content, fed to the MAC in order (never
/// concatenated into a buffer).
///
/// ```
/// use tower_webhook::scheme::{HmacScheme, Part, TimeUnit};
/// // Slack's layout: `v0:{timestamp}:{body}`.
/// let layout = [Part::Literal("v0:"), Part::Timestamp, Part::Literal(":"), Part::Body];
/// let builder = HmacScheme::builder("slack-like", "x-signature")
///     .prefix("v0=")
///     .timestamp_header("x-timestamp", TimeUnit::Seconds)
///     .content(layout);
/// # let _ = builder;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The raw body bytes.
    Body,
    /// The timestamp exactly as sent.
    Timestamp,
    /// The event id exactly as sent.
    Id,
    /// The request method (`POST`).
    Method,
    /// The configured public URL, with the request's query string.
    Url,
    /// Fixed text such as a separator or a version tag.
    Literal(&'static str),
}

/// Answers a signed handshake from fields of the verified JSON body (the
/// values at `fields`, in order); `answer` gives `None` when the body is not
/// a handshake.
#[derive(Clone, Copy)]
pub(crate) struct Answer {
    pub(crate) fields: &'static [&'static str],
    pub(crate) answer: fn(&HmacScheme, &[Option<Field>]) -> Option<Response>,
}

type Response = http::Response<Bytes>;

/// Answers an unsigned `GET` handshake from the head.
pub(crate) type Challenge =
    std::sync::Arc<dyn Fn(&Parts) -> Option<http::Response<Bytes>> + Send + Sync>;

/// Configures an [`HmacScheme`]; start with [`HmacScheme::builder`].
///
/// ```
/// use tower_webhook::scheme::{Encoding, HmacScheme, SchemeConfigError};
/// use tower_webhook::secret::{KeyRing, Secret};
///
/// let ring = KeyRing::single(Secret::from_text("secret")?);
/// // Shopify-like: base64 HMAC-SHA256 of the body.
/// let scheme = HmacScheme::builder("acme", "x-acme-hmac").encoding(Encoding::Base64).build(&ring)?;
/// // Signing the URL needs the public URL.
/// let err = HmacScheme::builder("acme", "x").content([tower_webhook::scheme::Part::Url]).build(&ring);
/// assert!(err.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HmacBuilder {
    pub(super) config: Config,
}

impl fmt::Debug for HmacBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

impl HmacBuilder {
    pub(super) fn new(name: &'static str, signature_header: &'static str) -> Self {
        Self {
            config: Config {
                name,
                algorithm: Algorithm::Sha256,
                encoding: Encoding::Hex,
                signature_header,
                prefix: "",
                optional_prefix: "",
                separator: None,
                timestamp: None,
                id_headers: Vec::new(),
                id_json: None,
                event: None,
                content: vec![Part::Body],
                public_url: None,
                url_transform: None,
                dedup: Dedup::Signed,
                format: FormatRule::Always(Format::Json),
                answer: None,
                challenge: None,
            },
        }
    }

    /// The hash (default SHA-256).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.config.algorithm = algorithm;
        self
    }

    /// How signatures are written (default hex).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.config.encoding = encoding;
        self
    }

    /// A prefix every signature carries, such as `sha256=` or `v1=`
    /// (default none). Entries without it are ignored, which is how other
    /// versions (a `v0=` next to a `v1=`) are never accepted.
    pub fn prefix(mut self, prefix: &'static str) -> Self {
        self.config.prefix = prefix;
        self
    }

    /// A prefix a signature may carry or not (LinkedIn's `hmacsha256=`):
    /// stripped when present, after [`prefix`](Self::prefix); never written
    /// when signing (default none).
    ///
    /// ```
    /// let b = tower_webhook::scheme::HmacScheme::builder("acme", "x-sig").optional_prefix("sha256=");
    /// # let _ = b;
    /// ```
    pub fn optional_prefix(mut self, prefix: &'static str) -> Self {
        self.config.optional_prefix = prefix;
        self
    }

    /// The header lists several entries separated by `separator` (`,` for
    /// Stripe and PagerDuty, `;` for Paddle). Any matching entry verifies.
    pub fn separator(mut self, separator: char) -> Self {
        self.config.separator = Some(separator);
        self
    }

    /// The timestamp is the value of header `name`.
    pub fn timestamp_header(mut self, name: &'static str, unit: TimeUnit) -> Self {
        self.config.timestamp = Some((TimestampSource::Header(name), unit));
        self
    }

    /// The timestamp is the entry of the signature header that starts with
    /// `prefix` (Stripe's `t=`, Paddle's `ts=`). Needs a separator.
    pub fn timestamp_entry(mut self, prefix: &'static str, unit: TimeUnit) -> Self {
        self.config.timestamp = Some((TimestampSource::Entry(prefix), unit));
        self
    }

    /// The timestamp is at JSON `pointer` (`/webhookTimestamp`) in the body
    /// (a number, or a string for [`TimeUnit::Rfc3339`]); it is checked once
    /// the signature verified, and errors name the pointer. The body carries
    /// it, so signing cannot set it: put it in the body you sign.
    pub fn timestamp_json(mut self, pointer: &'static str, unit: TimeUnit) -> Self {
        self.config.timestamp = Some((TimestampSource::Json(pointer), unit));
        self
    }

    /// The event id is the value of header `name` (signed only when
    /// [`Part::Id`] is in the content). Repeat to try several headers in
    /// order; the first present one is used.
    pub fn id_header(mut self, name: &'static str) -> Self {
        self.config.id_headers.push(name);
        self
    }

    /// The event id is the string or number at JSON `pointer` (`/id`,
    /// `/event/id`) in the signed body, preferred to an id header. A body
    /// without it verifies all the same, and is deduplicated on its hash.
    pub fn id_json(mut self, pointer: &'static str) -> Self {
        self.config.id_json = Some(pointer);
        self
    }

    /// The event type is the string at JSON `pointer` (`/type`,
    /// `/event/type`) in the signed body; see
    /// [`Delivery::event`](crate::Delivery::event).
    ///
    /// ```
    /// let b = tower_webhook::scheme::HmacScheme::builder("acme", "x-acme-signature").event_json("/type");
    /// # drop(b);
    /// ```
    pub fn event_json(mut self, pointer: &'static str) -> Self {
        self.config.event = Some(EventSource::Json(pointer));
        self
    }

    /// The event type is the value of the header `name` (lower case), which
    /// the signature does not cover (GitHub's `x-github-event`).
    ///
    /// ```
    /// let b = tower_webhook::scheme::HmacScheme::builder("acme", "x-acme-signature").event_header("x-acme-event");
    /// # drop(b);
    /// ```
    pub fn event_header(mut self, name: &'static str) -> Self {
        self.config.event = Some(EventSource::Header(name));
        self
    }

    /// The signed content, in order (default: the body alone). It must
    /// include [`Part::Body`].
    pub fn content(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.config.content = parts.into_iter().collect();
        self
    }

    /// The endpoint's public URL as registered with the sender (needed by
    /// [`Part::Url`]): proxies rewrite `Host`, and a mounted router sees a
    /// shortened path, so the request's own URI cannot be trusted for this.
    /// The request's query string replaces the configured one when present.
    pub fn public_url(mut self, url: &str) -> Result<Self, SchemeConfigError> {
        self.config.public_url = Some(PublicUrl::parse(url)?);
        Ok(self)
    }

    /// The body's format (default [`Format::Json`]), fixed for every
    /// delivery: the request's `Content-Type` is not signed and never
    /// chooses it.
    pub fn format(mut self, format: Format) -> Self {
        self.config.format = FormatRule::Always(format);
        self
    }

    /// Remembers each delivery by its unsigned id header too, besides the
    /// signed data ([`Dedup::SignedOrId`]): for a sender whose retries
    /// re-sign a changed body but keep their delivery id. Default: signed
    /// data only ([`Dedup::Signed`]).
    pub fn dedup_on_unsigned_id_too(mut self) -> Self {
        self.config.dedup = Dedup::SignedOrId;
        self
    }

    /// Turns deduplication off for this sender ([`Dedup::Off`]): its bodies
    /// legitimately repeat, and handling one twice is harmless.
    pub fn without_dedup(mut self) -> Self {
        self.config.dedup = Dedup::Off;
        self
    }

    pub(crate) fn url_transform(mut self, f: fn(&str) -> String) -> Self {
        self.config.url_transform = Some(f);
        self
    }

    pub(crate) fn format_rule(mut self, rule: FormatRule) -> Self {
        self.config.format = rule;
        self
    }

    pub(crate) fn answer(mut self, answer: Answer) -> Self {
        self.config.answer = Some(answer);
        self
    }

    pub(crate) fn challenge(
        mut self,
        challenge: impl Fn(&Parts) -> Option<http::Response<Bytes>> + Send + Sync + 'static,
    ) -> Self {
        self.config.challenge = Some(std::sync::Arc::new(challenge));
        self
    }

    /// Keys the scheme with every secret of `ring`.
    ///
    /// Fails when the ring is empty, when the body is not signed, when
    /// [`Part::Url`] is signed but no public URL is set, or when
    /// [`Part::Timestamp`]/[`Part::Id`] is signed but no source for it is
    /// configured.
    pub fn build(self, ring: &KeyRing) -> Result<HmacScheme, SchemeConfigError> {
        let c = &self.config;
        let invalid = |reason| {
            Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason,
            })
        };
        let signs = |part| c.content.contains(&part);
        if !signs(Part::Body) {
            return invalid(
                "the signed content must include Part::Body: nothing unsigned may reach the handler",
            );
        }
        if signs(Part::Url) && c.public_url.is_none() {
            return Err(SchemeConfigError::MissingPublicUrl { scheme: c.name });
        }
        match c.timestamp {
            None if signs(Part::Timestamp) => {
                return invalid("the timestamp is signed but no timestamp source is configured");
            }
            Some((TimestampSource::Json(_), _)) if signs(Part::Timestamp) => {
                return invalid(
                    "a timestamp read from the JSON body is signed with the body: leave Part::Timestamp out of the content",
                );
            }
            Some((TimestampSource::Entry(_), _)) if c.separator.is_none() => {
                return invalid("a timestamp entry in the signature header needs a separator");
            }
            _ => {}
        }
        let event = match c.event {
            Some(EventSource::Header(name)) => Some(name),
            _ => None,
        };
        let headers = std::iter::once(c.signature_header)
            .chain(c.id_headers.iter().copied())
            .chain(event);
        let timestamp = match c.timestamp {
            Some((TimestampSource::Header(name), _)) => Some(name),
            _ => None,
        };
        if headers.chain(timestamp).any(|n| Name::parse(n).is_none()) {
            return invalid("a header name is not a valid lower-case HTTP header name");
        }
        if signs(Part::Id) && c.id_headers.is_empty() {
            return invalid("the id is signed but no id header is configured");
        }
        Ok(self.build_keys(ring)?)
    }

    /// Keys a configuration known to be consistent (the presets').
    pub(crate) fn build_keys(self, ring: &KeyRing) -> Result<HmacScheme, SecretError> {
        let keys = Keys::new(self.config.algorithm, ring)?;
        Ok(HmacScheme::from_config(self.config, keys))
    }
}
