//! allma-gitops: reconcile Allma flows and prompt templates from definition files.
//!
//! The pipeline every entry point runs: [`load`] the files into desired resources,
//! [`admin::Client::snapshot`] the live state, [`plan::plan`] (pure), [`render`] the plan,
//! and [`apply::execute`] it. [`local`] is the embedded Admin API used by default.

pub mod admin;
pub mod apply;
pub mod cli;
pub mod load;
pub mod local;
pub mod model;
pub mod plan;
pub mod render;
pub mod telemetry;
pub mod validate;

/// Any failure of the library, by module boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The definition files are invalid.
    #[error(transparent)]
    Load(#[from] load::Error),
    /// Talking to the Admin API failed.
    #[error(transparent)]
    Admin(#[from] admin::Error),
    /// The plan cannot be made.
    #[error(transparent)]
    Plan(#[from] plan::Error),
    /// The embedded Admin API cannot start.
    #[error(transparent)]
    Local(#[from] local::Error),
}

impl Error {
    /// A stable PascalCase name for event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Load(_) => "InvalidDefinition",
            Error::Admin(e) => e.category(),
            Error::Plan(_) => "InvalidPlan",
            Error::Local(_) => "LocalStore",
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The current time as Allma writes it: ISO-8601 UTC with milliseconds and `Z`.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
