//! The text format: one header line per change, its semantic diff and operations, then
//! the summary line.

use super::{Painter, Style, fields, label, summary_line};
use crate::plan::{Change, Op, Plan};

/// Indentation of everything below a change's header line.
pub(super) const INDENT: &str = "    ";

/// Renders the whole plan as text.
pub(super) fn text(plan: &Plan, color: bool) -> String {
    let p = Painter { color };
    let mut out = String::new();
    for change in &plan.changes {
        out.push_str(&header(change, p));
        out.push('\n');
        for line in details(change, p) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&summary_line(&plan.summary));
    out.push('\n');
    out
}

/// `~ update Flow extract-and-store (defs/x.yaml:12)`.
fn header(change: &Change, p: Painter) -> String {
    let (verb, style) = label(change);
    let source = change
        .source
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!(
        "{} {} {}{source}",
        p.paint(style, verb),
        change.kind,
        change.id
    )
}

/// The indented lines below a header: reason, semantic diff, operations.
pub(super) fn details(change: &Change, p: Painter) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(reason) = &change.reason {
        lines.push(format!("{INDENT}reason: {reason}"));
    }
    lines.extend(fields::body(change, p));
    if !change.operations.is_empty() {
        let ops = format!("operations: {}", op_names(&change.operations).join(", "));
        lines.push(format!("{INDENT}{}", p.paint(Style::Dim, &ops)));
    }
    lines
}

/// The `op` tag of each operation, as the JSON format names it.
fn op_names(ops: &[Op]) -> Vec<String> {
    ops.iter()
        .map(|op| {
            let value = serde_json::to_value(op).unwrap_or_default();
            value["op"].as_str().unwrap_or("?").to_string()
        })
        .collect()
}
