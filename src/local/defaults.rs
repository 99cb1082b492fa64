//! Defaults Allma's full schemas add when they parse a definition (§4.13 of the reference):
//! applied on create, create-version, clone and import, never on PUT.

use serde_json::{Map, Value, json};

fn set_default(obj: &mut Map<String, Value>, key: &str, value: Value) {
    obj.entry(key.to_string()).or_insert(value);
}

/// Fills the defaults the full flow schema adds (§4.13) into a version record.
pub(crate) fn flow_defaults(version: &mut Value) {
    let Some(top) = version.as_object_mut() else {
        return;
    };
    set_default(top, "isPublished", json!(false));
    set_default(top, "enableExecutionLogs", json!(false));
    set_default(top, "flowVariables", json!({}));
    set_default(top, "authoringSource", json!("visual"));
    if let Some(actions) = top
        .get_mut("onCompletionActions")
        .and_then(Value::as_array_mut)
    {
        for action in actions.iter_mut().filter_map(Value::as_object_mut) {
            set_default(action, "executeOnStatus", json!("COMPLETED"));
        }
    }
    if let Some(steps) = top.get_mut("steps").and_then(Value::as_object_mut) {
        steps
            .values_mut()
            .filter_map(Value::as_object_mut)
            .for_each(step_defaults);
    }
}

fn step_defaults(step: &mut Map<String, Value>) {
    set_default(step, "defaultNextMaxTransitions", json!(5));
    if let Some(list) = step.get_mut("transitions").and_then(Value::as_array_mut) {
        for t in list.iter_mut().filter_map(Value::as_object_mut) {
            set_default(t, "maxTransitions", json!(5));
        }
    }
    if let Some(on_error) = step.get_mut("onError").and_then(Value::as_object_mut) {
        set_default(on_error, "continueOnFailure", json!(false));
        retry_defaults(on_error, "retries", 0);
        retry_defaults(on_error, "retryOnContentError", 1);
    }
    if let Some(delay) = step.get_mut("delay").and_then(Value::as_object_mut) {
        set_default(delay, "position", json!("after"));
    }
    if let Some(agg) = step
        .get_mut("aggregationConfig")
        .and_then(Value::as_object_mut)
    {
        set_default(agg, "strategy", json!("COLLECT_ARRAY"));
        set_default(agg, "failOnBranchError", json!(true));
    }
    for key in ["templateContextMappings", "requestBodyTemplate"] {
        mapping_defaults(step.get_mut(key));
    }
    if let Some(url) = step
        .get_mut("apiUrlTemplate")
        .and_then(Value::as_object_mut)
    {
        mapping_defaults(url.get_mut("contextMappings"));
    }
    step_type_defaults(step);
}

fn retry_defaults(on_error: &mut Map<String, Value>, key: &str, count: u64) {
    if let Some(r) = on_error.get_mut(key).and_then(Value::as_object_mut) {
        set_default(r, "count", json!(count));
        set_default(r, "intervalSeconds", json!(5));
        set_default(r, "backoffRate", json!(2));
    }
}

/// Template context mapping items get `formatAs: RAW` and `joinSeparator: "\n"`.
fn mapping_defaults(mappings: Option<&mut Value>) {
    let items: Vec<&mut Value> = match mappings {
        Some(Value::Object(map)) => map.values_mut().collect(),
        Some(Value::Array(list)) => list.iter_mut().collect(),
        _ => return,
    };
    for item in items.into_iter().filter_map(Value::as_object_mut) {
        if item.contains_key("sourceJsonPath") {
            set_default(item, "formatAs", json!("RAW"));
            set_default(item, "joinSeparator", json!("\n"));
        }
    }
}

fn step_type_defaults(step: &mut Map<String, Value>) {
    match step.get("stepType").and_then(Value::as_str) {
        Some("START_SUB_FLOW") => {
            set_default(step, "subFlowVersion", json!("LATEST_PUBLISHED"));
            set_default(step, "subFlowExecutionMode", json!("SYNC"));
        }
        Some("START_FLOW_EXECUTION") => set_default(step, "flowVersion", json!("LATEST_PUBLISHED")),
        Some("SCHEDULE_START_POINT") => set_default(step, "enabled", json!(true)),
        Some("FILE_DOWNLOAD") => {
            set_default(step, "method", json!("GET"));
            if let Some(c) = step.get_mut("customConfig").and_then(Value::as_object_mut) {
                set_default(c, "verifySsl", json!(true));
            }
        }
        _ => {}
    }
}

/// Fills the prompt version defaults: `version: 1`, `isPublished: false`, `tags: []`.
pub(crate) fn prompt_defaults(version: &mut Value) {
    if let Some(top) = version.as_object_mut() {
        set_default(top, "version", json!(1));
        set_default(top, "isPublished", json!(false));
        set_default(top, "tags", json!([]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(steps: Value) -> Value {
        json!({"id": "f", "version": 1, "startStepInstanceId": "a", "steps": steps})
    }

    #[test]
    fn defaults_are_filled_for_steps_and_version() {
        let mut v = flow(
            json!({"a": {"stepInstanceId": "a", "stepType": "START_SUB_FLOW",
            "subFlowDefinitionId": "x", "transitions": [{"condition": "$.a", "nextStepInstanceId": "a"}]}}),
        );
        flow_defaults(&mut v);
        assert_eq!(v["authoringSource"], "visual");
        assert_eq!(v["enableExecutionLogs"], false);
        assert_eq!(v["flowVariables"], json!({}));
        let a = &v["steps"]["a"];
        assert_eq!(a["defaultNextMaxTransitions"], 5);
        assert_eq!(a["transitions"][0]["maxTransitions"], 5);
        assert_eq!(a["subFlowVersion"], "LATEST_PUBLISHED");
        assert_eq!(a["subFlowExecutionMode"], "SYNC");
    }
}
