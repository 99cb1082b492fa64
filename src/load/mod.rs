//! Loading: files and directories -> `Desired` resources, in a deterministic order, with
//! every problem reported as `file:line: message` before anything talks to a server.

mod desired;
mod native;
mod resource;
pub mod tree;

use crate::model::{self, DeletionPolicy, Kind, Master};
use crate::validate::Reference;
use desired::Fields;
use serde::Serialize;
use serde_json::Value;
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

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests;
