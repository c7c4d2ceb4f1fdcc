//! [Twilio](https://www.twilio.com/docs/usage/webhooks/webhooks-security).

use std::time::SystemTime;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::request::Parts;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::handshake::query_param;
use super::hmac::{Keyed, header_value, text_ring};
use super::rules::{self, IdSource};
use super::url::PublicUrl;
use super::{
    Context, Encoding, Envelope, Format, KeyId, Scheme, SchemeConfigError, Sign, SignError,
    Verdict, VerifyError,
};
use crate::scheme::rules::Tag;

const SIGNATURE: &str = "x-twilio-signature";
const ID: &str = "i-twilio-idempotency-token";
const BODY_HASH: &str = "bodySHA256";

/// [Twilio](https://www.twilio.com/docs/usage/webhooks/webhooks-security).
///
/// - Header `X-Twilio-Signature: <base64>`: HMAC-**SHA1** keyed with the
///   account's auth token (its text), over the full URL followed by:
///   - when the URL's query carries `bodySHA256=<hex SHA-256 of the body>`
///     (JSON bodies): nothing more; the body's hash is checked against it;
///   - otherwise (form bodies, `application/x-www-form-urlencoded`): every
///     POST parameter as `{name}{value}`, sorted by name (then value),
///     decoded.
/// - The signed URL decides the payload format (JSON with `bodySHA256`, a
///   form without), never `Content-Type`. A form body is parsed only when
///   the signed URL says the signature covers its parameters.
/// - The URL is the public URL as configured (Twilio signs the URL it called;
///   proxies rewrite `Host`), with the request's query string. As Twilio's
///   SDKs do, it is tried as configured and with the port toggled (`:443`
///   added or removed).
/// - A non-empty body sent as anything but a form, without `bodySHA256`, is
///   refused: nothing would cover it. So is a form parameter without `=`
///   (see the form rule on [`Twilio`]).
/// - Event id: `I-Twilio-Idempotency-Token`, not signed (shown; the body's
///   digest dedups). No signed timestamp.
///
/// ```
/// use std::time::SystemTime;
/// use http::Request;
/// use tower_webhook::scheme::{Context, Format, Scheme, Tolerance, Twilio};
///
/// // The test vector of Twilio's own SDKs.
/// let scheme = Twilio::new("12345", "https://mycompany.com/myapp.php")?;
/// let (head, ()) = Request::post("/myapp.php?foo=1&bar=2")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .header("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
///     .body(())?
///     .into_parts();
/// let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
/// let ctx = Context::new(SystemTime::now(), Tolerance::default());
/// let envelope = scheme.check(&head, body.as_bytes(), &ctx)?.envelope();
/// assert_eq!(envelope.map(|e| e.format), Some(Format::Form));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Form rule: Twilio concatenates `{name}{value}` with no separator, so a
/// parameter without `=` would let one signature cover another parameter
/// list: `To=x` signs the same bytes as `To&x` (`To` and `x`, both empty).
/// Twilio always writes `name=value`, so such a body is refused. (Moving the
/// boundary inside a pair, `To=x` as `T=ox`, signs the same bytes too; that
/// is Twilio's scheme, which no receiver can tell apart: see SECURITY.md.)
///
/// ```
/// use tower_webhook::scheme::{Scheme, Twilio};
/// let scheme = Twilio::with_secrets(["new-auth-token", "old-auth-token"], "https://example.com/sms")?;
/// assert!(!scheme.has_timestamp());
/// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Twilio {
    keys: Keyed<Sha1>,
    url: PublicUrl,
}

/// What a Twilio head says, read once: the candidate signature, what the
/// signed URL says the signature covers, the unsigned id.
#[derive(Debug)]
pub struct TwilioHead {
    /// The decoded signature; none when it is not 20 bytes of base64.
    candidates: Vec<Tag>,
    covers: Covers,
    id: Option<String>,
}

/// What the signed URL says the signature covers besides itself.
#[derive(Debug)]
enum Covers {
    /// No `bodySHA256`: the form's parameters. `labelled`: whether
    /// `Content-Type` says form (a non-empty body that is not is refused).
    Form { labelled: bool },
    /// The body, by its SHA-256 in `bodySHA256` (`None` when that is not
    /// 32 bytes of hex: nothing matches).
    BodyHash(Option<Tag>),
}

/// What the signature covers besides the URL, once the body is in.
enum Covered {
    /// Sorted, decoded form parameters.
    Form(Vec<(String, String)>),
    /// The body's SHA-256, carried in the query.
    BodyHash,
}

/// Whether `Content-Type` is a form's. Only ever refuses: the signed URL
/// decides the format.
fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The form's parameters, decoded and sorted; a parameter without `=` is
/// refused (see [`Twilio`]'s form rule).
fn sorted_params(body: &[u8]) -> Result<Vec<(String, String)>, &'static str> {
    if body
        .split(|&b| b == b'&')
        .any(|pair| !pair.is_empty() && !pair.contains(&b'='))
    {
        return Err("a form parameter has no `=`; Twilio writes every one as `name=value`");
    }
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| "the form body does not parse")?;
    params.sort();
    Ok(params)
}

/// Writes the signed content after the URL.
fn feed(mac: &mut Hmac<Sha1>, url: &str, covered: &Covered) {
    mac.update(url.as_bytes());
    if let Covered::Form(params) = covered {
        for (k, v) in params {
            mac.update(k.as_bytes());
            mac.update(v.as_bytes());
        }
    }
}

impl Twilio {
    /// One auth token and the public URL Twilio calls.
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Twilio::new("auth-token", "https://example.com/sms")?;
    /// assert_eq!(scheme.key_count(), 1);
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn new(auth_token: impl AsRef<str>, public_url: &str) -> Result<Self, SchemeConfigError> {
        Self::with_secrets([auth_token], public_url)
    }

    /// Several auth tokens active at once (rotation: primary and secondary).
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Twilio::with_secrets(["new", "old"], "https://example.com/sms")?;
    /// assert_eq!(scheme.key_count(), 2);
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn with_secrets(
        auth_tokens: impl IntoIterator<Item = impl AsRef<str>>,
        public_url: &str,
    ) -> Result<Self, SchemeConfigError> {
        Ok(Self {
            keys: Keyed::new(&text_ring(auth_tokens)?)?,
            url: PublicUrl::parse(public_url)?,
        })
    }

    /// How many auth tokens are active.
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Twilio::new("auth-token", "https://example.com/sms")?;
    /// assert_eq!(scheme.key_count(), 1);
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

impl Scheme for Twilio {
    type Head = TwilioHead;

    fn name(&self) -> &'static str {
        "twilio"
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn read(&self, head: &Parts, _: &Context) -> Result<TwilioHead, VerifyError> {
        let signature = rules::required(&head.headers, SIGNATURE)?;
        let id = rules::header(&head.headers, ID)?
            .map(|id| rules::event_id(IdSource::Header(ID), id).map(str::to_owned))
            .transpose()?;
        Ok(TwilioHead {
            candidates: Encoding::Base64.decode(signature, 20).into_iter().collect(),
            covers: match query_param(head, BODY_HASH) {
                Some(hex) => Covers::BodyHash(Encoding::Hex.decode(&hex, 32)),
                None => Covers::Form {
                    labelled: is_form(&head.headers),
                },
            },
            id,
        })
    }

    fn verify(
        &self,
        head: &Parts,
        read: TwilioHead,
        body: &[u8],
        _: &Context,
    ) -> Result<Verdict, VerifyError> {
        // The form is parsed only when the signed URL says it is signed.
        let covered = match read.covers {
            Covers::BodyHash(_) => Covered::BodyHash,
            Covers::Form { labelled } if labelled || body.is_empty() => Covered::Form(
                sorted_params(body).map_err(|reason| VerifyError::MalformedBody { reason })?,
            ),
            Covers::Form { .. } => {
                return Err(VerifyError::MalformedBody {
                    reason: "a non-form body needs `bodySHA256` in the query, or nothing covers it",
                });
            }
        };
        let mut matched = false;
        for url in self.url.variants(head.uri.query()) {
            matched |= self
                .keys
                .matches(&read.candidates, |mac| feed(mac, &url, &covered));
        }
        if let Covers::BodyHash(expected) = &read.covers {
            let actual = Sha256::digest(body);
            matched &= expected
                .as_deref()
                .is_some_and(|e| bool::from(e.ct_eq(actual.as_slice())));
        }
        if !matched {
            return Err(VerifyError::NoMatch {
                header: SIGNATURE,
                candidates: read.candidates.len(),
                keys: self.keys.len(),
            });
        }
        // The format follows what the signed URL says the signature covered.
        let format = match covered {
            Covered::Form(_) => Format::Form,
            Covered::BodyHash => Format::Json,
        };
        Ok(Envelope::unsigned_id(read.id).with_format(format).into())
    }
}

impl Sign for Twilio {
    /// Signs a form (`Content-Type` a form's) by its parameters; any other
    /// body by adding `bodySHA256` to the URI's query, as Twilio does.
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        _: SystemTime,
    ) -> Result<(), SignError> {
        let covered = if is_form(request.headers()) {
            let params = sorted_params(request.body())
                .map_err(|reason| SignError::Invalid(reason.to_owned()))?;
            Covered::Form(params)
        } else {
            let hash = rules::hex(&Sha256::digest(request.body()));
            let uri = request.uri();
            let path_and_query = match uri.query() {
                Some(q) => format!("{}?{q}&{BODY_HASH}={hash}", uri.path()),
                None => format!("{}?{BODY_HASH}={hash}", uri.path()),
            };
            // Keep the scheme and authority of an absolute URI.
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(
                path_and_query
                    .parse()
                    .map_err(|_| SignError::Invalid(format!("uri {path_and_query:?}")))?,
            );
            *request.uri_mut() = http::Uri::from_parts(parts)
                .map_err(|e| SignError::Invalid(format!("uri: {e}")))?;
            Covered::BodyHash
        };
        let url = self.url.first(request.uri().query());
        let tag = self.keys.first(|mac| feed(mac, &url, &covered));
        let headers = request.headers_mut();
        headers.insert(SIGNATURE, header_value(&Encoding::Base64.encode(&tag))?);
        headers.insert(ID, header_value(id)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support;

    use crate::sign::Signer;

    const FORM: &str = "application/x-www-form-urlencoded";

    fn ctx() -> Context {
        test_support::now()
    }

    fn verify(s: &Twilio, head: &Parts, body: &[u8]) -> Result<Envelope, VerifyError> {
        s.check(head, body, &ctx()).map(|v| v.envelope().unwrap())
    }

    #[test]
    fn json_signing_keeps_an_absolute_uri() {
        let s = Twilio::new("token", "http://127.0.0.1:3000/hook").unwrap();
        let req = Signer::new(&s)
            .request("http://127.0.0.1:3000/hook", "{}")
            .unwrap();
        assert_eq!(req.uri().scheme_str(), Some("http"));
        assert_eq!(req.uri().host(), Some("127.0.0.1"));
        assert!(req.uri().query().unwrap().starts_with("bodySHA256="));
    }

    #[test]
    fn form_round_trip_order_independent_and_tamper() {
        let s = Twilio::new("token", "https://example.com/sms").unwrap();
        let req = Signer::new(&s)
            .content_type(FORM)
            .request("/sms?x=1", "b=2&a=1&a=0")
            .unwrap();
        let (head, body) = req.into_parts();
        let env = verify(&s, &head, &body).unwrap();
        assert_eq!((env.format, env.id_signed), (Format::Form, false));
        assert!(
            verify(&s, &head, b"a=0&a=1&b=2").is_ok(),
            "order of parameters does not matter"
        );
        assert!(verify(&s, &head, b"a=0&a=1&b=3").is_err());
        let mut other = head.clone();
        other.uri = "/sms?x=2".parse().unwrap();
        assert!(verify(&s, &other, &body).is_err());
        let elsewhere = Twilio::new("token", "https://example.org/sms").unwrap();
        assert!(verify(&elsewhere, &head, &body).is_err());
        let with_port = Twilio::new("token", "https://example.com:443/sms").unwrap();
        assert!(verify(&with_port, &head, &body).is_ok());
    }

    #[test]
    fn a_parameter_without_equals_is_refused_as_it_would_re_cut_the_list() {
        let s = Twilio::new("12345", "https://example.com/sms").unwrap();
        let signed = Signer::new(&s)
            .content_type(FORM)
            .request("/sms", "Body=hi&To=x")
            .unwrap();
        let (head, body) = signed.into_parts();
        assert!(verify(&s, &head, &body).is_ok());
        // Same signed bytes (`To` + `x` = `To` + `` + `x` + ``), refused.
        let err = verify(&s, &head, b"Body=hi&To&x").unwrap_err();
        assert!(err.to_string().contains("no `=`"), "{err}");
        assert!(
            Signer::new(&s)
                .content_type(FORM)
                .request("/sms", "flag&Body=hi")
                .is_err(),
            "the signer refuses what the verifier would"
        );
        // Empty values are fine.
        let ok = Signer::new(&s)
            .content_type(FORM)
            .request("/sms", "Body=&To=x&")
            .unwrap();
        let (head, body) = ok.into_parts();
        assert!(verify(&s, &head, &body).is_ok());
    }

    #[test]
    fn json_body_hash_round_trip_and_tamper() {
        let s = Twilio::new("token", "https://example.com/hook").unwrap();
        let req = Signer::new(&s)
            .id("idem")
            .request("/hook", r#"{"a":1}"#)
            .unwrap();
        assert!(req.uri().query().unwrap_or("").contains("bodySHA256="));
        let (head, body) = req.into_parts();
        let env = verify(&s, &head, &body).unwrap();
        assert_eq!(env.id.as_deref(), Some("idem"));
        assert_eq!((env.format, env.id_signed), (Format::Json, false));
        assert!(matches!(
            verify(&s, &head, br#"{"a":2}"#),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut plain = head.clone();
        plain.uri = "/hook".parse().unwrap();
        assert!(matches!(
            verify(&s, &plain, &body),
            Err(VerifyError::MalformedBody { .. })
        ));
        let mut bad = head.clone();
        bad.headers.insert(SIGNATURE, "AAAA".parse().unwrap());
        assert!(matches!(
            verify(&s, &bad, &body),
            Err(VerifyError::NoMatch { candidates: 0, .. })
        ));
    }

    #[test]
    fn the_signed_url_decides_the_format_content_type_only_refuses() {
        let s = Twilio::new("token", "https://example.com/hook").unwrap();
        // A `bodySHA256` delivery re-sent as a form stays JSON; its body is
        // not parsed as a form.
        let (mut head, body) = Signer::new(&s)
            .request("/hook", r#"{"a":"b=c"}"#)
            .unwrap()
            .into_parts();
        head.headers
            .insert(http::header::CONTENT_TYPE, FORM.parse().unwrap());
        assert_eq!(verify(&s, &head, &body).unwrap().format, Format::Json);
        // A form delivery re-labelled JSON: its non-empty body is covered by
        // nothing the URL says, refused.
        let (mut head, body) = Signer::new(&s)
            .content_type(FORM)
            .request("/hook", "a=1")
            .unwrap()
            .into_parts();
        head.headers.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        let err = verify(&s, &head, &body).unwrap_err();
        assert!(err.to_string().contains("bodySHA256"), "{err}");
    }

    #[test]
    fn the_id_is_unsigned_and_follows_the_id_rule() {
        let s = Twilio::new("token", "https://example.com/hook").unwrap();
        let (mut head, body) = Signer::new(&s)
            .id("idem")
            .request("/hook", "{}")
            .unwrap()
            .into_parts();
        head.headers.insert(ID, "other".parse().unwrap());
        assert_eq!(
            verify(&s, &head, &body).unwrap().id.as_deref(),
            Some("other")
        );
        head.headers.insert(ID, "x".repeat(257).parse().unwrap());
        assert!(matches!(
            s.read(&head, &ctx()),
            Err(VerifyError::MalformedHeader { header: ID, .. })
        ));
        head.headers.append(ID, "y".parse().unwrap());
        assert!(matches!(
            s.read(&head, &ctx()),
            Err(VerifyError::MalformedHeader { header: ID, .. })
        ));
    }
}
