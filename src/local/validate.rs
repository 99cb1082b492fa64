//! Schema checks of the embedded Admin API: the part of Allma's zod schemas
//! (`FlowDefinitionSchema`, `PromptTemplateSchema`, §4.13/§5 of the reference) that decides
//! whether the real server accepts a definition. Errors are `(path, message)` pairs with
//! dotted paths (`steps.a.stepType`); callers collapse them as the real handlers do.

use serde_json::{Map, Value};

pub(crate) use super::defaults::{flow_defaults, prompt_defaults};

/// A field error: dotted path and message.
pub(crate) type FieldError = (String, String);

enum Module {
    Required,
    Absent,
    Any,
}

/// stepType, `moduleIdentifier` rule, required payload fields.
const STEP_TYPES: &[(&str, Module, &[&str])] = &[
    ("NO_OP", Module::Absent, &[]),
    ("END_FLOW", Module::Absent, &[]),
    ("CUSTOM_LOGIC", Module::Required, &[]),
    (
        "CUSTOM_LAMBDA_INVOKE",
        Module::Absent,
        &["lambdaFunctionArnTemplate"],
    ),
    ("DATA_LOAD", Module::Required, &[]),
    ("DATA_SAVE", Module::Required, &[]),
    ("DATA_TRANSFORMATION", Module::Required, &[]),
    ("FILE_DOWNLOAD", Module::Any, &["sourceUrlTemplate"]),
    (
        "LLM_INVOCATION",
        Module::Absent,
        &["llmProvider", "modelId"],
    ),
    ("PARALLEL_FORK_MANAGER", Module::Absent, &[]),
    ("START_SUB_FLOW", Module::Absent, &["subFlowDefinitionId"]),
    (
        "START_FLOW_EXECUTION",
        Module::Required,
        &["flowDefinitionId"],
    ),
    (
        "API_CALL",
        Module::Absent,
        &["apiUrlTemplate", "apiHttpMethod"],
    ),
    ("MCP_CALL", Module::Any, &["mcpConnectionId", "toolName"]),
    (
        "WAIT_FOR_EXTERNAL_EVENT",
        Module::Absent,
        &["correlationKeyTemplate"],
    ),
    (
        "POLL_EXTERNAL_API",
        Module::Absent,
        &["apiCallDefinition", "pollingConfig", "exitConditions"],
    ),
    ("SQS_SEND", Module::Required, &["queueUrl", "payload"]),
    ("SNS_PUBLISH", Module::Required, &["topicArn", "payload"]),
    ("EMAIL", Module::Absent, &["from", "to", "subject", "body"]),
    ("EMAIL_START_POINT", Module::Any, &["emailAddress"]),
    ("SCHEDULE_START_POINT", Module::Any, &["scheduleExpression"]),
];

fn step_type(name: &str) -> Option<&'static (&'static str, Module, &'static [&'static str])> {
    STEP_TYPES.iter().find(|(n, _, _)| *n == name)
}

/// A JSONPath as Allma's schema wants it: `$.` followed by at least one character.
fn is_json_path(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() > 2 && s.starts_with("$."))
}

fn non_empty_string(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

fn push(errors: &mut Vec<FieldError>, path: impl Into<String>, message: &str) {
    errors.push((path.into(), message.to_string()));
}

/// Type checks of the top-level fields every flow body may carry.
fn check_flow_fields(v: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let nullable_string = |k: &str| v.get(k).is_none_or(|x| x.is_null() || x.is_string());
    if !nullable_string("description") {
        push(errors, "description", "Expected string or null");
    }
    if v.get("enableExecutionLogs")
        .is_some_and(|x| !x.is_boolean())
    {
        push(errors, "enableExecutionLogs", "Expected boolean");
    }
    if v.get("flowVariables").is_some_and(|x| !x.is_object()) {
        push(errors, "flowVariables", "Expected object");
    }
    if v.get("authoringSource")
        .is_some_and(|x| x != "code" && x != "visual")
    {
        push(
            errors,
            "authoringSource",
            "Invalid enum value. Expected 'code' | 'visual'",
        );
    }
    if v.get("defaultStepConfig")
        .is_some_and(|x| !x.is_null() && !x.is_object())
    {
        push(errors, "defaultStepConfig", "Expected object or null");
    }
    if v.get("onCompletionActions").is_some_and(|x| !x.is_array()) {
        push(errors, "onCompletionActions", "Expected array");
    }
    if v.get("startStepInstanceId")
        .is_some_and(|x| !non_empty_string(Some(x)))
    {
        push(
            errors,
            "startStepInstanceId",
            "String must contain at least 1 character(s)",
        );
    }
}

/// The flow-version update schema of PUT (§4.5.1 step 1): all fields optional, each step
/// must still name a valid `stepType`.
pub(crate) fn check_flow_update(body: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(top) = body.as_object() else {
        push(&mut errors, "", "Expected object");
        return errors;
    };
    check_flow_fields(top, &mut errors);
    match top.get("steps") {
        None => {}
        Some(Value::Object(steps)) => {
            for (key, step) in steps {
                let valid = step
                    .get("stepType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| step_type(t).is_some());
                if !step.is_object() || !valid {
                    push(
                        &mut errors,
                        format!("steps.{key}.stepType"),
                        "Invalid discriminator value",
                    );
                }
            }
        }
        Some(_) => push(&mut errors, "steps", "Expected object"),
    }
    errors
}

/// The full `FlowDefinitionSchema` with its cross-field checks (§5.1).
pub(crate) fn check_flow(v: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(top) = v.as_object() else {
        push(&mut errors, "", "Expected object");
        return errors;
    };
    check_flow_fields(top, &mut errors);
    if !non_empty_string(top.get("id")) {
        push(&mut errors, "id", "Required");
    }
    if top
        .get("version")
        .and_then(Value::as_u64)
        .is_none_or(|n| n == 0)
    {
        push(&mut errors, "version", "Expected positive integer");
    }
    for key in ["createdAt", "updatedAt"] {
        if !top.get(key).and_then(Value::as_str).is_some_and(is_iso_z) {
            push(&mut errors, key, "Invalid datetime");
        }
    }
    let Some(steps) = top.get("steps").and_then(Value::as_object) else {
        push(&mut errors, "steps", "Required");
        return errors;
    };
    let start = top.get("startStepInstanceId").and_then(Value::as_str);
    if !start.is_some_and(|s| steps.contains_key(s)) {
        push(
            &mut errors,
            "startStepInstanceId",
            "startStepInstanceId must exist in steps",
        );
    }
    for (key, step) in steps {
        check_step(&format!("steps.{key}"), step, steps, &mut errors);
    }
    if let Some(actions) = top.get("onCompletionActions").and_then(Value::as_array) {
        for (i, action) in actions.iter().enumerate() {
            check_action(&format!("onCompletionActions.{i}"), action, &mut errors);
        }
    }
    errors
}

fn is_iso_z(s: &str) -> bool {
    s.ends_with('Z') && s.parse::<jiff::Timestamp>().is_ok()
}

fn check_step(path: &str, step: &Value, steps: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let Some(obj) = step.as_object() else {
        push(errors, path, "Expected object");
        return;
    };
    let Some((_, module, required)) = obj
        .get("stepType")
        .and_then(Value::as_str)
        .and_then(step_type)
    else {
        push(
            errors,
            format!("{path}.stepType"),
            "Invalid discriminator value",
        );
        return;
    };
    if !non_empty_string(obj.get("stepInstanceId")) {
        push(errors, format!("{path}.stepInstanceId"), "Required");
    }
    match (module, obj.contains_key("moduleIdentifier")) {
        (Module::Required, false) => push(errors, format!("{path}.moduleIdentifier"), "Required"),
        (Module::Absent, true) => push(errors, format!("{path}.moduleIdentifier"), "Not allowed"),
        _ => {}
    }
    for field in required.iter().filter(|f| !obj.contains_key(**f)) {
        push(errors, format!("{path}.{field}"), "Required");
    }
    check_step_targets(path, obj, steps, errors);
    check_step_paths(path, obj, errors);
}

fn check_step_targets(
    path: &str,
    obj: &Map<String, Value>,
    steps: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    let exists = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| steps.contains_key(s))
    };
    if obj.contains_key("defaultNextStepInstanceId")
        && !exists(obj.get("defaultNextStepInstanceId"))
    {
        push(
            errors,
            format!("{path}.defaultNextStepInstanceId"),
            "Target step does not exist",
        );
    }
    let fallback = obj
        .get("onError")
        .and_then(|e| e.get("fallbackStepInstanceId"));
    if fallback.is_some() && !exists(fallback) {
        push(
            errors,
            format!("{path}.onError.fallbackStepInstanceId"),
            "Target step does not exist",
        );
    }
    let Some(transitions) = obj.get("transitions") else {
        return;
    };
    let Some(list) = transitions.as_array() else {
        push(errors, format!("{path}.transitions"), "Expected array");
        return;
    };
    for (i, t) in list.iter().enumerate() {
        if !exists(t.get("nextStepInstanceId")) {
            push(
                errors,
                format!("{path}.transitions.{i}.nextStepInstanceId"),
                "Target step does not exist",
            );
        }
        if !t.get("condition").is_some_and(is_json_path) {
            push(
                errors,
                format!("{path}.transitions.{i}.condition"),
                "Invalid JSONPath",
            );
        }
    }
}

fn check_step_paths(path: &str, obj: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    if let Some(map) = obj.get("inputMappings").and_then(Value::as_object) {
        for (k, v) in map.iter().filter(|(_, v)| !is_json_path(v)) {
            let _ = v;
            push(
                errors,
                format!("{path}.inputMappings.{k}"),
                "Invalid JSONPath",
            );
        }
    }
    if let Some(map) = obj.get("outputMappings").and_then(Value::as_object) {
        for (k, v) in map {
            if !is_json_path(v) || !is_json_path(&Value::String(k.clone())) {
                push(
                    errors,
                    format!("{path}.outputMappings.{k}"),
                    "Invalid JSONPath",
                );
            }
        }
    }
    let data_path = obj.get("aggregationConfig").and_then(|a| a.get("dataPath"));
    if data_path.is_some_and(|p| !is_json_path(p)) {
        push(
            errors,
            format!("{path}.aggregationConfig.dataPath"),
            "Invalid JSONPath",
        );
    }
}

fn check_action(path: &str, action: &Value, errors: &mut Vec<FieldError>) {
    if action.get("condition").is_some_and(|c| !is_json_path(c)) {
        push(errors, format!("{path}.condition"), "Invalid JSONPath");
    }
    for key in ["payloadTemplate", "messageAttributesTemplate"] {
        if let Some(map) = action.get(key).and_then(Value::as_object)
            && map.values().any(|v| !is_json_path(v))
        {
            push(errors, format!("{path}.{key}"), "Invalid JSONPath");
        }
    }
}

/// The prompt version body/schema: `name`, `content` non-empty, `description` nullable
/// string, `tags` string array; `full` adds the server fields the stored schema requires.
pub(crate) fn check_prompt(v: &Value, full: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(top) = v.as_object() else {
        push(&mut errors, "", "Expected object");
        return errors;
    };
    for key in ["name", "content"] {
        if !non_empty_string(top.get(key)) {
            push(&mut errors, key, "Required");
        }
    }
    if top
        .get("description")
        .is_some_and(|x| !x.is_null() && !x.is_string())
    {
        push(&mut errors, "description", "Expected string or null");
    }
    let tags_ok = top
        .get("tags")
        .is_none_or(|t| t.as_array().is_some_and(|a| a.iter().all(Value::is_string)));
    if !tags_ok {
        push(&mut errors, "tags", "Expected array of strings");
    }
    if full {
        if !non_empty_string(top.get("id")) {
            push(&mut errors, "id", "Required");
        }
        for key in ["createdAt", "updatedAt"] {
            if !top.get(key).and_then(Value::as_str).is_some_and(is_iso_z) {
                push(&mut errors, key, "Invalid datetime");
            }
        }
    }
    errors
}

/// Collapses dotted paths to their first segment, as the CRUD handler's zod flatten does.
pub(crate) fn top_level(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|(p, m)| {
            (
                p.split('.').next().unwrap_or_default().to_string(),
                m.clone(),
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
