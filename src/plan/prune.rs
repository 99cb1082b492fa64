//! Pruning: owned resources that are no longer desired get their deletion policy, unless
//! a desired resource still refers to them.

use super::{Action, Change, Op};
use crate::admin::Live;
use crate::load::Desired;
use crate::model::{self, DeletionPolicy, Kind};

/// Owned live resources that no desired resource defines.
pub fn owned_orphans(desired: &[Desired], live: &Live, owner: &str) -> Vec<(Kind, String)> {
    let tag = model::owner_tag(owner);
    live.resources
        .iter()
        .filter(|(_, r)| r.master.as_ref().is_some_and(|m| m.tags.contains(&tag)))
        .filter(|((kind, id), _)| !desired.iter().any(|d| d.kind == *kind && d.id == *id))
        .map(|(key, _)| key.clone())
        .collect()
}

/// One prune change per owned orphan with something to do.
pub(super) fn prunes(desired: &[Desired], live: &Live, owner: &str, wave: usize) -> Vec<Change> {
    let mut out = Vec::new();
    for (kind, id) in owned_orphans(desired, live, owner) {
        let Some(master) = live
            .resources
            .get(&(kind, id.clone()))
            .and_then(|r| r.master.as_ref())
        else {
            continue;
        };
        let policy = model::policy_from_tags(master.tags.iter().map(String::as_str));
        let mut change = Change {
            kind,
            id: id.clone(),
            source: None,
            action: Action::Prune,
            drift: false,
            reason: Some(format!(
                "no longer defined; deletionPolicy {}",
                policy.as_str()
            )),
            diff: Vec::new(),
            operations: operations(live, kind, &id, policy),
            wave,
            depends_on: Vec::new(),
        };
        if change.operations.is_empty() {
            continue;
        }
        if let Some(user) = desired
            .iter()
            .find(|d| d.references.iter().any(|r| r.kind == kind && r.id == id))
        {
            change.action = Action::Refused;
            change.operations.clear();
            change.reason = Some(format!(
                "not pruned: {} `{}` ({}) still refers to it; remove the reference first",
                user.kind, user.id, user.source
            ));
        }
        out.push(change);
    }
    out
}

/// Unpublish the live version; for `Delete`, then every version but 1, highest first (a
/// delete of the latest number moves the counter down; version 1 can never go).
fn operations(live: &Live, kind: Kind, id: &str, policy: DeletionPolicy) -> Vec<Op> {
    let Some(r) = live.resources.get(&(kind, id.to_string())) else {
        return Vec::new();
    };
    let mut ops = Vec::new();
    if policy != DeletionPolicy::Retain {
        ops.extend(
            r.master
                .as_ref()
                .and_then(|m| m.published_version)
                .map(|version| Op::Unpublish { version }),
        );
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
    ops
}
