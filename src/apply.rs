//! The executor: performs a `Plan`'s operations and reports one `Outcome` per change.
//! It decides nothing: creates are batched into import requests, every other change
//! runs its operations in order, changes of one wave concurrently, waves in order.

use crate::admin::{self, Client};
use crate::model::Kind;
use crate::plan::{Action, Change, Op, Plan, Target};
use futures::future::join_all;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Import items per request at most.
pub const IMPORT_MAX_ITEMS: usize = 50;
/// Import payload bytes per request at most (Lambda accepts 6 MB; API Gateway waits 30 s).
pub const IMPORT_MAX_BYTES: usize = 1_000_000;

/// How one change went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Flow or PromptTemplate.
    pub kind: Kind,
    /// Allma id.
    pub id: String,
    /// What was planned.
    pub action: Action,
    /// The version published by this change, if any.
    pub published_version: Option<u32>,
    /// `None` on success; otherwise what failed (never contains a secret).
    pub error: Option<String>,
    /// Stable category of the error, for events and metrics.
    pub error_category: Option<String>,
}

/// Every outcome of an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One per change, in plan order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// The failed outcomes.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }
}

/// Runs the plan; `on_outcome` is called as each change finishes (for progress output).
/// A change whose dependency (a prompt or sub-flow it uses) failed is not applied.
pub async fn execute(
    plan: &Plan,
    client: &Client,
    on_outcome: &(dyn Fn(&Outcome) + Sync),
) -> Report {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.changes.len()];
    let mut failed: BTreeSet<(Kind, String)> = BTreeSet::new();
    let mut waves: Vec<usize> = plan.changes.iter().map(|c| c.wave).collect();
    waves.dedup();
    for wave in waves {
        let mut members = Vec::new();
        for (i, change) in plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.wave == wave)
        {
            match change.depends_on.iter().find(|dep| failed.contains(*dep)) {
                Some((kind, id)) => {
                    let message = format!("not applied: it uses {kind} `{id}`, which failed");
                    let outcome = failure(change, message, "DependencyFailed");
                    on_outcome(&outcome);
                    outcomes[i] = Some(outcome);
                }
                None => members.push(i),
            }
        }
        let imported = import_all(plan, &members, client).await;
        let runs = members.iter().map(|&i| {
            let import_error = imported
                .iter()
                .find(|(j, _)| *j == i)
                .and_then(|(_, e)| e.clone());
            async move {
                let outcome = run_change(&plan.changes[i], client, import_error).await;
                on_outcome(&outcome);
                (i, outcome)
            }
        });
        for (i, outcome) in join_all(runs).await {
            if outcome.error.is_some() {
                failed.insert((outcome.kind, outcome.id.clone()));
            }
            outcomes[i] = Some(outcome);
        }
    }
    Report {
        outcomes: outcomes.into_iter().flatten().collect(),
    }
}

fn failure(change: &Change, message: String, category: &str) -> Outcome {
    Outcome {
        kind: change.kind,
        id: change.id.clone(),
        action: change.action,
        published_version: None,
        error: Some(message),
        error_category: Some(category.into()),
    }
}

type Failure = (String, &'static str);

/// Sends every `Import` op of the wave in bounded batches; returns per change the error
/// of its import, if it failed.
async fn import_all(
    plan: &Plan,
    members: &[usize],
    client: &Client,
) -> Vec<(usize, Option<Failure>)> {
    let items: Vec<(usize, &Change, &Value)> = members
        .iter()
        .filter_map(|&i| match plan.changes[i].operations.first() {
            Some(Op::Import { item }) => Some((i, &plan.changes[i], item)),
            _ => None,
        })
        .collect();
    let mut results = Vec::new();
    for batch in batches(&items) {
        let (mut flows, mut prompts) = (Vec::new(), Vec::new());
        for (_, change, item) in &batch {
            match change.kind {
                Kind::Flow => flows.push((*item).clone()),
                Kind::PromptTemplate => prompts.push(stamped(item)),
            }
        }
        match client.import(flows, prompts).await {
            // The server rejects a whole import when one item is invalid: import the items
            // one by one so that one bad definition does not hold back the others.
            Err(e) if e.status() == Some(reqwest::StatusCode::BAD_REQUEST) && batch.len() > 1 => {
                for entry in &batch {
                    results.push(import_one(client, *entry).await);
                }
            }
            answer => results.extend(
                batch
                    .iter()
                    .map(|(i, change, _)| (*i, import_error(&answer, change))),
            ),
        }
    }
    results
}

async fn import_one(
    client: &Client,
    (i, change, item): (usize, &Change, &Value),
) -> (usize, Option<Failure>) {
    let answer = match change.kind {
        Kind::Flow => client.import(vec![item.clone()], Vec::new()).await,
        Kind::PromptTemplate => client.import(Vec::new(), vec![stamped(item)]).await,
    };
    (i, import_error(&answer, change))
}

fn import_error(
    answer: &Result<admin::ImportSummary, admin::Error>,
    change: &Change,
) -> Option<Failure> {
    let summary = match answer {
        Err(e) => return Some((e.to_string(), e.category())),
        Ok(summary) => summary,
    };
    let is_flow = change.kind == Kind::Flow;
    if let Some(e) = summary
        .errors
        .iter()
        .find(|e| e.id == change.id && (e.kind == "flow") == is_flow)
    {
        return Some((
            format!(
                "import refused {} `{}`: {}",
                change.kind, change.id, e.message
            ),
            "Invalid",
        ));
    }
    // `overwrite: false` skips ids that exist: one appeared since the plan was made, and
    // the import does not say which. Write nothing more to any of them; the next run
    // re-plans from what is live.
    let skipped = summary.skipped.flows + summary.skipped.prompts;
    (skipped > 0).then(|| {
        let message = format!("the import skipped {skipped} item(s) that already existed (created since the plan was read?); nothing more was written to them, run again to re-plan");
        (message, "Conflict")
    })
}

/// Splits import items into batches bounded by count and serialised size.
fn batches<'a>(
    items: &[(usize, &'a Change, &'a Value)],
) -> Vec<Vec<(usize, &'a Change, &'a Value)>> {
    let mut out: Vec<Vec<(usize, &Change, &Value)>> = Vec::new();
    let mut size = 0;
    for &(i, change, item) in items {
        let len = item.to_string().len();
        match out.last_mut() {
            Some(batch) if batch.len() < IMPORT_MAX_ITEMS && size + len <= IMPORT_MAX_BYTES => {
                size += len;
                batch.push((i, change, item));
            }
            _ => {
                size = len;
                out.push(vec![(i, change, item)]);
            }
        }
    }
    out
}

/// Prompt import items must carry timestamps (the import validator requires them).
fn stamped(item: &Value) -> Value {
    let mut item = item.clone();
    let now = crate::now();
    item["createdAt"] = json!(now);
    item["updatedAt"] = json!(now);
    item
}

async fn run_change(change: &Change, client: &Client, import_error: Option<Failure>) -> Outcome {
    if change.action == Action::Refused {
        return failure(change, change.reason.clone().unwrap_or_default(), "Refused");
    }
    if let Some((message, category)) = import_error {
        return failure(change, message, category);
    }
    let mut outcome = Outcome {
        kind: change.kind,
        id: change.id.clone(),
        action: change.action,
        published_version: None,
        error: None,
        error_category: None,
    };
    let mut created: Option<u32> = None;
    for op in &change.operations {
        if let Err(e) = run_op(change, op, client, &mut created, &mut outcome).await {
            outcome.error = Some(format!("{e}; the next run finishes the job"));
            outcome.error_category = Some(e.category().into());
            break;
        }
    }
    outcome
}

async fn run_op(
    change: &Change,
    op: &Op,
    client: &Client,
    created: &mut Option<u32>,
    outcome: &mut Outcome,
) -> Result<(), admin::Error> {
    let (kind, id) = (change.kind, change.id.as_str());
    // The planner puts `CreateVersion` before any use of `Target::New`.
    let resolve = |t: &Target| match t {
        Target::New => created.ok_or_else(|| admin::Error::Decode {
            method: reqwest::Method::POST,
            path: format!("/allma/{}/{id}/versions", kind.collection()),
            message: "no version was created before it was written".into(),
        }),
        Target::Number(n) => Ok(*n),
    };
    match op {
        Op::Import { item } => {
            if item.get("isPublished") == Some(&Value::Bool(true)) {
                outcome.published_version = Some(1);
            }
        }
        Op::CreateVersion { source, after } => {
            *created = Some(create_version(client, kind, id, *source, *after).await?)
        }
        Op::PutVersion { version, body } => {
            client
                .put_version(kind, id, resolve(version)?, body)
                .await?;
        }
        Op::Publish { version } => {
            let n = resolve(version)?;
            client.publish(kind, id, n).await?;
            outcome.published_version = Some(n);
        }
        Op::Unpublish { version } => client.unpublish(kind, id, *version).await?,
        Op::DeleteVersion { version } => client.delete_version(kind, id, *version).await?,
        Op::PutFlowMaster { body } => client.put_flow_master(id, body).await?,
    }
    Ok(())
}

/// Creates a version; when the answer is lost (no answer, or a gateway error while the
/// Lambda may have finished), a draft newer than `after` that the server did create is
/// found by re-reading the list rather than creating another.
async fn create_version(
    client: &Client,
    kind: Kind,
    id: &str,
    source: Option<u32>,
    after: u32,
) -> Result<u32, admin::Error> {
    match client.create_version(kind, id, source).await {
        Ok(n) => Ok(n),
        Err(e) if e.answer_lost() => {
            let versions = client.versions(kind, id).await?;
            match versions.iter().map(|v| v.version).max() {
                Some(n) if n > after => Ok(n),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}
