//! The planner: a pure function from desired and live state to a `Plan` of changes, each
//! with its field-level differences and the exact Admin API operations that realise it.
//! The executor performs those operations and decides nothing (DESIGN §4).

use crate::admin::{Live, LiveResource};
use crate::load::Desired;
use crate::model::{self, Kind};
use serde::Serialize;
use serde_json::Value;

mod diff;
mod order;
mod prune;
mod resource;
#[cfg(test)]
mod tests;

pub use prune::owned_orphans;

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
    /// `POST …/versions` copying `source` (the highest existing version; `None`: latest).
    CreateVersion {
        /// The version copied.
        source: Option<u32>,
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
    /// Resources this one refers to: it is not applied when one of them failed.
    #[serde(skip)]
    pub depends_on: Vec<(Kind, String)>,
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
    /// `--prune` with nothing desired would prune every owned resource.
    #[error(
        "refusing to prune: the paths hold no Flow or PromptTemplate definitions, so every resource owned by `{0}` would be pruned; check the paths, or prune with a non-empty set"
    )]
    PruneEverything(String),
}

/// Plans the changes that make `live` match `desired`.
pub fn plan(desired: &[Desired], live: &Live, opts: &Options) -> Result<Plan, Error> {
    if opts.prune && desired.is_empty() {
        return Err(Error::PruneEverything(opts.owner.clone()));
    }
    let waves = order::waves(desired)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for (d, wave) in desired.iter().zip(&waves) {
        let entry = live.resources.get(&(d.kind, d.id.clone()));
        match plan_one(d, entry, live, desired, opts) {
            Some(mut change) => {
                change.wave = *wave;
                change.depends_on = d
                    .references
                    .iter()
                    .map(|r| (r.kind, r.id.clone()))
                    .collect();
                changes.push(change);
            }
            None => unchanged += 1,
        }
    }
    if opts.prune {
        let last = waves.iter().max().map_or(0, |w| w + 1);
        changes.extend(prune::prunes(desired, live, &opts.owner, last));
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
        depends_on: Vec::new(),
    }
}

fn refused(d: &Desired, reason: String) -> Change {
    Change {
        reason: Some(reason),
        ..new_change(d, Action::Refused)
    }
}

fn plan_one(
    d: &Desired,
    entry: Option<&LiveResource>,
    live: &Live,
    all: &[Desired],
    opts: &Options,
) -> Option<Change> {
    let defined = |kind, id: &str| all.iter().any(|o| o.kind == kind && o.id == id);
    if let Some(r) = d
        .references
        .iter()
        .find(|r| !live.exists(r.kind, &r.id) && !defined(r.kind, &r.id))
    {
        let at = format!("{}:{}", d.source.file.display(), r.line);
        let why = format!(
            "{at}: refers to {} `{}`, which is neither defined in these files nor present in Allma",
            r.kind, r.id
        );
        return Some(refused(d, why));
    }
    let Some(r) = entry.filter(|r| r.master.is_some()) else {
        return Some(resource::create(d));
    };
    if let Some(error) = &r.error {
        return Some(refused(d, format!("cannot read its live state: {error}")));
    }
    let owned = resource::owned(d, r, &opts.owner);
    if !owned && !opts.adopt {
        let tag = model::owner_tag(&opts.owner);
        return Some(refused(
            d,
            format!(
                "{} `{}` already exists in Allma and is not managed by owner `{}` (no `{tag}` tag); nothing was written. Rerun with --adopt to take it over, or choose another id",
                d.kind, d.id, opts.owner
            ),
        ));
    }
    resource::update(d, r, owned)
}

/// The operation name as the JSON output writes it (`create-version`, …).
pub fn op_name(op: &Op) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.get("op").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}
