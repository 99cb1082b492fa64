//! Responses of the embedded Admin API: the Allma envelope, API-Gateway-style bodies and
//! the error translation of Allma's CRUD handler (§2 of the API reference).

use serde_json::{Value, json};

/// A finished response: status and JSON body (`None` for 204).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl Reply {
    /// 200 with `{"success":true,"data":…}`.
    pub(crate) fn ok(data: Value) -> Reply {
        Reply::data(200, data)
    }

    /// 201 with the success envelope.
    pub(crate) fn created(data: Value) -> Reply {
        Reply::data(201, data)
    }

    /// 204, empty body.
    pub(crate) fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
        }
    }

    fn data(status: u16, data: Value) -> Reply {
        Reply {
            status,
            body: Some(json!({"success": true, "data": data})),
        }
    }

    /// A body API Gateway itself would send (`{"message": …}`), not the envelope.
    pub(crate) fn gateway(status: u16, message: &str) -> Reply {
        Reply {
            status,
            body: Some(json!({ "message": message })),
        }
    }
}

/// An error envelope: `code` decides the status as in Allma's `buildErrorResponse`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Status for `SERVER_ERROR` (other codes map to a fixed status).
    pub status: u16,
}

/// What every handler returns.
pub(crate) type Outcome = Result<Reply, ApiError>;

impl ApiError {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: None,
            status,
        }
    }

    /// 404 `NOT_FOUND`.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new("NOT_FOUND", 404, message)
    }

    /// 404 `NOT_FOUND` "Resource not found" (a service call returned nothing).
    pub(crate) fn resource_not_found() -> ApiError {
        ApiError::not_found("Resource not found")
    }

    /// 400 `VALIDATION_ERROR` with zod-flatten style details.
    pub(crate) fn validation(message: impl Into<String>, details: Value) -> ApiError {
        ApiError {
            details: Some(details),
            ..ApiError::new("VALIDATION_ERROR", 400, message)
        }
    }

    /// 409 `CONFLICT`.
    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new("CONFLICT", 409, message)
    }

    /// 409 for a failed DynamoDB conditional write (`ConditionalCheckFailedException`).
    pub(crate) fn conditional_failed() -> ApiError {
        ApiError::conflict("The conditional request failed")
    }

    /// 403 `FORBIDDEN`.
    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new("FORBIDDEN", 403, message)
    }

    /// 500 `SERVER_ERROR` with a raw message.
    pub(crate) fn server(message: impl Into<String>) -> ApiError {
        ApiError::new("SERVER_ERROR", 500, message)
    }

    /// 500 as DynamoDB reports a cancelled transaction; `reasons` names each item's outcome.
    pub(crate) fn transaction_cancelled(reasons: &[&str]) -> ApiError {
        ApiError::server(format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            reasons.join(", ")
        ))
    }

    /// 400 from Allma's import Lambda.
    pub(crate) fn bad_import(message: impl Into<String>, details: Option<Value>) -> ApiError {
        ApiError {
            details,
            ..ApiError::new("VALIDATION_ERROR", 400, message)
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        let mut error = json!({"message": e.message, "code": e.code});
        if let Some(details) = e.details {
            error["details"] = details;
        }
        Reply {
            status: e.status,
            body: Some(json!({"success": false, "error": error})),
        }
    }
}

impl From<super::Error> for ApiError {
    fn from(e: super::Error) -> ApiError {
        tracing::error!(error = %e, "embedded admin api storage failure");
        ApiError::server(e.to_string())
    }
}

/// zod `flatten()` shape: `{formErrors: [..], fieldErrors: {key: [..]}}`.
pub(crate) fn flatten(form: &[String], fields: &[(String, String)]) -> Value {
    let mut field_errors = serde_json::Map::new();
    for (key, message) in fields {
        let entry = field_errors
            .entry(key.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(message.clone()));
        }
    }
    json!({"formErrors": form, "fieldErrors": field_errors})
}

/// One-line summary of field errors, e.g. `Field 'steps': start step missing`.
pub(crate) fn summary(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, m)| format!("Field '{k}': {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}
