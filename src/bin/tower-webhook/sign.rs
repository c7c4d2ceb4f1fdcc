//! `tower-webhook sign`: the headers a sender would send with a body.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use http::{HeaderValue, Request};
use tower_webhook::scheme::{AnyScheme, Scheme};
use tower_webhook::sign::Signer;

use crate::args::{self, SchemeArgs, Token};
use crate::error::CliError;
use crate::raw;

/// Print the headers a sender would send with BODY (`@file` reads a file,
/// `@-` stdin).
#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// The URL the delivery is posted to (the presets that sign a URL sign
    /// this one unless --public-url is given).
    #[arg(long, default_value = "http://127.0.0.1:3000/webhook")]
    pub url: String,
    /// Print the whole HTTP/1.1 request (request line, headers, body), as
    /// `tower-webhook verify` reads it, instead of the headers alone.
    #[arg(long)]
    pub http: bool,
}

/// What `sign` and `send` sign: the sender, the body and what the sender
/// adds to it.
#[derive(Args)]
pub struct DeliveryArgs {
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// The body: text, @file, or @- for stdin.
    pub body: String,
    /// The event id, for senders that carry it in a header (for the others,
    /// write it into the body). Default: a fresh msg_... id.
    #[arg(long)]
    pub id: Option<String>,
    /// The signing time, in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub timestamp: Option<u64>,
    /// The body's Content-Type (default: guessed from the body: JSON, XML
    /// or a form).
    #[arg(long)]
    pub content_type: Option<String>,
}

impl DeliveryArgs {
    /// The sender, the body as read, and the request it signs to `url`.
    pub fn sign(self, url: &str) -> Result<(AnyScheme, Bytes, Request<Bytes>), CliError> {
        let scheme = self.scheme.build(Some(url), Token::Optional)?;
        let body = Bytes::from(args::read_body(&self.body)?);
        let request = signed(
            &scheme,
            url,
            body.clone(),
            self.id,
            self.timestamp,
            self.content_type.as_deref(),
        )?;
        Ok((scheme, body, request))
    }
}

pub fn run(args: SignArgs) -> Result<ExitCode, CliError> {
    let (scheme, body, request) = args.delivery.sign(&args.url)?;
    let mut out = std::io::stdout().lock();
    let written = if args.http {
        out.write_all(&raw::write(&request))
    } else {
        let mut text = String::new();
        for (name, value) in request.headers() {
            text.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        if request.uri() != args.url.as_str() {
            eprintln!(
                "note: the `{}` sender posts to {} (the URL is part of what it signs)",
                scheme.name(),
                request.uri()
            );
        }
        if request.body() != &body {
            eprintln!(
                "note: the `{}` sender changes the body it signs (the signature may be in it): \
                 --http prints the whole request",
                scheme.name()
            );
        }
        out.write_all(text.as_bytes())
    };
    written
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            what: "cannot write to stdout".to_owned(),
            source,
        })?;
    Ok(ExitCode::SUCCESS)
}

/// `body` signed by `scheme` as a POST to `url`.
fn signed(
    scheme: &AnyScheme,
    url: &str,
    body: Bytes,
    id: Option<String>,
    timestamp: Option<u64>,
    content_type: Option<&str>,
) -> Result<Request<Bytes>, CliError> {
    let mut signer = Signer::new(scheme).content_type(args::guess_content_type(&body));
    if let Some(id) = id {
        signer = signer.id(id);
    }
    if let Some(secs) = timestamp {
        let at = UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| CliError::Invalid(format!("--timestamp {secs} is too far away")))?;
        signer = signer.timestamp(at);
    }
    let mut request = signer
        .request(url, body)
        .map_err(|e| CliError::sign(e, scheme.name()))?;
    if let Some(ct) = content_type {
        let value = HeaderValue::from_str(ct)
            .map_err(|e| CliError::Invalid(format!("--content-type {ct:?}: {e}")))?;
        request
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    Ok(request)
}
