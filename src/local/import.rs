//! `POST /allma/import` and `POST /allma/export` of the embedded Admin API (§3.5, §5.10):
//! caller-chosen ids, per-item errors, overwrite of existing slots, export with dependencies.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::ids;
use super::masters::new_master;
use super::publish::{mark_published, unpublish_previous};
use super::reply::{ApiError, Outcome, Reply, flatten};
use super::store::{Change, Kind, Store, is_safe_id};
use super::validate::{self, FieldError};
use super::versions::{as_read, sync_master};

/// Counters of one summary section, keyed as the real import reports them.
const SECTIONS: [&str; 5] = ["flows", "steps", "prompts", "mcpConnections", "agents"];

/// What the import did, in the shape of §5.10.
struct Summary {
    counts: Map<String, Value>,
    errors: Vec<Value>,
}

impl Summary {
    fn new() -> Summary {
        let zero: Map<String, Value> = SECTIONS
            .iter()
            .map(|s| ((*s).to_string(), json!(0)))
            .collect();
        let counts = ["created", "updated", "skipped"]
            .iter()
            .map(|k| ((*k).to_string(), Value::Object(zero.clone())))
            .collect();
        Summary {
            counts,
            errors: Vec::new(),
        }
    }

    fn count(&mut self, outcome: &str, section: &str) {
        if let Some(n) = self
            .counts
            .get_mut(outcome)
            .and_then(|o| o.get_mut(section))
        {
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
    }

    fn error(&mut self, id: &Value, kind: &str, message: impl Into<String>) {
        self.errors
            .push(json!({"id": id, "type": kind, "message": message.into()}));
    }

    fn into_value(self) -> Value {
        let mut out = self.counts;
        out.insert("errors".to_string(), Value::Array(self.errors));
        Value::Object(out)
    }
}

fn array<'a>(payload: &'a Value, key: &str) -> &'a [Value] {
    payload
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Validates the envelope and every flow/prompt as the import validator does.
fn check_payload(payload: &mut Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if payload.get("formatVersion") != Some(&json!("1.0")) {
        errors.push((
            "formatVersion".to_string(),
            "Invalid literal value, expected \"1.0\"".to_string(),
        ));
    }
    let stamp = payload.get("exportedAt").and_then(Value::as_str);
    if stamp.is_none_or(|s| s.parse::<jiff::Timestamp>().is_err()) {
        errors.push(("exportedAt".to_string(), "Invalid datetime".to_string()));
    }
    let now = ids::now();
    if let Some(flows) = payload.get_mut("flows").and_then(Value::as_array_mut) {
        for (i, flow) in flows.iter_mut().enumerate() {
            if let Some(obj) = flow.as_object_mut() {
                obj.entry("version").or_insert(json!(1));
                obj.entry("createdAt").or_insert(json!(now));
                obj.entry("updatedAt").or_insert(json!(now));
            }
            validate::flow_defaults(flow);
            let found = validate::check_flow(flow);
            errors.extend(
                found
                    .into_iter()
                    .map(|(p, m)| (format!("flows[{i}].{p}"), m)),
            );
        }
    }
    if let Some(prompts) = payload
        .get_mut("promptTemplates")
        .and_then(Value::as_array_mut)
    {
        for (i, prompt) in prompts.iter_mut().enumerate() {
            validate::prompt_defaults(prompt);
            let found = validate::check_prompt(prompt, true);
            errors.extend(
                found
                    .into_iter()
                    .map(|(p, m)| (format!("promptTemplates[{i}].{p}"), m)),
            );
        }
    }
    errors
}

/// `POST /allma/import`.
pub(crate) fn import(store: &mut Store, body: &[u8]) -> Outcome {
    let mut payload: Value = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|_| ApiError::bad_import("Invalid JSON in request body.", None))?;
    let errors = check_payload(&mut payload);
    if !errors.is_empty() {
        return Err(ApiError::bad_import(
            "Invalid input for import.",
            Some(flatten(&[], &errors)),
        ));
    }
    let Some(overwrite) = payload
        .pointer("/options/overwrite")
        .and_then(Value::as_bool)
    else {
        return Err(ApiError::bad_import("Invalid import options.", None));
    };
    let mut summary = Summary::new();
    for (key, kind) in [
        ("stepDefinitions", "step"),
        ("mcpConnections", "mcpConnection"),
        ("agents", "agent"),
    ] {
        for item in array(&payload, key) {
            summary.error(&item["id"], kind, "not supported by the embedded Admin API");
        }
    }
    for (key, kind) in [("promptTemplates", Kind::Prompt), ("flows", Kind::Flow)] {
        for item in array(&payload, key) {
            import_item(store, kind, item, overwrite, &mut summary);
        }
    }
    Ok(Reply::ok(summary.into_value()))
}

fn import_item(
    store: &mut Store,
    kind: Kind,
    item: &Value,
    overwrite: bool,
    summary: &mut Summary,
) {
    let (section, type_name) = match kind {
        Kind::Flow => ("flows", "flow"),
        Kind::Prompt => ("prompts", "prompt"),
    };
    let id = item["id"].as_str().unwrap_or_default();
    let result = if !is_safe_id(id) {
        Err("id must consist of [A-Za-z0-9._-] (embedded Admin API)".to_string())
    } else if store.get(kind, id).is_none() {
        create_item(store, kind, id, item).map(|()| "created")
    } else if overwrite {
        overwrite_item(store, kind, id, item).map(|()| "updated")
    } else {
        Ok("skipped")
    };
    match result {
        Ok(outcome) => summary.count(outcome, section),
        Err(message) => summary.error(&item["id"], type_name, message),
    }
}

/// Master fields of a new entity taken from the payload (§3.5).
fn master_fields(kind: Kind, item: &Value) -> Map<String, Value> {
    let mut fields = Map::new();
    let name = match &item["name"] {
        Value::String(s) => s.clone(),
        Value::Null => "undefined".to_string(),
        other => other.to_string(),
    };
    fields.insert("name".to_string(), json!(name));
    let description = item.get("description").cloned().unwrap_or(Value::Null);
    fields.insert("description".to_string(), description);
    if kind == Kind::Flow {
        fields.insert(
            "tags".to_string(),
            item.get("tags").cloned().unwrap_or_else(|| json!([])),
        );
        fields.insert(
            "flowVariables".to_string(),
            item.get("flowVariables")
                .cloned()
                .unwrap_or_else(|| json!({})),
        );
    }
    fields
}

fn create_item(store: &mut Store, kind: Kind, id: &str, item: &Value) -> Result<(), String> {
    let number = item["version"].as_u64().unwrap_or(1);
    let now = ids::now();
    let mut master = new_master(kind, id, master_fields(kind, item), number, &now);
    let mut record = item.clone();
    record["updatedAt"] = json!(now);
    if item["isPublished"] == json!(true) {
        master["publishedVersion"] = json!(number);
    }
    store
        .commit(
            kind,
            id,
            vec![
                Change::Version { number, record },
                Change::Master { record: master },
            ],
        )
        .map_err(|e| e.to_string())
}

fn overwrite_item(store: &mut Store, kind: Kind, id: &str, item: &Value) -> Result<(), String> {
    let Some(entity) = store.get(kind, id) else {
        return Err(format!("{id} disappeared during import"));
    };
    let now = ids::now();
    let mut master = entity.master.clone();
    for key in ["name", "description", "tags"] {
        if let Some(v) = item
            .get(key)
            .filter(|_| kind == Kind::Flow || key != "tags")
        {
            master[key] = v.clone();
        }
    }
    if kind == Kind::Flow {
        master["flowVariables"] = item
            .get("flowVariables")
            .cloned()
            .unwrap_or_else(|| json!({}));
    }
    master["updatedAt"] = json!(now);
    let number = item["version"].as_u64().unwrap_or(1);
    let slot_exists = entity.versions.contains_key(&number);
    let latest = entity.master["latestVersion"].as_u64();
    store
        .commit(
            kind,
            id,
            vec![Change::Master {
                record: master.clone(),
            }],
        )
        .map_err(|e| e.to_string())?;
    if !slot_exists {
        let what = if kind == Kind::Flow { "flow" } else { "prompt" };
        return Err(format!(
            "Cannot overwrite {what}: version {number} does not exist. Creating new versions for existing {what}s on import is not supported."
        ));
    }
    let mut record = item.clone();
    record["updatedAt"] = json!(now);
    let mut changes = Vec::new();
    if item["isPublished"] == json!(true) {
        let entity = store
            .get(kind, id)
            .ok_or_else(|| format!("{id} disappeared during import"))?;
        changes.extend(unpublish_previous(entity, number));
        mark_published(&mut record, &mut master, number, &now);
    }
    if latest == Some(number) {
        sync_master(kind, &mut master, &record, &now);
    }
    changes.push(Change::Version { number, record });
    changes.push(Change::Master { record: master });
    store.commit(kind, id, changes).map_err(|e| e.to_string())
}

/// `POST /allma/export`: the named flows (every version, with their sub-flows and prompts)
/// and prompts; everything when no ids are given.
pub(crate) fn export(store: &Store, body: &[u8]) -> Outcome {
    let request: Value = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|_| ApiError::bad_import("Invalid JSON in request body.", None))?;
    let ids_of = |key: &str| -> Vec<String> {
        array(&request, key)
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let (mut flow_ids, mut prompt_ids) = (ids_of("flowIds"), ids_of("promptTemplateIds"));
    let others = ["stepDefinitionIds", "mcpConnectionIds", "agentIds"]
        .iter()
        .all(|k| ids_of(k).is_empty());
    if flow_ids.is_empty() && prompt_ids.is_empty() && others {
        flow_ids = store
            .all(Kind::Flow)
            .filter_map(|e| e.master["id"].as_str().map(str::to_string))
            .collect();
        prompt_ids = store
            .all(Kind::Prompt)
            .filter_map(|e| e.master["id"].as_str().map(str::to_string))
            .collect();
    }
    let (flows, referenced) = export_flows(store, flow_ids);
    let prompt_set: BTreeSet<String> = prompt_ids.into_iter().chain(referenced).collect();
    let prompts: Vec<Value> = prompt_set
        .iter()
        .filter_map(|id| store.get(Kind::Prompt, id))
        .flat_map(|e| e.versions.values().cloned())
        .collect();
    Ok(Reply::ok(json!({
        "formatVersion": "1.0", "exportedAt": ids::now(), "stepDefinitions": [],
        "flows": flows, "promptTemplates": prompts, "mcpConnections": [], "agents": [],
    })))
}

/// Every version of each flow and, recursively, of its sub-flows; plus referenced prompt ids.
fn export_flows(store: &Store, mut pending: Vec<String>) -> (Vec<Value>, BTreeSet<String>) {
    let (mut seen, mut prompts, mut out) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    while let Some(id) = pending.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(entity) = store.get(Kind::Flow, &id) else {
            continue;
        };
        for record in entity.versions.values() {
            for step in record["steps"]
                .as_object()
                .into_iter()
                .flat_map(|s| s.values())
            {
                let reference = |key: &str| step[key].as_str().map(str::to_string);
                match step["stepType"].as_str() {
                    Some("LLM_INVOCATION") => prompts.extend(reference("promptTemplateId")),
                    Some("START_SUB_FLOW") => pending.extend(reference("subFlowDefinitionId")),
                    _ => {}
                }
            }
            out.push(as_read(Kind::Flow, entity, record));
        }
    }
    (out, prompts)
}
