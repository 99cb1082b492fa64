//! Embedded Allma Admin API: the flow and prompt-template routes of Allma's Admin API with
//! the same envelopes, status codes and version rules, persisted in a local directory.
//! `allma-gitops` targets it when no API URL is set; `serve-local` exposes it over HTTP; the
//! conformance suite (`tests/conformance.rs`) runs the same scenarios against it and against
//! the real Allma handlers.
//!
//! Behaviour follows `allma-admin-api.md` (the real handlers), including its surprises: PUT
//! of a published version is a 500 `Transaction cancelled…`, unpublishing the wrong version
//! is a 500, deleting a missing non-latest version is a 409, `latestVersion` is a counter
//! that deleting the latest number decrements, prompt master GET/PUT are not routed.
//!
//! # Deliberate differences from the real server
//! - **Authentication**: [`Auth`] is open or a fixed list of opaque bearer tokens with
//!   `definitions:*` permissions; there are no JWTs, Cognito groups or roles. A missing or
//!   unknown token gets API Gateway's 401 `{"message":"Unauthorized"}`; a known token lacking
//!   `definitions:read` gets the CRUD handler's read-check 403, lacking the route's
//!   permission the 403 `Forbidden` (same order as the real one).
//! - **`GET /allma/flows/tags` works**. Behind a named stage the real handler never matches
//!   it and answers 404 for "flow `tags`" (§3.1); serving it is harmless and useful locally.
//! - **Versions lists are sorted numerically** (`1, 2, 10`); the real one is ordered by its
//!   text key (`1, 10, 2`). Clients must sort either way.
//! - **Listing has no 1 MB cap** and `searchText` keeps name order (the real scan does not).
//! - **No step definitions, MCP connections or agents**: their routes are not served (API
//!   Gateway 404) and import reports every such item in `errors[]`. Consequently no
//!   hydration happens on read (with no stored step definitions the real one adds nothing
//!   either) and import does not merge payload step definitions under flow steps.
//! - **No side effects**: no schedules or email triggers, so publish never fails with an
//!   email-address conflict; `execute`/`trigger` are not served.
//! - **Import ids must be `[A-Za-z0-9._-]+`** (they name files); others are an `errors[]`
//!   entry. The real server stores any non-empty string.
//! - **Validation** covers what decides acceptance in practice (stepType, moduleIdentifier
//!   rules, required step fields, target steps, JSONPath checks, types of top-level fields),
//!   not every zod refinement; unknown keys inside `defaultStepConfig` and
//!   `onCompletionActions[]` are kept (zod strips them). Validation messages and the
//!   exact `details` text differ; codes and statuses match.
//! - **Atomic writes instead of DynamoDB transactions**: every request runs under one lock, so
//!   concurrent create-version calls cannot both take the same number (the real one can).
//! - **Payload limit**: request bodies over 6 MB (Lambda's limit) get 413 `Request Entity Too
//!   Large`; responses are not limited (the real Lambda fails answers over 6 MB).
//! - **Server-generated ids** come from std's randomly seeded hasher (UUID v4 format), not a
//!   cryptographic generator.
//!
//! # Durability
//! See [`store`](self): one JSON file per record written atomically, an exclusive lock file,
//! and a journal for changes that touch several records (publish touches the master and two
//! versions) that is replayed on the next start, so `kill -9` at any moment leaves a
//! consistent store. File IO happens on the request task while holding the store lock.

mod auth;
mod defaults;
mod http;
mod ids;
mod import;
mod masters;
mod publish;
mod reply;
mod routes;
mod store;
mod validate;
mod versions;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Mutex;

pub use auth::{Auth, Permission};

/// Failures of the embedded Admin API's setup and storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds the lock of this state directory.
    #[error("state directory {dir} is already in use by another process (lock file {dir}/lock)")]
    Locked {
        /// The state directory.
        dir: PathBuf,
    },
    /// Reading or writing a file of the store failed.
    #[error("cannot access {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A record file does not hold valid JSON (never written by this store).
    #[error("corrupt record {path}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An earlier write failed part-way, so memory may be behind the disk; writes are refused
    /// until the store is reopened, which finishes or reloads that change.
    #[error("store {dir} has an unfinished change; restart to repair it")]
    Poisoned {
        /// The state directory.
        dir: PathBuf,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A bound, not yet running embedded Admin API server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<routes::Shared>,
}

impl Server {
    /// Opens (and locks) the store in `state_dir` and binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, state_dir: &Path, auth: Auth) -> Result<Server, Error> {
        let store = store::Store::open(state_dir)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let shared = Arc::new(routes::Shared {
            store: Mutex::new(store),
            auth,
        });
        Ok(Server {
            listener,
            addr,
            shared,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL including the stage, e.g. `http://127.0.0.1:8787/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Serves requests until `shutdown` completes; the store lock is released afterwards.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        http::serve(self.listener, self.shared, shutdown).await;
    }
}

/// Starts an open (no token) embedded Admin API on `127.0.0.1` with a free port, storing in
/// `state_dir`, as a task of the current runtime. Returns the base URL and the task.
pub async fn start_in_process(
    state_dir: &Path,
) -> Result<(String, tokio::task::JoinHandle<()>), Error> {
    let server = Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        state_dir,
        Auth::open(),
    )
    .await?;
    let base_url = server.base_url();
    let task = tokio::spawn(server.run(std::future::pending()));
    Ok((base_url, task))
}
