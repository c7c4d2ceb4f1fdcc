//! Senders that put a shared secret in a header instead of signing:

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

use super::hmac::{header_value, text_ring};
use super::rules::{self, IdSource};
use super::{Context, Dedup, Envelope, KeyId, Scheme, Sign, SignError, Verdict, VerifyError};
use crate::secret::{KeyRing, Secret, SecretError};

/// Senders that put a shared secret in a header instead of signing:
/// [GitLab](https://docs.gitlab.com/user/project/integrations/webhooks/#custom-headers)
/// (`X-Gitlab-Token`), Builder.io and any "secret in a custom header" sender.
///
/// **This proves less than a signature.** The token proves the sender knows
/// the secret, but nothing binds it to the body: anyone who sees one
/// delivery (a logging proxy, a leaked request dump) can send any body with
/// it, forever, and nothing limits replays but the dedup retention. Prefer a
/// signing sender where you have the choice, and serve this endpoint over
/// TLS only.
///
/// The token is compared in constant time with every configured secret (as
/// SHA-256 digests, so not even its length leaks). The head says everything:
/// [`Scheme::read`] does the whole check, before a byte of the body is read.
/// The event id (GitLab's `Idempotency-Key`, else `X-Gitlab-Event-UUID`) is
/// not signed: it is shown, and remembered beside the body's digest
/// ([`Dedup::SignedOrId`]).
///
/// ```
/// use std::time::SystemTime;
/// use http::Request;
/// use tower_webhook::scheme::{Context, Scheme, Token, Tolerance};
///
/// let scheme = Token::gitlab("my-gitlab-token")?;
/// let (head, ()) = Request::post("/gitlab")
///     .header("x-gitlab-token", "my-gitlab-token")
///     .header("idempotency-key", "f6b1fa5a-2f0c-4e13-9b3c-1c1ce0b1f7a9")
///     .body(())?
///     .into_parts();
/// let ctx = Context::new(SystemTime::now(), Tolerance::default());
/// let envelope = scheme.check(&head, b"{}", &ctx)?.envelope();
/// assert_eq!(envelope.and_then(|e| e.id).as_deref(), Some("f6b1fa5a-2f0c-4e13-9b3c-1c1ce0b1f7a9"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// The newest secret, for signing and the key id.
    newest: Secret,
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
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Token};
    /// assert_eq!(Token::gitlab("glpat-abc_123")?.name(), "gitlab");
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn gitlab(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::gitlab_with_secrets([secret])
    }

    /// GitLab with several tokens active at once (rotation).
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Token::gitlab_with_secrets(["new", "old"])?;
    /// assert_eq!(scheme.key_count(), 2);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn gitlab_with_secrets(
        secrets: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SecretError> {
        Ok(Self::header("gitlab", "x-gitlab-token", secrets)?
            .id_header("idempotency-key")
            .id_header("x-gitlab-event-uuid"))
    }

    /// Any sender that sends its secret in header `header`; `name` is used
    /// in dedup keys and logs. Tokens a header cannot carry (anything but
    /// visible ASCII) are refused.
    ///
    /// ```
    /// use tower_webhook::scheme::Token;
    /// use tower_webhook::secret::SecretError;
    /// assert!(Token::header("builder", "x-builder-secret", ["s3cret"]).is_ok());
    /// assert_eq!(Token::header("b", "x-b", ["tökén"]).unwrap_err(), SecretError::NotVisibleAscii);
    /// ```
    pub fn header(
        name: &'static str,
        header: &'static str,
        secrets: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SecretError> {
        let ring = header_ring(secrets)?;
        let newest = ring.iter().next().ok_or(SecretError::EmptyRing)?.clone();
        let digests = ring
            .iter()
            .map(|s| Zeroizing::new(Sha256::digest(s.expose_secret()).into()))
            .collect();
        Ok(Self {
            name,
            header,
            id_headers: Vec::new(),
            digests,
            newest,
        })
    }

    /// Reads the event id from header `name` (repeat to try several, in order).
    ///
    /// ```
    /// let scheme = tower_webhook::scheme::Token::header("b", "x-b", ["s"])?.id_header("x-request-id");
    /// # let _ = scheme;
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn id_header(mut self, name: &'static str) -> Self {
        self.id_headers.push(name);
        self
    }

    /// How many secrets are active.
    ///
    /// ```
    /// assert_eq!(tower_webhook::scheme::Token::gitlab("t")?.key_count(), 1);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    pub fn key_count(&self) -> usize {
        self.digests.len()
    }
}

impl Scheme for Token {
    /// The event id, from the first id header present.
    type Head = Option<String>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn key_id(&self) -> KeyId {
        KeyId::from_secret(self.newest.expose_secret())
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    /// The whole check: the token, then the id headers.
    fn read(&self, head: &Parts, _: &Context) -> Result<Option<String>, VerifyError> {
        let header = self.header;
        let value = rules::required(&head.headers, header)?;
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
        for &name in &self.id_headers {
            if let Some(id) = rules::header(&head.headers, name)? {
                return Ok(Some(
                    rules::event_id(IdSource::Header(name), id)?.to_owned(),
                ));
            }
        }
        Ok(None)
    }

    fn verify(
        &self,
        _: &Parts,
        id: Option<String>,
        _: &[u8],
        _: &Context,
    ) -> Result<Verdict, VerifyError> {
        // Nothing is signed: the body's digest and the id header both
        // remember a delivery (see `Dedup::SignedOrId`).
        Ok(Envelope::unsigned_id(id)
            .with_dedup(Dedup::SignedOrId)
            .into())
    }
}

impl Sign for Token {
    /// Writes the newest token, and `id` into the first id header.
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        _: SystemTime,
    ) -> Result<(), SignError> {
        let token = http::HeaderValue::from_bytes(self.newest.expose_secret())
            .map_err(|_| SignError::Invalid("the token cannot be a header value".to_owned()))?;
        let headers = request.headers_mut();
        headers.insert(self.header, token);
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
    use super::*;
    use crate::scheme::test_support;

    #[test]
    fn tokens_a_header_cannot_carry_are_refused() {
        assert_eq!(
            Token::gitlab("tökén").unwrap_err(),
            SecretError::NotVisibleAscii
        );
        assert!(Token::gitlab("has space").is_err());
        assert!(Token::gitlab("glpat-abc_123").is_ok());
    }

    fn head(pairs: &[(&str, &str)]) -> Parts {
        test_support::post(pairs)
    }

    fn ctx() -> Context {
        test_support::now()
    }

    fn verify(s: &Token, pairs: &[(&str, &str)]) -> Result<Envelope, VerifyError> {
        s.check(&head(pairs), b"", &ctx())
            .map(|v| v.envelope().unwrap())
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
        assert!(!env.id_signed);
        assert_eq!(env.dedup, Dedup::SignedOrId);
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
        let long = "k".repeat(257);
        assert!(matches!(
            verify(&s, &[("x-gitlab-token", "new"), ("idempotency-key", &long)]),
            Err(VerifyError::MalformedHeader {
                header: "idempotency-key",
                ..
            })
        ));
    }

    #[test]
    fn read_alone_refuses_a_wrong_token_before_the_body() {
        let s = Token::gitlab("new").unwrap();
        assert!(s.read(&head(&[("x-gitlab-token", "new")]), &ctx()).is_ok());
        assert!(matches!(
            s.read(&head(&[("x-gitlab-token", "old")]), &ctx()),
            Err(VerifyError::NoMatch { .. })
        ));
    }

    #[test]
    fn sign_sets_the_newest_token() {
        let s = Token::gitlab_with_secrets(["new", "old"]).unwrap();
        let mut req = http::Request::post("/").body(Bytes::new()).unwrap();
        s.sign(&mut req, "id-1", SystemTime::now()).unwrap();
        assert_eq!(req.headers()["x-gitlab-token"], "new");
        assert_eq!(req.headers()["idempotency-key"], "id-1");
        assert_eq!(s.key_id(), KeyId::from_secret(b"new"));
    }
}
