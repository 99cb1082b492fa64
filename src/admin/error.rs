//! Admin API errors: what failed, and a stable category for events and metrics.

use reqwest::{Method, StatusCode};

/// Failures talking to the Admin API. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be sent or timed out.
    #[error("{method} {path}: cannot reach the Admin API: {source}")]
    Request {
        /// HTTP method.
        method: Method,
        /// Path below the base URL.
        path: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{method} {path}: {status}: {message}{}", hint(*.status))]
    Status {
        /// HTTP method.
        method: Method,
        /// Path below the base URL.
        path: String,
        /// HTTP status.
        status: StatusCode,
        /// Allma error code (`NOT_FOUND`, `CONFLICT`, …), when the body had one.
        code: Option<String>,
        /// The server's message.
        message: String,
    },
    /// The answer was not the JSON expected.
    #[error("{method} {path}: unexpected answer: {message}")]
    Decode {
        /// HTTP method.
        method: Method,
        /// Path below the base URL.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Credentials could not be read.
    #[error(transparent)]
    Credentials(#[from] super::token::Error),
}

fn hint(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => " (check ALLMA_TOKEN or --token-file: Allma wants a valid Cognito ID token)",
        403 => {
            " (the user needs group `Admins` and role FLOW_MANAGER, or definitions:read/write/delete)"
        }
        _ => "",
    }
}

impl Error {
    /// HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the answer to a request was lost while the server may have acted on it:
    /// no answer at all, or a gateway error (API Gateway stops waiting after 30 s).
    pub fn answer_lost(&self) -> bool {
        match self {
            Error::Request { source, .. } => !source.is_connect(),
            Error::Status { status, .. } => matches!(status.as_u16(), 502..=504),
            _ => false,
        }
    }

    /// A stable PascalCase name for events and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Request { .. } => "Unreachable",
            Error::Status {
                status, message, ..
            } => match status.as_u16() {
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                409 => "Conflict",
                400 => "Invalid",
                500 if is_conflict_message(message) => "Conflict",
                _ => "ServerError",
            },
            Error::Decode { .. } => "BadResponse",
            Error::Credentials(_) => "Credentials",
        }
    }
}

/// The real server answers several conflicts with 500 (allma-admin-api.md §2.3).
fn is_conflict_message(message: &str) -> bool {
    message.contains("Transaction cancelled")
        || message.contains("not the currently published")
        || message.contains("not currently published")
        || message.contains("is not published")
}
