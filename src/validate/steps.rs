//! Checks of one step: its type, fields, module, targets, JSONPaths and whether the
//! Admin API hydrates it from a stored step definition (allma-admin-api.md §4.12, §5.2–5.3).

use super::fields::{
    LLM_PROVIDERS, MODULE_FORBIDDEN, MODULE_REQUIRED, STEP_FIELDS, STEP_TYPES, required_fields,
};
use super::{Checker, list, suggestion, unknown};
use crate::load::tree::key_path;
use serde_json::{Map, Value};

/// Checks the step `steps.<id>`; `steps` is every step of the flow.
pub(super) fn check_step(c: &mut Checker, steps: &Map<String, Value>, id: &str, step: &Value) {
    let path = key_path("steps", id);
    let Some(step) = step.as_object() else {
        c.error(path, "a step must be a map".into());
        return;
    };
    match step.get("stepInstanceId") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(v) => c.error(
            key_path(&path, "stepInstanceId"),
            format!("stepInstanceId {v} differs from its key `{id}`: keep them equal"),
        ),
    }
    check_hydration(c, &path, step);
    let Some(step_type) = step_type(c, &path, step) else {
        return;
    };
    for key in step.keys().filter(|k| !STEP_FIELDS.contains(&k.as_str())) {
        c.warn(key_path(&path, key), unknown(key, STEP_FIELDS));
    }
    for field in required_fields(step_type)
        .iter()
        .filter(|f| !step.contains_key(**f))
    {
        c.error(path.clone(), format!("a {step_type} step needs `{field}`"));
    }
    check_module(c, &path, step_type, step);
    check_provider(c, &path, step);
    check_targets(c, steps, &path, step);
    check_json_paths(c, &path, step);
}

/// A stored step definition is merged under the step when the Admin API reads it; the
/// built-in `system…` ones are not (§4.12).
fn check_hydration(c: &mut Checker, path: &str, step: &Map<String, Value>) {
    let Some(def) = step.get("stepDefinitionId").and_then(Value::as_str) else {
        return;
    };
    if !def.starts_with("system") {
        c.warn(
            key_path(path, "stepDefinitionId"),
            format!(
                "the Admin API merges the stored step definition `{def}` into this step when \
                 read (hydration); allma-gitops compares only the fields written here for such steps"
            ),
        );
    }
}

/// The step's `stepType`, when it is a known one.
fn step_type<'a>(c: &mut Checker, path: &str, step: &'a Map<String, Value>) -> Option<&'a str> {
    let at = key_path(path, "stepType");
    match step.get("stepType") {
        Some(Value::String(t)) if STEP_TYPES.contains(&t.as_str()) => return Some(t.as_str()),
        Some(Value::String(t)) => {
            let msg = format!("unknown stepType `{t}`{}", suggestion(t, STEP_TYPES));
            c.error(at, msg);
        }
        Some(_) => c.error(at, "stepType must be a string".into()),
        None => c.error(
            path.to_string(),
            format!("missing `stepType` (one of {})", STEP_TYPES.join(", ")),
        ),
    }
    None
}

fn check_module(c: &mut Checker, path: &str, step_type: &str, step: &Map<String, Value>) {
    let has_module = step.contains_key("moduleIdentifier");
    if MODULE_REQUIRED.contains(&step_type) && !has_module {
        c.error(
            path.to_string(),
            format!("a {step_type} step needs `moduleIdentifier`"),
        );
    }
    if MODULE_FORBIDDEN.contains(&step_type) && has_module {
        c.error(
            key_path(path, "moduleIdentifier"),
            format!("a {step_type} step takes no `moduleIdentifier`"),
        );
    }
}

fn check_provider(c: &mut Checker, path: &str, step: &Map<String, Value>) {
    let Some(provider) = step.get("llmProvider").and_then(Value::as_str) else {
        return;
    };
    if !LLM_PROVIDERS.contains(&provider) && !provider.contains("{{") {
        let msg = format!(
            "unknown llmProvider `{provider}` (one of {}, or a `{{{{…}}}}` template){}",
            LLM_PROVIDERS.join(", "),
            suggestion(provider, LLM_PROVIDERS)
        );
        c.error(key_path(path, "llmProvider"), msg);
    }
}

/// Checks that `value`, when present, names a step of the flow.
fn check_target(c: &mut Checker, steps: &Map<String, Value>, at: String, value: Option<&Value>) {
    match value {
        Some(Value::String(t)) if steps.contains_key(t) => {}
        Some(Value::String(t)) => c.error(
            at,
            format!(
                "points at step `{t}`, which does not exist ({})",
                list(steps.keys())
            ),
        ),
        Some(_) => c.error(at, "must be a step id (a string)".into()),
        None => {}
    }
}

fn check_targets(
    c: &mut Checker,
    steps: &Map<String, Value>,
    path: &str,
    step: &Map<String, Value>,
) {
    let next = key_path(path, "defaultNextStepInstanceId");
    check_target(c, steps, next, step.get("defaultNextStepInstanceId"));
    let on_error = step
        .get("onError")
        .and_then(|e| e.get("fallbackStepInstanceId"));
    let at = format!("{path}.onError.fallbackStepInstanceId");
    check_target(c, steps, at, on_error);
    match step.get("transitions") {
        None => {}
        Some(Value::Array(ts)) => {
            for (i, t) in ts.iter().enumerate() {
                let at = format!("{path}.transitions[{i}]");
                match t.get("nextStepInstanceId") {
                    None => c.error(at, "a transition needs `nextStepInstanceId`".into()),
                    next => check_target(c, steps, format!("{at}.nextStepInstanceId"), next),
                }
            }
        }
        Some(_) => c.error(
            key_path(path, "transitions"),
            "`transitions` must be a list".into(),
        ),
    }
}

/// Checks that `v` is a JSONPath the way Allma's schema does: `$.` and one more character.
fn check_json_path(c: &mut Checker, at: String, v: &str) {
    if !(v.starts_with("$.") && v.len() > 2) {
        c.error(
            at,
            format!("`{v}` is not a JSONPath: it must start with `$.`"),
        );
    }
}

fn check_json_paths(c: &mut Checker, path: &str, step: &Map<String, Value>) {
    if let Some(Value::Array(ts)) = step.get("transitions") {
        for (i, t) in ts.iter().enumerate() {
            if let Some(cond) = t.get("condition").and_then(Value::as_str) {
                check_json_path(c, format!("{path}.transitions[{i}].condition"), cond);
            }
        }
    }
    if let Some(Value::Object(m)) = step.get("inputMappings") {
        for (k, v) in m {
            if let Some(v) = v.as_str() {
                check_json_path(c, format!("{path}.inputMappings.{k}"), v);
            }
        }
    }
    if let Some(Value::Object(m)) = step.get("outputMappings") {
        for (k, v) in m {
            check_json_path(c, format!("{path}.outputMappings.{k}"), k);
            if let Some(v) = v.as_str() {
                check_json_path(c, format!("{path}.outputMappings.{k}"), v);
            }
        }
    }
}
