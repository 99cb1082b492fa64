//! Command line: `Cli` (clap derive), one module per subcommand, and the dispatch that
//! turns a command's result into the exit code (0 in sync, 2 changes present, 1 error).

mod reconcile;
mod schema;
mod serve_local;

use crate::admin::{self, Client, Credentials, Token};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Exit code: in sync, or applied.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error, or a resource that failed.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: changes present (`diff`, `apply --dry-run`).
pub const EXIT_CHANGES: u8 = 2;

/// GitOps for Allma: keep flows and prompt templates in sync with definition files.
#[derive(Debug, Parser)]
#[command(name = "allma-gitops", version, about, max_term_width = 100)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// More logging (-v info and request counts, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub log_format: crate::telemetry::LogFormat,
}

/// Where the Admin API is and who we are to it (`diff`, `apply`).
#[derive(Debug, Args)]
pub struct Remote {
    /// Admin API base URL including the stage, e.g. https://api.example.com/v1.
    /// `local:DIR` uses the embedded Admin API stored in DIR. Default: local:.allma-local
    #[arg(long, env = "ALLMA_API_URL")]
    pub api_url: Option<String>,
    /// File holding the bearer token (a Cognito ID token); re-read for every request.
    /// Otherwise the token comes from ALLMA_TOKEN.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Owner name: resources carry the tag `managed-by:<owner>`; only those are changed
    /// or pruned.
    #[arg(long, default_value = DEFAULT_OWNER)]
    pub owner: String,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// The owner when `--owner` is not given.
pub const DEFAULT_OWNER: &str = "allma-gitops";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check definition files offline (no server).
    Validate(Paths),
    /// Show what `apply` would change; exit 2 when changes are present.
    Diff(reconcile::DiffArgs),
    /// Make Allma match the definitions.
    Apply(reconcile::ApplyArgs),
    /// Serve the embedded Admin API over HTTP.
    ServeLocal(serve_local::ServeLocalArgs),
    /// Print the JSON Schema of the resource format (for yaml-language-server).
    Schema,
    /// Print the CustomResourceDefinitions.
    Crds,
}

/// Definition files or directories.
#[derive(Debug, Args)]
pub struct Paths {
    /// Files or directories (walked recursively; hidden entries skipped).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Runs the command; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Validate(args) => reconcile::validate(&cli.global, &args.paths),
        Command::Diff(args) => reconcile::diff(&cli.global, args).await,
        Command::Apply(args) => reconcile::apply(&cli.global, args).await,
        Command::ServeLocal(args) => serve_local::run(args).await,
        Command::Schema => schema::schema(),
        Command::Crds => schema::crds(),
    }
}

/// Whether stdout is a terminal that wants colours.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The Admin API to talk to; keeps an embedded server alive while in use.
pub struct Target {
    /// The client.
    pub client: Client,
    _local: Option<tokio::task::JoinHandle<()>>,
}

/// Resolves `--api-url`: a URL, `local:DIR`, or the embedded default. Says which on stderr.
pub async fn target(global: &Global, remote: &Remote) -> Result<Target> {
    if remote.api_url.is_none() && std::env::var_os("ALLMA_API_URL").is_some_and(|v| v.is_empty()) {
        bail!(
            "ALLMA_API_URL is set but empty: set it to the Admin API URL, or unset it to use the embedded local Admin API"
        );
    }
    let url = remote.api_url.clone();
    let (base_url, local, credentials) = match url.as_deref().map(|u| u.strip_prefix("local:")) {
        Some(None) => {
            let url = url.unwrap_or_default();
            if !global.quiet {
                eprintln!("Target: Allma Admin API at {url}");
            }
            (url, None, credentials(remote)?)
        }
        local_dir => {
            let dir = PathBuf::from(
                local_dir
                    .flatten()
                    .filter(|d| !d.is_empty())
                    .unwrap_or(".allma-local"),
            );
            let (base, task) = crate::local::start_in_process(&dir)
                .await
                .with_context(|| {
                    format!("cannot open the embedded Admin API in {}", dir.display())
                })?;
            if !global.quiet {
                eprintln!(
                    "Target: embedded local Admin API in {} (set --api-url or ALLMA_API_URL to use a real Allma)",
                    dir.display()
                );
            }
            (base, Some(task), Credentials::None)
        }
    };
    let config = admin::Config {
        base_url,
        credentials,
        concurrency: remote.concurrency,
        attempts: 4,
    };
    let client = Client::new(config).map_err(anyhow::Error::msg)?;
    Ok(Target {
        client,
        _local: local,
    })
}

fn credentials(remote: &Remote) -> Result<Credentials> {
    if let Some(file) = &remote.token_file {
        if !file.is_file() {
            bail!("--token-file {}: no such file", file.display());
        }
        return Ok(Credentials::File(file.clone()));
    }
    match std::env::var("ALLMA_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(Credentials::Static(Token::new(t))),
        _ => bail!(
            "no credentials for {}: set ALLMA_TOKEN or --token-file to an Allma (Cognito) ID token",
            remote.api_url.as_deref().unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
