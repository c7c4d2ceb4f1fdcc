//! [Mailgun](https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).

use std::time::SystemTime;

use bytes::Bytes;
use hmac::Mac;
use http::request::Parts;
use serde_json::Value;
use sha2::Sha256;

use super::hmac::{Keyed, text_ring};
use super::json::{self, Field};
use super::rules::{self, IdSource};
use super::{
    Context, Dedup, Encoding, Envelope, Format, KeyId, Scheme, Sign, SignError, TimeUnit, Verdict,
    VerifyError,
};
use crate::scheme::rules::Tag;
use crate::secret::SecretError;

/// The name errors use for the signed fields (they are in the body).
const FIELD: &str = "signature";

/// [Mailgun](https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).
///
/// **Mailgun signs fields inside the body, not the body.** Each delivery
/// carries `timestamp`, `token` and `signature` (HMAC-SHA256 of
/// `{timestamp}{token}`, hex, keyed with the HTTP webhook signing key): in the
/// JSON body's `signature` object (webhooks), or as form fields (routes and
/// legacy webhooks). A valid signature therefore proves the delivery came from
/// Mailgun at that time, but **does not cover the rest of the body**: someone
/// who captured one delivery could attach its signature to another body until
/// the timestamp leaves the tolerance. Keep the tolerance short; the signed
/// token is what the dedup store remembers ([`Dedup::Value`]), so a token is
/// accepted once per dedup retention.
///
/// - JSON or form is read from the body's own bytes
///   ([`Format::json_or_form`]), never from `Content-Type`.
/// - Nothing is read from the head: everything, the timestamp window
///   included, is checked once the body is in.
/// - Event id: `event-data.id` (not signed: shown), else the signed token.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use http::Request;
/// use tower_webhook::scheme::{Context, Mailgun, Scheme, Tolerance};
///
/// // The test vector of Mailgun's own PHP SDK.
/// let scheme = Mailgun::new("key-3ax6xnjp29jd6fds4gc373sgvjxteol0")?;
/// let body = r#"{"signature":{"timestamp":"1403645220","token":"5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6","signature":"9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"},"event-data":{"id":"ev-1"}}"#;
/// let (head, ()) = Request::post("/mailgun").header("content-type", "application/json").body(())?.into_parts();
/// let now = UNIX_EPOCH + Duration::from_secs(1_403_645_220);
/// let envelope = scheme.check(&head, body.as_bytes(), &Context::new(now, Tolerance::default()))?.envelope();
/// assert_eq!(envelope.and_then(|e| e.id).as_deref(), Some("ev-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// use tower_webhook::scheme::{Mailgun, Scheme};
/// assert_eq!(Mailgun::new("signing-key")?.name(), "mailgun");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mailgun {
    keys: Keyed<Sha256>,
}

/// The three signed fields and the event id.
struct Fields {
    timestamp: String,
    token: String,
    signature: String,
    event_id: Option<String>,
}

/// The fields of a JSON body (its `signature` object) or of a form, as the
/// body's own bytes say.
fn fields(body: &[u8]) -> Option<Fields> {
    if Format::json_or_form(body) == Format::Form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        return Some(Fields {
            timestamp: get("timestamp")?,
            token: get("token")?,
            signature: get("signature")?,
            event_id: None,
        });
    }
    let found = json::fields(
        body,
        &[
            "/signature/timestamp",
            "/signature/token",
            "/signature/signature",
            "/event-data/id",
        ],
    )?;
    let mut text = found.into_iter().map(|field| match field? {
        Field::Str(s) => Some(s),
        Field::Num(n) => Some(n.to_string()),
        Field::Other => None,
    });
    let mut next = || text.next().flatten();
    Some(Fields {
        timestamp: next()?,
        token: next()?,
        signature: next()?,
        event_id: next(),
    })
}

impl Mailgun {
    /// The HTTP webhook signing key (its text).
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Mailgun::new("key-3ax6xnjp29jd6fds4gc373sgvjxteol0")?;
    /// assert_eq!(scheme.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn new(signing_key: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::with_secrets([signing_key])
    }

    /// Several signing keys active at once (rotation), newest first.
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Mailgun::with_secrets(["new", "old"])?;
    /// assert_eq!(scheme.key_count(), 2);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn with_secrets(
        keys: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SecretError> {
        Ok(Self {
            keys: Keyed::new(&text_ring(keys)?)?,
        })
    }

    /// How many keys are active.
    ///
    /// ```
    /// assert_eq!(tower_webhook::scheme::Mailgun::new("k")?.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

impl Scheme for Mailgun {
    /// Nothing: the signature, its timestamp included, is in the body.
    type Head = ();

    fn name(&self) -> &'static str {
        "mailgun"
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn has_timestamp(&self) -> bool {
        true
    }

    fn read(&self, _: &Parts, _: &Context) -> Result<(), VerifyError> {
        Ok(())
    }

    fn verify(
        &self,
        _: &Parts,
        (): (),
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        let f = fields(body).ok_or(VerifyError::MalformedBody {
            reason: "no `signature` fields (timestamp, token, signature) in the body",
        })?;
        let candidates: Vec<Tag> = Encoding::Hex.decode(&f.signature, 32).into_iter().collect();
        let matched = self.keys.matches(&candidates, |mac| {
            mac.update(f.timestamp.as_bytes());
            mac.update(f.token.as_bytes());
        });
        if !matched {
            return Err(VerifyError::NoMatch {
                header: FIELD,
                candidates: candidates.len(),
                keys: self.keys.len(),
            });
        }
        let timestamp = TimeUnit::Seconds.parse(FIELD, &f.timestamp)?;
        rules::within(FIELD, timestamp, ctx)?;
        // Only the timestamp and the token are signed: the token remembers
        // the delivery, and the unsigned `event-data.id` beside it; without
        // one, the (signed) token is the id shown.
        let envelope = match &f.event_id {
            Some(id) => {
                Envelope::unsigned_id(Some(rules::event_id(IdSource::Body, id)?.to_owned()))
            }
            None => Envelope::signed_id(rules::event_id(IdSource::Body, &f.token)?),
        };
        Ok(envelope
            .with_timestamp(timestamp)
            .with_format(Format::json_or_form(body))
            .with_dedup(Dedup::Value(f.token))
            .into())
    }
}

impl Sign for Mailgun {
    /// Adds the `signature` object to a JSON object body (token = `id`).
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let json_only = || SignError::Invalid("Mailgun signs JSON object bodies only".to_owned());
        let mut json: Value = serde_json::from_slice(request.body()).map_err(|_| json_only())?;
        let ts = TimeUnit::Seconds.render(timestamp);
        let tag = self.keys.first(|mac| {
            mac.update(ts.as_bytes());
            mac.update(id.as_bytes());
        });
        json.as_object_mut().ok_or_else(json_only)?.insert(
            "signature".to_owned(),
            serde_json::json!({ "timestamp": ts, "token": id, "signature": Encoding::Hex.encode(&tag) }),
        );
        *request.body_mut() = Bytes::from(json.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;
    use crate::scheme::test_support;
    use std::time::{Duration, UNIX_EPOCH};

    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const TOKEN: &str = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6";
    const SIG: &str = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33";

    fn ctx(secs: u64) -> Context {
        Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default())
    }

    fn head(ct: &str) -> Parts {
        test_support::post(&[("content-type", ct)])
    }

    fn verify(s: &Mailgun, head: &Parts, body: &[u8], at: u64) -> Result<Envelope, VerifyError> {
        s.check(head, body, &ctx(at)).map(|v| v.envelope().unwrap())
    }

    #[test]
    fn form_fields_token_as_id_and_staleness() {
        let s = Mailgun::new(KEY).unwrap();
        let body = format!("timestamp=1403645220&token={TOKEN}&signature={SIG}&recipient=a%40b.c");
        let form = head("application/x-www-form-urlencoded");
        let env = verify(&s, &form, body.as_bytes(), 1_403_645_220).unwrap();
        assert_eq!(env.id.as_deref(), Some(TOKEN));
        assert!(env.id_signed);
        assert_eq!(env.format, Format::Form);
        assert_eq!(env.dedup, Dedup::Value(TOKEN.to_owned()));
        assert!(matches!(
            verify(&s, &form, body.as_bytes(), 1_403_650_000),
            Err(VerifyError::TooOld { .. })
        ));
        let bad = body.replace("timestamp=1403645220", "timestamp=1403645221");
        assert!(matches!(
            verify(&s, &form, bad.as_bytes(), 1_403_645_220),
            Err(VerifyError::NoMatch { .. })
        ));
        assert!(matches!(
            verify(&s, &form, b"token=x", 1_403_645_220),
            Err(VerifyError::MalformedBody { .. })
        ));
        assert!(matches!(
            verify(&s, &head("application/json"), b"[]", 1),
            Err(VerifyError::MalformedBody { .. })
        ));
    }

    #[test]
    fn json_event_id_is_shown_unsigned_and_the_token_dedups() {
        let s = Mailgun::new(KEY).unwrap();
        let body = format!(
            r#"{{"signature":{{"timestamp":"1403645220","token":"{TOKEN}","signature":"{SIG}"}},"event-data":{{"id":"ev-1"}}}}"#
        );
        // `Content-Type` says form; the body's bytes say JSON.
        let form = head("application/x-www-form-urlencoded");
        let env = verify(&s, &form, body.as_bytes(), 1_403_645_220).unwrap();
        assert_eq!(env.id.as_deref(), Some("ev-1"));
        assert!(!env.id_signed);
        assert_eq!(env.format, Format::Json);
        assert_eq!(env.dedup, Dedup::Value(TOKEN.to_owned()));
        // Nothing is read from the head.
        assert!(s.read(&form, &ctx(0)).is_ok());
    }

    #[test]
    fn sign_round_trip() {
        let s = Mailgun::new(KEY).unwrap();
        let req = crate::sign::Signer::new(&s)
            .id("tok-1")
            .timestamp(ctx(1000).now)
            .request("/", r#"{"event-data":{}}"#)
            .unwrap();
        let (head, body) = req.into_parts();
        assert_eq!(
            verify(&s, &head, &body, 1000).unwrap().id.as_deref(),
            Some("tok-1")
        );
        let mut form = http::Request::post("/")
            .body(Bytes::from_static(b"a=1"))
            .unwrap();
        assert!(s.sign(&mut form, "tok-1", ctx(1000).now).is_err());
    }
}
