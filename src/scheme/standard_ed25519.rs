//! Standard Webhooks' asymmetric signatures: `v1a`, Ed25519 (feature
//! `ed25519`).
//!
//! - Headers, signed content, event id rules and timestamp checks are those
//!   of [`StandardWebhooks`](super::StandardWebhooks), read by the same
//!   code: `webhook-id`, `webhook-timestamp` (Unix seconds),
//!   `webhook-signature` (or Svix's `svix-*`), content
//!   `{id}.{timestamp}.{body}`; ids holding `.` are refused.
//! - The signature header is a space-separated list of `version,base64`
//!   entries. A delivery verifies when any `v1a` entry (64 bytes of padded,
//!   canonical base64) is a valid Ed25519 signature under any configured
//!   public key (key rotation); `v1` (HMAC) entries and unknown versions are
//!   ignored, so a header with only `v1` entries is refused, before the body
//!   is read.
//! - A header is refused whole, before the body is read, when it holds more
//!   than 32 entries, or more than 8 `v1a` entries: each costs a public-key
//!   verification (tens of microseconds), and an unauthenticated request
//!   must not buy many of them.
//! - Keys: `whpk_` + base64 of the 32-byte public key (verifies); `whsk_` +
//!   base64 of the 32-byte seed followed by the public key, or of the seed
//!   alone (signs, for tests). A receiver needs only the public key.
//!
//! Public keys are not secret: verification tries the candidates against
//! the keys in turn and stops at the first that verifies (nothing secret can
//! leak through its timing). Small-order public keys, under which signatures
//! can be forged, are refused when the scheme is built; signatures are
//! checked with `ed25519-dalek`'s `verify` (the RFC 8032 equation, as the
//! senders' own libraries do). Secret keys are zeroized on drop and never
//! printed.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::Request;
//! use tower_webhook::scheme::{Context, Scheme, StandardWebhooksEd25519, Tolerance};
//!
//! // The Svix server's test vector: verified with the public key alone.
//! let scheme = StandardWebhooksEd25519::from_public_key("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=")?;
//! let (head, ()) = Request::post("/webhook")
//!     .header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
//!     .header("webhook-timestamp", "1614265330")
//!     .header("webhook-signature", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==")
//!     .body(())?
//!     .into_parts();
//! let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
//! let verdict = scheme.check(&head, br#"{"test": 2432232314}"#, &Context::new(now, Tolerance::default()))?;
//! assert_eq!(verdict.envelope().and_then(|e| e.id).as_deref(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod keys;

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use ed25519_dalek::ed25519::signature::{MultipartSigner, MultipartVerifier};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use http::request::Parts;

use super::standard::{StandardHead, sign_request};
use super::{Context, Encoding, KeyId, Scheme, Sign, SignError, Verdict, VerifyError};
use crate::secret::SecretError;

/// The most `v1a` entries a signature header may hold. Senders list one per
/// active signing key (two during a rotation); more is refused whole.
pub(crate) const MAX_V1A_SIGNATURES: usize = 8;

/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

/// Standard Webhooks with `v1a` (Ed25519) signatures: the `webhook-*` (or
/// `svix-*`) headers of [`StandardWebhooks`](super::StandardWebhooks),
/// signatures verified with the sender's `whpk_` public keys.
///
/// ```
/// use tower_webhook::scheme::{Context, Scheme, StandardWebhooksEd25519};
/// use tower_webhook::sign::Signer;
///
/// // The sender signs with the secret key; the receiver holds the public key.
/// let sender = StandardWebhooksEd25519::from_secret_key(
///     "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
/// )?;
/// assert_eq!(sender.public_keys(), ["whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="]);
/// let receiver = StandardWebhooksEd25519::from_public_keys([
///     "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=", // current
///     "whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=", // previous, during a rotation
/// ])?;
/// assert!(!receiver.can_sign());
///
/// let request = Signer::new(&sender).request("/webhook", r#"{"type":"x"}"#)?;
/// let (head, body) = request.into_parts();
/// let ctx = Context::new(std::time::SystemTime::now(), Default::default());
/// assert!(receiver.check(&head, &body, &ctx)?.envelope().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StandardWebhooksEd25519 {
    /// Every key a `v1a` entry is tried against (the public halves of the
    /// secret keys included).
    verifying: Vec<VerifyingKey>,
    /// The keys `sign` signs with, one `v1a` entry each.
    signing: Vec<SigningKey>,
}

impl StandardWebhooksEd25519 {
    /// One key whose prefix tells its kind: a `whpk_` public key (verifies)
    /// or a `whsk_` secret key (verifies and signs). Used by
    /// [`by_name`](crate::scheme::by_name).
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// assert!(!StandardWebhooksEd25519::new("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=")?.can_sign());
    /// let e = StandardWebhooksEd25519::new("1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=").unwrap_err();
    /// assert!(e.to_string().contains("prefix"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn new(key: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::with_keys([key])
    }

    /// Several keys at once (rotation), each `whpk_` or `whsk_`. Deliveries
    /// verify under any of them; [`sign`](Sign::sign) lists one `v1a`
    /// signature per secret key.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::with_keys([
    ///     "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
    ///     "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    /// ])?;
    /// assert_eq!((scheme.key_count(), scheme.can_sign()), (2, true));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn with_keys(keys: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self, SecretError> {
        let mut verifying = Vec::new();
        let mut signing = Vec::new();
        for key in keys {
            match keys::parse_any(key.as_ref())? {
                keys::Key::Public(k) => verifying.push(k),
                keys::Key::Secret(k) => {
                    verifying.push(k.verifying_key());
                    signing.push(k);
                }
            }
        }
        Self::build(verifying, signing)
    }

    /// A receiver's scheme: one sender public key, `whpk_` + base64 (the
    /// prefix may be left out). It verifies only; [`sign`](Sign::sign)
    /// answers [`SignError::Unsupported`].
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::from_public_key("1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=")?;
    /// assert!(!scheme.can_sign());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_public_key(key: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::from_public_keys([key])
    }

    /// Several public keys active at once (rotation), newest first.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::from_public_keys([
    ///     "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
    ///     "whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=",
    /// ])?;
    /// assert_eq!(scheme.key_count(), 2);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_public_keys(
        keys: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SecretError> {
        let verifying = keys
            .into_iter()
            .map(|k| keys::parse_public(k.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::build(verifying, Vec::new())
    }

    /// A sender's scheme, for tests: a `whsk_` secret key (the prefix may be
    /// left out), base64 of the 32-byte seed followed by the 32-byte public
    /// key, or of the seed alone. It signs and verifies.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::from_secret_key("whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=")?;
    /// assert!(scheme.can_sign());
    /// assert!(!format!("{scheme:?}").contains("VEVT"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_secret_key(key: impl AsRef<str>) -> Result<Self, SecretError> {
        let key = keys::parse_secret(key.as_ref())?;
        Self::build(vec![key.verifying_key()], vec![key])
    }

    fn build(verifying: Vec<VerifyingKey>, signing: Vec<SigningKey>) -> Result<Self, SecretError> {
        if verifying.is_empty() {
            return Err(SecretError::EmptyRing);
        }
        Ok(Self { verifying, signing })
    }

    /// How many public keys deliveries are verified against.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::new("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=")?;
    /// assert_eq!(scheme.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.verifying.len()
    }

    /// Whether the scheme holds a secret key and so can sign.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let scheme = StandardWebhooksEd25519::new("whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")?;
    /// assert!(scheme.can_sign());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn can_sign(&self) -> bool {
        !self.signing.is_empty()
    }

    /// The public keys, `whpk_` + base64, in the order configured: what to
    /// give a receiver for a `whsk_` secret key.
    ///
    /// ```
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// let sender = StandardWebhooksEd25519::new("whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")?;
    /// assert_eq!(sender.public_keys(), ["whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="]);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn public_keys(&self) -> Vec<String> {
        self.verifying.iter().map(keys::encode_public).collect()
    }

    fn no_match(&self, head: &StandardHead, candidates: usize) -> VerifyError {
        VerifyError::NoMatch {
            header: head.names.signature.text(),
            candidates,
            keys: self.verifying.len(),
        }
    }
}

/// The `v1a` signatures of a head, decoded (an entry that is not 64 bytes
/// of padded, canonical base64 can never verify and is left out); refuses
/// more than [`MAX_V1A_SIGNATURES`] `v1a` entries, well-formed or not.
fn candidates(head: &StandardHead) -> Result<Vec<Signature>, VerifyError> {
    let entries: Vec<&[u8]> = head.entries("v1a").take(MAX_V1A_SIGNATURES + 1).collect();
    if entries.len() > MAX_V1A_SIGNATURES {
        return Err(VerifyError::TooManySignatures {
            header: head.names.signature.text(),
            max: MAX_V1A_SIGNATURES,
        });
    }
    Ok(entries
        .into_iter()
        .filter_map(|e| Encoding::Base64.decode(e, SIGNATURE_LEN))
        .filter_map(|bytes| Signature::from_slice(&bytes).ok())
        .collect())
}

impl fmt::Debug for StandardWebhooksEd25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooksEd25519")
            .field("public_keys", &self.verifying.len())
            .field(
                "secret_keys",
                &format_args!("<redacted, {}>", self.signing.len()),
            )
            .finish()
    }
}

impl Scheme for StandardWebhooksEd25519 {
    type Head = StandardHead;

    fn name(&self) -> &'static str {
        "standard-ed25519"
    }

    fn key_id(&self) -> KeyId {
        let newest = self.verifying.first().map(VerifyingKey::to_bytes);
        KeyId::from_public_key(newest.as_ref().map_or(&[][..], |k| &k[..]))
    }

    fn has_timestamp(&self) -> bool {
        true
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<StandardHead, VerifyError> {
        let read = StandardHead::read(head, ctx)?;
        // A header without a well-formed `v1a` entry can never verify:
        // refuse it before the body is read.
        if candidates(&read)?.is_empty() {
            return Err(self.no_match(&read, 0));
        }
        Ok(read)
    }

    fn verify(
        &self,
        _: &Parts,
        read: StandardHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        read.still_within(ctx)?;
        let candidates = candidates(&read)?;
        let parts = read.signed(body);
        let verified = candidates.iter().any(|signature| {
            self.verifying
                .iter()
                .any(|key| key.multipart_verify(&parts, signature).is_ok())
        });
        if !verified {
            return Err(self.no_match(&read, candidates.len()));
        }
        Ok(read.envelope().into())
    }
}

impl Sign for StandardWebhooksEd25519 {
    /// Signs with every secret key (one `v1a` entry each); a scheme built
    /// from public keys only answers [`SignError::Unsupported`].
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        if self.signing.is_empty() {
            return Err(SignError::Unsupported(self.name()));
        }
        sign_request(request, id, timestamp, |parts| {
            self.signing
                .iter()
                .map(|key| {
                    key.try_multipart_sign(parts)
                        .map(|s| format!("v1a,{}", Encoding::Base64.encode(&s.to_bytes())))
                        .map_err(|_| SignError::Invalid("Ed25519 signing failed".to_owned()))
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::{self, deliver};
    use crate::scheme::{StandardWebhooks, Tolerance};
    use std::time::{Duration, UNIX_EPOCH};

    // The Svix server's test vector (tests/vectors/vectors.json).
    const SECRET: &str = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    const PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
    // Another key pair: the standard-webhooks JS PR's seed 0x01 * 32.
    const OTHER_PUBLIC: &str = "whpk_iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=";
    const OTHER_SECRET: &str = "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn ctx() -> Context {
        test_support::at(1_614_265_330)
    }

    fn head(sig: &str) -> Parts {
        head_with(&[
            ("webhook-id", ID),
            ("webhook-timestamp", TS),
            ("webhook-signature", sig),
        ])
    }

    fn head_with(pairs: &[(&str, &str)]) -> Parts {
        test_support::post(pairs)
    }

    fn receiver() -> StandardWebhooksEd25519 {
        StandardWebhooksEd25519::from_public_key(PUBLIC).unwrap()
    }

    #[test]
    fn official_vector_verifies_and_signing_reproduces_it() {
        let env = receiver()
            .check(&head(SIG), BODY, &ctx())
            .map(deliver)
            .unwrap();
        assert_eq!(env.id.as_deref(), Some(ID));
        assert_eq!(
            env.timestamp,
            Some(UNIX_EPOCH + Duration::from_secs(1_614_265_330))
        );
        // Ed25519 is deterministic: the secret key signs exactly the vector.
        let sender = StandardWebhooksEd25519::from_secret_key(SECRET).unwrap();
        let mut req = http::Request::post("/")
            .body(Bytes::from_static(BODY))
            .unwrap();
        sender.sign(&mut req, ID, ctx().now).unwrap();
        assert_eq!(req.headers()["webhook-signature"], SIG);
        assert_eq!(req.headers()["webhook-timestamp"], TS);
        assert_eq!(req.headers()["webhook-id"], ID);
        // Svix's header names too.
        let svix = head_with(&[
            ("svix-id", ID),
            ("svix-timestamp", TS),
            ("svix-signature", SIG),
        ]);
        assert!(receiver().check(&svix, BODY, &ctx()).map(deliver).is_ok());
    }

    #[test]
    fn any_v1a_entry_under_any_key_verifies_among_v1_and_unknown_entries() {
        let hmac = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let garbage = format!("v1a,{}", "A".repeat(86) + "==");
        let sig = format!("{hmac} v2,xyz {garbage} v1a,short {SIG} junk");
        let rotated = StandardWebhooksEd25519::from_public_keys([OTHER_PUBLIC, PUBLIC]).unwrap();
        assert_eq!(rotated.key_count(), 2);
        assert!(
            rotated
                .check(&head(&sig), BODY, &ctx())
                .map(deliver)
                .is_ok()
        );
        assert!(rotated.read(&head(&sig), &ctx()).is_ok());
        let only_other = StandardWebhooksEd25519::from_public_key(OTHER_PUBLIC).unwrap();
        assert_eq!(
            only_other.check(&head(&sig), BODY, &ctx()).map(deliver),
            Err(VerifyError::NoMatch {
                header: "webhook-signature",
                candidates: 2,
                keys: 1
            })
        );
    }

    #[test]
    fn a_v1_only_header_is_refused_even_when_its_hmac_is_right() {
        // The HMAC vector of the same delivery verifies under `standard`...
        let hmac = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let standard = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert!(
            standard
                .check(&head(hmac), BODY, &ctx())
                .map(deliver)
                .is_ok()
        );
        // ...and never under the Ed25519 scheme, already at the head.
        let expected = Err(VerifyError::NoMatch {
            header: "webhook-signature",
            candidates: 0,
            keys: 1,
        });
        assert_eq!(
            receiver().check(&head(hmac), BODY, &ctx()).map(deliver),
            expected
        );
        assert_eq!(
            receiver().read(&head(hmac), &ctx()).map(drop),
            expected.map(drop)
        );
        // And `standard` ignores the v1a entry.
        assert!(matches!(
            standard.check(&head(SIG), BODY, &ctx()).map(deliver),
            Err(VerifyError::NoMatch { candidates: 0, .. })
        ));
    }

    #[test]
    fn malformed_v1a_entries_never_count_as_candidates() {
        let encoded = SIG.strip_prefix("v1a,").unwrap();
        for sig in [
            "v1a,".to_owned(),
            "v1a".to_owned(),
            format!("v1a,{}", encoded.trim_end_matches('=')),
            format!("v1a,{}", &encoded[..80]),
            format!("v1a,{encoded}="),
            format!("V1A,{encoded}"),
            format!("v1a ,{encoded}"),
            format!("v1a,{}", encoded.replace('+', "-").replace('/', "_")),
            // Non-canonical: `Ag==` with the unused bits set (the same bytes to a lax decoder).
            format!("v1a,{}Ah==", &encoded[..84]),
            encoded.to_owned(),
        ] {
            let r = receiver().check(&head(&sig), BODY, &ctx()).map(deliver);
            assert!(
                matches!(r, Err(VerifyError::NoMatch { candidates: 0, .. })),
                "{sig:?} gave {r:?}"
            );
        }
    }

    #[test]
    fn more_v1a_entries_than_the_limit_are_refused_whole() {
        let filler = format!("v1a,{}", "A".repeat(86) + "==");
        let mut at_limit = vec![filler.as_str(); MAX_V1A_SIGNATURES - 1];
        at_limit.push(SIG);
        assert!(
            receiver()
                .check(&head(&at_limit.join(" ")), BODY, &ctx())
                .map(deliver)
                .is_ok()
        );
        let mut over = vec![filler.as_str(); MAX_V1A_SIGNATURES];
        over.push(SIG);
        let expected = Err(VerifyError::TooManySignatures {
            header: "webhook-signature",
            max: MAX_V1A_SIGNATURES,
        });
        assert_eq!(
            receiver()
                .check(&head(&over.join(" ")), BODY, &ctx())
                .map(deliver),
            expected
        );
        assert_eq!(
            receiver().read(&head(&over.join(" ")), &ctx()).map(drop),
            expected.map(drop)
        );
        // Malformed v1a entries count towards the limit too.
        let mut malformed = vec!["v1a,x"; MAX_V1A_SIGNATURES];
        malformed.push(SIG);
        assert!(matches!(
            receiver()
                .check(&head(&malformed.join(" ")), BODY, &ctx())
                .map(deliver),
            Err(VerifyError::TooManySignatures { .. })
        ));
    }

    #[test]
    fn changed_id_timestamp_or_body_and_the_id_and_time_rules() {
        let r = receiver();
        let changed = |pairs: &[(&str, &str)], body: &[u8]| {
            r.check(&head_with(pairs), body, &ctx()).map(deliver)
        };
        for (pairs, body) in [
            (
                [
                    ("webhook-id", "msg_other"),
                    ("webhook-timestamp", TS),
                    ("webhook-signature", SIG),
                ],
                BODY,
            ),
            (
                [
                    ("webhook-id", ID),
                    ("webhook-timestamp", "1614265331"),
                    ("webhook-signature", SIG),
                ],
                BODY,
            ),
            (
                [
                    ("webhook-id", ID),
                    ("webhook-timestamp", TS),
                    ("webhook-signature", SIG),
                ],
                &br#"{"test": 2432232315}"#[..],
            ),
        ] {
            assert!(
                matches!(
                    changed(&pairs, body),
                    Err(VerifyError::NoMatch { candidates: 1, .. })
                ),
                "{pairs:?}"
            );
        }
        let dotted = changed(
            &[
                ("webhook-id", "msg.1"),
                ("webhook-timestamp", TS),
                ("webhook-signature", SIG),
            ],
            BODY,
        );
        assert!(
            matches!(
                dotted,
                Err(VerifyError::MalformedHeader {
                    header: "webhook-id",
                    ..
                })
            ),
            "{dotted:?}"
        );
        let late = Context::new(ctx().now + Duration::from_secs(301), Tolerance::default());
        assert_eq!(
            r.check(&head(SIG), BODY, &late).map(deliver),
            Err(VerifyError::TooOld {
                header: "webhook-timestamp",
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        let early = Context::new(ctx().now - Duration::from_secs(301), Tolerance::default());
        assert!(matches!(
            r.check(&head(SIG), BODY, &early).map(deliver),
            Err(VerifyError::TooNew { .. })
        ));
        // Read in time, verified once the body is in: the window is judged again.
        let h = head(SIG);
        let read = r.read(&h, &ctx()).unwrap();
        assert!(matches!(
            r.verify(&h, read, BODY, &late),
            Err(VerifyError::TooOld { .. })
        ));
        let mut sender = http::Request::post("/").body(Bytes::new()).unwrap();
        let signer = StandardWebhooksEd25519::from_secret_key(SECRET).unwrap();
        assert!(matches!(
            signer.sign(&mut sender, "evt.1", ctx().now),
            Err(SignError::Invalid(_))
        ));
    }

    #[test]
    fn oversized_and_missing_headers() {
        let huge = format!("{SIG} ").repeat(crate::scheme::rules::MAX_SIGNATURES + 1);
        assert!(matches!(
            receiver().check(&head(&huge), BODY, &ctx()).map(deliver),
            Err(VerifyError::TooManySignatures { max: 32, .. })
        ));
        let long_entry = format!("v1a,{}", "A".repeat(100_000));
        assert!(matches!(
            receiver()
                .check(&head(&long_entry), BODY, &ctx())
                .map(deliver),
            Err(VerifyError::NoMatch { candidates: 0, .. })
        ));
        assert_eq!(
            receiver()
                .check(
                    &head_with(&[("webhook-id", ID), ("webhook-timestamp", TS)]),
                    BODY,
                    &ctx()
                )
                .map(deliver),
            Err(VerifyError::MissingHeader {
                header: "webhook-signature"
            })
        );
    }

    #[test]
    fn signing_with_two_secret_keys_and_verify_only_schemes() {
        let sender = StandardWebhooksEd25519::with_keys([OTHER_SECRET, SECRET]).unwrap();
        assert_eq!(sender.public_keys(), [OTHER_PUBLIC, PUBLIC]);
        let body = Bytes::from_static(&[0xff, 0x00, 0x80]);
        let mut req = http::Request::post("/").body(body.clone()).unwrap();
        sender.sign(&mut req, "msg_2", ctx().now).unwrap();
        let sig = req.headers()["webhook-signature"].to_str().unwrap();
        assert_eq!(sig.split(' ').filter(|e| e.starts_with("v1a,")).count(), 2);
        let (h, _) = req.into_parts();
        assert!(receiver().check(&h, &body, &ctx()).map(deliver).is_ok());

        let mut req = http::Request::post("/").body(body).unwrap();
        assert_eq!(
            receiver().sign(&mut req, "msg_3", ctx().now),
            Err(SignError::Unsupported("standard-ed25519"))
        );
        assert!(!req.headers().contains_key("webhook-signature"));
        // A public and a secret key together: verifies under both, signs with one.
        let mixed = StandardWebhooksEd25519::with_keys([PUBLIC, OTHER_SECRET]).unwrap();
        assert_eq!((mixed.key_count(), mixed.can_sign()), (2, true));
        assert_eq!(
            StandardWebhooksEd25519::from_public_keys(Vec::<String>::new()).err(),
            Some(SecretError::EmptyRing)
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let scheme = StandardWebhooksEd25519::with_keys([SECRET, OTHER_PUBLIC]).unwrap();
        let out = format!("{scheme:?}");
        assert_eq!(
            out,
            "StandardWebhooksEd25519 { public_keys: 2, secret_keys: <redacted, 1> }"
        );
        for needle in ["6Xb/", "1SiA", "iojj"] {
            assert!(!out.contains(needle), "{out}");
        }
    }
}
