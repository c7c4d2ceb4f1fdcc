//! [Twilio SendGrid Event Webhook](https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features)
//! signed deliveries (feature `sendgrid`).
//!
//! - Header `X-Twilio-Email-Event-Webhook-Signature`: base64 of a
//!   DER-encoded ECDSA P-256 signature; header
//!   `X-Twilio-Email-Event-Webhook-Timestamp`: Unix seconds.
//! - Signed content: the timestamp header's text followed by the raw body,
//!   hashed with SHA-256 (no separator: a digit moved between timestamp and
//!   body changes the timestamp tenfold, which no tolerance accepts).
//! - Key: the verification key SendGrid's console shows (Settings > Mail
//!   Settings > Event Webhook > Signature Verification), base64 of a DER
//!   SubjectPublicKeyInfo; a PEM `PUBLIC KEY` block works too. Several keys
//!   may be active at once ([`SendGrid::with_public_keys`]), for a rotation.
//! - The timestamp is checked against the tolerance, as for every timed
//!   preset.
//! - Signatures with a high or a low `s` both verify: `p256`'s verification
//!   accepts both, as SendGrid's own SDKs (Node's `crypto`, Go's
//!   `crypto/ecdsa`, Java, Python `ecdsa`) do. This allows no forgery: the
//!   other `s` of a valid signature only signs the same timestamp and body.
//!   The DER must be strict (minimal integers, no trailing bytes).
//!
//! **No event id.** SendGrid posts a JSON array of events without a
//! delivery id in the headers, so the layer deduplicates on the SHA-256 of
//! the verified body (as for Dropbox, Calendly, Zoom and HubSpot): the same
//! batch delivered again is answered 200 without calling the handler, for as
//! long as the layer remembers it (by default until the timestamp leaves the
//! tolerance, plus a minute; see `WebhookLayer::retention`). Each event in
//! the batch carries its own `sg_event_id`; dedup on it in the handler to
//! recognise an event that arrives again in a different batch.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::Request;
//! use tower_webhook::scheme::{Context, Scheme, SendGrid, Tolerance};
//!
//! // The test vector of SendGrid's Node.js SDK.
//! let scheme = SendGrid::new(
//!     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
//! )?;
//! let (head, ()) = Request::post("/sendgrid")
//!     .header("X-Twilio-Email-Event-Webhook-Signature", "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")
//!     .header("X-Twilio-Email-Event-Webhook-Timestamp", "1588788367")
//!     .body(())?
//!     .into_parts();
//! let body = br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
//! let now = UNIX_EPOCH + Duration::from_secs(1_588_788_367);
//! let verdict = scheme.check(&head, body, &Context::new(now, Tolerance::default()))?;
//! let envelope = verdict.envelope().expect("a delivery");
//! assert_eq!(envelope.id, None); // deduplicated on the body's hash
//! assert_eq!(envelope.timestamp, Some(now));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod keys;

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::request::Parts;
use p256::ecdsa::signature::{MultipartSigner, MultipartVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use super::hmac::sign_timestamped;
use super::rules;
use super::{
    Context, Encoding, Envelope, KeyId, Scheme, Sign, SignError, TimeUnit, Verdict, VerifyError,
};
use crate::secret::SecretError;

/// The signature header (lower case, as `http` stores names).
const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
/// The timestamp header (lower case).
const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

/// The longest DER encoding of a P-256 signature: a SEQUENCE of two
/// 33-byte INTEGERs.
const MAX_DER_LEN: usize = 72;
/// Its padded base64 length.
const MAX_SIGNATURE_CHARS: usize = MAX_DER_LEN.div_ceil(3) * 4;

/// The Twilio SendGrid Event Webhook: an ECDSA P-256 signature over the
/// `X-Twilio-Email-Event-Webhook-Timestamp` header and the body, verified
/// with the key SendGrid's console shows. No event id: deliveries are
/// deduplicated on the body's hash.
///
/// ```
/// use tower_webhook::scheme::{Context, Scheme, SendGrid};
/// use tower_webhook::sign::Signer;
///
/// // A test sender holding a private key (base64 of the 32-byte scalar here;
/// // PKCS#8 DER or PEM work too), and a receiver holding its public key.
/// let sender = SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")?;
/// let receiver = SendGrid::with_public_keys(sender.public_keys())?;
/// assert!(!receiver.can_sign());
/// let request = Signer::new(&sender).request("/sendgrid", r#"[{"event":"delivered"}]"#)?;
/// let (head, body) = request.into_parts();
/// let ctx = Context::new(std::time::SystemTime::now(), Default::default());
/// assert!(receiver.check(&head, &body, &ctx)?.envelope().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SendGrid {
    keys: Vec<VerifyingKey>,
    signing: Option<SigningKey>,
}

/// What a SendGrid head says, read once: the timestamp (in the window when
/// read) and the decoded signature.
#[derive(Debug)]
pub struct SendGridHead {
    timestamp: String,
    time: SystemTime,
    signature: Signature,
}

impl SendGrid {
    /// One verification key, as SendGrid's console shows it: base64 of a DER
    /// SubjectPublicKeyInfo (`MFkw...`), or a PEM `PUBLIC KEY` block.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let e = SendGrid::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err();
    /// assert!(e.to_string().contains("SendGrid's console"));
    /// ```
    pub fn new(public_key: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::with_public_keys([public_key])
    }

    /// Several verification keys active at once (rotation), newest first;
    /// a delivery verifies under any of them.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let scheme = SendGrid::with_public_keys([
    ///     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    /// ])?;
    /// assert_eq!(scheme.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn with_public_keys(
        keys: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SecretError> {
        let keys = keys
            .into_iter()
            .map(|k| keys::parse_public(k.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SecretError::EmptyRing);
        }
        Ok(Self {
            keys,
            signing: None,
        })
    }

    /// A test sender: a P-256 private key, as an unencrypted PEM `PRIVATE
    /// KEY` (PKCS#8) block, base64 of its DER, or base64 of the raw 32-byte
    /// scalar. It signs, and verifies with its public key. SendGrid never
    /// hands out its private key: this is for your tests.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let sender = SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")?;
    /// assert!(sender.can_sign());
    /// assert!(!format!("{sender:?}").contains("QkJC"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_private_key(private_key: impl AsRef<str>) -> Result<Self, SecretError> {
        let signing = keys::parse_private(private_key.as_ref())?;
        Ok(Self {
            keys: vec![*signing.verifying_key()],
            signing: Some(signing),
        })
    }

    /// How many verification keys are active.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let sender = SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")?;
    /// assert_eq!(sender.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether the scheme holds a private key and so can sign.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let receiver = SendGrid::new("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==")?;
    /// assert!(!receiver.can_sign());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The verification keys as the console shows them: base64 of the DER
    /// SubjectPublicKeyInfo.
    ///
    /// ```
    /// use tower_webhook::scheme::SendGrid;
    /// let sender = SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")?;
    /// assert!(sender.public_keys()[0].starts_with("MFkw"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn public_keys(&self) -> Vec<String> {
        use p256::pkcs8::EncodePublicKey as _;
        self.keys
            .iter()
            .filter_map(|k| k.to_public_key_der().ok())
            .map(|der| Encoding::Base64.encode(der.as_bytes()))
            .collect()
    }
}

/// Decodes the signature header: padded, canonical standard base64 of a
/// strict DER ECDSA signature.
fn decode_signature(encoded: &str) -> Result<Signature, VerifyError> {
    let bad = |reason| VerifyError::MalformedHeader {
        header: SIGNATURE_HEADER,
        reason,
    };
    if encoded.is_empty() {
        return Err(bad("it is empty"));
    }
    if encoded.len() > MAX_SIGNATURE_CHARS {
        return Err(bad("it is longer than any ECDSA P-256 signature"));
    }
    let der = B64
        .decode(encoded)
        .map_err(|_| bad("it is not padded standard base64"))?;
    Signature::from_der(&der).map_err(|_| bad("it is not a DER-encoded ECDSA P-256 signature"))
}

impl fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGrid")
            .field("public_keys", &self.keys.len())
            .field(
                "private_key",
                &format_args!(
                    "{}",
                    if self.can_sign() {
                        "<redacted>"
                    } else {
                        "none"
                    }
                ),
            )
            .finish()
    }
}

impl Scheme for SendGrid {
    type Head = SendGridHead;

    fn name(&self) -> &'static str {
        "sendgrid"
    }

    fn key_id(&self) -> KeyId {
        let newest = self.keys.first().map(VerifyingKey::to_sec1_bytes);
        KeyId::from_public_key(newest.as_deref().unwrap_or_default())
    }

    fn has_timestamp(&self) -> bool {
        true
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<SendGridHead, VerifyError> {
        let encoded = rules::required(&head.headers, SIGNATURE_HEADER)?;
        let timestamp = rules::required(&head.headers, TIMESTAMP_HEADER)?;
        let time = TimeUnit::Seconds.parse(TIMESTAMP_HEADER, timestamp)?;
        rules::within(TIMESTAMP_HEADER, time, ctx)?;
        Ok(SendGridHead {
            timestamp: timestamp.to_owned(),
            time,
            signature: decode_signature(encoded)?,
        })
    }

    fn verify(
        &self,
        _: &Parts,
        read: SendGridHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        rules::within(TIMESTAMP_HEADER, read.time, ctx)?;
        let parts = [read.timestamp.as_bytes(), body];
        if !self
            .keys
            .iter()
            .any(|key| key.multipart_verify(&parts, &read.signature).is_ok())
        {
            return Err(VerifyError::NoMatch {
                header: SIGNATURE_HEADER,
                candidates: 1,
                keys: self.keys.len(),
            });
        }
        Ok(Envelope::default().with_timestamp(read.time).into())
    }
}

impl Sign for SendGrid {
    /// Signs as SendGrid does (the event id is not used: SendGrid sends
    /// none). A scheme without a private key answers
    /// [`SignError::Unsupported`].
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        _id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let Some(key) = &self.signing else {
            return Err(SignError::Unsupported(self.name()));
        };
        let headers = [TIMESTAMP_HEADER, SIGNATURE_HEADER];
        sign_timestamped(request, timestamp, headers, |parts| {
            let signature: Signature = key
                .try_multipart_sign(parts)
                .map_err(|_| SignError::Invalid("ECDSA P-256 signing failed".to_owned()))?;
            Ok(Encoding::Base64.encode(signature.to_der().as_bytes()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;
    use crate::scheme::test_support::{self, deliver};
    use http::HeaderValue;
    use std::time::Duration;

    // SendGrid's Node.js SDK test vector (tests/vectors/vectors.json).
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const SIG: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const TS: &str = "1588788367";
    const BODY: &[u8] =
        br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
    // base64 of the scalar 0x42 * 32: a test signer's private key.
    const PRIVATE: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

    fn ctx() -> Context {
        test_support::at(1_588_788_367)
    }

    fn head(sig: &str, ts: &str) -> Parts {
        test_support::post(&[
            ("X-Twilio-Email-Event-Webhook-Signature", sig),
            ("X-Twilio-Email-Event-Webhook-Timestamp", ts),
        ])
    }

    fn receiver() -> SendGrid {
        SendGrid::new(PUBLIC_KEY).unwrap()
    }

    fn malformed(r: Result<Envelope, VerifyError>, header: &str) -> bool {
        matches!(r, Err(VerifyError::MalformedHeader { header: h, .. }) if h == header)
    }

    #[test]
    fn official_vector_verifies_without_an_id() {
        let env = receiver()
            .check(&head(SIG, TS), BODY, &ctx())
            .map(deliver)
            .unwrap();
        assert_eq!(env.id, None);
        assert_eq!(env.timestamp, Some(ctx().now));
        assert!(receiver().read(&head(SIG, TS), &ctx()).is_ok());
        let mut tampered = BODY.to_vec();
        tampered[2] ^= 0x20;
        assert_eq!(
            receiver()
                .check(&head(SIG, TS), &tampered, &ctx())
                .map(deliver),
            Err(VerifyError::NoMatch {
                header: SIGNATURE_HEADER,
                candidates: 1,
                keys: 1
            })
        );
        // A changed timestamp within the tolerance: no longer what was signed.
        assert!(matches!(
            receiver()
                .check(&head(SIG, "1588788368"), BODY, &ctx())
                .map(deliver),
            Err(VerifyError::NoMatch { .. })
        ));
    }

    #[test]
    fn high_and_low_s_forms_of_a_signature_both_verify() {
        let der = B64.decode(SIG).unwrap();
        let sig = Signature::from_der(&der).unwrap();
        let (r, s) = sig.split_scalars();
        let other = Signature::from_scalars(r, -s).unwrap();
        assert_ne!(other, sig);
        // Exactly one of the two is the low-S form.
        assert!(sig.normalize_s() == sig || other.normalize_s() == other);
        let other_header = B64.encode(other.to_der().as_bytes());
        assert!(
            receiver()
                .check(&head(&other_header, TS), BODY, &ctx())
                .map(deliver)
                .is_ok()
        );
    }

    #[test]
    fn rotation_any_configured_key_verifies() {
        let other = SendGrid::from_private_key(PRIVATE).unwrap().public_keys();
        let both = SendGrid::with_public_keys([other[0].as_str(), PUBLIC_KEY]).unwrap();
        assert_eq!(both.key_count(), 2);
        assert!(
            both.check(&head(SIG, TS), BODY, &ctx())
                .map(deliver)
                .is_ok()
        );
        let wrong = SendGrid::with_public_keys(&other).unwrap();
        assert_eq!(
            wrong.check(&head(SIG, TS), BODY, &ctx()).map(deliver),
            Err(VerifyError::NoMatch {
                header: SIGNATURE_HEADER,
                candidates: 1,
                keys: 1
            })
        );
        assert_eq!(
            SendGrid::with_public_keys(Vec::<&str>::new()).err(),
            Some(SecretError::EmptyRing)
        );
    }

    #[test]
    fn malformed_signature_headers_are_refused_before_the_body() {
        let der = B64.decode(SIG).unwrap();
        let mut trailing = der.clone();
        trailing.push(0);
        // r with a superfluous leading zero: valid BER, invalid DER.
        let mut non_minimal = vec![0x30, 0x46, 0x02, 0x22, 0x00];
        non_minimal.extend_from_slice(&der[4..]);
        let mut wrong_tag = der.clone();
        wrong_tag[0] = 0x31;
        for sig in [
            String::new(),
            "not base64!".to_owned(),
            SIG.trim_end_matches('=').to_owned(),
            SIG.replace('+', "-").replace('/', "_"),
            B64.encode(b"definitely not DER"),
            B64.encode(&trailing),
            B64.encode(&non_minimal),
            B64.encode(&wrong_tag),
            B64.encode(&der[..der.len() - 1]),
            "A".repeat(MAX_SIGNATURE_CHARS + 4),
            format!("{SIG} {SIG}"),
        ] {
            let h = head(&sig, TS);
            let r = receiver().check(&h, BODY, &ctx()).map(deliver);
            assert!(malformed(r.clone(), SIGNATURE_HEADER), "{sig:?}: {r:?}");
            assert!(receiver().read(&h, &ctx()).is_err(), "{sig:?}");
        }
        let r = receiver()
            .check(&head(&"A".repeat(100_000), TS), BODY, &ctx())
            .map(deliver);
        assert_eq!(
            r,
            Err(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "it is longer than any ECDSA P-256 signature"
            })
        );
        let mut twice = head(SIG, TS);
        twice
            .headers
            .append(SIGNATURE_HEADER, HeaderValue::from_static(SIG));
        assert!(malformed(
            receiver().check(&twice, BODY, &ctx()).map(deliver),
            SIGNATURE_HEADER
        ));
    }

    #[test]
    fn timestamps_are_strict_and_within_the_tolerance() {
        for ts in ["", "+1588788367", "01588788367", "1588788367.0", "1e9"] {
            assert!(
                malformed(
                    receiver().check(&head(SIG, ts), BODY, &ctx()).map(deliver),
                    TIMESTAMP_HEADER
                ),
                "{ts:?}"
            );
        }
        let late = Context::new(ctx().now + Duration::from_secs(301), Tolerance::default());
        assert_eq!(
            receiver().check(&head(SIG, TS), BODY, &late).map(deliver),
            Err(VerifyError::TooOld {
                header: TIMESTAMP_HEADER,
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(receiver().read(&head(SIG, TS), &late).is_err());
        // Read in time, verified once the body is in: the window is judged again.
        let h = head(SIG, TS);
        let read = receiver().read(&h, &ctx()).unwrap();
        assert!(matches!(
            receiver().verify(&h, read, BODY, &late),
            Err(VerifyError::TooOld { .. })
        ));
        let early = Context::new(ctx().now - Duration::from_secs(301), Tolerance::default());
        assert!(matches!(
            receiver().check(&head(SIG, TS), BODY, &early).map(deliver),
            Err(VerifyError::TooNew { .. })
        ));
        let missing = http::Request::post("/")
            .header(SIGNATURE_HEADER, SIG)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(
            receiver().check(&missing, BODY, &ctx()).map(deliver),
            Err(VerifyError::MissingHeader {
                header: TIMESTAMP_HEADER
            })
        );
    }

    #[test]
    fn sign_then_verify_and_verify_only_schemes() {
        let sender = SendGrid::from_private_key(PRIVATE).unwrap();
        assert!(sender.can_sign());
        let receiver = SendGrid::with_public_keys(sender.public_keys()).unwrap();
        let body = Bytes::from_static(&[0xff, 0x00, b'[', b']']);
        let mut req = http::Request::post("/").body(body.clone()).unwrap();
        sender.sign(&mut req, "ignored", ctx().now).unwrap();
        assert_eq!(req.headers()[TIMESTAMP_HEADER], TS);
        let (h, _) = req.into_parts();
        assert!(receiver.check(&h, &body, &ctx()).map(deliver).is_ok());
        assert!(matches!(
            self::tests::receiver()
                .check(&h, &body, &ctx())
                .map(deliver),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut req = http::Request::post("/").body(body).unwrap();
        assert_eq!(
            receiver.sign(&mut req, "x", ctx().now),
            Err(SignError::Unsupported("sendgrid"))
        );
        assert!(!req.headers().contains_key(SIGNATURE_HEADER));
    }

    #[test]
    fn debug_never_shows_key_material() {
        assert_eq!(
            format!("{:?}", SendGrid::from_private_key(PRIVATE).unwrap()),
            "SendGrid { public_keys: 1, private_key: <redacted> }"
        );
        assert_eq!(
            format!("{:?}", receiver()),
            "SendGrid { public_keys: 1, private_key: none }"
        );
    }
}
