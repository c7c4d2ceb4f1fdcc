//! Senders that put a shared secret in a header instead of signing:
//! [GitLab](https://docs.gitlab.com/user/project/integrations/webhooks/#custom-headers)
//! (`X-Gitlab-Token`), Builder.io and any "secret in a custom header" sender.
//!
//! **This proves less than a signature.** The token proves the sender knows
//! the secret, but nothing binds it to the body: anyone who sees one
//! delivery (a logging proxy, a leaked request dump) can send any body with
//! it, forever, and nothing limits replays but the dedup retention. Prefer a
//! signing sender where you have the choice, and serve this endpoint over
//! TLS only.
//!
//! The token is compared in constant time with every configured secret (as
//! SHA-256 digests, so not even its length leaks).
//!
//! ```
//! use std::time::SystemTime;
//! use http::Request;
//! use tower_webhook::scheme::{Context, Scheme, Token, Tolerance};
//!
//! let scheme = Token::gitlab("my-gitlab-token")?;
//! let (head, ()) = Request::post("/gitlab")
//!     .header("x-gitlab-token", "my-gitlab-token")
//!     .header("idempotency-key", "f6b1fa5a-2f0c-4e13-9b3c-1c1ce0b1f7a9")
//!     .body(())?
//!     .into_parts();
//! let envelope = scheme.verify(&head, b"{}", &Context::new(SystemTime::now(), Tolerance::default()))?;
//! assert_eq!(envelope.id.as_deref(), Some("f6b1fa5a-2f0c-4e13-9b3c-1c1ce0b1f7a9"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use super::hmac::{MAX_ID_LEN, header_value, text_ring};
use super::{Context, Dedup, Envelope, KeyId, Scheme, SignError, VerifyError, single_header};
use crate::secret::{KeyRing, Secret, SecretError};

/// A shared token in a header; see the [module docs](self).
///
/// ```
/// use tower_webhook::scheme::{Scheme, Token};
/// let scheme = Token::header("builder", "x-builder-secret", ["s3cret"])?.id_header("x-request-id");
/// assert_eq!(scheme.name(), "builder");
/// assert!(!format!("{scheme:?}").contains("s3cret"));
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Token {
    name: &'static str,
    header: &'static str,
    id_headers: Vec<&'static str>,
    digests: Vec<Zeroizing<[u8; 32]>>,
    /// The newest secret, for signing (a ring is never empty).
    newest: Option<Secret>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("id_headers", &self.id_headers)
            .field("keys", &self.digests.len())
            .finish()
    }
}

impl Token {
    /// GitLab's `X-Gitlab-Token`, with the event id from `Idempotency-Key`
    /// (falling back to `X-Gitlab-Event-UUID`).
    pub fn gitlab(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::gitlab_with_secrets([secret])
    }

    /// GitLab with several tokens active at once (rotation).
    pub fn gitlab_with_secrets<I>(secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Ok(
            Self::from_ring("gitlab", "x-gitlab-token", &header_ring(secrets)?)
                .id_header("idempotency-key")
                .id_header("x-gitlab-event-uuid"),
        )
    }

    /// Any sender that sends its secret in header `header`; `name` is used
    /// in dedup keys and logs.
    pub fn header<I>(
        name: &'static str,
        header: &'static str,
        secrets: I,
    ) -> Result<Self, SecretError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Ok(Self::from_ring(name, header, &header_ring(secrets)?))
    }

    /// A ring of secrets, compared with the header's bytes. Prefer
    /// [`header`](Self::header), which refuses tokens a header cannot carry.
    pub fn from_ring(name: &'static str, header: &'static str, ring: &KeyRing) -> Self {
        let digests = ring
            .iter()
            .map(|s| Zeroizing::new(Sha256::digest(s.expose_secret()).into()))
            .collect();
        Self {
            name,
            header,
            id_headers: Vec::new(),
            digests,
            newest: ring.iter().next().cloned(),
        }
    }

    /// Reads the event id from header `name` (repeat to try several, in order).
    pub fn id_header(mut self, name: &'static str) -> Self {
        self.id_headers.push(name);
        self
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.digests.len()
    }

    fn check(&self, head: &Parts) -> Result<Option<String>, VerifyError> {
        let header = self.header;
        let value =
            single_header(&head.headers, header)?.ok_or(VerifyError::MissingHeader { header })?;
        if value.is_empty() {
            return Err(VerifyError::MalformedHeader {
                header,
                reason: "it is empty",
            });
        }
        let given = Sha256::digest(value.as_bytes());
        let mut matched = Choice::from(0);
        for digest in &self.digests {
            matched |= given.as_slice().ct_eq(digest.as_slice());
        }
        if !bool::from(matched) {
            return Err(VerifyError::NoMatch {
                header,
                candidates: 1,
                keys: self.digests.len(),
            });
        }
        for name in &self.id_headers {
            if let Some(id) = single_header(&head.headers, name)? {
                if id.is_empty() || id.len() > MAX_ID_LEN {
                    return Err(VerifyError::MalformedHeader {
                        header: name,
                        reason: "the event id is empty or longer than 256 bytes",
                    });
                }
                return Ok(Some(id.to_owned()));
            }
        }
        Ok(None)
    }
}

impl Scheme for Token {
    fn name(&self) -> &'static str {
        self.name
    }

    fn key_id(&self) -> KeyId {
        self.newest
            .as_ref()
            .map(|s| KeyId::from_secret(s.expose_secret()))
            .unwrap_or_else(|| KeyId::from_secret(b""))
    }

    fn check_head(&self, head: &Parts, _ctx: &Context) -> Result<(), VerifyError> {
        self.check(head).map(|_| ())
    }

    fn verify(&self, head: &Parts, _body: &[u8], _ctx: &Context) -> Result<Envelope, VerifyError> {
        // Nothing is signed: the body's digest and the id header both
        // remember a delivery (see `Dedup::SignedOrId`).
        Ok(Envelope::unsigned_id(self.check(head)?).with_dedup(Dedup::SignedOrId))
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
        let newest = self
            .newest
            .as_ref()
            .ok_or(SignError::Unsupported(self.name))?;
        let token = std::str::from_utf8(newest.expose_secret())
            .map_err(|_| SignError::Invalid("the token is not UTF-8".to_owned()))?;
        let value = http::HeaderValue::from_str(token)
            .map_err(|_| SignError::Invalid("the token cannot be a header value".to_owned()))?;
        let headers = request.headers_mut();
        headers.insert(self.header, value);
        if let Some(name) = self.id_headers.first() {
            headers.insert(*name, header_value(id)?);
        }
        Ok(())
    }
}

/// A ring of text tokens that a header can carry (visible ASCII).
fn header_ring<I>(secrets: I) -> Result<KeyRing, SecretError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let ring = text_ring(secrets)?;
    if ring
        .iter()
        .any(|s| !s.expose_secret().iter().all(|b| (0x21..=0x7e).contains(b)))
    {
        return Err(SecretError::NotVisibleAscii);
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_a_header_cannot_carry_are_refused() {
        assert_eq!(
            super::Token::gitlab("tökén").unwrap_err(),
            crate::secret::SecretError::NotVisibleAscii
        );
        assert!(super::Token::gitlab("has space").is_err());
        assert!(super::Token::gitlab("glpat-abc_123").is_ok());
    }

    use super::*;
    use crate::scheme::Tolerance;

    fn verify(s: &Token, pairs: &[(&str, &str)]) -> Result<Envelope, VerifyError> {
        let mut b = http::Request::post("/");
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        s.verify(
            &b.body(()).unwrap().into_parts().0,
            b"",
            &Context::new(SystemTime::now(), Tolerance::default()),
        )
    }

    #[test]
    fn gitlab_rotation_ids_and_failures() {
        let s = Token::gitlab_with_secrets(["new", "old"]).unwrap();
        assert!(verify(&s, &[("x-gitlab-token", "old")]).is_ok());
        let env = verify(
            &s,
            &[
                ("x-gitlab-token", "new"),
                ("x-gitlab-event-uuid", "u"),
                ("idempotency-key", "k"),
            ],
        )
        .unwrap();
        assert_eq!(env.id.as_deref(), Some("k"));
        let env = verify(
            &s,
            &[("x-gitlab-token", "new"), ("x-gitlab-event-uuid", "u")],
        )
        .unwrap();
        assert_eq!(env.id.as_deref(), Some("u"));
        assert!(matches!(
            verify(&s, &[("x-gitlab-token", "ne")]),
            Err(VerifyError::NoMatch { .. })
        ));
        assert!(matches!(
            verify(&s, &[("x-gitlab-token", "")]),
            Err(VerifyError::MalformedHeader { .. })
        ));
        assert!(matches!(
            verify(&s, &[]),
            Err(VerifyError::MissingHeader {
                header: "x-gitlab-token"
            })
        ));
        assert!(verify(&s, &[("x-gitlab-token", "new"), ("x-gitlab-token", "new")]).is_err());
        let e = verify(&s, &[("x-gitlab-token", "guess")])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("guess") && !e.contains("new"), "{e}");
    }

    #[test]
    fn sign_sets_the_newest_token() {
        let s = Token::gitlab_with_secrets(["new", "old"]).unwrap();
        let mut req = http::Request::post("/").body(Bytes::new()).unwrap();
        s.sign(&mut req, "id-1", SystemTime::now()).unwrap();
        assert_eq!(req.headers()["x-gitlab-token"], "new");
        assert_eq!(req.headers()["idempotency-key"], "id-1");
    }
}
