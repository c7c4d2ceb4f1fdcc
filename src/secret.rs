//! Signing secrets and key rings.
//!
//! A [`Secret`] holds key bytes that are zeroized when dropped and never
//! printed: its `Debug` output is `Secret(<redacted, N bytes>)`, and no error in
//! this crate quotes a secret. A [`KeyRing`] holds every secret that is active
//! at once, so an endpoint keeps accepting deliveries signed with the old
//! secret while the sender rolls over to the new one.
//!
//! Senders encode secrets differently, and handing a scheme a secret in the
//! wrong encoding is the most common reason for "every signature fails":
//!
//! - Standard Webhooks (Svix, Clerk, Resend, ...): `whsec_` followed by base64
//!   of the key bytes; [`Secret::standard`] decodes it (padded or not, with or
//!   without the prefix) and refuses keys shorter than 16 bytes.
//! - Senders that use the secret string as the HMAC key as it is (Stripe,
//!   GitHub, Shopify, Slack, ...): [`Secret::from_text`].
//!
//! ```
//! use tower_webhook::secret::{KeyRing, Secret};
//!
//! let old = Secret::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let new = Secret::standard("whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=")?;
//! let ring = KeyRing::new([new, old])?;
//! assert_eq!(ring.len(), 2);
//! assert!(!format!("{ring:?}").contains("MfKQ"));
//! # Ok::<(), tower_webhook::secret::SecretError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

/// The shortest Standard Webhooks key accepted, in bytes (128 bits).
///
/// The specification recommends 24 to 64 random bytes; Svix issues 24.
pub(crate) const MIN_STANDARD_KEY_LEN: usize = 16;

/// The prefix of Standard Webhooks symmetric secrets.
pub(crate) const STANDARD_PREFIX: &str = "whsec_";

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a secret was refused. Messages name the problem, never the secret.
///
/// ```
/// use tower_webhook::secret::{Secret, SecretError};
/// let e = Secret::standard("whsec_").unwrap_err();
/// assert_eq!(e, SecretError::Empty);
/// assert!(e.to_string().contains("dashboard"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty (an unset environment variable, usually).
    #[error(
        "webhook secret is empty: set it to the signing secret shown in the sender's dashboard"
    )]
    Empty,
    /// The secret decodes to fewer bytes than the scheme accepts.
    #[error(
        "webhook secret is too short: it decodes to {len} bytes, and at least {min} are required; copy the whole signing secret from the sender's dashboard"
    )]
    TooShort {
        /// Decoded length in bytes.
        len: usize,
        /// Minimum accepted length in bytes.
        min: usize,
    },
    /// A secret that must be base64 is not.
    #[error(
        "webhook secret is not valid base64 after the `{prefix}` prefix ({reason}); Standard Webhooks secrets look like `whsec_` followed by base64"
    )]
    InvalidBase64 {
        /// The prefix that was stripped (may be empty).
        prefix: &'static str,
        /// What the decoder objected to (never the secret itself).
        reason: String,
    },
    /// A token that travels in a header must be visible ASCII; this one
    /// holds other characters, so no delivery could ever carry it.
    #[error(
        "webhook token holds characters other than visible ASCII, which a header cannot carry; copy the token exactly as the sender shows it"
    )]
    NotVisibleAscii,
    /// A key ring must hold at least one secret.
    #[error("key ring is empty: configure at least one webhook secret")]
    EmptyRing,
    /// An asymmetric key (an Ed25519 or ECDSA P-256 public or private key)
    /// was refused.
    ///
    /// ```
    /// # #[cfg(feature = "ed25519")] {
    /// use tower_webhook::scheme::StandardWebhooksEd25519;
    /// use tower_webhook::secret::SecretError;
    /// let e = StandardWebhooksEd25519::from_public_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err();
    /// assert!(matches!(e, SecretError::InvalidKey { .. }));
    /// assert!(e.to_string().contains("HMAC secret"));
    /// # }
    /// ```
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// The kind of key expected, such as "Ed25519 public key (`whpk_...`)".
        what: &'static str,
        /// What is wrong and how to fix it. Never quotes the key.
        reason: String,
    },
}

/// Key bytes, zeroized on drop, redacted in `Debug`.
///
/// ```
/// use tower_webhook::secret::Secret;
/// let s = Secret::from_text("It's a Secret to Everybody")?;
/// assert_eq!(s.expose_secret(), b"It's a Secret to Everybody");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted, 26 bytes>)");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Key bytes used as they are. Refuses an empty key.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self { bytes })
    }

    /// The UTF-8 bytes of a secret string, used as the key as they are
    /// (Stripe, GitHub, Shopify, Slack, ... use their secrets this way).
    /// Surrounding whitespace (a trailing newline from a secrets file) is trimmed.
    pub fn from_text(text: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::from_bytes(text.as_ref().trim().as_bytes().to_vec())
    }

    /// A Standard Webhooks secret: `whsec_` + base64 (padded or not), or bare
    /// base64. Refuses keys shorter than 16 bytes.
    ///
    /// ```
    /// use tower_webhook::secret::{Secret, SecretError};
    /// assert_eq!(Secret::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.len(), 24);
    /// assert!(matches!(Secret::standard("whsec_c2hvcnQ="), Err(SecretError::TooShort { len: 5, .. })));
    /// assert!(matches!(Secret::standard(""), Err(SecretError::Empty)));
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn standard(text: impl AsRef<str>) -> Result<Self, SecretError> {
        let text = text.as_ref().trim();
        let (prefix, encoded) = match text.strip_prefix(STANDARD_PREFIX) {
            Some(rest) => (STANDARD_PREFIX, rest),
            None => ("", text),
        };
        if encoded.is_empty() {
            return Err(SecretError::Empty);
        }
        let decoded = decode_base64_lenient(encoded)
            .map_err(|reason| SecretError::InvalidBase64 { prefix, reason })?;
        if decoded.len() < MIN_STANDARD_KEY_LEN {
            return Err(SecretError::TooShort {
                len: decoded.len(),
                min: MIN_STANDARD_KEY_LEN,
            });
        }
        Ok(Self { bytes: decoded })
    }

    /// The key bytes. Handle with care: do not log them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: an empty secret cannot be constructed.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Decodes base64 in the standard or the URL-safe alphabet, padded or not,
/// into a buffer zeroized on drop. The error describes the first alphabet's
/// objection without quoting the input.
pub(crate) fn decode_base64_lenient(encoded: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    match B64_STANDARD.decode(encoded) {
        Ok(d) => Ok(Zeroizing::new(d)),
        Err(first) => B64_URL_SAFE
            .decode(encoded)
            .map(Zeroizing::new)
            .map_err(|_| describe_base64_error(&first)),
    }
}

/// Describes a base64 error without quoting the input (the decoder's own
/// messages only carry offsets and byte values; we keep the offset).
fn describe_base64_error(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("invalid character at offset {offset}")
        }
        base64::DecodeError::InvalidLength(len) => format!("invalid length {len}"),
        base64::DecodeError::InvalidLastSymbol { offset, .. } => {
            format!("invalid last symbol at offset {offset}")
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_owned(),
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.bytes.len())
    }
}

/// Every secret active at once, newest first. Never empty.
///
/// ```
/// use tower_webhook::secret::{KeyRing, Secret, SecretError};
/// let ring = KeyRing::new([Secret::from_text("new")?, Secret::from_text("old")?])?;
/// assert_eq!(ring.iter().count(), 2);
/// assert_eq!(KeyRing::new(Vec::<Secret>::new()).unwrap_err(), SecretError::EmptyRing);
/// # Ok::<(), SecretError>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    secrets: Vec<Secret>,
}

impl KeyRing {
    /// A ring of the given secrets. Refuses an empty list.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Result<Self, SecretError> {
        let secrets: Vec<Secret> = secrets.into_iter().collect();
        if secrets.is_empty() {
            return Err(SecretError::EmptyRing);
        }
        Ok(Self { secrets })
    }

    /// A ring of one secret.
    pub fn single(secret: Secret) -> Self {
        Self {
            secrets: vec![secret],
        }
    }

    /// The secrets, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.iter()
    }

    /// Number of secrets (at least one).
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Always `false`: an empty ring cannot be constructed.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

impl From<Secret> for KeyRing {
    fn from(secret: Secret) -> Self {
        Self::single(secret)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVIX: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn standard_accepts_prefix_bare_padded_unpadded_and_url_safe() {
        let with = Secret::standard(SVIX).unwrap();
        let bare = Secret::standard("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(with.expose_secret(), bare.expose_secret());
        assert_eq!(with.len(), 24);
        // 29 bytes: padded ("=") and unpadded forms decode to the same key.
        let padded = Secret::standard("whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=").unwrap();
        let unpadded = Secret::standard("whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U").unwrap();
        assert_eq!(padded.expose_secret(), unpadded.expose_secret());
        assert_eq!(padded.expose_secret(), b"development-secret-do-not-use");
        // URL-safe alphabet: bytes 0xfb 0xff ... encode with '-' and '_'.
        let url = Secret::standard(format!("whsec_{}", "-_".repeat(16))).unwrap();
        assert_eq!(url.len(), 24);
        // Surrounding whitespace (a secrets file's newline) is ignored.
        let nl = Secret::standard(format!("{SVIX}\n")).unwrap();
        assert_eq!(nl.expose_secret(), with.expose_secret());
    }

    #[test]
    fn standard_rejects_empty_short_and_garbage_without_quoting() {
        assert_eq!(Secret::standard("").unwrap_err(), SecretError::Empty);
        assert_eq!(Secret::standard("whsec_").unwrap_err(), SecretError::Empty);
        assert_eq!(Secret::standard("   ").unwrap_err(), SecretError::Empty);
        assert_eq!(
            Secret::standard("whsec_AAAAAAAAAAAAAAAAAAAA").unwrap_err(),
            SecretError::TooShort { len: 15, min: 16 }
        );
        let err = Secret::standard("whsec_not base64 at all!!").unwrap_err();
        assert!(matches!(
            err,
            SecretError::InvalidBase64 {
                prefix: "whsec_",
                ..
            }
        ));
        let msg = err.to_string();
        assert!(msg.contains("whsec_"), "{msg}");
        assert!(!msg.contains("not base64 at all"), "{msg}");
    }

    #[test]
    fn text_and_bytes_refuse_empty() {
        assert_eq!(Secret::from_text("").unwrap_err(), SecretError::Empty);
        assert_eq!(Secret::from_text("\n").unwrap_err(), SecretError::Empty);
        assert_eq!(
            Secret::from_bytes(Vec::new()).unwrap_err(),
            SecretError::Empty
        );
        assert_eq!(Secret::from_text(" abc ").unwrap().expose_secret(), b"abc");
    }

    #[test]
    fn debug_never_prints_key_material() {
        let s = Secret::from_text("hunter2-super-secret").unwrap();
        let out = format!("{s:?} {:?} {:#?}", KeyRing::single(s.clone()), s);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("redacted"), "{out}");
    }
}
