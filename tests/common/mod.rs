//! Shared test support: run the `allma-gitops` binary against an Admin API target — the
//! real Allma handlers (tests/allma-reference) or the embedded API served by
//! `allma-gitops serve-local` — and read the server directly over HTTP.
#![allow(dead_code)]

#[path = "../support/reference.rs"]
pub mod reference;

use reference::{Reference, http_request};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Which Admin API implementation a test runs against.
pub enum Server {
    /// Allma's own handlers in Node.
    Real(Reference),
    /// `allma-gitops serve-local` in a child process.
    Embedded {
        child: Child,
        port: u16,
        state: TempDir,
    },
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::Embedded { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A target: a server, its URL and a token with full rights.
pub struct Target {
    pub server: Server,
    pub base_url: String,
    pub token: String,
    pub port: u16,
}

pub const EMBEDDED_TOKEN: &str = "embedded-test-token";

impl Target {
    /// The real Allma Admin API handlers.
    pub fn real() -> Target {
        let r = Reference::start();
        Target {
            base_url: r.base_url.clone(),
            token: r.admin_token.clone(),
            port: r.port,
            server: Server::Real(r),
        }
    }

    /// The embedded Admin API, served over HTTP by the binary.
    pub fn embedded() -> Target {
        let state = TempDir::new("state");
        let mut child = Command::new(bin())
            .args([
                "serve-local",
                "--addr",
                "127.0.0.1:0",
                "--token",
                EMBEDDED_TOKEN,
                "--state",
            ])
            .arg(state.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start allma-gitops serve-local");
        let mut line = String::new();
        BufReader::new(child.stderr.take().expect("stderr"))
            .read_line(&mut line)
            .expect("read serve-local banner");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in `{line}`"));
        let port: u16 = url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/v1")
            .parse()
            .expect("port");
        Target {
            base_url: url.to_string(),
            token: EMBEDDED_TOKEN.into(),
            port,
            server: Server::Embedded { child, port, state },
        }
    }

    /// The store directory of an embedded target.
    pub fn state_dir(&self) -> &Path {
        match &self.server {
            Server::Embedded { state, .. } => state.path(),
            Server::Real(_) => panic!("the real target has no store directory"),
        }
    }

    /// Runs the binary against this target.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(bin())
            .args(args)
            .arg("-v")
            .env("ALLMA_API_URL", &self.base_url)
            .env("ALLMA_TOKEN", &self.token)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .output()
            .expect("run allma-gitops");
        Run::from(output)
    }

    /// One Admin API request: (status, `data` or the whole body).
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string);
        let r = http_request(
            self.port,
            method,
            &format!("/v1{path}"),
            Some(&self.token),
            body.as_deref(),
        )
        .expect("http");
        let json: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let data = json.get("data").cloned().unwrap_or(json);
        (r.status, data)
    }

    /// A flow or prompt master from the list (prompt masters cannot be read by id).
    pub fn master(&self, collection: &str, id: &str) -> Option<Value> {
        let (status, list) = self.api("GET", &format!("/allma/{collection}"), None);
        assert_eq!(status, 200, "{list}");
        list.as_array()?
            .iter()
            .find(|m| m["id"] == json!(id))
            .cloned()
    }

    /// Version numbers of a resource and which one is published.
    pub fn versions(&self, collection: &str, id: &str) -> (Vec<u64>, Option<u64>) {
        let (_, list) = self.api("GET", &format!("/allma/{collection}/{id}/versions"), None);
        let mut numbers: Vec<u64> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["version"].as_u64())
            .collect();
        numbers.sort_unstable();
        let published = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["isPublished"] == json!(true))
            .and_then(|v| v["version"].as_u64());
        (numbers, published)
    }
}

/// A finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Requests and writes counted by the client (`-v` prints them).
    pub fn requests(&self) -> (usize, usize) {
        let line = self
            .stderr
            .lines()
            .find(|l| l.contains(" requests, ") && l.ends_with(" writes"))
            .unwrap_or_else(|| panic!("no request count in:\n{}", self.stderr));
        let nums: Vec<usize> = line
            .split_whitespace()
            .filter_map(|w| w.trim_end_matches(',').parse().ok())
            .collect();
        (nums[0], nums[1])
    }

    pub fn expect(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code, code,
            "{what}: exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_allma-gitops"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "allma-gitops-test-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    pub fn str(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
