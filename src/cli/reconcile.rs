//! `validate`, `diff` and `apply`: load, snapshot, plan, render, execute.

use super::{DEFAULT_OWNER, EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Global, Remote, color, target};
use crate::apply::{Outcome, execute};
use crate::load::{self, Loaded};
use crate::plan::{self, Plan};
use crate::render::{Format, render};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// What `diff` and `apply` both take.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Definition files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The Admin API.
    #[command(flatten)]
    pub remote: Remote,
    /// Apply the deletion policy to owned resources whose definitions are gone.
    #[arg(long)]
    pub prune: bool,
    /// Take over existing resources that carry no ownership tag.
    #[arg(long)]
    pub adopt: bool,
    /// Output format of the plan.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Format,
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// What to plan.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// What to plan.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Plan and print, write nothing; exit 2 when changes are present.
    #[arg(long)]
    pub dry_run: bool,
}

/// `validate`: offline checks.
pub fn validate(global: &Global, paths: &[PathBuf]) -> Result<u8> {
    let Some(loaded) = load_or_report(global, paths, DEFAULT_OWNER) else {
        return Ok(EXIT_ERROR);
    };
    if !global.quiet {
        println!("{} resources valid.", loaded.resources.len());
    }
    Ok(EXIT_OK)
}

fn load_or_report(global: &Global, paths: &[PathBuf], owner: &str) -> Option<Loaded> {
    match load::load(paths, owner) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                if !global.quiet {
                    eprintln!("warning: {w}");
                }
            }
            Some(loaded)
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

async fn make_plan(global: &Global, args: &PlanArgs) -> Result<Option<(Plan, super::Target)>> {
    let remote = &args.remote;
    let Some(loaded) = load_or_report(global, &args.paths, &remote.owner) else {
        return Ok(None);
    };
    let target = target(global, remote).await?;
    let live = target
        .client
        .snapshot(&loaded.resources, &remote.owner, args.prune)
        .await?;
    let opts = plan::Options {
        owner: remote.owner.clone(),
        adopt: args.adopt,
        prune: args.prune,
    };
    let plan = plan::plan(&loaded.resources, &live, &opts)?;
    Ok(Some((plan, target)))
}

/// `diff`: print the plan; 0 in sync, 2 changes, 1 refused resources or errors.
pub async fn diff(global: &Global, args: DiffArgs) -> Result<u8> {
    let args = args.plan;
    let Some((plan, target)) = make_plan(global, &args).await? else {
        return Ok(EXIT_ERROR);
    };
    print!(
        "{}",
        render(&plan, args.output, color() && args.output.is_text())
    );
    report_requests(global, &target);
    Ok(plan_exit(&plan))
}

fn plan_exit(plan: &Plan) -> u8 {
    if plan.has_refusals() {
        EXIT_ERROR
    } else if plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// `apply`: execute the plan; 1 names every failed resource.
pub async fn apply(global: &Global, args: ApplyArgs) -> Result<u8> {
    let dry_run = args.dry_run;
    let args = args.plan;
    let Some((plan, target)) = make_plan(global, &args).await? else {
        return Ok(EXIT_ERROR);
    };
    let color = color() && args.output.is_text();
    let show = !global.quiet && (plan.has_changes() || plan.has_refusals());
    if dry_run || !args.output.is_text() || show {
        print!("{}", render(&plan, args.output, color));
    }
    if dry_run {
        report_requests(global, &target);
        return Ok(plan_exit(&plan));
    }
    if !plan.has_changes() && !plan.has_refusals() {
        if args.output.is_text() && !global.quiet {
            println!(
                "Nothing to do: {} resources in sync.",
                plan.summary.unchanged
            );
        }
        report_requests(global, &target);
        return Ok(EXIT_OK);
    }
    let (done, total) = (std::sync::atomic::AtomicUsize::new(0), plan.changes.len());
    let progress = |o: &Outcome| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if !global.quiet {
            eprintln!("[{n}/{total}] {}", outcome_line(o));
        }
    };
    let report = execute(&plan, &target.client, &progress).await;
    let failed: Vec<&Outcome> = report.failures().collect();
    if !global.quiet {
        let ok = report.outcomes.len() - failed.len();
        eprintln!("Applied {ok} change(s), {} failed.", failed.len());
    }
    report_requests(global, &target);
    if failed.is_empty() {
        Ok(EXIT_OK)
    } else {
        for o in &failed {
            eprintln!(
                "error: {} {}: {}",
                o.kind,
                o.id,
                o.error.as_deref().unwrap_or_default()
            );
        }
        Ok(EXIT_ERROR)
    }
}

fn outcome_line(o: &Outcome) -> String {
    match (&o.error, o.published_version) {
        (Some(e), _) => format!("failed    {} {}: {e}", o.kind, o.id),
        (None, Some(v)) => format!("published {} {} version {v}", o.kind, o.id),
        (None, None) => format!("done      {} {}", o.kind, o.id),
    }
}

fn report_requests(global: &Global, target: &super::Target) {
    let c = target.client.counters();
    if global.verbose > 0 {
        eprintln!("{} requests, {} writes", c.requests(), c.writes());
    }
    tracing::info!(
        requests = c.requests(),
        writes = c.writes(),
        "admin api requests"
    );
}
