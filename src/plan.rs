//! The planner: a pure function from desired and live state to a `Plan` of changes, each
//! with its field-level differences and the exact Admin API operations that realise it.
//! The executor performs those operations and decides nothing (DESIGN §4).

use crate::admin::{Live, LiveResource, MasterSummary, snapshot::normalized};
use crate::load::Desired;
use crate::model::{self, DeletionPolicy, HASH_FIELD, Kind, content_hash};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

mod diff;
mod order;
#[cfg(test)]
mod tests;

pub use diff::{FieldChange, field_changes};

/// How to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Owner name; the ownership tag is `managed-by:<owner>`.
    pub owner: String,
    /// Take over existing resources that carry no ownership tag.
    pub adopt: bool,
    /// Apply the deletion policy to owned resources that are no longer desired.
    pub prune: bool,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The id does not exist live: import it.
    Create,
    /// Write a new version and/or the master.
    Update,
    /// A draft equal to the desired content exists: publish it.
    PublishDraft,
    /// Apply the deletion policy.
    Prune,
    /// Nothing may be written (not owned, dangling reference): an error.
    Refused,
}

/// Which version an operation targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The version created by the change's `CreateVersion`.
    New,
    /// An existing version.
    Number(u32),
}

/// One Admin API call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Create the resource through `POST /allma/import` (batched by the executor).
    Import {
        /// The import item (a flow or prompt version with its id).
        #[serde(skip)]
        item: Value,
    },
    /// `POST …/versions` from the latest version.
    CreateVersion {
        /// The latest version number when planned: a lost answer is recovered by
        /// looking for a newer one.
        after: u32,
    },
    /// `PUT …/versions/{v}` with the complete body.
    PutVersion {
        /// The version written.
        version: Target,
        /// The body.
        #[serde(skip)]
        body: Value,
    },
    /// `POST …/versions/{v}/publish`.
    Publish {
        /// The version published.
        version: Target,
    },
    /// `POST …/versions/{v}/unpublish`.
    Unpublish {
        /// The published version.
        version: u32,
    },
    /// `DELETE …/versions/{v}`.
    DeleteVersion {
        /// The draft deleted.
        version: u32,
    },
    /// `PUT /allma/flows/{id}` with name, description, tags and variables.
    PutFlowMaster {
        /// The body.
        #[serde(skip)]
        body: Value,
    },
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Flow or PromptTemplate.
    pub kind: Kind,
    /// Allma id.
    pub id: String,
    /// `file:line` of the definition (none for pruned resources).
    pub source: Option<String>,
    /// What happens.
    pub action: Action,
    /// The live state was changed outside allma-gitops.
    pub drift: bool,
    /// Why (drift, refusal, prune policy).
    pub reason: Option<String>,
    /// Field-level differences, live → desired.
    pub diff: Vec<FieldChange>,
    /// The operations, in order.
    pub operations: Vec<Op>,
    /// Dependency wave: every change of a wave runs after the previous wave.
    #[serde(skip)]
    pub wave: usize,
}

/// Counts per action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// To create.
    pub create: usize,
    /// To update (drift excluded).
    pub update: usize,
    /// To prune.
    pub prune: usize,
    /// Drifted and to be repaired.
    pub drift: usize,
    /// Refused (errors).
    pub refused: usize,
    /// Already in sync.
    pub unchanged: usize,
}

/// The whole plan: `--output json` prints it as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Changes in execution order.
    pub changes: Vec<Change>,
    /// Counts.
    pub summary: Summary,
}

impl Plan {
    /// Whether applying would write anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| !c.operations.is_empty())
    }

    /// Whether some resource is refused (an error).
    pub fn has_refusals(&self) -> bool {
        self.summary.refused > 0
    }
}

/// Planning failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Sub-flows form a cycle.
    #[error("flows reference each other in a cycle: {0} (sub-flows must form a tree)")]
    Cycle(String),
}

/// Plans the changes that make `live` match `desired`.
pub fn plan(desired: &[Desired], live: &Live, opts: &Options) -> Result<Plan, Error> {
    let waves = order::waves(desired)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (d, wave) in desired.iter().zip(&waves) {
        let entry = live.resources.get(&(d.kind, d.id.clone()));
        match plan_one(d, entry, live, desired, opts) {
            Some(mut change) => {
                change.wave = *wave;
                changes.push(change);
            }
            None => unchanged += 1,
        }
    }
    if opts.prune {
        let last = waves.iter().max().map_or(0, |w| w + 1);
        changes.extend(prunes(desired, live, opts, last));
    }
    changes.sort_by_key(|c| c.wave);
    let summary = summarize(&changes, unchanged);
    Ok(Plan { changes, summary })
}

fn summarize(changes: &[Change], unchanged: usize) -> Summary {
    let mut s = Summary {
        unchanged,
        ..Summary::default()
    };
    for c in changes {
        match (c.action, c.drift) {
            (Action::Refused, _) => s.refused += 1,
            (Action::Create, _) => s.create += 1,
            (Action::Prune, _) => s.prune += 1,
            (_, true) => s.drift += 1,
            (_, false) => s.update += 1,
        }
    }
    s
}

fn new_change(d: &Desired, action: Action) -> Change {
    Change {
        kind: d.kind,
        id: d.id.clone(),
        source: Some(d.source.to_string()),
        action,
        drift: false,
        reason: None,
        diff: Vec::new(),
        operations: Vec::new(),
        wave: 0,
    }
}

fn refused(d: &Desired, reason: String) -> Change {
    Change {
        reason: Some(reason),
        ..new_change(d, Action::Refused)
    }
}

fn owner_tag(opts: &Options) -> String {
    format!("{}{}", model::OWNER_TAG_PREFIX, opts.owner)
}

fn plan_one(
    d: &Desired,
    entry: Option<&LiveResource>,
    live: &Live,
    all: &[Desired],
    opts: &Options,
) -> Option<Change> {
    if let Some(r) = d.references.iter().find(|r| {
        !live.exists(r.kind, &r.id) && !all.iter().any(|o| o.kind == r.kind && o.id == r.id)
    }) {
        let at = format!("{}:{}", d.source.file.display(), r.line);
        return Some(refused(
            d,
            format!(
                "{at}: refers to {} `{}`, which is neither defined in these files nor present in Allma",
                r.kind, r.id
            ),
        ));
    }
    let Some((master, r)) = entry.and_then(|r| r.master.as_ref().map(|m| (m, r))) else {
        return Some(create(d));
    };
    // A prompt whose creation stopped between import and the PUT that copies its tags
    // to the master still carries the tag on its version: finish it, don't refuse it.
    let version_tags = r
        .latest
        .as_ref()
        .or(r.published.as_ref())
        .and_then(|v| v.get("tags"))
        .and_then(Value::as_array);
    let owned = master.tags.contains(&owner_tag(opts))
        || (d.kind == Kind::PromptTemplate
            && version_tags.is_some_and(|t| t.contains(&json!(owner_tag(opts)))));
    if !owned && !opts.adopt {
        return Some(refused(
            d,
            format!(
                "{} `{}` already exists in Allma and is not managed by owner `{}` (no `{}` tag); nothing was written. Rerun with --adopt to take it over, or choose another id",
                d.kind,
                d.id,
                opts.owner,
                owner_tag(opts)
            ),
        ));
    }
    update(d, master, r, owned)
}

fn create(d: &Desired) -> Change {
    let mut change = new_change(d, Action::Create);
    let base = match d.kind {
        Kind::Flow => json!({"steps": {}}),
        Kind::PromptTemplate => json!({}),
    };
    change.diff = field_changes(&base, &d.normalized);
    if d.kind == Kind::Flow {
        // A prompt's name, description and tags are part of its version, already above.
        change.diff.extend(master_changes(d, None, &Map::new()));
    }
    let mut item = d.version.as_object().cloned().unwrap_or_default();
    item.insert("id".into(), json!(d.id));
    item.insert("version".into(), json!(1));
    match d.kind {
        Kind::Flow => {
            item.insert("isPublished".into(), json!(d.publish));
            item.insert(
                "flowVariables".into(),
                Value::Object(d.master.variables.clone()),
            );
            change.operations.push(Op::Import {
                item: Value::Object(item),
            });
        }
        Kind::PromptTemplate => {
            // Import does not store a prompt master's tags: a PUT of version 1 copies them.
            item.insert("isPublished".into(), json!(false));
            change.operations.push(Op::Import {
                item: Value::Object(item),
            });
            change.operations.push(Op::PutVersion {
                version: Target::Number(1),
                body: d.version.clone(),
            });
            if d.publish {
                change.operations.push(Op::Publish {
                    version: Target::Number(1),
                });
            }
        }
    }
    change
}

/// The flow variables live: every version read returns the master's.
fn live_variables(r: &LiveResource) -> Map<String, Value> {
    r.published
        .as_ref()
        .or(r.latest.as_ref())
        .and_then(|v| v.get("flowVariables"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn master_changes(
    d: &Desired,
    master: Option<&MasterSummary>,
    variables: &Map<String, Value>,
) -> Vec<FieldChange> {
    if d.kind == Kind::PromptTemplate && master.is_some() {
        // A prompt's name/description/tags are compared on its version; only the
        // master's tags can lag behind (they are copied by a PUT of the latest version).
        let live = json!({"tags": model_tags(master)});
        return field_changes(&live, &json!({"tags": d.master.tags}));
    }
    let live = match master {
        Some(m) => {
            json!({"name": m.name, "description": m.description, "tags": model_tags(master), "variables": variables})
        }
        None => json!({}),
    };
    let mut desired =
        json!({"name": d.master.name, "description": d.master.description, "tags": d.master.tags});
    if d.kind == Kind::Flow {
        desired["variables"] = Value::Object(d.master.variables.clone());
    }
    field_changes(&live, &desired)
}

fn model_tags(master: Option<&MasterSummary>) -> Vec<String> {
    let mut tags = master.map(|m| m.tags.clone()).unwrap_or_default();
    tags.sort();
    tags.dedup();
    tags
}

fn update(d: &Desired, master: &MasterSummary, r: &LiveResource, owned: bool) -> Option<Change> {
    let variables = live_variables(r);
    let master_diff = master_changes(d, Some(master), &variables);
    // With `publish: false` the latest version is what must match; otherwise the published one.
    let current = if d.publish {
        r.published.as_ref()
    } else {
        r.latest.as_ref().or(r.published.as_ref())
    };
    let current_n = current.map(|v| normalized(d.kind, v));
    let content_same = current_n.as_ref() == Some(&d.normalized);
    if content_same && master_diff.is_empty() {
        return None;
    }
    let mut change = new_change(d, Action::Update);
    let old = current_n.unwrap_or_else(|| json!({}));
    change.diff = if content_same {
        Vec::new()
    } else {
        field_changes(&old, &d.normalized)
    };
    change.diff.extend(master_diff.iter().cloned());
    if owned {
        (change.drift, change.reason) = match drift(d, master, r) {
            Some(reason) => (true, Some(reason)),
            None => (false, None),
        };
    } else {
        change.reason = Some(format!(
            "adopting: adds the ownership tag to an existing {}",
            d.kind
        ));
    }
    let needs_master_put = d.kind == Kind::Flow && !master_diff.is_empty();
    let prompt_tags_lag = d.kind == Kind::PromptTemplate && !master_diff.is_empty();
    let latest = r.latest.as_ref().filter(|_| r.versions.is_some());
    let latest_n = latest.and_then(version_of);
    let draft_equal = latest.is_some_and(|v| normalized(d.kind, v) == d.normalized);
    let mut ops = Vec::new();
    if d.kind == Kind::Flow
        && (needs_master_put && (content_same || draft_equal) || variables != d.master.variables)
    {
        ops.push(Op::PutFlowMaster {
            body: flow_master_body(d),
        });
    }
    match (content_same && !prompt_tags_lag, draft_equal, latest_n) {
        (true, _, _) => {}
        (false, true, Some(n)) if !prompt_tags_lag => {
            change.action = Action::PublishDraft;
            if d.publish {
                ops.push(Op::Publish {
                    version: Target::Number(n),
                });
            }
        }
        (false, _, Some(n)) if latest.is_some_and(|v| reusable_draft(d.kind, v, r)) => {
            ops.push(Op::PutVersion {
                version: Target::Number(n),
                body: version_body(d, latest),
            });
            if d.publish {
                ops.push(Op::Publish {
                    version: Target::Number(n),
                });
            }
        }
        _ => {
            let base = r.latest.as_ref().or(r.published.as_ref());
            ops.push(Op::CreateVersion {
                after: master.latest_version.unwrap_or(0),
            });
            ops.push(Op::PutVersion {
                version: Target::New,
                body: version_body(d, base),
            });
            if d.publish {
                ops.push(Op::Publish {
                    version: Target::New,
                });
            }
        }
    }
    change.operations = ops;
    Some(change)
}

fn version_of(v: &Value) -> Option<u32> {
    v.get("version")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// A draft left by an interrupted run of allma-gitops: unpublished, newer than the
/// published version, written by us and still marked as managed in code.
fn reusable_draft(kind: Kind, v: &Value, r: &LiveResource) -> bool {
    let unpublished = v.get("isPublished") != Some(&Value::Bool(true));
    let newer = match (version_of(v), r.published.as_ref().and_then(version_of)) {
        (Some(l), Some(p)) => l > p,
        (Some(_), None) => true,
        _ => false,
    };
    let ours = v.get(HASH_FIELD).is_some();
    let code = kind == Kind::PromptTemplate
        || v.get("authoringSource").and_then(Value::as_str) == Some("code");
    unpublished && newer && ours && code
}

/// Why the live state is not what allma-gitops last wrote, if it is not.
fn drift(d: &Desired, master: &MasterSummary, r: &LiveResource) -> Option<String> {
    let p = r.published.as_ref()?;
    let pn = version_of(p).unwrap_or_default();
    match p.get(HASH_FIELD).and_then(Value::as_str) {
        None => {
            return Some(format!(
                "published version {pn} was not written by allma-gitops"
            ));
        }
        Some(h) if h != content_hash(&normalized(d.kind, p)) => {
            return Some(format!(
                "published version {pn} was edited outside allma-gitops"
            ));
        }
        Some(_) => {}
    }
    let latest = r.latest.as_ref()?;
    let ln = version_of(latest)?;
    let created = r
        .versions
        .as_ref()?
        .iter()
        .find(|v| v.version == ln)?
        .created_at
        .clone()?;
    let published_at = p.get("publishedAt").and_then(Value::as_str)?;
    (ln > pn && latest.get(HASH_FIELD).is_some() && published_at > created.as_str()).then(|| {
        format!(
            "version {pn} was published after allma-gitops wrote version {ln} (latest is {})",
            master.latest_version.unwrap_or(ln)
        )
    })
}

/// The complete body of a version PUT: the desired version, plus explicit resets of
/// fields the base version has and the desired one does not (a PUT deep-merges).
fn version_body(d: &Desired, base: Option<&Value>) -> Value {
    let mut body = d.version.as_object().cloned().unwrap_or_default();
    if d.kind == Kind::Flow {
        // Non-nullable schema fields are reset to their defaults, the rest to null.
        body.entry("onCompletionActions").or_insert(json!([]));
        body.entry("enableExecutionLogs").or_insert(json!(false));
    }
    if let Some(Value::Object(base)) = base {
        let skip = |k: &str| model::SERVER_FIELDS.contains(&k) || k == "flowVariables";
        for key in base.keys().filter(|k| !skip(k)) {
            body.entry(key.clone()).or_insert(Value::Null);
        }
    }
    Value::Object(body)
}

fn flow_master_body(d: &Desired) -> Value {
    json!({
        "name": d.master.name,
        "description": d.master.description,
        "tags": d.master.tags,
        "flowVariables": d.master.variables,
    })
}

/// Owned resources no longer desired get their deletion policy.
fn prunes(desired: &[Desired], live: &Live, opts: &Options, wave: usize) -> Vec<Change> {
    let tag = owner_tag(opts);
    let wanted: BTreeSet<(Kind, &str)> = desired.iter().map(|d| (d.kind, d.id.as_str())).collect();
    let mut out = Vec::new();
    for ((kind, id), r) in &live.resources {
        let Some(m) = r.master.as_ref().filter(|m| m.tags.contains(&tag)) else {
            continue;
        };
        if wanted.contains(&(*kind, id.as_str())) {
            continue;
        }
        let policy = model::policy_from_tags(m.tags.iter().map(String::as_str));
        let mut ops = Vec::new();
        if policy != DeletionPolicy::Retain {
            ops.extend(m.published_version.map(|version| Op::Unpublish { version }));
        }
        if policy == DeletionPolicy::Delete {
            let mut numbers: Vec<u32> = r
                .versions
                .iter()
                .flatten()
                .map(|v| v.version)
                .filter(|v| *v >= 2)
                .collect();
            numbers.sort_unstable_by(|a, b| b.cmp(a));
            ops.extend(
                numbers
                    .into_iter()
                    .map(|version| Op::DeleteVersion { version }),
            );
        }
        if ops.is_empty() {
            continue;
        }
        out.push(Change {
            kind: *kind,
            id: id.clone(),
            source: None,
            action: Action::Prune,
            drift: false,
            reason: Some(format!(
                "no longer defined; deletionPolicy {}",
                policy.as_str()
            )),
            diff: Vec::new(),
            operations: ops,
            wave,
        });
    }
    out
}
