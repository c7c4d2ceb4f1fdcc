//! `tower-webhook`: sign, send and verify webhook deliveries as each
//! sender does, and run a receiver, from the command line.
//!
//! ```text
//! cargo install tower-webhook --features cli
//! tower-webhook sign   --scheme stripe --secret whsec_... '{"id":"evt_1","type":"x"}'
//! tower-webhook send   http://127.0.0.1:3000/webhook --scheme stripe --secret whsec_... @event.json --repeat 2
//! tower-webhook verify --scheme stripe --secret whsec_... < request.http
//! tower-webhook listen --bind 127.0.0.1:3000 --scheme stripe --secret whsec_...
//! ```
//!
//! Exit codes: 0 done (`verify`: the request verifies), 1 `verify`: it does
//! not (the reason is printed) or `send`: a delivery got no answer, 2 the
//! command could not run (its arguments, a file, the scheme's settings: the
//! message says what to fix).

#![forbid(unsafe_code)]

mod args;
mod config;
mod deliver;
mod error;
mod listen;
mod raw;
mod receiver;
mod send;
mod sign;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Sign, send and verify webhook deliveries as each sender does, and run a
/// receiver: the tower-webhook crate's presets from the command line.
#[derive(Parser)]
#[command(name = "tower-webhook", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Sign(sign::SignArgs),
    Send(send::SendArgs),
    Verify(verify::VerifyArgs),
    Listen(listen::ListenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Sign(a) => sign::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Send(a) => runtime().and_then(|rt| rt.block_on(send::run(a))),
        Command::Listen(a) => runtime().and_then(|rt| rt.block_on(listen::run(a))),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Io {
            what: "cannot start the async runtime".to_owned(),
            source: e,
        })
}
