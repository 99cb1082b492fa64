//! The resource model: `Flow` and `PromptTemplate` as files and as Kubernetes custom
//! resources, and the normalised form that the planner compares.

mod compare;
mod normalize;

pub use compare::{comparable, deep_merge, same_content, tag_set, version_number};

pub use normalize::{
    HASH_FIELD, SERVER_FIELDS, content_hash, fill_flow_defaults, is_flow_content,
    normalize_flow_version, normalize_prompt_version,
};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// API group and version of every allma-gitops resource.
pub const API_VERSION: &str = "allma.dev/v1alpha1";

/// The two kinds of Allma definitions allma-gitops manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A prompt template (`/allma/prompt-templates`).
    PromptTemplate,
    /// A flow definition (`/allma/flows`).
    Flow,
}

impl Kind {
    /// The kind as written in `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Flow => "Flow",
            Kind::PromptTemplate => "PromptTemplate",
        }
    }

    /// The Admin API collection path below `/allma/`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Flow => "flows",
            Kind::PromptTemplate => "prompt-templates",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to the live resource when its definition goes away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave the live resource as it is.
    Retain,
    /// Take the published version offline and keep every version.
    #[default]
    Unpublish,
    /// Unpublish, then delete every version the Admin API lets us delete.
    Delete,
}

impl DeletionPolicy {
    /// The policy's name as written in `deletionPolicy:` and in the master tag.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Retain => "Retain",
            DeletionPolicy::Unpublish => "Unpublish",
            DeletionPolicy::Delete => "Delete",
        }
    }

    /// Parses the value stored in a `deletion-policy:` tag.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Retain, Self::Unpublish, Self::Delete]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Desired state of an Allma flow.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "allma.dev",
    version = "v1alpha1",
    kind = "Flow",
    namespaced,
    status = "SyncStatus",
    shortname = "aflow",
    printcolumn = r#"{"name":"Id","type":"string","jsonPath":".status.allmaId"}"#,
    printcolumn = r#"{"name":"Published","type":"integer","jsonPath":".status.publishedVersion"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowSpec {
    /// Allma flow id; defaults to `metadata.name` and never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description shown in Allma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User tags on the flow master.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Allma `flowVariables` (stored on the master, not versioned).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(schema_with = "free_object")]
    pub variables: Map<String, Value>,
    /// Publish the version after writing it (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub publish: bool,
    /// What pruning does to the live flow (default Unpublish).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// The flow version content as Allma defines it (steps, startStepInstanceId, ...).
    #[schemars(schema_with = "free_object")]
    pub definition: Map<String, Value>,
}

/// Desired state of an Allma prompt template.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "allma.dev",
    version = "v1alpha1",
    kind = "PromptTemplate",
    namespaced,
    status = "SyncStatus",
    shortname = "aprompt",
    printcolumn = r#"{"name":"Id","type":"string","jsonPath":".status.allmaId"}"#,
    printcolumn = r#"{"name":"Published","type":"integer","jsonPath":".status.publishedVersion"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromptTemplateSpec {
    /// Allma prompt template id; defaults to `metadata.name` and never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description shown in Allma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The prompt text, with `{{variable}}` placeholders.
    pub content: String,
    /// Publish the version after writing it (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub publish: bool,
    /// What pruning does to the live prompt (default Unpublish).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Status written by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `Synced` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    /// The Allma id of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allma_id: Option<String>,
    /// The version that is live in Allma.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_version: Option<u32>,
    /// Hash of the applied content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// When the resource was last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
}

fn free_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Master-level fields of a desired resource, compared with the live master.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Master {
    /// Display name.
    pub name: String,
    /// Description (`None` = none).
    pub description: Option<String>,
    /// Every tag the master must carry, sorted: user tags plus ownership tags.
    pub tags: Vec<String>,
    /// Flow variables (always empty for prompts).
    pub variables: Map<String, Value>,
}

/// Prefix of the ownership tag: `managed-by:<owner>`.
pub const OWNER_TAG_PREFIX: &str = "managed-by:";
/// Prefix of the tag that records a non-default deletion policy on the master.
pub const POLICY_TAG_PREFIX: &str = "deletion-policy:";

/// The tags allma-gitops itself puts on a master it manages.
pub fn system_tags(owner: &str, policy: DeletionPolicy) -> Vec<String> {
    let mut tags = vec![format!("{OWNER_TAG_PREFIX}{owner}")];
    if policy != DeletionPolicy::default() {
        tags.push(format!("{POLICY_TAG_PREFIX}{}", policy.as_str()));
    }
    tags
}

/// The deletion policy recorded in a master's tags (default when none is).
pub fn policy_from_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> DeletionPolicy {
    tags.into_iter()
        .find_map(|t| {
            t.strip_prefix(POLICY_TAG_PREFIX)
                .and_then(DeletionPolicy::parse)
        })
        .unwrap_or_default()
}

/// JSON Schema of one definition document: a Flow or a PromptTemplate.
pub fn document_schema() -> Value {
    use kube::CustomResourceExt;
    let schema_of = |crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
        serde_json::to_value(&crd.spec.versions[0].schema).ok().and_then(|s| s.get("openAPIV3Schema").cloned()).unwrap_or_default()
    };
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "allma-gitops definition",
        "oneOf": [schema_of(Flow::crd()), schema_of(PromptTemplate::crd())]
    })
}

/// Whether a tag is one allma-gitops sets itself (ownership or deletion policy).
pub fn is_system_tag(tag: &str) -> bool {
    tag.starts_with(OWNER_TAG_PREFIX) || tag.starts_with(POLICY_TAG_PREFIX)
}

/// The ownership tag of an owner: `managed-by:<owner>`.
pub fn owner_tag(owner: &str) -> String {
    format!("{OWNER_TAG_PREFIX}{owner}")
}
