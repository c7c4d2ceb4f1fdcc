//! What stops a command from running; each message says what to fix.

use tower_webhook::scheme::{SchemeConfigError, SignError};

/// Why a command could not do its work (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--scheme` and its settings do not make a scheme.
    #[error("{0}")]
    Scheme(String),
    /// The scheme refused to sign.
    #[error("{0}")]
    Sign(String),
    /// A file, stdin or a socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The captured request cannot be read as HTTP/1.1.
    #[error("the request {0}")]
    Request(String),
    /// A setting is unusable.
    #[error("{0}")]
    Invalid(String),
}

impl CliError {
    /// The scheme's configuration error, in the command's terms.
    pub fn scheme(e: SchemeConfigError) -> Self {
        let text = match e {
            SchemeConfigError::MissingPublicUrl { scheme } => format!(
                "the `{scheme}` scheme signs the endpoint's public URL: pass --public-url with \
                 the URL registered with the sender (such as https://example.com/webhooks)"
            ),
            SchemeConfigError::MissingVerifyToken { scheme } => format!(
                "the `{scheme}` receiver answers the sender's GET verification request only \
                 with its verify token: pass --verify-token with the token entered in the \
                 sender's dashboard"
            ),
            SchemeConfigError::InvalidPublicUrl { .. } => format!("--public-url: {e}"),
            SchemeConfigError::FeatureDisabled { scheme, feature } => format!(
                "the `{scheme}` scheme needs the `{feature}` feature, which this build of \
                 tower-webhook lacks: cargo install tower-webhook --features cli,{feature}"
            ),
            SchemeConfigError::Secret(_) => format!("--secret: {e}"),
            SchemeConfigError::UnknownScheme { .. } => format!("--scheme: {e}"),
            e => e.to_string(),
        };
        Self::Scheme(text)
    }

    /// The signer's refusal, with the flag to change.
    pub fn sign(e: SignError, scheme: &str) -> Self {
        let hint = match &e {
            SignError::IdNotCarried { .. } => " (`Signer::id` is --id here)",
            _ => match scheme {
                "standard-ed25519" => {
                    " (to sign, --secret must be the sender's whsk_ secret key, not the whpk_ public key)"
                }
                "sendgrid" => {
                    " (to sign, --secret must be a P-256 private key, not the console's verification key)"
                }
                "discord" => {
                    " (to sign, --secret must be the secret key followed by the public key, 128 hex digits)"
                }
                "sns" | "paypal" | "ebay" => {
                    " (the sender signs with its own private key and publishes the public one; this command can verify its captured deliveries, fetching the key from the sender, but cannot sign them; the crate's tests sign with test keys: Sns::signing_key, PayPal::signing_key, Ebay::signing_key)"
                }
                _ => "",
            },
        };
        Self::Sign(format!("{e}{hint}"))
    }
}
