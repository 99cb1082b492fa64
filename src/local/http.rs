//! HTTP/1 transport of the embedded Admin API (hyper): accept loop, body limits, JSON
//! responses with the headers Allma sends.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::reply::Reply;
use super::routes::{Request, Shared, handle};

/// Lambda's 6 MB limit on a synchronous invocation's payload; a larger request body gets
/// 413 `{"message":"Request Entity Too Large"}`.
const MAX_BODY: usize = 6 * 1024 * 1024;

/// Serves connections until `shutdown` completes; open connections finish their request.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&shared, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

async fn respond(
    shared: &Shared,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return to_response(Reply::gateway(413, "Request Entity Too Large")),
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        authorization: parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string),
        body,
    };
    let (method, path) = (request.method.clone(), request.path.clone());
    let reply = handle(shared, request).await;
    tracing::debug!(%method, %path, status = reply.status, "admin api request");
    to_response(reply)
}

fn to_response(reply: Reply) -> hyper::Response<Full<Bytes>> {
    let bytes = reply
        .body
        .as_ref()
        .map(|b| Bytes::from(serde_json::to_vec(b).unwrap_or_default()))
        .unwrap_or_default();
    let mut response = hyper::Response::new(Full::new(bytes));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if reply.body.is_some() {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    response
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::local::{Auth, Server};

    async fn post_import(base_url: &str, len: usize) -> (u16, String) {
        let response = reqwest::Client::new()
            .post(format!("{base_url}/allma/import"))
            .body(vec![b' '; len])
            .send()
            .await
            .expect("send");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    #[tokio::test]
    async fn bodies_over_six_megabytes_get_413() {
        let dir = std::env::temp_dir().join(format!(
            "allma-local-http-{}-{}",
            std::process::id(),
            super::super::ids::uuid()
        ));
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = Server::bind(addr, &dir, Auth::open()).await.expect("bind");
        let base_url = server.base_url();
        let task = tokio::spawn(server.run(std::future::pending()));
        let (status, body) = post_import(&base_url, MAX_BODY + 1).await;
        assert_eq!(status, 413);
        assert_eq!(body, r#"{"message":"Request Entity Too Large"}"#);
        let (status, _) = post_import(&base_url, MAX_BODY).await;
        assert_eq!(
            status, 400,
            "a body of exactly the limit reaches the handler"
        );
        task.abort();
    }
}
