//! Field-level differences between two normalised values.

use serde::Serialize;
use serde_json::Value;

/// One changed field: its path and the values on both sides (`None` = absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path, e.g. `steps.summarize.modelId`.
    pub path: String,
    /// Live value.
    pub old: Option<Value>,
    /// Desired value.
    pub new: Option<Value>,
}

/// Every difference between `old` and `new`, recursing into maps present on both sides;
/// lists and scalars compare whole.
pub fn field_changes(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(String::new(), Some(old), Some(new), &mut out);
    out
}

fn walk(path: String, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(p, a.get(k), b.get(k), out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path,
            old: a.cloned(),
            new: b.cloned(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_changes_are_reported_by_path() {
        let a = json!({"steps": {"s": {"modelId": "a", "x": 1}, "gone": {"t": 1}}});
        let b = json!({"steps": {"s": {"modelId": "b", "x": 1}, "new": {"t": 2}}});
        let paths: Vec<String> = field_changes(&a, &b).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, vec!["steps.gone", "steps.new", "steps.s.modelId"]);
    }
}
