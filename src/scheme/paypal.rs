//! [PayPal](https://developer.paypal.com/api/rest/webhooks/rest/) webhooks

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::request::Parts;

use super::hmac::header_value;
use super::json;
use super::rules::{self, IdSource};
use super::{
    Context, Dedup, Envelope, EventName, KeyId, Scheme, SchemeConfigError, Sign, SignError,
    Tolerance, Verdict, VerifyError,
};
use crate::dedup::BoxFuture;
use crate::keys::cert::{CertStore, Certificate, Pinned, RsaHash, RsaSigner};
use crate::keys::{
    CacheSettings, CertificateTrust, FetchError, HttpsClient, KeyFetcher, KeyRequest, UrlPolicy,
};

const ID_HEADER: &str = "paypal-transmission-id";
const TIME_HEADER: &str = "paypal-transmission-time";
const SIG_HEADER: &str = "paypal-transmission-sig";
const CERT_HEADER: &str = "paypal-cert-url";
const ALGO_HEADER: &str = "paypal-auth-algo";
/// Base64 of a signature of an RSA key up to 8192 bits.
const MAX_SIG_CHARS: usize = 1400;

/// PayPal webhooks.
///
/// ```
/// use tower_webhook::scheme::{PayPal, Scheme};
/// assert_eq!(PayPal::new("4JH86294D6297924G")?.name(), "paypal");
/// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
/// ```
///
/// [PayPal](https://developer.paypal.com/api/rest/webhooks/rest/) webhooks
/// (feature `paypal`).
///
/// - Headers `PAYPAL-TRANSMISSION-ID`, `PAYPAL-TRANSMISSION-TIME`,
///   `PAYPAL-TRANSMISSION-SIG` (base64), `PAYPAL-CERT-URL` and
///   `PAYPAL-AUTH-ALGO` (only `SHA256withRSA` is accepted).
/// - Signed string: `transmission id|transmission time|webhook id|crc32`,
///   the CRC-32 (IEEE) of the raw body as an unsigned decimal, the webhook
///   id being the receiver's own (configuration: it is not in the request).
///   RSA PKCS#1 v1.5 with SHA-256.
/// - The certificate is fetched from `PAYPAL-CERT-URL` only if the URL passes
///   [`UrlPolicy::paypal`] (https, a host under `paypal.com`, a path under
///   `/v1/notifications/certs/`), checked when the head is read, before any
///   connection; cached by URL; refused outside its validity at the layer's
///   clock.
///
/// **The body is covered by a CRC-32 only** (PayPal's design): whoever holds
/// one signed delivery can make another body with the same CRC. The layer
/// therefore deduplicates on the signed transmission id as well as on the
/// event `id` of the body (PayPal's retries keep the event id): a second body
/// under a transmission already seen is refused as a duplicate for as long
/// as it is remembered. Handle only what the event's own API resource
/// confirms when it matters (fetch the resource by id).
///
/// ```
/// use tower_webhook::scheme::{Context, PayPal, Scheme, VerifyError};
/// let paypal = PayPal::new("4JH86294D6297924G")?;
/// let (head, ()) = http::Request::post("/paypal")
///     .header("PAYPAL-TRANSMISSION-ID", "dfb3be50-fd74-11e4-8bf3-77339302725b")
///     .header("PAYPAL-TRANSMISSION-TIME", "2015-05-18T15:45:13Z")
///     .header("PAYPAL-TRANSMISSION-SIG", "AAAA")
///     .header("PAYPAL-CERT-URL", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77")
///     .header("PAYPAL-AUTH-ALGO", "SHA256withRSA")
///     .body(())?
///     .into_parts();
/// let ctx = Context::new(std::time::SystemTime::now(), Default::default());
/// // The certificate is not cached: the layer would fetch it, then verify again.
/// assert!(matches!(paypal.check(&head, b"{}", &ctx), Err(VerifyError::KeyNeeded(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PayPal {
    webhook_id: String,
    certs: Arc<PayPalFetcher>,
    pinned: Pinned,
    max_age: Option<Duration>,
    signing: Option<Arc<RsaSigner>>,
}

struct PayPalFetcher(CertStore);

impl KeyFetcher for PayPalFetcher {
    fn fetch<'a>(
        &'a self,
        request: &'a KeyRequest,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), FetchError>> {
        Box::pin(self.0.fetch(request.locator(), now))
    }
}

/// What [`PayPal`] reads from the head.
#[derive(Debug)]
pub struct PayPalHead {
    id: String,
    time: String,
    signature: Vec<u8>,
    cert_url: String,
}

impl PayPal {
    /// The receiver's webhook id (as PayPal's dashboard shows it), with
    /// certificates fetched under [`UrlPolicy::paypal`] by an
    /// [`HttpsClient`] trusting the Mozilla roots.
    ///
    /// ```
    /// assert!(tower_webhook::scheme::PayPal::new(" ").is_err());
    /// ```
    pub fn new(webhook_id: impl AsRef<str>) -> Result<Self, SchemeConfigError> {
        let webhook_id = webhook_id.as_ref().trim();
        if webhook_id.is_empty() || webhook_id.contains('|') {
            return Err(SchemeConfigError::Invalid {
                scheme: "paypal",
                reason: "the webhook id given to PayPal::new is empty or holds `|`",
            });
        }
        Ok(Self {
            webhook_id: webhook_id.to_owned(),
            certs: Arc::new(PayPalFetcher(CertStore::new(
                UrlPolicy::paypal(),
                HttpsClient::new(),
                CacheSettings::default(),
                CertificateTrust::paypal(),
            ))),
            pinned: Pinned::default(),
            max_age: None,
            signing: None,
        })
    }

    /// Refuses deliveries whose signed `PAYPAL-TRANSMISSION-TIME` is older
    /// than `max_age` at the layer's clock (or ahead of it by more than the
    /// layer's tolerance). Off by default: PayPal retries a delivery for up
    /// to three days and does not document whether a retry is signed again
    /// with a fresh time, so any shorter window could refuse its retries;
    /// replays are refused by the dedup store (transmission id and event
    /// id), whose retention for untimed schemes is three days by default.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = tower_webhook::scheme::PayPal::new("WH")?.max_age(Some(Duration::from_secs(4 * 86_400)));
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// A certificate known in advance for `cert_url` (PEM): used without
    /// fetching, for tests and for receivers that must not depend on the
    /// network. The URL must still pass the URL policy, and the certificate
    /// its validity dates; its chain and name are yours to vouch for.
    ///
    /// ```
    /// let pem = include_str!("../../tests/vectors/published-keys/pp_node_cert.pem");
    /// let paypal = tower_webhook::scheme::PayPal::new("4JH86294D6297924G")?
    ///     .certificate("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77", pem)?;
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn certificate(mut self, cert_url: &str, pem: &str) -> Result<Self, SchemeConfigError> {
        let cert = Certificate::from_pem(pem.as_bytes()).ok_or(SchemeConfigError::Invalid {
            scheme: "paypal",
            reason: "the certificate given to PayPal::certificate is not a PEM X.509 certificate with an RSA key",
        })?;
        Arc::make_mut(&mut self.pinned).insert(cert_url.to_owned(), Arc::new(cert));
        Ok(self)
    }

    /// Fetches with `client`, under `policy`, cached per `cache`.
    ///
    /// ```
    /// use tower_webhook::keys::{CacheSettings, HttpsClient, UrlPolicy};
    /// let p = tower_webhook::scheme::PayPal::new("WH")?.fetch_with(HttpsClient::new(), UrlPolicy::paypal(), CacheSettings::default());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn fetch_with(
        mut self,
        client: HttpsClient,
        policy: UrlPolicy,
        cache: CacheSettings,
    ) -> Self {
        let trust = self.certs.0.trust.clone();
        self.certs = Arc::new(PayPalFetcher(CertStore::new(policy, client, cache, trust)));
        self
    }

    /// What a fetched certificate must satisfy besides its dates: its
    /// name, and its chain when asked for ([`CertificateTrust::paypal`] by
    /// default: `messageverificationcerts[.sandbox].paypal.com`, no chain
    /// check, since the certificate URL serves no intermediate; see
    /// [`CertificateTrust`]).
    ///
    /// ```
    /// use tower_webhook::keys::CertificateTrust;
    /// let paypal = tower_webhook::scheme::PayPal::new("WH")?.certificate_trust(
    ///     CertificateTrust::paypal()
    ///         .root_certificates(include_str!("../../tests/vectors/published-keys/root.pem"))?
    ///         .intermediates(include_str!("../../tests/vectors/published-keys/int.pem"))?,
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn certificate_trust(mut self, trust: CertificateTrust) -> Self {
        let certs = &self.certs.0;
        self.certs = Arc::new(PayPalFetcher(CertStore::new(
            certs.policy.clone(),
            certs.client.clone(),
            certs.settings,
            trust,
        )));
        self
    }

    /// A test sender: signs with the RSA private key `private_key_pem`
    /// (PKCS#8 PEM), naming `cert_url` as its certificate. For tests.
    ///
    /// ```
    /// let e = tower_webhook::scheme::PayPal::new("WH")?.signing_key("nope", "https://api.paypal.com/v1/notifications/certs/C").unwrap_err();
    /// assert!(e.to_string().contains("RSA private key"));
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn signing_key(
        mut self,
        private_key_pem: &str,
        cert_url: &str,
    ) -> Result<Self, SchemeConfigError> {
        self.signing = Some(Arc::new(RsaSigner::new(
            "paypal",
            private_key_pem,
            cert_url,
        )?));
        Ok(self)
    }

    fn signed_string(&self, id: &str, time: &str, body: &[u8]) -> String {
        format!("{id}|{time}|{}|{}", self.webhook_id, crc32fast::hash(body))
    }
}

impl fmt::Debug for PayPal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPal")
            .field("webhook_id", &self.webhook_id)
            .field("signing_key", &self.signing.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Scheme for PayPal {
    type Head = PayPalHead;

    fn name(&self) -> &'static str {
        "paypal"
    }

    fn key_id(&self) -> KeyId {
        KeyId::from_public_key(self.webhook_id.as_bytes())
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn key_fetcher(&self) -> Option<&dyn KeyFetcher> {
        Some(&*self.certs)
    }

    fn read(&self, head: &Parts, _: &Context) -> Result<PayPalHead, VerifyError> {
        let h = &head.headers;
        let algo = rules::required(h, ALGO_HEADER)?;
        if algo != "SHA256withRSA" {
            return Err(VerifyError::MalformedHeader {
                header: ALGO_HEADER,
                reason: "only SHA256withRSA is accepted",
            });
        }
        let id = rules::event_id(IdSource::Header(ID_HEADER), rules::required(h, ID_HEADER)?)?;
        let time = rules::required(h, TIME_HEADER)?;
        if time.len() > 64 || time.contains('|') || id.contains('|') {
            return Err(VerifyError::MalformedHeader {
                header: TIME_HEADER,
                reason: "longer than a timestamp, or holds `|`",
            });
        }
        let encoded = rules::required(h, SIG_HEADER)?;
        let bad_sig = VerifyError::MalformedHeader {
            header: SIG_HEADER,
            reason: "not standard base64 of an RSA signature",
        };
        if encoded.len() > MAX_SIG_CHARS {
            return Err(bad_sig);
        }
        let signature = B64.decode(encoded).map_err(|_| bad_sig)?;
        let cert_url = rules::required(h, CERT_HEADER)?;
        self.certs
            .0
            .policy
            .check(cert_url)
            .map_err(|e| VerifyError::policy(CERT_HEADER, &e))?;
        Ok(PayPalHead {
            id: id.to_owned(),
            time: time.to_owned(),
            signature,
            cert_url: cert_url.to_owned(),
        })
    }

    fn verify(
        &self,
        _: &Parts,
        read: PayPalHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        let cert = self
            .certs
            .0
            .lookup(CERT_HEADER, &read.cert_url, ctx.now, &self.pinned)?;
        cert.check_time(CERT_HEADER, ctx.now)?;
        let signed = self.signed_string(&read.id, &read.time, body);
        if !cert.verifies(RsaHash::Sha256, signed.as_bytes(), &read.signature) {
            return Err(VerifyError::NoMatch {
                header: SIG_HEADER,
                candidates: 1,
                keys: 1,
            });
        }
        if let Some(max_age) = self.max_age {
            let sent = super::TimeUnit::Rfc3339.parse(TIME_HEADER, &read.time)?;
            let window = Context::new(
                ctx.now,
                Tolerance {
                    past: max_age,
                    future: ctx.tolerance.future,
                },
            );
            rules::within(TIME_HEADER, sent, &window)?;
        }
        let fields = json::fields(body, &["/id"]).unwrap_or_default();
        let event_id = fields
            .first()
            .and_then(Option::as_ref)
            .and_then(|f| f.as_str())
            .map(|id| rules::event_id(IdSource::Body, id).map(str::to_owned))
            .transpose()?;
        Ok(Envelope::unsigned_id(event_id)
            .with_dedup(Dedup::Value(read.id))
            .with_event(EventName::Body("/event_type"))
            .into())
    }
}

impl Sign for PayPal {
    /// Signs as PayPal does, with transmission id `id` at `timestamp`.
    /// Needs [`signing_key`](PayPal::signing_key).
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let key = self
            .signing
            .as_ref()
            .ok_or(SignError::Unsupported("paypal"))?;
        let time = time::OffsetDateTime::from(timestamp)
            .replace_nanosecond(0)
            .map_err(|e| SignError::Invalid(e.to_string()))?
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| SignError::Invalid(e.to_string()))?;
        let signed = self.signed_string(id, &time, request.body());
        let signature = key.sign_base64(signed.as_bytes())?;
        let h = request.headers_mut();
        h.insert(ID_HEADER, header_value(id)?);
        h.insert(TIME_HEADER, header_value(&time)?);
        h.insert(SIG_HEADER, header_value(&signature)?);
        h.insert(CERT_HEADER, header_value(&key.cert_url)?);
        h.insert(ALGO_HEADER, header_value("SHA256withRSA")?);
        Ok(())
    }
}
