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
//! (and body, if any).

#[path = "common/mod.rs"]
mod common;

use std::error::Error;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
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
    let path = config
        .url
        .parse::<http::Uri>()
        .map_err(|e| format!("WEBHOOK_URL={:?}: {e}", config.url))?;
    let request = signer.request(&config.url, body)?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request.map(Full::new))
        .await
        .map_err(|e| format!("POST {path}: {e}"))?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!("{status}");
    if !body.is_empty() {
        eprintln!("{}", String::from_utf8_lossy(&body).trim_end());
    }
    Ok(())
}
