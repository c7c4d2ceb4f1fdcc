//! Building a preset from its name, for configuration files and environment
//! variables.

use super::{
    Calendly, Dropbox, GitHub, HubSpot, Intercom, Linear, Mailgun, Paddle, PagerDuty, Scheme,
    SchemeConfigError, Shopify, Slack, Square, StandardWebhooks, Stripe, Token, Twilio, Twitch,
    Typeform, Zoom,
};

/// The names [`by_name`] knows, in lower case.
///
/// ```
/// assert!(tower_webhook::scheme::PRESETS.contains(&"stripe"));
/// ```
pub const PRESETS: &[&str] = &[
    "standard",
    "stripe",
    "github",
    "shopify",
    "slack",
    "square",
    "hubspot",
    "paddle",
    "pagerduty",
    "twilio",
    "gitlab",
    "dropbox",
    "linear",
    "typeform",
    "calendly",
    "zoom",
    "intercom",
    "mailgun",
    "twitch",
];

/// Builds the preset named `name` (see [`PRESETS`]; case and surrounding
/// spaces are ignored) with one `secret`. `public_url` is the endpoint's URL
/// as registered with the sender, needed by `square`, `hubspot` and `twilio`
/// (and ignored by the others).
///
/// ```
/// use tower_webhook::scheme::{by_name, SchemeConfigError};
///
/// let scheme = by_name("stripe", "whsec_abc", None)?;
/// assert_eq!(scheme.name(), "stripe");
///
/// let err = by_name("square", "key", None).err().unwrap();
/// assert!(err.to_string().contains("WEBHOOK_PUBLIC_URL"));
///
/// let err = by_name("strpe", "key", None).err().unwrap();
/// assert!(matches!(err, SchemeConfigError::UnknownScheme { .. }));
/// assert!(err.to_string().contains("stripe"));
/// # Ok::<(), SchemeConfigError>(())
/// ```
pub fn by_name(
    name: &str,
    secret: &str,
    public_url: Option<&str>,
) -> Result<Box<dyn Scheme>, SchemeConfigError> {
    let name = name.trim().to_ascii_lowercase();
    let url = |scheme: &'static str| {
        public_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(SchemeConfigError::MissingPublicUrl { scheme })
    };
    Ok(match name.as_str() {
        "standard" => Box::new(StandardWebhooks::new(secret)?),
        "stripe" => Box::new(Stripe::new(secret)?),
        "github" => Box::new(GitHub::new(secret)?),
        "shopify" => Box::new(Shopify::new(secret)?),
        "slack" => Box::new(Slack::new(secret)?),
        "square" => Box::new(Square::new(secret, url("square")?)?),
        "hubspot" => Box::new(HubSpot::new(secret, url("hubspot")?)?),
        "paddle" => Box::new(Paddle::new(secret)?),
        "pagerduty" => Box::new(PagerDuty::new(secret)?),
        "twilio" => Box::new(Twilio::new(secret, url("twilio")?)?),
        "gitlab" => Box::new(Token::gitlab(secret)?),
        "dropbox" => Box::new(Dropbox::new(secret)?),
        "linear" => Box::new(Linear::new(secret)?),
        "typeform" => Box::new(Typeform::new(secret)?),
        "calendly" => Box::new(Calendly::new(secret)?),
        "zoom" => Box::new(Zoom::new(secret)?),
        "intercom" => Box::new(Intercom::new(secret)?),
        "mailgun" => Box::new(Mailgun::new(secret)?),
        "twitch" => Box::new(Twitch::new(secret)?),
        _ => {
            return Err(SchemeConfigError::UnknownScheme {
                name,
                known: PRESETS.join(", "),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_preset_builds_with_its_own_name() {
        for name in PRESETS {
            let scheme = by_name(
                name,
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                Some("https://example.com/hook"),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(scheme.name(), *name);
        }
        assert!(by_name(" Stripe ", "x", None).is_ok());
    }

    #[test]
    fn debug_of_every_preset_hides_the_secret() {
        const S: &str = "whsec_SuperSecretValue1234567890==";
        const U: &str = "https://example.com/hook";
        let outputs = [
            format!("{:?}", Stripe::new(S).unwrap()),
            format!("{:?}", GitHub::new(S).unwrap().allow_sha1()),
            format!("{:?}", super::super::Meta::new(S).unwrap().verify_token(S)),
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
        ];
        for out in outputs {
            assert!(!out.contains("SuperSecret"), "{out}");
        }
    }

    #[test]
    fn errors_name_the_setting() {
        for name in ["square", "hubspot", "twilio"] {
            let e = by_name(name, "k", None).err().unwrap();
            assert_eq!(e, SchemeConfigError::MissingPublicUrl { scheme: name });
            let e = by_name(name, "k", Some("example.com")).err().unwrap();
            assert!(e.to_string().contains("WEBHOOK_PUBLIC_URL"), "{e}");
        }
        let e = by_name("stripe", "", None).err().unwrap();
        assert!(matches!(e, SchemeConfigError::Secret(_)), "{e}");
        let e = by_name("nope", "k", None).err().unwrap().to_string();
        assert!(e.contains("nope") && e.contains("gitlab"), "{e}");
    }
}
