//! Request routing of the embedded Admin API: API Gateway's route table and authorizer,
//! then the Lambda's permission checks and dispatch to the handlers.

use std::fmt;

use serde_json::Value;
use tokio::sync::Mutex;

use super::auth::{Auth, Grant, Permission};
use super::reply::{ApiError, Outcome, Reply, flatten};
use super::store::{Kind, Store};
use super::{import, masters, publish, versions};

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The store; one lock serialises every read and write.
    pub store: Mutex<Store>,
    /// Accepted tokens.
    pub auth: Auth,
}

/// A request reduced to what the Admin API looks at.
#[derive(Default)]
pub(crate) struct Request {
    pub method: String,
    /// Full path including the `/v1` stage.
    pub path: String,
    pub query: Option<String>,
    /// The `Authorization` header: a bearer token, never printed.
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    List,
    Create,
    Tags,
    GetMaster,
    PutMaster,
    DeleteMaster,
    Clone,
    ListVersions,
    CreateVersion,
    GetVersion,
    PutVersion,
    DeleteVersion,
    Publish,
    Unpublish,
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Crud {
        kind: Kind,
        op: Op,
        id: String,
        v: String,
    },
    Import,
    Export,
}

/// API Gateway's route table (§3.1, §3.2, §3.5): `None` = not routed.
fn route(method: &str, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.strip_prefix("/v1/allma/")?.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (kind, rest) = match segments.as_slice() {
        ["import"] if method == "POST" => return Some(Route::Import),
        ["export"] if method == "POST" => return Some(Route::Export),
        ["flows", rest @ ..] => (Kind::Flow, rest),
        ["prompt-templates", rest @ ..] => (Kind::Prompt, rest),
        _ => return None,
    };
    let (op, id, v) = crud_op(kind, method, rest)?;
    Some(Route::Crud {
        kind,
        op,
        id: id.to_string(),
        v: v.to_string(),
    })
}

fn crud_op<'a>(kind: Kind, method: &str, rest: &[&'a str]) -> Option<(Op, &'a str, &'a str)> {
    let flow = kind == Kind::Flow;
    let op = match (method, rest) {
        ("GET", []) => (Op::List, "", ""),
        ("POST", []) => (Op::Create, "", ""),
        ("GET", ["tags"]) if flow => (Op::Tags, "", ""),
        ("GET", [id]) if flow => (Op::GetMaster, *id, ""),
        ("PUT", [id]) if flow => (Op::PutMaster, *id, ""),
        ("DELETE", [id]) if flow => (Op::DeleteMaster, *id, ""),
        ("POST", [id, "clone"]) => (Op::Clone, *id, ""),
        ("GET", [id, "versions"]) => (Op::ListVersions, *id, ""),
        ("POST", [id, "versions"]) => (Op::CreateVersion, *id, ""),
        ("GET", [id, "versions", v]) => (Op::GetVersion, *id, *v),
        ("PUT", [id, "versions", v]) => (Op::PutVersion, *id, *v),
        ("DELETE", [id, "versions", v]) => (Op::DeleteVersion, *id, *v),
        ("POST", [id, "versions", v, "publish"]) => (Op::Publish, *id, *v),
        ("POST", [id, "versions", v, "unpublish"]) => (Op::Unpublish, *id, *v),
        _ => return None,
    };
    Some(op)
}

fn permission(op: Op) -> Permission {
    match op {
        Op::List
        | Op::Tags
        | Op::GetMaster
        | Op::ListVersions
        | Op::GetVersion
        | Op::DeleteMaster => Permission::Read,
        Op::DeleteVersion => Permission::Delete,
        _ => Permission::Write,
    }
}

/// Answers one request as API Gateway + the Allma Lambda would.
pub(crate) async fn handle(shared: &Shared, request: Request) -> Reply {
    let Some(route) = route(&request.method, &request.path) else {
        return Reply::gateway(404, "Not Found");
    };
    let Some(grant) = shared.auth.check(request.authorization.as_deref()) else {
        return Reply::gateway(401, "Unauthorized");
    };
    match dispatch(shared, route, &grant, &request).await {
        Ok(reply) => reply,
        Err(error) => error.into(),
    }
}

fn require(grant: &Grant, permission: Permission, message: &str) -> Result<(), ApiError> {
    if grant.allows(permission) {
        Ok(())
    } else {
        Err(ApiError::forbidden(message))
    }
}

async fn dispatch(shared: &Shared, route: Route, grant: &Grant, request: &Request) -> Outcome {
    let (kind, op, id, v) = match route {
        Route::Import => {
            require(
                grant,
                Permission::Write,
                "Forbidden: You do not have permission to import definitions.",
            )?;
            return import::import(&mut *shared.store.lock().await, &request.body);
        }
        Route::Export => {
            require(
                grant,
                Permission::Read,
                "Forbidden: You do not have permission to export definitions.",
            )?;
            return import::export(&*shared.store.lock().await, &request.body);
        }
        Route::Crud { kind, op, id, v } => (kind, op, id, v),
    };
    require(
        grant,
        Permission::Read,
        "Forbidden: You do not have permission to read this resource.",
    )?;
    require(grant, permission(op), "Forbidden")?;
    let body = parse_body(op, &request.body)?;
    let mut store = shared.store.lock().await;
    let store = &mut *store;
    match op {
        Op::List => {
            let (tag, search) = (
                query_param(request, "tag"),
                query_param(request, "searchText"),
            );
            masters::list(store, kind, tag.as_deref(), search.as_deref())
        }
        Op::Create => masters::create(store, kind, &body),
        Op::Tags => masters::tags(store),
        Op::GetMaster => masters::get(store, kind, &id),
        Op::PutMaster => masters::put(store, kind, &id, &body),
        Op::DeleteMaster => Err(ApiError::not_found(format!(
            "Route not found: DELETE {}",
            request.path
        ))),
        Op::Clone => masters::clone(store, kind, &id, &body),
        Op::ListVersions => versions::list(store, kind, &id),
        Op::CreateVersion => versions::create(store, kind, &id, &body),
        Op::GetVersion => versions::get(store, kind, &id, &v),
        Op::PutVersion => versions::put(store, kind, &id, &v, &body),
        Op::DeleteVersion => versions::delete(store, kind, &id, &v),
        Op::Publish => publish::publish(store, kind, &id, &v),
        Op::Unpublish => publish::unpublish(store, kind, &id, &v),
    }
}

/// The JSON body (empty = `{}`); malformed JSON is a 400 worded per route.
fn parse_body(op: Op, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let takes_body = matches!(
        op,
        Op::Create | Op::PutMaster | Op::Clone | Op::CreateVersion | Op::PutVersion
    );
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(_) if !takes_body => Ok(Value::Object(Default::default())),
        Err(_) => {
            let message = match op {
                Op::Create | Op::PutMaster => "Invalid input: Invalid JSON format",
                Op::PutVersion => "Invalid input for update: Invalid JSON format",
                _ => "Invalid input",
            };
            Err(ApiError::validation(
                message,
                flatten(&["Invalid JSON format".to_string()], &[]),
            ))
        }
    }
}

/// A decoded query parameter; empty values count as absent (the handler tests truthiness).
fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.query.as_deref()?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| percent_decode(k) == name)
        .map(|(_, v)| percent_decode(v))
        .filter(|v| !v.is_empty())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_gateway_table() {
        assert_eq!(route("POST", "/v1/allma/import"), Some(Route::Import));
        assert!(route("GET", "/v1/allma/prompt-templates/p1").is_none());
        assert!(route("GET", "/allma/flows").is_none());
        assert!(route("GET", "/v1/allma/flows/").is_none());
        let Some(Route::Crud { op, id, v, .. }) =
            route("POST", "/v1/allma/flows/f/versions/2/publish")
        else {
            panic!("not routed");
        };
        assert_eq!((op, id.as_str(), v.as_str()), (Op::Publish, "f", "2"));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let request = Request {
            method: "GET".into(),
            authorization: Some("Bearer s3cret-token".into()),
            ..Request::default()
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn query_values_are_decoded() {
        let request = Request {
            query: Some("tag=a%20b&searchText=x+y".into()),
            ..Request::default()
        };
        assert_eq!(query_param(&request, "tag").as_deref(), Some("a b"));
        assert_eq!(query_param(&request, "searchText").as_deref(), Some("x y"));
        assert_eq!(query_param(&request, "other"), None);
    }
}
