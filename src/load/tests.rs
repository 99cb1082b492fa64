use super::*;
use std::io::Write;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("allma-gitops-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const FLOW: &str = "apiVersion: allma.dev/v1alpha1
kind: Flow
metadata:
  name: f1
spec:
  definition:
    startStepInstanceId: a
    steps:
      a:
        stepType: NO_OP
        defaultNextStepInstanceId: b
      b:
        stepType: LLM_INVOCATION
        llmProvider: GEMINI
        modelId: gemini-2.5-flash
        promptTemplateId: p1
---
apiVersion: allma.dev/v1alpha1
kind: PromptTemplate
metadata:
  name: p1
spec:
  content: Hello {{name}}
";

#[test]
fn a_directory_loads_prompts_before_flows_with_ownership_tags() {
    let dir = tmp("ok");
    write(&dir, "defs.yaml", FLOW);
    write(&dir, ".hidden/x.yaml", "not: [valid");
    let loaded = load(&[dir], "team-a").unwrap();
    let ids: Vec<_> = loaded
        .resources
        .iter()
        .map(|d| (d.kind, d.id.as_str()))
        .collect();
    assert_eq!(ids, vec![(Kind::PromptTemplate, "p1"), (Kind::Flow, "f1")]);
    assert_eq!(loaded.resources[1].master.tags, vec!["managed-by:team-a"]);
    assert_eq!(loaded.resources[1].source.line, 1);
    assert_eq!(loaded.resources[0].source.line, 18);
    assert_eq!(
        loaded.resources[1].version["steps"]["a"]["stepInstanceId"],
        "a"
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let dir = tmp("bad");
    let f = write(
        &dir,
        "bad.yaml",
        "apiVersion: allma.dev/v1alpha1\nkind: Flow\nmetadata: {name: x\nspec: {}\n",
    );
    let err = load(&[dir], "o").unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].file, f);
    assert!(err.0[0].line.is_some(), "{}", err);
}

#[test]
fn unknown_spec_field_names_its_line() {
    let dir = tmp("unknown");
    let text = FLOW.replace("  definition:\n", "  publsh: true\n  definition:\n");
    write(&dir, "f.yaml", &text);
    let err = load(&[dir], "o").unwrap_err();
    assert_eq!(err.0[0].line, Some(6), "{err}");
    assert!(err.0[0].message.contains("unknown field `publsh`"), "{err}");
}

#[test]
fn transition_to_missing_step_names_its_line() {
    let dir = tmp("transition");
    let text = FLOW.replace(
        "defaultNextStepInstanceId: b",
        "defaultNextStepInstanceId: c",
    );
    write(&dir, "f.yaml", &text);
    let err = load(&[dir], "o").unwrap_err();
    assert_eq!(err.0[0].line, Some(11), "{err}");
    assert!(err.0[0].message.contains("`c`"), "{err}");
}

#[test]
fn duplicate_ids_name_both_files() {
    let dir = tmp("dup");
    write(&dir, "a.yaml", FLOW);
    write(&dir, "b.yaml", FLOW);
    let err = load(&[dir], "o").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("a.yaml:1") && text.contains("b.yaml:1"),
        "{text}"
    );
}

#[test]
fn native_export_envelope_and_builder_files_load() {
    let dir = tmp("native");
    write(
        &dir,
        "x.flow.json",
        r#"{"formatVersion":"1.0","exportedAt":"1970-01-01T00:00:00.000Z",
      "flows":[{"id":"nf","version":1,"name":"Native","authoringSource":"code","flowVariables":{"a":1},
        "startStepInstanceId":"s","steps":{"s":{"stepInstanceId":"s","stepType":"NO_OP"}}}],
      "promptTemplates":[{"id":"np","name":"P","content":"c","createdAt":"1970-01-01T00:00:00.000Z","updatedAt":"1970-01-01T00:00:00.000Z"}]}"#,
    );
    let loaded = load(&[dir], "o").unwrap();
    assert_eq!(loaded.resources.len(), 2);
    let flow = &loaded.resources[1];
    assert_eq!(
        (flow.id.as_str(), flow.master.name.as_str()),
        ("nf", "Native")
    );
    assert_eq!(flow.master.variables["a"], 1);
    assert!(flow.version.get("version").is_none());
}

#[test]
fn dangling_reference_is_a_warning_offline() {
    let dir = tmp("dangling");
    write(&dir, "f.yaml", FLOW.split("---").next().unwrap());
    let loaded = load(&[dir], "o").unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, Some(16));
}

fn load_err(name: &str, text: &str) -> Error {
    let dir = tmp(name);
    write(&dir, "f.yaml", text);
    load(&[dir], "o").unwrap_err()
}

#[test]
fn typo_in_the_api_group_of_a_flow_is_an_error_not_a_skip() {
    let text = FLOW.replacen("allma.dev/v1alpha1", "alma.dev/v1alpha1", 1);
    let err = load_err("api-typo", &text);
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].line, Some(1));
    let msg = &err.0[0].message;
    assert!(msg.contains("`alma.dev/v1alpha1`"), "{msg}");
    assert!(msg.contains("kind Flow: use `allma.dev/v1alpha1`"), "{msg}");
}

#[test]
fn other_groups_are_skipped_unless_the_kind_is_ours() {
    let dir = tmp("other-group");
    let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n{FLOW}");
    write(&dir, "f.yaml", &text);
    assert_eq!(load(&[dir], "o").unwrap().resources.len(), 2);
    let err = load_err("connection", "apiVersion: v1\nkind: AllmaConnection\n");
    assert!(err.0[0].message.contains("kind AllmaConnection"), "{err}");
}

#[test]
fn kind_without_api_version_says_which_to_add() {
    let err = load_err("no-api", "kind: Flow\nmetadata:\n  name: x\nspec: {}\n");
    assert_eq!(err.0[0].line, Some(1));
    assert_eq!(err.0[0].message, "missing `apiVersion: allma.dev/v1alpha1`");
}

#[test]
fn reserved_tag_prefixes_are_errors_at_the_tag() {
    let text = FLOW.replacen(
        "spec:\n",
        "spec:\n  tags:\n    - team\n    - deletion-policy:Delete\n",
        1,
    );
    let err = load_err("reserved-tag", &text);
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].line, Some(8));
    let msg = &err.0[0].message;
    assert!(
        msg.starts_with("`spec.tags[1]`: tag `deletion-policy:Delete`"),
        "{msg}"
    );
    assert!(
        msg.contains("`--owner`") && msg.contains("`spec.deletionPolicy`"),
        "{msg}"
    );
}

#[test]
fn reserved_tags_in_native_artifacts_are_replaced_by_this_owners() {
    let dir = tmp("native-tag");
    write(
        &dir,
        "p.prompt.json",
        "{\"id\": \"np\", \"content\": \"c\", \"tags\": [\"ok\", \"managed-by:someone\"]}\n",
    );
    let loaded = load(&[dir], "me").unwrap();
    assert_eq!(loaded.resources[0].master.tags, vec!["managed-by:me", "ok"]);
}

#[test]
fn unknown_default_step_config_key_names_its_line() {
    let text = FLOW.replacen(
        "  definition:\n",
        "  definition:\n    defaultStepConfig:\n      defaultErorHandler: {}\n",
        1,
    );
    let err = load_err("step-config", &text);
    assert_eq!(err.0[0].line, Some(8), "{err}");
    assert!(
        err.0[0]
            .message
            .contains("did you mean `defaultErrorHandler`"),
        "{err}"
    );
}

#[test]
fn hydrated_step_definition_is_a_warning_at_its_line() {
    let dir = tmp("hydration");
    let text = FLOW.replacen(
        "stepType: NO_OP\n",
        "stepType: NO_OP\n        stepDefinitionId: my-def\n",
        1,
    );
    write(&dir, "f.yaml", &text);
    let loaded = load(&[dir], "o").unwrap();
    let w = &loaded.warnings[0];
    assert_eq!(w.line, Some(11));
    assert!(w.message.contains("stored step definition `my-def`"), "{w}");
}

#[test]
fn invalid_id_points_at_the_line_that_sets_it() {
    let text = FLOW.replacen("spec:\n", "spec:\n  id: bad id\n", 1);
    assert_eq!(load_err("id-spec", &text).0[0].line, Some(6));
    let text = FLOW.replacen("name: f1", "name: bad/name", 1);
    assert_eq!(load_err("id-name", &text).0[0].line, Some(4));
    let text = "{\n  \"content\": \"c\",\n  \"id\": \"bad id\"\n}\n";
    assert_eq!(load_err("id-native", text).0[0].line, Some(3));
}
