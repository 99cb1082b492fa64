//! Normalisation: turn a flow or prompt version (desired or live) into the canonical value
//! the planner compares, so that server-managed fields, server defaults, `null`-vs-absent
//! and number formatting never show up as a difference.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Passthrough field on every version allma-gitops writes: the hash of its normalised
/// content. It tells a version written by the tool from one edited out of band.
pub const HASH_FIELD: &str = "allmaGitopsHash";

/// Fields of a version the server manages; never sent, never compared.
pub const SERVER_FIELDS: &[&str] = &[
    "id",
    "version",
    "isPublished",
    "publishedAt",
    "createdAt",
    "updatedAt",
];

/// Flow version fields that live on the master (`name`, `description`, `tags`,
/// `flowVariables`): compared there, not on the version.
const MASTER_FIELDS: &[&str] = &["name", "description", "tags", "flowVariables"];

/// Whether a flow version field is part of its content: not server-managed, not a
/// master-level field, not ours.
pub fn is_flow_content(key: &str) -> bool {
    !SERVER_FIELDS.contains(&key) && !MASTER_FIELDS.contains(&key) && key != HASH_FIELD
}

/// Normalises a flow version: drops server-managed and master-level fields, fills the
/// server's defaults (allma-admin-api.md §4.13), drops `null`s and empty
/// `onCompletionActions`, and writes integral floats as integers.
pub fn normalize_flow_version(version: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(map) = version {
        for (key, value) in map {
            if is_flow_content(key) {
                out.insert(key.clone(), canonical(value));
            }
        }
    }
    out.retain(|_, v| !v.is_null());
    if out
        .get("onCompletionActions")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        out.remove("onCompletionActions");
    }
    fill_flow_defaults(&mut out);
    Value::Object(out)
}

/// Fills the defaults the server adds when it parses a flow version with its full schema
/// (allma-admin-api.md §4.13). A PUT does not add them, so allma-gitops writes them
/// itself: what is stored then means what the server would have meant.
pub fn fill_flow_defaults(version: &mut Map<String, Value>) {
    fill(version, "enableExecutionLogs", json!(false));
    fill(version, "authoringSource", json!("visual"));
    if let Some(Value::Object(steps)) = version.get_mut("steps") {
        steps.values_mut().for_each(fill_step_defaults);
    }
    if let Some(Value::Array(actions)) = version.get_mut("onCompletionActions") {
        for action in actions.iter_mut().filter_map(Value::as_object_mut) {
            fill(action, "executeOnStatus", json!("COMPLETED"));
        }
    }
    if let Some(handler) =
        object_at(version, "defaultStepConfig").and_then(|c| object_at(c, "defaultErrorHandler"))
    {
        fill_error_handler(handler);
    }
}

fn fill_error_handler(on_error: &mut Map<String, Value>) {
    fill(on_error, "continueOnFailure", json!(false));
    if let Some(r) = object_at(on_error, "retries") {
        fill(r, "count", json!(0));
        fill(r, "intervalSeconds", json!(5));
        fill(r, "backoffRate", json!(2));
    }
    if let Some(r) = object_at(on_error, "retryOnContentError") {
        fill(r, "count", json!(1));
        fill(r, "intervalSeconds", json!(5));
        fill(r, "backoffRate", json!(2));
    }
}

/// Normalises a prompt version to the fields allma-gitops owns: name, description,
/// content and the sorted tag set.
pub fn normalize_prompt_version(version: &Value) -> Value {
    let mut out = Map::new();
    for key in ["name", "description", "content"] {
        if let Some(v) = version.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_string(), canonical(v));
        }
    }
    out.insert(
        "tags".into(),
        Value::Array(sorted_tags(version.get("tags"))),
    );
    Value::Object(out)
}

/// Sorted, de-duplicated string tags of a `tags` value.
pub(crate) fn sorted_tags(tags: Option<&Value>) -> Vec<Value> {
    let mut tags: Vec<String> = tags
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags.dedup();
    tags.into_iter().map(Value::String).collect()
}

/// A short, stable hash of a normalised value (serde_json maps are sorted, so the
/// serialisation is canonical).
pub fn content_hash(normalized: &Value) -> String {
    let digest = Sha256::digest(normalized.to_string().as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Recursively drops `null` members of objects and writes integral floats as integers.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

fn fill(map: &mut Map<String, Value>, key: &str, default: Value) {
    map.entry(key.to_string()).or_insert(default);
}

fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// The per-step defaults of allma-admin-api.md §4.13.
fn fill_step_defaults(step: &mut Value) {
    let Some(step) = step.as_object_mut() else {
        return;
    };
    fill(step, "defaultNextMaxTransitions", json!(5));
    if let Some(Value::Array(transitions)) = step.get_mut("transitions") {
        for t in transitions.iter_mut().filter_map(Value::as_object_mut) {
            fill(t, "maxTransitions", json!(5));
        }
    }
    if let Some(on_error) = object_at(step, "onError") {
        fill_error_handler(on_error);
    }
    if let Some(delay) = object_at(step, "delay") {
        fill(delay, "position", json!("after"));
    }
    if let Some(agg) = object_at(step, "aggregationConfig") {
        fill(agg, "strategy", json!("COLLECT_ARRAY"));
        fill(agg, "failOnBranchError", json!(true));
    }
    fill_mapping_defaults(step);
    match step.get("stepType").and_then(Value::as_str) {
        Some("START_SUB_FLOW") => {
            fill(step, "subFlowVersion", json!("LATEST_PUBLISHED"));
            fill(step, "subFlowExecutionMode", json!("SYNC"));
        }
        Some("START_FLOW_EXECUTION") => fill(step, "flowVersion", json!("LATEST_PUBLISHED")),
        Some("SCHEDULE_START_POINT") => fill(step, "enabled", json!(true)),
        Some("FILE_DOWNLOAD") => {
            fill(step, "method", json!("GET"));
            if let Some(cfg) = object_at(step, "customConfig") {
                fill(cfg, "verifySsl", json!(true));
            }
        }
        _ => {}
    }
}

/// Template context mappings get `formatAs: RAW` and `joinSeparator: "\n"`.
fn fill_mapping_defaults(step: &mut Map<String, Value>) {
    let mut lists: Vec<&mut Value> = Vec::new();
    let (mut tcm, mut body, mut url) = (None, None, None);
    for (key, value) in step.iter_mut() {
        match key.as_str() {
            "templateContextMappings" => tcm = Some(value),
            "requestBodyTemplate" => body = Some(value),
            "apiUrlTemplate" => url = value.get_mut("contextMappings"),
            _ => {}
        }
    }
    lists.extend(tcm);
    lists.extend(body);
    lists.extend(url);
    for list in lists {
        let items: Vec<&mut Value> = match list {
            Value::Array(a) => a.iter_mut().collect(),
            Value::Object(m) => m.values_mut().collect(),
            _ => Vec::new(),
        };
        for item in items.into_iter().filter_map(Value::as_object_mut) {
            if item.contains_key("sourceJsonPath") {
                fill(item, "formatAs", json!("RAW"));
                fill(item, "joinSeparator", json!("\n"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_defaults_and_fields_do_not_change_the_normal_form() {
        let desired = json!({
            "startStepInstanceId": "a",
            "steps": {"a": {"stepInstanceId": "a", "stepType": "NO_OP",
                            "transitions": [{"condition": "$.x", "nextStepInstanceId": "a"}]}}
        });
        let live = json!({
            "id": "f", "version": 3, "isPublished": true, "publishedAt": "2025-01-01T00:00:00.000Z",
            "createdAt": "x", "updatedAt": "y", "flowVariables": {"k": 1}, "name": "F",
            "description": null, "enableExecutionLogs": false, "authoringSource": "visual",
            HASH_FIELD: "sha256:00",
            "startStepInstanceId": "a",
            "steps": {"a": {"stepType": "NO_OP", "stepInstanceId": "a", "defaultNextMaxTransitions": 5.0,
                            "transitions": [{"nextStepInstanceId": "a", "condition": "$.x", "maxTransitions": 5}]}}
        });
        assert_eq!(
            normalize_flow_version(&desired),
            normalize_flow_version(&live)
        );
        assert_eq!(
            content_hash(&normalize_flow_version(&desired)),
            content_hash(&normalize_flow_version(&live))
        );
    }

    #[test]
    fn a_changed_step_field_changes_the_hash() {
        let a = json!({"steps": {"s": {"stepType": "NO_OP", "displayName": "A"}}});
        let b = json!({"steps": {"s": {"stepType": "NO_OP", "displayName": "B"}}});
        assert_ne!(
            content_hash(&normalize_flow_version(&a)),
            content_hash(&normalize_flow_version(&b))
        );
    }

    #[test]
    fn sub_flow_and_mapping_defaults_are_filled() {
        let v = json!({"steps": {"s": {"stepType": "START_SUB_FLOW", "subFlowDefinitionId": "x",
            "onError": {"retries": {}}}},
            "onCompletionActions": []});
        let n = normalize_flow_version(&v);
        assert_eq!(n["steps"]["s"]["subFlowVersion"], "LATEST_PUBLISHED");
        assert_eq!(n["steps"]["s"]["onError"]["retries"]["backoffRate"], 2);
        assert!(n.get("onCompletionActions").is_none());
    }

    #[test]
    fn prompt_tags_compare_as_a_set() {
        let a = json!({"name": "P", "content": "c", "tags": ["b", "a"], "description": null});
        let b = json!({"name": "P", "content": "c", "tags": ["a", "b", "a"], "version": 2});
        assert_eq!(normalize_prompt_version(&a), normalize_prompt_version(&b));
    }
}
