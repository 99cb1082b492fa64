//! Conformance suite: the same Admin API scenarios run against the embedded API
//! (`allma_gitops::local`, over HTTP) and against the real Allma handlers (the reference
//! harness in `tests/allma-reference`, needs `npm ci --prefix tests/allma-reference`).
//! Every scenario asserts statuses, envelope codes and the relevant data fields (never
//! timestamps); a behaviour that differs between the targets fails on one of them.

#[path = "support/reference.rs"]
mod reference;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use allma_gitops::local::{Auth, Permission, Server};
use serde_json::{Value, json};

/// Where the scenarios run and with which credentials.
struct Target {
    base_url: String,
    /// All `definitions:*` permissions.
    admin_token: String,
    /// `definitions:read` only.
    reader_token: String,
    /// No permission at all.
    noperm_token: String,
}

/// Embedded API on its own thread and runtime, shared by every test of this binary.
fn embedded() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("allma-conformance-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let auth = Auth::tokens([
            ("admin-token", Permission::ALL.to_vec()),
            ("reader-token", vec![Permission::Read]),
            ("noperm-token", vec![]),
        ]);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let addr = "127.0.0.1:0".parse().expect("addr");
                let server = Server::bind(addr, &dir, auth)
                    .await
                    .expect("bind embedded api");
                tx.send(server.base_url()).expect("send url");
                server.run(std::future::pending()).await;
            });
        });
        Target {
            base_url: rx.recv().expect("embedded api started"),
            admin_token: "admin-token".into(),
            reader_token: "reader-token".into(),
            noperm_token: "noperm-token".into(),
        }
    })
}

/// The reference harness (real Allma handlers), shared by every test of this binary. Its
/// node process exits when this test process ends (its stdin closes).
fn real() -> &'static Target {
    static HARNESS: OnceLock<(reference::Reference, Target)> = OnceLock::new();
    let (_, target) = HARNESS.get_or_init(|| {
        let r = reference::Reference::start();
        let target = Target {
            base_url: r.base_url.clone(),
            admin_token: r.admin_token.clone(),
            reader_token: r.reader_token.clone(),
            noperm_token: r.noperm_token.clone(),
        };
        (r, target)
    });
    target
}

/// One scenario's view of a target: an HTTP client bound to the test's runtime.
struct Api {
    target: &'static Target,
    client: reqwest::Client,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    body: Value,
}

impl Resp {
    fn data(&self) -> &Value {
        &self.body["data"]
    }

    fn code(&self) -> &Value {
        &self.body["error"]["code"]
    }

    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// Asserts the status (and, for errors, the envelope code) with the body in the message.
    fn expect(self, status: u16, code: Option<&str>) -> Resp {
        assert_eq!(self.status, status, "unexpected status: {}", self.body);
        if let Some(code) = code {
            assert_eq!(self.code(), code, "unexpected code: {}", self.body);
            assert_eq!(self.body["success"], false, "{}", self.body);
        }
        self
    }
}

impl Api {
    fn new(target: &'static Target) -> Api {
        Api {
            target,
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let url = format!("{}{path}", self.target.base_url);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        Resp { status, body }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(method, path, Some(&self.target.admin_token), body)
            .await
    }

    async fn get(&self, path: &str) -> Resp {
        self.admin("GET", path, None).await
    }

    async fn import(&self, flows: Vec<Value>, prompts: Vec<Value>, overwrite: bool) -> Resp {
        let body = json!({"formatVersion": "1.0", "exportedAt": "2024-01-01T00:00:00.000Z",
            "flows": flows, "promptTemplates": prompts, "options": {"overwrite": overwrite}});
        self.admin("POST", "/allma/import", Some(body)).await
    }

    /// Imports one flow at version 1 and asserts it was created.
    async fn create_flow(&self, flow: Value) {
        let r = self
            .import(vec![flow], vec![], false)
            .await
            .expect(200, None);
        assert_eq!(r.data()["created"]["flows"], 1, "{}", r.body);
        assert_eq!(r.data()["errors"], json!([]), "{}", r.body);
    }

    async fn new_version(&self, id: &str, source: Value) -> u64 {
        let path = format!("/allma/flows/{id}/versions");
        let r = self
            .admin("POST", &path, Some(json!({"sourceVersion": source})))
            .await
            .expect(201, None);
        r.data()["version"].as_u64().expect("version number")
    }

    async fn version_numbers(&self, kind: &str, id: &str) -> Vec<u64> {
        let r = self
            .get(&format!("/allma/{kind}/{id}/versions"))
            .await
            .expect(200, None);
        let mut numbers: Vec<u64> = r
            .data()
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v["version"].as_u64())
            .collect();
        numbers.sort_unstable();
        numbers
    }
}

/// An id unique within this test process (both targets live as long as the process).
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A small valid flow version in authoring format.
fn flow(id: &str, name: &str, tags: &[&str]) -> Value {
    json!({
        "id": id, "version": 1, "name": name, "description": format!("about {name}"), "tags": tags,
        "authoringSource": "code", "flowVariables": {"region": "eu"},
        "startStepInstanceId": "start",
        "steps": {
            "start": {"stepInstanceId": "start", "stepType": "NO_OP", "defaultNextStepInstanceId": "end"},
            "end": {"stepInstanceId": "end", "stepType": "END_FLOW"}
        }
    })
}

fn prompt(id: &str, name: &str) -> Value {
    json!({"id": id, "version": 1, "name": name, "content": "Summarize {{doc}}", "tags": ["docs"],
        "createdAt": "1970-01-01T00:00:00.000Z", "updatedAt": "1970-01-01T00:00:00.000Z"})
}

mod scenarios {
    //! The scenarios, each written once for both targets.
    use super::*;

    pub async fn import_creates_with_chosen_id(api: &Api) {
        let id = unique("imp");
        api.create_flow(flow(&id, "Imported", &["t1"])).await;
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        let m = m.data();
        assert_eq!(
            (m["id"].as_str(), m["name"].as_str()),
            (Some(id.as_str()), Some("Imported"))
        );
        assert_eq!(m["PK"], format!("FLOW_DEF#{id}"));
        assert_eq!(
            (&m["SK"], &m["itemType"]),
            (&json!("METADATA"), &json!("ALLMA_FLOW_DEFINITION"))
        );
        assert_eq!(
            (&m["tags"], &m["flowVariables"]),
            (&json!(["t1"]), &json!({"region": "eu"}))
        );
        assert_eq!(
            (&m["latestVersion"], m.get("publishedVersion")),
            (&json!(1), None)
        );
        assert_eq!(m["description"], "about Imported");
        let v = api
            .get(&format!("/allma/flows/{id}/versions/1"))
            .await
            .expect(200, None);
        let v = v.data();
        assert_eq!(
            (&v["id"], &v["version"], &v["isPublished"]),
            (&json!(id), &json!(1), &json!(false))
        );
        assert_eq!(
            (&v["authoringSource"], &v["enableExecutionLogs"]),
            (&json!("code"), &json!(false))
        );
        assert_eq!(v["steps"]["start"]["defaultNextMaxTransitions"], 5);
        assert_eq!(v["flowVariables"], json!({"region": "eu"}));
        let latest = api
            .get(&format!("/allma/flows/{id}/versions/latest"))
            .await
            .expect(200, None);
        assert_eq!(latest.data()["version"], 1);
        let pid = unique("imp-prompt");
        let r = api
            .import(vec![], vec![prompt(&pid, "Prompt one")], false)
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["created"]["prompts"], &r.data()["errors"]),
            (&json!(1), &json!([]))
        );
        let p = api
            .get(&format!("/allma/prompt-templates/{pid}/versions/1"))
            .await
            .expect(200, None);
        let p = p.data();
        assert_eq!(
            (&p["name"], &p["content"], &p["tags"]),
            (
                &json!("Prompt one"),
                &json!("Summarize {{doc}}"),
                &json!(["docs"])
            )
        );
        assert_eq!(p["isPublished"], false);
        let export = api
            .admin("POST", "/allma/export", Some(json!({"flowIds": [id]})))
            .await
            .expect(200, None);
        let flows = export.data()["flows"].as_array().expect("flows").clone();
        assert_eq!(flows.len(), 1, "{}", export.body);
        assert_eq!(
            (&flows[0]["id"], &flows[0]["version"]),
            (&json!(id), &json!(1))
        );
        assert_eq!(export.data()["formatVersion"], "1.0");
    }

    pub async fn import_existing_id_skips_or_overwrites(api: &Api) {
        let id = unique("reimp");
        api.create_flow(flow(&id, "First", &["t1"])).await;
        let r = api
            .import(vec![flow(&id, "Second", &["t1"])], vec![], false)
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["skipped"]["flows"], &r.data()["created"]["flows"]),
            (&json!(1), &json!(0))
        );
        let mut changed = flow(&id, "Second", &["t2"]);
        changed
            .as_object_mut()
            .expect("object")
            .remove("flowVariables");
        let r = api
            .import(vec![changed.clone()], vec![], true)
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["updated"]["flows"], &r.data()["errors"]),
            (&json!(1), &json!([]))
        );
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(
            (&m.data()["name"], &m.data()["tags"]),
            (&json!("Second"), &json!(["t2"]))
        );
        assert_eq!(
            m.data()["flowVariables"],
            json!({}),
            "import overwrite replaces flowVariables"
        );
        changed["version"] = json!(2);
        let r = api
            .import(vec![changed], vec![], true)
            .await
            .expect(200, None);
        let errors = r.data()["errors"].as_array().expect("errors").clone();
        assert_eq!(errors.len(), 1, "{}", r.body);
        assert_eq!(
            (&errors[0]["id"], &errors[0]["type"]),
            (&json!(id), &json!("flow"))
        );
        assert_eq!(r.data()["updated"]["flows"], 0);
        let bad = json!({"formatVersion": "2.0", "exportedAt": "2024-01-01T00:00:00.000Z", "options": {"overwrite": false}});
        api.admin("POST", "/allma/import", Some(bad))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
    }

    pub async fn create_version_from_latest_and_from_number(api: &Api) {
        let id = unique("cv");
        api.create_flow(flow(&id, "Versions", &[])).await;
        let path = format!("/allma/flows/{id}/versions");
        let r = api
            .admin("POST", &path, Some(json!({"sourceVersion": "latest"})))
            .await
            .expect(201, None);
        let v = r.data();
        assert_eq!(
            (&v["version"], &v["isPublished"], &v["publishedAt"]),
            (&json!(2), &json!(false), &Value::Null)
        );
        assert_eq!(
            (&v["steps"]["end"]["stepType"], &v["authoringSource"]),
            (&json!("END_FLOW"), &json!("code"))
        );
        assert_eq!(api.new_version(&id, json!(1)).await, 3);
        api.admin("POST", &path, Some(json!({"sourceVersion": "3"})))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        api.admin("POST", &path, Some(json!({"sourceVersion": 0})))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        api.admin("POST", &path, Some(json!({"sourceVersion": 9})))
            .await
            .expect(404, Some("NOT_FOUND"));
        let other = format!("/allma/flows/{}/versions", unique("missing"));
        api.admin("POST", &other, Some(json!({"sourceVersion": 1})))
            .await
            .expect(404, Some("NOT_FOUND"));
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(m.data()["latestVersion"], 3);
        assert_eq!(api.version_numbers("flows", &id).await, vec![1, 2, 3]);
    }

    pub async fn update_draft_merges_deeply_and_replaces_steps(api: &Api) {
        let id = unique("upd");
        let mut f = flow(&id, "Update", &[]);
        f["defaultStepConfig"] = json!({"defaultCustomConfig": {"a": 1}});
        api.create_flow(f).await;
        let n = api.new_version(&id, json!("latest")).await;
        let path = format!("/allma/flows/{id}/versions/{n}");
        let body = json!({"description": "changed", "defaultStepConfig": {"defaultCustomConfig": {"b": 2}},
            "startStepInstanceId": "only", "flowVariables": {"extra": "x"},
            "steps": {"only": {"stepInstanceId": "only", "stepType": "NO_OP"}}});
        let r = api.admin("PUT", &path, Some(body)).await.expect(200, None);
        let v = r.data();
        let keys: Vec<&String> = v["steps"].as_object().expect("steps").keys().collect();
        assert_eq!(keys, vec!["only"], "steps are replaced wholesale");
        assert_eq!(
            v["defaultStepConfig"]["defaultCustomConfig"],
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            (&v["description"], &v["authoringSource"]),
            (&json!("changed"), &json!("code"))
        );
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(
            m.data()["description"],
            "changed",
            "PUT of the latest version syncs the master"
        );
        assert_eq!(
            m.data()["flowVariables"],
            json!({"region": "eu", "extra": "x"})
        );
        let no_type = json!({"steps": {"x": {"stepInstanceId": "x", "displayName": "no type"}}});
        api.admin("PUT", &path, Some(no_type))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        let bad_start = json!({"startStepInstanceId": "missing"});
        api.admin("PUT", &path, Some(bad_start))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        let bad_path = json!({"steps": {"only": {"stepInstanceId": "only", "stepType": "NO_OP", "inputMappings": {"a": "nope"}}}});
        api.admin("PUT", &path, Some(bad_path))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        let old = json!({"description": "old"});
        api.admin("PUT", &format!("/allma/flows/{id}/versions/1"), Some(old))
            .await
            .expect(200, None);
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(
            m.data()["description"],
            "changed",
            "a non-latest PUT leaves the master alone"
        );
        let v = api.get(&path).await.expect(200, None);
        assert_eq!(v.data()["steps"].as_object().map(|s| s.len()), Some(1));
    }

    pub async fn update_published_version_is_refused(api: &Api) {
        let id = unique("pubput");
        api.create_flow(flow(&id, "Published", &[])).await;
        let r = api
            .admin(
                "POST",
                &format!("/allma/flows/{id}/versions/1/publish"),
                None,
            )
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["isPublished"], &r.data()["version"]),
            (&json!(true), &json!(1))
        );
        let path = format!("/allma/flows/{id}/versions/1");
        let r = api
            .admin("PUT", &path, Some(json!({"description": "x"})))
            .await
            .expect(500, Some("SERVER_ERROR"));
        assert!(
            r.message().starts_with("Transaction cancelled"),
            "{}",
            r.body
        );
        let v = api.get(&path).await.expect(200, None);
        assert_eq!(v.data()["description"], "about Published");
    }

    pub async fn publish_unpublishes_previous(api: &Api) {
        let id = unique("pub");
        api.create_flow(flow(&id, "Publish", &[])).await;
        let n = api.new_version(&id, json!("latest")).await;
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/1/publish"),
            None,
        )
        .await
        .expect(200, None);
        let r = api
            .admin(
                "POST",
                &format!("/allma/flows/{id}/versions/{n}/publish"),
                None,
            )
            .await
            .expect(200, None);
        assert_eq!(r.data()["isPublished"], true);
        let v1 = api
            .get(&format!("/allma/flows/{id}/versions/1"))
            .await
            .expect(200, None);
        assert_eq!(
            (&v1.data()["isPublished"], &v1.data()["publishedAt"]),
            (&json!(false), &Value::Null)
        );
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(m.data()["publishedVersion"], n);
        let live = api
            .get(&format!("/allma/flows/{id}/versions/LATEST_PUBLISHED"))
            .await
            .expect(200, None);
        assert_eq!(live.data()["version"], n);
        let list = api
            .get(&format!("/allma/flows/{id}/versions"))
            .await
            .expect(200, None);
        let flags: Vec<(u64, bool)> = list
            .data()
            .as_array()
            .expect("list")
            .iter()
            .map(|v| (v["version"].as_u64().unwrap_or(0), v["isPublished"] == true))
            .collect();
        assert!(
            flags.contains(&(1, false)) && flags.contains(&(n, true)),
            "{flags:?}"
        );
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/{n}/publish"),
            None,
        )
        .await
        .expect(200, None);
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/7/publish"),
            None,
        )
        .await
        .expect(500, Some("SERVER_ERROR"));
    }

    pub async fn unpublish_wrong_version_is_refused(api: &Api) {
        let id = unique("unpub");
        api.create_flow(flow(&id, "Unpublish", &[])).await;
        let unpublish = |v: u64| format!("/allma/flows/{id}/versions/{v}/unpublish");
        api.admin("POST", &unpublish(1), None)
            .await
            .expect(500, Some("SERVER_ERROR"));
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/1/publish"),
            None,
        )
        .await
        .expect(200, None);
        let n = api.new_version(&id, json!("latest")).await;
        let r = api
            .admin("POST", &unpublish(n), None)
            .await
            .expect(500, Some("SERVER_ERROR"));
        assert!(
            r.message().contains("not the currently published version"),
            "{}",
            r.body
        );
        let r = api
            .admin("POST", &unpublish(1), None)
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["isPublished"], &r.data()["publishedAt"]),
            (&json!(false), &Value::Null)
        );
        let m = api
            .get(&format!("/allma/flows/{id}"))
            .await
            .expect(200, None);
        assert_eq!(m.data().get("publishedVersion"), None, "{}", m.body);
        api.get(&format!("/allma/flows/{id}/versions/LATEST_PUBLISHED"))
            .await
            .expect(404, Some("NOT_FOUND"));
    }

    pub async fn delete_latest_and_non_latest_drafts(api: &Api) {
        let id = unique("del");
        api.create_flow(flow(&id, "Delete", &[])).await;
        for expected in 2..=4 {
            assert_eq!(api.new_version(&id, json!("latest")).await, expected);
        }
        let delete = |v: u64| format!("/allma/flows/{id}/versions/{v}");
        let latest = || async {
            api.get(&format!("/allma/flows/{id}"))
                .await
                .expect(200, None)
                .data()["latestVersion"]
                .clone()
        };
        api.admin("DELETE", &delete(4), None)
            .await
            .expect(204, None);
        assert_eq!(latest().await, 3);
        api.admin("DELETE", &delete(2), None)
            .await
            .expect(204, None);
        assert_eq!(latest().await, 3);
        assert_eq!(api.version_numbers("flows", &id).await, vec![1, 3]);
        api.admin("DELETE", &delete(2), None)
            .await
            .expect(409, Some("CONFLICT"));
        assert_eq!(api.new_version(&id, json!("latest")).await, 4);
        assert_eq!(api.version_numbers("flows", &id).await, vec![1, 3, 4]);
    }

    pub async fn delete_published_or_only_version_is_refused(api: &Api) {
        let id = unique("delpub");
        api.create_flow(flow(&id, "Delete published", &[])).await;
        api.new_version(&id, json!("latest")).await;
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/1/publish"),
            None,
        )
        .await
        .expect(200, None);
        let r = api
            .admin("DELETE", &format!("/allma/flows/{id}/versions/1"), None)
            .await
            .expect(409, Some("CONFLICT"));
        assert_eq!(r.message(), "Cannot delete a published version.");
        let only = unique("delonly");
        api.create_flow(flow(&only, "Delete only", &[])).await;
        for v in [1, 7] {
            let r = api
                .admin("DELETE", &format!("/allma/flows/{only}/versions/{v}"), None)
                .await
                .expect(409, Some("CONFLICT"));
            assert_eq!(r.message(), "Cannot delete the only version.");
        }
        assert_eq!(api.version_numbers("flows", &only).await, vec![1]);
    }

    pub async fn list_masters_with_tag_filter_and_fields(api: &Api) {
        let tag = unique("tag");
        let marker = unique("marker");
        api.create_flow(flow(&unique("lb"), &format!("B {marker}"), &[&tag, "x"]))
            .await;
        api.create_flow(flow(&unique("la"), &format!("A {marker}"), &[&tag]))
            .await;
        api.create_flow(flow(&unique("lc"), &format!("C {marker}"), &["other"]))
            .await;
        let r = api
            .get(&format!("/allma/flows?tag={tag}"))
            .await
            .expect(200, None);
        let items = r.data().as_array().expect("list").clone();
        let names: Vec<&str> = items.iter().filter_map(|m| m["name"].as_str()).collect();
        assert_eq!(names, vec![format!("A {marker}"), format!("B {marker}")]);
        for m in &items {
            for key in [
                "PK",
                "SK",
                "itemType",
                "id",
                "name",
                "description",
                "latestVersion",
                "tags",
                "updatedAt",
            ] {
                assert!(m.get(key).is_some(), "{key} missing from {m}");
            }
            assert!(
                m.get("flowVariables").is_none() && m.get("createdAt").is_none(),
                "{m}"
            );
        }
        let r = api
            .get(&format!("/allma/flows?searchText={marker}"))
            .await
            .expect(200, None);
        assert_eq!(r.data().as_array().map(Vec::len), Some(3), "{}", r.body);
        let upper = marker.to_uppercase();
        let r = api
            .get(&format!("/allma/flows?searchText={upper}"))
            .await
            .expect(200, None);
        assert_eq!(
            r.data().as_array().map(Vec::len),
            Some(0),
            "searchText is case-sensitive"
        );
        let r = api
            .get(&format!("/allma/flows?tag=other&searchText={marker}"))
            .await
            .expect(200, None);
        assert_eq!(r.data().as_array().map(Vec::len), Some(1), "{}", r.body);
    }

    pub async fn prompt_versions_follow_the_same_rules(api: &Api) {
        let r = api
            .admin(
                "POST",
                "/allma/prompt-templates",
                Some(json!({"name": "Created"})),
            )
            .await
            .expect(201, None);
        assert_eq!(
            (&r.data()["version"], &r.data()["name"], &r.data()["tags"]),
            (&json!(1), &json!("Created"), &json!([]))
        );
        assert!(r.data()["content"].as_str().is_some_and(|c| !c.is_empty()));
        let id = unique("prm");
        api.import(vec![], vec![prompt(&id, "Prompt")], false)
            .await
            .expect(200, None);
        let base = format!("/allma/prompt-templates/{id}/versions");
        let r = api
            .admin("POST", &base, Some(json!({"sourceVersion": "latest"})))
            .await
            .expect(201, None);
        assert_eq!(
            (&r.data()["version"], &r.data()["tags"]),
            (&json!(2), &json!(["docs"]))
        );
        let r = api
            .admin(
                "PUT",
                &format!("{base}/2"),
                Some(json!({"name": "Renamed", "content": "new"})),
            )
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["content"], &r.data()["tags"]),
            (&json!("new"), &json!([])),
            "omitted tags are cleared"
        );
        api.admin(
            "PUT",
            &format!("{base}/2"),
            Some(json!({"name": "No content"})),
        )
        .await
        .expect(400, Some("VALIDATION_ERROR"));
        let list = api.get("/allma/prompt-templates").await.expect(200, None);
        let entry = list
            .data()
            .as_array()
            .expect("list")
            .iter()
            .find(|m| m["id"] == json!(id))
            .cloned();
        assert_eq!(
            entry.map(|m| m["name"].clone()),
            Some(json!("Renamed")),
            "latest PUT syncs the master"
        );
        api.admin("POST", &format!("{base}/2/publish"), None)
            .await
            .expect(200, None);
        let r = api
            .admin(
                "PUT",
                &format!("{base}/2"),
                Some(json!({"name": "n", "content": "c"})),
            )
            .await
            .expect(500, Some("SERVER_ERROR"));
        assert!(
            r.message().starts_with("Transaction cancelled"),
            "{}",
            r.body
        );
        let r = api
            .admin("POST", &format!("{base}/1/unpublish"), None)
            .await
            .expect(500, Some("SERVER_ERROR"));
        assert_eq!(r.message(), "Version is not currently published.");
        api.admin("DELETE", &format!("{base}/2"), None)
            .await
            .expect(409, Some("CONFLICT"));
        api.admin("POST", &format!("{base}/2/unpublish"), None)
            .await
            .expect(200, None);
        api.admin("DELETE", &format!("{base}/2"), None)
            .await
            .expect(204, None);
        api.admin("DELETE", &format!("{base}/1"), None)
            .await
            .expect(409, Some("CONFLICT"));
        let r = api
            .get(&format!("/allma/prompt-templates/{id}"))
            .await
            .expect(404, None);
        assert_eq!(r.body, json!({"message": "Not Found"}));
    }

    pub async fn unknown_ids(api: &Api) {
        let id = unique("nope");
        api.get(&format!("/allma/flows/{id}"))
            .await
            .expect(404, Some("NOT_FOUND"));
        let r = api
            .get(&format!("/allma/flows/{id}/versions"))
            .await
            .expect(200, None);
        assert_eq!(r.data(), &json!([]));
        api.get(&format!("/allma/flows/{id}/versions/1"))
            .await
            .expect(404, Some("NOT_FOUND"));
        api.get(&format!("/allma/prompt-templates/{id}/versions/1"))
            .await
            .expect(404, Some("NOT_FOUND"));
        let master = json!({"name": "x"});
        api.admin("PUT", &format!("/allma/flows/{id}"), Some(master))
            .await
            .expect(409, Some("CONFLICT"));
        let update = json!({"description": "x"});
        api.admin(
            "PUT",
            &format!("/allma/flows/{id}/versions/1"),
            Some(update),
        )
        .await
        .expect(404, Some("NOT_FOUND"));
        api.admin("DELETE", &format!("/allma/flows/{id}/versions/1"), None)
            .await
            .expect(404, Some("NOT_FOUND"));
        api.admin("DELETE", &format!("/allma/flows/{id}"), None)
            .await
            .expect(404, Some("NOT_FOUND"));
        api.admin(
            "POST",
            &format!("/allma/flows/{id}/versions/1/publish"),
            None,
        )
        .await
        .expect(500, Some("SERVER_ERROR"));
        let known = unique("known");
        api.create_flow(flow(&known, "Known", &[])).await;
        api.get(&format!("/allma/flows/{known}/versions/01"))
            .await
            .expect(404, Some("NOT_FOUND"));
    }

    pub async fn put_master_resets_omitted_fields(api: &Api) {
        let id = unique("master");
        api.create_flow(flow(&id, "Master", &["keep"])).await;
        let path = format!("/allma/flows/{id}");
        let body = json!({"name": "Renamed", "tags": ["a"], "flowVariables": {"x": 1}});
        let r = api.admin("PUT", &path, Some(body)).await.expect(200, None);
        assert_eq!(
            (&r.data()["name"], &r.data()["tags"]),
            (&json!("Renamed"), &json!(["a"]))
        );
        assert_eq!(r.data()["flowVariables"], json!({"x": 1}));
        assert_eq!(
            r.data()["description"],
            "about Master",
            "omitted description is kept"
        );
        let r = api
            .admin("PUT", &path, Some(json!({"name": "Again"})))
            .await
            .expect(200, None);
        assert_eq!(
            (&r.data()["tags"], &r.data()["flowVariables"]),
            (&json!([]), &json!({}))
        );
        api.admin("PUT", &path, Some(json!({"tags": []})))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
        let v = api
            .get(&format!("{path}/versions/1"))
            .await
            .expect(200, None);
        assert_eq!(
            v.data()["flowVariables"],
            json!({}),
            "GET version shows the master's variables"
        );
    }

    pub async fn clone_copies_the_published_version(api: &Api) {
        let id = unique("clone");
        api.create_flow(flow(&id, "Source", &["c"])).await;
        let r = api
            .admin(
                "POST",
                &format!("/allma/flows/{id}/clone"),
                Some(json!({"name": "Copy"})),
            )
            .await
            .expect(201, None);
        let m = r.data();
        assert_eq!(
            (&m["name"], &m["description"], &m["tags"]),
            (&json!("Copy"), &json!("Cloned from Source"), &json!(["c"]))
        );
        assert_eq!(
            (&m["latestVersion"], &m["flowVariables"]),
            (&json!(1), &json!({"region": "eu"}))
        );
        let new_id = m["id"].as_str().expect("id").to_string();
        assert_ne!(new_id, id);
        let v = api
            .get(&format!("/allma/flows/{new_id}/versions/1"))
            .await
            .expect(200, None);
        assert_eq!(
            (&v.data()["isPublished"], &v.data()["startStepInstanceId"]),
            (&json!(false), &json!("start"))
        );
        api.admin("POST", &format!("/allma/flows/{id}/clone"), Some(json!({})))
            .await
            .expect(400, Some("VALIDATION_ERROR"));
    }

    pub async fn missing_token_is_401(api: &Api) {
        for (method, path) in [
            ("GET", "/allma/flows"),
            ("POST", "/allma/import"),
            ("GET", "/allma/flows/x/versions/1"),
        ] {
            for token in [None, Some("not-a-token")] {
                let r = api.call(method, path, token, None).await;
                assert_eq!(
                    (r.status, &r.body),
                    (401, &json!({"message": "Unauthorized"})),
                    "{method} {path}"
                );
            }
        }
    }

    pub async fn missing_permission_is_403(api: &Api) {
        let id = unique("perm");
        api.create_flow(flow(&id, "Permissions", &[])).await;
        let reader = Some(api.target.reader_token.as_str());
        api.call("GET", "/allma/flows", reader, None)
            .await
            .expect(200, None);
        api.call(
            "GET",
            &format!("/allma/flows/{id}/versions/1"),
            reader,
            None,
        )
        .await
        .expect(200, None);
        api.call(
            "POST",
            "/allma/export",
            reader,
            Some(json!({"flowIds": [id]})),
        )
        .await
        .expect(200, None);
        let writes = [
            (
                "POST",
                "/allma/flows".to_string(),
                Some(json!({"name": "x"})),
            ),
            (
                "POST",
                format!("/allma/flows/{id}/versions"),
                Some(json!({"sourceVersion": 1})),
            ),
            (
                "POST",
                format!("/allma/flows/{id}/versions/1/publish"),
                None,
            ),
            ("DELETE", format!("/allma/flows/{id}/versions/1"), None),
            ("POST", "/allma/import".to_string(), Some(json!({}))),
        ];
        for (method, path, body) in writes {
            let r = api
                .call(method, &path, reader, body)
                .await
                .expect(403, Some("FORBIDDEN"));
            let expected = if path.ends_with("/import") {
                "Forbidden: You do not have permission to import definitions."
            } else {
                "Forbidden"
            };
            assert_eq!(r.message(), expected, "{method} {path}");
        }
        let none = Some(api.target.noperm_token.as_str());
        let r = api
            .call("GET", "/allma/flows", none, None)
            .await
            .expect(403, Some("FORBIDDEN"));
        assert_eq!(
            r.message(),
            "Forbidden: You do not have permission to read this resource."
        );
        api.call(
            "POST",
            &format!("/allma/flows/{id}/versions/1/publish"),
            none,
            None,
        )
        .await
        .expect(403, Some("FORBIDDEN"));
        assert_eq!(
            api.version_numbers("flows", &id).await,
            vec![1],
            "nothing was written"
        );
    }
}

macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        /// The scenarios against the embedded Admin API.
        mod embedded {
            $( #[tokio::test] async fn $scenario() { super::scenarios::$scenario(&super::Api::new(super::embedded())).await } )*
        }
        /// The scenarios against the real Allma handlers.
        mod real {
            $( #[tokio::test] async fn $scenario() { super::scenarios::$scenario(&super::Api::new(super::real())).await } )*
        }
    };
}

conformance!(
    import_creates_with_chosen_id,
    import_existing_id_skips_or_overwrites,
    create_version_from_latest_and_from_number,
    update_draft_merges_deeply_and_replaces_steps,
    update_published_version_is_refused,
    publish_unpublishes_previous,
    unpublish_wrong_version_is_refused,
    delete_latest_and_non_latest_drafts,
    delete_published_or_only_version_is_refused,
    list_masters_with_tag_filter_and_fields,
    prompt_versions_follow_the_same_rules,
    unknown_ids,
    put_master_resets_omitted_fields,
    clone_copies_the_published_version,
    missing_token_is_401,
    missing_permission_is_403,
);
