use super::*;
use crate::model::Kind;
use crate::plan::{FieldChange, Op, Summary, Target};
use serde_json::{Value, json};

fn fc(path: &str, old: Option<Value>, new: Option<Value>) -> FieldChange {
    FieldChange {
        path: path.to_string(),
        old,
        new,
    }
}

fn change(kind: Kind, id: &str, source: Option<&str>, action: Action) -> Change {
    Change {
        kind,
        id: id.to_string(),
        source: source.map(str::to_string),
        action,
        drift: false,
        reason: None,
        diff: Vec::new(),
        operations: Vec::new(),
        wave: 0,
        depends_on: Vec::new(),
    }
}

fn transitions(next: &str) -> Value {
    json!([{"condition": "$.steps_output.summarize.score > 0.8", "nextStepInstanceId": next, "maxTransitions": 5}])
}

fn flow_update() -> Change {
    let mut c = change(
        Kind::Flow,
        "extract-and-store",
        Some("defs/flows.yaml:12"),
        Action::Update,
    );
    c.diff = vec![
        fc(
            "startStepInstanceId",
            Some(json!("fetch")),
            Some(json!("extract")),
        ),
        fc(
            "steps.extract",
            None,
            Some(json!({"stepType": "LLM_INVOCATION", "modelId": "m"})),
        ),
        fc("steps.legacy", Some(json!({"stepType": "NO_OP"})), None),
        fc(
            "steps.summarize.defaultNextStepInstanceId",
            Some(json!("legacy")),
            Some(json!("store")),
        ),
        fc(
            "steps.summarize.modelId",
            Some(json!("claude-3-haiku")),
            Some(json!("claude-3-5-sonnet")),
        ),
        fc(
            "steps.summarize.transitions",
            Some(transitions("legacy")),
            Some(transitions("store")),
        ),
        fc(
            "tags",
            Some(json!(["managed-by:gitops"])),
            Some(json!(["managed-by:gitops", "team:data"])),
        ),
        fc("variables.bucket", None, Some(json!("my-bucket"))),
    ];
    c.operations = vec![
        Op::PutFlowMaster { body: json!({}) },
        Op::CreateVersion {
            source: Some(3),
            after: 3,
        },
        Op::PutVersion {
            version: Target::New,
            body: json!({}),
        },
        Op::Publish {
            version: Target::New,
        },
    ];
    c
}

fn prompt_drift() -> Change {
    let mut c = change(
        Kind::PromptTemplate,
        "summarize-prompt",
        Some("defs/prompts.yaml:3"),
        Action::Update,
    );
    c.drift = true;
    c.reason = Some("published version 3 was edited outside allma-gitops".into());
    let old =
        "You are a summarizer.\nBe brief.\nUse bullet points.\nCite sources.\n\nInput:\n{{text}}\n";
    let new = "You are a summarizer.\nBe concise and precise.\nUse bullet points.\nCite sources.\n\nInput:\n{{text}}\n";
    c.diff = vec![fc("content", Some(json!(old)), Some(json!(new)))];
    c.operations = vec![
        Op::CreateVersion {
            source: Some(3),
            after: 3,
        },
        Op::PutVersion {
            version: Target::New,
            body: json!({}),
        },
        Op::Publish {
            version: Target::New,
        },
    ];
    c
}

fn flow_create() -> Change {
    let mut c = change(
        Kind::Flow,
        "new-flow",
        Some("defs/new.yaml:1"),
        Action::Create,
    );
    c.diff = vec![
        fc("authoringSource", None, Some(json!("code"))),
        fc("startStepInstanceId", None, Some(json!("a"))),
        fc(
            "steps.a",
            None,
            Some(json!({"stepType": "NO_OP", "defaultNextStepInstanceId": "b"})),
        ),
        fc(
            "steps.b",
            None,
            Some(json!({"stepType": "LLM_INVOCATION", "modelId": "m"})),
        ),
        fc("name", None, Some(json!("New flow"))),
        fc("description", None, Some(Value::Null)),
        fc("tags", None, Some(json!(["managed-by:gitops"]))),
    ];
    c.operations = vec![Op::Import { item: json!({}) }];
    c
}

fn prompt_publish_draft() -> Change {
    let mut c = change(
        Kind::PromptTemplate,
        "greeting",
        Some("defs/prompts.yaml:20"),
        Action::PublishDraft,
    );
    c.diff = vec![fc(
        "content",
        Some(json!("Hello {{name}}")),
        Some(json!("Hi {{name}}")),
    )];
    c.operations = vec![Op::Publish {
        version: Target::Number(4),
    }];
    c
}

fn prune() -> Change {
    let mut c = change(Kind::PromptTemplate, "old-prompt", None, Action::Prune);
    c.reason = Some("no longer defined; deletionPolicy delete".into());
    c.operations = vec![
        Op::Unpublish { version: 2 },
        Op::DeleteVersion { version: 3 },
        Op::DeleteVersion { version: 2 },
    ];
    c.wave = 1;
    c
}

fn refused() -> Change {
    let mut c = change(
        Kind::Flow,
        "foreign-flow",
        Some("defs/flows.yaml:40"),
        Action::Refused,
    );
    c.reason = Some(
        "Flow `foreign-flow` already exists in Allma and is not managed by owner `gitops`".into(),
    );
    c
}

fn sample() -> Plan {
    let changes = vec![
        flow_create(),
        flow_update(),
        prompt_drift(),
        prompt_publish_draft(),
        refused(),
        prune(),
    ];
    let summary = Summary {
        create: 1,
        update: 2,
        prune: 1,
        drift: 1,
        refused: 1,
        unchanged: 3,
    };
    Plan { changes, summary }
}

#[test]
fn text_plan_reads_as_a_semantic_diff() {
    insta::assert_snapshot!(render(&sample(), Format::Text, false));
}

#[test]
fn colored_text_shows_each_sigil_in_its_colour() {
    let out = render(&sample(), Format::Text, true).replace('\x1b', "<ESC>");
    insta::assert_snapshot!(out);
}

#[test]
fn uncolored_text_has_no_escape_codes() {
    for format in [Format::Text, Format::Markdown, Format::Json] {
        assert!(
            !render(&sample(), format, false).contains('\x1b'),
            "{format:?}"
        );
    }
    assert!(!render(&sample(), Format::Markdown, true).contains('\x1b'));
}

#[test]
fn markdown_plan_has_a_table_and_folded_diffs() {
    insta::assert_snapshot!(render(&sample(), Format::Markdown, false));
}

#[test]
fn json_plan_is_the_serde_form() {
    insta::assert_snapshot!(render(&sample(), Format::Json, false));
}

#[test]
fn json_output_carries_the_same_actions_as_text() {
    let plan = sample();
    let parsed: Value =
        serde_json::from_str(&render(&plan, Format::Json, false)).expect("valid json");
    let from_json: Vec<String> = parsed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let verb = match (c["action"].as_str().expect("action"), c["drift"].as_bool()) {
                ("create", _) => "+ create",
                ("prune", _) => "- prune",
                ("refused", _) => "x refused",
                (_, Some(true)) => "! drift",
                ("update", _) => "~ update",
                ("publish-draft", _) => "~ publish draft",
                (other, _) => panic!("unknown action {other}"),
            };
            format!(
                "{verb} {} {}",
                c["kind"].as_str().expect("kind"),
                c["id"].as_str().expect("id")
            )
        })
        .collect();
    let text = render(&plan, Format::Text, false);
    let from_text: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with("Plan:"))
        .map(|l| l.split(" (").next().unwrap_or(l).to_string())
        .collect();
    assert_eq!(from_json, from_text);
    assert_eq!(parsed["summary"]["drift"], json!(1));
}

#[test]
fn plan_without_changes_reports_resources_in_sync() {
    let plan = Plan {
        changes: Vec::new(),
        summary: Summary {
            unchanged: 4,
            ..Summary::default()
        },
    };
    assert_eq!(
        render(&plan, Format::Text, true),
        "No changes. 4 resources in sync.\n"
    );
}

#[test]
fn refusals_are_listed_even_without_changes() {
    let summary = Summary {
        refused: 1,
        unchanged: 1,
        ..Summary::default()
    };
    let plan = Plan {
        changes: vec![refused()],
        summary,
    };
    insta::assert_snapshot!(render(&plan, Format::Text, false));
}

#[test]
fn a_flow_without_live_steps_lists_each_step() {
    let mut c = change(Kind::Flow, "f", None, Action::Update);
    c.diff = vec![fc(
        "steps",
        None,
        Some(json!({"a": {"stepType": "NO_OP"}, "b": {"stepType": "END"}})),
    )];
    let plan = Plan {
        changes: vec![c],
        summary: Summary {
            update: 1,
            ..Summary::default()
        },
    };
    let text = render(&plan, Format::Text, false);
    assert!(
        text.contains("    + step a (NO_OP)\n    + step b (END)\n"),
        "{text}"
    );
}

#[test]
fn long_values_are_shown_in_full_one_per_line() {
    let long = "x".repeat(100);
    let mut c = change(Kind::PromptTemplate, "p", None, Action::Update);
    c.diff = vec![fc("description", Some(json!("short")), Some(json!(long)))];
    let plan = Plan {
        changes: vec![c],
        summary: Summary {
            update: 1,
            ..Summary::default()
        },
    };
    let text = render(&plan, Format::Text, false);
    let lines: Vec<&str> = text.lines().skip(1).take(3).collect();
    assert_eq!(lines[0], "    description:");
    assert_eq!(lines[1], "        - \"short\"");
    assert_eq!(lines[2], format!("        + \"{long}\""));
}
