//! [Twilio](https://www.twilio.com/docs/usage/webhooks/webhooks-security).
//!
//! - Header `X-Twilio-Signature: <base64>`: HMAC-**SHA1** keyed with the
//!   account's auth token (its text), over:
//!   - form bodies (`application/x-www-form-urlencoded`): the full URL
//!     followed by every POST parameter as `{name}{value}`, sorted by name
//!     (then value), decoded;
//!   - any other body: the full URL, whose query then carries
//!     `bodySHA256=<hex SHA-256 of the body>`; the body's hash is checked
//!     against it.
//! - The URL is the public URL as configured (Twilio signs the URL it called;
//!   proxies rewrite `Host`), with the request's query string. As Twilio's
//!   SDKs do, it is tried as configured and with the port toggled (`:443`
//!   added or removed).
//! - A non-form body without `bodySHA256` is refused: nothing would cover it.
//! - Event id: `I-Twilio-Idempotency-Token`. No signed timestamp.
//!
//! ```
//! use std::time::SystemTime;
//! use http::Request;
//! use tower_webhook::scheme::{Context, Scheme, Tolerance, Twilio};
//!
//! // The test vector of Twilio's own SDKs.
//! let scheme = Twilio::new("12345", "https://mycompany.com/myapp.php")?;
//! let (head, ()) = Request::post("/myapp.php?foo=1&bar=2")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .header("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
//!     .body(())?
//!     .into_parts();
//! let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
//! scheme.verify(&head, body.as_bytes(), &Context::new(SystemTime::now(), Tolerance::default()))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::SystemTime;

use bytes::Bytes;
use hmac::Mac;
use http::request::Parts;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::hmac::{MAX_ID_LEN, header_value, text_ring};
use super::url::PublicUrl;
use super::{
    Context, Encoding, Envelope, Format, KeyId, Keyed, Scheme, SchemeConfigError, SignError,
    VerifyError, hex_encode, single_header,
};
use crate::secret::KeyRing;

const SIGNATURE: &str = "x-twilio-signature";
const ID: &str = "i-twilio-idempotency-token";
const BODY_HASH: &str = "bodySHA256";

/// Twilio's `X-Twilio-Signature` scheme; see the [module docs](self).
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

/// What the signature covers besides the URL.
enum Covered {
    /// Sorted, decoded form parameters.
    Form(Vec<(String, String)>),
    /// The body's SHA-256, carried in the query.
    BodyHash,
}

fn is_form(head: &Parts) -> bool {
    head.headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn query_body_hash(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == BODY_HASH)
        .map(|(_, v)| v)
}

/// The form's parameters, decoded and sorted.
///
/// Twilio concatenates `{name}{value}` with no separator, so a parameter
/// without `=` would let one signature cover another parameter list: `To=x`
/// signs the same bytes as `To&x` (`To` and `x`, both empty). Twilio always
/// writes `name=value`, so such a body is refused. (Moving the boundary
/// inside a pair, `To=x` as `T=ox`, signs the same bytes too; that is
/// Twilio's scheme, which no receiver can tell apart: see SECURITY.md.)
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

impl Twilio {
    /// One auth token and the public URL Twilio calls.
    pub fn new(auth_token: impl AsRef<str>, public_url: &str) -> Result<Self, SchemeConfigError> {
        Self::with_secrets([auth_token], public_url)
    }

    /// Several auth tokens active at once (rotation: primary and secondary).
    pub fn with_secrets<I>(auth_tokens: I, public_url: &str) -> Result<Self, SchemeConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Self::from_ring(&text_ring(auth_tokens)?, public_url)
    }

    /// A ring of key bytes and the public URL.
    pub fn from_ring(ring: &KeyRing, public_url: &str) -> Result<Self, SchemeConfigError> {
        Ok(Self {
            keys: Keyed::new(ring)?,
            url: PublicUrl::parse(public_url)?,
        })
    }

    /// How many auth tokens are active.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn covered(head: &Parts, body: &[u8]) -> Result<Covered, VerifyError> {
        if query_body_hash(head.uri.query()).is_some() {
            return Ok(Covered::BodyHash);
        }
        if is_form(head) {
            return sorted_params(body)
                .map(Covered::Form)
                .map_err(|reason| VerifyError::MalformedBody { reason });
        }
        if body.is_empty() {
            return Ok(Covered::Form(Vec::new()));
        }
        Err(VerifyError::MalformedBody {
            reason: "a non-form body needs `bodySHA256` in the query, or nothing covers it",
        })
    }

    fn feed(mac: &mut hmac::Hmac<Sha1>, url: &str, covered: &Covered) {
        mac.update(url.as_bytes());
        if let Covered::Form(params) = covered {
            for (k, v) in params {
                mac.update(k.as_bytes());
                mac.update(v.as_bytes());
            }
        }
    }
}

impl Scheme for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn check_head(&self, head: &Parts, _ctx: &Context) -> Result<(), VerifyError> {
        single_header(&head.headers, SIGNATURE)?
            .ok_or(VerifyError::MissingHeader { header: SIGNATURE })?;
        single_header(&head.headers, ID)?;
        Ok(())
    }

    fn verify(&self, head: &Parts, body: &[u8], _ctx: &Context) -> Result<Envelope, VerifyError> {
        let value = single_header(&head.headers, SIGNATURE)?
            .ok_or(VerifyError::MissingHeader { header: SIGNATURE })?;
        let mut tag = [0u8; 20];
        let decoded = Encoding::Base64.decode_exact(value, &mut tag);
        let candidates: &[&[u8]] = if decoded { &[&tag] } else { &[] };
        let covered = Self::covered(head, body)?;
        let query = head.uri.query();
        let mut matched = false;
        for url in self.url.variants(query) {
            matched |= self
                .keys
                .matches_any(candidates, |mac| Self::feed(mac, &url, &covered));
        }
        if let Covered::BodyHash = covered {
            let expected = query_body_hash(query).unwrap_or_default();
            let actual = hex_encode(&Sha256::digest(body));
            matched &= bool::from(
                actual
                    .as_bytes()
                    .ct_eq(expected.to_ascii_lowercase().as_bytes()),
            );
        }
        if !matched {
            return Err(VerifyError::NoMatch {
                header: SIGNATURE,
                candidates: candidates.len(),
                keys: self.keys.len(),
            });
        }
        // The idempotency token is not signed: shown, never trusted (the
        // signed form or body's digest dedups). The format follows what the
        // signature covered: the form's parameters, or a body whose hash the
        // signed URL carries.
        let id = single_header(&head.headers, ID)?
            .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN)
            .map(str::to_owned);
        let format = match covered {
            Covered::Form(_) => Format::Form,
            Covered::BodyHash => Format::Json,
        };
        Ok(Envelope::unsigned_id(id).with_format(format))
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        _timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let (mut head, body) = super::util::head_and_body(request)?;
        let covered = if is_form(&head) {
            Covered::Form(
                sorted_params(&body).map_err(|reason| SignError::Invalid(reason.to_owned()))?,
            )
        } else {
            // Add `bodySHA256` to the query, as Twilio does for JSON bodies.
            let hash = hex_encode(&Sha256::digest(&body));
            let path = head.uri.path();
            let path_and_query = match head.uri.query() {
                Some(q) => format!("{path}?{q}&{BODY_HASH}={hash}"),
                None => format!("{path}?{BODY_HASH}={hash}"),
            };
            // Keep the scheme and authority of an absolute URI.
            let mut parts = head.uri.clone().into_parts();
            parts.path_and_query = Some(
                path_and_query
                    .parse()
                    .map_err(|_| SignError::Invalid(format!("uri {path_and_query:?}")))?,
            );
            head.uri = http::Uri::from_parts(parts)
                .map_err(|e| SignError::Invalid(format!("uri: {e}")))?;
            *request.uri_mut() = head.uri.clone();
            Covered::BodyHash
        };
        let url = self.url.first(head.uri.query());
        let tag = self.keys.sign_first(|mac| Self::feed(mac, &url, &covered));
        let headers = request.headers_mut();
        headers.insert(SIGNATURE, header_value(&Encoding::Base64.encode(&tag))?);
        headers.insert(ID, header_value(id)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;

    const FORM: &str = "application/x-www-form-urlencoded";

    fn ctx() -> Context {
        Context::new(SystemTime::now(), Tolerance::default())
    }

    #[test]
    fn json_signing_keeps_an_absolute_uri() {
        let s = Twilio::new("token", "http://127.0.0.1:3000/hook").unwrap();
        let req = crate::sign::Signer::new(&s)
            .request("http://127.0.0.1:3000/hook", "{}")
            .unwrap();
        assert_eq!(req.uri().scheme_str(), Some("http"));
        assert_eq!(req.uri().host(), Some("127.0.0.1"));
        assert!(req.uri().query().unwrap().starts_with("bodySHA256="));
    }

    #[test]
    fn form_round_trip_order_independent_and_tamper() {
        let s = Twilio::new("token", "https://example.com/sms").unwrap();
        let req = crate::sign::Signer::new(&s)
            .content_type(FORM)
            .request("/sms?x=1", "b=2&a=1&a=0")
            .unwrap();
        let (head, body) = req.into_parts();
        assert!(s.verify(&head, &body, &ctx()).is_ok());
        assert!(
            s.verify(&head, b"a=0&a=1&b=2", &ctx()).is_ok(),
            "order of parameters does not matter"
        );
        assert!(s.verify(&head, b"a=0&a=1&b=3", &ctx()).is_err());
        let mut other = head.clone();
        other.uri = "/sms?x=2".parse().unwrap();
        assert!(s.verify(&other, &body, &ctx()).is_err());
        assert!(
            Twilio::new("token", "https://example.org/sms")
                .unwrap()
                .verify(&head, &body, &ctx())
                .is_err()
        );
        assert!(
            Twilio::new("token", "https://example.com:443/sms")
                .unwrap()
                .verify(&head, &body, &ctx())
                .is_ok()
        );
    }

    #[test]
    fn a_parameter_without_equals_is_refused_as_it_would_re_cut_the_list() {
        let s = Twilio::new("12345", "https://example.com/sms").unwrap();
        let signed = crate::sign::Signer::new(&s)
            .content_type(FORM)
            .request("/sms", "Body=hi&To=x")
            .unwrap();
        let (head, body) = signed.into_parts();
        assert!(s.verify(&head, &body, &ctx()).is_ok());
        // Same signed bytes (`To` + `x` = `To` + `` + `x` + ``), refused.
        let err = s.verify(&head, b"Body=hi&To&x", &ctx()).unwrap_err();
        assert!(err.to_string().contains("no `=`"), "{err}");
        assert!(
            crate::sign::Signer::new(&s)
                .content_type(FORM)
                .request("/sms", "flag&Body=hi")
                .is_err(),
            "the signer refuses what the verifier would"
        );
        // Empty values are fine.
        let ok = crate::sign::Signer::new(&s)
            .content_type(FORM)
            .request("/sms", "Body=&To=x&")
            .unwrap();
        let (head, body) = ok.into_parts();
        assert!(s.verify(&head, &body, &ctx()).is_ok());
    }

    #[test]
    fn json_body_hash_round_trip_and_tamper() {
        let s = Twilio::new("token", "https://example.com/hook").unwrap();
        let req = crate::sign::Signer::new(&s)
            .id("idem")
            .request("/hook", r#"{"a":1}"#)
            .unwrap();
        assert!(req.uri().query().unwrap_or("").contains("bodySHA256="));
        let (head, body) = req.into_parts();
        assert_eq!(
            s.verify(&head, &body, &ctx()).unwrap().id.as_deref(),
            Some("idem")
        );
        assert!(matches!(
            s.verify(&head, br#"{"a":2}"#, &ctx()),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut plain = head.clone();
        plain.uri = "/hook".parse().unwrap();
        assert!(matches!(
            s.verify(&plain, &body, &ctx()),
            Err(VerifyError::MalformedBody { .. })
        ));
        let mut bad = head.clone();
        bad.headers.insert(SIGNATURE, "AAAA".parse().unwrap());
        assert!(matches!(
            s.verify(&bad, &body, &ctx()),
            Err(VerifyError::NoMatch { candidates: 0, .. })
        ));
    }
}
