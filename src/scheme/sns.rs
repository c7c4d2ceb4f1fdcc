//! [AWS SNS](https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html)

mod message;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::request::Parts;

use self::message::{Kind, Message};
use super::rules;
use super::{
    Context, Envelope, EventName, KeyId, Scheme, SchemeConfigError, Sign, SignError, Tolerance,
    Verdict, VerifyError,
};
use crate::dedup::BoxFuture;
use crate::keys::cert::{CertStore, Certificate, Pinned, RsaHash};
use crate::keys::{
    CacheSettings, CertificateTrust, FetchError, Fetched, HttpsClient, KeyCache, KeyFetcher,
    KeyRequest, Lookup, Purpose, UrlPolicy,
};

const CERT_FIELD: &str = "SigningCertURL";
const SIGNATURE_FIELD: &str = "Signature";
const RAW_HEADER: &str = "x-amz-sns-rawdelivery";

/// A subscription confirmation, verified, as handed to
/// [`Sns::on_subscription`].
///
/// ```
/// use tower_webhook::scheme::SnsSubscription;
/// fn confirm_later(s: &SnsSubscription) { println!("{} {}", s.topic_arn, s.subscribe_url); }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnsSubscription {
    /// The topic.
    pub topic_arn: String,
    /// The URL whose `GET` confirms the subscription.
    pub subscribe_url: String,
    /// The token for the `ConfirmSubscription` API.
    pub token: String,
}

type OnSubscription = Arc<dyn Fn(&SnsSubscription) + Send + Sync>;

/// AWS SNS HTTP(S) notifications.
///
/// [AWS SNS](https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html)
/// HTTP(S) notifications (feature `sns`).
///
/// - The body is the signed message (JSON, posted as `text/plain`): its
///   `Signature` (base64) is RSA PKCS#1 v1.5 with SHA-1 (`SignatureVersion`
///   `"1"`) or SHA-256 (`"2"`) over `Key\nValue\n` for each signed field of
///   the message's `Type`, in byte order, the values as JSON-decoded. Other
///   versions are refused. The `x-amz-sns-*` headers are not signed and not
///   read.
/// - The certificate is fetched from `SigningCertURL` only if the URL passes
///   the policy ([`UrlPolicy::sns`]: `https://sns.<region>.amazonaws.com[.cn]/….pem`),
///   checked before any connection; it is cached by URL (AWS rotates by
///   publishing a new URL), and refused outside its validity at the layer's
///   clock.
/// - Only the configured topics are accepted (`TopicArn`, checked before
///   any fetch); `"*"` accepts any topic.
/// - `SubscriptionConfirmation` never reaches the handler: once verified, the
///   layer confirms it (a `GET` of its `SubscribeURL`, which must pass
///   [`UrlPolicy::sns_confirmation`]) and answers 200; or, with
///   [`on_subscription`](Sns::on_subscription), hands it to your callback.
///   A confirmation that cannot be sent gives 503, and SNS sends the
///   message again. `UnsubscribeConfirmation` is answered 200 and dropped.
/// - Raw message delivery carries no signature: refused, unless
///   [`allow_raw_delivery`](Sns::allow_raw_delivery) says otherwise.
/// - Dedup on the signed `MessageId` (SNS retries keep it).
/// - The signed `Timestamp` must be at most [`max_age`](Sns::max_age) old
///   (65 minutes by default: SNS retries an HTTP/S delivery for at most an
///   hour, keeping the original message), and not ahead of the layer's
///   clock by more than the layer's tolerance.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_webhook::scheme::{Context, Scheme, Sns, Tolerance, VerifyError};
///
/// let sns = Sns::new(["*"])?;
/// let (head, ()) = http::Request::post("/sns").body(())?.into_parts();
/// let body = br#"{"Type":"Notification","MessageId":"m1","TopicArn":"arn:aws:sns:us-east-2:1:t","Message":"hi","Timestamp":"2022-07-28T21:23:58.317Z","SignatureVersion":"1","Signature":"AA==","SigningCertURL":"https://sns.us-east-2.amazonaws.com/SimpleNotificationService-x.pem"}"#;
/// let ctx = Context::new(UNIX_EPOCH + Duration::from_secs(1_659_043_438), Tolerance::default());
/// // The certificate is not cached: the layer would fetch it, then verify again.
/// assert!(matches!(sns.check(&head, body, &ctx), Err(VerifyError::KeyNeeded(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// An example:
///
/// ```
/// use tower_webhook::scheme::{Scheme, Sns};
/// let sns = Sns::new(["arn:aws:sns:us-east-2:295079676684:orders"])?;
/// assert_eq!(sns.name(), "sns");
/// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
/// ```
#[derive(Clone)]
pub struct Sns {
    topics: Vec<String>,
    fetcher: Arc<SnsFetcher>,
    pinned: Pinned,
    allow_raw: bool,
    max_age: Option<Duration>,
    on_subscription: Option<OnSubscription>,
    signing: Option<Arc<signing::SnsSigningKey>>,
}

/// How old a message's signed `Timestamp` may be by default: the longest
/// SNS retries an HTTP/S delivery (3,600 s, a hard limit of its delivery
/// policies; retries keep the original message), and five minutes more.
pub const SNS_DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600 + 300);

/// Fetches certificates and sends subscription confirmations.
struct SnsFetcher {
    certs: CertStore,
    confirmed: KeyCache<()>,
    confirmation_policy: UrlPolicy,
}

impl SnsFetcher {
    fn new(certs: CertStore) -> Self {
        Self {
            confirmed: KeyCache::new(certs.settings),
            certs,
            confirmation_policy: UrlPolicy::sns_confirmation(),
        }
    }

    async fn confirm(&self, url: &str, now: SystemTime) -> Result<(), FetchError> {
        let uri = self.confirmation_policy.check(url)?;
        self.confirmed
            .fill(url, now, || async {
                Ok(match self.certs.client.get(uri).await? {
                    Some(_) => {
                        tracing::info!("confirmed an SNS subscription");
                        Fetched::Found((), None)
                    }
                    None => Fetched::Unknown,
                })
            })
            .await
    }
}

impl KeyFetcher for SnsFetcher {
    fn fetch<'a>(
        &'a self,
        request: &'a KeyRequest,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<(), FetchError>> {
        Box::pin(async move {
            match request.purpose() {
                Purpose::Confirmation => self.confirm(request.locator(), now).await,
                _ => self.certs.fetch(request.locator(), now).await,
            }
        })
    }
}

impl Sns {
    /// Accepts messages of the topics `topic_arns` (`"*"`: any topic), with
    /// certificates fetched under [`UrlPolicy::sns`] by an [`HttpsClient`]
    /// trusting the Mozilla roots, cached with [`CacheSettings::default`].
    ///
    /// ```
    /// use tower_webhook::scheme::Sns;
    /// assert!(Sns::new(Vec::<String>::new()).is_err());
    /// ```
    pub fn new(
        topic_arns: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SchemeConfigError> {
        let topics: Vec<String> = topic_arns
            .into_iter()
            .map(|t| t.as_ref().trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if topics.is_empty() {
            return Err(SchemeConfigError::Invalid {
                scheme: "sns",
                reason: "no topic ARN given to Sns::new (\"*\" accepts any topic)",
            });
        }
        Ok(Self {
            topics,
            fetcher: Arc::new(SnsFetcher::new(CertStore::new(
                UrlPolicy::sns(),
                HttpsClient::new(),
                CacheSettings::default(),
                CertificateTrust::sns(),
            ))),
            pinned: Pinned::default(),
            allow_raw: false,
            max_age: Some(SNS_DEFAULT_MAX_AGE),
            on_subscription: None,
            signing: None,
        })
    }

    /// A certificate known in advance for `cert_url` (PEM): used without
    /// fetching, for tests and for receivers that must not depend on the
    /// network. The URL must still pass the URL policy, and the certificate
    /// its validity dates; its chain and name are yours to vouch for.
    ///
    /// ```
    /// let pem = include_str!("../../tests/vectors/published-keys/sns_cert.pem");
    /// let sns = tower_webhook::scheme::Sns::new(["*"])?
    ///     .certificate("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem", pem)?;
    /// assert!(tower_webhook::scheme::Sns::new(["*"])?.certificate("https://sns.us-east-1.amazonaws.com/c.pem", "nope").is_err());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn certificate(mut self, cert_url: &str, pem: &str) -> Result<Self, SchemeConfigError> {
        let cert = Certificate::from_pem(pem.as_bytes()).ok_or(SchemeConfigError::Invalid {
            scheme: "sns",
            reason: "the certificate given to Sns::certificate is not a PEM X.509 certificate with an RSA key",
        })?;
        Arc::make_mut(&mut self.pinned).insert(cert_url.to_owned(), Arc::new(cert));
        Ok(self)
    }

    /// The topics from a list separated by commas or spaces (for
    /// [`by_name`](super::by_name)).
    ///
    /// ```
    /// let sns = tower_webhook::scheme::Sns::from_list("arn:aws:sns:us-east-1:1:a, arn:aws:sns:us-east-1:1:b")?;
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn from_list(list: &str) -> Result<Self, SchemeConfigError> {
        Self::new(list.split([',', ' ', '\n', '\t']))
    }

    /// Fetches with `client` (trust roots, timeout, size cap, address
    /// overrides for tests), under `policy`, cached per `cache`.
    ///
    /// ```
    /// use tower_webhook::keys::{CacheSettings, HttpsClient, UrlPolicy};
    /// use tower_webhook::scheme::Sns;
    /// let sns = Sns::new(["*"])?.fetch_with(HttpsClient::new(), UrlPolicy::sns(), CacheSettings::default());
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn fetch_with(
        mut self,
        client: HttpsClient,
        policy: UrlPolicy,
        cache: CacheSettings,
    ) -> Self {
        let trust = self.fetcher.certs.trust.clone();
        self.fetcher = Arc::new(SnsFetcher::new(CertStore::new(
            policy, client, cache, trust,
        )));
        self
    }

    /// What a fetched certificate must satisfy besides its dates: its
    /// name, and its chain when asked for ([`CertificateTrust::sns`] by
    /// default: `sns.amazonaws.com` and AWS's regional signing names, no
    /// chain check, since the certificate URL serves no intermediate; see
    /// [`CertificateTrust`]).
    ///
    /// ```
    /// use tower_webhook::keys::CertificateTrust;
    /// # let intermediates_pem = include_str!("../../tests/vectors/published-keys/int.pem");
    /// // With the issuing intermediate CA (PEM) of the sender's certificate:
    /// let sns = tower_webhook::scheme::Sns::new(["*"])?
    ///     .certificate_trust(CertificateTrust::sns().with_mozilla_roots().intermediates(intermediates_pem)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn certificate_trust(mut self, trust: CertificateTrust) -> Self {
        let certs = &self.fetcher.certs;
        self.fetcher = Arc::new(SnsFetcher::new(CertStore::new(
            certs.policy.clone(),
            certs.client.clone(),
            certs.settings,
            trust,
        )));
        self
    }

    /// How old the signed `Timestamp` of a message may be, at the layer's
    /// clock ([`SNS_DEFAULT_MAX_AGE`] by default, 65 minutes: SNS retries
    /// a delivery for at most an hour, with its original `Timestamp`);
    /// `None` accepts any age, leaving replays to the dedup store alone. A
    /// `Timestamp` ahead of the clock by more than the layer's tolerance
    /// (`WebhookLayer::tolerance`, future side) is refused too.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sns = tower_webhook::scheme::Sns::new(["*"])?.max_age(Some(Duration::from_secs(2 * 3600)));
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// Lets raw message deliveries (`x-amz-sns-rawdelivery: true`) through
    /// **unverified**: they carry no signature, so anyone who knows the URL
    /// can send one. Deduplicated on the body's hash.
    ///
    /// ```
    /// let sns = tower_webhook::scheme::Sns::new(["*"])?.allow_raw_delivery();
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn allow_raw_delivery(mut self) -> Self {
        self.allow_raw = true;
        self
    }

    /// Hands verified subscription confirmations to `callback` instead of
    /// confirming them: the layer answers 200, and the callback confirms
    /// (or not) as it likes.
    ///
    /// ```
    /// let sns = tower_webhook::scheme::Sns::new(["*"])?.on_subscription(|s| println!("{}", s.topic_arn));
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn on_subscription(
        mut self,
        callback: impl Fn(&SnsSubscription) + Send + Sync + 'static,
    ) -> Self {
        self.on_subscription = Some(Arc::new(callback));
        self
    }

    /// A test sender: signs messages (SignatureVersion 2) with the RSA
    /// private key `private_key_pem` (PKCS#8 PEM), naming `cert_url` as the
    /// certificate's URL. AWS never hands out its key: this is for tests.
    ///
    /// ```
    /// let e = tower_webhook::scheme::Sns::new(["*"])?.signing_key("nope", "https://sns.us-east-1.amazonaws.com/c.pem").unwrap_err();
    /// assert!(e.to_string().contains("RSA private key"));
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn signing_key(
        mut self,
        private_key_pem: &str,
        cert_url: &str,
    ) -> Result<Self, SchemeConfigError> {
        self.signing = Some(Arc::new(signing::SnsSigningKey::new(
            private_key_pem,
            cert_url,
        )?));
        Ok(self)
    }

    /// Signs a whole SNS message (a JSON object with the fields of its
    /// `Type`) as AWS does: sets `SignatureVersion` `"2"`, `SigningCertURL`
    /// and `Signature`. For tests of confirmations; needs
    /// [`signing_key`](Self::signing_key).
    pub fn sign_message(&self, message: &mut serde_json::Value) -> Result<(), SignError> {
        let key = self.signing.as_ref().ok_or(SignError::Unsupported("sns"))?;
        key.sign_message(message)
    }

    fn topic_allowed(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == "*" || t == topic)
    }
}

impl fmt::Debug for Sns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sns")
            .field("topics", &self.topics)
            .field("allow_raw", &self.allow_raw)
            .field("max_age", &self.max_age)
            .field("signing_key", &self.signing.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Scheme for Sns {
    type Head = bool;

    fn name(&self) -> &'static str {
        "sns"
    }

    fn key_id(&self) -> KeyId {
        KeyId::from_public_key(self.topics.join(",").as_bytes())
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    fn key_fetcher(&self) -> Option<&dyn KeyFetcher> {
        Some(&*self.fetcher)
    }

    /// Whether the head says raw delivery (nothing else is read from it).
    fn read(&self, head: &Parts, _: &Context) -> Result<bool, VerifyError> {
        let raw = head
            .headers
            .get(RAW_HEADER)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if raw && !self.allow_raw {
            return Err(VerifyError::MalformedHeader {
                header: RAW_HEADER,
                reason: "raw message delivery carries no signature (Sns::allow_raw_delivery)",
            });
        }
        Ok(raw)
    }

    fn verify(
        &self,
        _: &Parts,
        raw: bool,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        if raw {
            return Ok(Envelope::default().into());
        }
        let message = Message::parse(body)?;
        let kind = message.kind()?;
        let hash = match message.signature_version.as_str() {
            "1" => RsaHash::Sha1,
            "2" => RsaHash::Sha256,
            _ => {
                return Err(VerifyError::MalformedMessage {
                    reason: "`SignatureVersion` is neither \"1\" nor \"2\"",
                });
            }
        };
        if !self.topic_allowed(&message.topic_arn) {
            return Err(VerifyError::NotAllowed {
                field: "TopicArn",
                setting: "Sns::new",
            });
        }
        let signature =
            B64.decode(&message.signature)
                .map_err(|_| VerifyError::MalformedMessage {
                    reason: "`Signature` is not standard base64",
                })?;
        let signed = message.string_to_sign(kind)?;
        let cert = self.fetcher.certs.lookup(
            CERT_FIELD,
            &message.signing_cert_url,
            ctx.now,
            &self.pinned,
        )?;
        cert.check_time(CERT_FIELD, ctx.now)?;
        if !cert.verifies(hash, signed.as_bytes(), &signature) {
            return Err(VerifyError::NoMatch {
                header: SIGNATURE_FIELD,
                candidates: 1,
                keys: 1,
            });
        }
        // Verified: the signed `Timestamp` is within the window, and the
        // message may now decide what happens.
        let sent = super::TimeUnit::Rfc3339.parse("Timestamp", &message.timestamp)?;
        let window = Context::new(
            ctx.now,
            Tolerance {
                past: self.max_age.unwrap_or(Duration::MAX),
                future: ctx.tolerance.future,
            },
        );
        rules::within("Timestamp", sent, &window)?;
        match kind {
            Kind::Notification => Ok(Envelope::signed_id(message.message_id)
                .with_event(EventName::Body("/TopicArn"))
                .into()),
            Kind::UnsubscribeConfirmation => Ok(Verdict::Answer(ok())),
            Kind::SubscriptionConfirmation => self.subscription(message, ctx),
        }
    }
}

impl Sns {
    /// A verified subscription confirmation: handed to the callback, or
    /// confirmed (through the fetcher), then answered 200.
    fn subscription(&self, message: Message, ctx: &Context) -> Result<Verdict, VerifyError> {
        let subscription = SnsSubscription {
            topic_arn: message.topic_arn,
            subscribe_url: message.subscribe_url.unwrap_or_default(),
            token: message.token.unwrap_or_default(),
        };
        if let Some(callback) = &self.on_subscription {
            callback(&subscription);
            return Ok(Verdict::Answer(ok()));
        }
        let url = &subscription.subscribe_url;
        self.fetcher
            .confirmation_policy
            .check(url)
            .map_err(|e| VerifyError::policy("SubscribeURL", &e))?;
        match self.fetcher.confirmed.get(url, ctx.now) {
            Lookup::Found(()) => Ok(Verdict::Answer(ok())),
            Lookup::Unknown => Err(VerifyError::KeyRefused {
                header: "SubscribeURL",
                reason: "SNS refused the confirmation".to_owned(),
            }),
            Lookup::Absent => Err(VerifyError::KeyNeeded(KeyRequest::confirmation(
                url.clone(),
            ))),
        }
    }
}

/// 200, empty: what SNS expects for a confirmation.
fn ok() -> http::Response<Bytes> {
    http::Response::new(Bytes::new())
}

impl Sign for Sns {
    /// Wraps the request's body as the `Message` of a `Notification` with
    /// `MessageId` `id` on the first configured topic (not `"*"`), and signs
    /// it (SignatureVersion 2). Needs [`signing_key`](Sns::signing_key).
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        let key = self.signing.as_ref().ok_or(SignError::Unsupported("sns"))?;
        let text = std::str::from_utf8(request.body())
            .map_err(|_| SignError::Invalid("an SNS message is text".to_owned()))?;
        let topic = self
            .topics
            .iter()
            .find(|t| *t != "*")
            .map_or("arn:aws:sns:us-east-1:000000000000:test", String::as_str);
        let when = time::OffsetDateTime::from(timestamp)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| SignError::Invalid(e.to_string()))?;
        let mut message = serde_json::json!({
            "Type": "Notification",
            "MessageId": id,
            "TopicArn": topic,
            "Message": text,
            "Timestamp": when,
        });
        key.sign_message(&mut message)?;
        *request.body_mut() = Bytes::from(message.to_string());
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        Ok(())
    }
}

mod signing {
    //! The test sender's key.

    use super::message::Message;
    use super::{SchemeConfigError, SignError};
    use crate::keys::cert::RsaSigner;

    pub(super) struct SnsSigningKey(RsaSigner);

    impl SnsSigningKey {
        pub(super) fn new(pem: &str, cert_url: &str) -> Result<Self, SchemeConfigError> {
            RsaSigner::new("sns", pem, cert_url).map(Self)
        }

        pub(super) fn sign_message(
            &self,
            message: &mut serde_json::Value,
        ) -> Result<(), SignError> {
            let object = message
                .as_object_mut()
                .ok_or_else(|| SignError::Invalid("an SNS message is a JSON object".to_owned()))?;
            object.insert("SignatureVersion".into(), "2".into());
            object.insert("SigningCertURL".into(), self.0.cert_url.clone().into());
            object.insert("Signature".into(), "".into());
            let parsed = Message::parse(message.to_string().as_bytes())
                .map_err(|e| SignError::Invalid(e.to_string()))?;
            let kind = parsed
                .kind()
                .map_err(|e| SignError::Invalid(e.to_string()))?;
            let signed = parsed
                .string_to_sign(kind)
                .map_err(|e| SignError::Invalid(e.to_string()))?;
            let signature = self.0.sign_base64(signed.as_bytes())?;
            if let Some(object) = message.as_object_mut() {
                object.insert("Signature".into(), signature.into());
            }
            Ok(())
        }
    }
}
