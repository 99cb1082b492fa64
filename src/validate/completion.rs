//! Checks of `defaultStepConfig` and `onCompletionActions`: the server parses both
//! strictly and silently drops unknown keys inside them (allma-admin-api.md §4.13, §5.4),
//! so a misspelt key would be a difference that no apply ever clears.

use super::fields::{ACTION_FIELDS, ACTION_TYPES, DEFAULT_STEP_CONFIG_FIELDS};
use super::{Checker, suggestion, unknown};
use crate::load::tree::key_path;
use serde_json::{Map, Value};

const DROPPED: &str =
    "the Admin API silently drops unknown keys here, so the difference would never clear";

/// Checks `defaultStepConfig`: a map of known keys, or null.
pub(super) fn check_default_step_config(c: &mut Checker, def: &Map<String, Value>) {
    match def.get("defaultStepConfig") {
        None | Some(Value::Null) => {}
        Some(Value::Object(config)) => {
            for key in config
                .keys()
                .filter(|k| !DEFAULT_STEP_CONFIG_FIELDS.contains(&k.as_str()))
            {
                let msg = format!("{} ({DROPPED})", unknown(key, DEFAULT_STEP_CONFIG_FIELDS));
                c.error(key_path("defaultStepConfig", key), msg);
            }
        }
        Some(_) => c.error(
            "defaultStepConfig".into(),
            format!(
                "`defaultStepConfig` must be a map with {}",
                DEFAULT_STEP_CONFIG_FIELDS.join(", ")
            ),
        ),
    }
}

/// Checks `onCompletionActions`: a list of maps, each with a known `actionType` and only
/// known keys.
pub(super) fn check_actions(c: &mut Checker, def: &Map<String, Value>) {
    let actions = match def.get("onCompletionActions") {
        None | Some(Value::Null) => return,
        Some(Value::Array(actions)) => actions,
        Some(_) => {
            let msg = "`onCompletionActions` must be a list of actions, each with an `actionType`";
            return c.error("onCompletionActions".into(), msg.into());
        }
    };
    for (i, action) in actions.iter().enumerate() {
        let at = format!("onCompletionActions[{i}]");
        match action.as_object() {
            Some(action) => check_action(c, &at, action),
            None => c.error(at, "an action must be a map with an `actionType`".into()),
        }
    }
}

fn check_action(c: &mut Checker, at: &str, action: &Map<String, Value>) {
    let one_of = ACTION_TYPES.join(", ");
    match action.get("actionType") {
        Some(Value::String(t)) if ACTION_TYPES.contains(&t.as_str()) => {}
        Some(Value::String(t)) => {
            let msg = format!(
                "unknown actionType `{t}` (one of {one_of}){}",
                suggestion(t, ACTION_TYPES)
            );
            c.error(key_path(at, "actionType"), msg);
        }
        Some(_) => c.error(
            key_path(at, "actionType"),
            format!("actionType must be a string (one of {one_of})"),
        ),
        None => c.error(
            at.to_string(),
            format!("an action needs `actionType` (one of {one_of})"),
        ),
    }
    for key in action
        .keys()
        .filter(|k| !ACTION_FIELDS.contains(&k.as_str()))
    {
        let msg = format!("{} ({DROPPED})", unknown(key, ACTION_FIELDS));
        c.error(key_path(at, key), msg);
    }
}
