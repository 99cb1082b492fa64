//! The core-pipeline acceptance scenarios, written once and run against both the real
//! Allma Admin API handlers (tests/allma-reference) and the embedded Admin API served by
//! `allma-gitops serve-local`, through the `allma-gitops` binary.

mod common;

use common::{Run, Target, TempDir, root};
use serde_json::{Value, json};

const OWNER_TAG: &str = "managed-by:allma-gitops";

const PROMPT: &str = "apiVersion: allma.dev/v1alpha1
kind: PromptTemplate
metadata:
  name: greet-prompt
spec:
  description: Greets someone
  tags: [demo]
  content: |
    Say hello to {{name}}.
    Be brief.
";

const CHILD: &str = "apiVersion: allma.dev/v1alpha1
kind: Flow
metadata:
  name: child-flow
spec:
  name: Child flow
  deletionPolicy: Delete
  definition:
    startStepInstanceId: start
    steps:
      start:
        stepType: NO_OP
        defaultNextStepInstanceId: done
      done:
        stepType: END_FLOW
";

const PARENT: &str = "apiVersion: allma.dev/v1alpha1
kind: Flow
metadata:
  name: parent-flow
spec:
  name: Parent flow
  description: Greets, then runs the child
  tags: [demo]
  variables: {bucket: demo-bucket}
  definition:
    startStepInstanceId: greet
    steps:
      greet:
        stepType: LLM_INVOCATION
        llmProvider: GEMINI
        modelId: gemini-2.5-flash
        promptTemplateId: greet-prompt
        transitions:
          - condition: $.greet.ok
            nextStepInstanceId: child
        defaultNextStepInstanceId: child
      child:
        stepType: START_SUB_FLOW
        subFlowDefinitionId: child-flow
";

/// A definitions directory with the three fixture resources.
fn fixture() -> TempDir {
    let dir = TempDir::new("defs");
    dir.write("prompts/greet.yaml", PROMPT);
    dir.write("flows/child.yaml", CHILD);
    dir.write("flows/parent.yaml", PARENT);
    dir
}

fn apply(t: &Target, dir: &TempDir, extra: &[&str]) -> Run {
    let mut args = vec!["apply", dir.str()];
    args.extend_from_slice(extra);
    t.run(&args)
}

fn diff(t: &Target, dir: &TempDir) -> Run {
    t.run(&["diff", dir.str()])
}

fn tags(master: &Value) -> Vec<String> {
    serde_json::from_value(master["tags"].clone()).unwrap_or_default()
}

/// 1. Examples on an empty server: all created, published, owned; then no changes, no writes.
fn examples_apply_then_nothing_to_do(t: &Target) {
    let examples = root().join("examples/definitions");
    let examples = examples.to_str().unwrap();
    let loaded =
        allma_gitops::load::load(&[examples.into()], "allma-gitops").expect("examples load");
    assert!(loaded.resources.len() >= 6);
    let first = t.run(&["apply", examples]);
    first.expect(0, "first apply");
    for d in &loaded.resources {
        let collection = d.kind.collection();
        let master = t
            .master(collection, &d.id)
            .unwrap_or_else(|| panic!("{} {} missing", d.kind, d.id));
        assert_eq!(master["publishedVersion"], json!(1), "{master}");
        assert!(tags(&master).contains(&OWNER_TAG.to_string()), "{master}");
    }
    // One import per dependency wave (prompts; leaf flows; the flow starting them), plus
    // the PUT that copies a prompt's tags to its master and its publish.
    let writes = first.requests().1;
    let prompts = loaded
        .resources
        .iter()
        .filter(|d| d.kind == allma_gitops::model::Kind::PromptTemplate)
        .count();
    assert_eq!(
        writes,
        3 + 2 * prompts,
        "creates should be batched:\n{}",
        first.stderr
    );
    if let common::Server::Real(reference) = &t.server {
        assert_eq!(
            reference.stats()["byRoute"]["POST /allma/import"],
            json!(3),
            "{}",
            reference.stats()
        );
    }
    t.run(&["diff", examples]).expect(0, "diff after apply");
    let second = t.run(&["apply", examples]);
    second.expect(0, "second apply");
    assert_eq!(
        second.requests().1,
        0,
        "second apply wrote:\n{}",
        second.stderr
    );
    let (requests, _) = t.run(&["diff", examples]).requests();
    assert!(
        requests <= 2 + loaded.resources.len(),
        "diff of unchanged made {requests} requests"
    );
}

/// 2. One changed step field: diff names flow, step and field; apply adds exactly one version.
fn changed_step_field_creates_one_version(t: &Target) {
    let dir = fixture();
    apply(t, &dir, &[]).expect(0, "apply");
    dir.write(
        "flows/parent.yaml",
        &PARENT.replace("gemini-2.5-flash", "gemini-2.5-pro"),
    );
    let d = diff(t, &dir);
    d.expect(2, "diff after edit");
    for word in ["parent-flow", "greet", "modelId", "gemini-2.5-pro"] {
        assert!(
            d.stdout.contains(word),
            "diff lacks `{word}`:\n{}",
            d.stdout
        );
    }
    assert!(
        !d.stdout.contains("child-flow"),
        "unchanged flow in diff:\n{}",
        d.stdout
    );
    let a = apply(t, &dir, &[]);
    a.expect(0, "apply edit");
    assert_eq!(
        a.requests().1,
        3,
        "one changed flow costs 3 writes:\n{}",
        a.stderr
    );
    assert_eq!(t.versions("flows", "parent-flow"), (vec![1, 2], Some(2)));
    diff(t, &dir).expect(0, "diff after apply");
}

/// 3. An older version published behind the tool's back is drift, and apply repairs it.
fn published_old_version_is_drift(t: &Target) {
    let dir = fixture();
    apply(t, &dir, &[]).expect(0, "apply");
    dir.write(
        "flows/parent.yaml",
        &PARENT.replace("gemini-2.5-flash", "gemini-2.5-pro"),
    );
    apply(t, &dir, &[]).expect(0, "apply edit");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (status, body) = t.api("POST", "/allma/flows/parent-flow/versions/1/publish", None);
    assert_eq!(status, 200, "{body}");
    let d = diff(t, &dir);
    d.expect(2, "diff after out-of-band publish");
    assert!(
        d.stdout.contains("! drift Flow parent-flow"),
        "{}",
        d.stdout
    );
    apply(t, &dir, &[]).expect(0, "repair");
    assert_eq!(t.versions("flows", "parent-flow"), (vec![1, 2], Some(2)));
    diff(t, &dir).expect(0, "diff after repair");
}

/// 4. A draft equal to the desired content (an interrupted apply) is published, not copied.
fn interrupted_apply_draft_is_published(t: &Target) {
    let dir = fixture();
    apply(t, &dir, &[]).expect(0, "apply");
    let (status, created) = t.api(
        "POST",
        "/allma/flows/parent-flow/versions",
        Some(&json!({"sourceVersion": "latest"})),
    );
    assert_eq!(status, 201, "{created}");
    let (_, mut v2) = t.api("GET", "/allma/flows/parent-flow/versions/2", None);
    for key in [
        "id",
        "version",
        "isPublished",
        "publishedAt",
        "createdAt",
        "updatedAt",
        "flowVariables",
    ] {
        v2.as_object_mut().unwrap().remove(key);
    }
    v2["steps"]["greet"]["modelId"] = json!("gemini-2.5-pro");
    let (status, body) = t.api("PUT", "/allma/flows/parent-flow/versions/2", Some(&v2));
    assert_eq!(status, 200, "{body}");
    dir.write(
        "flows/parent.yaml",
        &PARENT.replace("gemini-2.5-flash", "gemini-2.5-pro"),
    );
    let a = apply(t, &dir, &[]);
    a.expect(0, "apply");
    assert_eq!(a.requests().1, 1, "only a publish:\n{}", a.stderr);
    assert_eq!(t.versions("flows", "parent-flow"), (vec![1, 2], Some(2)));
    diff(t, &dir).expect(0, "diff");
}

/// 5. An unowned flow with the same id is refused (nothing written) unless --adopt.
fn unowned_flow_is_refused_then_adopted(t: &Target) {
    let item = json!({"id": "child-flow", "version": 1, "name": "Hand made", "isPublished": true,
        "startStepInstanceId": "s", "steps": {"s": {"stepInstanceId": "s", "stepType": "NO_OP"}}});
    let body = json!({"formatVersion": "1.0", "exportedAt": "2024-01-01T00:00:00.000Z", "flows": [item], "options": {"overwrite": false}});
    let (status, answer) = t.api("POST", "/allma/import", Some(&body));
    assert_eq!(status, 200, "{answer}");
    let before = t.master("flows", "child-flow").unwrap();
    let dir = fixture();
    let a = apply(t, &dir, &[]);
    a.expect(1, "apply onto an unowned flow");
    assert!(
        a.stderr.contains("child-flow") && a.stderr.contains("--adopt"),
        "{}",
        a.stderr
    );
    let after = t.master("flows", "child-flow").unwrap();
    assert_eq!(before, after, "the unowned flow was written to");
    assert!(
        t.master("prompt-templates", "greet-prompt").is_some(),
        "independent resources still applied"
    );
    assert!(
        t.master("flows", "parent-flow").is_none(),
        "a flow using the refused one waits for it"
    );
    assert!(
        a.stderr.contains("uses Flow `child-flow`, which failed"),
        "{}",
        a.stderr
    );
    apply(t, &dir, &["--adopt"]).expect(0, "adopt");
    assert!(tags(&t.master("flows", "child-flow").unwrap()).contains(&OWNER_TAG.to_string()));
    diff(t, &dir).expect(0, "diff after adopt");
}

/// 6. A removed file with --prune applies the deletion policy to owned resources only.
fn prune_applies_policy_to_owned_only(t: &Target) {
    let item = json!({"id": "someone-elses", "version": 1, "name": "Not ours", "isPublished": true,
        "startStepInstanceId": "s", "steps": {"s": {"stepInstanceId": "s", "stepType": "NO_OP"}}});
    let body = json!({"formatVersion": "1.0", "exportedAt": "2024-01-01T00:00:00.000Z", "flows": [item], "options": {"overwrite": false}});
    assert_eq!(t.api("POST", "/allma/import", Some(&body)).0, 200);
    let dir = fixture();
    apply(t, &dir, &[]).expect(0, "apply");
    dir.write(
        "flows/child.yaml",
        &CHILD
            .replace("NO_OP", "END_FLOW")
            .replace("        defaultNextStepInstanceId: done\n", ""),
    );
    apply(t, &dir, &[]).expect(0, "second version of child");
    std::fs::remove_file(dir.path().join("flows/child.yaml")).unwrap();
    std::fs::remove_file(dir.path().join("prompts/greet.yaml")).unwrap();
    dir.write("flows/parent.yaml", &PARENT.replace("promptTemplateId: greet-prompt", "directPrompt: hi").replace(
        "      child:\n        stepType: START_SUB_FLOW\n        subFlowDefinitionId: child-flow\n", "      child:\n        stepType: END_FLOW\n"));
    let d = t.run(&["diff", dir.str(), "--prune"]);
    d.expect(2, "diff --prune");
    assert!(
        d.stdout.contains("- prune Flow child-flow") && !d.stdout.contains("someone-elses"),
        "{}",
        d.stdout
    );
    apply(t, &dir, &["--prune"]).expect(0, "apply --prune");
    let child = t.master("flows", "child-flow").expect("masters survive");
    assert!(
        child.get("publishedVersion").is_none_or(Value::is_null),
        "{child}"
    );
    assert_eq!(
        t.versions("flows", "child-flow").0,
        vec![1],
        "Delete policy removes drafts down to 1"
    );
    let prompt = t.master("prompt-templates", "greet-prompt").unwrap();
    assert!(
        prompt.get("publishedVersion").is_none_or(Value::is_null),
        "{prompt}"
    );
    assert_eq!(
        t.versions("prompt-templates", "greet-prompt").0,
        vec![1],
        "Unpublish keeps history"
    );
    assert_eq!(
        t.master("flows", "someone-elses").unwrap()["publishedVersion"],
        json!(1)
    );
    apply(t, &dir, &["--prune"]).expect(0, "second prune");
    t.run(&["diff", dir.str(), "--prune"])
        .expect(0, "converged");
}

/// 7. Bad input: exit 1, file and line in the message, zero requests.
fn bad_input_sends_nothing(t: &Target) {
    let cases = [
        (
            "malformed.yaml",
            PROMPT.replace("  tags: [demo]", "  tags: [demo"),
            "malformed.yaml:",
        ),
        (
            "unknown.yaml",
            PROMPT.replace("  tags:", "  tagz:"),
            "unknown.yaml:7:",
        ),
        (
            "transition.yaml",
            PARENT.replace("nextStepInstanceId: child", "nextStepInstanceId: nowhere"),
            "transition.yaml:20:",
        ),
    ];
    for (name, text, expect) in cases {
        let dir = TempDir::new("bad");
        dir.write(name, &text);
        for cmd in ["apply", "diff", "validate"] {
            let r = t.run(&[cmd, dir.str()]);
            r.expect(1, name);
            assert!(
                r.stderr.contains(expect),
                "{cmd} {name}: expected `{expect}` in\n{}",
                r.stderr
            );
            assert!(
                !r.stderr.contains(" requests, "),
                "{cmd} {name} talked to the server:\n{}",
                r.stderr
            );
        }
    }
    let dir = fixture();
    dir.write("copy/again.yaml", CHILD);
    let r = t.run(&["apply", dir.str()]);
    r.expect(1, "duplicate id");
    assert!(
        r.stderr.contains("child.yaml:1") && r.stderr.contains("again.yaml:1"),
        "{}",
        r.stderr
    );
    if let common::Server::Real(reference) = &t.server {
        assert_eq!(
            reference.stats()["requests"],
            json!(0),
            "the harness saw requests"
        );
    }
}

/// 8. JSON output parses and carries the same actions as text; markdown has a table.
fn json_and_markdown_outputs(t: &Target) {
    let dir = fixture();
    let text = diff(t, &dir);
    text.expect(2, "text diff");
    let json_run = t.run(&["diff", dir.str(), "--output", "json"]);
    json_run.expect(2, "json diff");
    let plan: Value = serde_json::from_str(&json_run.stdout).expect("diff --output json parses");
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    for c in changes {
        assert_eq!(c["action"], "create");
        let header = format!(
            "+ create {} {}",
            c["kind"].as_str().unwrap(),
            c["id"].as_str().unwrap()
        );
        assert!(
            text.stdout.contains(&header),
            "text lacks `{header}`:\n{}",
            text.stdout
        );
    }
    assert_eq!(plan["summary"]["create"], json!(3));
    let md = t.run(&["diff", dir.str(), "--output", "markdown"]);
    md.expect(2, "markdown diff");
    assert!(md.stdout.contains("| Action |"), "{}", md.stdout);
}

/// Bad credentials: exit 1, the status and the fix named, the token never printed.
fn bad_token_is_named_not_printed(t: &Target) {
    let dir = fixture();
    let secret = "not-a-valid-token-5ecret";
    let output = std::process::Command::new(common::bin())
        .args(["diff", dir.str()])
        .env("ALLMA_API_URL", &t.base_url)
        .env("ALLMA_TOKEN", secret)
        .output()
        .unwrap();
    let r = Run::from(output);
    r.expect(1, "bad token");
    assert!(
        r.stderr.contains("401") && r.stderr.contains("ALLMA_TOKEN"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(secret) && !r.stdout.contains(secret),
        "token leaked:\n{}",
        r.stderr
    );
}

/// The real server rejects a whole import for one invalid item: the others still land.
#[test]
fn one_flow_rejected_by_the_server_does_not_stop_the_others() {
    let t = Target::real();
    let dir = fixture();
    let bad = CHILD.replace("child-flow", "bad-flow").replace(
        "      done:\n        stepType: END_FLOW\n",
        "      done:\n        stepType: START_SUB_FLOW\n        subFlowDefinitionId: child-flow\n        subFlowVersion: 1\n",
    );
    dir.write("flows/bad.yaml", &bad);
    let a = apply(&t, &dir, &[]);
    a.expect(1, "apply with one flow the server rejects");
    assert!(a.stderr.contains("error: Flow bad-flow"), "{}", a.stderr);
    assert!(
        a.stderr.contains("subFlowVersion"),
        "the server's field error is shown:\n{}",
        a.stderr
    );
    for id in ["child-flow", "parent-flow"] {
        assert_eq!(
            t.master("flows", id).unwrap()["publishedVersion"],
            json!(1),
            "{id}"
        );
    }
    assert!(t.master("flows", "bad-flow").is_none());
}

/// The real list is one 1 MB DynamoDB page and is silently cut: resources it does not
/// show are looked up one by one, never re-created, and the run converges.
#[test]
fn a_cut_list_does_not_hide_existing_resources() {
    let t = Target::real();
    let dir = TempDir::new("many");
    let description = "d".repeat(3000);
    for i in 0..300 {
        let text = format!(
            "apiVersion: allma.dev/v1alpha1\nkind: Flow\nmetadata: {{name: many-{i:03}}}\nspec:\n  description: {description}\n  definition:\n    startStepInstanceId: a\n    steps:\n      a: {{stepType: END_FLOW}}\n"
        );
        dir.write(&format!("f{i:03}.yaml"), &text);
    }
    apply(&t, &dir, &[]).expect(0, "apply 300 flows");
    let (_, listed) = t.api("GET", "/allma/flows", None);
    let listed = listed.as_array().map_or(0, Vec::len);
    assert!(
        listed < 300,
        "the harness should cut the list at 1 MB; it listed {listed}"
    );
    let d = diff(&t, &dir);
    d.expect(0, "diff with a cut list");
    let (requests, writes) = apply(&t, &dir, &[]).requests();
    assert_eq!(writes, 0);
    assert!(requests <= 2 + 300 + (300 - listed), "{requests} requests");
}

#[test]
fn serve_local_refuses_a_public_address_without_a_token() {
    let state = TempDir::new("public");
    let output = std::process::Command::new(common::bin())
        .args(["serve-local", "--addr", "0.0.0.0:0", "--state", state.str()])
        .env_remove("ALLMA_LOCAL_TOKEN")
        .output()
        .unwrap();
    let r = Run::from(output);
    r.expect(1, "serve-local on 0.0.0.0 without --token");
    assert!(r.stderr.contains("without --token"), "{}", r.stderr);
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let dir = fixture();
    let output = std::process::Command::new(common::bin())
        .args(["diff", dir.str(), "--api-url", "http://127.0.0.1:1/v1"])
        .env("ALLMA_TOKEN", "t")
        .output()
        .unwrap();
    let r = Run::from(output);
    r.expect(1, "unreachable");
    assert!(
        r.stderr.contains("cannot reach the Admin API"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_credentials_for_a_real_url_are_a_clear_error() {
    let dir = fixture();
    let output = std::process::Command::new(common::bin())
        .args(["diff", dir.str(), "--api-url", "https://allma.invalid/v1"])
        .env_remove("ALLMA_TOKEN")
        .output()
        .unwrap();
    let r = Run::from(output);
    r.expect(1, "no token");
    assert!(
        r.stderr.contains("set ALLMA_TOKEN or --token-file"),
        "{}",
        r.stderr
    );
}

/// A key removed inside a map (a PUT deep-merges maps) still converges in one apply.
fn nested_key_removal_converges(t: &Target) {
    let dir = fixture();
    let with = PARENT.replace(
        "    startStepInstanceId: greet\n",
        "    startStepInstanceId: greet\n    defaultStepConfig:\n      defaultErrorHandler:\n        continueOnFailure: true\n        retries: {count: 2}\n",
    );
    dir.write("flows/parent.yaml", &with);
    apply(t, &dir, &[]).expect(0, "apply with retries");
    dir.write(
        "flows/parent.yaml",
        &with.replace("        retries: {count: 2}\n", ""),
    );
    let a = apply(t, &dir, &[]);
    a.expect(0, "apply without retries");
    assert_eq!(
        a.requests().1,
        4,
        "create, reset PUT, PUT, publish:\n{}",
        a.stderr
    );
    diff(t, &dir).expect(0, "diff after removing a nested key");
    assert_eq!(
        apply(t, &dir, &[]).requests().1,
        0,
        "a third apply writes nothing"
    );
}

/// When the version counter names a deleted version (§4.3), the new version is copied
/// from the highest one that exists instead of failing on "latest" forever.
fn version_counter_gap_does_not_block_updates(t: &Target) {
    let dir = fixture();
    apply(t, &dir, &[]).expect(0, "v1");
    for model in ["gemini-2.5-pro", "gemini-2.0-flash"] {
        dir.write(
            "flows/parent.yaml",
            &PARENT.replace("gemini-2.5-flash", model),
        );
        apply(t, &dir, &[]).expect(0, model);
    }
    assert_eq!(
        t.api("POST", "/allma/flows/parent-flow/versions/1/publish", None)
            .0,
        200
    );
    assert_eq!(
        t.api("DELETE", "/allma/flows/parent-flow/versions/2", None)
            .0,
        204
    );
    assert_eq!(
        t.api("DELETE", "/allma/flows/parent-flow/versions/3", None)
            .0,
        204
    );
    assert_eq!(t.versions("flows", "parent-flow"), (vec![1], Some(1)));
    apply(t, &dir, &[]).expect(0, "apply over a counter gap");
    let (numbers, published) = t.versions("flows", "parent-flow");
    assert_eq!(published, numbers.last().copied(), "{numbers:?}");
    diff(t, &dir).expect(0, "diff after the gap");
}

/// The token never shows in output, even with trace logging of everything.
fn token_is_never_logged(t: &Target) {
    let dir = fixture();
    for args in [
        vec!["apply", dir.str(), "-vvv"],
        vec!["diff", dir.str(), "-vvv", "--log-format", "json"],
    ] {
        let output = std::process::Command::new(common::bin())
            .args(&args)
            .env("ALLMA_API_URL", &t.base_url)
            .env("ALLMA_TOKEN", &t.token)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let r = Run::from(output);
        assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
        assert!(
            r.stderr.len() > 1000,
            "trace logging produced little output:\n{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains(&t.token) && !r.stdout.contains(&t.token),
            "token leaked with {args:?}"
        );
    }
}

macro_rules! on_both_targets {
    ($($scenario:ident),* $(,)?) => {
        mod real {
            $(#[test] fn $scenario() { super::$scenario(&super::Target::real()) })*
        }
        mod embedded {
            $(#[test] fn $scenario() { super::$scenario(&super::Target::embedded()) })*
        }
    };
}

on_both_targets!(
    examples_apply_then_nothing_to_do,
    changed_step_field_creates_one_version,
    published_old_version_is_drift,
    interrupted_apply_draft_is_published,
    unowned_flow_is_refused_then_adopted,
    prune_applies_policy_to_owned_only,
    bad_input_sends_nothing,
    json_and_markdown_outputs,
    bad_token_is_named_not_printed,
    nested_key_removal_converges,
    version_counter_gap_does_not_block_updates,
    token_is_never_logged,
);
