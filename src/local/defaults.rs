//! Defaults Allma's full schemas add when they parse a definition (§4.13 of the reference):
//! applied on create, create-version, clone and import, never on PUT.

use serde_json::{Map, Value, json};

fn set_default(obj: &mut Map<String, Value>, key: &str, value: Value) {
    obj.entry(key.to_string()).or_insert(value);
}

/// Fills the defaults the full flow schema adds (§4.13) into a version record: the
/// server-managed ones here, the content ones shared with the planner's normalisation.
pub(crate) fn flow_defaults(version: &mut Value) {
    let Some(top) = version.as_object_mut() else {
        return;
    };
    set_default(top, "isPublished", json!(false));
    set_default(top, "flowVariables", json!({}));
    crate::model::fill_flow_defaults(top);
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
