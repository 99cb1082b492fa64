//! Admin API client: typed requests over reqwest, the envelope and status mapping of
//! allma-admin-api.md §2, retries with backoff and jitter, bounded concurrency, and a
//! count of the requests made.

mod error;
pub mod snapshot;
mod token;

pub use error::Error;
pub use snapshot::{Live, LiveResource, VersionSummary};
pub use token::{Credentials, Token};

use crate::model::Kind;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// One master from a list call (allma-admin-api.md §4.9).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MasterSummary {
    /// Allma id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Master tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Highest version number.
    #[serde(default)]
    pub latest_version: Option<u32>,
    /// The live version, if any.
    #[serde(default)]
    pub published_version: Option<u32>,
}

/// The answer of `POST /allma/import` (allma-admin-api.md §5.10).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImportSummary {
    /// Items that already existed and were left alone (`overwrite: false`).
    #[serde(default)]
    pub skipped: ImportCounts,
    /// Per-item failures.
    #[serde(default)]
    pub errors: Vec<ImportError>,
}

/// Counts per kind in an import answer.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ImportCounts {
    /// Flows.
    #[serde(default)]
    pub flows: usize,
    /// Prompt templates.
    #[serde(default)]
    pub prompts: usize,
}

/// One failed import item.
#[derive(Debug, Clone, Deserialize)]
pub struct ImportError {
    /// The item's id.
    #[serde(default)]
    pub id: String,
    /// `flow` or `prompt`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}

/// Counters of what a client sent.
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicUsize,
    writes: AtomicUsize,
}

impl Counters {
    /// Requests sent (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
    /// Requests with a method other than GET.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }
}

/// Settings of a client.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL including the stage, e.g. `https://api.example.com/v1`.
    pub base_url: String,
    /// Where the bearer token comes from.
    pub credentials: Credentials,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Attempts per request for retryable failures.
    pub attempts: u32,
}

/// An Admin API client; cheap to clone. `Debug` shows the URL, never the token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    permits: Arc<Semaphore>,
    attempts: u32,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; refuses plain `http://` to a host that is not loopback.
    pub fn new(config: Config) -> Result<Self, String> {
        let base = config.base_url.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| format!("invalid API URL: {e}"))?;
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            // Not echoed: it may hold a secret.
            return Err("the API URL must not carry credentials, a query or a fragment: give the token through ALLMA_TOKEN or --token-file".into());
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "refusing plain http:// to `{}`: the token would travel unencrypted; use https://",
                    url.host_str().unwrap_or_default()
                ));
            }
            other => {
                return Err(format!("invalid API URL: scheme `{other}` (use https://)"));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(35))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("allma-gitops/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base,
            credentials: config.credentials,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            attempts: config.attempts.max(1),
            counters: Arc::new(Counters::default()),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// What this client has sent so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Lists the masters of a kind.
    pub async fn list(&self, kind: Kind) -> Result<Vec<MasterSummary>, Error> {
        let path = format!("/allma/{}", kind.collection());
        let value = self.send(Method::GET, &path, None).await?;
        decode(&Method::GET, &path, value)
    }

    /// Reads a flow master (404 → `None`).
    pub async fn flow_master(&self, id: &str) -> Result<Option<MasterSummary>, Error> {
        let path = format!("/allma/flows/{id}");
        match self.send(Method::GET, &path, None).await {
            Ok(v) => Ok(Some(decode(&Method::GET, &path, v)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads one version.
    pub async fn version(&self, kind: Kind, id: &str, n: u32) -> Result<Value, Error> {
        let path = format!("/allma/{}/{id}/versions/{n}", kind.collection());
        self.send(Method::GET, &path, None).await
    }

    /// Lists the versions of one resource, sorted by number.
    pub async fn versions(&self, kind: Kind, id: &str) -> Result<Vec<VersionSummary>, Error> {
        let path = format!("/allma/{}/{id}/versions", kind.collection());
        let value = self.send(Method::GET, &path, None).await?;
        let mut list: Vec<VersionSummary> = decode(&Method::GET, &path, value)?;
        list.sort_by_key(|v| v.version);
        Ok(list)
    }

    /// Creates a new version copying `source` (`None`: the latest); returns its number.
    pub async fn create_version(
        &self,
        kind: Kind,
        id: &str,
        source: Option<u32>,
    ) -> Result<u32, Error> {
        let path = format!("/allma/{}/{id}/versions", kind.collection());
        let body = json!({"sourceVersion": source.map_or(json!("latest"), |n| json!(n))});
        let value = self.send(Method::POST, &path, Some(&body)).await?;
        crate::model::version_number(&value).ok_or_else(|| Error::Decode {
            method: Method::POST,
            path,
            message: "no version number in the answer".into(),
        })
    }

    /// Writes a draft version (the body must be complete: `steps` replace the stored map).
    pub async fn put_version(
        &self,
        kind: Kind,
        id: &str,
        n: u32,
        body: &Value,
    ) -> Result<Value, Error> {
        let path = format!("/allma/{}/{id}/versions/{n}", kind.collection());
        self.send(Method::PUT, &path, Some(body)).await
    }

    /// Publishes a version (the previously published one is unpublished by the server).
    pub async fn publish(&self, kind: Kind, id: &str, n: u32) -> Result<(), Error> {
        let path = format!("/allma/{}/{id}/versions/{n}/publish", kind.collection());
        self.send(Method::POST, &path, None).await.map(drop)
    }

    /// Unpublishes the published version.
    pub async fn unpublish(&self, kind: Kind, id: &str, n: u32) -> Result<(), Error> {
        let path = format!("/allma/{}/{id}/versions/{n}/unpublish", kind.collection());
        self.send(Method::POST, &path, None).await.map(drop)
    }

    /// Deletes a draft version.
    pub async fn delete_version(&self, kind: Kind, id: &str, n: u32) -> Result<(), Error> {
        let path = format!("/allma/{}/{id}/versions/{n}", kind.collection());
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// Replaces a flow master's name, description, tags and variables.
    pub async fn put_flow_master(&self, id: &str, body: &Value) -> Result<(), Error> {
        let path = format!("/allma/flows/{id}");
        self.send(Method::PUT, &path, Some(body)).await.map(drop)
    }

    /// Imports flows and prompts with their own ids (`overwrite: false`).
    pub async fn import(
        &self,
        flows: Vec<Value>,
        prompts: Vec<Value>,
    ) -> Result<ImportSummary, Error> {
        let body = json!({
            "formatVersion": "1.0",
            "exportedAt": crate::now(),
            "flows": flows,
            "promptTemplates": prompts,
            "options": {"overwrite": false},
        });
        let value = self
            .send(Method::POST, "/allma/import", Some(&body))
            .await?;
        decode(&Method::POST, "/allma/import", value)
    }

    /// Sends one request with retries; returns the envelope's `data`.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        // The semaphore is never closed; were it, requests would just not be limited.
        let _permit = self.permits.acquire().await.ok();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(&method, path, body).await {
                Err(e) if attempt < self.attempts && retryable(&method, &e) => {
                    let delay = backoff(attempt);
                    tracing::debug!(%method, path, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if method != Method::GET {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
        }
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = self.credentials.token()? {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let request_error = |source| Error::Request {
            method: method.clone(),
            path: path.to_string(),
            source,
        };
        let response = request.send().await.map_err(request_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(request_error)?;
        tracing::trace!(%method, path, %status, size = bytes.len(), "admin api");
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            let data = parsed.as_ref().and_then(|v| v.get("data")).cloned();
            return data.ok_or_else(|| Error::Decode {
                method: method.clone(),
                path: path.to_string(),
                message: format!("{status} without an Allma envelope"),
            });
        }
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let message = error
            .and_then(|e| e.get("message"))
            .or_else(|| parsed.as_ref().and_then(|v| v.get("message")))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        let code = error
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .map(str::to_string);
        // Validation details name the offending field (e.g. `flows[0].steps.a.stepType`).
        let message = match error
            .and_then(|e| e.get("details"))
            .filter(|d| !d.is_null())
        {
            Some(details) => format!("{message} {}", truncate(&details.to_string(), 600)),
            None => message,
        };
        Err(Error::Status {
            method: method.clone(),
            path: path.to_string(),
            status,
            code,
            message,
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// GET and PUT can be repeated safely. A POST or DELETE is repeated only when the server
/// cannot have acted on it: no connection, or throttled (429) before the Lambda ran.
/// After a timeout or 502/503/504 it may have committed; the caller re-reads instead.
fn retryable(method: &Method, e: &Error) -> bool {
    let idempotent = matches!(*method, Method::GET | Method::PUT);
    match e {
        Error::Request { source, .. } => source.is_connect() || (idempotent && source.is_timeout()),
        Error::Status { status, .. } => match status.as_u16() {
            429 => true,
            502..=504 => idempotent,
            _ => false,
        },
        _ => false,
    }
}

/// Exponential backoff (250 ms doubling, capped at 8 s) with full jitter.
fn backoff(attempt: u32) -> Duration {
    let cap = 250u64.saturating_mul(1 << attempt.min(5)).min(8_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(cap / 2 + nanos % (cap / 2 + 1))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn decode<T: DeserializeOwned>(method: &Method, path: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::Decode {
        method: method.clone(),
        path: path.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
