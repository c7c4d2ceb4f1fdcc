//! [eBay](https://developer.ebay.com/api-docs/commerce/notification/overview.html)

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::request::Parts;
use p256::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::handshake::{printable, text_response};
use super::hmac::header_value;
use super::json;
use super::rules::{self, IdSource};
use super::{
    Context, Envelope, EventName, KeyId, Scheme, SchemeConfigError, Sign, SignError, Verdict,
    VerifyError,
};
use crate::clock::unix_millis;
use crate::dedup::BoxFuture;
use crate::keys::{
    CacheSettings, FetchError, Fetched, HttpsClient, KeyCache, KeyFetcher, KeyRequest, Lookup,
    UrlPolicy,
};

const HEADER: &str = "x-ebay-signature";
const KEY_PATH: &str = "/commerce/notification/v1/public_key/";
const TOKEN_PATH: &str = "/identity/v1/oauth2/token";
const SCOPE: &str = "https://api.ebay.com/oauth/api_scope";

/// The hash a signature is made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Some(Self::Sha1),
            "SHA256" | "SHA-256" => Some(Self::Sha256),
            _ => None,
        }
    }

    fn digest(self, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(body).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(body).to_vec(),
        }
    }
}

/// A key from the Notification API.
#[derive(Clone)]
struct EbayKey {
    key: VerifyingKey,
    digest: Option<Hash>,
}

/// Fetches keys by `kid`, with an application token.
struct EbayFetcher {
    client: HttpsClient,
    host: String,
    policy: UrlPolicy,
    client_id: String,
    client_secret: Zeroizing<String>,
    token: tokio::sync::Mutex<Option<(Zeroizing<String>, i64)>>,
    keys: KeyCache<EbayKey>,
}

fn unavailable(reason: impl Into<String>) -> FetchError {
    FetchError::Unavailable {
        reason: reason.into(),
    }
}

impl EbayFetcher {
    /// The application token, fetched when none is cached or it expires
    /// within a minute.
    async fn token(&self, now: SystemTime) -> Result<Zeroizing<String>, FetchError> {
        let now = unix_millis(now);
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && *until > now.saturating_add(60_000)
        {
            return Ok(token.clone());
        }
        let basic = B64.encode(format!("{}:{}", self.client_id, &*self.client_secret));
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", SCOPE)
            .finish();
        let request = http::Request::post(format!("https://{}{TOKEN_PATH}", self.host))
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Bytes::from(body))
            .map_err(|e| unavailable(e.to_string()))?;
        let (status, body) = self.client.send(request).await?;
        if !status.is_success() {
            return Err(unavailable(format!(
                "the OAuth token request answered {status} (check Ebay::new's client id and secret)"
            )));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
            expires_in: u64,
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|_| unavailable("the OAuth token answer is not {access_token, expires_in}"))?;
        let until = now.saturating_add(
            i64::try_from(token.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX),
        );
        let token = Zeroizing::new(token.access_token);
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    async fn fetch_key(&self, kid: &str, now: SystemTime) -> Result<(), FetchError> {
        let url = format!("https://{}{KEY_PATH}{kid}", self.host);
        let uri = self.policy.check(&url)?;
        self.keys
            .fill(kid, now, || async {
                let token = self.token(now).await?;
                let request = http::Request::get(uri)
                    .header(http::header::AUTHORIZATION, format!("bearer {}", &*token))
                    .body(Bytes::new())
                    .map_err(|e| unavailable(e.to_string()))?;
                let (status, body) = self.client.send(request).await?;
                if status == http::StatusCode::UNAUTHORIZED {
                    *self.token.lock().await = None;
                    return Err(unavailable("the key request's token was refused"));
                }
                crate::keys::classify_status(status)?;
                Ok(if status.is_success() {
                    parse_key(&body).map_or(Fetched::Unknown, |k| Fetched::Found(k, None))
                } else {
                    Fetched::Unknown
                })
            })
            .await
    }
}

/// The Notification API's `{key, algorithm, digest}`: `key` is a PEM
/// without line breaks; its base64 is decoded as a SubjectPublicKeyInfo.
fn parse_key(body: &[u8]) -> Option<EbayKey> {
    #[derive(serde::Deserialize)]
    struct Record {
        key: String,
        algorithm: Option<String>,
        digest: Option<String>,
    }
    let record: Record = serde_json::from_slice(body).ok()?;
    if record
        .algorithm
        .as_deref()
        .is_some_and(|a| !a.eq_ignore_ascii_case("ECDSA"))
    {
        return None;
    }
    let key = parse_spki(&record.key)?;
    let digest = match record.digest {
        Some(d) => Some(Hash::parse(&d)?),
        None => None,
    };
    Some(EbayKey { key, digest })
}

/// A P-256 SubjectPublicKeyInfo as PEM, with or without line breaks (as
/// the Notification API gives it), or as bare base64.
fn parse_spki(text: &str) -> Option<VerifyingKey> {
    let armored = text.trim();
    let inner = armored
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|k| k.strip_suffix("-----END PUBLIC KEY-----"))
        .unwrap_or(armored);
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    let der = B64.decode(b64).ok()?;
    use p256::pkcs8::DecodePublicKey as _;
    VerifyingKey::from_public_key_der(&der).ok()
}

impl KeyFetcher for EbayFetcher {
    fn fetch<'a>(
        &'a self,
        request: &'a KeyRequest,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), FetchError>> {
        Box::pin(self.fetch_key(request.locator(), now))
    }
}

/// eBay notifications.
///
/// ```
/// use tower_webhook::scheme::{Ebay, Scheme};
/// assert_eq!(Ebay::new("id", "secret")?.name(), "ebay");
/// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
/// ```
///
/// [eBay](https://developer.ebay.com/api-docs/commerce/notification/overview.html)
/// Notification API and Marketplace Account Deletion (feature `ebay`).
///
/// - Header `X-EBAY-SIGNATURE`: standard base64 of a JSON object
///   `{"alg":"ecdsa","kid":…,"signature":…,"digest":"SHA1"}`; `signature` is
///   base64 of a DER ECDSA P-256 signature over the **raw body**, hashed
///   with the `digest` the key's record names (else the header's): `SHA1`
///   (what eBay sends) or `SHA256`; anything else is refused.
/// - The key is fetched by `kid` from the Notification API
///   (`GET https://api.ebay.com/commerce/notification/v1/public_key/{kid}`,
///   sandbox: `api.sandbox.ebay.com`) with an application token from the
///   client-credentials grant (cached until it expires), and cached for an
///   hour (eBay's recommendation); a `kid` eBay does not know is refused and
///   remembered as unknown.
/// - No timestamp is signed. Dedup on the signed `notification.notificationId`.
/// - The endpoint's `GET ?challenge_code=…` is answered
///   `{"challengeResponse":"<hex SHA-256 of code ‖ verification token ‖ endpoint>"}`
///   when [`verification`](Ebay::verification) is set, and never reaches the
///   handler.
///
/// ```
/// use tower_webhook::scheme::{Ebay, Scheme};
/// let ebay = Ebay::new("client-id", "client-secret")?
///     .verification("71745723-d031-455c-bfa5-f90d11b4f20a", "http://www.testendpoint.com/webhook")?;
/// let (head, ()) = http::Request::get("/webhook?challenge_code=a8628072-3d33-45ee-9004-bee86830a22d").body(())?.into_parts();
/// let answer = ebay.challenge(&head).expect("answered");
/// assert_eq!(answer.body().as_ref(), br#"{"challengeResponse":"ca527df75caa230092d7e90484071e8f05d63068f1317973d6a3a42593734bbb"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Ebay {
    fetcher: Arc<EbayFetcher>,
    pinned: Arc<HashMap<String, EbayKey>>,
    verification: Option<(Zeroizing<String>, String)>,
    signing: Option<(SigningKey, String)>,
}

/// What [`Ebay`] reads from the head: the key id, the signature and the
/// header's digest.
///
/// ```
/// use tower_webhook::scheme::{Context, Ebay, Scheme};
/// let header = "eyJhbGciOiJlY2RzYSIsImtpZCI6Ijk5MzYyNjFhLTdkN2ItNDYyMS1hMGYxLTk2Y2NiNDI4YWY0OSIsInNpZ25hdHVyZSI6Ik1FWUNJUUNmeGZJV3V4bVdjSUJRSjljNS9YN2lHREpxczJSQ0dzQkVhQWppbnlycmZBSWhBSVY2d0djVGlCdVY1S0pVaWYyaG9reXJMK1E5c3NIa2FkK214Mm5FRTI1dyIsImRpZ2VzdCI6IlNIQTEifQ==";
/// let (head, ()) = http::Request::post("/ebay").header("x-ebay-signature", header).body(())?.into_parts();
/// let read = Ebay::new("id", "s")?.read(&head, &Context::new(std::time::SystemTime::now(), Default::default()))?;
/// assert_eq!(read.kid(), "9936261a-7d7b-4621-a0f1-96ccb428af49");
/// assert_eq!(read.digest(), Some("SHA1"));
/// assert_eq!(read.signature_der().len(), 72);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EbayHead {
    kid: String,
    signature: Signature,
    digest: Option<Hash>,
}

impl EbayHead {
    /// The header's `kid`: the key eBay signed with.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The header's `digest`, normalised (`"SHA1"` or `"SHA256"`), if it
    /// names one.
    pub fn digest(&self) -> Option<&'static str> {
        self.digest.map(|d| match d {
            Hash::Sha1 => "SHA1",
            Hash::Sha256 => "SHA256",
        })
    }

    /// The signature, DER-encoded (as the header's `signature` carries it
    /// once base64-decoded; re-encoded, so a non-canonical DER becomes
    /// canonical).
    pub fn signature_der(&self) -> Vec<u8> {
        self.signature.to_der().as_bytes().to_vec()
    }
}

impl Ebay {
    /// The application's OAuth client id and secret (for the key requests),
    /// against `api.ebay.com`, fetching with an [`HttpsClient`] trusting the
    /// Mozilla roots, keys cached an hour.
    ///
    /// ```
    /// assert!(tower_webhook::scheme::Ebay::new("", "s").is_err());
    /// ```
    pub fn new(client_id: &str, client_secret: &str) -> Result<Self, SchemeConfigError> {
        if client_id.trim().is_empty() || client_secret.trim().is_empty() {
            return Err(SchemeConfigError::Invalid {
                scheme: "ebay",
                reason: "Ebay::new needs the application's OAuth client id and client secret",
            });
        }
        Ok(Self {
            fetcher: Arc::new(EbayFetcher::new(
                HttpsClient::new(),
                "api.ebay.com",
                client_id.trim(),
                client_secret.trim(),
                CacheSettings::default(),
            )),
            pinned: Arc::default(),
            verification: None,
            signing: None,
        })
    }

    /// A key known in advance for `kid` (a P-256 SubjectPublicKeyInfo, PEM
    /// with or without line breaks, or bare base64), used without asking
    /// the Notification API: for tests, and for a receiver that must not
    /// depend on eBay's API. The header's `digest` picks the hash.
    ///
    /// ```
    /// let ebay = tower_webhook::scheme::Ebay::new("id", "s")?.public_key(
    ///     "9936261a-7d7b-4621-a0f1-96ccb428af49",
    ///     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZhhxXKtR+TOvtDbgTPCkSof02qgBB7IsYOyf76ilExJ/upAa/vKIKheOoCyOpcLmi4t0b4uepb7LLjmMr90FUg==",
    /// )?;
    /// assert!(tower_webhook::scheme::Ebay::new("id", "s")?.public_key("k", "not a key").is_err());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn public_key(mut self, kid: &str, key: &str) -> Result<Self, SchemeConfigError> {
        let key = parse_spki(key).ok_or(SchemeConfigError::Invalid {
            scheme: "ebay",
            reason: "the key given to Ebay::public_key is not a P-256 SubjectPublicKeyInfo (PEM or base64)",
        })?;
        Arc::make_mut(&mut self.pinned).insert(kid.to_owned(), EbayKey { key, digest: None });
        Ok(self)
    }

    /// `client_id:client_secret` (for [`by_name`](super::by_name)).
    ///
    /// ```
    /// assert!(tower_webhook::scheme::Ebay::from_credentials("id:secret").is_ok());
    /// assert!(tower_webhook::scheme::Ebay::from_credentials("id").is_err());
    /// ```
    pub fn from_credentials(pair: &str) -> Result<Self, SchemeConfigError> {
        let (id, secret) = pair.split_once(':').unwrap_or((pair, ""));
        Self::new(id, secret)
    }

    /// Fetches from `host` (`api.ebay.com`, `api.sandbox.ebay.com`) with
    /// `client`, keys cached per `cache`.
    ///
    /// ```
    /// use tower_webhook::keys::{CacheSettings, HttpsClient};
    /// let e = tower_webhook::scheme::Ebay::new("id", "s")?.fetch_with(HttpsClient::new(), "api.sandbox.ebay.com", CacheSettings::default());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn fetch_with(mut self, client: HttpsClient, host: &str, cache: CacheSettings) -> Self {
        let id = self.fetcher.client_id.clone();
        let secret = self.fetcher.client_secret.clone();
        self.fetcher = Arc::new(EbayFetcher::new(client, host, &id, &secret, cache));
        self
    }

    /// Answers eBay's `GET ?challenge_code=` with the verification token
    /// entered in eBay's portal and the endpoint URL registered there
    /// (byte for byte).
    ///
    /// ```
    /// assert!(tower_webhook::scheme::Ebay::new("id", "s")?.verification("", "https://x").is_err());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn verification(mut self, token: &str, endpoint: &str) -> Result<Self, SchemeConfigError> {
        if token.is_empty() {
            return Err(SchemeConfigError::MissingVerifyToken { scheme: "ebay" });
        }
        if endpoint.is_empty() {
            return Err(SchemeConfigError::MissingPublicUrl { scheme: "ebay" });
        }
        self.verification = Some((Zeroizing::new(token.to_owned()), endpoint.to_owned()));
        Ok(self)
    }

    /// A test sender: signs (ECDSA P-256 over SHA-1, as eBay) with the
    /// 32-byte private scalar `private_key` (base64), naming `kid`.
    ///
    /// ```
    /// let e = tower_webhook::scheme::Ebay::new("id", "s")?.signing_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=", "kid-1")?;
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn signing_key(mut self, private_key: &str, kid: &str) -> Result<Self, SchemeConfigError> {
        let bad = SchemeConfigError::Invalid {
            scheme: "ebay",
            reason: "the signing key is not base64 of a 32-byte P-256 scalar",
        };
        let raw = Zeroizing::new(B64.decode(private_key.trim()).map_err(|_| bad.clone())?);
        let key = SigningKey::from_slice(&raw).map_err(|_| bad)?;
        self.signing = Some((key, kid.to_owned()));
        Ok(self)
    }
}

impl EbayFetcher {
    fn new(client: HttpsClient, host: &str, id: &str, secret: &str, cache: CacheSettings) -> Self {
        let host = host.trim().to_ascii_lowercase();
        Self {
            client,
            policy: UrlPolicy::exact("ebay", &host, KEY_PATH),
            host,
            client_id: id.to_owned(),
            client_secret: Zeroizing::new(secret.to_owned()),
            token: tokio::sync::Mutex::new(None),
            keys: KeyCache::new(cache),
        }
    }
}

impl fmt::Debug for Ebay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ebay")
            .field("host", &self.fetcher.host)
            .field("client_id", &self.fetcher.client_id)
            .field("client_secret", &"<redacted>")
            .field("verification", &self.verification.as_ref().map(|(_, e)| e))
            .finish_non_exhaustive()
    }
}

/// Reads the `X-EBAY-SIGNATURE` header.
fn read_header(value: &str) -> Result<EbayHead, VerifyError> {
    let bad = |reason| VerifyError::MalformedHeader {
        header: HEADER,
        reason,
    };
    if value.len() > 2048 {
        return Err(bad("longer than any eBay signature header"));
    }
    let json = B64
        .decode(value.trim())
        .map_err(|_| bad("not standard base64"))?;
    #[derive(serde::Deserialize)]
    struct Header {
        alg: Option<String>,
        kid: String,
        signature: String,
        digest: Option<String>,
    }
    let h: Header = serde_json::from_slice(&json)
        .map_err(|_| bad("not base64 of a JSON object with `kid` and `signature`"))?;
    if h.alg
        .as_deref()
        .is_some_and(|a| !a.eq_ignore_ascii_case("ecdsa"))
    {
        return Err(bad("`alg` is not ecdsa"));
    }
    let kid_ok = !h.kid.is_empty()
        && h.kid.len() <= 64
        && h.kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !kid_ok {
        return Err(bad("`kid` is not 1 to 64 letters, digits, `-` or `_`"));
    }
    let digest = match h.digest.as_deref() {
        Some(d) => Some(Hash::parse(d).ok_or(bad("`digest` is neither SHA1 nor SHA256"))?),
        None => None,
    };
    let der = B64
        .decode(&h.signature)
        .map_err(|_| bad("`signature` is not standard base64"))?;
    let signature = Signature::from_der(&der)
        .map_err(|_| bad("`signature` is not a DER ECDSA P-256 signature"))?;
    Ok(EbayHead {
        kid: h.kid,
        signature,
        digest,
    })
}

impl Scheme for Ebay {
    type Head = EbayHead;

    fn name(&self) -> &'static str {
        "ebay"
    }

    fn key_id(&self) -> KeyId {
        KeyId::from_public_key(self.fetcher.client_id.as_bytes())
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn key_fetcher(&self) -> Option<&dyn KeyFetcher> {
        Some(&*self.fetcher)
    }

    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        if head.method != http::Method::GET {
            return None;
        }
        let (token, endpoint) = self.verification.as_ref()?;
        let code = form_urlencoded::parse(head.uri.query()?.as_bytes())
            .find(|(k, _)| k == "challenge_code")
            .map(|(_, v)| v.into_owned())?;
        let code = printable(&code)?;
        let mut hash = sha2::Sha256::new();
        hash.update(code.as_bytes());
        hash.update(token.as_bytes());
        hash.update(endpoint.as_bytes());
        let hex = super::Encoding::Hex.encode(&hash.finalize());
        text_response(
            serde_json::json!({ "challengeResponse": hex }).to_string(),
            "application/json",
        )
    }

    fn read(&self, head: &Parts, _: &Context) -> Result<EbayHead, VerifyError> {
        read_header(rules::required(&head.headers, HEADER)?)
    }

    fn verify(
        &self,
        _: &Parts,
        read: EbayHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        let cached = match self.pinned.get(&read.kid) {
            Some(key) => Lookup::Found(key.clone()),
            None => self.fetcher.keys.get(&read.kid, ctx.now),
        };
        let key = match cached {
            Lookup::Found(key) => key,
            Lookup::Unknown => {
                return Err(VerifyError::KeyRefused {
                    header: HEADER,
                    reason: "eBay does not know this kid".to_owned(),
                });
            }
            Lookup::Absent => return Err(VerifyError::KeyNeeded(KeyRequest::key(read.kid))),
        };
        let hash = key.digest.or(read.digest).unwrap_or(Hash::Sha1);
        if key
            .key
            .verify_prehash(&hash.digest(body), &read.signature)
            .is_err()
        {
            return Err(VerifyError::NoMatch {
                header: HEADER,
                candidates: 1,
                keys: 1,
            });
        }
        let fields = json::fields(body, &["/notification/notificationId"]).unwrap_or_default();
        let envelope = match fields
            .first()
            .and_then(Option::as_ref)
            .and_then(|f| f.as_str())
        {
            Some(id) => Envelope::signed_id(rules::event_id(IdSource::Body, id)?),
            None => Envelope::default(),
        };
        Ok(envelope
            .with_event(EventName::Body("/metadata/topic"))
            .into())
    }
}

impl Sign for Ebay {
    /// Signs the body as eBay does (SHA-1). Needs
    /// [`signing_key`](Ebay::signing_key); the id is the body's
    /// `notificationId`.
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        _id: &str,
        _: SystemTime,
    ) -> Result<(), SignError> {
        let (key, kid) = self
            .signing
            .as_ref()
            .ok_or(SignError::Unsupported("ebay"))?;
        let signature: Signature = key
            .sign_prehash(&Hash::Sha1.digest(request.body()))
            .map_err(|_| SignError::Invalid("ECDSA signing failed".to_owned()))?;
        let header = serde_json::json!({
            "alg": "ecdsa",
            "kid": kid,
            "signature": B64.encode(signature.to_der().as_bytes()),
            "digest": "SHA1",
        });
        let value = B64.encode(header.to_string());
        request.headers_mut().insert(HEADER, header_value(&value)?);
        Ok(())
    }
}
