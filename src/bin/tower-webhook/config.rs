//! The sender's scheme from its preset name and secret. Shared by the
//! `tower-webhook` command and the examples.

use tower_webhook::scheme::{self, AnyScheme, PresetOptions, SchemeConfigError, StandardWebhooks};

/// The preset `name` (see `scheme::PRESETS`) with `secret`. For `standard`
/// (and its alias `svix`), several secrets separated by spaces or commas
/// are a rotation: all verify, and a signer signs with each (one `v1`
/// entry per secret).
pub fn scheme(
    name: &str,
    secret: &str,
    options: &PresetOptions,
) -> Result<AnyScheme, SchemeConfigError> {
    let secrets: Vec<&str> = secret.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    match name.trim().to_ascii_lowercase().as_str() {
        "standard" | "svix" if secrets.len() > 1 => {
            Ok(AnyScheme::signing(StandardWebhooks::with_secrets(secrets)?))
        }
        // `by_name` gives an `AnyScheme` that signs as well.
        _ => scheme::by_name(name, secret.trim(), options),
    }
}
