//! One configurable HMAC engine for every sender that signs "some parts of
//! the request, HMAC'd with a shared secret, written into a header".
//!
//! Most presets of this crate ([`Stripe`](super::Stripe),
//! [`Slack`](super::Slack), [`Shopify`](super::Shopify), ...) are a
//! configuration of [`HmacScheme`]; use [`HmacScheme::builder`] for a sender
//! this crate has no preset for. What can be configured:
//!
//! - the hash ([`Algorithm`]: SHA-1, SHA-256, SHA-512) and the signature
//!   [`Encoding`] (hex or base64);
//! - the signature header, a prefix every signature carries (`sha256=`,
//!   `v1=`), and a separator when the header lists several signatures;
//! - where the timestamp comes from (a header, an entry of the signature
//!   header such as Stripe's `t=`, or a field of the JSON body), in seconds or
//!   milliseconds;
//! - where the event id comes from (headers, or a field of the JSON body);
//! - the signed content, as a sequence of [`Part`]s: body, timestamp, id,
//!   method, the public URL, literal separators.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_webhook::scheme::{Algorithm, Context, Encoding, HmacScheme, Part, Scheme, TimeUnit, Tolerance};
//! use tower_webhook::secret::{KeyRing, Secret};
//! use tower_webhook::sign::Signer;
//!
//! // A sender that signs "{timestamp}.{body}" with HMAC-SHA512, hex, in
//! // `X-Acme-Signature: sha512=...`, timestamp in `X-Acme-Timestamp`.
//! let scheme = HmacScheme::builder("acme", "x-acme-signature")
//!     .algorithm(Algorithm::Sha512)
//!     .encoding(Encoding::Hex)
//!     .prefix("sha512=")
//!     .timestamp_header("x-acme-timestamp", TimeUnit::Seconds)
//!     .id_header("x-acme-delivery")
//!     .content([Part::Timestamp, Part::Literal("."), Part::Body])
//!     .build(&KeyRing::single(Secret::from_text("s3cret")?))?;
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let (head, body) = Signer::new(&scheme).id("d-1").timestamp(now).request("/hook", "{}")?.into_parts();
//! let envelope = scheme.verify(&head, &body, &Context::new(now, Tolerance::default()))?;
//! assert_eq!(envelope.id.as_deref(), Some("d-1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use hmac::Mac;
use http::HeaderValue;
use http::request::Parts;
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use super::url::PublicUrl;
use super::util::strip_prefix_short;
use super::{
    Context, Dedup, Encoding, Envelope, Format, KeyId, Keyed, Scheme, SchemeConfigError, SignError,
    VerifyError, check_timestamp, parse_unix_digits, single_header,
};
use crate::clock::{from_unix_millis, unix_millis};
use crate::secret::{KeyRing, SecretError};

/// The most entries a signature header may hold; more refuse the header.
pub const MAX_SIGNATURES: usize = 32;

/// The longest event id accepted, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// The longest tag of any [`Algorithm`] (SHA-512), in bytes.
const MAX_TAG: usize = 64;

/// The hash under the HMAC.
///
/// ```
/// use tower_webhook::scheme::Algorithm;
/// assert_eq!(Algorithm::Sha1.tag_len(), 20);
/// assert_eq!(Algorithm::Sha512.tag_len(), 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy senders only: Twilio, GitHub's old header, Intercom).
    Sha1,
    /// HMAC-SHA256, what nearly every sender uses.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// Length of the tag in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// How a timestamp is written.
///
/// ```
/// use tower_webhook::scheme::{HmacScheme, Part, TimeUnit};
/// // HubSpot-style: milliseconds in a header, signed after the body.
/// let builder = HmacScheme::builder("acme", "x-acme-signature")
///     .timestamp_header("x-acme-timestamp", TimeUnit::Millis)
///     .content([Part::Body, Part::Timestamp]);
/// # let _ = builder;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds since the Unix epoch.
    Seconds,
    /// Milliseconds since the Unix epoch.
    Millis,
    /// An RFC 3339 date-time (`2019-11-16T10:11:12.634234626Z`, Twitch).
    Rfc3339,
}

impl TimeUnit {
    /// Parses `text` (read from `header`) into milliseconds since the epoch.
    fn parse(self, header: &'static str, text: &str) -> Result<i64, VerifyError> {
        match self {
            Self::Seconds => Ok(parse_unix_digits(header, text, 12)?.saturating_mul(1000)),
            Self::Millis => parse_unix_digits(header, text, 15),
            Self::Rfc3339 => super::parse_rfc3339(header, text),
        }
    }

    fn render(self, t: SystemTime) -> String {
        match self {
            Self::Seconds => crate::clock::unix_seconds(t).to_string(),
            Self::Millis => unix_millis(t).to_string(),
            Self::Rfc3339 => super::util::format_rfc3339(t),
        }
    }
}

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

/// Where the timestamp is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimestampSource {
    Header(&'static str),
    /// An entry of the signature header starting with this prefix (`t=`).
    Entry(&'static str),
    /// A JSON pointer into the body (a number).
    Json(&'static str),
}

/// A handshake recognised by a preset built on the engine.
#[derive(Clone, Debug)]
pub(crate) enum Handshake {
    /// Slack `url_verification`: echo `challenge` (signed POST, recognised
    /// by the body's `type`).
    Slack,
    /// Zoom `endpoint.url_validation`: answer `plainToken` and its HMAC, for
    /// tokens of Zoom's form only.
    Zoom,
    /// Twitch EventSub `webhook_callback_verification`: echo `challenge`
    /// (recognised by the signed body, never by the message type header).
    Twitch,
    /// Dropbox: `GET ?challenge=` echoed as text.
    Dropbox,
}

/// HMAC states for any [`Algorithm`].
#[derive(Clone)]
enum Keys {
    Sha1(Keyed<Sha1>),
    Sha256(Keyed<Sha256>),
    Sha512(Keyed<Sha512>),
}

/// Writes signed content into a sink, piece by piece.
pub(crate) type Feed<'a> = &'a dyn Fn(&mut dyn FnMut(&[u8]));

impl Keys {
    fn new(algorithm: Algorithm, ring: &KeyRing) -> Result<Self, SecretError> {
        Ok(match algorithm {
            Algorithm::Sha1 => Self::Sha1(Keyed::new(ring)?),
            Algorithm::Sha256 => Self::Sha256(Keyed::new(ring)?),
            Algorithm::Sha512 => Self::Sha512(Keyed::new(ring)?),
        })
    }

    fn len(&self) -> usize {
        match self {
            Self::Sha1(k) => k.len(),
            Self::Sha256(k) => k.len(),
            Self::Sha512(k) => k.len(),
        }
    }

    fn key_id(&self) -> KeyId {
        match self {
            Self::Sha1(k) => k.key_id(),
            Self::Sha256(k) => k.key_id(),
            Self::Sha512(k) => k.key_id(),
        }
    }

    fn matches_any(&self, candidates: &Candidates, feed: Feed<'_>) -> bool {
        let tags = candidates.slices();
        match self {
            Self::Sha1(k) => k.matches_any_of(tags, |m| feed(&mut |b| m.update(b))),
            Self::Sha256(k) => k.matches_any_of(tags, |m| feed(&mut |b| m.update(b))),
            Self::Sha512(k) => k.matches_any_of(tags, |m| feed(&mut |b| m.update(b))),
        }
    }

    fn sign_all(&self, feed: Feed<'_>) -> Vec<Vec<u8>> {
        match self {
            Self::Sha1(k) => k.sign_all(|m| feed(&mut |b| m.update(b))),
            Self::Sha256(k) => k.sign_all(|m| feed(&mut |b| m.update(b))),
            Self::Sha512(k) => k.sign_all(|m| feed(&mut |b| m.update(b))),
        }
    }
}

/// Configures an [`HmacScheme`]; start with [`HmacScheme::builder`].
///
/// ```
/// use tower_webhook::scheme::{Encoding, HmacScheme, SchemeConfigError};
/// use tower_webhook::secret::{KeyRing, Secret};
///
/// let ring = KeyRing::single(Secret::from_text("secret")?);
/// // Shopify-like: base64 HMAC-SHA256 of the body.
/// let scheme = HmacScheme::builder("acme", "x-acme-hmac").encoding(Encoding::Base64).build(&ring)?;
/// assert_eq!(scheme.signature_header(), "x-acme-hmac");
/// // Signing the URL needs the public URL.
/// let err = HmacScheme::builder("acme", "x").content([tower_webhook::scheme::Part::Url, tower_webhook::scheme::Part::Body]).build(&ring);
/// assert!(matches!(err, Err(SchemeConfigError::MissingPublicUrl { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct HmacBuilder {
    config: Config,
}

#[derive(Clone)]
struct Config {
    name: &'static str,
    algorithm: Algorithm,
    encoding: Encoding,
    signature_header: &'static str,
    prefix: &'static str,
    optional_prefix: &'static str,
    separator: Option<char>,
    timestamp: Option<(TimestampSource, TimeUnit)>,
    id_headers: Vec<&'static str>,
    id_json: Option<&'static str>,
    content: Vec<Part>,
    public_url: Option<PublicUrl>,
    url_transform: Option<fn(&str) -> String>,
    handshake: Option<Handshake>,
    dedup: DedupPolicy,
    format: FormatRule,
}

/// What a preset built on the engine dedups on (see [`Dedup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DedupPolicy {
    Signed,
    SignedOrId,
    Off,
}

/// How the engine tells the body's format from its signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FormatRule {
    Always(Format),
    /// [`Format::json_or_form`].
    JsonOrForm,
    /// [`Format::json_or_payload_form`].
    JsonOrPayloadForm,
}

impl FormatRule {
    fn format(self, body: &[u8]) -> Format {
        match self {
            Self::Always(f) => f,
            Self::JsonOrForm => Format::json_or_form(body),
            Self::JsonOrPayloadForm => Format::json_or_payload_form(body),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("encoding", &self.encoding)
            .field("signature_header", &self.signature_header)
            .field("prefix", &self.prefix)
            .field("optional_prefix", &self.optional_prefix)
            .field("separator", &self.separator)
            .field("timestamp", &self.timestamp)
            .field("id_headers", &self.id_headers)
            .field("id_json", &self.id_json)
            .field("content", &self.content)
            .field("public_url", &self.public_url)
            .field("dedup", &self.dedup)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl HmacBuilder {
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
    /// versions and schemes (a `v0=` next to a `v1=`) are never accepted.
    pub fn prefix(mut self, prefix: &'static str) -> Self {
        self.config.prefix = prefix;
        self
    }

    /// A prefix a signature may carry or not (LinkedIn's `hmacsha256=`):
    /// stripped when present, after [`prefix`](Self::prefix); never written
    /// by [`Scheme::sign`] (default none).
    ///
    /// ```
    /// use tower_webhook::scheme::{Context, HmacScheme, Scheme, Tolerance};
    /// use tower_webhook::secret::{KeyRing, Secret};
    /// use tower_webhook::sign::Signer;
    ///
    /// let ring = KeyRing::single(Secret::from_text("s3cret")?);
    /// let scheme = HmacScheme::builder("acme", "x-acme-signature").optional_prefix("sha256=").build(&ring)?;
    /// let (mut head, body) = Signer::new(&scheme).request("/hook", "{}")?.into_parts();
    /// let ctx = Context::new(std::time::SystemTime::now(), Tolerance::default());
    /// scheme.verify(&head, &body, &ctx)?; // bare hex, as signed
    /// let value = format!("sha256={}", head.headers["x-acme-signature"].to_str()?);
    /// head.headers.insert("x-acme-signature", value.parse()?);
    /// scheme.verify(&head, &body, &ctx)?; // and with the prefix
    /// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// it, so [`Scheme::sign`] cannot set it: put it in the body you sign.
    pub fn timestamp_json(mut self, pointer: &'static str, unit: TimeUnit) -> Self {
        self.config.timestamp = Some((TimestampSource::Json(pointer), unit));
        self
    }

    /// The event id is the value of header `name`. Repeat to try several
    /// headers in order; the first present one is used.
    pub fn id_header(mut self, name: &'static str) -> Self {
        self.config.id_headers.push(name);
        self
    }

    /// The event id is the string or number at JSON `pointer` (`/id`,
    /// `/event/id`) in the body, when no id header is present. A body without
    /// it verifies all the same; the layer then dedups on the body's hash.
    pub fn id_json(mut self, pointer: &'static str) -> Self {
        self.config.id_json = Some(pointer);
        self
    }

    /// The signed content, in order (default: the body alone).
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

    /// Rewrites the URL before it is signed (HubSpot decodes some escapes).
    pub(crate) fn url_transform(mut self, f: fn(&str) -> String) -> Self {
        self.config.url_transform = Some(f);
        self
    }

    /// The body's format (default [`Format::Json`]), fixed for every
    /// delivery: the request's `Content-Type` is not signed and never
    /// chooses it.
    ///
    /// ```
    /// use tower_webhook::scheme::{Format, HmacScheme};
    /// let builder = HmacScheme::builder("acme", "x-acme-signature").format(Format::Form);
    /// # let _ = builder;
    /// ```
    pub fn format(mut self, format: Format) -> Self {
        self.config.format = FormatRule::Always(format);
        self
    }

    pub(crate) fn format_rule(mut self, rule: FormatRule) -> Self {
        self.config.format = rule;
        self
    }

    /// Remembers each delivery by its unsigned id header too, besides the
    /// signed data ([`Dedup::SignedOrId`]): for a sender whose retries
    /// re-sign a changed body but keep their delivery id. Default: signed
    /// data only ([`Dedup::Signed`]).
    ///
    /// ```
    /// use tower_webhook::scheme::{HmacScheme, TimeUnit};
    /// let builder = HmacScheme::builder("acme", "x-acme-signature")
    ///     .timestamp_json("/sentAt", TimeUnit::Millis)
    ///     .id_header("x-acme-delivery")
    ///     .dedup_on_unsigned_id_too();
    /// # let _ = builder;
    /// ```
    pub fn dedup_on_unsigned_id_too(mut self) -> Self {
        self.config.dedup = DedupPolicy::SignedOrId;
        self
    }

    /// Turns deduplication off for this sender ([`Dedup::Off`]): its bodies
    /// legitimately repeat, and handling one twice is harmless.
    ///
    /// ```
    /// let builder = tower_webhook::scheme::HmacScheme::builder("acme", "x-acme-signature").without_dedup();
    /// # let _ = builder;
    /// ```
    pub fn without_dedup(mut self) -> Self {
        self.config.dedup = DedupPolicy::Off;
        self
    }

    pub(crate) fn handshake(mut self, handshake: Handshake) -> Self {
        self.config.handshake = Some(handshake);
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
        if !c.content.contains(&Part::Body) {
            return Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason: "the signed content must include Part::Body: nothing unsigned may reach the handler",
            });
        }
        if c.content.contains(&Part::Url) && c.public_url.is_none() {
            return Err(SchemeConfigError::MissingPublicUrl { scheme: c.name });
        }
        if c.content.contains(&Part::Timestamp) && c.timestamp.is_none() {
            return Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason: "the timestamp is signed but no timestamp source is configured",
            });
        }
        if c.content.contains(&Part::Timestamp)
            && matches!(c.timestamp, Some((TimestampSource::Json(_), _)))
        {
            // The body already carries (and signs) it; there is no separate
            // text to sign.
            return Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason: "a timestamp read from the JSON body is signed with the body: leave Part::Timestamp out of the content",
            });
        }
        if c.content.contains(&Part::Id) && c.id_headers.is_empty() {
            return Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason: "the id is signed but no id header is configured",
            });
        }
        if matches!(c.timestamp, Some((TimestampSource::Entry(_), _))) && c.separator.is_none() {
            return Err(SchemeConfigError::Invalid {
                scheme: c.name,
                reason: "a timestamp entry in the signature header needs a separator",
            });
        }
        Ok(self.build_keys(ring)?)
    }

    /// Keys a configuration known to be consistent (the presets').
    pub(crate) fn build_keys(self, ring: &KeyRing) -> Result<HmacScheme, SecretError> {
        debug_assert!(
            !self.config.content.contains(&Part::Url) || self.config.public_url.is_some()
        );
        Ok(HmacScheme {
            keys: Keys::new(self.config.algorithm, ring)?,
            config: self.config,
        })
    }
}

/// A configurable HMAC scheme; see the [module docs](self).
#[derive(Clone)]
pub struct HmacScheme {
    config: Config,
    keys: Keys,
}

impl fmt::Debug for HmacScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacScheme")
            .field("config", &self.config)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Candidates kept on the stack; more (a sender listing many signatures)
/// go to the heap.
const INLINE_CANDIDATES: usize = 4;

/// Decoded candidate signatures.
///
/// The first few live inline: an array for all [`MAX_SIGNATURES`] was 2 KiB
/// to zero and to move with the [`Head`], measured (perf, GitHub preset,
/// 64 B body) at 10 % of `verify` in `memmove` and 1.6 % in `memset`.
struct Candidates {
    inline: [[u8; MAX_TAG]; INLINE_CANDIDATES],
    spilled: Vec<[u8; MAX_TAG]>,
    len: usize,
    tag_len: usize,
}

impl Candidates {
    fn new(tag_len: usize) -> Self {
        Self {
            inline: [[0; MAX_TAG]; INLINE_CANDIDATES],
            spilled: Vec::new(),
            len: 0,
            tag_len,
        }
    }

    /// Decodes `encoded` into the next free slot with `decode`; keeps it
    /// when `decode` says it is a well-formed tag.
    fn push_with(&mut self, decode: impl FnOnce(&mut [u8]) -> bool) {
        let tag_len = self.tag_len;
        if let Some(slot) = self.inline.get_mut(self.len) {
            if decode(&mut slot[..tag_len]) {
                self.len += 1;
            }
            return;
        }
        let mut slot = [0; MAX_TAG];
        if decode(&mut slot[..tag_len]) {
            self.spilled.push(slot);
            self.len += 1;
        }
    }

    /// The decoded tags, in the order sent.
    fn slices(&self) -> impl Iterator<Item = &[u8]> + Clone {
        let inline = &self.inline[..self.len.min(INLINE_CANDIDATES)];
        inline
            .iter()
            .chain(&self.spilled)
            .map(|t| &t[..self.tag_len])
    }
}

/// What the head says, before the body is looked at.
struct Head<'h> {
    candidates: Candidates,
    /// The timestamp as sent, and in milliseconds.
    timestamp: Option<(&'h str, i64)>,
    id: Option<&'h str>,
}

impl HmacScheme {
    /// A scheme named `name` (used in dedup keys and logs) that reads its
    /// signatures from `signature_header`. Defaults: SHA-256, hex, no prefix,
    /// a single signature, no timestamp, no id, the body alone is signed.
    pub fn builder(name: &'static str, signature_header: &'static str) -> HmacBuilder {
        HmacBuilder {
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
                content: vec![Part::Body],
                public_url: None,
                url_transform: None,
                handshake: None,
                dedup: DedupPolicy::Signed,
                format: FormatRule::Always(Format::Json),
            },
        }
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The signature header's name.
    pub fn signature_header(&self) -> &'static str {
        self.config.signature_header
    }

    /// The HMAC tag of the newest secret over `content` (for handshakes
    /// that answer with an HMAC, such as Zoom's).
    pub(crate) fn tag_first(&self, content: &[u8]) -> Vec<u8> {
        self.keys
            .sign_all(&|sink| sink(content))
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    fn read_head<'h>(&self, head: &'h Parts, ctx: &Context) -> Result<Head<'h>, VerifyError> {
        let c = &self.config;
        let header = c.signature_header;
        let value =
            single_header(&head.headers, header)?.ok_or(VerifyError::MissingHeader { header })?;
        let tag_len = c.algorithm.tag_len();
        let mut candidates = Candidates::new(tag_len);
        let entry_prefix = match c.timestamp {
            Some((TimestampSource::Entry(p), _)) => Some(p),
            _ => None,
        };
        let mut timestamp = None;
        let mut entries = 0usize;
        let mut parts = value.split(c.separator.unwrap_or('\n'));
        for entry in parts.by_ref().map(str::trim).filter(|e| !e.is_empty()) {
            entries += 1;
            if entries > MAX_SIGNATURES {
                return Err(VerifyError::TooManySignatures {
                    header,
                    max: MAX_SIGNATURES,
                });
            }
            if let Some(ts) = entry_prefix.and_then(|p| strip_prefix_short(entry, p)) {
                if timestamp.replace(ts).is_some() {
                    return Err(VerifyError::MalformedHeader {
                        header,
                        reason: "it holds more than one timestamp",
                    });
                }
                continue;
            }
            let Some(encoded) = strip_prefix_short(entry, c.prefix) else {
                continue;
            };
            let encoded = strip_prefix_short(encoded, c.optional_prefix).unwrap_or(encoded);
            candidates.push_with(|slot| c.encoding.decode_exact(encoded, slot));
        }
        if entries == 0 {
            return Err(VerifyError::MalformedHeader {
                header,
                reason: "it holds no signature",
            });
        }
        let timestamp = match c.timestamp {
            Some((TimestampSource::Entry(_), unit)) => {
                let ts = timestamp.ok_or(VerifyError::MalformedHeader {
                    header,
                    reason: "it holds no timestamp entry",
                })?;
                let millis = unit.parse(header, ts)?;
                check_timestamp(header, millis, ctx)?;
                Some((ts, millis))
            }
            Some((TimestampSource::Header(name), unit)) => {
                let ts = single_header(&head.headers, name)?
                    .ok_or(VerifyError::MissingHeader { header: name })?;
                let millis = unit.parse(name, ts)?;
                check_timestamp(name, millis, ctx)?;
                Some((ts, millis))
            }
            Some((TimestampSource::Json(_), _)) | None => None,
        };
        let mut id = None;
        for name in &c.id_headers {
            if let Some(v) = single_header(&head.headers, name)? {
                if v.is_empty() || v.len() > MAX_ID_LEN {
                    return Err(VerifyError::MalformedHeader {
                        header: name,
                        reason: "the event id is empty or longer than 256 bytes",
                    });
                }
                id = Some(v);
                break;
            }
        }
        if c.content.contains(&Part::Id) && id.is_none() {
            return Err(VerifyError::MissingHeader {
                header: c.id_headers.first().copied().unwrap_or(header),
            });
        }
        Ok(Head {
            candidates,
            timestamp,
            id,
        })
    }

    /// The URLs to try: the configured one with the request's query, with
    /// and without the default port.
    fn urls(&self, head: &Parts) -> Vec<String> {
        let Some(url) = &self.config.public_url else {
            return vec![String::new()];
        };
        url.variants(head.uri.query())
            .into_iter()
            .map(|u| match self.config.url_transform {
                Some(f) => f(&u),
                None => u,
            })
            .collect()
    }

    fn feed_content(
        &self,
        sink: &mut dyn FnMut(&[u8]),
        head: &Parts,
        url: &str,
        timestamp: &str,
        id: &str,
        body: &[u8],
    ) {
        for part in &self.config.content {
            match part {
                Part::Body => sink(body),
                Part::Timestamp => sink(timestamp.as_bytes()),
                Part::Id => sink(id.as_bytes()),
                Part::Method => sink(head.method.as_str().as_bytes()),
                Part::Url => sink(url.as_bytes()),
                Part::Literal(text) => sink(text.as_bytes()),
            }
        }
    }

    fn verify_inner(
        &self,
        head: &Parts,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Envelope, VerifyError> {
        let c = &self.config;
        let h = self.read_head(head, ctx)?;
        let timestamp = h.timestamp.map_or("", |(ts, _)| ts);
        let id = h.id.unwrap_or("");
        let mut matched = false;
        for url in self.urls(head) {
            let feed = |sink: &mut dyn FnMut(&[u8])| {
                self.feed_content(sink, head, &url, timestamp, id, body);
            };
            matched |= self.keys.matches_any(&h.candidates, &feed);
        }
        if !matched {
            return Err(VerifyError::NoMatch {
                header: c.signature_header,
                candidates: h.candidates.len,
                keys: self.keys.len(),
            });
        }
        let id_pointer = c.id_json;
        let ts_pointer = match c.timestamp {
            Some((TimestampSource::Json(pointer), _)) => Some(pointer),
            _ => None,
        };
        // Only the values at the pointers are built; the rest of the body is
        // parsed and skipped (see `json_pointer`).
        let [json_id, json_ts] = if id_pointer.is_some() || ts_pointer.is_some() {
            super::json_pointer::values_at(body, [id_pointer, ts_pointer]).unwrap_or_default()
        } else {
            [None, None]
        };
        // Only a verified body is parsed. A body timestamp is signed with the
        // body: checked after the signature, so a forged body learns nothing
        // from the answer.
        let json_ts = match c.timestamp {
            Some((TimestampSource::Json(_), unit)) => {
                let missing = VerifyError::MalformedBody {
                    reason: "the timestamp field is missing or malformed",
                };
                let value = match &json_ts {
                    Some(serde_json::Value::Number(n)) => n
                        .as_i64()
                        .filter(|_| unit != TimeUnit::Rfc3339)
                        .map(|v| match unit {
                            TimeUnit::Seconds => v.saturating_mul(1000),
                            _ => v,
                        })
                        .ok_or(missing),
                    Some(serde_json::Value::String(text)) => {
                        unit.parse(c.signature_header, text).map_err(|_| missing)
                    }
                    _ => Err(missing),
                };
                Some(value)
            }
            _ => None,
        };
        let timestamp = match json_ts {
            Some(millis) => {
                // Errors name the body field (a JSON pointer) at fault.
                let field = match c.timestamp {
                    Some((TimestampSource::Json(pointer), _)) => pointer,
                    _ => c.signature_header,
                };
                Some(check_timestamp(field, millis?, ctx)?)
            }
            // Parsed and checked in `read_head`.
            None => h.timestamp.map(|(_, millis)| from_unix_millis(millis)),
        };
        // A body id is signed (the body always is) and preferred; a header id
        // is signed only when the content includes it.
        let json_id = json_id
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty() && s.len() <= MAX_ID_LEN);
        let (id, id_signed) = match (json_id, h.id) {
            (Some(id), _) => (Some(id), true),
            (None, Some(id)) => (Some(id.to_owned()), c.content.contains(&Part::Id)),
            (None, None) => (None, false),
        };
        Ok(Envelope {
            id,
            id_signed,
            timestamp,
            format: c.format.format(body),
            dedup: match c.dedup {
                DedupPolicy::Signed => Dedup::Signed,
                DedupPolicy::SignedOrId => Dedup::SignedOrId,
                DedupPolicy::Off => Dedup::Off,
            },
        })
    }

    fn answer_handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
        let handshake = self.config.handshake.as_ref()?;
        match (handshake, body) {
            (Handshake::Dropbox, None) => super::dropbox::challenge(head),
            (Handshake::Slack, Some(body)) => super::slack::url_verification(body),
            (Handshake::Zoom, Some(body)) => {
                super::zoom::url_validation(body, |token| self.tag_first(token))
            }
            (Handshake::Twitch, Some(body)) => super::twitch::callback_verification(head, body),
            _ => None,
        }
    }

    fn sign_inner(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let c = &self.config;
        let ts = c
            .timestamp
            .map(|(_, unit)| unit.render(timestamp))
            .unwrap_or_default();
        let (head, body) = super::util::head_and_body(request)?;
        if let Some((TimestampSource::Json(pointer), _)) = c.timestamp {
            // The sender writes the timestamp into the body it signs; a body
            // without it could never verify.
            let carried = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.pointer(pointer).map(serde_json::Value::is_number))
                .unwrap_or(false);
            if !carried {
                return Err(SignError::Invalid(format!(
                    "the `{}` scheme signs a timestamp inside the JSON body: put it at `{pointer}`",
                    c.name
                )));
            }
        }
        let url = self
            .config
            .public_url
            .as_ref()
            .map(|u| {
                let first = u.first(head.uri.query());
                match c.url_transform {
                    Some(f) => f(&first),
                    None => first,
                }
            })
            .unwrap_or_default();
        let tags = self.keys.sign_all(&|sink: &mut dyn FnMut(&[u8])| {
            self.feed_content(sink, &head, &url, &ts, id, &body);
        });
        let mut entries: Vec<String> = Vec::new();
        if let Some((TimestampSource::Entry(p), _)) = c.timestamp {
            entries.push(format!("{p}{ts}"));
        }
        let take = if c.separator.is_some() { tags.len() } else { 1 };
        for tag in tags.iter().take(take) {
            entries.push(format!("{}{}", c.prefix, c.encoding.encode(tag)));
        }
        let sep = c.separator.map(String::from).unwrap_or_default();
        let value = entries.join(&sep);
        let headers = request.headers_mut();
        headers.insert(c.signature_header, header_value(&value)?);
        if let Some((TimestampSource::Header(name), _)) = c.timestamp {
            headers.insert(name, header_value(&ts)?);
        }
        if let Some(name) = c.id_headers.first() {
            headers.insert(*name, header_value(id)?);
        }
        Ok(())
    }
}

pub(crate) fn header_value(v: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(v).map_err(|_| SignError::Invalid(format!("header value {v:?}")))
}

/// The first value of query parameter `name`, decoded.
pub(crate) fn query_param(head: &Parts, name: &str) -> Option<String> {
    let query = head.uri.query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The longest challenge echoed back in a handshake, in bytes; senders use
/// a few dozen. Longer ones, and ones that are not printable ASCII, are not
/// answered: a `GET` is then answered 405, and a signed handshake message
/// 400 (it never reaches the handler).
///
/// ```
/// use tower_webhook::scheme::{hmac::MAX_CHALLENGE_LEN, Dropbox, Scheme};
/// let scheme = Dropbox::new("app-secret")?;
/// let get = |c: &str| http::Request::get(format!("/dropbox?challenge={c}")).body(()).map(|r| r.into_parts().0);
/// assert!(scheme.handshake(&get(&"a".repeat(MAX_CHALLENGE_LEN))?, None).is_some());
/// assert!(scheme.handshake(&get(&"a".repeat(MAX_CHALLENGE_LEN + 1))?, None).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_CHALLENGE_LEN: usize = 1024;

/// A 200 answer with `body` as `content_type`, never sniffed as HTML.
pub(crate) fn text_response(
    body: String,
    content_type: &'static str,
) -> Option<http::Response<Bytes>> {
    if body.len() > MAX_CHALLENGE_LEN * 2 {
        return None;
    }
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Bytes::from(body))
        .ok()
}

/// A 200 JSON answer.
pub(crate) fn json_response(value: &serde_json::Value) -> Option<http::Response<Bytes>> {
    text_response(value.to_string(), "application/json")
}

impl Scheme for HmacScheme {
    fn name(&self) -> &'static str {
        self.config.name
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
        self.read_head(head, ctx).map(|_| ())
    }

    fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
        self.verify_inner(head, body, ctx)
    }

    fn handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
        self.answer_handshake(head, body)
    }

    fn has_timestamp(&self) -> bool {
        self.config.timestamp.is_some()
    }

    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        self.sign_inner(request, id, timestamp)
    }
}

/// Implements [`Scheme`] for a preset `struct $ty(HmacScheme)` by delegation.
macro_rules! delegate_to_engine {
    ($ty:ty) => {
        impl $crate::scheme::Scheme for $ty {
            fn name(&self) -> &'static str {
                $crate::scheme::Scheme::name(&self.0)
            }
            fn key_id(&self) -> $crate::scheme::KeyId {
                $crate::scheme::Scheme::key_id(&self.0)
            }
            fn check_head(
                &self,
                head: &http::request::Parts,
                ctx: &$crate::scheme::Context,
            ) -> Result<(), $crate::scheme::VerifyError> {
                $crate::scheme::Scheme::check_head(&self.0, head, ctx)
            }
            fn verify(
                &self,
                head: &http::request::Parts,
                body: &[u8],
                ctx: &$crate::scheme::Context,
            ) -> Result<$crate::scheme::Envelope, $crate::scheme::VerifyError> {
                $crate::scheme::Scheme::verify(&self.0, head, body, ctx)
            }
            fn handshake(
                &self,
                head: &http::request::Parts,
                body: Option<&[u8]>,
            ) -> Option<http::Response<bytes::Bytes>> {
                $crate::scheme::Scheme::handshake(&self.0, head, body)
            }
            fn has_timestamp(&self) -> bool {
                $crate::scheme::Scheme::has_timestamp(&self.0)
            }
            fn sign(
                &self,
                request: &mut http::Request<bytes::Bytes>,
                id: &str,
                timestamp: std::time::SystemTime,
            ) -> Result<(), $crate::scheme::SignError> {
                $crate::scheme::Scheme::sign(&self.0, request, id, timestamp)
            }
        }
    };
}
pub(crate) use delegate_to_engine;

/// `new`, `with_secrets` and `key_count` for a preset `struct $ty(HmacScheme)`
/// (or a struct whose field `$engine` is an engine keyed with every secret)
/// whose secrets are used as text and that defines `from_ring`.
macro_rules! text_secret_constructors {
    ($ty:ident) => {
        $crate::scheme::hmac::text_secret_constructors!($ty, 0);
    };
    // `$engine`: the field holding an engine keyed with every secret.
    ($ty:ident, $engine:tt) => {
        impl $ty {
            /// One secret, its text used as the HMAC key as it is (surrounding
            /// whitespace trimmed).
            pub fn new(secret: impl AsRef<str>) -> Result<Self, $crate::secret::SecretError> {
                Self::with_secrets([secret])
            }

            /// Several secrets active at once (rotation), newest first; a
            /// delivery signed with any of them verifies.
            pub fn with_secrets<I>(secrets: I) -> Result<Self, $crate::secret::SecretError>
            where
                I: IntoIterator,
                I::Item: AsRef<str>,
            {
                Self::from_ring(&$crate::scheme::hmac::text_ring(secrets)?)
            }

            /// How many secrets are active.
            pub fn key_count(&self) -> usize {
                self.$engine.key_count()
            }
        }
    };
}
pub(crate) use text_secret_constructors;

/// Builds a ring of text secrets (the key is the secret string's bytes).
pub(crate) fn text_ring<I>(secrets: I) -> Result<KeyRing, SecretError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let secrets = secrets
        .into_iter()
        .map(crate::secret::Secret::from_text)
        .collect::<Result<Vec<_>, _>>()?;
    KeyRing::new(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;
    use crate::secret::Secret;
    use std::time::{Duration, UNIX_EPOCH};

    fn ring(k: &str) -> KeyRing {
        KeyRing::single(Secret::from_text(k).unwrap())
    }

    fn ctx(secs: u64) -> Context {
        Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default())
    }

    fn head(uri: &str, pairs: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::post(uri);
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_body_timestamp_cannot_also_be_signed_as_a_part() {
        let ring = KeyRing::single(crate::secret::Secret::from_text("k").unwrap());
        let err = HmacScheme::builder("x", "x-sig")
            .timestamp_json("/ts", TimeUnit::Millis)
            .content([Part::Timestamp, Part::Literal("."), Part::Body])
            .build(&ring)
            .unwrap_err();
        assert!(err.to_string().contains("Part::Timestamp"), "{err}");
    }

    #[test]
    fn missing_url_timestamp_or_id_source_is_a_config_error() {
        let r = HmacScheme::builder("x", "sig")
            .content([Part::Url, Part::Body])
            .build(&ring("k"));
        assert!(matches!(r, Err(SchemeConfigError::MissingPublicUrl { .. })));
        let r = HmacScheme::builder("x", "sig")
            .content([Part::Timestamp])
            .build(&ring("k"));
        assert!(matches!(r, Err(SchemeConfigError::Invalid { .. })));
        let r = HmacScheme::builder("x", "sig")
            .content([Part::Id])
            .build(&ring("k"));
        assert!(matches!(r, Err(SchemeConfigError::Invalid { .. })));
        let r = HmacScheme::builder("x", "sig")
            .timestamp_entry("t=", TimeUnit::Seconds)
            .build(&ring("k"));
        assert!(matches!(r, Err(SchemeConfigError::Invalid { .. })));
    }

    #[test]
    fn sha1_sha512_base64_round_trip_and_tamper() {
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for enc in [Encoding::Hex, Encoding::Base64] {
                let s = HmacScheme::builder("x", "x-sig")
                    .algorithm(alg)
                    .encoding(enc)
                    .prefix("p=")
                    .id_header("x-id")
                    .timestamp_header("x-ts", TimeUnit::Millis)
                    .content([Part::Id, Part::Literal(":"), Part::Timestamp, Part::Body])
                    .build(&ring("key"))
                    .unwrap();
                let mut req = http::Request::post("/").body(Bytes::from("body")).unwrap();
                s.sign(&mut req, "id1", ctx(1000).now).unwrap();
                let (h, b) = req.into_parts();
                let env = s.verify(&h, &b, &ctx(1000)).unwrap();
                assert_eq!(env.id.as_deref(), Some("id1"));
                assert!(s.verify(&h, b"bodz", &ctx(1000)).is_err());
                assert!(matches!(
                    s.verify(&h, &b, &ctx(2000)),
                    Err(VerifyError::TooOld { .. })
                ));
            }
        }
    }

    #[test]
    fn json_timestamp_checked_after_signature() {
        let s = HmacScheme::builder("x", "x-sig")
            .timestamp_json("/ts", TimeUnit::Millis)
            .id_json("/id")
            .build(&ring("key"))
            .unwrap();
        let body = Bytes::from(r#"{"id":"e1","ts":1000000}"#);
        let mut req = http::Request::post("/").body(body.clone()).unwrap();
        s.sign(&mut req, "ignored", ctx(1000).now).unwrap();
        let (h, b) = req.into_parts();
        let env = s.verify(&h, &b, &ctx(1000)).unwrap();
        assert_eq!(env.id.as_deref(), Some("e1"));
        assert_eq!(env.timestamp, Some(UNIX_EPOCH + Duration::from_secs(1000)));
        assert!(matches!(
            s.verify(&h, &b, &ctx(5000)),
            Err(VerifyError::TooOld { .. })
        ));
        assert!(matches!(
            s.verify(&h, br#"{"id":"e1","ts":9000000}"#, &ctx(9000)),
            Err(VerifyError::NoMatch { .. })
        ));
    }

    #[test]
    fn optional_prefix_is_stripped_when_present_and_never_written() {
        let s = HmacScheme::builder("x", "x-sig")
            .optional_prefix("p=")
            .build(&ring("key"))
            .unwrap();
        let mut req = http::Request::post("/").body(Bytes::from("body")).unwrap();
        s.sign(&mut req, "id", ctx(1000).now).unwrap();
        let (h, b) = req.into_parts();
        let bare = h.headers["x-sig"].to_str().unwrap().to_owned();
        assert_eq!(bare.len(), 64, "signed without the optional prefix");
        assert!(s.verify(&h, &b, &ctx(1000)).is_ok());
        for (value, ok) in [
            (format!("p={bare}"), true),
            (format!("q={bare}"), false),
            (format!("p=p={bare}"), false),
        ] {
            let r = s.verify(&head("/", &[("x-sig", &value)]), &b, &ctx(1000));
            assert_eq!(r.is_ok(), ok, "{value}: {r:?}");
        }
    }

    #[test]
    fn the_matching_signature_counts_wherever_it_is_listed() {
        // Past the inline candidates too (they spill to the heap).
        let s = HmacScheme::builder("x", "x-sig")
            .separator(',')
            .prefix("v1=")
            .build(&ring("key"))
            .unwrap();
        let mut request = http::Request::post("/")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        s.sign(&mut request, "evt", UNIX_EPOCH + Duration::from_secs(1000))
            .unwrap();
        let good = request.headers()["x-sig"].to_str().unwrap().to_owned();
        let wrong = format!("v1={}", "ab".repeat(32));
        for at in [0, 3, 4, 5, MAX_SIGNATURES - 1] {
            let mut entries = vec![wrong.as_str(); MAX_SIGNATURES];
            entries[at] = &good;
            let value = entries.join(",");
            let r = s.verify(&head("/", &[("x-sig", &value)]), b"{}", &ctx(1000));
            assert!(r.is_ok(), "signature at {at}: {r:?}");
            let value = vec![wrong.as_str(); MAX_SIGNATURES].join(",");
            let r = s.verify(&head("/", &[("x-sig", &value)]), b"{}", &ctx(1000));
            assert!(
                matches!(
                    r,
                    Err(VerifyError::NoMatch {
                        candidates: MAX_SIGNATURES,
                        ..
                    })
                ),
                "{r:?}"
            );
        }
    }

    #[test]
    fn malformed_headers_never_panic() {
        let s = HmacScheme::builder("x", "x-sig")
            .separator(',')
            .prefix("v1=")
            .timestamp_entry("t=", TimeUnit::Seconds)
            .build(&ring("key"))
            .unwrap();
        for v in [
            "",
            ",",
            "t=",
            "t=1,t=1",
            "v1=zz",
            "t=abc,v1=00",
            "t=1000,v1=é",
            "=,=,=",
        ] {
            let r = s.verify(&head("/", &[("x-sig", v)]), b"", &ctx(1000));
            assert!(r.is_err(), "{v}");
        }
        let many = "v1=00,".repeat(40);
        let r = s.verify(&head("/", &[("x-sig", &many)]), b"", &ctx(1000));
        assert!(matches!(r, Err(VerifyError::TooManySignatures { .. })));
    }
}
