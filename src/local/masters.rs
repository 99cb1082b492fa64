//! Master-level operations of the embedded Admin API: list, tags, create, get/put master and
//! clone (§3.1–§3.3, §4.8, §4.9 of the reference).

use serde_json::{Map, Value, json};

use super::ids;
use super::reply::{ApiError, Outcome, Reply, flatten, summary};
use super::store::{Change, Entity, Kind, Store};
use super::validate::flow_defaults;

/// Fields the listing index projects (§4.9).
const LIST_PROJECTION: &[&str] = &[
    "PK",
    "SK",
    "itemType",
    "name",
    "id",
    "description",
    "latestVersion",
    "publishedVersion",
    "tags",
    "updatedAt",
    "stepType",
    "emailTriggerAddress",
];

/// Content of a new prompt's version 1.
const PROMPT_PLACEHOLDER: &str = "Your prompt content for {{variable}} goes here.";

/// `(PK prefix, itemType)` of a kind.
pub(crate) fn keys(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Flow => ("FLOW_DEF#", "ALLMA_FLOW_DEFINITION"),
        Kind::Prompt => ("PROMPT_TEMPLATE#", "ALLMA_PROMPT_TEMPLATE"),
    }
}

/// A fresh master record. Flows get `tags: []` and `flowVariables: {}`; prompts neither.
pub(crate) fn new_master(
    kind: Kind,
    id: &str,
    fields: Map<String, Value>,
    latest: u64,
    now: &str,
) -> Value {
    let (pk, item_type) = keys(kind);
    let mut master = json!({
        "PK": format!("{pk}{id}"), "SK": "METADATA", "itemType": item_type, "id": id,
        "latestVersion": latest, "createdAt": now, "updatedAt": now,
    });
    if kind == Kind::Flow {
        master["tags"] = json!([]);
        master["flowVariables"] = json!({});
    }
    if let Some(obj) = master.as_object_mut() {
        obj.extend(fields);
    }
    master
}

/// `GET /allma/{flows|prompt-templates}?tag=&searchText=`: projected masters ordered by name.
pub(crate) fn list(store: &Store, kind: Kind, tag: Option<&str>, search: Option<&str>) -> Outcome {
    let mut items: Vec<Value> = store
        .all(kind)
        .map(|e| &e.master)
        .filter(|m| {
            tag.is_none_or(|t| {
                m["tags"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == t))
            })
        })
        .filter(|m| search.is_none_or(|s| contains(m, "name", s) || contains(m, "description", s)))
        .map(project)
        .collect();
    items.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["name"].as_str().unwrap_or_default().to_string(),
                v["id"].to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(Reply::ok(Value::Array(items)))
}

fn contains(master: &Value, field: &str, needle: &str) -> bool {
    master[field].as_str().is_some_and(|s| s.contains(needle))
}

fn project(master: &Value) -> Value {
    let mut out = Map::new();
    for key in LIST_PROJECTION {
        if let Some(v) = master.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// `GET /allma/flows/tags`: sorted distinct tags of all flow masters.
pub(crate) fn tags(store: &Store) -> Outcome {
    let mut tags: Vec<&str> = store
        .all(Kind::Flow)
        .filter_map(|e| e.master["tags"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    tags.sort_unstable();
    tags.dedup();
    Ok(Reply::ok(json!(tags)))
}

/// Validates `{name, description?}` (create) or `{name}` (clone).
fn name_body(body: &Value, prefix: &str) -> Result<(String, Option<Value>), ApiError> {
    let mut errors = Vec::new();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if name.is_none() {
        errors.push(("name".to_string(), "Required".to_string()));
    }
    let description = body.get("description").cloned();
    if description
        .as_ref()
        .is_some_and(|d| !d.is_null() && !d.is_string())
    {
        errors.push(("description".to_string(), "Expected string".to_string()));
    }
    match name {
        Some(name) if errors.is_empty() => Ok((name.to_string(), description)),
        _ => Err(ApiError::validation(
            format!("{prefix}{}", summary(&errors)),
            flatten(&[], &errors),
        )),
    }
}

/// `POST /allma/{flows|prompt-templates}`: new UUID, master + version 1. Flows return the
/// master, prompts version 1.
pub(crate) fn create(store: &mut Store, kind: Kind, body: &Value) -> Outcome {
    let (name, description) = name_body(body, "Invalid input: ")?;
    let (id, now) = (ids::uuid(), ids::now());
    let (master, version) = match kind {
        Kind::Flow => {
            let description = description.unwrap_or(Value::Null);
            let fields = json!({"name": name, "description": description});
            (
                new_master(kind, &id, object(fields), 1, &now),
                first_flow_version(&id, &description, &now),
            )
        }
        Kind::Prompt => {
            let mut version = json!({"id": id, "version": 1, "name": name, "content": PROMPT_PLACEHOLDER,
                "isPublished": false, "tags": [], "createdAt": now, "updatedAt": now, "publishedAt": null});
            if let Some(d) = &description {
                version["description"] = d.clone();
            }
            let fields = json!({"name": name, "description": description.unwrap_or(Value::Null)});
            (new_master(kind, &id, object(fields), 1, &now), version)
        }
    };
    commit_new(store, kind, &id, master, version)
}

/// Stores a new entity (master and version 1); flows answer with the master, prompts
/// with the version, as the real handlers do.
fn commit_new(store: &mut Store, kind: Kind, id: &str, master: Value, version: Value) -> Outcome {
    let changes = vec![
        Change::Version {
            number: 1,
            record: version.clone(),
        },
        Change::Master {
            record: master.clone(),
        },
    ];
    store.commit(kind, id, changes)?;
    Ok(Reply::created(if kind == Kind::Flow {
        master
    } else {
        version
    }))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn merge_into(target: &mut Value, fields: &Value) {
    if let (Some(t), Some(f)) = (target.as_object_mut(), fields.as_object()) {
        t.extend(f.clone());
    }
}

fn first_flow_version(id: &str, description: &Value, now: &str) -> Value {
    let start = format!("start_step_{}", ids::hex(8));
    let mut version = json!({
        "id": id, "version": 1, "isPublished": false, "publishedAt": null, "createdAt": now,
        "updatedAt": now, "description": description, "startStepInstanceId": start,
        "steps": {start.clone(): {"stepInstanceId": start, "stepType": "NO_OP", "displayName": "Start",
            "stepDefinitionId": "system-noop", "position": {"x": 250, "y": 50}}},
    });
    flow_defaults(&mut version);
    version
}

/// `GET /allma/flows/{id}`: the raw master.
pub(crate) fn get(store: &Store, kind: Kind, id: &str) -> Outcome {
    let entity = store
        .get(kind, id)
        .ok_or_else(ApiError::resource_not_found)?;
    Ok(Reply::ok(entity.master.clone()))
}

/// `PUT /allma/flows/{id}`: name, description (when sent), tags (default `[]`) and
/// flowVariables (default `{}`, flows only) replace the stored ones.
pub(crate) fn put(store: &mut Store, kind: Kind, id: &str, body: &Value) -> Outcome {
    let (name, _) = name_body(body, "Invalid input: ")?;
    let mut errors = Vec::new();
    let tags = body.get("tags").cloned().unwrap_or_else(|| json!([]));
    if !tags
        .as_array()
        .is_some_and(|a| a.iter().all(Value::is_string))
    {
        errors.push(("tags".to_string(), "Expected array".to_string()));
    }
    let variables = body
        .get("flowVariables")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !variables.is_object() {
        errors.push(("flowVariables".to_string(), "Expected object".to_string()));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            format!("Invalid input: {}", summary(&errors)),
            flatten(&[], &errors),
        ));
    }
    let entity = store
        .get(kind, id)
        .ok_or_else(ApiError::conditional_failed)?;
    let mut master = entity.master.clone();
    master["name"] = json!(name);
    if let Some(d) = body.get("description") {
        master["description"] = d.clone();
    }
    master["tags"] = tags;
    if kind == Kind::Flow {
        master["flowVariables"] = variables;
    }
    master["updatedAt"] = json!(ids::now());
    store.commit(
        kind,
        id,
        vec![Change::Master {
            record: master.clone(),
        }],
    )?;
    Ok(Reply::ok(master))
}

/// `POST …/{id}/clone` (§4.8): new UUID whose version 1 copies the published (else latest)
/// version. Flows return the new master, prompts the new version.
pub(crate) fn clone(store: &mut Store, kind: Kind, id: &str, body: &Value) -> Outcome {
    let (name, _) = name_body(body, "Invalid input").map_err(|mut e| {
        e.message = "Invalid input".to_string();
        e
    })?;
    let entity = store
        .get(kind, id)
        .ok_or_else(ApiError::resource_not_found)?;
    let source = clone_source(entity).ok_or_else(ApiError::resource_not_found)?;
    let (new_id, now) = (ids::uuid(), ids::now());
    let (master, version) = match kind {
        Kind::Flow => clone_flow(entity, source, &new_id, &name, &now),
        Kind::Prompt => clone_prompt(id, source, &new_id, &name, &now),
    };
    commit_new(store, kind, &new_id, master, version)
}

fn clone_source(entity: &Entity) -> Option<&Value> {
    let number = entity.master["publishedVersion"]
        .as_u64()
        .or_else(|| entity.master["latestVersion"].as_u64())?;
    entity.versions.get(&number)
}

fn clone_flow(entity: &Entity, source: &Value, id: &str, name: &str, now: &str) -> (Value, Value) {
    let description = format!(
        "Cloned from {}",
        entity.master["name"].as_str().unwrap_or("undefined")
    );
    let mut version = source.clone();
    if let Some(v) = version.as_object_mut() {
        v.remove("name");
    }
    merge_into(
        &mut version,
        &json!({"id": id, "version": 1, "isPublished": false,
        "publishedAt": null, "description": description}),
    );
    flow_defaults(&mut version);
    let fields = json!({"name": name, "description": description,
        "tags": entity.master.get("tags").cloned().unwrap_or_else(|| json!([])),
        "flowVariables": entity.master.get("flowVariables").cloned().unwrap_or_else(|| json!({}))});
    (new_master(Kind::Flow, id, object(fields), 1, now), version)
}

fn clone_prompt(
    source_id: &str,
    source: &Value,
    id: &str,
    name: &str,
    now: &str,
) -> (Value, Value) {
    let description = format!("Cloned from prompt ID {source_id}");
    let version = json!({"id": id, "version": 1, "name": name, "description": description,
        "content": source["content"], "tags": source.get("tags").cloned().unwrap_or_else(|| json!([])),
        "isPublished": false, "publishedAt": null, "createdAt": now, "updatedAt": now});
    let fields = json!({"name": name, "description": description});
    (
        new_master(Kind::Prompt, id, object(fields), 1, now),
        version,
    )
}
