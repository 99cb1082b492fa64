//! Offline checks of a flow definition, as Allma's schema checks it (allma-admin-api.md
//! §5.1–5.4), and the references one definition makes to others. Step checks live in
//! `steps`, those of `defaultStepConfig`/`onCompletionActions` in `completion`.

mod completion;
mod fields;
mod steps;

pub use fields::STEP_TYPES;

use crate::load::tree::key_path;
use crate::model::Kind;
use fields::DEFINITION_FIELDS;
use serde::Serialize;
use serde_json::{Map, Value};

/// One thing wrong with a definition; `path` is relative to the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where, e.g. `steps.load.transitions[0].nextStepInstanceId`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// A warning does not fail validation.
    pub warning: bool,
}

/// A reference from a flow to another definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Kind of the referenced definition.
    pub kind: Kind,
    /// Its Allma id.
    pub id: String,
    /// Where the reference is, relative to the definition.
    pub path: String,
    /// Line of the reference in its file (0 until the loader fills it in).
    pub line: u64,
}

/// Collects the problems found in one definition.
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn error(&mut self, path: String, message: String) {
        self.problems.push(Problem {
            path,
            message,
            warning: false,
        });
    }
    fn warn(&mut self, path: String, message: String) {
        self.problems.push(Problem {
            path,
            message,
            warning: true,
        });
    }
}

/// Checks a flow definition the way Allma's schema does; returns every problem found.
pub fn check_flow(def: &Map<String, Value>) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    check_keys(&mut c, def);
    completion::check_default_step_config(&mut c, def);
    completion::check_actions(&mut c, def);
    let Some(steps) = steps_of(&mut c, def) else {
        return c.problems;
    };
    match def.get("startStepInstanceId") {
        Some(Value::String(start)) if steps.contains_key(start) => {}
        Some(Value::String(start)) => c.error(
            "startStepInstanceId".into(),
            format!(
                "start step `{start}` is not a key of `steps` ({})",
                list(steps.keys())
            ),
        ),
        Some(_) => c.error("startStepInstanceId".into(), "must be a string".into()),
        None => c.error(String::new(), "missing `startStepInstanceId`".into()),
    }
    if let Some(v) = def
        .get("authoringSource")
        .filter(|v| v.as_str() != Some("code"))
    {
        c.warn(
            "authoringSource".into(),
            format!("authoringSource {v} is replaced by \"code\""),
        );
    }
    for (id, step) in steps {
        steps::check_step(&mut c, steps, id, step);
    }
    c.problems
}

/// Top-level keys: known ones only, with a hint for those that live elsewhere.
fn check_keys(c: &mut Checker, def: &Map<String, Value>) {
    for key in def.keys() {
        if let Some(hint) = misplaced_field(key) {
            c.error(
                key.clone(),
                format!("`{key}` does not belong in `definition`: {hint}"),
            );
        } else if !DEFINITION_FIELDS.contains(&key.as_str()) {
            c.error(key.clone(), unknown(key, DEFINITION_FIELDS));
        }
    }
}

/// The non-empty `steps` map, or `None` after reporting why there is none.
fn steps_of<'a>(c: &mut Checker, def: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
    let (path, message) = match def.get("steps") {
        Some(Value::Object(steps)) if !steps.is_empty() => return Some(steps),
        Some(Value::Object(_)) => ("steps", "`steps` is empty: a flow needs at least one step"),
        Some(_) => ("steps", "`steps` must be a map of step id to step"),
        None => ("", "missing `steps`"),
    };
    c.error(path.into(), message.into());
    None
}

/// The definitions a flow refers to: prompts of LLM steps and flows started by it.
pub fn references(def: &Map<String, Value>) -> Vec<Reference> {
    let mut refs = Vec::new();
    let Some(Value::Object(steps)) = def.get("steps") else {
        return refs;
    };
    let mut add = |kind, id: Option<&Value>, path: String| {
        if let Some(id) = id.and_then(Value::as_str) {
            refs.push(Reference {
                kind,
                id: id.to_string(),
                path,
                line: 0,
            });
        }
    };
    for (sid, step) in steps {
        let p = key_path("steps", sid);
        add(
            Kind::PromptTemplate,
            step.get("promptTemplateId"),
            format!("{p}.promptTemplateId"),
        );
        add(
            Kind::Flow,
            step.get("subFlowDefinitionId"),
            format!("{p}.subFlowDefinitionId"),
        );
        add(
            Kind::Flow,
            step.get("flowDefinitionId"),
            format!("{p}.flowDefinitionId"),
        );
        if let Some(Value::Array(branches)) = step.get("parallelBranches") {
            for (i, b) in branches.iter().enumerate() {
                let at = format!("{p}.parallelBranches[{i}].subFlowDefinitionId");
                add(Kind::Flow, b.get("subFlowDefinitionId"), at);
            }
        }
    }
    refs
}

/// Whether an id is usable in Admin API paths (allma-admin-api.md §1.2).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
}

fn misplaced_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "id" => "set `spec.id` (or `metadata.name`) instead",
        "name" => "set `spec.name` instead",
        "description" => "set `spec.description` instead",
        "tags" => "set `spec.tags` instead",
        "flowVariables" => "set `spec.variables` instead",
        "version" | "isPublished" | "publishedAt" | "createdAt" | "updatedAt" => {
            "it is managed by the Allma server; remove it"
        }
        _ => return None,
    })
}

fn unknown(key: &str, known: &[&str]) -> String {
    format!("unknown field `{key}`{}", suggestion(key, known))
}

/// ", did you mean `x`?" for the closest known word, when one is close.
pub fn suggestion(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(&word.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| format!(", did you mean `{k}`?"))
        .unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn list<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<&str> = keys.map(String::as_str).collect();
    format!("steps are: {}", keys.join(", "))
}

#[cfg(test)]
mod tests;
