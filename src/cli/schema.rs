//! `schema` and `crds`: generated from the model types.

use crate::model::{Flow, PromptTemplate};
use anyhow::Result;
use kube::CustomResourceExt;

/// Prints the JSON Schema of a definition document (Flow or PromptTemplate).
pub fn schema() -> Result<u8> {
    println!("{}", serde_json::to_string_pretty(&crate::model::document_schema())?);
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
