//! Building a preset from its name, for configuration files and
//! environment variables. The list of presets is written once, here:
//! [`PRESETS`], [`by_name`] and the feature errors come from it.

use std::fmt;

use zeroize::Zeroizing;

use super::*;

/// The presets, each with the cargo feature it needs (if any) and how
/// [`by_name`] builds it from one secret and the options.
macro_rules! presets {
    ($( $name:literal $([$feature:tt])? => $build:expr, )*) => {
        /// The names [`by_name`] can build, in lower case: those behind a
        /// cargo feature only when it is enabled.
        ///
        /// ```
        /// assert!(tower_webhook::scheme::PRESETS.contains(&"stripe"));
        /// assert_eq!(
        ///     tower_webhook::scheme::PRESETS.contains(&"sendgrid"),
        ///     cfg!(feature = "sendgrid"),
        /// );
        /// ```
        pub const PRESETS: &[&str] = &[$( $(#[cfg(feature = $feature)])? $name, )*];

        /// Every preset that needs a cargo feature, with that feature,
        /// whether or not it is enabled.
        const FEATURE_PRESETS: &[(&str, &str)] = &[$( $(($name, $feature),)? )*];

        fn build(name: &str, secret: &str, options: &PresetOptions) -> Option<Result<AnyScheme, SchemeConfigError>> {
            Some(match name {
                $( $(#[cfg(feature = $feature)])? $name => $build(secret, options), )*
                _ => return None,
            })
        }
    };
}

presets! {
    "standard" => |s, _| Ok(AnyScheme::signing(StandardWebhooks::new(s)?)),
    "stripe" => |s, _| Ok(AnyScheme::signing(Stripe::new(s)?)),
    "github" => |s, _| Ok(AnyScheme::signing(GitHub::new(s)?)),
    "shopify" => |s, _| Ok(AnyScheme::signing(Shopify::new(s)?)),
    "slack" => |s, _| Ok(AnyScheme::signing(Slack::new(s)?)),
    "square" => |s, o: &PresetOptions| Ok(AnyScheme::signing(Square::new(s, o.url("square")?)?)),
    "hubspot" => |s, o: &PresetOptions| Ok(AnyScheme::signing(HubSpot::new(s, o.url("hubspot")?)?)),
    "paddle" => |s, _| Ok(AnyScheme::signing(Paddle::new(s)?)),
    "pagerduty" => |s, _| Ok(AnyScheme::signing(PagerDuty::new(s)?)),
    "twilio" => |s, o: &PresetOptions| Ok(AnyScheme::signing(Twilio::new(s, o.url("twilio")?)?)),
    "gitlab" => |s, _| Ok(AnyScheme::signing(Token::gitlab(s)?)),
    "dropbox" => |s, _| Ok(AnyScheme::signing(Dropbox::new(s)?)),
    "linear" => |s, _| Ok(AnyScheme::signing(Linear::new(s)?)),
    "typeform" => |s, _| Ok(AnyScheme::signing(Typeform::new(s)?)),
    "calendly" => |s, _| Ok(AnyScheme::signing(Calendly::new(s)?)),
    "zoom" => |s, _| Ok(AnyScheme::signing(Zoom::new(s)?)),
    "intercom" => |s, _| Ok(AnyScheme::signing(Intercom::new(s)?)),
    "mailgun" => |s, _| Ok(AnyScheme::signing(Mailgun::new(s)?)),
    "twitch" => |s, _| Ok(AnyScheme::signing(Twitch::new(s)?)),
    "meta" => |s, o: &PresetOptions| {
        Ok(AnyScheme::signing(Meta::new(s)?.verify_token(o.token("meta")?)))
    },
    "linkedin" => |s, _| Ok(AnyScheme::signing(LinkedIn::new(s)?)),
    // The sender's `whpk_` public key, or a `whsk_` secret key (signs too).
    "standard-ed25519" ["ed25519"] => |s, _| Ok(AnyScheme::signing(StandardWebhooksEd25519::new(s)?)),
    // The console's verification key, or a P-256 private key (test
    // senders, the demo's `send`): whichever parses; the public key's
    // error otherwise.
    "sendgrid" ["sendgrid"] => |s, _| Ok(AnyScheme::signing(
        SendGrid::new(s).or_else(|public| SendGrid::from_private_key(s).map_err(|_| public))?,
    )),
    // The application's hex public key (64 digits), or a secret key
    // followed by its public key (128 digits: test senders, the demo's
    // `send`).
    "discord" ["discord"] => |s, _| Ok(AnyScheme::signing(Discord::from_key(s)?)),
    // No secret: the allow-list of OrganizationIds, separated by commas or
    // spaces.
    "salesforce" ["salesforce"] => |s: &str, _| Ok(AnyScheme::signing(Salesforce::from_list(s)?)),
    // The allowed topic ARNs, separated by commas or spaces (`*`: any);
    // certificates fetched under `UrlPolicy::sns`.
    "sns" ["sns"] => |s: &str, _| Ok(AnyScheme::signing(Sns::from_list(s)?)),
    // The receiver's webhook id; certificates fetched under `UrlPolicy::paypal`.
    "paypal" ["paypal"] => |s: &str, _| Ok(AnyScheme::signing(PayPal::new(s)?)),
    // `client_id:client_secret` of the eBay application; the challenge is
    // answered when the verify token and the public URL are set.
    "ebay" ["ebay"] => |s: &str, o: &PresetOptions| {
        let ebay = Ebay::from_credentials(s)?;
        Ok(AnyScheme::signing(match (o.token("ebay"), o.url("ebay")) {
            (Ok(token), Ok(url)) => ebay.verification(token, url)?,
            _ => ebay,
        }))
    },
}

/// What some presets need besides the secret, for [`by_name`]; every
/// setting is optional and ignored by the presets that do not use it.
///
/// - [`public_url`](Self::public_url): the endpoint's URL as registered with
///   the sender, for the presets that sign it (`square`, `hubspot`,
///   `twilio`).
/// - [`verify_token`](Self::verify_token): the token entered in the sender's
///   dashboard, which its `GET` verification request must carry (`meta`).
///
/// Empty or blank values count as unset. `Debug` shows the URL but never
/// the verify token.
///
/// ```
/// use tower_webhook::scheme::{by_name, PresetOptions};
///
/// let options = PresetOptions::new()
///     .public_url("https://example.com/webhooks/sms")
///     .verify_token("my-verify-token");
/// let twilio = by_name("twilio", "auth-token", &options)?;
/// let meta = by_name("meta", "app-secret", &options)?;
/// assert!(!format!("{options:?}").contains("my-verify-token"));
/// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct PresetOptions {
    public_url: Option<String>,
    verify_token: Option<Zeroizing<String>>,
}

impl PresetOptions {
    /// No settings: enough for every preset that signs neither the URL nor
    /// answers a token-checked verification request.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint's public URL as registered with the sender (surrounding
    /// whitespace trimmed).
    ///
    /// ```
    /// use tower_webhook::scheme::{by_name, PresetOptions, Scheme};
    /// let options = PresetOptions::new().public_url("https://example.com/square");
    /// assert_eq!(by_name("square", "signature-key", &options)?.name(), "square");
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The verify token of the sender's `GET` verification request
    /// (surrounding whitespace trimmed).
    ///
    /// ```
    /// use tower_webhook::scheme::{by_name, PresetOptions, Scheme};
    /// let meta = by_name("meta", "app-secret", &PresetOptions::new().verify_token("my-token"))?;
    /// let uri = "/meta?hub.mode=subscribe&hub.verify_token=my-token&hub.challenge=42";
    /// let (head, ()) = http::Request::get(uri).body(())?.into_parts();
    /// assert_eq!(meta.challenge(&head).expect("answered").body().as_ref(), b"42");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.verify_token = Some(Zeroizing::new(token.into()));
        self
    }

    fn url(&self, scheme: &'static str) -> Result<&str, SchemeConfigError> {
        self.public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(SchemeConfigError::MissingPublicUrl { scheme })
    }

    fn token(&self, scheme: &'static str) -> Result<&str, SchemeConfigError> {
        self.verify_token
            .as_deref()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or(SchemeConfigError::MissingVerifyToken { scheme })
    }
}

impl fmt::Debug for PresetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresetOptions")
            .field("public_url", &self.public_url)
            .field(
                "verify_token",
                &self.verify_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Builds the preset named `name` (see [`PRESETS`]; case and surrounding
/// spaces are ignored) with one `secret` and the `options` it needs: the
/// public URL for `square`, `hubspot` and `twilio`, the verify token for
/// `meta`. It can sign as well as verify ([`AnyScheme::signing`]).
///
/// For the asymmetric presets `secret` is a key: for `standard-ed25519`
/// (feature `ed25519`) the sender's `whpk_` public key, or a `whsk_` secret
/// key to sign test deliveries too; for `sendgrid` (feature `sendgrid`) the
/// verification key from SendGrid's console, or a P-256 private key to sign
/// test deliveries too; for `discord` (feature `discord`) the application's
/// hex public key (64 digits), or a hex secret key followed by its public
/// key (128 digits) to sign test deliveries too. For `salesforce` (feature
/// `salesforce`), which signs nothing, it is the allow-list of
/// `OrganizationId`s, separated by commas or spaces. Without the feature,
/// these names give
/// [`SchemeConfigError::FeatureDisabled`], which names it.
///
/// ```
/// use tower_webhook::scheme::{by_name, PresetOptions, Scheme, SchemeConfigError};
///
/// let scheme = by_name("stripe", "whsec_abc", &PresetOptions::new())?;
/// assert_eq!(scheme.name(), "stripe");
///
/// let err = by_name("square", "key", &PresetOptions::new()).err().unwrap();
/// assert!(matches!(err, SchemeConfigError::MissingPublicUrl { scheme: "square" }));
///
/// let err = by_name("meta", "app-secret", &PresetOptions::new()).err().unwrap();
/// assert!(matches!(err, SchemeConfigError::MissingVerifyToken { scheme: "meta" }));
///
/// let err = by_name("strpe", "key", &PresetOptions::new()).err().unwrap();
/// assert!(matches!(err, SchemeConfigError::UnknownScheme { .. }));
/// assert!(err.to_string().contains("stripe"));
///
/// # #[cfg(not(feature = "sendgrid"))] {
/// let err = by_name("sendgrid", "MFkw...", &PresetOptions::new()).err().unwrap();
/// assert!(err.to_string().contains(r#"features = ["sendgrid"]"#));
/// # }
/// # Ok::<(), SchemeConfigError>(())
/// ```
pub fn by_name(
    name: &str,
    secret: &str,
    options: &PresetOptions,
) -> Result<AnyScheme, SchemeConfigError> {
    let name = name.trim().to_ascii_lowercase();
    build(&name, secret, options).unwrap_or_else(|| {
        Err(match FEATURE_PRESETS.iter().find(|(p, _)| *p == name) {
            Some(&(scheme, feature)) => SchemeConfigError::FeatureDisabled { scheme, feature },
            None => SchemeConfigError::UnknownScheme {
                name,
                known: PRESETS.join(", "),
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> PresetOptions {
        PresetOptions::new()
            .public_url("https://example.com/hook")
            .verify_token("vt")
    }

    /// A key each preset accepts: the asymmetric ones take public keys.
    fn key_for(name: &str) -> &'static str {
        match name {
            "standard-ed25519" => "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
            "discord" => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "salesforce" => "00D5e000000KQ2eEAG",
            "sns" => "*",
            "paypal" => "4JH86294D6297924G",
            "ebay" => "client-id:client-secret",
            "sendgrid" => {
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
            }
            _ => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        }
    }

    #[cfg(feature = "sendgrid")]
    #[test]
    fn sendgrid_takes_a_public_key_to_verify_or_a_private_key_to_sign() {
        use crate::sign::Signer;
        let private = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
        let signer = by_name("sendgrid", private, &PresetOptions::new()).unwrap();
        let request = Signer::new(&signer).request("/hook", "[]").unwrap();
        let public = SendGrid::from_private_key(private).unwrap().public_keys();
        let verifier = by_name("sendgrid", &public[0], &PresetOptions::new()).unwrap();
        let (head, body) = request.into_parts();
        let ctx = super::super::Context::new(std::time::SystemTime::now(), Default::default());
        assert!(verifier.check(&head, &body, &ctx).is_ok());
        assert!(
            Signer::new(&verifier).request("/hook", "[]").is_err(),
            "a public key cannot sign"
        );
        // Neither a public nor a private key: the public key's error.
        let err = by_name("sendgrid", "not a key", &PresetOptions::new())
            .err()
            .unwrap();
        assert!(!err.to_string().contains("not a key"), "{err}");
    }

    #[test]
    fn feature_gated_presets_are_built_or_name_their_feature() {
        let feature_disabled = |name| {
            FEATURE_PRESETS
                .iter()
                .find(|(p, _)| *p == name)
                .map(|&(scheme, feature)| SchemeConfigError::FeatureDisabled { scheme, feature })
        };
        for &(name, feature) in FEATURE_PRESETS {
            let e = feature_disabled(name).unwrap();
            assert_eq!(
                e,
                SchemeConfigError::FeatureDisabled {
                    scheme: name,
                    feature
                }
            );
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{name}`"))
                    && text.contains(&format!("features = [\"{feature}\"]")),
                "{text}"
            );
            let built = by_name(
                &format!(" {} ", name.to_uppercase()),
                key_for(name),
                &PresetOptions::new(),
            );
            let enabled = match feature {
                "ed25519" => cfg!(feature = "ed25519"),
                "sendgrid" => cfg!(feature = "sendgrid"),
                "discord" => cfg!(feature = "discord"),
                "salesforce" => cfg!(feature = "salesforce"),
                "sns" => cfg!(feature = "sns"),
                "paypal" => cfg!(feature = "paypal"),
                "ebay" => cfg!(feature = "ebay"),
                other => panic!("feature {other} not covered"),
            };
            assert_eq!(PRESETS.contains(&name), enabled, "{name}");
            match built {
                Ok(scheme) => {
                    assert!(enabled, "{name} built without its feature");
                    assert_eq!(scheme.name(), name);
                }
                Err(e) => {
                    assert!(!enabled, "{name}: {e}");
                    assert_eq!(e, feature_disabled(name).unwrap());
                }
            }
        }
        assert_eq!(feature_disabled("stripe"), None);
        assert!(matches!(
            by_name("ed25519", "k", &PresetOptions::new()),
            Err(SchemeConfigError::UnknownScheme { .. })
        ));
    }

    #[test]
    fn every_listed_preset_builds_with_its_own_name() {
        for name in PRESETS {
            let scheme =
                by_name(name, key_for(name), &full()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(scheme.name(), *name);
        }
        assert!(by_name(" Stripe ", "x", &PresetOptions::new()).is_ok());
        assert!(by_name("LinkedIn", "x", &PresetOptions::new()).is_ok());
    }

    #[test]
    fn meta_by_name_answers_with_the_configured_token() {
        let head = |token: &str| {
            let uri = format!("/?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=9");
            http::Request::get(uri).body(()).unwrap().into_parts().0
        };
        let meta = by_name("meta", "app-secret", &full()).unwrap();
        assert_eq!(meta.challenge(&head("vt")).unwrap().body().as_ref(), b"9");
        assert!(meta.challenge(&head("other")).is_none());
        // Surrounding whitespace of the configured token is trimmed.
        let padded = PresetOptions::new().verify_token(" vt\n");
        let meta = by_name("meta", "app-secret", &padded).unwrap();
        assert!(meta.challenge(&head("vt")).is_some());
    }

    #[test]
    fn debug_of_every_preset_hides_the_secret() {
        const S: &str = "whsec_SuperSecretValue1234567890==";
        const U: &str = "https://example.com/hook";
        let outputs = [
            format!("{:?}", Stripe::new(S).unwrap()),
            format!("{:?}", GitHub::new(S).unwrap().allow_sha1()),
            format!("{:?}", Meta::new(S).unwrap().verify_token(S)),
            format!("{:?}", Shopify::new(S).unwrap()),
            format!("{:?}", Slack::new(S).unwrap()),
            format!("{:?}", Square::new(S, U).unwrap()),
            format!("{:?}", HubSpot::new(S, U).unwrap()),
            format!("{:?}", Paddle::new(S).unwrap()),
            format!("{:?}", PagerDuty::new(S).unwrap()),
            format!("{:?}", Twilio::new(S, U).unwrap()),
            format!("{:?}", Token::gitlab(S).unwrap()),
            format!("{:?}", Dropbox::new(S).unwrap()),
            format!("{:?}", Linear::new(S).unwrap()),
            format!("{:?}", Typeform::new(S).unwrap()),
            format!("{:?}", Calendly::new(S).unwrap()),
            format!("{:?}", Zoom::new(S).unwrap()),
            format!("{:?}", Twitch::new(S).unwrap()),
            format!("{:?}", Intercom::new(S).unwrap()),
            format!("{:?}", Mailgun::new(S).unwrap()),
            format!("{:?}", LinkedIn::new(S).unwrap()),
            format!("{:?}", PresetOptions::new().verify_token(S)),
            #[cfg(feature = "ed25519")]
            format!(
                "{:?}",
                StandardWebhooksEd25519::new(
                    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
                )
                .unwrap()
            ),
            #[cfg(feature = "sendgrid")]
            format!(
                "{:?}",
                SendGrid::from_private_key("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=").unwrap()
            ),
            #[cfg(feature = "discord")]
            format!(
                "{:?}",
                Discord::from_secret_key(
                    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
                )
                .unwrap()
            ),
        ];
        for out in outputs {
            for secret in ["SuperSecret", "6Xb/dCcH", "QkJCQkJC", "9d61b19d"] {
                assert!(!out.contains(secret), "{out}");
            }
        }
    }

    #[test]
    fn errors_name_the_setting() {
        let none = PresetOptions::new();
        for name in ["square", "hubspot", "twilio"] {
            let e = by_name(name, "k", &none).err().unwrap();
            assert_eq!(e, SchemeConfigError::MissingPublicUrl { scheme: name });
            let e = by_name(name, "k", &none.clone().public_url("  "))
                .err()
                .unwrap();
            assert_eq!(e, SchemeConfigError::MissingPublicUrl { scheme: name });
            let e = by_name(name, "k", &none.clone().public_url("example.com"))
                .err()
                .unwrap();
            assert!(e.to_string().contains("public URL"), "{e}");
        }
        for options in [none.clone(), none.clone().verify_token(" ")] {
            let e = by_name("meta", "k", &options).err().unwrap();
            assert_eq!(e, SchemeConfigError::MissingVerifyToken { scheme: "meta" });
            assert!(e.to_string().contains("PresetOptions::verify_token"), "{e}");
        }
        let e = by_name("stripe", "", &none).err().unwrap();
        assert!(matches!(e, SchemeConfigError::Secret(_)), "{e}");
        let e = by_name("nope", "k", &none).err().unwrap().to_string();
        assert!(
            e.contains("nope") && e.contains("gitlab") && e.contains("linkedin"),
            "{e}"
        );
    }
}
