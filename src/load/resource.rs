//! Kubernetes-style documents (`apiVersion: allma.dev/v1alpha1`, `kind: Flow` or
//! `PromptTemplate`): the same shape in files as in the cluster.

use super::tree::{self, Document};
use super::{Context, Fields};
use crate::model::{API_VERSION, FlowSpec, PromptTemplateSpec};
use serde_json::{Map, Value};
use std::path::Path;

/// Kinds that exist only in the allma.dev group: another apiVersion is a typo, and
/// skipping the document would let `--prune` remove what it defines.
const KINDS: &[&str] = &["Flow", "PromptTemplate", "AllmaConnection"];

/// Top-level keys of a resource document.
const KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// `Fields` from a `FlowSpec` or a `PromptTemplateSpec`, which share these fields; the id
/// defaults to `metadata.name`.
macro_rules! fields_of {
    ($spec:ident, $name:expr) => {
        Fields {
            id_at: if $spec.id.is_some() {
                "spec.id"
            } else {
                "metadata.name"
            }
            .to_string(),
            id: $spec.id.unwrap_or($name),
            name: $spec.name,
            description: $spec.description,
            tags: $spec.tags,
            publish: $spec.publish,
            deletion_policy: $spec.deletion_policy,
        }
    };
}

impl Context<'_> {
    /// Adds the resource a document defines; objects of other API groups are skipped.
    pub(super) fn load_resource(&mut self, file: &Path, doc: &Document, obj: &Map<String, Value>) {
        let Some(kind) = self.resource_kind(file, doc, obj) else {
            return;
        };
        for key in obj.keys().filter(|k| !KEYS.contains(&k.as_str())) {
            let msg = format!(
                "unknown field `{key}` (a resource has apiVersion, kind, metadata and spec)"
            );
            self.error(file, Some(doc.line_of(key)), msg);
        }
        let name = obj.get("metadata").and_then(|m| m.get("name"));
        let Some(name) = name.and_then(Value::as_str).map(str::to_string) else {
            return self.error(file, Some(doc.line), "missing `metadata.name`".into());
        };
        let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        if kind == "Flow" || kind == "PromptTemplate" {
            self.check_tags(file, doc, "spec.tags", spec.get("tags"));
        }
        match kind {
            "Flow" => {
                if let Some(spec) = self.typed::<FlowSpec>(file, doc, spec) {
                    let f = fields_of!(spec, name);
                    let at = "spec.definition";
                    self.add_flow(file, doc, at, f, spec.variables, spec.definition);
                }
            }
            "PromptTemplate" => {
                if let Some(spec) = self.typed::<PromptTemplateSpec>(file, doc, spec) {
                    let f = fields_of!(spec, name);
                    self.add_prompt(file, doc, f, spec.content);
                }
            }
            "AllmaConnection" => {}
            other => {
                let msg = format!("unknown kind `{other}`: use Flow or PromptTemplate");
                self.error(file, Some(doc.line_of("kind")), msg);
            }
        }
    }

    /// The kind of an allma.dev document; `None` for another group's object (skipped) or
    /// after reporting a missing or unsupported `apiVersion` or a missing `kind`.
    fn resource_kind<'a>(
        &mut self,
        file: &Path,
        doc: &Document,
        obj: &'a Map<String, Value>,
    ) -> Option<&'a str> {
        let kind = obj.get("kind").and_then(Value::as_str);
        let api = match obj.get("apiVersion") {
            None | Some(Value::Null) => {
                let msg = format!("missing `apiVersion: {API_VERSION}`");
                self.error(file, Some(doc.line), msg);
                return None;
            }
            Some(Value::String(api)) => api.clone(),
            Some(other) => other.to_string(),
        };
        if api == API_VERSION {
            if kind.is_none() {
                let msg = "missing `kind` (Flow or PromptTemplate)".into();
                self.error(file, Some(doc.line), msg);
            }
            return kind;
        }
        let ours = kind.filter(|k| KINDS.contains(k));
        if ours.is_none() && !api.starts_with("allma.dev/") {
            return None; // another kind of Kubernetes object living in the same folder
        }
        let what = ours.map(|k| format!(" for kind {k}")).unwrap_or_default();
        let msg = format!("apiVersion `{api}` is not supported{what}: use `{API_VERSION}`");
        self.error(file, Some(doc.line_of("apiVersion")), msg);
        None
    }

    /// The spec as `T`, or `None` after reporting the first mismatch at its line.
    fn typed<T: serde::de::DeserializeOwned>(
        &mut self,
        file: &Path,
        doc: &Document,
        spec: Value,
    ) -> Option<T> {
        if spec.is_null() {
            self.error(file, Some(doc.line), "missing `spec`".into());
            return None;
        }
        match serde_path_to_error::deserialize::<_, T>(spec) {
            Ok(t) => Some(t),
            Err(e) => {
                let path = spec_path(e.path());
                let line = Some(doc.line_of(&path));
                self.error(file, line, format!("`{path}`: {}", e.into_inner()));
                None
            }
        }
    }
}

fn spec_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("spec");
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = tree::key_path(&out, key),
            Segment::Enum { variant } => out = tree::key_path(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}
