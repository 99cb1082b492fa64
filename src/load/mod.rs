//! Loading: files and directories -> `Desired` resources, in a deterministic order, with
//! every problem reported as `file:line: message` before anything talks to a server.

mod native;
pub mod tree;

use crate::model::{
    self, DeletionPolicy, FlowSpec, HASH_FIELD, Kind, Master, PromptTemplateSpec, content_hash,
    normalize_flow_version, normalize_prompt_version,
};
use crate::validate::{self, Reference};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use tree::Document;

/// Where a resource was defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// The first line of its document.
    pub line: u64,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One resource as the files want it to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Flow or prompt template.
    pub kind: Kind,
    /// The Allma id.
    pub id: String,
    /// Where it was defined.
    pub source: Source,
    /// Master fields (tags include the ownership tags).
    pub master: Master,
    /// The version body allma-gitops writes (no server-managed fields).
    pub version: Value,
    /// The normalised content compared with the live version.
    pub normalized: Value,
    /// Hash of `normalized`, stored on written versions as `allmaGitopsHash`.
    pub hash: String,
    /// Whether the version is published after writing.
    pub publish: bool,
    /// What pruning does to the live resource.
    pub deletion_policy: DeletionPolicy,
    /// Definitions this one refers to.
    pub references: Vec<Reference>,
}

/// A problem found while loading, with its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// The line, when known.
    pub line: Option<u64>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Loading failed; every problem found is listed.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the definitions:\n{}", .0.len(), lines(.0))]
pub struct Error(pub Vec<Diagnostic>);

fn lines(ds: &[Diagnostic]) -> String {
    ds.iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The loaded definitions and the warnings found on the way.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Resources, prompts first, each kind sorted by id.
    pub resources: Vec<Desired>,
    /// Problems that do not stop a run (e.g. a reference to an id not in the set).
    pub warnings: Vec<Diagnostic>,
}

/// Loads every definition under `paths` for the given owner.
pub fn load(paths: &[PathBuf], owner: &str) -> Result<Loaded, Error> {
    let mut ctx = Context {
        owner,
        errors: Vec::new(),
        warnings: Vec::new(),
        found: Vec::new(),
    };
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut ctx.errors);
    }
    if files.is_empty() && ctx.errors.is_empty() {
        let shown = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>();
        ctx.errors.push(Diagnostic {
            file: PathBuf::from(shown.join(" ")),
            line: None,
            message: "no .yaml, .yml or .json files found".into(),
        });
    }
    for file in &files {
        ctx.load_file(file);
    }
    let resources = ctx.dedupe();
    check_references(&resources, &mut ctx.warnings);
    if ctx.errors.is_empty() {
        Ok(Loaded {
            resources,
            warnings: ctx.warnings,
        })
    } else {
        Err(Error(ctx.errors))
    }
}

/// Walks a path: files as given, directories recursively in name order, hidden skipped.
fn collect_files(path: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let fail = |errors: &mut Vec<Diagnostic>, e: std::io::Error| {
        errors.push(Diagnostic {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        })
    };
    if !path.is_dir() {
        match path.metadata() {
            Ok(_) => out.push(path.to_path_buf()),
            Err(e) => fail(errors, e),
        }
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => return fail(errors, e),
    };
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            collect_files(&entry, out, errors);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
            out.push(entry);
        }
    }
}

struct Context<'a> {
    owner: &'a str,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    found: Vec<Desired>,
}

/// The user-facing fields shared by both kinds, as a file gives them.
pub(crate) struct Fields {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub publish: bool,
    pub deletion_policy: DeletionPolicy,
}

impl Context<'_> {
    fn error(&mut self, file: &Path, line: Option<u64>, message: String) {
        self.errors.push(Diagnostic {
            file: file.to_path_buf(),
            line,
            message,
        });
    }

    fn load_file(&mut self, file: &Path) {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return self.error(file, None, format!("cannot read: {e}")),
        };
        let docs = match tree::parse(&text) {
            Ok(docs) => docs,
            Err(e) => {
                let line = e.location().map(|l| l.line());
                let msg = first_line(&e.to_string());
                return self.error(file, line, format!("invalid YAML/JSON: {msg}"));
            }
        };
        for doc in &docs {
            self.load_document(file, doc);
        }
    }

    fn load_document(&mut self, file: &Path, doc: &Document) {
        let Some(obj) = doc.value.as_object() else {
            return self.error(file, Some(doc.line), "a document must be a map".into());
        };
        if obj.contains_key("apiVersion") || obj.contains_key("kind") {
            self.load_resource(file, doc, obj);
        } else if native::is_native(obj) {
            native::load(self, file, doc);
        } else {
            self.error(
                file,
                Some(doc.line),
                format!("not a definition: expected `apiVersion: {}` with `kind: Flow` or `kind: PromptTemplate`, or an Allma export (`formatVersion`, `flows`, `promptTemplates`)", model::API_VERSION),
            );
        }
    }

    fn load_resource(&mut self, file: &Path, doc: &Document, obj: &Map<String, Value>) {
        let api = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !api.starts_with("allma.dev/") && !api.is_empty() {
            return; // another kind of Kubernetes object living in the same folder
        }
        if api != model::API_VERSION {
            let line = Some(doc.line_of("apiVersion"));
            return self.error(
                file,
                line,
                format!(
                    "apiVersion `{api}` is not supported: use `{}`",
                    model::API_VERSION
                ),
            );
        }
        for key in obj
            .keys()
            .filter(|k| !["apiVersion", "kind", "metadata", "spec", "status"].contains(&k.as_str()))
        {
            let line = Some(doc.line_of(key));
            self.error(
                file,
                line,
                format!(
                    "unknown field `{key}` (a resource has apiVersion, kind, metadata and spec)"
                ),
            );
        }
        let name = obj
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str);
        let Some(name) = name.map(str::to_string) else {
            return self.error(file, Some(doc.line), "missing `metadata.name`".into());
        };
        let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        match kind {
            "Flow" => {
                if let Some(spec) = self.typed::<FlowSpec>(file, doc, spec) {
                    let fields = Fields {
                        id: spec.id.unwrap_or(name),
                        name: spec.name,
                        description: spec.description,
                        tags: spec.tags,
                        publish: spec.publish,
                        deletion_policy: spec.deletion_policy,
                    };
                    self.add_flow(
                        file,
                        doc,
                        "spec.definition",
                        fields,
                        spec.variables,
                        spec.definition,
                    );
                }
            }
            "PromptTemplate" => {
                if let Some(spec) = self.typed::<PromptTemplateSpec>(file, doc, spec) {
                    let fields = Fields {
                        id: spec.id.unwrap_or(name),
                        name: spec.name,
                        description: spec.description,
                        tags: spec.tags,
                        publish: spec.publish,
                        deletion_policy: spec.deletion_policy,
                    };
                    self.add_prompt(file, doc, fields, spec.content);
                }
            }
            "AllmaConnection" => {}
            other => {
                let line = Some(doc.line_of("kind"));
                self.error(
                    file,
                    line,
                    format!("unknown kind `{other}`: use Flow or PromptTemplate"),
                );
            }
        }
    }

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

    /// Adds a flow; `def_path` is where its definition sits in the document.
    pub(crate) fn add_flow(
        &mut self,
        file: &Path,
        doc: &Document,
        def_path: &str,
        f: Fields,
        variables: Map<String, Value>,
        mut definition: Map<String, Value>,
    ) {
        if let Some(Value::Object(steps)) = definition.get_mut("steps") {
            for (id, step) in steps.iter_mut() {
                if let Some(step) = step.as_object_mut() {
                    step.entry("stepInstanceId").or_insert_with(|| json!(id));
                }
            }
        }
        let mut failed = false;
        for p in validate::check_flow(&definition) {
            let path = tree::key_path(def_path, &p.path);
            let d = Diagnostic {
                file: file.to_path_buf(),
                line: Some(doc.line_of(&path)),
                message: format!("`{path}`: {}", p.message),
            };
            if p.warning {
                self.warnings.push(d);
            } else {
                failed = true;
                self.errors.push(d);
            }
        }
        if failed || !self.check_id(file, doc, &f.id) {
            return;
        }
        definition.insert("authoringSource".into(), json!("code"));
        model::fill_flow_defaults(&mut definition);
        let mut references = validate::references(&definition);
        for r in &mut references {
            r.line = doc.line_of(&tree::key_path(def_path, &r.path));
        }
        let master = self.master(&f, variables);
        let normalized = normalize_flow_version(&Value::Object(definition.clone()));
        let hash = content_hash(&normalized);
        let mut version = definition;
        version.insert("name".into(), json!(master.name));
        version.insert("description".into(), json!(master.description));
        version.insert("tags".into(), json!(master.tags));
        version.insert(HASH_FIELD.into(), json!(hash));
        self.push(
            Kind::Flow,
            file,
            doc,
            f,
            master,
            Value::Object(version),
            normalized,
            hash,
            references,
        );
    }

    /// Adds a prompt template.
    pub(crate) fn add_prompt(&mut self, file: &Path, doc: &Document, f: Fields, content: String) {
        if content.trim().is_empty() {
            let line = Some(doc.line_of("spec.content"));
            return self.error(
                file,
                line,
                "`content` is empty: Allma needs prompt text".into(),
            );
        }
        if !self.check_id(file, doc, &f.id) {
            return;
        }
        let master = self.master(&f, Map::new());
        let mut version = json!({"name": master.name, "content": content, "tags": master.tags});
        if let Some(d) = &master.description {
            version["description"] = json!(d);
        }
        let normalized = normalize_prompt_version(&version);
        let hash = content_hash(&normalized);
        version[HASH_FIELD] = json!(hash);
        self.push(
            Kind::PromptTemplate,
            file,
            doc,
            f,
            master,
            version,
            normalized,
            hash,
            Vec::new(),
        );
    }

    fn check_id(&mut self, file: &Path, doc: &Document, id: &str) -> bool {
        let ok = validate::valid_id(id);
        if !ok {
            let msg = format!(
                "id `{id}` is not usable in Admin API paths: use letters, digits, `.`, `_` and `-` (at most 128)"
            );
            self.error(file, Some(doc.line), msg);
        }
        ok
    }

    fn master(&self, f: &Fields, variables: Map<String, Value>) -> Master {
        let mut tags = f.tags.clone();
        tags.extend(model::system_tags(self.owner, f.deletion_policy));
        tags.sort();
        tags.dedup();
        Master {
            name: f.name.clone().unwrap_or_else(|| f.id.clone()),
            description: f.description.clone(),
            tags,
            variables,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        file: &Path,
        doc: &Document,
        f: Fields,
        master: Master,
        version: Value,
        normalized: Value,
        hash: String,
        references: Vec<Reference>,
    ) {
        self.found.push(Desired {
            kind,
            id: f.id,
            source: Source {
                file: file.to_path_buf(),
                line: doc.line,
            },
            master,
            version,
            normalized,
            hash,
            publish: f.publish,
            deletion_policy: f.deletion_policy,
            references,
        });
    }

    /// Sorts the resources and reports duplicate ids, naming both places.
    fn dedupe(&mut self) -> Vec<Desired> {
        let mut seen: BTreeMap<(Kind, String), Desired> = BTreeMap::new();
        for d in std::mem::take(&mut self.found) {
            if let Some(first) = seen.get(&(d.kind, d.id.clone())) {
                let message = format!(
                    "duplicate {} id `{}`: also defined at {}; ids must be unique per kind",
                    d.kind, d.id, first.source
                );
                self.errors.push(Diagnostic {
                    file: d.source.file.clone(),
                    line: Some(d.source.line),
                    message,
                });
            } else {
                seen.insert((d.kind, d.id.clone()), d);
            }
        }
        seen.into_values().collect()
    }
}

/// Offline, a reference to an id outside the set is only a warning: it may exist live.
fn check_references(resources: &[Desired], warnings: &mut Vec<Diagnostic>) {
    for d in resources {
        for r in &d.references {
            if !resources.iter().any(|o| o.kind == r.kind && o.id == r.id) {
                warnings.push(Diagnostic {
                    file: d.source.file.clone(),
                    line: Some(r.line),
                    message: format!(
                        "{} `{}` is not defined in these files; it must already exist in Allma",
                        r.kind, r.id
                    ),
                });
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

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests;
