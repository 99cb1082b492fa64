//! `serve-local`: the embedded Admin API over HTTP.

use crate::admin::Token;
use crate::local::{Auth, Permission, Server};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `serve-local`.
#[derive(Debug, Args)]
pub struct ServeLocalArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Directory holding the store.
    #[arg(long, default_value = ".allma-local")]
    pub state: PathBuf,
    /// Require this bearer token (prefer the env ALLMA_LOCAL_TOKEN: arguments are visible
    /// to other users). Required off loopback.
    #[arg(long, env = "ALLMA_LOCAL_TOKEN", hide_env_values = true)]
    pub token: Option<Token>,
}

/// Serves until SIGINT/SIGTERM.
pub async fn run(args: ServeLocalArgs) -> Result<u8> {
    let auth = match &args.token {
        Some(t) => Auth::tokens([(t.expose().to_string(), Permission::ALL.to_vec())]),
        None if args.addr.ip().is_loopback() => Auth::open(),
        None => bail!(
            "refusing to serve on {} without --token: anyone on the network could change definitions",
            args.addr
        ),
    };
    let server = Server::bind(args.addr, &args.state, auth)
        .await
        .with_context(|| {
            format!(
                "cannot serve the store {} on {}",
                args.state.display(),
                args.addr
            )
        })?;
    eprintln!(
        "Serving the embedded Admin API at {} (store {})",
        server.base_url(),
        args.state.display()
    );
    server.run(crate::telemetry::shutdown_signal()).await;
    Ok(super::EXIT_OK)
}
