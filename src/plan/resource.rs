//! Planning one desired resource against its live state: create, or update through the
//! cheapest safe path (publish an equal draft, refill our own draft, or a new version).

use super::{Action, Change, FieldChange, Op, Target, field_changes, new_change};
use crate::admin::LiveResource;
use crate::load::Desired;
use crate::model::{
    self, HASH_FIELD, Kind, comparable, content_hash, deep_merge, same_content, tag_set,
    version_number,
};
use serde_json::{Map, Value, json};

/// A new resource: imported with its own id.
pub(super) fn create(d: &Desired) -> Change {
    let mut change = new_change(d, Action::Create);
    let base = match d.kind {
        Kind::Flow => json!({"steps": {}}),
        Kind::PromptTemplate => json!({}),
    };
    change.diff = field_changes(&base, &d.normalized);
    let mut item = d.version.as_object().cloned().unwrap_or_default();
    item.insert("id".into(), json!(d.id));
    item.insert("version".into(), json!(1));
    match d.kind {
        Kind::Flow => {
            // A prompt's name, description and tags are part of its version, already above.
            change.diff.extend(master_changes(d, None, &Map::new()));
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

/// Whether the live resource belongs to `owner`.
pub(super) fn owned(d: &Desired, r: &LiveResource, owner: &str) -> bool {
    let tag = model::owner_tag(owner);
    let Some(master) = &r.master else {
        return false;
    };
    if master.tags.contains(&tag) {
        return true;
    }
    // A prompt whose creation stopped between the import and the PUT that copies its tags
    // to the master: version 1 only, unpublished, written by us with our tag. Finish it.
    let half_created = d.kind == Kind::PromptTemplate
        && master.latest_version == Some(1)
        && master.published_version.is_none();
    let v1 = r.latest.as_ref().or(r.published.as_ref());
    half_created
        && v1.is_some_and(|v| {
            v.get(HASH_FIELD).is_some()
                && v["tags"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!(tag)))
        })
}

/// How the version content gets to the desired state.
enum Work {
    /// The content is already live.
    Nothing,
    /// A draft holds exactly the desired content: publish it.
    PublishDraft(u32),
    /// Our own unpublished draft (an interrupted run) is written again and published.
    Refill(u32),
    /// A new version from the latest, written and published.
    NewVersion,
}

/// The changes an existing, owned (or adopted) resource needs; `None` when in sync.
pub(super) fn update(d: &Desired, r: &LiveResource, owned: bool) -> Option<Change> {
    let master = r.master.as_ref()?;
    let variables = live_variables(r);
    let master_diff = master_changes(d, Some(master), &variables);
    // With `publish: false` the latest version is what must match; otherwise the published one.
    let current = if d.publish {
        r.published.as_ref()
    } else {
        r.latest.as_ref().or(r.published.as_ref())
    };
    let content_same = current.is_some_and(|v| same_content(d.kind, v, &d.normalized));
    if content_same && master_diff.is_empty() {
        return None;
    }
    let work = work(d, r, content_same, !master_diff.is_empty());
    let mut change = new_change(d, Action::Update);
    if !content_same {
        let old = current
            .or(r.latest.as_ref())
            .map_or_else(|| json!({}), |v| comparable(d.kind, v, &d.normalized));
        change.diff = field_changes(&old, &d.normalized);
    }
    change.diff.extend(master_diff.iter().cloned());
    if let Work::PublishDraft(_) = work {
        change.action = Action::PublishDraft;
    }
    if !owned {
        change.reason = Some(format!(
            "adopting: adds the ownership tag to an existing {}",
            d.kind
        ));
    } else if let Some(reason) = drift(d, r) {
        (change.drift, change.reason) = (true, Some(reason));
    }
    change.operations = operations(d, r, &work, &variables, !master_diff.is_empty());
    Some(change)
}

fn work(d: &Desired, r: &LiveResource, content_same: bool, master_differs: bool) -> Work {
    // A prompt's master tags are only copied by a PUT of its latest version.
    let prompt_tags_lag = d.kind == Kind::PromptTemplate && master_differs;
    if content_same && !prompt_tags_lag {
        return Work::Nothing;
    }
    let latest = r.latest.as_ref().filter(|_| r.versions.is_some());
    match latest.and_then(|v| Some((v, version_number(v)?))) {
        Some((v, n)) if !prompt_tags_lag && same_content(d.kind, v, &d.normalized) => {
            Work::PublishDraft(n)
        }
        Some((v, n)) if reusable_draft(d.kind, v, r) => Work::Refill(n),
        _ => Work::NewVersion,
    }
}

fn operations(
    d: &Desired,
    r: &LiveResource,
    work: &Work,
    variables: &Map<String, Value>,
    master_differs: bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    let publishes = !matches!(work, Work::Nothing);
    let removed = variables
        .keys()
        .any(|k| !d.master.variables.contains_key(k));
    // Flow variables are not versioned and are live at once: add new ones before the new
    // version goes live, drop old ones only after.
    let staged = publishes && removed && d.kind == Kind::Flow;
    // A PUT of the latest version copies name, description and tags to the master.
    let latest_number = r.master.as_ref().and_then(|m| m.latest_version);
    let version_syncs_master = match work {
        Work::NewVersion => true,
        Work::Refill(n) => Some(*n) == latest_number,
        _ => false,
    };
    if d.kind == Kind::Flow
        && ((master_differs && !version_syncs_master) || variables != &d.master.variables)
    {
        let mut body = flow_master_body(d);
        if staged {
            let mut union = variables.clone();
            union.extend(d.master.variables.clone());
            body["flowVariables"] = Value::Object(union);
        }
        ops.push(Op::PutFlowMaster { body });
    }
    let latest = r.latest.as_ref().or(r.published.as_ref());
    let (target, base) = match work {
        Work::Nothing => (None, None),
        Work::PublishDraft(n) => (Some(Target::Number(*n)), None),
        Work::Refill(n) => (Some(Target::Number(*n)), r.latest.as_ref()),
        Work::NewVersion => {
            // "latest" works unless the counter names a deleted version: then copy the
            // highest one that exists.
            let master = r.master.as_ref();
            let latest_exists = r.latest.is_some()
                || master.is_some_and(|m| m.latest_version == m.published_version);
            let highest = r
                .versions
                .as_ref()
                .and_then(|v| v.iter().map(|v| v.version).max());
            let source = if latest_exists { None } else { highest };
            let after = r
                .master
                .as_ref()
                .and_then(|m| m.latest_version)
                .unwrap_or(0);
            ops.push(Op::CreateVersion { source, after });
            (Some(Target::New), latest)
        }
    };
    if let (Some(target), Work::Refill(_) | Work::NewVersion) = (target, work) {
        ops.extend(version_puts(d, base, target));
    }
    if let Some(version) = target.filter(|_| d.publish) {
        ops.push(Op::Publish { version });
    }
    if staged {
        ops.push(Op::PutFlowMaster {
            body: flow_master_body(d),
        });
    }
    ops
}

/// A draft left by an interrupted run of allma-gitops: unpublished, newer than the
/// published version, written by us and still marked as managed in code.
fn reusable_draft(kind: Kind, v: &Value, r: &LiveResource) -> bool {
    let unpublished = v.get("isPublished") != Some(&Value::Bool(true));
    let newer = match (
        version_number(v),
        r.published.as_ref().and_then(version_number),
    ) {
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
fn drift(d: &Desired, r: &LiveResource) -> Option<String> {
    let Some(p) = r.published.as_ref() else {
        // Flows are created published in one import: nothing live means someone unpublished it.
        return (d.kind == Kind::Flow && d.publish)
            .then(|| "nothing is published: it was unpublished outside allma-gitops".to_string());
    };
    let pn = version_number(p).unwrap_or_default();
    match p.get(HASH_FIELD).and_then(Value::as_str) {
        None => {
            return Some(format!(
                "published version {pn} was not written by allma-gitops"
            ));
        }
        Some(h)
            if h != content_hash(&model::comparable(d.kind, p, &d.normalized))
                && h != content_hash(&normalized_alone(d.kind, p)) =>
        {
            return Some(format!(
                "published version {pn} was edited outside allma-gitops"
            ));
        }
        Some(_) => {}
    }
    let latest = r.latest.as_ref()?;
    let ln = version_number(latest)?;
    let created = r
        .versions
        .as_ref()?
        .iter()
        .find(|v| v.version == ln)?
        .created_at
        .clone()?;
    let published_at = p.get("publishedAt").and_then(Value::as_str)?;
    (ln > pn && latest.get(HASH_FIELD).is_some() && published_at > created.as_str())
        .then(|| format!("version {pn} was published after allma-gitops wrote version {ln}"))
}

fn normalized_alone(kind: Kind, v: &Value) -> Value {
    match kind {
        Kind::Flow => model::normalize_flow_version(v),
        Kind::PromptTemplate => model::normalize_prompt_version(v),
    }
}

/// The PUTs that make a draft hold the desired content. A PUT deep-merges into the
/// stored version, so keys the base has and the desired version lacks are reset: top
/// level to `null` in the same body, nested ones by a first PUT that nulls their parent.
fn version_puts(d: &Desired, base: Option<&Value>, version: Target) -> Vec<Op> {
    let body = version_body(d, base);
    let mut first = body.clone();
    let mut nested = false;
    let objects = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| *k != "steps" && v.is_object());
    for (key, wanted) in objects {
        // Unknown base: reset every map, to be safe.
        let stale = base.is_none_or(|b| {
            b.get(key)
                .is_some_and(|old| old.is_object() && deep_merge(old, wanted) != *wanted)
        });
        if stale {
            first[key] = Value::Null;
            nested = true;
        }
    }
    let mut ops = Vec::new();
    if nested {
        ops.push(Op::PutVersion {
            version,
            body: first,
        });
    }
    ops.push(Op::PutVersion { version, body });
    ops
}

/// The complete body of a version PUT: the desired version, plus explicit resets of the
/// top-level fields the base version has and the desired one does not.
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

/// The flow variables live: every version read returns the master's.
fn live_variables(r: &LiveResource) -> Map<String, Value> {
    let read = r.published.as_ref().or(r.latest.as_ref());
    read.and_then(|v| v.get("flowVariables"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn master_changes(
    d: &Desired,
    master: Option<&crate::admin::MasterSummary>,
    variables: &Map<String, Value>,
) -> Vec<FieldChange> {
    let live_tags = tag_set(master.map(|m| m.tags.clone()).unwrap_or_default());
    if d.kind == Kind::PromptTemplate && master.is_some() {
        // A prompt's name/description/tags are compared on its version; only the
        // master's tags can lag behind (they are copied by a PUT of the latest version).
        return field_changes(&json!({"tags": live_tags}), &json!({"tags": d.master.tags}));
    }
    let live = match master {
        Some(m) => {
            json!({"name": m.name, "description": m.description, "tags": live_tags, "variables": variables})
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
