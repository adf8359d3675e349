//! The `causeway` binary.

mod cli;
mod client;
mod config;
mod functions;
mod handover;
mod metrics;
mod node;
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
    /// List resources of a kind, or show one (by name or id).
    Get(Box<cli::GetArgs>),
    /// Show a resource's whole definition (YAML by default).
    Describe(Box<cli::DescribeArgs>),
    /// Create a resource from a file or from --set FIELD=VALUE.
    Create(Box<cli::CreateArgs>),
    /// Change a resource: from a file, --set FIELD=VALUE, or in $EDITOR.
    Edit(Box<cli::EditArgs>),
    /// Delete a resource.
    Delete(Box<cli::DeleteArgs>),
    /// Publish an API's current definition in an environment.
    Publish(Box<cli::PublishArgs>),
    /// Take an API offline in an environment.
    Offline(Box<cli::OfflineArgs>),
    /// An API's published versions.
    Versions(Box<cli::VersionsArgs>),
    /// Make an earlier version of an API effective again.
    SwitchVersion(Box<cli::SwitchArgs>),
    /// Let an app call APIs in an environment.
    Authorize(Box<cli::AuthorizeArgs>),
    /// Write the whole configuration as YAML (names for references, secrets left out).
    Dump(Box<cli::plan::DumpArgs>),
    /// Say what applying the files would change.
    Diff(Box<cli::plan::PlanArgs>),
    /// Make the installation as the files say (idempotent; --prune deletes what they do not mention).
    Apply(Box<cli::plan::PlanArgs>),
    /// Print a shell completion script: `causeway completions bash > /etc/bash_completion.d/causeway`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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

    // A server's failure goes to its log too; a command's is said once, on stderr.
    let serving = matches!(cli.command, Command::Serve(_) | Command::RotateSecretKey(_));
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
        Command::Get(args) => cli::get(*args),
        Command::Describe(args) => cli::describe(*args),
        Command::Create(args) => cli::create(*args),
        Command::Edit(args) => cli::edit(*args),
        Command::Delete(args) => cli::delete(*args),
        Command::Publish(args) => cli::publish(*args),
        Command::Offline(args) => cli::offline(*args),
        Command::Versions(args) => cli::versions(*args),
        Command::SwitchVersion(args) => cli::switch_version(*args),
        Command::Authorize(args) => cli::authorize(*args),
        Command::Dump(args) => cli::plan::dump(*args),
        Command::Diff(args) => cli::plan::diff(*args),
        Command::Apply(args) => cli::plan::apply(*args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "causeway", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if serving {
                tracing::error!("{e}");
            }
            eprintln!("causeway: {e}");
            ExitCode::FAILURE
        }
    }
}
