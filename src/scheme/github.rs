//! [GitHub](https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)

use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderName;
use http::request::Parts;

use super::hmac::{FormatRule, HmacHead, text_secret_constructors};
use super::{Algorithm, Context, HmacScheme, KeyId, Scheme, Sign, SignError, Verdict, VerifyError};
use crate::secret::{KeyRing, SecretError};

const SHA256_HEADER: &str = "x-hub-signature-256";
const LEGACY_HEADER: &str = "x-hub-signature";

/// [GitHub](https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
/// and the senders that copied its scheme: Gitea and Forgejo, Bitbucket.
/// (Meta signs the same way but has a handshake of its own:
/// [`Meta`](super::Meta).)
///
/// - Header `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body
///   keyed with the webhook secret (its text). Bitbucket sends the same value
///   in `X-Hub-Signature`, which is read when `X-Hub-Signature-256` is absent.
/// - The legacy `X-Hub-Signature: sha1=<hex>` is refused unless
///   [`GitHub::allow_sha1`] enabled it (GitHub still sends it next to the
///   SHA-256 header, which is always preferred).
/// - Event id: `X-GitHub-Delivery`, `X-Gitea-Delivery` or `X-Request-UUID`
///   (Bitbucket), the first present; not signed. The layer dedups on the
///   body's hash.
/// - Format: JSON, or (content type `application/x-www-form-urlencoded`) a
///   form whose `payload` field holds it; the signed body tells which.
/// - No signed timestamp (`has_timestamp` is `false`): an old delivery can be
///   replayed for as long as the dedup retention forgets it, so keep
///   `WebhookLayer::untimed_retention` long.
///
/// ```
/// use std::time::SystemTime;
/// use http::Request;
/// use tower_webhook::scheme::{Context, GitHub, Scheme, Tolerance};
///
/// // The example of GitHub's documentation.
/// let scheme = GitHub::new("It's a Secret to Everybody")?;
/// let (head, ()) = Request::post("/github")
///     .header("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
///     .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
///     .body(())?
///     .into_parts();
/// let ctx = Context::new(SystemTime::now(), Tolerance::default());
/// let envelope = scheme.check(&head, b"Hello, World!", &ctx)?.envelope().expect("a delivery");
/// assert_eq!(envelope.id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
/// assert!(!envelope.id_signed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

/// Which of [`GitHub`]'s engines a request is signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Sha256,
    Sha256InLegacyHeader,
    Sha1,
}

/// What [`GitHub`] read from the head: the engine the headers picked, and
/// what that engine read.
#[derive(Debug)]
pub struct GitHubHead {
    engine: Engine,
    read: HmacHead,
}

fn engine(
    header: &'static str,
    algorithm: Algorithm,
    prefix: &'static str,
    ring: &KeyRing,
) -> Result<HmacScheme, SecretError> {
    HmacScheme::builder("github", header)
        .event_header("x-github-event")
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

text_secret_constructors!(GitHub, |ring| Ok(Self {
    sha256: engine(SHA256_HEADER, Algorithm::Sha256, "sha256=", ring)?,
    sha256_legacy_header: engine(LEGACY_HEADER, Algorithm::Sha256, "sha256=", ring)?,
    sha1: None,
    ring: ring.clone(),
}));

impl GitHub {
    /// Also accepts the legacy HMAC-SHA1 `X-Hub-Signature: sha1=...` when no
    /// SHA-256 signature is sent (old GitHub Enterprise servers, some
    /// Gogs-style senders), and signs with it too. Off by default: prefer
    /// SHA-256 wherever the sender offers it.
    ///
    /// ```
    /// use tower_webhook::scheme::GitHub;
    /// use tower_webhook::sign::Signer;
    /// let scheme = GitHub::new("secret")?.allow_sha1();
    /// let request = Signer::new(&scheme).request("/github", "{}")?;
    /// assert!(request.headers()["x-hub-signature"].to_str()?.starts_with("sha1="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_sha1(mut self) -> Self {
        self.sha1 = engine(LEGACY_HEADER, Algorithm::Sha1, "sha1=", &self.ring).ok();
        self
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.sha256.key_count()
    }

    /// The engine the signature headers call for: `X-Hub-Signature-256`
    /// when present, else what `X-Hub-Signature` holds. The picked engine's
    /// `read` then applies the header rules.
    fn pick(head: &Parts) -> Result<Engine, VerifyError> {
        let headers = &head.headers;
        // By `HeaderName`s made once: a look-up by `&str` parses the name.
        static SHA256: HeaderName = HeaderName::from_static(SHA256_HEADER);
        static LEGACY: HeaderName = HeaderName::from_static(LEGACY_HEADER);
        if headers.contains_key(&SHA256) {
            return Ok(Engine::Sha256);
        }
        match headers.get(&LEGACY) {
            None => Err(VerifyError::MissingHeader {
                header: SHA256_HEADER,
            }),
            Some(v) if v.as_bytes().starts_with(b"sha256=") => Ok(Engine::Sha256InLegacyHeader),
            Some(_) => Ok(Engine::Sha1),
        }
    }

    fn engine(&self, engine: Engine) -> Result<&HmacScheme, VerifyError> {
        match engine {
            Engine::Sha256 => Ok(&self.sha256),
            Engine::Sha256InLegacyHeader => Ok(&self.sha256_legacy_header),
            Engine::Sha1 => self.sha1.as_ref().ok_or(VerifyError::MalformedHeader {
                header: LEGACY_HEADER,
                reason: "only a legacy SHA-1 signature was sent and SHA-1 is not enabled (GitHub::allow_sha1)",
            }),
        }
    }
}

impl Scheme for GitHub {
    type Head = GitHubHead;

    fn name(&self) -> &'static str {
        "github"
    }

    fn key_id(&self) -> KeyId {
        self.sha256.key_id()
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<GitHubHead, VerifyError> {
        let engine = Self::pick(head)?;
        let read = self.engine(engine)?.read(head, ctx)?;
        Ok(GitHubHead { engine, read })
    }

    fn verify(
        &self,
        head: &Parts,
        read: GitHubHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        self.engine(read.engine)?.verify(head, read.read, body, ctx)
    }
}

impl Sign for GitHub {
    /// Writes `X-Hub-Signature-256` (and `X-Hub-Signature: sha1=` when SHA-1
    /// is allowed) and `X-GitHub-Delivery: id`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support;
    use crate::scheme::{Envelope, EventName, Format};

    const SECRET: &str = "It's a Secret to Everybody";
    const SHA256: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    const SHA1: &str = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
    const BODY: &[u8] = b"Hello, World!";

    fn verify(
        scheme: &GitHub,
        pairs: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Envelope, VerifyError> {
        test_support::check_now(scheme, pairs, body)
    }

    #[test]
    fn ids_from_each_family() {
        let s = GitHub::new(SECRET).unwrap();
        for h in ["x-github-delivery", "x-gitea-delivery", "x-request-uuid"] {
            let env = verify(&s, &[(SHA256_HEADER, SHA256), (h, "d1")], BODY).unwrap();
            assert_eq!(env.id.as_deref(), Some("d1"));
            assert!(!env.id_signed);
        }
        // Bitbucket: SHA-256 in the legacy header name.
        let env = verify(&s, &[(LEGACY_HEADER, SHA256)], BODY).unwrap();
        assert_eq!(env.id, None);
    }

    #[test]
    fn the_event_header_is_shown_as_unsigned() {
        let s = GitHub::new(SECRET).unwrap();
        let env = verify(
            &s,
            &[(SHA256_HEADER, SHA256), ("x-github-event", "push")],
            BODY,
        )
        .unwrap();
        assert_eq!(env.event, Some(EventName::UnsignedHeader("push".into())));
        let env = verify(&s, &[(SHA256_HEADER, SHA256)], BODY).unwrap();
        assert_eq!(env.event, None);
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
    fn verify_uses_the_engine_read_picked() {
        // A SHA-1 head read by a scheme that allows it, verified by one that
        // does not: refused, naming the legacy header.
        let head = test_support::post(&[(LEGACY_HEADER, SHA1)]);
        let ctx = test_support::now();
        let read = GitHub::new(SECRET)
            .unwrap()
            .allow_sha1()
            .read(&head, &ctx)
            .unwrap();
        assert_eq!(read.engine, Engine::Sha1);
        let r = GitHub::new(SECRET).unwrap().verify(&head, read, BODY, &ctx);
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
    fn the_signed_body_decides_the_format() {
        let s = GitHub::new(SECRET).unwrap();
        for (body, format) in [
            (&b"{\"zen\":\"x\"}"[..], Format::Json),
            (b"payload=%7B%7D", Format::FormPayload),
        ] {
            let mut req = http::Request::post("/")
                .header("content-type", "text/plain")
                .body(Bytes::from_static(body))
                .unwrap();
            s.sign(&mut req, "d", SystemTime::now()).unwrap();
            let pairs: Vec<(&str, &str)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
                .collect();
            assert_eq!(verify(&s, &pairs, body).unwrap().format, format);
        }
    }
}
