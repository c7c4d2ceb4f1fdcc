//! [Mailgun](https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).
//!
//! **Mailgun signs fields inside the body, not the body.** Each delivery
//! carries `timestamp`, `token` and `signature` (HMAC-SHA256 of
//! `{timestamp}{token}`, hex, keyed with the HTTP webhook signing key): in the
//! JSON body's `signature` object (webhooks), or as form fields (routes and
//! legacy webhooks). A valid signature therefore proves the delivery came from
//! Mailgun at that time, but **does not cover the rest of the body**: someone
//! who captured one delivery could attach its signature to another body until
//! the timestamp leaves the tolerance. Keep the tolerance short; the token is
//! used as the event id (falling back from `event-data.id`) so a token is
//! accepted once per dedup retention.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::Request;
//! use tower_webhook::scheme::{Context, Mailgun, Scheme, Tolerance};
//!
//! // The test vector of Mailgun's own PHP SDK.
//! let scheme = Mailgun::new("key-3ax6xnjp29jd6fds4gc373sgvjxteol0")?;
//! let body = r#"{"signature":{"timestamp":"1403645220","token":"5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6","signature":"9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"},"event-data":{"id":"ev-1"}}"#;
//! let (head, ()) = Request::post("/mailgun").header("content-type", "application/json").body(())?.into_parts();
//! let now = UNIX_EPOCH + Duration::from_secs(1_403_645_220);
//! let envelope = scheme.verify(&head, body.as_bytes(), &Context::new(now, Tolerance::default()))?;
//! assert_eq!(envelope.id.as_deref(), Some("ev-1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::SystemTime;

use bytes::Bytes;
use hmac::Mac;
use http::request::Parts;
use sha2::Sha256;

use super::hmac::{MAX_ID_LEN, text_ring};
use super::{
    Context, Dedup, Encoding, Envelope, Format, KeyId, Keyed, Scheme, SignError, VerifyError,
    check_timestamp, parse_unix_digits,
};
use crate::clock::unix_seconds;
use crate::secret::{KeyRing, SecretError};

/// The name errors use for the signed fields (they are in the body).
const FIELD: &str = "signature";

/// Mailgun's body-field signature; see the [module docs](self).
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

fn fields(body: &[u8]) -> Option<Fields> {
    // The body's own bytes say whether it is a form, never `Content-Type`.
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
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let sig = json.get("signature")?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(Fields {
        timestamp: text(sig.get("timestamp")?)?,
        token: text(sig.get("token")?)?,
        signature: text(sig.get("signature")?)?,
        event_id: json.pointer("/event-data/id").and_then(text),
    })
}

impl Mailgun {
    /// The HTTP webhook signing key (its text).
    pub fn new(signing_key: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::with_secrets([signing_key])
    }

    /// Several signing keys active at once (rotation), newest first.
    pub fn with_secrets<I>(keys: I) -> Result<Self, SecretError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Self::from_ring(&text_ring(keys)?)
    }

    /// A ring of key bytes.
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        Ok(Self {
            keys: Keyed::new(ring)?,
        })
    }

    /// How many keys are active.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

impl Scheme for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }

    fn key_id(&self) -> KeyId {
        self.keys.key_id()
    }

    fn verify(&self, _head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
        let f = fields(body).ok_or(VerifyError::MalformedBody {
            reason: "no `signature` fields (timestamp, token, signature) in the body",
        })?;
        let mut tag = [0u8; 32];
        let decoded = Encoding::Hex.decode_exact(&f.signature, &mut tag);
        let candidates: &[&[u8]] = if decoded { &[&tag] } else { &[] };
        let matched = self.keys.matches_any(candidates, |mac| {
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
        let secs = parse_unix_digits(FIELD, &f.timestamp, 12)?;
        let timestamp = check_timestamp(FIELD, secs.saturating_mul(1000), ctx)?;
        // Only the timestamp and the token are signed: the token remembers
        // the delivery, and the unsigned `event-data.id` beside it; without
        // one, the (signed) token is the id shown.
        let event_id = f
            .event_id
            .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN);
        let envelope = match event_id {
            Some(id) => Envelope::unsigned_id(Some(id)),
            None => Envelope::signed_id(f.token.clone()),
        };
        Ok(envelope
            .with_timestamp(timestamp)
            .with_format(Format::json_or_form(body))
            .with_dedup(Dedup::Value(f.token)))
    }

    /// Adds the `signature` object to a JSON object body (token = `id`).
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let mut json: serde_json::Value = serde_json::from_slice(request.body())
            .map_err(|_| SignError::Invalid("Mailgun signs JSON object bodies only".to_owned()))?;
        let ts = unix_seconds(timestamp).to_string();
        let tag = self.keys.sign_first(|mac| {
            mac.update(ts.as_bytes());
            mac.update(id.as_bytes());
        });
        let object = json.as_object_mut().ok_or_else(|| {
            SignError::Invalid("Mailgun signs JSON object bodies only".to_owned())
        })?;
        object.insert(
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
    use std::time::{Duration, UNIX_EPOCH};

    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const TOKEN: &str = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6";
    const SIG: &str = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33";

    fn ctx(secs: u64) -> Context {
        Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default())
    }

    fn head(ct: &str) -> Parts {
        http::Request::post("/")
            .header("content-type", ct)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn form_fields_token_as_id_and_staleness() {
        let s = Mailgun::new(KEY).unwrap();
        let body = format!("timestamp=1403645220&token={TOKEN}&signature={SIG}&recipient=a%40b.c");
        let form = head("application/x-www-form-urlencoded");
        assert_eq!(
            s.verify(&form, body.as_bytes(), &ctx(1_403_645_220))
                .unwrap()
                .id
                .as_deref(),
            Some(TOKEN)
        );
        assert!(matches!(
            s.verify(&form, body.as_bytes(), &ctx(1_403_650_000)),
            Err(VerifyError::TooOld { .. })
        ));
        let bad = body.replace("timestamp=1403645220", "timestamp=1403645221");
        assert!(matches!(
            s.verify(&form, bad.as_bytes(), &ctx(1_403_645_220)),
            Err(VerifyError::NoMatch { .. })
        ));
        assert!(matches!(
            s.verify(&form, b"token=x", &ctx(1_403_645_220)),
            Err(VerifyError::MalformedBody { .. })
        ));
        assert!(matches!(
            s.verify(&head("application/json"), b"[]", &ctx(1)),
            Err(VerifyError::MalformedBody { .. })
        ));
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
            s.verify(&head, &body, &ctx(1000)).unwrap().id.as_deref(),
            Some("tok-1")
        );
    }
}
