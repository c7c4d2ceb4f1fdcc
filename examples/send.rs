//! Signs a body as the configured sender would and POSTs it.
//!
//! ```text
//! cargo run --example send -- '{"type":"invoice.paid"}'
//! cargo run --example send -- --id msg_42 --timestamp 1700000000 '{"type":"x"}'
//! ```
//!
//! Environment: `WEBHOOK_URL` (default `http://127.0.0.1:3000/webhook`),
//! `WEBHOOK_SCHEME`, `WEBHOOK_SECRET`, `WEBHOOK_PUBLIC_URL`,
//! `WEBHOOK_VERIFY_TOKEN` as for the receiver. Prints the response status
//! (and body, if any, on stderr).
//!
//! `tower-webhook send` does the same with flags, repeats and concurrency;
//! both post through `src/bin/tower-webhook/deliver.rs`.

#[path = "common/mod.rs"]
mod common;
#[path = "../src/bin/tower-webhook/deliver.rs"]
mod deliver;

use std::error::Error;
use std::time::{Duration, UNIX_EPOCH};

use tower_webhook::sign::Signer;

const USAGE: &str = "usage: send [--id EVENT_ID] [--timestamp UNIX_SECONDS] '<json body>'";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = common::Config::from_env()?;
    let scheme = config.scheme()?;
    let mut signer = Signer::new(&scheme);
    let mut body = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--id" => signer = signer.id(args.next().ok_or(USAGE)?),
            "--timestamp" => {
                let secs: u64 = args
                    .next()
                    .ok_or(USAGE)?
                    .parse()
                    .map_err(|e| format!("--timestamp: {e}\n{USAGE}"))?;
                signer = signer.timestamp(UNIX_EPOCH + Duration::from_secs(secs));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if body.is_none() => body = Some(arg),
            _ => return Err(USAGE.into()),
        }
    }
    let body = body.ok_or(USAGE)?;
    config
        .url
        .parse::<http::Uri>()
        .map_err(|e| format!("WEBHOOK_URL={:?}: {e}", config.url))?;
    let request = signer.request(&config.url, body)?;
    let answer = deliver::Client::new().post(request).await?;
    println!("{}", answer.status);
    if !answer.body.is_empty() {
        eprintln!("{}", String::from_utf8_lossy(&answer.body).trim_end());
    }
    Ok(())
}
