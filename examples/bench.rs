//! Benchmark: request economy and wall time of `apply`/`diff` against the embedded Admin
//! API, compared with `allma-flows deploy`, and read throughput of `serve-local`.
//!
//! ```text
//! cargo run --release --example bench -- [--flows N] [--reads R] [--concurrency C]
//! ```
//! Prints figures only; times are never asserted. Exits 1 when a request-economy bound
//! (a count, not a time) is violated or a step fails. See BENCHMARKS.md.

use allma_gitops::admin::{Client, Config, Credentials};
use allma_gitops::apply::execute;
use allma_gitops::load;
use allma_gitops::local::{Auth, Server};
use allma_gitops::plan::{self, Op, Plan};
use anyhow::{Context, Result, bail, ensure};
use futures::StreamExt;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const OWNER: &str = "allma-gitops";
const PROMPTS: usize = 10;
const STEPS: usize = 10;
/// The CLI's default `--concurrency`.
const CLIENT_CONCURRENCY: usize = 8;

struct Args {
    flows: usize,
    reads: usize,
    concurrency: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        flows: 1000,
        reads: 20_000,
        concurrency: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag, None),
        };
        let value = match inline {
            Some(v) => v,
            None => it.next().with_context(|| format!("{name} needs a value"))?,
        };
        let n: usize = value
            .parse()
            .with_context(|| format!("{name}: `{value}` is not a number"))?;
        match name.as_str() {
            "--flows" => a.flows = n,
            "--reads" => a.reads = n,
            "--concurrency" => a.concurrency = n,
            _ => bail!("unknown option {name} (use --flows N, --reads R, --concurrency C)"),
        }
    }
    ensure!(
        a.flows >= 1 && a.reads >= 1 && a.concurrency >= 1,
        "values must be ≥ 1"
    );
    Ok(a)
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn prompt_id(p: usize) -> String {
    format!("bench-prompt-{p:02}")
}

fn flow_id(f: usize) -> String {
    format!("bench-flow-{f:05}")
}

fn prompt_yaml(p: usize) -> String {
    format!(
        "apiVersion: allma.dev/v1alpha1
kind: PromptTemplate
metadata:
  name: {id}
spec:
  name: Bench prompt {p}
  description: Generated prompt {p} for the benchmark.
  tags: [bench]
  content: |
    You are assistant number {p}. Answer the question below in at most {{{{maxSentences}}}}
    sentences, using only the document.

    <document>
    {{{{document}}}}
    </document>
",
        id = prompt_id(p)
    )
}

/// A chain of `STEPS` steps: LLM_INVOCATION on even positions, NO_OP on odd ones, END_FLOW
/// last; every step but the last has a `$.` transition that jumps to the end.
fn flow_yaml(f: usize, changed: bool) -> String {
    let mut s = format!(
        "apiVersion: allma.dev/v1alpha1
kind: Flow
metadata:
  name: {id}
spec:
  name: Bench flow {f}
  description: Generated {STEPS}-step flow {f} for the benchmark.
  tags: [bench]
  variables:
    threshold: {threshold}
    maxSentences: 3
  definition:
    startStepInstanceId: s0
    enableExecutionLogs: false
    steps:
",
        id = flow_id(f),
        threshold = f % 7 + 1,
    );
    let last = STEPS - 1;
    for i in 0..STEPS {
        let display = if changed && i == 3 {
            format!("Step {i} (changed)")
        } else {
            format!("Step {i}")
        };
        let _ = write!(
            s,
            "      s{i}:\n        stepInstanceId: s{i}\n        displayName: {display}\n"
        );
        if i == last {
            s.push_str("        stepType: END_FLOW\n");
            continue;
        }
        if i % 2 == 0 {
            let _ = write!(
                s,
                "        stepType: LLM_INVOCATION
        llmProvider: GEMINI
        modelId: gemini-2.5-flash
        promptTemplateId: {prompt}
        templateContextMappings:
          document:
            sourceJsonPath: \"$.document\"
          maxSentences:
            sourceJsonPath: \"$.flow_variables.maxSentences\"
        inferenceParameters:
          temperature: 0.{i}
          maxOutputTokens: 512
",
                prompt = prompt_id((f + i) % PROMPTS)
            );
        } else {
            s.push_str("        stepType: NO_OP\n");
        }
        let _ = write!(
            s,
            "        transitions:
          - condition: \"$.steps_output.s{prev}.score >= $.flow_variables.threshold\"
            nextStepInstanceId: s{last}
        defaultNextStepInstanceId: s{next}
",
            prev = i.saturating_sub(1),
            next = i + 1
        );
    }
    s
}

fn write_flow(defs: &Path, f: usize, changed: bool) -> Result<()> {
    let path = defs.join("flows").join(format!("{}.yaml", flow_id(f)));
    std::fs::write(&path, flow_yaml(f, changed)).with_context(|| path.display().to_string())
}

fn generate(defs: &Path, flows: usize) -> Result<()> {
    std::fs::create_dir_all(defs.join("flows"))?;
    std::fs::create_dir_all(defs.join("prompts"))?;
    for p in 0..PROMPTS {
        std::fs::write(
            defs.join("prompts").join(format!("{}.yaml", prompt_id(p))),
            prompt_yaml(p),
        )?;
    }
    for f in 0..flows {
        write_flow(defs, f, false)?;
    }
    Ok(())
}

/// One CLI-equivalent run: load → snapshot → plan (→ execute).
struct Run {
    wall: Duration,
    /// Wall time of load, snapshot, plan and execute.
    phases: [Duration; 4],
    requests: usize,
    writes: usize,
    /// Import requests: the executor's writes minus the plan's non-import operations.
    imports: usize,
    plan: Plan,
}

async fn reconcile(defs: &Path, base_url: &str, apply: bool) -> Result<Run> {
    let client = Client::new(Config {
        base_url: base_url.to_string(),
        credentials: Credentials::None,
        concurrency: CLIENT_CONCURRENCY,
        attempts: 4,
    })
    .map_err(anyhow::Error::msg)?;
    let start = Instant::now();
    let loaded = load::load(&[defs.to_path_buf()], OWNER)?;
    let loaded_at = start.elapsed();
    let live = client.snapshot(&loaded.resources, OWNER, false).await?;
    let snapshot_at = start.elapsed();
    let opts = plan::Options {
        owner: OWNER.into(),
        adopt: false,
        prune: false,
    };
    let plan = plan::plan(&loaded.resources, &live, &opts)?;
    ensure!(!plan.has_refusals(), "the plan refuses resources");
    let planned_at = start.elapsed();
    let before = client.counters().writes();
    if apply && plan.has_changes() {
        let report = execute(&plan, &client, &|_| {}).await;
        if let Some(o) = report.failures().next() {
            bail!(
                "{} {} failed: {}",
                o.kind,
                o.id,
                o.error.as_deref().unwrap_or_default()
            );
        }
    }
    let wall = start.elapsed();
    let c = client.counters();
    let other_ops: usize = plan
        .changes
        .iter()
        .flat_map(|c| &c.operations)
        .filter(|op| !matches!(op, Op::Import { .. }))
        .count();
    let executed = c.writes() - before;
    Ok(Run {
        wall,
        phases: [
            loaded_at,
            snapshot_at - loaded_at,
            planned_at - snapshot_at,
            wall - planned_at,
        ],
        requests: c.requests(),
        writes: c.writes(),
        imports: if apply && plan.has_changes() {
            executed.saturating_sub(other_ops)
        } else {
            0
        },
        plan,
    })
}

/// Copies a store directory without its lock file (the in-process server holds that one).
fn copy_store(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            copy_store(&src, &dst)?;
        } else if entry.file_name() != "lock" {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

struct Throughput {
    wall: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    bytes: usize,
}

async fn serve_local_reads(
    state: &Path,
    flows: usize,
    reads: usize,
    concurrency: usize,
) -> Result<Throughput> {
    let server = Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), state, Auth::open()).await?;
    let base = server.base_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let start = Instant::now();
    let results: Vec<Result<(Duration, usize)>> = futures::stream::iter(0..reads)
        .map(|i| {
            let url = format!("{base}/allma/flows/{}/versions/1", flow_id(i % flows));
            let http = &http;
            async move {
                let t = Instant::now();
                let response = http.get(&url).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                ensure!(status.is_success(), "GET {url}: {status}");
                Ok((t.elapsed(), body.len()))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = start.elapsed();
    drop(http);
    let _ = stop.send(());
    let _ = task.await;
    let mut latencies = Vec::with_capacity(reads);
    let mut bytes = 0;
    for r in results {
        let (latency, size) = r?;
        latencies.push(latency);
        bytes += size;
    }
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Ok(Throughput {
        wall,
        p50: pct(50),
        p99: pct(99),
        max: latencies[latencies.len() - 1],
        bytes,
    })
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Bound checks: each is a count; a violated one makes the run exit 1.
struct Checks(Vec<String>);

impl Checks {
    fn check(&mut self, ok: bool, what: String) -> &'static str {
        if ok {
            "ok"
        } else {
            self.0.push(what);
            "FAIL"
        }
    }
}

fn row(phase: &str, wall: &str, requests: &str, writes: &str, imports: &str, bound: &str) {
    println!("{phase:<34} {wall:>11} {requests:>9} {writes:>7} {imports:>8}  {bound}");
}

async fn run(a: &Args) -> Result<Vec<String>> {
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "allma-gitops-bench-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )));
    let (defs, state, served) = (
        scratch.0.join("defs"),
        scratch.0.join("state"),
        scratch.0.join("served"),
    );
    let n = a.flows;
    let resources = n + PROMPTS;
    let mut checks = Checks(Vec::new());

    let t = Instant::now();
    generate(&defs, n)?;
    let generated = t.elapsed();

    let (base_url, local) = allma_gitops::local::start_in_process(&state).await?;
    let first = reconcile(&defs, &base_url, true).await?;
    ensure!(
        first.plan.summary.create == resources,
        "first apply planned {} creates, expected {resources}",
        first.plan.summary.create
    );
    let diff = reconcile(&defs, &base_url, false).await?;
    let second = reconcile(&defs, &base_url, true).await?;
    let changed_flow = n / 2;
    write_flow(&defs, changed_flow, true)?;
    let changed = reconcile(&defs, &base_url, true).await?;
    let after = reconcile(&defs, &base_url, false).await?;
    local.abort();
    let rss_reconcile = peak_rss_kb();

    println!(
        "allma-gitops bench: {n} flows × {STEPS} steps + {PROMPTS} prompts = {resources} resources \
         (generated in {}), client concurrency {CLIENT_CONCURRENCY}",
        ms(generated)
    );
    println!();
    row(
        "allma-gitops (measured)",
        "wall",
        "requests",
        "writes",
        "imports",
        "bound",
    );
    row(
        "  apply, first (create all)",
        &ms(first.wall),
        &first.requests.to_string(),
        &first.writes.to_string(),
        &first.imports.to_string(),
        "-",
    );
    let diff_bound = 2 + resources;
    let in_sync = !diff.plan.has_changes();
    let verdict = checks.check(
        diff.requests <= diff_bound && diff.writes == 0 && in_sync,
        format!(
            "diff of unchanged: {} requests (bound {diff_bound}), {} writes, changes planned: {}",
            diff.requests, diff.writes, !in_sync
        ),
    );
    row(
        "  diff, all unchanged",
        &ms(diff.wall),
        &diff.requests.to_string(),
        &diff.writes.to_string(),
        "0",
        &format!("requests ≤ 2+{resources} = {diff_bound}, no changes: {verdict}"),
    );
    let verdict = checks.check(
        second.writes == 0 && second.requests <= diff_bound,
        format!(
            "second apply: {} writes (bound 0), {} requests (bound {diff_bound})",
            second.writes, second.requests
        ),
    );
    row(
        "  apply, second (unchanged)",
        &ms(second.wall),
        &second.requests.to_string(),
        &second.writes.to_string(),
        &second.imports.to_string(),
        &format!("writes = 0: {verdict}"),
    );
    let s = &changed.plan.summary;
    let verdict = checks.check(
        changed.writes <= 3 && s.update + s.drift == 1 && s.create == 0,
        format!(
            "one changed flow: {} writes (bound 3), plan {:?}",
            changed.writes, s
        ),
    );
    row(
        "  apply, one flow changed",
        &ms(changed.wall),
        &changed.requests.to_string(),
        &changed.writes.to_string(),
        &changed.imports.to_string(),
        &format!("writes ≤ 3: {verdict}"),
    );
    let verdict = checks.check(
        !after.plan.has_changes() && after.requests <= diff_bound,
        format!(
            "diff after the change: {} requests (bound {diff_bound}), changes planned: {}",
            after.requests,
            after.plan.has_changes()
        ),
    );
    row(
        "  diff after that apply",
        &ms(after.wall),
        &after.requests.to_string(),
        &after.writes.to_string(),
        "0",
        &format!("in sync: {verdict}"),
    );
    let phases = |r: &Run| {
        r.phases
            .iter()
            .map(|d| ms(*d))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("  load / snapshot / plan / execute:");
    println!("    first apply:   {}", phases(&first));
    println!("    unchanged diff: {}", phases(&diff));
    println!("    changed apply: {}", phases(&changed));
    println!();
    row(
        "allma-flows deploy (computed)",
        "",
        "",
        "writes",
        "imports",
        "",
    );
    let allma = (n + 1).to_string();
    row("  first deploy", "", "", &allma, "1", "");
    row("  diff", "", "", "-", "-", "no diff command");
    row("  redeploy, unchanged", "", "", &allma, "1", "");
    row("  redeploy, one flow changed", "", "", &allma, "1", "");
    println!(
        "  (DESIGN.md §1: one bulk import overwriting version 1 of every flow on every run; \
         \"1,001 writes to redeploy 1,000 unchanged flows\", i.e. N+1)"
    );

    copy_store(&state, &served)?;
    let tp = serve_local_reads(&served, n, a.reads, a.concurrency).await?;
    println!();
    println!(
        "serve-local: {} × GET /v1/allma/flows/{{id}}/versions/1, {} in flight, loopback",
        a.reads, a.concurrency
    );
    println!(
        "  {:.0} req/s   p50 {}   p99 {}   max {}   wall {}   {:.0} B/answer",
        a.reads as f64 / tp.wall.as_secs_f64(),
        ms(tp.p50),
        ms(tp.p99),
        ms(tp.max),
        ms(tp.wall),
        tp.bytes as f64 / a.reads as f64
    );
    println!();
    let mib = |kb: Option<u64>| {
        kb.map_or("unavailable (no /proc/self/status)".into(), |kb| {
            format!("{:.1} MiB", kb as f64 / 1024.0)
        })
    };
    println!(
        "peak RSS (VmHWM, whole process: client + embedded server): {} after the reconcile runs, {} at the end",
        mib(rss_reconcile),
        mib(peak_rss_kb())
    );
    drop(scratch);
    Ok(checks.0)
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(&a).await {
        Ok(violations) if violations.is_empty() => ExitCode::SUCCESS,
        Ok(violations) => {
            for v in violations {
                eprintln!("bound violated: {v}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
