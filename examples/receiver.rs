//! The demo receiver: `POST /webhook` behind the verifying layer.
//!
//! ```text
//! cargo run --example receiver
//! ```
//!
//! Environment: `WEBHOOK_BIND` (default `127.0.0.1:3000`), `WEBHOOK_SCHEME`
//! (default `standard`), `WEBHOOK_SECRET` (default: the published development
//! secret, with a warning), `WEBHOOK_TOLERANCE_SECS` (300), `WEBHOOK_MAX_BODY`
//! (1048576), `WEBHOOK_PUBLIC_URL` (for schemes that sign the URL),
//! `WEBHOOK_VERIFY_TOKEN` (for `meta`'s verification request),
//! `WEBHOOK_REDIS_URL` (share dedup between replicas; build with `--features redis`),
//! `WEBHOOK_DATABASE_URL` (dedup in PostgreSQL, and each event written to the
//! table `webhook_events` in the same transaction as its dedup record: exactly
//! once, see it with `psql -c 'SELECT * FROM webhook_events'`; build with
//! `--features postgres`; it takes the place of `WEBHOOK_REDIS_URL`).
//!
//! `WEBHOOK_SCHEME=discord` (build with `--features discord`) takes the
//! application's hex public key as `WEBHOOK_SECRET` and answers Discord's
//! `PING`s itself, once their signature verified.
//!
//! `WEBHOOK_SCHEME=salesforce` (build with `--features salesforce`) takes
//! the allowed `OrganizationId`s, comma-separated, as `WEBHOOK_SECRET`
//! (Salesforce signs nothing: put the receiver behind TLS that requires
//! Salesforce's client certificate), hands the handler the typed
//! `OutboundMessage`, and answers Salesforce's SOAP acknowledgement. Its
//! line on stdout is `{"id": [<notification ids>], "payload": <the message>}`.
//!
//! For each event the handler receives it prints exactly one line of JSON to
//! stdout, `{"id": "<event id>", "event": "<event type>", "payload": <the
//! payload>}`; logs go to stderr (plain text when stderr is not a terminal).
//!
//! The receiver itself is `tower-webhook listen`'s
//! (`src/bin/tower-webhook/receiver.rs`); this example reads its settings
//! from the environment.

#[path = "common/mod.rs"]
mod common;
// `webhook_url` is for the command, which may bind port 0.
#[allow(dead_code)]
#[path = "../src/bin/tower-webhook/receiver.rs"]
mod receiver;

use std::error::Error;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    receiver::init_logs();
    let config = common::Config::from_env()?;
    let listener = receiver::bind(&config.bind)
        .await
        .map_err(|e| format!("WEBHOOK_BIND: {e}"))?;
    let settings = receiver::Settings {
        scheme: config.scheme()?,
        tolerance: config.tolerance,
        max_body: config.max_body,
        redis_url: config.redis_url.clone(),
        database_url: std::env::var("WEBHOOK_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty()),
    };
    receiver::serve(listener, settings).await
}
