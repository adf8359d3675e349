//! The `causeway` binary.

mod client;
mod config;
mod functions;
mod metrics;
mod rekey;
mod serve;
mod token;
mod transfer;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "causeway", version, about = "Causeway: a self-hosted API gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Causeway (admin API now; gateway listeners by role).
    Serve(Box<config::ServeArgs>),
    /// Seal every secret in the store again with a new installation secret key
    /// (every node stopped; the same flags as `serve` find the data directory and store).
    RotateSecretKey(Box<config::ServeArgs>),
    /// Print the headers that sign a request with an app's key pair (SDK-HMAC-SHA256).
    Sign(client::RequestArgs),
    /// Send a request signed with an app's key pair and print the answer.
    Call(client::RequestArgs),
    /// Import a Swagger 2.0 / OpenAPI 3.0 file (JSON or YAML) as APIs of a group.
    Import(Box<transfer::ImportArgs>),
    /// Export a group's APIs as a Swagger 2.0 / OpenAPI 3.0 file.
    Export(Box<transfer::ExportArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Log filter from CAUSEWAY_LOG (e.g. "info", "causeway_admin=debug"); logs go to stderr.
    let filter = EnvFilter::try_from_env("CAUSEWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let result = match cli.command {
        Command::Serve(args) => config::Settings::resolve(*args).and_then(|settings| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(serve::run(settings))
        }),
        Command::RotateSecretKey(args) => config::Settings::resolve(*args).and_then(|settings| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(rekey::run(settings))
        }),
        Command::Sign(args) => client::sign(args),
        Command::Call(args) => client::call(args),
        Command::Import(args) => transfer::import(*args),
        Command::Export(args) => transfer::export(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("causeway: {e}");
            ExitCode::FAILURE
        }
    }
}
