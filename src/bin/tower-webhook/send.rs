//! `tower-webhook send`: post signed deliveries and print each answer.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::deliver::Client;
use crate::error::CliError;
use crate::sign::DeliveryArgs;

/// Sign BODY as the sender would and POST it to URL; print each answer.
/// Repeats send the very same delivery: the receiver's dedup at work.
#[derive(Args)]
pub struct SendArgs {
    /// Where to post (http:// only).
    pub url: String,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// How many times to post the same signed delivery.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// How many copies may be in flight at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
}

pub async fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let uri: http::Uri = args
        .url
        .parse()
        .map_err(|e| CliError::Invalid(format!("URL {:?}: {e}", args.url)))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(CliError::Invalid(format!(
            "URL {:?}: `send` posts to http://host:port/path URLs only (for https://, print \
             the signed request with `tower-webhook sign --http` and send it with curl)",
            args.url
        )));
    }
    let (_, _, request) = args.delivery.sign(&args.url)?;
    let client = Client::new();
    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    for n in 1..=args.repeat {
        // Taken here, in order: with --concurrency 1 the copies go one
        // after the other, #1 first.
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| CliError::Invalid(format!("the in-flight limit: {e}")))?;
        let (client, request) = (client.clone(), request.clone());
        tasks.spawn(async move {
            let answer = client.post(request).await;
            drop(permit);
            (n, answer)
        });
    }
    let numbered = args.repeat > 1;
    let mut tally: BTreeMap<String, u32> = BTreeMap::new();
    let mut failed = 0;
    let mut answers = Vec::with_capacity(args.repeat as usize);
    while let Some(joined) = tasks.join_next().await {
        answers
            .push(joined.map_err(|e| CliError::Invalid(format!("a delivery's task failed: {e}")))?);
    }
    // In the order they were sent (#1 first), whatever order they ended in.
    answers.sort_by_key(|(n, _)| *n);
    for (n, answer) in answers {
        let prefix = if numbered {
            format!("#{n} ")
        } else {
            String::new()
        };
        match answer {
            Ok(answer) => {
                println!("{prefix}{}", answer.status);
                let text = String::from_utf8_lossy(&answer.body);
                for line in text.trim_end().lines() {
                    println!("    {line}");
                }
                *tally.entry(answer.status.to_string()).or_default() += 1;
            }
            Err(e) => {
                println!("{prefix}no answer: {e}");
                failed += 1;
            }
        }
    }
    if numbered {
        let mut summary: Vec<String> = tally.iter().map(|(s, n)| format!("{n} x {s}")).collect();
        if failed > 0 {
            summary.push(format!("{failed} without an answer"));
        }
        eprintln!(
            "{} deliveries of one event: {}",
            args.repeat,
            summary.join(", ")
        );
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
