//! [GitHub](https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
//! and the senders that copied its scheme: Gitea and Forgejo, Bitbucket,
//! Meta (Facebook, Instagram, WhatsApp).
//!
//! - Header `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body
//!   keyed with the webhook secret (its text). Bitbucket sends the same value
//!   in `X-Hub-Signature`, which is read when `X-Hub-Signature-256` is absent.
//! - The legacy `X-Hub-Signature: sha1=<hex>` is refused unless
//!   [`GitHub::allow_sha1`] enabled it (GitHub still sends it next to the
//!   SHA-256 header, which is always preferred).
//! - Event id: `X-GitHub-Delivery`, `X-Gitea-Delivery` or `X-Request-UUID`
//!   (Bitbucket), the first present. Meta sends none; the layer then dedups on
//!   the body's hash.
//! - No signed timestamp (`has_timestamp` is `false`): an old delivery can be
//!   replayed for as long as the dedup retention forgets it, so keep
//!   `WebhookLayer::untimed_retention` long.
//!
//! ```
//! use std::time::SystemTime;
//! use http::Request;
//! use tower_webhook::scheme::{Context, GitHub, Scheme, Tolerance};
//!
//! // The example of GitHub's documentation.
//! let scheme = GitHub::new("It's a Secret to Everybody")?;
//! let (head, ()) = Request::post("/github")
//!     .header("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
//!     .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
//!     .body(())?
//!     .into_parts();
//! let envelope = scheme.verify(&head, b"Hello, World!", &Context::new(SystemTime::now(), Tolerance::default()))?;
//! assert_eq!(envelope.id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::handshake::printable;
use super::hmac::{FormatRule, query_param, text_response, text_ring};
use super::util::first_header;
use super::{Algorithm, Context, Envelope, HmacScheme, KeyId, Scheme, SignError, VerifyError};
use crate::secret::{KeyRing, SecretError};

const SHA256_HEADER: &str = "x-hub-signature-256";
const LEGACY_HEADER: &str = "x-hub-signature";

/// GitHub's `X-Hub-Signature-256` scheme; see the [module docs](self).
///
/// ```
/// use tower_webhook::scheme::{GitHub, Scheme};
/// let scheme = GitHub::with_secrets(["new secret", "old secret"])?.allow_sha1();
/// assert!(!scheme.has_timestamp());
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct GitHub {
    sha256: HmacScheme,
    /// SHA-256 in `X-Hub-Signature` (Bitbucket).
    sha256_legacy_header: HmacScheme,
    sha1: Option<HmacScheme>,
    ring: KeyRing,
}

fn engine(
    name: &'static str,
    header: &'static str,
    algorithm: Algorithm,
    prefix: &'static str,
    ring: &KeyRing,
) -> Result<HmacScheme, SecretError> {
    HmacScheme::builder(name, header)
        .algorithm(algorithm)
        .prefix(prefix)
        .id_header("x-github-delivery")
        .id_header("x-gitea-delivery")
        .id_header("x-request-uuid")
        // GitHub posts JSON, or (content type `application/x-www-form-urlencoded`)
        // a form whose `payload` holds it; the signed body tells which.
        .format_rule(FormatRule::JsonOrPayloadForm)
        .build_keys(ring)
}

impl GitHub {
    /// One webhook secret (its text is the key).
    pub fn new(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::with_secrets([secret])
    }

    /// Several secrets active at once (rotation), newest first.
    pub fn with_secrets<I>(secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Self::from_ring(&text_ring(secrets)?)
    }

    /// A ring of key bytes.
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        Ok(Self {
            sha256: engine("github", SHA256_HEADER, Algorithm::Sha256, "sha256=", ring)?,
            sha256_legacy_header: engine(
                "github",
                LEGACY_HEADER,
                Algorithm::Sha256,
                "sha256=",
                ring,
            )?,
            sha1: None,
            ring: ring.clone(),
        })
    }

    /// Also accepts the legacy HMAC-SHA1 `X-Hub-Signature: sha1=...` when no
    /// SHA-256 signature is sent (old GitHub Enterprise servers, some
    /// Gogs-style senders). Off by default: prefer SHA-256 wherever the
    /// sender offers it.
    pub fn allow_sha1(mut self) -> Self {
        self.sha1 = engine(
            "github",
            LEGACY_HEADER,
            Algorithm::Sha1,
            "sha1=",
            &self.ring,
        )
        .ok();
        self
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.sha256.key_count()
    }

    fn pick(&self, head: &Parts) -> Result<&HmacScheme, VerifyError> {
        if first_header(&head.headers, SHA256_HEADER).is_some() {
            return Ok(&self.sha256);
        }
        let Some(legacy) = first_header(&head.headers, LEGACY_HEADER) else {
            return Err(VerifyError::MissingHeader {
                header: SHA256_HEADER,
            });
        };
        if legacy.as_bytes().starts_with(b"sha256=") {
            return Ok(&self.sha256_legacy_header);
        }
        match &self.sha1 {
            Some(sha1) => Ok(sha1),
            None => Err(VerifyError::MalformedHeader {
                header: LEGACY_HEADER,
                reason: "only a legacy SHA-1 signature was sent and SHA-1 is not enabled (GitHub::allow_sha1)",
            }),
        }
    }
}

impl Scheme for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn key_id(&self) -> KeyId {
        self.sha256.key_id()
    }

    fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
        self.pick(head)?.check_head(head, ctx)
    }

    fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
        self.pick(head)?.verify(head, body, ctx)
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        if let Some(sha1) = &self.sha1 {
            sha1.sign(request, id, timestamp)?;
        }
        self.sha256.sign(request, id, timestamp)
    }
}

/// Meta (Facebook, Instagram, WhatsApp, Messenger) webhooks: GitHub's
/// `X-Hub-Signature-256` signature keyed with the app secret, plus the
/// `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`
/// verification request, answered with the challenge when the verify token
/// matches (compared in constant time). Only a challenge of 1 to
/// [`MAX_CHALLENGE_LEN`](super::hmac::MAX_CHALLENGE_LEN) bytes of printable
/// ASCII is echoed (Meta sends a number); any other `GET` is answered 405.
///
/// The echo is no oracle: the answer is the query string's own text,
/// computed without the app secret, and only to whoever knows the verify
/// token. A signature the verifier accepts is an HMAC under the app secret;
/// whoever could put one into `hub.challenge` already had it.
///
/// ```
/// use http::Request;
/// use tower_webhook::scheme::{Meta, Scheme};
///
/// let scheme = Meta::new("app-secret")?.verify_token("my-verify-token");
/// let uri = "/meta?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444";
/// let (head, ()) = Request::get(uri).body(())?.into_parts();
/// assert_eq!(scheme.handshake(&head, None).expect("answered").body().as_ref(), b"1158201444");
/// let (head, ()) = Request::get(uri.replace("my-verify", "their")).body(())?.into_parts();
/// assert!(scheme.handshake(&head, None).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Meta {
    inner: HmacScheme,
    verify_token: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Meta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meta")
            .field("inner", &self.inner)
            .field(
                "verify_token",
                &self.verify_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Meta {
    /// The app secret (its text is the key).
    pub fn new(app_secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::from_ring(&text_ring([app_secret])?)
    }

    /// A ring of key bytes (several app secrets during a rotation).
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        Ok(Self {
            inner: HmacScheme::builder("meta", SHA256_HEADER)
                .prefix("sha256=")
                .build_keys(ring)?,
            verify_token: None,
        })
    }

    /// The verify token entered in the app dashboard; without it the `GET`
    /// verification request is not answered (405).
    pub fn verify_token(mut self, token: impl AsRef<str>) -> Self {
        self.verify_token = Some(Zeroizing::new(
            Sha256::digest(token.as_ref().as_bytes()).into(),
        ));
        self
    }
}

impl Scheme for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn key_id(&self) -> KeyId {
        self.inner.key_id()
    }

    fn check_head(&self, head: &Parts, ctx: &Context) -> Result<(), VerifyError> {
        self.inner.check_head(head, ctx)
    }

    fn verify(&self, head: &Parts, body: &[u8], ctx: &Context) -> Result<Envelope, VerifyError> {
        self.inner.verify(head, body, ctx)
    }

    fn handshake(&self, head: &Parts, body: Option<&[u8]>) -> Option<http::Response<Bytes>> {
        let expected = self.verify_token.as_ref()?;
        if body.is_some() || head.method != http::Method::GET {
            return None;
        }
        if query_param(head, "hub.mode")? != "subscribe" {
            return None;
        }
        let given = Sha256::digest(query_param(head, "hub.verify_token")?.as_bytes());
        if !bool::from(given.as_slice().ct_eq(expected.as_slice())) {
            return None;
        }
        let challenge = query_param(head, "hub.challenge")?;
        text_response(printable(&challenge)?.to_owned(), "text/plain")
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        self.inner.sign(request, id, timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Tolerance;

    const SECRET: &str = "It's a Secret to Everybody";
    const SHA256: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    const SHA1: &str = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
    const BODY: &[u8] = b"Hello, World!";

    fn verify(
        scheme: &GitHub,
        pairs: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Envelope, VerifyError> {
        let mut b = http::Request::post("/");
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        let head = b.body(()).unwrap().into_parts().0;
        scheme.verify(
            &head,
            body,
            &Context::new(SystemTime::now(), Tolerance::default()),
        )
    }

    #[test]
    fn ids_from_each_family() {
        let s = GitHub::new(SECRET).unwrap();
        for h in ["x-github-delivery", "x-gitea-delivery", "x-request-uuid"] {
            let env = verify(&s, &[(SHA256_HEADER, SHA256), (h, "d1")], BODY).unwrap();
            assert_eq!(env.id.as_deref(), Some("d1"));
        }
        // Bitbucket: SHA-256 in the legacy header name.
        let env = verify(&s, &[(LEGACY_HEADER, SHA256)], BODY).unwrap();
        assert_eq!(env.id, None);
    }

    #[test]
    fn sha1_only_when_enabled_and_never_preferred() {
        let s = GitHub::new(SECRET).unwrap();
        let r = verify(&s, &[(LEGACY_HEADER, SHA1)], BODY);
        assert!(
            matches!(
                r,
                Err(VerifyError::MalformedHeader {
                    header: LEGACY_HEADER,
                    ..
                })
            ),
            "{r:?}"
        );
        let s = s.allow_sha1();
        assert!(verify(&s, &[(LEGACY_HEADER, SHA1)], BODY).is_ok());
        // A bad SHA-256 is not rescued by a good SHA-1.
        let bad = SHA256.replace("7571", "7572");
        assert!(verify(&s, &[(SHA256_HEADER, &bad), (LEGACY_HEADER, SHA1)], BODY).is_err());
        let mut req = http::Request::post("/")
            .body(Bytes::from_static(BODY))
            .unwrap();
        s.sign(&mut req, "d", SystemTime::now()).unwrap();
        assert_eq!(req.headers()[LEGACY_HEADER], SHA1);
        assert_eq!(req.headers()[SHA256_HEADER], SHA256);
    }

    #[test]
    fn tampered_malformed_missing() {
        let s = GitHub::with_secrets(["other", SECRET]).unwrap();
        assert!(verify(&s, &[(SHA256_HEADER, SHA256)], BODY).is_ok());
        assert!(matches!(
            verify(&s, &[(SHA256_HEADER, SHA256)], b"Hello, World?"),
            Err(VerifyError::NoMatch { .. })
        ));
        for v in [
            "",
            "sha256=",
            "sha256=xyz",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            &SHA256[..70],
        ] {
            assert!(verify(&s, &[(SHA256_HEADER, v)], BODY).is_err(), "{v}");
        }
        assert_eq!(
            verify(&s, &[], BODY),
            Err(VerifyError::MissingHeader {
                header: SHA256_HEADER
            })
        );
    }

    #[test]
    fn meta_handshake_needs_token_and_get() {
        let s = Meta::new("app").unwrap();
        let head = |m: &str, uri: &str| {
            http::Request::builder()
                .method(m)
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let uri = "/?hub.mode=subscribe&hub.verify_token=s3cr3t-vt&hub.challenge=42";
        assert!(s.handshake(&head("GET", uri), None).is_none());
        let s = s.verify_token("s3cr3t-vt");
        assert_eq!(
            s.handshake(&head("GET", uri), None)
                .unwrap()
                .body()
                .as_ref(),
            b"42"
        );
        assert!(s.handshake(&head("POST", uri), None).is_none());
        assert!(
            s.handshake(&head("GET", &uri.replace("subscribe", "x")), None)
                .is_none()
        );
        assert!(
            s.handshake(
                &head("GET", "/?hub.mode=subscribe&hub.verify_token=s3cr3t-vt"),
                None
            )
            .is_none()
        );
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn meta_echoes_only_printable_bounded_challenges() {
        let s = Meta::new("app").unwrap().verify_token("vt");
        let echo = |challenge: &str| {
            let uri = format!("/?hub.mode=subscribe&hub.verify_token=vt&hub.challenge={challenge}");
            s.handshake(
                &http::Request::get(uri).body(()).unwrap().into_parts().0,
                None,
            )
            .map(|r| r.into_body())
        };
        assert_eq!(echo("1158201444").as_deref(), Some(&b"1158201444"[..]));
        for bad in ["", "1%0A2", "%00", "%C3%A9"] {
            assert_eq!(echo(bad), None, "{bad}");
        }
        let longest = "1".repeat(crate::scheme::hmac::MAX_CHALLENGE_LEN);
        assert!(echo(&longest).is_some());
        assert!(echo(&format!("{longest}1")).is_none());
    }
}
