//! Allma-native artifacts: the export/import envelope (`formatVersion`, `flows`,
//! `promptTemplates`) and single flow or prompt version objects, as written by Allma's
//! flow builder (`*.flow.json`, `*.prompt.json`) or its export.

use super::tree::{Document, key_path};
use super::{Context, Fields};
use crate::model::{self, DeletionPolicy};
use serde_json::{Map, Value};
use std::path::Path;

/// Whether a document is an Allma-native artifact.
pub(super) fn is_native(obj: &Map<String, Value>) -> bool {
    obj.contains_key("formatVersion")
        || (obj.contains_key("id") && (obj.contains_key("steps") || obj.contains_key("content")))
}

/// Adds the flows and prompts of a native document.
pub(super) fn load(ctx: &mut Context, file: &Path, doc: &Document) {
    let obj = doc.value.as_object().cloned().unwrap_or_default();
    if !obj.contains_key("formatVersion") {
        return add(ctx, file, doc, String::new(), &obj);
    }
    for (key, unsupported) in [
        ("stepDefinitions", true),
        ("mcpConnections", true),
        ("agents", true),
    ] {
        if unsupported
            && obj
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        {
            ctx.warnings.push(super::Diagnostic {
                file: file.to_path_buf(),
                line: Some(doc.line_of(key)),
                message: format!("`{key}` are not managed by allma-gitops and are ignored"),
            });
        }
    }
    for key in ["promptTemplates", "flows"] {
        let Some(items) = obj.get(key).and_then(Value::as_array) else {
            continue;
        };
        for index in chosen_versions(items) {
            if let Some(item) = items[index].as_object() {
                add(ctx, file, doc, format!("{key}[{index}]"), item);
            }
        }
    }
}

/// An export holds every version of a flow: keep the published one, else the highest.
fn chosen_versions(items: &[Value]) -> Vec<usize> {
    let mut best: Vec<(String, usize)> = Vec::new();
    let rank = |v: &Value| {
        let published = v
            .get("isPublished")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        (
            published,
            v.get("version").and_then(Value::as_u64).unwrap_or(1),
        )
    };
    for (i, item) in items.iter().enumerate() {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match best.iter_mut().find(|(b, _)| *b == id && !id.is_empty()) {
            Some(slot) if rank(item) > rank(&items[slot.1]) => slot.1 = i,
            Some(_) => {}
            None => best.push((id, i)),
        }
    }
    best.into_iter().map(|(_, i)| i).collect()
}

fn add(ctx: &mut Context, file: &Path, doc: &Document, at: String, item: &Map<String, Value>) {
    let str_of = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(id) = str_of("id") else {
        let what = if at.is_empty() { "document" } else { &at };
        let msg = format!("`{what}` has no `id`");
        return ctx.error(file, Some(doc.line_of(&at)), msg);
    };
    let fields = Fields {
        id,
        id_at: key_path(&at, "id"),
        name: str_of("name"),
        description: str_of("description"),
        // An export of an Allma that allma-gitops manages carries its ownership tags on
        // versions: they are recomputed for this owner, not taken from the file.
        tags: strings(item.get("tags"))
            .into_iter()
            .filter(|t| !model::is_system_tag(t))
            .collect(),
        publish: true,
        deletion_policy: DeletionPolicy::default(),
    };
    if item.contains_key("steps") {
        let variables = item
            .get("flowVariables")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let definition = item
            .iter()
            .filter(|(k, _)| model::is_flow_content(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ctx.add_flow(file, doc, &at, fields, variables, definition);
    } else if let Some(content) = str_of("content") {
        ctx.add_prompt(file, doc, fields, content);
    } else {
        let msg = "neither a flow (`steps`) nor a prompt template (`content`)";
        ctx.error(file, Some(doc.line_of(&at)), msg.into());
    }
}

/// The strings of a list (Allma tags); anything else is left out.
fn strings(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
