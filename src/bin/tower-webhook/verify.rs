//! `tower-webhook verify`: whether a captured request verifies, and if not
//! exactly why.

use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use tower_webhook::scheme::{Context, Scheme, Tolerance, Verdict, VerifyError};

use crate::args::{SchemeArgs, Token};
use crate::error::CliError;
use crate::raw;

/// Check a raw HTTP/1.1 request (from FILE, or stdin) as the layer would:
/// exit 0 when it verifies, 1 with the reason when it does not.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// The captured request (default: stdin), as sent: request line,
    /// headers, an empty line, the body.
    pub file: Option<String>,
    /// Check the timestamp as if now were this time, in Unix seconds (a
    /// request captured earlier).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
    /// Accepted timestamp distance, both directions, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub tolerance: u64,
}

pub fn run(args: VerifyArgs) -> Result<ExitCode, CliError> {
    let input = read_input(args.file.as_deref())?;
    let parsed = raw::parse(&input)?;
    if let Some(note) = &parsed.note {
        eprintln!("note: {note}");
    }
    let (head, body) = parsed.request.into_parts();
    // The presets that sign the URL: the one the request names, unless
    // --public-url says otherwise (behind a proxy, or TLS, it differs).
    let derived = match (
        head.headers.get(http::header::HOST),
        args.scheme.public_url.as_deref(),
    ) {
        (Some(host), None) if args.scheme.signs_url() => host
            .to_str()
            .ok()
            .map(|host| format!("http://{host}{}", head.uri.path())),
        _ => None,
    };
    if let Some(url) = &derived {
        eprintln!(
            "note: `{}` signs the URL; checking against {url} (from the request's Host); \
             pass --public-url with the URL registered with the sender if it differs",
            args.scheme.scheme.trim()
        );
    }
    let scheme = args.scheme.build(derived.as_deref(), Token::Optional)?;
    let now = match args.at {
        Some(secs) => UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| CliError::Invalid(format!("--at {secs} is too far away")))?,
        None => SystemTime::now(),
    };
    let ctx = Context::new(
        now,
        Tolerance::symmetric(Duration::from_secs(args.tolerance)),
    );
    let name = scheme.name();
    if let Some(answer) = scheme.challenge(&head) {
        println!(
            "a `{name}` endpoint verification request: the layer answers it itself with {} {}",
            answer.status(),
            printable(answer.body())
        );
        return Ok(ExitCode::SUCCESS);
    }
    if head.method != http::Method::POST {
        println!(
            "not verified: the method is {}, and it is no `{name}` verification request the \
             layer answers: it answers 405 (deliveries are POSTs{})",
            head.method,
            if name == "meta" && args.scheme.verify_token.is_none() {
                "; for meta's GET verification request pass --verify-token"
            } else {
                ""
            }
        );
        return Ok(ExitCode::from(1));
    }
    match scheme.check(&head, &body, &ctx) {
        Ok(Verdict::Deliver(envelope)) => {
            let mut facts = Vec::new();
            match &envelope.id {
                Some(id) if envelope.id_signed => facts.push(format!("event id {id:?} (signed)")),
                Some(id) => facts.push(format!("event id {id:?} (not signed)")),
                None => facts.push("no event id (deduplicated on the body's hash)".to_owned()),
            }
            if let Some(t) = envelope.timestamp {
                facts.push(describe_time(t, now));
            }
            println!("verified: a `{name}` delivery, {}", facts.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Ok(Verdict::Answer(answer)) => {
            println!(
                "verified: a signed `{name}` handshake; the layer answers it itself with {} {}",
                answer.status(),
                printable(answer.body())
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => {
            println!("verified: a `{name}` request of a kind this command does not describe");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("not verified: {e}{}", hint(&e, args.at.is_some()));
            Ok(ExitCode::from(1))
        }
    }
}

fn read_input(file: Option<&str>) -> Result<Vec<u8>, CliError> {
    let mut input = Vec::new();
    match file {
        None | Some("-") => {
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|source| CliError::Io {
                    what: "cannot read the request from stdin".to_owned(),
                    source,
                })?
        }
        Some(path) => {
            input = std::fs::read(path).map_err(|source| CliError::Io {
                what: format!("cannot read the request from {path:?}"),
                source,
            })?;
            input.len()
        }
    };
    Ok(input)
}

/// What to do about a refusal, where the command can say.
fn hint(e: &VerifyError, at_given: bool) -> &'static str {
    match e {
        VerifyError::TooOld { .. } | VerifyError::TooNew { .. } if !at_given => {
            " (a request captured earlier: pass --at with the Unix time it was sent)"
        }
        VerifyError::NoMatch { .. } => {
            " (or the body, the URL or a signed header changed on the way: verify the bytes as sent)"
        }
        _ => "",
    }
}

fn describe_time(t: SystemTime, now: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match now.duration_since(t) {
        Ok(age) => format!("signed at {secs} ({} s before now)", age.as_secs()),
        Err(e) => format!("signed at {secs} ({} s after now)", e.duration().as_secs()),
    }
}

/// A handshake's answer body, on one line.
fn printable(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
