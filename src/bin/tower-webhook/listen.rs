//! `tower-webhook listen`: the demo receiver.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::args::{SchemeArgs, Token};
use crate::error::CliError;
use crate::receiver::{self, Settings};

/// Run a receiver on POST /webhook: one JSON line per handled event on
/// stdout ({"id", "event", "payload"}), logs on stderr.
#[derive(Args)]
pub struct ListenArgs {
    /// The address to listen on (port 0: any free port; the log says which).
    #[arg(long, default_value = "127.0.0.1:3000", env = "WEBHOOK_BIND")]
    pub bind: String,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Accepted timestamp distance, both directions, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub tolerance: u64,
    /// The body limit in bytes.
    #[arg(long, default_value_t = tower_webhook::DEFAULT_MAX_BODY, value_name = "BYTES")]
    pub max_body: usize,
    /// Share dedup between replicas through this Redis (feature `redis`).
    #[arg(long, env = "WEBHOOK_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Dedup in this PostgreSQL database, each event written to the table
    /// `webhook_events` in the transaction that commits it (feature
    /// `postgres`).
    #[arg(long, env = "WEBHOOK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

pub async fn run(args: ListenArgs) -> Result<ExitCode, CliError> {
    receiver::init_logs();
    let failed = |e: Box<dyn std::error::Error>| CliError::Invalid(e.to_string());
    let listener = receiver::bind(&args.bind).await.map_err(failed)?;
    let addr = listener.local_addr().map_err(|source| CliError::Io {
        what: "the listening address".to_owned(),
        source,
    })?;
    // The presets that sign the URL: this receiver's own, unless
    // --public-url gives the one registered with the sender.
    let scheme = args
        .scheme
        .build(Some(&receiver::webhook_url(addr)), Token::Required)?;
    let settings = Settings {
        scheme,
        tolerance: Duration::from_secs(args.tolerance),
        max_body: args.max_body,
        redis_url: args.redis_url.filter(|u| !u.is_empty()),
        database_url: args.database_url.filter(|u| !u.is_empty()),
    };
    receiver::serve(listener, settings).await.map_err(failed)?;
    Ok(ExitCode::SUCCESS)
}
