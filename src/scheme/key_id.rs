//! [`KeyId`]: a keyed, one-way fingerprint of a scheme's keys.

use std::fmt;

use hmac::{KeyInit, Mac};
use sha2::Digest;

/// A one-way, keyed fingerprint of the keys a scheme verifies with. The
/// layer's default dedup namespace is built from it, so that replicas
/// sharing a configuration agree, and two apps with different secrets that
/// share a store never see each other's keys.
///
/// ```
/// use tower_webhook::scheme::KeyId;
/// let a = KeyId::from_secret(b"secret-a");
/// assert_ne!(a, KeyId::from_secret(b"secret-b"));
/// assert_eq!(a.to_string().len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 16]);

/// The label the fingerprints are derived under.
const KEY_ID_LABEL: &[u8] = b"tower-webhook dedup namespace v1";

impl KeyId {
    /// HMAC-SHA256 of a fixed label keyed with `secret`, truncated to 128
    /// bits: it reveals nothing a short secret could be guessed from
    /// without the secret itself.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut out = [0u8; 16];
        if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
            mac.update(KEY_ID_LABEL);
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        Self(out)
    }

    /// SHA-256 of a fixed label and `public_key`, truncated to 128 bits, for
    /// schemes that verify with public keys (nothing to hide).
    ///
    /// ```
    /// use tower_webhook::scheme::KeyId;
    /// assert_ne!(KeyId::from_public_key(b"pk"), KeyId::from_secret(b"pk"));
    /// ```
    pub fn from_public_key(public_key: &[u8]) -> Self {
        let digest = sha2::Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(b"/public/")
            .chain_update(public_key)
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}
