//! allma-gitops: reconcile Allma flows and prompt templates from files.
pub mod admin;
pub mod load;
pub mod local;
pub mod model;
pub mod validate;

/// The current time as Allma writes it: ISO-8601 UTC with milliseconds and `Z`.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
pub mod apply;
pub mod cli;
pub mod plan;
pub mod render;
pub mod telemetry;
