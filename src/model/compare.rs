//! Comparing a live version with the desired one: normalise the live side, and for steps
//! built on a stored step definition compare only what the definition file wrote (the
//! Admin API merges the stored definition into such steps when it reads them, §4.12).

use super::{Kind, normalize_flow_version, normalize_prompt_version};
use serde_json::{Map, Value};

/// The live version in the form it is compared in with `desired` (a normalised value).
pub fn comparable(kind: Kind, live: &Value, desired: &Value) -> Value {
    match kind {
        Kind::PromptTemplate => normalize_prompt_version(live),
        Kind::Flow => {
            let mut live = normalize_flow_version(live);
            if let (Some(Value::Object(live_steps)), Some(Value::Object(wanted))) =
                (live.get_mut("steps"), desired.get("steps"))
            {
                for (id, step) in live_steps.iter_mut() {
                    if let Some(wanted) = wanted.get(id).filter(|s| is_hydrated(s)) {
                        retain_authored(step, wanted);
                    }
                }
            }
            live
        }
    }
}

/// Whether the live version has the desired content.
pub fn same_content(kind: Kind, live: &Value, desired: &Value) -> bool {
    comparable(kind, live, desired) == *desired
}

/// A step whose `stepDefinitionId` names a stored (non-built-in) step definition.
fn is_hydrated(step: &Value) -> bool {
    step.get("stepDefinitionId")
        .and_then(Value::as_str)
        .is_some_and(|id| !id.starts_with("system"))
}

/// Drops, recursively through maps, the live keys the desired side does not have.
fn retain_authored(live: &mut Value, desired: &Value) {
    if let (Value::Object(live), Value::Object(desired)) = (live, desired) {
        live.retain(|k, _| desired.contains_key(k));
        for (k, v) in live.iter_mut() {
            if let Some(d) = desired.get(k) {
                retain_authored(v, d);
            }
        }
    }
}

/// The `version` number of a version object.
pub fn version_number(version: &Value) -> Option<u32> {
    version
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// Tags sorted and de-duplicated: tags compare as a set.
pub fn tag_set(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut tags: Vec<String> = tags.into_iter().collect();
    tags.sort();
    tags.dedup();
    tags
}

/// `base` deep-merged with `patch` the way the Admin API merges a PUT body into a
/// version (maps merge recursively; everything else is replaced).
pub fn deep_merge(base: &Value, patch: &Value) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            let mut out: Map<String, Value> = b.clone();
            for (k, v) in p {
                let merged = out
                    .get(k)
                    .map_or_else(|| v.clone(), |old| deep_merge(old, v));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, p) => p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hydrated_fields_of_stored_step_definitions_are_ignored() {
        let desired = normalize_flow_version(&json!({"steps": {"s": {
            "stepType": "DATA_LOAD", "stepDefinitionId": "usr-1", "customConfig": {"a": 1}}}}));
        let live = json!({"steps": {"s": {"stepType": "DATA_LOAD", "stepDefinitionId": "usr-1",
            "moduleIdentifier": "system/s3-data-loader", "customConfig": {"a": 1, "b": 2}}}});
        assert!(same_content(Kind::Flow, &live, &desired));
        let changed = json!({"steps": {"s": {"stepType": "DATA_LOAD", "stepDefinitionId": "usr-1",
            "customConfig": {"a": 9}}}});
        assert!(!same_content(Kind::Flow, &changed, &desired));
    }

    #[test]
    fn built_in_step_definitions_compare_in_full() {
        let desired = normalize_flow_version(
            &json!({"steps": {"s": {"stepType": "NO_OP", "stepDefinitionId": "system-noop"}}}),
        );
        let live = json!({"steps": {"s": {"stepType": "NO_OP", "stepDefinitionId": "system-noop", "displayName": "x"}}});
        assert!(!same_content(Kind::Flow, &live, &desired));
    }

    #[test]
    fn deep_merge_keeps_nested_keys_a_put_cannot_remove() {
        let merged = deep_merge(
            &json!({"c": {"a": 1, "b": 2}, "l": [1]}),
            &json!({"c": {"a": 3}, "l": [2]}),
        );
        assert_eq!(merged, json!({"c": {"a": 3, "b": 2}, "l": [2]}));
    }
}
