//! `schema` and `crds`: generated from the model types.

use crate::model::{Flow, PromptTemplate};
use anyhow::Result;
use kube::CustomResourceExt;

/// Prints the JSON Schema of a definition document (Flow or PromptTemplate).
pub fn schema() -> Result<u8> {
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::model::document_schema())?
    );
    Ok(super::EXIT_OK)
}

/// Prints the CRDs as a multi-document YAML stream.
pub fn crds() -> Result<u8> {
    print!("{}", crds_yaml()?);
    Ok(super::EXIT_OK)
}

/// The CRDs, as `crds/` holds them.
pub fn crds_yaml() -> Result<String> {
    let mut out = String::new();
    for crd in [Flow::crd(), PromptTemplate::crd()] {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_folder_matches_the_model() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/allma-gitops.crds.yaml");
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == crds_yaml().unwrap(),
            "{} is stale: regenerate it with `cargo run -- crds > crds/allma-gitops.crds.yaml`",
            path.display()
        );
    }

    #[test]
    fn schema_covers_both_kinds() {
        let schema = crate::model::document_schema();
        let kinds = schema["oneOf"].as_array().unwrap();
        assert_eq!(kinds.len(), 2);
        assert!(kinds[0]["properties"]["spec"]["properties"]["definition"].is_object());
        assert!(kinds[1]["properties"]["spec"]["properties"]["content"].is_object());
    }
}
