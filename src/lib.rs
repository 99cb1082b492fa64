//! allma-gitops: reconcile Allma flows and prompt templates from files.
pub mod local;
pub mod model;
pub mod load;
pub mod validate;
