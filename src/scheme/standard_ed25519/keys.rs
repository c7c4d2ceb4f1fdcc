//! Standard Webhooks' asymmetric key formats.
//!
//! - Public (verifying) key: `whpk_` + base64 of the 32-byte Ed25519 public
//!   key.
//! - Secret (signing) key: `whsk_` + base64 of the 32-byte seed followed by
//!   the 32-byte public key (Svix), or of the 32-byte seed alone (the
//!   specification's draft libraries).
//!
//! Base64 may be padded or not, in the standard or the URL-safe alphabet.
//! Errors say what to fix and never quote the key.

use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::secret::{STANDARD_PREFIX, SecretError, decode_base64_lenient};

/// The prefix of Standard Webhooks Ed25519 public keys.
const PUBLIC_PREFIX: &str = "whpk_";
/// The prefix of Standard Webhooks Ed25519 secret keys.
const SECRET_PREFIX: &str = "whsk_";

const PUBLIC: &str = "Ed25519 public key (`whpk_...`)";
const SECRET: &str = "Ed25519 secret key (`whsk_...`)";
const ANY: &str = "Standard Webhooks Ed25519 key";

/// A key of either kind.
pub(super) enum Key {
    /// Verifies only.
    Public(VerifyingKey),
    /// Signs, and verifies with its public half.
    Secret(SigningKey),
}

fn invalid(what: &'static str, reason: impl Into<String>) -> SecretError {
    SecretError::InvalidKey {
        what,
        reason: reason.into(),
    }
}

/// Refuses the `whsec_` secrets of the HMAC scheme with a pointer to it.
fn refuse_hmac(what: &'static str, text: &str) -> Result<(), SecretError> {
    if text.starts_with(STANDARD_PREFIX) {
        return Err(invalid(
            what,
            "this is a `whsec_` HMAC secret, not an Ed25519 key: verify it with the `standard` \
             scheme (`StandardWebhooks`), or configure the sender's `whpk_` public key",
        ));
    }
    Ok(())
}

/// A key whose kind its prefix tells: `whpk_` or `whsk_`.
pub(super) fn parse_any(text: &str) -> Result<Key, SecretError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    refuse_hmac(ANY, text)?;
    if text.starts_with(PUBLIC_PREFIX) {
        parse_public(text).map(Key::Public)
    } else if text.starts_with(SECRET_PREFIX) {
        parse_secret(text).map(Key::Secret)
    } else {
        Err(invalid(
            ANY,
            "it has neither the `whpk_` (public key, to verify) nor the `whsk_` (secret key, to \
             sign) prefix; copy the whole key, prefix included",
        ))
    }
}

/// A public key: `whpk_` + base64 of 32 bytes (the prefix may be left out).
pub(super) fn parse_public(text: &str) -> Result<VerifyingKey, SecretError> {
    let text = text.trim();
    refuse_hmac(PUBLIC, text)?;
    if text.starts_with(SECRET_PREFIX) {
        return Err(invalid(
            PUBLIC,
            "this is a `whsk_` secret (signing) key: a receiver needs only the sender's `whpk_` \
             public key; keep the secret key with the sender (to sign test deliveries, use \
             `from_secret_key`)",
        ));
    }
    let bytes = decode(PUBLIC, PUBLIC_PREFIX, text)?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        invalid(
            PUBLIC,
            format!(
                "it decodes to {} bytes; an Ed25519 public key is 32 bytes",
                bytes.len()
            ),
        )
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| invalid(PUBLIC, "its 32 bytes are not a point of the Ed25519 curve"))?;
    // Under a small-order key, signatures can be forged without any secret.
    if key.is_weak() {
        return Err(invalid(
            PUBLIC,
            "it is a small-order point, under which forged signatures verify; no real sender \
             uses it",
        ));
    }
    Ok(key)
}

/// A secret key: `whsk_` + base64 of the seed and the public key (64 bytes)
/// or of the seed alone (32 bytes); the prefix may be left out.
pub(super) fn parse_secret(text: &str) -> Result<SigningKey, SecretError> {
    let text = text.trim();
    refuse_hmac(SECRET, text)?;
    if text.starts_with(PUBLIC_PREFIX) {
        return Err(invalid(
            SECRET,
            "this is a `whpk_` public key, which only verifies: signing needs the sender's \
             `whsk_` secret key (to verify, use `from_public_key`)",
        ));
    }
    let bytes = decode(SECRET, SECRET_PREFIX, text)?;
    match bytes.len() {
        32 => {
            let mut seed = Zeroizing::new([0u8; 32]);
            seed.copy_from_slice(&bytes);
            Ok(SigningKey::from_bytes(&seed))
        }
        64 => {
            let mut pair = Zeroizing::new([0u8; 64]);
            pair.copy_from_slice(&bytes);
            SigningKey::from_keypair_bytes(&pair).map_err(|_| {
                invalid(
                    SECRET,
                    "its last 32 bytes are not the public key of its first 32 (the seed); copy \
                     the whole key",
                )
            })
        }
        n => Err(invalid(
            SECRET,
            format!(
                "it decodes to {n} bytes; an Ed25519 secret key is 32 bytes (the seed) or 64 \
                 (the seed followed by the public key)"
            ),
        )),
    }
}

/// The base64 after `prefix` (if present).
fn decode(
    what: &'static str,
    prefix: &'static str,
    text: &str,
) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let (prefix, encoded) = match text.strip_prefix(prefix) {
        Some(rest) => (prefix, rest),
        None => ("", text),
    };
    if encoded.is_empty() {
        return Err(SecretError::Empty);
    }
    decode_base64_lenient(encoded).map_err(|reason| {
        let after = if prefix.is_empty() {
            String::new()
        } else {
            format!(" after the `{prefix}` prefix")
        };
        invalid(what, format!("it is not valid base64{after} ({reason})"))
    })
}

/// `whpk_` + base64 (padded) of a public key.
pub(super) fn encode_public(key: &VerifyingKey) -> String {
    use base64::Engine as _;
    format!(
        "{PUBLIC_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The svix server's test key pair (tests/vectors/vectors.json).
    const SVIX_SECRET: &str = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    const SVIX_PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";

    fn reason(e: SecretError) -> String {
        match e {
            SecretError::InvalidKey { reason, .. } => reason,
            other => panic!("not InvalidKey: {other:?}"),
        }
    }

    #[test]
    fn both_secret_forms_give_the_same_key_and_its_public_half() {
        let pair = parse_secret(SVIX_SECRET).unwrap();
        assert_eq!(encode_public(&pair.verifying_key()), SVIX_PUBLIC);
        // The seed alone (first 32 bytes), with and without the prefix, padded or not.
        use base64::Engine as _;
        let seed = base64::engine::general_purpose::STANDARD.encode(pair.to_bytes());
        for text in [
            format!("whsk_{seed}"),
            seed.clone(),
            seed.trim_end_matches('=').to_owned(),
            format!("  whsk_{seed}\n"),
        ] {
            let key = parse_secret(&text).unwrap();
            assert_eq!(key.to_bytes(), pair.to_bytes(), "{text}");
        }
        let public = parse_public(SVIX_PUBLIC).unwrap();
        assert_eq!(public, pair.verifying_key());
        assert_eq!(parse_public(&SVIX_PUBLIC[5..]).unwrap(), public);
        assert!(matches!(parse_any(SVIX_PUBLIC), Ok(Key::Public(_))));
        assert!(matches!(parse_any(SVIX_SECRET), Ok(Key::Secret(_))));
    }

    #[test]
    fn errors_say_what_to_fix_without_quoting_the_key() {
        let hmac = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        for e in [
            parse_any(hmac).err().unwrap(),
            parse_public(hmac).err().unwrap(),
            parse_secret(hmac).err().unwrap(),
        ] {
            let r = reason(e);
            assert!(r.contains("HMAC secret") && r.contains("`standard`"), "{r}");
        }
        assert!(reason(parse_public(SVIX_SECRET).err().unwrap()).contains("`whsk_` secret"));
        assert!(reason(parse_secret(SVIX_PUBLIC).err().unwrap()).contains("`whpk_` public key"));
        let r = reason(parse_any(&SVIX_PUBLIC[5..]).err().unwrap());
        assert!(r.contains("neither the `whpk_`"), "{r}");
        let r = reason(parse_public("whpk_AAAA").err().unwrap());
        assert!(
            r.contains("decodes to 3 bytes") && r.contains("32 bytes"),
            "{r}"
        );
        let r = reason(parse_secret("whsk_AAAA").err().unwrap());
        assert!(r.contains("decodes to 3 bytes") && r.contains("64"), "{r}");
        let r = reason(parse_public("whpk_not*base64").err().unwrap());
        assert!(
            r.contains("not valid base64 after the `whpk_` prefix"),
            "{r}"
        );
        assert!(!r.contains("not*base64"), "{r}");
        assert_eq!(parse_any("  ").err(), Some(SecretError::Empty));
        assert_eq!(parse_public("whpk_").err(), Some(SecretError::Empty));
        // A 64-byte secret whose public half belongs to another seed.
        let mut bad = Zeroizing::new(parse_secret(SVIX_SECRET).unwrap().to_keypair_bytes());
        bad[40] ^= 1;
        use base64::Engine as _;
        let text = format!(
            "whsk_{}",
            base64::engine::general_purpose::STANDARD.encode(bad.as_slice())
        );
        let e = parse_secret(&text).err().unwrap();
        assert!(!e.to_string().contains(&text[5..]), "{e}");
        assert!(reason(e).contains("not the public key of its first 32"));
    }

    #[test]
    fn small_order_and_off_curve_public_keys_are_refused() {
        use base64::Engine as _;
        let b64 = |b: &[u8]| {
            format!(
                "whpk_{}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )
        };
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let r = reason(parse_public(&b64(&identity)).err().unwrap());
        assert!(r.contains("small-order"), "{r}");
        // y = 2 has no x on the curve.
        let mut off = [0u8; 32];
        off[0] = 2;
        let r = reason(parse_public(&b64(&off)).err().unwrap());
        assert!(r.contains("not a point"), "{r}");
    }
}
