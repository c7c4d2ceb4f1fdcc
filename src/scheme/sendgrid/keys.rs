//! SendGrid's ECDSA P-256 keys.
//!
//! - Verification (public) key: base64 of a DER SubjectPublicKeyInfo, as
//!   SendGrid's console shows it (one line starting with `MFkw`), or the
//!   same in a PEM `PUBLIC KEY` block.
//! - Private key (signing test deliveries): a PEM `PRIVATE KEY` (PKCS#8)
//!   block, base64 of its DER, or base64 of the raw 32-byte scalar.
//!
//! Errors say what to fix and never quote the key.

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};

use crate::secret::{SecretError, decode_base64_lenient};

const PUBLIC: &str = "SendGrid verification key (ECDSA P-256 public key)";
const PRIVATE: &str = "ECDSA P-256 private key";

const WHERE: &str = "copy the verification key from SendGrid's console (Settings > Mail \
                     Settings > Event Webhook > Signature Verification): one base64 line \
                     starting with `MFkw`";

fn invalid(what: &'static str, reason: impl Into<String>) -> SecretError {
    SecretError::InvalidKey {
        what,
        reason: reason.into(),
    }
}

/// A verification key: base64 DER SubjectPublicKeyInfo, or PEM.
pub(super) fn parse_public(text: &str) -> Result<VerifyingKey, SecretError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    let private = || {
        invalid(
            PUBLIC,
            format!(
                "this is a private key, which must stay with the signer; a receiver needs the \
                 public key: {WHERE}"
            ),
        )
    };
    if text.starts_with("-----BEGIN") {
        if text.contains("PRIVATE KEY-----") {
            return Err(private());
        }
        return VerifyingKey::from_public_key_pem(text).map_err(|_| {
            invalid(
                PUBLIC,
                format!("it is not a PEM `PUBLIC KEY` block holding a P-256 key; {WHERE}"),
            )
        });
    }
    let der = decode_base64_lenient(text).map_err(|reason| {
        invalid(
            PUBLIC,
            format!("it is not valid base64 ({reason}); {WHERE}"),
        )
    })?;
    VerifyingKey::from_public_key_der(&der).map_err(|_| {
        if SigningKey::from_pkcs8_der(&der).is_ok() {
            private()
        } else {
            invalid(
                PUBLIC,
                format!(
                    "it is not the DER SubjectPublicKeyInfo of a P-256 key ({} bytes decoded; \
                     SendGrid's are 91); {WHERE}",
                    der.len()
                ),
            )
        }
    })
}

/// A private key: PEM or base64 PKCS#8, or base64 of the raw 32-byte scalar.
pub(super) fn parse_private(text: &str) -> Result<SigningKey, SecretError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    let public = || {
        invalid(
            PRIVATE,
            "this is a public key, which only verifies; signing needs the private key (to \
             verify, use `SendGrid::new`)",
        )
    };
    if text.starts_with("-----BEGIN") {
        if text.starts_with("-----BEGIN EC PRIVATE KEY") {
            return Err(invalid(
                PRIVATE,
                "this is a SEC1 `EC PRIVATE KEY` block: convert it to PKCS#8 with `openssl pkcs8 \
                 -topk8 -nocrypt`",
            ));
        }
        if text.contains("PUBLIC KEY-----") {
            return Err(public());
        }
        return SigningKey::from_pkcs8_pem(text).map_err(|_| {
            invalid(
                PRIVATE,
                "it is not an unencrypted PEM `PRIVATE KEY` (PKCS#8) block holding a P-256 key",
            )
        });
    }
    let der = decode_base64_lenient(text)
        .map_err(|reason| invalid(PRIVATE, format!("it is not valid base64 ({reason})")))?;
    if der.len() == 32 {
        return SigningKey::from_slice(&der).map_err(|_| {
            invalid(
                PRIVATE,
                "its 32 bytes are not a P-256 private scalar (zero, or not below the group order)",
            )
        });
    }
    SigningKey::from_pkcs8_der(&der).map_err(|_| {
        if VerifyingKey::from_public_key_der(&der).is_ok() {
            public()
        } else {
            invalid(
                PRIVATE,
                format!(
                    "it decodes to {} bytes, neither a 32-byte scalar nor an unencrypted PKCS#8 \
                     DER P-256 key",
                    der.len()
                ),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    // SendGrid's SDK test key (tests/vectors/vectors.json).
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";

    fn reason(e: SecretError) -> String {
        match e {
            SecretError::InvalidKey { reason, .. } => reason,
            other => panic!("not InvalidKey: {other:?}"),
        }
    }

    fn private() -> SigningKey {
        SigningKey::from_slice(&[0x42; 32]).unwrap()
    }

    #[test]
    fn public_key_as_the_console_shows_it_and_as_pem() {
        let key = parse_public(PUBLIC_KEY).unwrap();
        let pem = key.to_public_key_pem(LineEnding::LF).unwrap();
        assert_eq!(parse_public(&pem).unwrap(), key);
        assert_eq!(parse_public(&format!(" {PUBLIC_KEY}\n")).unwrap(), key);
        assert_eq!(parse_public(PUBLIC_KEY.trim_end_matches('=')).unwrap(), key);
    }

    #[test]
    fn private_key_in_each_form() {
        let key = private();
        let der = key.to_pkcs8_der().unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        for text in [
            B64.encode([0x42; 32]),
            B64.encode(der.as_bytes()),
            pem.to_string(),
        ] {
            assert_eq!(parse_private(&text).unwrap(), key, "{text}");
        }
    }

    #[test]
    fn errors_say_what_to_fix_without_quoting_the_key() {
        let key = private();
        let private_der = B64.encode(key.to_pkcs8_der().unwrap().as_bytes());
        let private_pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        for text in [&private_der, &private_pem] {
            let e = parse_public(text).unwrap_err();
            assert!(!e.to_string().contains(&text[30..60]), "{e}");
            let r = reason(e);
            assert!(
                r.contains("this is a private key") && r.contains("MFkw"),
                "{r}"
            );
        }
        let public_pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        for text in [PUBLIC_KEY, public_pem.as_str()] {
            assert!(reason(parse_private(text).unwrap_err()).contains("this is a public key"));
        }
        let r = reason(parse_public("MFkw*not-base64").unwrap_err());
        assert!(
            r.contains("not valid base64") && !r.contains("not-base64"),
            "{r}"
        );
        let r = reason(parse_public(&B64.encode([0u8; 40])).unwrap_err());
        assert!(r.contains("40 bytes decoded"), "{r}");
        let r = reason(
            parse_public("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").unwrap_err(),
        );
        assert!(r.contains("PEM `PUBLIC KEY`"), "{r}");
        // The group order n is not a valid scalar; neither is zero.
        let n = "/////wAAAAD//////////7zm+q2nF56E87nKwvxjJVE=";
        let r = reason(parse_private(n).unwrap_err());
        assert!(r.contains("not a P-256 private scalar"), "{r}");
        assert!(reason(parse_private(&B64.encode([0u8; 32])).unwrap_err()).contains("scalar"));
        let r = reason(
            parse_private("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .unwrap_err(),
        );
        assert!(r.contains("openssl pkcs8"), "{r}");
        assert_eq!(parse_public(" ").unwrap_err(), SecretError::Empty);
        assert_eq!(parse_private("").unwrap_err(), SecretError::Empty);
    }
}
