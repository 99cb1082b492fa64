//! From the fields and definition a document gives to a `Desired`: the checks that need
//! both (ids, reserved tags, the flow's own problems), the master with its ownership tags,
//! the version body and its hash.

use super::tree::{self, Document};
use super::{Context, Desired, Diagnostic, Source};
use crate::model::{
    self, DeletionPolicy, HASH_FIELD, Kind, Master, OWNER_TAG_PREFIX, POLICY_TAG_PREFIX,
    content_hash, normalize_flow_version, normalize_prompt_version,
};
use crate::validate::{self, Reference};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The user-facing fields shared by both kinds, as a file gives them.
pub(crate) struct Fields {
    pub id: String,
    /// Where the id is written (`spec.id`, `metadata.name`, `flows[0].id`), for errors.
    pub id_at: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub publish: bool,
    pub deletion_policy: DeletionPolicy,
}

/// What one resource writes, besides its `Fields` and master.
struct Content {
    kind: Kind,
    /// The version body, without its hash.
    version: Value,
    normalized: Value,
    references: Vec<Reference>,
}

impl Context<'_> {
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
        fill_step_ids(&mut definition);
        let problems = validate::check_flow(&definition);
        if !self.report(file, doc, def_path, problems) || !self.check_id(file, doc, &f) {
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
        let mut version = definition;
        version.insert("name".into(), json!(master.name));
        version.insert("description".into(), json!(master.description));
        version.insert("tags".into(), json!(master.tags));
        let content = Content {
            kind: Kind::Flow,
            version: Value::Object(version),
            normalized,
            references,
        };
        self.push(file, doc, f, master, content);
    }

    /// Records a definition's problems; whether there was no error among them.
    fn report(
        &mut self,
        file: &Path,
        doc: &Document,
        def_path: &str,
        problems: Vec<validate::Problem>,
    ) -> bool {
        let mut ok = true;
        for p in problems {
            let path = tree::key_path(def_path, &p.path);
            let d = Diagnostic {
                file: file.to_path_buf(),
                line: Some(doc.line_of(&path)),
                message: format!("`{path}`: {}", p.message),
            };
            if p.warning {
                self.warnings.push(d);
            } else {
                ok = false;
                self.errors.push(d);
            }
        }
        ok
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
        if !self.check_id(file, doc, &f) {
            return;
        }
        let master = self.master(&f, Map::new());
        let mut version = json!({"name": master.name, "content": content, "tags": master.tags});
        if let Some(d) = &master.description {
            version["description"] = json!(d);
        }
        let content = Content {
            kind: Kind::PromptTemplate,
            normalized: normalize_prompt_version(&version),
            version,
            references: Vec::new(),
        };
        self.push(file, doc, f, master, content);
    }

    /// Reports an id that cannot be used in Admin API paths, at the line that sets it.
    fn check_id(&mut self, file: &Path, doc: &Document, f: &Fields) -> bool {
        let ok = validate::valid_id(&f.id);
        if !ok {
            let msg = format!(
                "id `{}` is not usable in Admin API paths: use letters, digits, `.`, `_` and `-` (at most 128)",
                f.id
            );
            self.error(file, Some(doc.line_of(&f.id_at)), msg);
        }
        ok
    }

    /// Reports user tags (the list at `at`) that use a prefix allma-gitops keeps for the
    /// tags it sets itself: a user's copy would fake ownership or a deletion policy.
    pub(crate) fn check_tags(
        &mut self,
        file: &Path,
        doc: &Document,
        at: &str,
        tags: Option<&Value>,
    ) {
        let Some(Value::Array(tags)) = tags else {
            return;
        };
        for (i, tag) in tags.iter().enumerate() {
            let Some(tag) = tag.as_str() else { continue };
            if model::is_system_tag(tag) {
                let path = format!("{at}[{i}]");
                let msg = format!(
                    "`{path}`: tag `{tag}` is reserved: allma-gitops sets ownership (`{OWNER_TAG_PREFIX}…`) from `--owner` and the deletion policy (`{POLICY_TAG_PREFIX}…`) from `spec.deletionPolicy`; remove it"
                );
                self.error(file, Some(doc.line_of(&path)), msg);
            }
        }
    }

    fn master(&self, f: &Fields, variables: Map<String, Value>) -> Master {
        let tags = model::tag_set(
            f.tags
                .iter()
                .cloned()
                .chain(model::system_tags(self.owner, f.deletion_policy)),
        );
        Master {
            name: f.name.clone().unwrap_or_else(|| f.id.clone()),
            description: f.description.clone(),
            tags,
            variables,
        }
    }

    /// Records a resource; its version gets the hash of its normalised content.
    fn push(&mut self, file: &Path, doc: &Document, f: Fields, master: Master, c: Content) {
        let hash = content_hash(&c.normalized);
        let mut version = c.version;
        if let Some(v) = version.as_object_mut() {
            v.insert(HASH_FIELD.into(), json!(hash));
        }
        self.found.push(Desired {
            kind: c.kind,
            id: f.id,
            source: Source {
                file: file.to_path_buf(),
                line: doc.line,
            },
            master,
            version,
            normalized: c.normalized,
            hash,
            publish: f.publish,
            deletion_policy: f.deletion_policy,
            references: c.references,
        });
    }
}

/// Steps may leave out `stepInstanceId`; Allma's tools always write it equal to the key.
fn fill_step_ids(definition: &mut Map<String, Value>) {
    if let Some(Value::Object(steps)) = definition.get_mut("steps") {
        for (id, step) in steps.iter_mut() {
            if let Some(step) = step.as_object_mut() {
                step.entry("stepInstanceId").or_insert_with(|| json!(id));
            }
        }
    }
}
