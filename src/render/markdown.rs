//! The markdown format, for a pull-request comment: a summary table, each change's text
//! diff folded in a `<details>` block, and the summary line.

use super::text::{INDENT, details};
use super::{Painter, label, summary_line};
use crate::plan::{Change, Plan};

/// Renders the plan as a markdown comment (never coloured).
pub(super) fn markdown(plan: &Plan) -> String {
    let mut out = String::from("### allma-gitops plan\n\n");
    if !plan.changes.is_empty() {
        out.push_str(&table(&plan.changes));
        out.push('\n');
        for change in &plan.changes {
            out.push_str(&folded(change));
            out.push('\n');
        }
    }
    out.push_str(&format!("**{}**\n", summary_line(&plan.summary)));
    out
}

/// `| Action | Kind | Id | Source |`, one row per change.
fn table(changes: &[Change]) -> String {
    let mut out = String::from("| Action | Kind | Id | Source |\n|---|---|---|---|\n");
    for c in changes {
        let source = c.source.as_deref().map_or_else(|| "-".to_string(), code);
        out.push_str(&format!(
            "| {} | {} | {} | {source} |\n",
            label(c).0,
            c.kind,
            code(&c.id)
        ));
    }
    out
}

/// One change: its header as the summary, its details in a `diff` block.
fn folded(change: &Change) -> String {
    let title = escape_html(&format!(
        "{} {} {}",
        label(change).0,
        change.kind,
        change.id
    ));
    // Undo the text indentation so GitHub's `diff` highlighting sees `+`/`-` step lines.
    let lines: Vec<String> = details(change, Painter { color: false })
        .into_iter()
        .map(|l| l.strip_prefix(INDENT).map(str::to_string).unwrap_or(l))
        .collect();
    let body = lines.join("\n");
    let fence = fence(&body);
    format!("<details><summary>{title}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n")
}

/// A backtick fence longer than any backtick run in `body` (prompt text may hold fences).
fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// A table cell as inline code, with `|` escaped so it cannot end the cell.
fn code(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
