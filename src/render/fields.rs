//! The semantic diff of one change: flow steps grouped by step id, other fields as
//! `path: old → new`, long text and large structures as a unified line diff.

use super::text::INDENT;
use super::{Painter, Style};
use crate::model::Kind;
use crate::plan::{Action, Change, FieldChange, field_changes};
use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};

/// Longest value shown inline, in characters; longer ones are cut with `…`.
const MAX_VALUE: usize = 60;
/// Indentation of a step's field lines.
const STEP_INDENT: &str = "        ";

/// A run of differences that render together.
enum Group {
    /// Differences inside one flow step.
    Step(String, Vec<FieldChange>),
    /// Any other difference.
    Field(FieldChange),
}

/// The diff lines of a change (already indented below its header).
pub(super) fn body(change: &Change, p: Painter) -> Vec<String> {
    let create = change.action == Action::Create;
    let mut shown: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for group in groups(change) {
        match group {
            Group::Step(id, changes) => lines.extend(step(&id, &changes, p)),
            // A create lists each top-level field once (prompts carry name and tags
            // both on the version and on the master).
            Group::Field(fc) if create => {
                if !shown.contains(&fc.path) {
                    lines.extend(created_field(&fc.path, fc.new.as_ref()));
                    shown.push(fc.path);
                }
            }
            Group::Field(fc) => {
                lines.extend(field(&fc.path, fc.old.as_ref(), fc.new.as_ref(), INDENT, p))
            }
        }
    }
    lines
}

/// Groups consecutive differences of the same flow step; the diff is sorted by path.
fn groups(change: &Change) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for fc in expanded(change) {
        let Some(id) = step_id(change.kind, &fc.path) else {
            out.push(Group::Field(fc));
            continue;
        };
        match out.last_mut() {
            Some(Group::Step(last, changes)) if *last == id => changes.push(fc),
            _ => out.push(Group::Step(id, vec![fc])),
        }
    }
    out
}

/// The diff with a whole `steps` map (no live version to compare) split per step.
fn expanded(change: &Change) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for fc in &change.diff {
        let maps = fc.old.as_ref().is_none_or(Value::is_object)
            && fc.new.as_ref().is_none_or(Value::is_object);
        if change.kind == Kind::Flow && fc.path == "steps" && maps {
            let side =
                |v: &Option<Value>| json!({ "steps": v.clone().unwrap_or_else(|| json!({})) });
            out.extend(field_changes(&side(&fc.old), &side(&fc.new)));
        } else {
            out.push(fc.clone());
        }
    }
    out
}

/// The step id of a `steps.<id>[.field]` path of a flow.
fn step_id(kind: Kind, path: &str) -> Option<String> {
    let rest = path.strip_prefix("steps.").filter(|_| kind == Kind::Flow)?;
    rest.split('.').next().map(str::to_string)
}

/// `+ step id (TYPE)`, `- step id`, or `~ step id` with its field changes.
fn step(id: &str, changes: &[FieldChange], p: Painter) -> Vec<String> {
    let whole = format!("steps.{id}");
    if let [only] = changes
        && only.path == whole
    {
        match (&only.old, &only.new) {
            (None, Some(new)) => {
                let line = format!("+ step {id}{}", step_type(new));
                return vec![format!("{INDENT}{}", p.paint(Style::Green, &line))];
            }
            (Some(_), None) => {
                let line = format!("- step {id}");
                return vec![format!("{INDENT}{}", p.paint(Style::Red, &line))];
            }
            _ => {}
        }
    }
    let mut lines = vec![format!(
        "{INDENT}{}",
        p.paint(Style::Yellow, &format!("~ step {id}"))
    )];
    for fc in changes {
        let name = fc
            .path
            .strip_prefix(&whole)
            .and_then(|r| r.strip_prefix('.'));
        let (old, new) = (fc.old.as_ref(), fc.new.as_ref());
        lines.extend(field(name.unwrap_or("(step)"), old, new, STEP_INDENT, p));
    }
    lines
}

/// ` (LLM_INVOCATION)` from a step's `stepType`, or nothing.
fn step_type(step: &Value) -> String {
    step.get("stepType")
        .and_then(Value::as_str)
        .map(|t| format!(" ({t})"))
        .unwrap_or_default()
}

/// `label: old → new`, or `label:` followed by a unified diff for long values.
fn field(
    label: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    indent: &str,
    p: Painter,
) -> Vec<String> {
    match blocks(old, new) {
        Some((a, b)) => {
            let mut lines = vec![format!("{indent}{label}:")];
            lines.extend(unified(&a, &b, &format!("{indent}{INDENT}"), p));
            lines
        }
        None if too_long(old) || too_long(new) => {
            // Cut values would hide the change: show both in full, one per line.
            let full = |v: Option<&Value>| v.map_or("(absent)".to_string(), Value::to_string);
            let sub = format!("{indent}{INDENT}");
            vec![
                format!("{indent}{label}:"),
                format!("{sub}{}", p.paint(Style::Red, &format!("- {}", full(old)))),
                format!(
                    "{sub}{}",
                    p.paint(Style::Green, &format!("+ {}", full(new)))
                ),
            ]
        }
        None => vec![format!(
            "{indent}{label}: {} → {}",
            compact(old),
            compact(new)
        )],
    }
}

fn too_long(value: Option<&Value>) -> bool {
    value.is_some_and(|v| v.to_string().chars().count() > MAX_VALUE)
}

/// A field of a created resource: its value only, long text as a line count.
fn created_field(label: &str, new: Option<&Value>) -> Option<String> {
    match new? {
        Value::Null => None,
        Value::String(s) if s.contains('\n') => {
            Some(format!("{INDENT}{label}: ({} lines)", s.lines().count()))
        }
        v => Some(format!("{INDENT}{label}: {}", compact(Some(v)))),
    }
}

/// Both sides as text when a line diff reads better than one line: multi-line strings,
/// or objects and lists too long to show inline.
fn blocks(old: Option<&Value>, new: Option<&Value>) -> Option<(String, String)> {
    let multiline = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| s.contains('\n'));
    let nested = |v: Option<&Value>| v.is_some_and(|v| v.is_object() || v.is_array());
    let long = |v: Option<&Value>| v.is_some_and(|v| v.to_string().chars().count() > MAX_VALUE);
    let text = multiline(old) || multiline(new);
    let structure = nested(old) && nested(new) && (long(old) || long(new));
    (text || structure).then(|| (block(old), block(new)))
}

fn block(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}

/// A unified diff (3 lines of context) of two texts, each line prefixed by `indent`.
fn unified(old: &str, new: &str, indent: &str, p: Painter) -> Vec<String> {
    let diff = TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        lines.push(format!(
            "{indent}{}",
            p.paint(Style::Cyan, &hunk.header().to_string())
        ));
        for change in hunk.iter_changes() {
            let value = change.value().trim_end_matches(['\n', '\r']);
            let line = match change.tag() {
                ChangeTag::Delete => {
                    format!("{indent}{}", p.paint(Style::Red, &format!("-{value}")))
                }
                ChangeTag::Insert => {
                    format!("{indent}{}", p.paint(Style::Green, &format!("+{value}")))
                }
                // No trailing blanks for an unchanged empty line.
                ChangeTag::Equal => format!("{indent} {value}").trim_end().to_string(),
            };
            lines.push(line);
        }
    }
    lines
}

/// Compact JSON, cut at [`MAX_VALUE`] characters; `(absent)` for a missing value.
fn compact(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".to_string();
    };
    let text = value.to_string();
    if text.chars().count() <= MAX_VALUE {
        return text;
    }
    let cut: String = text.chars().take(MAX_VALUE - 1).collect();
    format!("{cut}…")
}
