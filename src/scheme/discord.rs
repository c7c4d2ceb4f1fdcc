//! [Discord](https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers)

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use ed25519_dalek::ed25519::signature::{MultipartSigner, MultipartVerifier};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use http::HeaderValue;
use http::request::Parts;
use zeroize::Zeroizing;

use super::handshake::json_response;
use super::hmac::sign_timestamped;
use super::json::{self, Field};
use super::rules::{self, IdSource};
use super::{
    Context, Encoding, Envelope, KeyId, Scheme, Sign, SignError, TimeUnit, Verdict, VerifyError,
};
use crate::secret::SecretError;

/// The signature header (lower case, as `http` stores names).
const SIGNATURE_HEADER: &str = "x-signature-ed25519";
/// The timestamp header (lower case).
const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

const PUBLIC: &str = "Discord application public key (64 hex digits)";
const SECRET: &str =
    "Ed25519 secret key (hex: the 32-byte seed, or the seed followed by the public key)";

/// [Discord](https://discord.com/developers/docs/interactions/overview)
/// interactions and webhook events: Ed25519 over the timestamp and the body,
/// verified with the application's hex public key; `PING`s answered after
/// verification.
///
/// ```
/// use tower_webhook::scheme::{Context, Discord, Scheme};
/// use tower_webhook::sign::Signer;
///
/// // RFC 8032's first test key: a sender for tests, and its receiver.
/// let sender = Discord::from_secret_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")?;
/// let receiver = Discord::new(sender.public_key())?;
/// let body = r#"{"id":"1","type":2,"data":{"name":"hello"}}"#;
/// let (head, body) = Signer::new(&sender).request("/interactions", body)?.into_parts();
/// let ctx = Context::new(std::time::SystemTime::now(), Default::default());
/// let envelope = receiver.check(&head, &body, &ctx)?.envelope().expect("a command");
/// assert_eq!(envelope.id.as_deref(), Some("1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [Discord](https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers)
/// interactions and webhook events (feature `discord`).
///
/// - Headers `X-Signature-Ed25519` (hex of the 64-byte Ed25519 signature,
///   exactly 128 hex digits) and `X-Signature-Timestamp` (Unix seconds).
/// - Signed content: the timestamp header's bytes as received, followed by
///   the raw body (no separator).
/// - Key: the application's "Public Key" from the Developer Portal, hex of
///   32 bytes. It is static: Discord has no key endpoint and no rotation.
///   Small-order keys, under which signatures can be forged, are refused
///   when the scheme is built; signatures are checked with `ed25519-dalek`'s
///   RFC 8032 equation, as for [`StandardWebhooksEd25519`](super::StandardWebhooksEd25519)
///   and as Discord's own libraries (WebCrypto, PyNaCl) do. A malleated
///   signature only ever signs the same timestamp and body, and dedup never
///   keys on the signature.
/// - The timestamp is checked against the tolerance, as for every timed
///   preset. Discord documents no window of its own; interactions must be
///   answered within 3 s, so the default five minutes is generous.
///
/// The endpoint's handshakes, recognised from the signed body only and
/// answered only **after** the signature verified (Discord probes endpoints
/// with bad signatures on purpose, and removes those that answer them):
///
/// - an interaction `PING` (top-level `"type": 1`, no `event` member) is
///   answered `200` with `{"type":1}` (`PONG`, as `application/json`);
/// - a webhook-event `PING` (top-level `"type": 0`) is answered `204`.
///
/// Neither reaches the handler or the dedup store. A webhook event
/// (`"type": 1` with an `event` object) is a delivery like any other; the
/// handler answers it (Discord expects `204` within 3 s).
///
/// **Dedup.** Interactions are deduplicated on their signed `id` (a
/// snowflake, in the body). Webhook events carry no id: they are
/// deduplicated on the SHA-256 of the verified body, which Discord's retries
/// (for up to 10 minutes) send unchanged.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use http::Request;
/// use tower_webhook::scheme::{Context, Discord, Scheme, Tolerance};
///
/// // A PING signed with RFC 8032's first test key (published-keys.md, 3.2).
/// let scheme = Discord::new("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
/// let (head, ()) = Request::post("/interactions")
///     .header("X-Signature-Ed25519", "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69ccc8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b")
///     .header("X-Signature-Timestamp", "1700000000")
///     .body(())?
///     .into_parts();
/// let body = br#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let pong = scheme.check(&head, body, &Context::new(now, Tolerance::default()))?.answer().expect("a PING");
/// assert_eq!(pong.body().as_ref(), br#"{"type":1}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Discord {
    verifying: VerifyingKey,
    signing: Option<SigningKey>,
}

impl Discord {
    /// A receiver's scheme: the application's public key, 64 hex digits as
    /// the Developer Portal shows it (either case; surrounding whitespace
    /// is ignored). It verifies only; [`sign`](Sign::sign) answers
    /// [`SignError::Unsupported`].
    ///
    /// ```
    /// use tower_webhook::scheme::Discord;
    /// let scheme = Discord::new("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
    /// assert!(!scheme.can_sign());
    /// let e = Discord::new("d75a98").unwrap_err();
    /// assert!(e.to_string().contains("64 hex digits"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn new(public_key: impl AsRef<str>) -> Result<Self, SecretError> {
        Ok(Self {
            verifying: parse_public(public_key.as_ref())?,
            signing: None,
        })
    }

    /// A sender's scheme, for tests: hex of the 32-byte Ed25519 seed (64
    /// digits, as PyNaCl's `SigningKey`), or of the seed followed by its
    /// public key (128 digits, as libsodium's secret key). It signs and
    /// verifies. Zeroized on drop and never printed.
    ///
    /// ```
    /// use tower_webhook::scheme::Discord;
    /// let scheme = Discord::from_secret_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")?;
    /// assert_eq!(scheme.public_key(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    /// assert!(!format!("{scheme:?}").contains("9d61b1"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_secret_key(secret_key: impl AsRef<str>) -> Result<Self, SecretError> {
        let signing = parse_secret(secret_key.as_ref())?;
        Ok(Self {
            verifying: signing.verifying_key(),
            signing: Some(signing),
        })
    }

    /// A key whose length tells its kind: 64 hex digits are a public key
    /// ([`new`](Self::new)), 128 a secret key followed by its public key
    /// ([`from_secret_key`](Self::from_secret_key)). Used by
    /// [`by_name`](crate::scheme::by_name), so that the demo's sender can
    /// sign with the same setting its receiver verifies with.
    ///
    /// ```
    /// use tower_webhook::scheme::Discord;
    /// let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    /// assert!(!Discord::from_key(public)?.can_sign());
    /// let pair = format!("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60{public}");
    /// assert!(Discord::from_key(&pair)?.can_sign());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn from_key(key: impl AsRef<str>) -> Result<Self, SecretError> {
        let key = key.as_ref().trim();
        if key.len() == 128 {
            Self::from_secret_key(key)
        } else {
            Self::new(key)
        }
    }

    /// The public key, lower-case hex: what the Developer Portal shows for
    /// the application (and what a receiver configures).
    ///
    /// ```
    /// use tower_webhook::scheme::Discord;
    /// let key = "D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A";
    /// assert_eq!(Discord::new(key)?.public_key(), key.to_ascii_lowercase());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn public_key(&self) -> String {
        Encoding::Hex.encode(self.verifying.as_bytes())
    }

    /// Whether the scheme holds a secret key and so can sign.
    ///
    /// ```
    /// use tower_webhook::scheme::Discord;
    /// let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    /// assert!(!Discord::new(key)?.can_sign());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }
}

impl fmt::Debug for Discord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discord")
            .field("public_key", &self.public_key())
            .field("secret_key", &self.signing.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn invalid(what: &'static str, reason: impl Into<String>) -> SecretError {
    SecretError::InvalidKey {
        what,
        reason: reason.into(),
    }
}

/// Hex of `len` bytes (either case), zeroized on drop.
fn decode_hex(
    what: &'static str,
    text: &str,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    if text.len() != 2 * len {
        return Err(invalid(
            what,
            format!(
                "it is {} characters long; expected {} hex digits",
                text.len(),
                2 * len
            ),
        ));
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    base16ct::mixed::decode(text, &mut out)
        .map_err(|_| invalid(what, "it holds characters other than hex digits"))?;
    Ok(out)
}

/// The application's public key: 64 hex digits, a point of the curve, not
/// of small order.
fn parse_public(text: &str) -> Result<VerifyingKey, SecretError> {
    let text = text.trim();
    if text.len() == 128 {
        return Err(invalid(
            PUBLIC,
            "it is 128 hex digits, the length of a secret key followed by its public key: a \
             receiver needs only the application's public key (to sign test deliveries, use \
             `Discord::from_secret_key`)",
        ));
    }
    let bytes = decode_hex(PUBLIC, text, 32)?;
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&bytes);
    let key = VerifyingKey::from_bytes(&raw)
        .map_err(|_| invalid(PUBLIC, "its 32 bytes are not a point of the Ed25519 curve"))?;
    if key.is_weak() {
        return Err(invalid(
            PUBLIC,
            "it is a small-order point, under which forged signatures verify; no Discord \
             application has it",
        ));
    }
    Ok(key)
}

/// A secret key: the 32-byte seed, or the seed and the public key, in hex.
fn parse_secret(text: &str) -> Result<SigningKey, SecretError> {
    let text = text.trim();
    match text.len() {
        128 => {
            let bytes = decode_hex(SECRET, text, 64)?;
            let mut pair = Zeroizing::new([0u8; 64]);
            pair.copy_from_slice(&bytes);
            SigningKey::from_keypair_bytes(&pair).map_err(|_| {
                invalid(
                    SECRET,
                    "its last 32 bytes are not the public key of its first 32 (the seed)",
                )
            })
        }
        _ => {
            let bytes = decode_hex(SECRET, text, 32)?;
            let mut seed = Zeroizing::new([0u8; 32]);
            seed.copy_from_slice(&bytes);
            Ok(SigningKey::from_bytes(&seed))
        }
    }
}

/// What [`Discord`] reads from the head: the signature, and the timestamp
/// (its bytes as received, which are signed, and its time).
#[derive(Debug)]
pub struct DiscordHead {
    signature: Signature,
    timestamp: HeaderValue,
    time: SystemTime,
}

impl Scheme for Discord {
    type Head = DiscordHead;

    fn name(&self) -> &'static str {
        "discord"
    }

    fn key_id(&self) -> KeyId {
        KeyId::from_public_key(self.verifying.as_bytes())
    }

    fn has_timestamp(&self) -> bool {
        true
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<DiscordHead, VerifyError> {
        let encoded = rules::required(&head.headers, SIGNATURE_HEADER)?;
        let (value, text) = rules::header_value(&head.headers, &TIMESTAMP_HEADER)?.ok_or(
            VerifyError::MissingHeader {
                header: TIMESTAMP_HEADER,
            },
        )?;
        let time = TimeUnit::Seconds.parse(TIMESTAMP_HEADER, text)?;
        rules::within(TIMESTAMP_HEADER, time, ctx)?;
        let signature = Encoding::Hex
            .decode(encoded, SIGNATURE_LEN)
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or(VerifyError::MalformedHeader {
                header: SIGNATURE_HEADER,
                reason: "not 128 hex digits (a 64-byte Ed25519 signature)",
            })?;
        Ok(DiscordHead {
            signature,
            timestamp: value.clone(),
            time,
        })
    }

    fn verify(
        &self,
        _: &Parts,
        read: DiscordHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        rules::within(TIMESTAMP_HEADER, read.time, ctx)?;
        let parts = [read.timestamp.as_bytes(), body];
        if self
            .verifying
            .multipart_verify(&parts, &read.signature)
            .is_err()
        {
            return Err(VerifyError::NoMatch {
                header: SIGNATURE_HEADER,
                candidates: 1,
                keys: 1,
            });
        }
        // Only now, the signature verified, may the body decide anything.
        let fields = json::fields(body, &["/type", "/event", "/id"]).unwrap_or_default();
        let field = |i: usize| fields.get(i).and_then(Option::as_ref);
        let kind = field(0).and_then(|f| match f {
            Field::Num(n) => n.as_u64(),
            _ => None,
        });
        match (kind, field(1)) {
            (Some(1), None) => return Ok(pong()),
            (Some(0), _) => return Ok(no_content()),
            _ => {}
        }
        let envelope = match field(2).and_then(Field::as_str) {
            Some(id) => Envelope::signed_id(rules::event_id(IdSource::Body, id)?),
            None => Envelope::default(),
        };
        Ok(envelope.with_timestamp(read.time).into())
    }
}

/// The answer to an interaction `PING`: `PONG`.
fn pong() -> Verdict {
    match json_response(&serde_json::json!({ "type": 1 })) {
        Some(answer) => Verdict::Answer(answer),
        None => Verdict::Answer(http::Response::new(Bytes::from_static(br#"{"type":1}"#))),
    }
}

/// The answer to a webhook-event `PING`: 204, no body.
fn no_content() -> Verdict {
    let mut answer = http::Response::new(Bytes::new());
    *answer.status_mut() = http::StatusCode::NO_CONTENT;
    Verdict::Answer(answer)
}

impl Sign for Discord {
    /// Signs as Discord does (the event id is not used: interactions carry
    /// theirs in the body). A scheme without a secret key answers
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
            let signature = key
                .try_multipart_sign(parts)
                .map_err(|_| SignError::Invalid("Ed25519 signing failed".to_owned()))?;
            Ok(Encoding::Hex.encode(&signature.to_bytes()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;
    use crate::scheme::test_support::{self, deliver};
    use std::time::Duration;

    // published-keys.md 3.2: RFC 8032 TEST 1 and the JS repo's PING body.
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const TS: &str = "1700000000";
    const PING: &[u8] =
        br#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
    const SIG: &str = "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69ccc8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b";

    fn ctx() -> Context {
        test_support::at(1_700_000_000)
    }

    fn head(sig: &str, ts: &str) -> Parts {
        test_support::post(&[("X-Signature-Ed25519", sig), ("X-Signature-Timestamp", ts)])
    }

    fn receiver() -> Discord {
        Discord::new(PUBLIC_KEY).unwrap()
    }

    fn signed(body: &[u8]) -> (Parts, Bytes) {
        let sender = Discord::from_secret_key(SEED).unwrap();
        let mut req = http::Request::post("/")
            .body(Bytes::copy_from_slice(body))
            .unwrap();
        sender.sign(&mut req, "ignored", ctx().now).unwrap();
        let (h, b) = req.into_parts();
        (h, b)
    }

    #[test]
    fn the_derived_vector_is_a_pong_and_signing_reproduces_it() {
        let answer = receiver()
            .check(&head(SIG, TS), PING, &ctx())
            .unwrap()
            .answer()
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], "application/json");
        assert_eq!(answer.body().as_ref(), br#"{"type":1}"#);
        let (h, _) = signed(PING);
        assert_eq!(h.headers[SIGNATURE_HEADER], SIG);
        assert_eq!(h.headers[TIMESTAMP_HEADER], TS);
        // Upper-case hex is the same signature.
        assert!(
            receiver()
                .check(&head(&SIG.to_ascii_uppercase(), TS), PING, &ctx())
                .is_ok()
        );
    }

    #[test]
    fn a_changed_timestamp_or_body_byte_is_refused_before_any_answer() {
        let no_match = Err(VerifyError::NoMatch {
            header: SIGNATURE_HEADER,
            candidates: 1,
            keys: 1,
        });
        assert_eq!(
            receiver()
                .check(&head(SIG, "1700000001"), PING, &ctx())
                .map(|v| v.answer().is_some()),
            no_match.clone()
        );
        let mut body = PING.to_vec();
        body[10] ^= 1;
        assert_eq!(
            receiver()
                .check(&head(SIG, TS), &body, &ctx())
                .map(|v| v.answer().is_some()),
            no_match
        );
    }

    #[test]
    fn malformed_headers_are_refused_at_the_head() {
        for bad in [
            "",
            &SIG[..127],
            &SIG[..126],
            &format!("{SIG}00"),
            &SIG.replace('f', "g"),
            &format!(" {}", &SIG[1..]),
        ] {
            assert!(
                matches!(
                    receiver().read(&head(bad, TS), &ctx()),
                    Err(VerifyError::MalformedHeader {
                        header: SIGNATURE_HEADER,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        for bad in ["", "+1700000000", "1700000000.0", "01700000000"] {
            assert!(
                matches!(
                    receiver().read(&head(SIG, bad), &ctx()),
                    Err(VerifyError::MalformedHeader {
                        header: TIMESTAMP_HEADER,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        let only_ts = http::Request::post("/")
            .header("X-Signature-Timestamp", TS)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(
            receiver().read(&only_ts, &ctx()).map(drop),
            Err(VerifyError::MissingHeader {
                header: SIGNATURE_HEADER
            })
        );
        let late = Context::new(ctx().now + Duration::from_secs(301), Tolerance::default());
        assert!(matches!(
            receiver().read(&head(SIG, TS), &late),
            Err(VerifyError::TooOld { .. })
        ));
        // Read in time, the body arrives late: judged again.
        let h = head(SIG, TS);
        let read = receiver().read(&h, &ctx()).unwrap();
        assert!(matches!(
            receiver().verify(&h, read, PING, &late),
            Err(VerifyError::TooOld { .. })
        ));
    }

    #[test]
    fn the_signed_body_decides_pong_no_content_or_delivery() {
        let r = receiver();
        let verdict = |body: &str| {
            let (h, b) = signed(body.as_bytes());
            r.check(&h, &b, &ctx()).unwrap()
        };
        // A command: delivered, deduplicated on its signed id.
        let e = deliver(verdict(r#"{"id":"42","type":2,"data":{"name":"x"}}"#));
        assert_eq!((e.id.as_deref(), e.id_signed), (Some("42"), true));
        assert_eq!(e.timestamp, Some(ctx().now));
        // A webhook-event PING: 204.
        let a = verdict(r#"{"version":1,"application_id":"1","type":0}"#)
            .answer()
            .unwrap();
        assert_eq!((a.status().as_u16(), a.body().len()), (204, 0));
        // A webhook event (type 1 with an event): delivered, no id.
        let e = deliver(verdict(
            r#"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{}}}"#,
        ));
        assert_eq!(e.id, None);
        // A type spelt as a string, or nested, is no PING.
        assert!(deliver(verdict(r#"{"id":"7","type":"1"}"#)).id.is_some());
        assert!(
            deliver(verdict(r#"{"id":"8","data":{"type":1}}"#))
                .id
                .is_some()
        );
        // Not JSON: delivered, deduplicated on the body.
        assert_eq!(deliver(verdict("not json")).id, None);
        // An id breaking the id rule is refused.
        let long = format!(r#"{{"id":"{}","type":2}}"#, "9".repeat(300));
        let (h, b) = signed(long.as_bytes());
        assert!(matches!(
            r.check(&h, &b, &ctx()),
            Err(VerifyError::MalformedBody { .. })
        ));
    }

    #[test]
    fn keys_parse_strictly_and_never_print() {
        let e = Discord::new("zz".repeat(32)).unwrap_err();
        assert!(e.to_string().contains("other than hex"), "{e}");
        assert_eq!(Discord::new("  ").unwrap_err(), SecretError::Empty);
        let pair = format!("{SEED}{PUBLIC_KEY}");
        let e = Discord::new(&pair).unwrap_err();
        assert!(e.to_string().contains("from_secret_key"), "{e}");
        assert!(!e.to_string().contains(SEED), "{e}");
        let mut wrong = pair.clone();
        wrong.replace_range(127.., "b");
        let e = Discord::from_secret_key(&wrong).unwrap_err();
        assert!(e.to_string().contains("not the public key"), "{e}");
        assert_eq!(
            Discord::from_secret_key(&pair).unwrap().public_key(),
            PUBLIC_KEY
        );
        // Small order: the identity point (y = 1).
        let mut identity = "00".repeat(32);
        identity.replace_range(0..2, "01");
        let e = Discord::new(&identity).unwrap_err();
        assert!(e.to_string().contains("small-order"), "{e}");
        let out = format!("{:?}", Discord::from_secret_key(SEED).unwrap());
        assert!(!out.contains(SEED) && out.contains("<redacted>"), "{out}");
        let mut req = http::Request::post("/").body(Bytes::new()).unwrap();
        assert_eq!(
            receiver().sign(&mut req, "x", ctx().now),
            Err(SignError::Unsupported("discord"))
        );
    }
}
