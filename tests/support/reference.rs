//! Test helper: runs the Allma Admin API reference harness (`tests/allma-reference/server.mjs`,
//! the real Allma Lambda handlers behind an API Gateway emulation, backed by dynalite).
//!
//! Include it from an integration test with
//! `#[path = "support/reference.rs"] mod reference;`.
//!
//! Requires `node` (>= 20) on PATH and `npm ci --prefix tests/allma-reference` to have run.
//! Never skips: a missing prerequisite panics with instructions.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const STDERR_TAIL_BYTES: usize = 64 * 1024;

/// A running reference harness. Dropping it kills the node process.
pub struct Reference {
    /// e.g. `http://127.0.0.1:41234/v1` (the API Gateway stage URL; routes are `/allma/...`).
    pub base_url: String,
    /// Root URL without the stage, e.g. `http://127.0.0.1:41234` (harness endpoints live here).
    pub root_url: String,
    pub port: u16,
    /// Admins group + FLOW_MANAGER role.
    pub admin_token: String,
    /// Admins group + DEBUG_VIEWER role (read-only).
    pub reader_token: String,
    /// FLOW_MANAGER role but not in the Admins group.
    pub nogroup_token: String,
    /// Admins group, no roles.
    pub noperm_token: String,
    child: Child,
    // Kept open: the harness exits when its stdin reaches EOF.
    stdin: Option<ChildStdin>,
    stderr_tail: Arc<Mutex<String>>,
}

/// A raw HTTP response from the harness.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in order of appearance.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): status {} body {:?}",
                self.status, self.body
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("allma-reference")
}

fn push_tail(buf: &Mutex<String>, line: &str) {
    let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
    b.push_str(line);
    b.push('\n');
    if b.len() > STDERR_TAIL_BYTES {
        let mut cut = b.len() - STDERR_TAIL_BYTES;
        while !b.is_char_boundary(cut) {
            cut += 1;
        }
        b.drain(..cut);
    }
}

impl Reference {
    /// Spawns `node tests/allma-reference/server.mjs --port 0` and waits (up to 60 s) for its
    /// ready line. Panics with a clear message if node or the npm install is missing.
    pub fn start() -> Reference {
        let dir = harness_dir();
        let script = dir.join("server.mjs");
        assert!(
            script.is_file(),
            "allma reference harness not found at {}",
            script.display()
        );
        if !dir.join("node_modules").is_dir() {
            panic!(
                "allma reference harness is not installed: {} is missing. \
                 Run `npm ci --prefix tests/allma-reference` (needs node >= 20 and npm).",
                dir.join("node_modules").display()
            );
        }
        if !dir
            .join("node_modules")
            .join(".allma-core-cdk")
            .join(".integrity")
            .is_file()
        {
            panic!(
                "allma reference harness is incomplete: @allma/core-cdk was not unpacked into \
                 {} (its postinstall script did not run). \
                 Run `npm ci --prefix tests/allma-reference` with install scripts enabled.",
                dir.join("node_modules").join(".allma-core-cdk").display()
            );
        }
        let node = std::env::var("ALLMA_REFERENCE_NODE").unwrap_or_else(|_| "node".to_string());
        let mut child = match Command::new(&node)
            .arg(&script)
            .arg("--port")
            .arg("0")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`{node}` not found on PATH: the allma reference harness needs Node.js >= 20 \
                 (then run `npm ci --prefix tests/allma-reference`)"
            ),
            Err(e) => panic!("failed to spawn `{node} {}`: {e}", script.display()),
        };

        let echo = std::env::var_os("ALLMA_REFERENCE_LOG").is_some();
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        {
            let stderr = child.stderr.take().expect("piped stderr");
            let tail = Arc::clone(&stderr_tail);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if echo {
                        eprintln!("[allma-reference] {line}");
                    }
                    push_tail(&tail, &line);
                }
            });
        }
        let (tx, rx) = mpsc::channel::<Option<String>>();
        {
            let stdout = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut first = String::new();
                let got = match reader.read_line(&mut first) {
                    Ok(n) if n > 0 => Some(first),
                    _ => None,
                };
                let _ = tx.send(got);
                // Keep draining so the child never blocks on a full pipe.
                let mut sink = [0u8; 8192];
                while let Ok(n) = reader.read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();

        let fail = |child: &mut Child, tail: &Arc<Mutex<String>>, why: String| -> ! {
            let _ = child.kill();
            let status = child.wait().ok();
            // Give the stderr thread a moment to collect the last lines.
            std::thread::sleep(Duration::from_millis(100));
            let tail = tail.lock().map(|s| s.clone()).unwrap_or_default();
            panic!(
                "allma reference harness failed to start: {why} (exit status: {status:?}).\n\
                 If dependencies are missing run `npm ci --prefix tests/allma-reference`.\n\
                 --- harness stderr (tail) ---\n{tail}"
            );
        };

        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(line)) => line,
            Ok(None) => fail(
                &mut child,
                &stderr_tail,
                "it exited before printing its ready line".into(),
            ),
            Err(_) => fail(
                &mut child,
                &stderr_tail,
                format!("no ready line within {} s", STARTUP_TIMEOUT.as_secs()),
            ),
        };
        let ready: serde_json::Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => fail(
                &mut child,
                &stderr_tail,
                format!("bad ready line {line:?}: {e}"),
            ),
        };
        let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let parsed = (|| {
            Some((
                ready["port"].as_u64()? as u16,
                s(&ready["baseUrl"])?,
                s(&ready["tokens"]["admin"])?,
                s(&ready["tokens"]["reader"])?,
                s(&ready["tokens"]["nogroup"])?,
                s(&ready["tokens"]["noperm"])?,
            ))
        })();
        let Some((port, base_url, admin, reader, nogroup, noperm)) = parsed else {
            fail(
                &mut child,
                &stderr_tail,
                format!("incomplete ready line {line:?}"),
            )
        };
        Reference {
            root_url: format!("http://127.0.0.1:{port}"),
            base_url,
            port,
            admin_token: admin,
            reader_token: reader,
            nogroup_token: nogroup,
            noperm_token: noperm,
            child,
            stdin,
            stderr_tail,
        }
    }

    /// The last lines the harness wrote to stderr (handler logs, errors).
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// `GET /__harness/stats`: `{"requests", "writes", "byRoute", "byPath", "byStatus"}` counted
    /// over Allma (non-harness) requests since the last reset.
    pub fn stats(&self) -> serde_json::Value {
        let r = self.raw_request("GET", "/__harness/stats", None, None);
        assert_eq!(r.status, 200, "GET /__harness/stats failed: {}", r.body);
        r.json()
    }

    /// `POST /__harness/reset-stats`.
    pub fn reset_stats(&self) {
        let r = self.raw_request("POST", "/__harness/reset-stats", None, None);
        assert_eq!(
            r.status, 200,
            "POST /__harness/reset-stats failed: {}",
            r.body
        );
    }

    /// `POST /__harness/reset`: wipes all data (tables recreated, schedules cleared) and stats.
    pub fn reset(&self) {
        let r = self.raw_request("POST", "/__harness/reset", None, None);
        assert_eq!(r.status, 200, "POST /__harness/reset failed: {}", r.body);
    }

    /// `GET /__harness/schedules`: the fake EventBridge Scheduler's schedules.
    pub fn schedules(&self) -> serde_json::Value {
        let r = self.raw_request("GET", "/__harness/schedules", None, None);
        assert_eq!(r.status, 200, "GET /__harness/schedules failed: {}", r.body);
        r.json()
    }

    /// Mints a token signed with the harness key. `claims` override/extend the defaults
    /// (iss, aud, token_use=id, iat, exp = now + `expires_in_seconds`; negative = expired).
    pub fn mint_token(&self, claims: serde_json::Value, expires_in_seconds: i64) -> String {
        let body = serde_json::json!({ "claims": claims, "expiresInSeconds": expires_in_seconds });
        let r = self.raw_request("POST", "/__harness/token", None, Some(&body.to_string()));
        assert_eq!(r.status, 200, "POST /__harness/token failed: {}", r.body);
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// A request to the Allma API: `path` is relative to the stage (`/allma/flows`).
    pub fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> HttpResponse {
        let body = body.map(|b| b.to_string());
        self.raw_request(method, &format!("/v1{path}"), token, body.as_deref())
    }

    /// A request to any path of the harness root (e.g. `/v1/allma/flows`, `/__harness/stats`).
    pub fn raw_request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> HttpResponse {
        http_request(self.port, method, path, bearer, body)
            .unwrap_or_else(|e| panic!("HTTP {method} {path} to the harness failed: {e}\n--- harness stderr (tail) ---\n{}", self.stderr_tail()))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal HTTP/1.1 client (one request per connection, `Connection: close`).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some(t) = bearer {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str("Content-Type: application/json\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let pos = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_str = String::from_utf8_lossy(&rest[..pos]);
            let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[pos + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size + 2 {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
