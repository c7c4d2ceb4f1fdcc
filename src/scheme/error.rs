//! Why verification, signing or configuration failed. Messages name the
//! header or setting at fault and never quote a secret or a signature.

use crate::keys::KeyRequest;
#[cfg(any(feature = "sns", feature = "paypal"))]
use crate::keys::PolicyError;
use crate::secret::SecretError;

/// Why a delivery failed verification. Every variant answers 401.
///
/// ```
/// use tower_webhook::scheme::VerifyError;
/// let e = VerifyError::TooOld { header: "webhook-timestamp", age_secs: 900, tolerance_secs: 300 };
/// assert_eq!(e.to_string(), "`webhook-timestamp` timestamp is 900 s old, more than the 300 s tolerance");
/// ```
///
/// Messages name the header at fault and never contain a secret or a
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent.
    #[error("missing `{header}` header")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A header is present but cannot be parsed.
    #[error("malformed `{header}` header: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature header lists more entries than any sender sends.
    #[error("`{header}` holds more than {max} entries; refusing it whole")]
    TooManySignatures {
        /// The header's name.
        header: &'static str,
        /// The most entries accepted.
        max: usize,
    },
    /// No candidate signature matches any active secret.
    #[error(
        "no signature in `{header}` matches any configured secret ({candidates} candidate(s), {keys} key(s)); check the secret and its encoding"
    )]
    NoMatch {
        /// The signature header's name.
        header: &'static str,
        /// How many well-formed candidate signatures the header held.
        candidates: usize,
        /// How many secrets were tried.
        keys: usize,
    },
    /// The signed timestamp is older than the tolerance.
    #[error("`{header}` timestamp is {age_secs} s old, more than the {tolerance_secs} s tolerance")]
    TooOld {
        /// The timestamp header's name.
        header: &'static str,
        /// Age in whole seconds.
        age_secs: u64,
        /// The configured past tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance.
    #[error(
        "`{header}` timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s tolerance"
    )]
    TooNew {
        /// The timestamp header's name.
        header: &'static str,
        /// How far ahead, in whole seconds.
        ahead_secs: u64,
        /// The configured future tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed body lacks something the scheme reads from it (an event id).
    #[error("signed body: {reason}")]
    MalformedBody {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The body is not a message of the sender's form (for Salesforce: a
    /// SOAP outbound message, read by a hardened XML reader), or breaks one
    /// of the limits that guard its reading (a DTD, an entity, depth, size).
    #[error("malformed message: {reason}")]
    MalformedMessage {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value that names the sender (Salesforce's `OrganizationId`) is not
    /// among the configured ones.
    ///
    /// ```
    /// use tower_webhook::scheme::VerifyError;
    /// let e = VerifyError::NotAllowed { field: "OrganizationId", setting: "Salesforce::new" };
    /// assert_eq!(e.to_string(), "`OrganizationId` is not among those allowed (Salesforce::new)");
    /// ```
    #[error("`{field}` is not among those allowed ({setting})")]
    NotAllowed {
        /// The field of the message.
        field: &'static str,
        /// The setting that lists the allowed values.
        setting: &'static str,
    },
    /// The delivery names a key (or a step, such as a subscription to
    /// confirm) the scheme does not hold yet: the layer fetches it through
    /// [`Scheme::key_fetcher`](super::Scheme::key_fetcher) and verifies
    /// again. Outside the layer (no fetcher), it refuses the delivery.
    ///
    /// ```
    /// use tower_webhook::{keys::KeyRequest, scheme::VerifyError};
    /// let e = VerifyError::KeyNeeded(KeyRequest::key("kid-1"));
    /// assert_eq!(e.to_string(), "the key `kid-1` is not cached yet (the layer fetches it)");
    /// ```
    #[error("the key `{}` is not cached yet (the layer fetches it)", .0.locator())]
    KeyNeeded(KeyRequest),
    /// The key or certificate the delivery names (in `header`) is refused:
    /// unknown to the key server, outside the sender's URL policy, expired,
    /// or unusable.
    ///
    /// ```
    /// use tower_webhook::scheme::VerifyError;
    /// let e = VerifyError::KeyRefused { header: "SigningCertURL", reason: "the certificate has expired".into() };
    /// assert_eq!(e.to_string(), "the key named by `SigningCertURL` is refused: the certificate has expired");
    /// ```
    #[error("the key named by `{header}` is refused: {reason}")]
    KeyRefused {
        /// The header or field that names the key.
        header: &'static str,
        /// Why.
        reason: String,
    },
}

#[cfg(any(feature = "sns", feature = "paypal"))]
impl VerifyError {
    /// A key URL outside the policy, refused before any connection.
    pub(crate) fn policy(header: &'static str, e: &PolicyError) -> Self {
        Self::KeyRefused {
            header,
            reason: e.to_string(),
        }
    }
}

/// Why a [`Signer`](crate::sign::Signer) could not sign.
///
/// ```
/// assert_eq!(tower_webhook::scheme::SignError::Unsupported("x").to_string(), "the `x` scheme cannot sign requests");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// This scheme cannot produce signatures (it only verifies).
    #[error("the `{0}` scheme cannot sign requests")]
    Unsupported(&'static str),
    /// A value could not be put into a header or URI.
    #[error("cannot sign: {0}")]
    Invalid(String),
    /// [`Signer::id`](crate::sign::Signer::id) asked for an event id this
    /// sender does not carry where a signer can set it: the sender puts it
    /// in the signed body (Stripe's `id`, Slack's `event_id`, ...) or has
    /// none. Put the id in the body instead, or leave `Signer::id` unset.
    #[error(
        "the `{scheme}` scheme does not carry the event id `Signer::id` asked for ({asked:?}); the signed delivery's id is {found:?}: for this sender, write the id into the body, or do not set `Signer::id`"
    )]
    IdNotCarried {
        /// The scheme.
        scheme: &'static str,
        /// The id asked for.
        asked: String,
        /// The id a receiver finds in the signed request (`None`: no id).
        found: Option<String>,
    },
}

/// Why a scheme could not be configured. Messages name the setting at fault
/// and never quote a secret.
///
/// ```
/// use tower_webhook::scheme::{SchemeConfigError, Twilio};
/// let err = Twilio::new("token", "mycompany.com/sms").unwrap_err();
/// assert!(matches!(err, SchemeConfigError::InvalidPublicUrl { .. }));
/// assert!(err.to_string().starts_with("the public URL"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemeConfigError {
    /// No preset has this name.
    #[error("unknown webhook scheme `{name}`; known schemes: {known}")]
    UnknownScheme {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The scheme signs the endpoint's URL, and none was configured.
    #[error(
        "the `{scheme}` scheme signs the endpoint's public URL: pass the URL registered with the sender (such as https://example.com/webhooks) to the scheme, or to PresetOptions::public_url"
    )]
    MissingPublicUrl {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// The scheme answers the sender's verification request with a verify
    /// token, and none was configured.
    #[error(
        "the `{scheme}` scheme answers the sender's GET verification request only with the verify token: pass the token entered in the sender's dashboard to the scheme, or to PresetOptions::verify_token"
    )]
    MissingVerifyToken {
        /// The scheme's name.
        scheme: &'static str,
    },
    /// The configured public URL cannot be used.
    #[error("the public URL is not a usable URL: {reason}")]
    InvalidPublicUrl {
        /// What is wrong with it (the URL itself is not quoted).
        reason: &'static str,
    },
    /// A generic scheme's settings contradict each other.
    #[error("the `{scheme}` scheme is misconfigured: {reason}")]
    Invalid {
        /// The scheme's name.
        scheme: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The secret was refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The preset exists, but this build of the crate lacks the cargo
    /// feature it needs (see [`PRESETS`](super::PRESETS)).
    #[error(
        "the `{scheme}` webhook scheme needs the `{feature}` cargo feature of tower-webhook: add `features = [\"{feature}\"]` to the tower-webhook dependency in Cargo.toml and rebuild"
    )]
    FeatureDisabled {
        /// The preset's name.
        scheme: &'static str,
        /// The cargo feature to enable.
        feature: &'static str,
    },
}
