//! The `allma-gitops` binary: parse, run, exit 0 / 1 / 2.

use allma_gitops::cli::{self, Cli};
use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    allma_gitops::telemetry::init(cli.global.verbose, cli.global.quiet, cli.global.log_format);
    match cli::run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
