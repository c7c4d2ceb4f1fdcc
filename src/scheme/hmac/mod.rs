//! One configurable HMAC engine for every sender that signs "some parts of

mod builder;
mod keys;
mod preset;

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;

pub(crate) use builder::{Answer, Challenge};
pub use builder::{HmacBuilder, Part};
pub use keys::Algorithm;
pub(crate) use keys::{Keyed, Keys};
pub(crate) use preset::{delegate_to_engine, hmac_preset, text_secret_constructors};

use super::json::{self, Field};
use super::rules::{self, IdSource, MAX_SIGNATURES, Name};
pub use super::rules::{Encoding, TimeUnit};
use super::url::PublicUrl;
use super::{
    Context, Dedup, Envelope, EventName, Format, KeyId, Scheme, Sign, SignError, Verdict,
    VerifyError,
};
use crate::scheme::rules::Tag;
use crate::secret::{KeyRing, Secret, SecretError};

/// Where the timestamp is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimestampSource {
    Header(&'static str),
    /// An entry of the signature header starting with this prefix (`t=`).
    Entry(&'static str),
    /// A JSON pointer into the body.
    Json(&'static str),
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

/// Where an engine finds the event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventSource {
    /// A string field of the signed JSON body.
    Json(&'static str),
    /// An unsigned header.
    Header(&'static str),
}

#[derive(Clone)]
pub(crate) struct Config {
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
    event: Option<EventSource>,
    content: Vec<Part>,
    public_url: Option<PublicUrl>,
    url_transform: Option<fn(&str) -> String>,
    dedup: Dedup,
    format: FormatRule,
    answer: Option<Answer>,
    challenge: Option<Challenge>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacConfig")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .field("encoding", &self.encoding)
            .field("signature_header", &self.signature_header)
            .field("prefix", &self.prefix)
            .field("separator", &self.separator)
            .field("timestamp", &self.timestamp)
            .field("id_headers", &self.id_headers)
            .field("id_json", &self.id_json)
            .field("content", &self.content)
            .field("public_url", &self.public_url)
            .field("dedup", &self.dedup)
            .finish_non_exhaustive()
    }
}

/// One configurable HMAC engine for every sender that signs "some parts of
/// the request, HMAC'd with a shared secret, written into a header".
///
/// Most presets ([`Stripe`](super::Stripe), [`Slack`](super::Slack),
/// [`Shopify`](super::Shopify), ...) are a configuration of [`HmacScheme`];
/// use [`HmacScheme::builder`] for a sender this crate has no preset for.
/// What can be configured:
///
/// - the hash ([`Algorithm`]: SHA-1, SHA-256, SHA-512) and the signature
///   [`Encoding`] (hex or base64);
/// - the signature header, a prefix every signature carries (`sha256=`,
///   `v1=`), and a separator when the header lists several signatures;
/// - where the timestamp comes from (a header, an entry of the signature
///   header such as Stripe's `t=`, or a field of the JSON body), in seconds,
///   milliseconds or RFC 3339;
/// - where the event id comes from (a field of the signed JSON body, or
///   headers, signed only when the content includes [`Part::Id`]);
/// - the signed content, as a sequence of [`Part`]s: body, timestamp, id,
///   method, the public URL, literal separators.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_webhook::scheme::{Algorithm, Context, Encoding, HmacScheme, Part, Scheme, TimeUnit, Tolerance};
/// use tower_webhook::secret::{KeyRing, Secret};
/// use tower_webhook::sign::Signer;
///
/// // A sender that signs "{timestamp}.{body}" with HMAC-SHA512, hex, in
/// // `X-Acme-Signature: sha512=...`, timestamp in `X-Acme-Timestamp`.
/// let scheme = HmacScheme::builder("acme", "x-acme-signature")
///     .algorithm(Algorithm::Sha512)
///     .encoding(Encoding::Hex)
///     .prefix("sha512=")
///     .timestamp_header("x-acme-timestamp", TimeUnit::Seconds)
///     .id_json("/id")
///     .content([Part::Timestamp, Part::Literal("."), Part::Body])
///     .build(&KeyRing::single(Secret::from_text("s3cret")?))?;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let (head, body) = Signer::new(&scheme).timestamp(now).request("/hook", r#"{"id":"d-1"}"#)?.into_parts();
/// let envelope = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.envelope();
/// assert_eq!(envelope.and_then(|e| e.id).as_deref(), Some("d-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
#[derive(Clone)]
pub struct HmacScheme {
    config: Config,
    keys: Keys,
    /// The configured header names, parsed once.
    names: Names,
    /// The body's fields read after the signature matched, parsed once:
    /// the id, the timestamp, then the handshake's fields (`-`, without a
    /// leading `/`, points nowhere); `None` when none is read.
    pointers: Option<json::Pointers<'static>>,
}

/// The headers an engine reads, parsed once.
#[derive(Clone, Debug)]
struct Names {
    signature: Name,
    timestamp: Option<Name>,
    ids: Vec<Name>,
    event: Option<Name>,
}

impl Names {
    /// The names of `config`, which `HmacBuilder::build` checked (and the
    /// presets write as valid constants).
    fn of(config: &Config) -> Self {
        Self {
            signature: Name::new(config.signature_header),
            timestamp: match config.timestamp {
                Some((TimestampSource::Header(name), _)) => Some(Name::new(name)),
                _ => None,
            },
            ids: config.id_headers.iter().map(|n| Name::new(n)).collect(),
            event: match config.event {
                Some(EventSource::Header(name)) => Some(Name::new(name)),
                _ => None,
            },
        }
    }
}

impl HmacScheme {
    /// Keys `config`, with its header names and JSON pointers parsed once.
    pub(crate) fn from_config(config: Config, keys: Keys) -> Self {
        let ts_json = match config.timestamp {
            Some((TimestampSource::Json(pointer), _)) => Some(pointer),
            _ => None,
        };
        let answer_fields = config.answer.map_or(&[][..], |a| a.fields);
        let reads_json = config.id_json.is_some() || ts_json.is_some() || config.answer.is_some();
        let pointers = reads_json.then(|| {
            let pointers: Vec<&'static str> = [config.id_json, ts_json]
                .into_iter()
                .map(|p| p.unwrap_or("-"))
                .chain(answer_fields.iter().copied())
                .collect();
            json::Pointers::new(&pointers)
        });
        Self {
            names: Names::of(&config),
            pointers,
            config,
            keys,
        }
    }
}

impl fmt::Debug for HmacScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacScheme")
            .field("config", &self.config)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// What an [`HmacScheme`] read from the head: the candidate signatures, the
/// timestamp and the id header. `Clone` for a scheme that tries one head
/// with two engines (LinkedIn's two readings).
#[derive(Clone, Debug)]
pub struct HmacHead {
    candidates: Vec<Tag>,
    /// The timestamp as sent, and parsed.
    timestamp: Option<(String, SystemTime)>,
    id: Option<String>,
}

impl HmacScheme {
    /// A scheme named `name` (used in dedup keys and logs) that reads its
    /// signatures from `signature_header`. Defaults: SHA-256, hex, no prefix,
    /// a single signature, no timestamp, no id, the body alone is signed,
    /// JSON payloads.
    pub fn builder(name: &'static str, signature_header: &'static str) -> HmacBuilder {
        HmacBuilder::new(name, signature_header)
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The same scheme, answering `GET` handshakes with `challenge` (for a
    /// preset whose handshake is configured after it is built).
    pub(crate) fn with_challenge(
        mut self,
        challenge: impl Fn(&Parts) -> Option<http::Response<Bytes>> + Send + Sync + 'static,
    ) -> Self {
        self.config.challenge = Some(std::sync::Arc::new(challenge));
        self
    }

    /// The HMAC tag of the newest secret over `content`, for handshakes that
    /// answer with one (Zoom's).
    pub(crate) fn tag_first(&self, content: &[u8]) -> Vec<u8> {
        self.keys
            .tags(&|sink| sink(content))
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    fn timestamp_field(&self) -> &'static str {
        match self.config.timestamp {
            Some((TimestampSource::Header(name), _)) => name,
            Some((TimestampSource::Json(pointer), _)) => pointer,
            _ => self.config.signature_header,
        }
    }

    /// The URLs to try: the configured one with the request's query, with
    /// and without the default port.
    fn urls(&self, query: Option<&str>) -> Vec<String> {
        let Some(url) = &self.config.public_url else {
            return vec![String::new()];
        };
        url.variants(query)
            .into_iter()
            .map(|u| self.config.url_transform.map_or(u.clone(), |f| f(&u)))
            .collect()
    }

    fn feed(
        &self,
        sink: &mut dyn FnMut(&[u8]),
        method: &http::Method,
        url: &str,
        timestamp: &str,
        id: &str,
        body: &[u8],
    ) {
        for part in &self.config.content {
            sink(match part {
                Part::Body => body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => id.as_bytes(),
                Part::Method => method.as_str().as_bytes(),
                Part::Url => url.as_bytes(),
                Part::Literal(text) => text.as_bytes(),
            });
        }
    }

    /// The signed body's timestamp, from its field.
    fn body_time(&self, field: Option<&Field>, unit: TimeUnit) -> Result<SystemTime, VerifyError> {
        let missing = VerifyError::MalformedBody {
            reason: "the timestamp field is missing or malformed",
        };
        let text = match field {
            Some(Field::Num(n)) if unit != TimeUnit::Rfc3339 => n.to_string(),
            Some(Field::Str(s)) if unit == TimeUnit::Rfc3339 => s.clone(),
            _ => return Err(missing),
        };
        unit.parse(self.timestamp_field(), &text)
            .map_err(|_| missing)
    }

    /// The signed body's id, from its field.
    fn body_id(field: Option<Field>) -> Result<Option<String>, VerifyError> {
        let id = match field {
            Some(Field::Str(s)) => s,
            Some(Field::Num(n)) => n.to_string(),
            _ => return Ok(None),
        };
        rules::event_id(IdSource::Body, &id)?;
        Ok(Some(id))
    }
}

impl Scheme for HmacScheme {
    type Head = HmacHead;

    fn name(&self) -> &'static str {
        self.config.name
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn has_timestamp(&self) -> bool {
        self.config.timestamp.is_some()
    }

    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        self.config.challenge.as_ref().and_then(|f| f(head))
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<HmacHead, VerifyError> {
        let c = &self.config;
        let header = c.signature_header;
        let value = rules::required(&head.headers, &self.names.signature)?;
        let entry_prefix = match c.timestamp {
            Some((TimestampSource::Entry(p), _)) => Some(p),
            _ => None,
        };
        let mut candidates = Vec::new();
        let mut entry_timestamp = None;
        let mut entries = 0usize;
        let separated = value.split(c.separator.unwrap_or('\n'));
        for entry in separated.map(str::trim).filter(|e| !e.is_empty()) {
            entries += 1;
            if entries > MAX_SIGNATURES {
                return Err(VerifyError::TooManySignatures {
                    header,
                    max: MAX_SIGNATURES,
                });
            }
            if let Some(ts) = entry_prefix.and_then(|p| entry.strip_prefix(p)) {
                if entry_timestamp.replace(ts).is_some() {
                    return Err(VerifyError::MalformedHeader {
                        header,
                        reason: "it holds more than one timestamp",
                    });
                }
                continue;
            }
            let Some(encoded) = entry.strip_prefix(c.prefix) else {
                continue;
            };
            let encoded = encoded.strip_prefix(c.optional_prefix).unwrap_or(encoded);
            candidates.extend(c.encoding.decode(encoded, c.algorithm.tag_len()));
        }
        if entries == 0 {
            return Err(VerifyError::MalformedHeader {
                header,
                reason: "it holds no signature",
            });
        }
        let timestamp = match c.timestamp {
            Some((TimestampSource::Entry(_), unit)) => {
                let ts = entry_timestamp.ok_or(VerifyError::MalformedHeader {
                    header,
                    reason: "it holds no timestamp entry",
                })?;
                Some((ts.to_owned(), unit.parse(header, ts)?))
            }
            Some((TimestampSource::Header(name), unit)) => {
                let ts = match &self.names.timestamp {
                    Some(key) => rules::required(&head.headers, key)?,
                    None => rules::required(&head.headers, name)?,
                };
                Some((ts.to_owned(), unit.parse(name, ts)?))
            }
            Some((TimestampSource::Json(_), _)) | None => None,
        };
        if let Some((_, t)) = &timestamp {
            rules::within(self.timestamp_field(), *t, ctx)?;
        }
        let mut id = None;
        for name in &self.names.ids {
            if let Some(v) = rules::header(&head.headers, name)? {
                id = Some(rules::event_id(IdSource::Header(name.text()), v)?.to_owned());
                break;
            }
        }
        if c.content.contains(&Part::Id) && id.is_none() {
            return Err(VerifyError::MissingHeader {
                header: c.id_headers.first().copied().unwrap_or(header),
            });
        }
        Ok(HmacHead {
            candidates,
            timestamp,
            id,
        })
    }

    fn verify(
        &self,
        head: &Parts,
        read: HmacHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        let c = &self.config;
        // Judged again now that the whole body is in.
        if let Some((_, t)) = &read.timestamp {
            rules::within(self.timestamp_field(), *t, ctx)?;
        }
        let ts = read
            .timestamp
            .as_ref()
            .map_or("", |(text, _)| text.as_str());
        let id = read.id.as_deref().unwrap_or("");
        let matches = |url: &str| {
            let feed = |sink: &mut dyn FnMut(&[u8])| {
                self.feed(sink, &head.method, url, ts, id, body);
            };
            self.keys.matches(&read.candidates, &feed)
        };
        // Every URL variant is tried (no short cut on the first match).
        let matched = match c.public_url {
            None => matches(""),
            Some(_) => self
                .urls(head.uri.query())
                .iter()
                .fold(false, |m, url| m | matches(url)),
        };
        if !matched {
            return Err(VerifyError::NoMatch {
                header: c.signature_header,
                candidates: read.candidates.len(),
                keys: self.keys.len(),
            });
        }
        // Only a verified body is read, and in one pass: its id, its
        // timestamp and the fields that tell a handshake.
        let ts_json = match c.timestamp {
            Some((TimestampSource::Json(pointer), unit)) => Some((pointer, unit)),
            _ => None,
        };
        let mut fields = self.pointers.as_ref().and_then(|p| p.find(body));
        let mut take = |i: usize| fields.as_mut().and_then(|f| f.get_mut(i)?.take());
        let (id_field, ts_field) = (take(0), take(1));
        let timestamp = match ts_json {
            Some((pointer, unit)) => {
                let t = self.body_time(ts_field.as_ref(), unit)?;
                rules::within(pointer, t, ctx)?;
                Some(t)
            }
            None => read.timestamp.map(|(_, t)| t),
        };
        if let (Some(answer), Some(found)) = (c.answer, &fields)
            && let Some(response) = (answer.answer)(self, &found[2..])
        {
            return Ok(Verdict::Answer(response));
        }
        // A body id is signed (the body always is) and preferred; a header id
        // is signed only when the content includes it.
        let (id, id_signed) = match (Self::body_id(id_field)?, read.id) {
            (Some(id), _) => (Some(id), true),
            (None, Some(id)) => (Some(id), c.content.contains(&Part::Id)),
            (None, None) => (None, false),
        };
        let format = match c.format {
            FormatRule::Always(f) => f,
            FormatRule::JsonOrForm => Format::json_or_form(body),
            FormatRule::JsonOrPayloadForm => Format::json_or_payload_form(body),
        };
        let event = match c.event {
            Some(EventSource::Json(pointer)) => Some(EventName::Body(pointer)),
            Some(EventSource::Header(_)) => (self.names.event.as_ref())
                .and_then(|name| head.headers.get(name.key()))
                .and_then(|v| v.to_str().ok())
                .map(|v| EventName::UnsignedHeader(v.to_owned())),
            None => None,
        };
        Ok(Verdict::Deliver(Envelope {
            id,
            id_signed,
            timestamp,
            format,
            dedup: c.dedup.clone(),
            acknowledgement: None,
            event,
        }))
    }
}

impl Sign for HmacScheme {
    fn sign(
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
        if let Some((TimestampSource::Json(pointer), _)) = c.timestamp {
            // The sender writes the timestamp into the body it signs; a body
            // without it could never verify.
            let carried = json::fields(request.body(), &[pointer])
                .is_some_and(|f| matches!(f.first(), Some(Some(Field::Num(_)))));
            if !carried {
                return Err(SignError::Invalid(format!(
                    "the `{}` scheme signs a timestamp inside the JSON body: put it at `{pointer}`",
                    c.name
                )));
            }
        }
        let url = self.urls(request.uri().query()).swap_remove(0);
        let tags = self.keys.tags(&|sink: &mut dyn FnMut(&[u8])| {
            self.feed(sink, request.method(), &url, &ts, id, request.body());
        });
        let mut entries: Vec<String> = Vec::new();
        if let Some((TimestampSource::Entry(p), _)) = c.timestamp {
            entries.push(format!("{p}{ts}"));
        }
        let take = if c.separator.is_some() { tags.len() } else { 1 };
        for tag in tags.iter().take(take) {
            entries.push(format!("{}{}", c.prefix, c.encoding.encode(tag)));
        }
        let value = entries.join(&c.separator.map(String::from).unwrap_or_default());
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

/// A header value for signing.
pub(crate) fn header_value(v: &str) -> Result<http::HeaderValue, SignError> {
    http::HeaderValue::from_str(v).map_err(|_| SignError::Invalid(format!("header value {v:?}")))
}

/// Signs `{timestamp}{body}` (Unix seconds) as Discord and SendGrid do:
/// `sign` gives the encoded signature, written to `signature_header` beside
/// the timestamp in `timestamp_header`.
#[cfg(any(feature = "discord", feature = "sendgrid"))]
pub(crate) fn sign_timestamped(
    request: &mut http::Request<Bytes>,
    timestamp: SystemTime,
    [timestamp_header, signature_header]: [&'static str; 2],
    sign: impl FnOnce(&[&[u8]]) -> Result<String, SignError>,
) -> Result<(), SignError> {
    let ts = super::TimeUnit::Seconds.render(timestamp);
    let encoded = sign(&[ts.as_bytes(), request.body()])?;
    let headers = request.headers_mut();
    headers.insert(timestamp_header, header_value(&ts)?);
    headers.insert(signature_header, header_value(&encoded)?);
    Ok(())
}

/// A ring of text secrets (the key is the secret string's bytes).
pub(crate) fn text_ring(
    secrets: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<KeyRing, SecretError> {
    let secrets = secrets
        .into_iter()
        .map(Secret::from_text)
        .collect::<Result<Vec<_>, _>>()?;
    KeyRing::new(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Scheme, SchemeConfigError, Sign};
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
                let env = s.check(&h, &b, &ctx(1000)).map(deliver).unwrap();
                assert_eq!(env.id.as_deref(), Some("id1"));
                assert!(s.check(&h, b"bodz", &ctx(1000)).is_err());
                assert!(matches!(
                    s.check(&h, &b, &ctx(2000)),
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
        let env = s.check(&h, &b, &ctx(1000)).map(deliver).unwrap();
        assert_eq!(env.id.as_deref(), Some("e1"));
        assert_eq!(env.timestamp, Some(UNIX_EPOCH + Duration::from_secs(1000)));
        assert!(matches!(
            s.check(&h, &b, &ctx(5000)),
            Err(VerifyError::TooOld { .. })
        ));
        assert!(matches!(
            s.check(&h, br#"{"id":"e1","ts":9000000}"#, &ctx(9000)),
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
        assert!(s.check(&h, &b, &ctx(1000)).is_ok());
        for (value, ok) in [
            (format!("p={bare}"), true),
            (format!("q={bare}"), false),
            (format!("p=p={bare}"), false),
        ] {
            let r = s.check(&head("/", &[("x-sig", &value)]), &b, &ctx(1000));
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
            let r = s.check(&head("/", &[("x-sig", &value)]), b"{}", &ctx(1000));
            assert!(r.is_ok(), "signature at {at}: {r:?}");
            let value = vec![wrong.as_str(); MAX_SIGNATURES].join(",");
            let r = s.check(&head("/", &[("x-sig", &value)]), b"{}", &ctx(1000));
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
            let r = s.check(&head("/", &[("x-sig", v)]), b"", &ctx(1000));
            assert!(r.is_err(), "{v}");
        }
        let many = "v1=00,".repeat(40);
        let r = s.check(&head("/", &[("x-sig", &many)]), b"", &ctx(1000));
        assert!(matches!(r, Err(VerifyError::TooManySignatures { .. })));
    }

    /// The body's id is read with `serde_json`'s pointer: a repeated key
    /// counts at its last value, and a body that is not JSON has no id (it
    /// is deduplicated on its hash), as the old hand-written reader did.
    #[test]
    fn body_ids_follow_serde_json() {
        let s = HmacScheme::builder("x", "x-sig")
            .id_json("/event/id")
            .build(&ring("key"))
            .unwrap();
        let id = |body: &'static str| {
            let mut req = http::Request::post("/").body(Bytes::from(body)).unwrap();
            s.sign(&mut req, "ignored", ctx(1000).now).unwrap();
            let (h, b) = req.into_parts();
            s.check(&h, &b, &ctx(1000)).map(deliver).unwrap().id
        };
        assert_eq!(id(r#"{"event":{"id":"a","id":"b"}}"#).as_deref(), Some("b"));
        assert_eq!(id(r#"{"event":{"id":7}}"#).as_deref(), Some("7"));
        assert_eq!(id(r#"{"event":{"id":"a"}"#), None, "broken JSON");
        assert_eq!(
            id(r#"{"event":{"id":{"x":1}}}"#),
            None,
            "not a string or number"
        );
        assert_eq!(id("not json"), None);
    }
}
