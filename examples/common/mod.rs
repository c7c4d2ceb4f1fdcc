//! Configuration shared by the examples, read from the environment.
#![allow(dead_code)]

use std::env;
use std::error::Error;
use std::time::Duration;

use tower_webhook::scheme::{AnyScheme, PresetOptions};

/// The scheme from its name and secret, as `tower-webhook` builds it.
#[path = "../../src/bin/tower-webhook/config.rs"]
mod config;

/// The development secret used when `WEBHOOK_SECRET` is unset. Never use it
/// in production: it is published in this repository.
pub const DEV_SECRET: &str = "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=";

/// Settings from `WEBHOOK_*` environment variables.
pub struct Config {
    pub scheme_name: String,
    pub secret: String,
    /// `WEBHOOK_PUBLIC_URL` and `WEBHOOK_VERIFY_TOKEN`, for the presets that
    /// need them.
    pub preset: PresetOptions,
    pub tolerance: Duration,
    pub max_body: usize,
    pub bind: String,
    pub url: String,
    pub redis_url: Option<String>,
}

fn parse_env<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Box<dyn Error>>
where
    T::Err: std::fmt::Display,
{
    match env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|e| format!("{name}={v:?} is not valid: {e}").into()),
        Err(_) => Ok(default),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, Box<dyn Error>> {
        let secret = match env::var("WEBHOOK_SECRET") {
            Ok(s) if !s.trim().is_empty() => s,
            _ => {
                eprintln!(
                    "warning: WEBHOOK_SECRET is not set; using the published development secret {DEV_SECRET} (never do this in production)"
                );
                DEV_SECRET.to_owned()
            }
        };
        let mut preset = PresetOptions::new();
        if let Ok(url) = env::var("WEBHOOK_PUBLIC_URL") {
            preset = preset.public_url(url);
        }
        if let Ok(token) = env::var("WEBHOOK_VERIFY_TOKEN") {
            preset = preset.verify_token(token);
        }
        Ok(Self {
            scheme_name: env::var("WEBHOOK_SCHEME").unwrap_or_else(|_| "standard".to_owned()),
            secret,
            preset,
            tolerance: Duration::from_secs(parse_env("WEBHOOK_TOLERANCE_SECS", 300u64)?),
            max_body: parse_env("WEBHOOK_MAX_BODY", tower_webhook::DEFAULT_MAX_BODY)?,
            bind: env::var("WEBHOOK_BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned()),
            url: env::var("WEBHOOK_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:3000/webhook".to_owned()),
            redis_url: env::var("WEBHOOK_REDIS_URL").ok().filter(|s| !s.is_empty()),
        })
    }

    /// The scheme named by `WEBHOOK_SCHEME`. Several secrets (rotation) may be
    /// given in `WEBHOOK_SECRET`, separated by spaces or commas.
    pub fn scheme(&self) -> Result<AnyScheme, Box<dyn Error>> {
        let name = self.scheme_name.trim();
        config::scheme(name, &self.secret, &self.preset)
            .map_err(|e| format!("WEBHOOK_SCHEME={name:?}: {e}").into())
    }
}
