//! Unit tests of the flow and prompt checks in `validate.rs`.

use super::*;
use serde_json::json;

fn flow(steps: Value) -> Value {
    json!({"id": "f", "version": 1, "createdAt": "2025-01-05T10:00:00.000Z",
           "updatedAt": "2025-01-05T10:00:00.000Z", "startStepInstanceId": "a", "steps": steps})
}

#[test]
fn missing_start_step_and_targets_are_rejected() {
    let mut v = flow(
        json!({"b": {"stepInstanceId": "b", "stepType": "NO_OP", "defaultNextStepInstanceId": "zz"}}),
    );
    let errors = check_flow(&v);
    let paths: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"startStepInstanceId"), "{paths:?}");
    assert!(
        paths.contains(&"steps.b.defaultNextStepInstanceId"),
        "{paths:?}"
    );
    v["startStepInstanceId"] = json!("b");
    v["steps"]["b"]["defaultNextStepInstanceId"] = json!("b");
    assert!(check_flow(&v).is_empty());
}

#[test]
fn bad_json_paths_and_step_types_are_rejected() {
    let v = flow(
        json!({"a": {"stepInstanceId": "a", "stepType": "NO_OP", "inputMappings": {"x": "a.b"}},
                        "c": {"stepInstanceId": "c", "stepType": "NOPE"}}),
    );
    let errors = check_flow(&v);
    assert!(errors.iter().any(|(p, _)| p == "steps.a.inputMappings.x"));
    assert!(errors.iter().any(|(p, _)| p == "steps.c.stepType"));
    assert_eq!(top_level(&errors)[0].0, "steps");
}

#[test]
fn update_body_needs_step_type_on_every_step() {
    assert!(check_flow_update(&json!({"description": "x"})).is_empty());
    assert!(!check_flow_update(&json!({"steps": {"a": {"displayName": "x"}}})).is_empty());
}

#[test]
fn prompt_needs_name_and_content() {
    assert_eq!(check_prompt(&json!({"name": "n"}), false).len(), 1);
    assert!(check_prompt(&json!({"name": "n", "content": "c", "tags": []}), false).is_empty());
}
