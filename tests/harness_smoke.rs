//! Smoke test of the Allma reference harness (tests/allma-reference): starts it, imports one
//! flow through the real Admin API handlers and checks the harness request accounting.

#[path = "support/reference.rs"]
mod reference;

use reference::Reference;
use serde_json::json;

#[test]
fn harness_imports_a_flow_and_counts_the_write() {
    let r = Reference::start();
    assert!(r.base_url.ends_with("/v1"), "base_url {}", r.base_url);
    r.reset_stats();

    let payload = json!({
        "formatVersion": "1.0",
        "exportedAt": "2024-01-01T00:00:00.000Z",
        "flows": [{
            "id": "smoke-flow",
            "version": 1,
            "name": "Smoke flow",
            "startStepInstanceId": "start",
            "steps": {
                "start": {"stepInstanceId": "start", "stepType": "NO_OP", "defaultNextStepInstanceId": "end"},
                "end": {"stepInstanceId": "end", "stepType": "END_FLOW"}
            }
        }],
        "options": {"overwrite": false}
    });
    let resp = r.api(
        "POST",
        "/allma/import",
        Some(&r.admin_token),
        Some(&payload),
    );
    assert_eq!(resp.status, 200, "import failed: {}", resp.body);
    let body = resp.json();
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["data"]["created"]["flows"], json!(1), "{body}");
    assert_eq!(body["data"]["errors"], json!([]), "{body}");

    let stats = r.stats();
    assert_eq!(stats["requests"], json!(1), "{stats}");
    assert_eq!(stats["writes"], json!(1), "{stats}");
    assert_eq!(stats["byRoute"]["POST /allma/import"], json!(1), "{stats}");

    // The flow is readable through the real handlers; reads are counted but are not writes.
    let got = r.api(
        "GET",
        "/allma/flows/smoke-flow",
        Some(&r.reader_token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json()["data"]["name"], json!("Smoke flow"));
    let stats = r.stats();
    assert_eq!(stats["requests"], json!(2), "{stats}");
    assert_eq!(stats["writes"], json!(1), "{stats}");

    // API Gateway behaviour: no token -> 401 from the authorizer; unrouted path -> 404.
    let unauth = r.api("GET", "/allma/flows", None, None);
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.json(), json!({"message": "Unauthorized"}));
    let unrouted = r.api(
        "GET",
        "/allma/prompt-templates/x",
        Some(&r.admin_token),
        None,
    );
    assert_eq!(unrouted.status, 404);
    assert_eq!(unrouted.json(), json!({"message": "Not Found"}));
}
