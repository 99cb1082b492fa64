use super::*;
use serde_json::json;

fn problems(def: Value) -> Vec<Problem> {
    check_flow(def.as_object().unwrap())
}

#[test]
fn a_valid_flow_has_no_problems() {
    let p = problems(json!({"startStepInstanceId": "a", "steps": {
        "a": {"stepType": "NO_OP", "defaultNextStepInstanceId": "b"},
        "b": {"stepType": "LLM_INVOCATION", "llmProvider": "GEMINI", "modelId": "m", "promptTemplateId": "p"}}}));
    assert_eq!(p, vec![]);
}

#[test]
fn transition_to_a_missing_step_is_named_by_path() {
    let p = problems(json!({"startStepInstanceId": "a", "steps": {
        "a": {"stepType": "NO_OP", "transitions": [{"condition": "$.ok", "nextStepInstanceId": "nope"}]}}}));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "steps.a.transitions[0].nextStepInstanceId");
    assert!(p[0].message.contains("`nope`"), "{}", p[0].message);
}

#[test]
fn unknown_step_type_suggests_the_closest() {
    let p = problems(json!({"startStepInstanceId": "a", "steps": {"a": {"stepType": "NOOP"}}}));
    assert!(
        p[0].message.contains("did you mean `NO_OP`"),
        "{}",
        p[0].message
    );
}

#[test]
fn missing_start_step_and_misplaced_fields_are_errors() {
    let p = problems(
        json!({"startStepInstanceId": "x", "name": "n", "steps": {"a": {"stepType": "NO_OP"}}}),
    );
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["name", "startStepInstanceId"]);
}

#[test]
fn references_cover_prompts_and_sub_flows() {
    let def = json!({"steps": {"a": {"stepType": "START_SUB_FLOW", "subFlowDefinitionId": "child"},
                               "b": {"stepType": "LLM_INVOCATION", "promptTemplateId": "p"}}});
    let refs = references(def.as_object().unwrap());
    assert_eq!(refs.len(), 2);
    assert_eq!((refs[0].kind, refs[0].id.as_str()), (Kind::Flow, "child"));
    assert_eq!(
        (refs[1].kind, refs[1].id.as_str()),
        (Kind::PromptTemplate, "p")
    );
}

fn one_step(extra: Value) -> Value {
    let mut def = json!({"startStepInstanceId": "a", "steps": {"a": {"stepType": "NO_OP"}}});
    for (k, v) in extra.as_object().unwrap() {
        def[k] = v.clone();
    }
    def
}

#[test]
fn unknown_default_step_config_key_is_an_error_with_a_suggestion() {
    let p = problems(one_step(
        json!({"defaultStepConfig": {"defaultInferenceParams": {}}}),
    ));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "defaultStepConfig.defaultInferenceParams");
    assert!(!p[0].warning);
    assert!(
        p[0].message
            .contains("did you mean `defaultInferenceParameters`"),
        "{}",
        p[0].message
    );
    let p = problems(one_step(json!({"defaultStepConfig": "x"})));
    assert_eq!(p[0].path, "defaultStepConfig");
    assert_eq!(
        problems(one_step(json!({"defaultStepConfig": null}))),
        vec![]
    );
}

#[test]
fn completion_actions_need_known_types_and_keys() {
    let actions = json!([
        {"actionType": "LOG_ONLY", "executeOnStatus": "ANY"},
        {"actionType": "SNS_SEND", "target": "arn", "messageAttributeTemplate": {}},
        {"actionType": "LOG_ONY"},
        {"target": "x"},
        "LOG_ONLY"
    ]);
    let p = problems(one_step(json!({"onCompletionActions": actions})));
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "onCompletionActions[1].messageAttributeTemplate",
            "onCompletionActions[2].actionType",
            "onCompletionActions[3]",
            "onCompletionActions[4]",
        ]
    );
    assert!(
        p[0].message
            .contains("did you mean `messageAttributesTemplate`"),
        "{}",
        p[0].message
    );
    assert!(
        p[1].message.contains("did you mean `LOG_ONLY`"),
        "{}",
        p[1].message
    );
    let p = problems(one_step(
        json!({"onCompletionActions": {"actionType": "LOG_ONLY"}}),
    ));
    assert_eq!(p[0].path, "onCompletionActions");
}

#[test]
fn stored_step_definition_is_a_hydration_warning_and_system_ones_are_not() {
    let def = json!({"startStepInstanceId": "a", "steps": {
        "a": {"stepType": "NO_OP", "stepDefinitionId": "system-noop", "defaultNextStepInstanceId": "b"},
        "b": {"stepType": "NO_OP", "stepDefinitionId": "shared-step"}}});
    let p = problems(def);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].path, "steps.b.stepDefinitionId");
    assert!(p[0].warning);
    assert_eq!(
        p[0].message,
        "the Admin API merges the stored step definition `shared-step` into this step when read (hydration); allma-gitops compares only the fields written here for such steps"
    );
}
