//! Rendering: turns a `Plan` into what `diff`, `apply --dry-run` and the controller's
//! logs print — a semantic text diff, a pull-request comment, or JSON (DESIGN §5).

use crate::plan::{Action, Change, Plan, Summary};

mod fields;
mod markdown;
#[cfg(test)]
mod tests;
mod text;

/// Output format of a plan (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable semantic diff with a summary line.
    Text,
    /// The plan as JSON (stable shape, documented in the README).
    Json,
    /// A pull-request comment: summary table and folded per-resource diffs.
    Markdown,
}

impl Format {
    /// The human-readable format (the only one with colours).
    pub fn is_text(self) -> bool {
        self == Format::Text
    }
}

/// Renders `plan` in `format`; `color` adds ANSI colours to the text format only.
///
/// The JSON format is the plan's serde form, a stable shape:
///
/// ```text
/// {
///   "changes": [{
///     "kind": "Flow" | "PromptTemplate",
///     "id": string,
///     "source": "file:line" | null,
///     "action": "create" | "update" | "publish-draft" | "prune" | "refused",
///     "drift": bool,
///     "reason": string | null,
///     "diff": [{ "path": "steps.summarize.modelId", "old": any | null, "new": any | null }],
///     "operations": [{ "op": "import" | "create-version" | "put-version" | "publish"
///                          | "unpublish" | "delete-version" | "put-flow-master",
///                      "version"?: "new" | { "number": n } | n,
///                      "after"?: n }]
///   }],
///   "summary": { "create": n, "update": n, "prune": n, "drift": n, "refused": n, "unchanged": n }
/// }
/// ```
///
/// `old`/`new` are `null` when the field is absent on that side (live → desired).
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::text(plan, color),
        Format::Json => json(plan),
        Format::Markdown => markdown::markdown(plan),
    }
}

fn json(plan: &Plan) -> String {
    // The plan holds only string-keyed maps, so serialisation cannot fail.
    let body = serde_json::to_string_pretty(plan)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    body + "\n"
}

/// The closing line: `Plan: 1 to create, 2 to update, 0 to prune, 1 drifted.`, or
/// `No changes. N resources in sync.` when nothing but refusals remain.
fn summary_line(s: &Summary) -> String {
    let refused = if s.refused > 0 {
        format!(", {} refused", s.refused)
    } else {
        String::new()
    };
    if s.create + s.update + s.prune + s.drift == 0 {
        let noun = if s.unchanged == 1 {
            "resource"
        } else {
            "resources"
        };
        return format!("No changes. {} {noun} in sync{refused}.", s.unchanged);
    }
    format!(
        "Plan: {} to create, {} to update, {} to prune, {} drifted{refused}.",
        s.create, s.update, s.prune, s.drift
    )
}

/// How a change is labelled: sigil and verb (`~ update`), and its colour.
fn label(change: &Change) -> (&'static str, Style) {
    match (change.action, change.drift) {
        (Action::Create, _) => ("+ create", Style::Green),
        (Action::Prune, _) => ("- prune", Style::Red),
        (Action::Refused, _) => ("x refused", Style::Red),
        (Action::Update | Action::PublishDraft, true) => ("! drift", Style::Magenta),
        (Action::Update, false) => ("~ update", Style::Yellow),
        (Action::PublishDraft, false) => ("~ publish draft", Style::Yellow),
    }
}

/// An ANSI style.
#[derive(Debug, Clone, Copy)]
enum Style {
    Green,
    Yellow,
    Red,
    Magenta,
    Cyan,
    Dim,
}

/// Applies styles when colour is on, and is the identity otherwise.
#[derive(Debug, Clone, Copy)]
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Magenta => "35",
            Style::Cyan => "36",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}
