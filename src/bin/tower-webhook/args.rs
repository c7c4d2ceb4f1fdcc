//! Arguments every subcommand shares: the sender's scheme and its settings,
//! and bodies given inline or as `@file`.

use std::io::Read;

use clap::Args;
use tower_webhook::scheme::{AnyScheme, PresetOptions, SchemeConfigError};

use crate::config;
use crate::error::CliError;

/// Stands in for Meta's verify token where the command never answers a
/// verification request (`sign`, `send`, `verify` of a POST).
const UNUSED_VERIFY_TOKEN: &str = "tower-webhook-cli-unused-verify-token";

/// The sender's scheme and what it needs besides the secret.
#[derive(Args)]
pub struct SchemeArgs {
    /// The sender's preset: standard, stripe, github, shopify, slack, ...
    /// (an unknown name lists them all).
    #[arg(long, env = "WEBHOOK_SCHEME")]
    pub scheme: String,
    /// The signing secret (for standard-ed25519, sendgrid and discord: a
    /// key; for salesforce: the allowed OrganizationIds). Several
    /// standard secrets, separated by commas, are a rotation. Prefer the
    /// environment variable: a command line is visible to other users.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The URL registered with the sender, for the presets that sign it
    /// (square, hubspot, twilio).
    #[arg(long, env = "WEBHOOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The verify token entered in the sender's dashboard (meta's GET
    /// verification request).
    #[arg(long, env = "WEBHOOK_VERIFY_TOKEN", hide_env_values = true)]
    pub verify_token: Option<String>,
}

/// Whether the command answers the sender's verification request, and so
/// needs the real verify token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// `listen`: required for the presets that use one.
    Required,
    /// `sign`, `send`, `verify`: a stand-in when none is given.
    Optional,
}

impl SchemeArgs {
    /// The scheme; `default_url` is the public URL for the presets that
    /// sign one when `--public-url` is absent.
    pub fn build(&self, default_url: Option<&str>, token: Token) -> Result<AnyScheme, CliError> {
        let mut options = PresetOptions::new();
        if let Some(url) = self.public_url.as_deref().or(default_url) {
            options = options.public_url(url);
        }
        match self.verify_token.as_deref() {
            Some(t) => options = options.verify_token(t),
            None if token == Token::Optional => {
                options = options.verify_token(UNUSED_VERIFY_TOKEN);
            }
            None => {}
        }
        config::scheme(&self.scheme, &self.secret, &options).map_err(CliError::scheme)
    }

    /// Whether the preset signs the public URL (it refuses to build
    /// without one).
    pub fn signs_url(&self) -> bool {
        let options = PresetOptions::new().verify_token(UNUSED_VERIFY_TOKEN);
        matches!(
            config::scheme(&self.scheme, &self.secret, &options),
            Err(SchemeConfigError::MissingPublicUrl { .. })
        )
    }
}

/// A body given as text, `@path` (the file's bytes) or `@-` (stdin).
pub fn read_body(arg: &str) -> Result<Vec<u8>, CliError> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|source| CliError::Io {
                    what: "cannot read the body from stdin".to_owned(),
                    source,
                })?;
            Ok(body)
        }
        Some(path) => std::fs::read(path).map_err(|source| CliError::Io {
            what: format!("cannot read the body from {path:?} (@path names a file)"),
            source,
        }),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// The `Content-Type` a body most likely has: XML, a form, or JSON.
pub fn guess_content_type(body: &[u8]) -> &'static str {
    let start = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied()
        .unwrap_or(b'{');
    match start {
        b'<' => "text/xml; charset=utf-8",
        b'{' | b'[' => "application/json",
        _ if body.contains(&b'=') && !body.iter().any(u8::is_ascii_whitespace) => {
            "application/x-www-form-urlencoded"
        }
        _ => "application/json",
    }
}
