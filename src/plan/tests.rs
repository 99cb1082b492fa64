use super::*;
use crate::admin::MasterSummary;
use crate::admin::{LiveResource, VersionSummary};
use crate::load::{self, Desired};
use crate::model::{HASH_FIELD, content_hash, normalize_flow_version};
use serde_json::json;

const DEFS: &str = "apiVersion: allma.dev/v1alpha1
kind: Flow
metadata: {name: f}
spec:
  definition:
    startStepInstanceId: a
    steps:
      a: {stepType: NO_OP, defaultNextStepInstanceId: b}
      b: {stepType: START_SUB_FLOW, subFlowDefinitionId: child}
---
apiVersion: allma.dev/v1alpha1
kind: Flow
metadata: {name: child}
spec:
  definition:
    startStepInstanceId: a
    steps:
      a: {stepType: END_FLOW}
";

fn desired(text: &str) -> Vec<Desired> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("allma-gitops-plan-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("defs.yaml"), text).unwrap();
    let resources = load::load(std::slice::from_ref(&dir), "o")
        .unwrap()
        .resources;
    let _ = std::fs::remove_dir_all(&dir);
    resources
}

fn opts() -> Options {
    Options {
        owner: "o".into(),
        adopt: false,
        prune: false,
    }
}

/// The live state right after a successful apply of `d`: version `n` published.
fn applied(d: &Desired, n: u32) -> LiveResource {
    let mut version = d.version.clone();
    version["version"] = json!(n);
    version["isPublished"] = json!(true);
    version["publishedAt"] = json!("2025-01-01T00:00:00.000Z");
    version["flowVariables"] = json!({});
    LiveResource {
        master: Some(MasterSummary {
            id: d.id.clone(),
            name: d.master.name.clone(),
            description: None,
            tags: d.master.tags.clone(),
            latest_version: Some(n),
            published_version: Some(n),
        }),
        published: Some(version),
        latest: None,
        versions: None,
        error: None,
    }
}

fn live_of(ds: &[Desired]) -> Live {
    let mut live = Live::default();
    for d in ds {
        live.resources.insert((d.kind, d.id.clone()), applied(d, 1));
    }
    live
}

#[test]
fn unchanged_flow_plans_nothing() {
    let ds = desired(DEFS);
    let plan = plan(&ds, &live_of(&ds), &opts()).unwrap();
    assert_eq!(plan.changes, vec![]);
    assert_eq!(plan.summary.unchanged, 2);
}

#[test]
fn missing_resources_are_created_sub_flow_first() {
    let ds = desired(DEFS);
    let plan = plan(&ds, &Live::default(), &opts()).unwrap();
    let order: Vec<(&str, usize)> = plan
        .changes
        .iter()
        .map(|c| (c.id.as_str(), c.wave))
        .collect();
    assert_eq!(order, vec![("child", 1), ("f", 2)]);
    assert!(
        plan.changes
            .iter()
            .all(|c| matches!(c.operations[..], [Op::Import { .. }]))
    );
}

#[test]
fn changed_step_field_creates_publishes_a_new_version() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let f = live
        .resources
        .get_mut(&(Kind::Flow, "f".to_string()))
        .unwrap();
    f.published.as_mut().unwrap()["steps"]["a"]["displayName"] = json!("old");
    let plan = plan(&ds, &live, &opts()).unwrap();
    assert_eq!(plan.changes.len(), 1);
    let c = &plan.changes[0];
    assert_eq!(c.diff[0].path, "steps.a.displayName");
    let ops: Vec<_> = c
        .operations
        .iter()
        .map(|o| serde_json::to_value(o).unwrap()["op"].clone())
        .collect();
    assert_eq!(
        ops,
        vec![
            json!("create-version"),
            json!("put-version"),
            json!("publish")
        ]
    );
    assert!(
        c.drift,
        "the published version no longer matches its own hash"
    );
}

#[test]
fn draft_equal_to_desired_is_published_not_duplicated() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let f = live
        .resources
        .get_mut(&(Kind::Flow, "f".to_string()))
        .unwrap();
    let mut draft = f.published.clone().unwrap();
    draft["version"] = json!(2);
    draft["isPublished"] = json!(false);
    f.latest = Some(draft);
    f.versions = Some(vec![
        VersionSummary {
            version: 1,
            created_at: Some("2025-01-01T00:00:00.000Z".into()),
        },
        VersionSummary {
            version: 2,
            created_at: Some("2025-02-01T00:00:00.000Z".into()),
        },
    ]);
    let p = f.published.as_mut().unwrap();
    p["steps"]["a"]["displayName"] = json!("old");
    p[HASH_FIELD] = json!(content_hash(&normalize_flow_version(p)));
    let plan = plan(&ds, &live, &opts()).unwrap();
    let c = &plan.changes[0];
    assert_eq!(c.action, Action::PublishDraft);
    assert!(!c.drift, "an interrupted apply is not drift");
    assert_eq!(
        c.operations,
        vec![Op::Publish {
            version: Target::Number(2)
        }]
    );
}

#[test]
fn unowned_resource_is_refused_unless_adopted() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let child = live
        .resources
        .get_mut(&(Kind::Flow, "child".to_string()))
        .unwrap();
    child.master.as_mut().unwrap().tags.clear();
    let refused = plan(&ds, &live, &opts()).unwrap();
    assert_eq!(refused.changes[0].action, Action::Refused);
    assert!(refused.changes[0].operations.is_empty());
    let adopted = plan(
        &ds,
        &live,
        &Options {
            adopt: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(adopted.changes[0].action, Action::Update);
    assert!(matches!(
        adopted.changes[0].operations[..],
        [Op::PutFlowMaster { .. }]
    ));
}

#[test]
fn dangling_reference_is_refused_at_plan_time() {
    let ds = desired(DEFS.split("---").next().unwrap());
    let plan = plan(&ds, &Live::default(), &opts()).unwrap();
    assert_eq!(plan.changes[0].action, Action::Refused);
    assert!(
        plan.changes[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("`child`")
    );
}

#[test]
fn prune_touches_owned_resources_only() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let mut stranger = applied(&ds[0], 3);
    stranger.master.as_mut().unwrap().tags = vec!["team:x".into()];
    live.resources
        .insert((Kind::Flow, "stranger".into()), stranger);
    let only_child: Vec<Desired> = ds.iter().filter(|d| d.id == "child").cloned().collect();
    let plan = plan(
        &only_child,
        &live,
        &Options {
            prune: true,
            ..opts()
        },
    )
    .unwrap();
    let pruned: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Prune)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(pruned, vec!["f"]);
    assert_eq!(
        plan.changes[0].operations,
        vec![Op::Unpublish { version: 1 }]
    );
}

#[test]
fn sub_flow_cycle_is_an_error() {
    let text = DEFS.replace(
        "      a: {stepType: END_FLOW}",
        "      a: {stepType: START_SUB_FLOW, subFlowDefinitionId: f}",
    );
    let err = plan(&desired(&text), &Live::default(), &opts()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("child (")
            && text.contains("defs.yaml:11) -> f (")
            && text.contains("defs.yaml:1) -> child"),
        "{text}"
    );
}

#[test]
fn a_resource_still_referenced_is_not_pruned() {
    let ds = desired(DEFS);
    let live = live_of(&ds);
    let parent_only: Vec<Desired> = ds.iter().filter(|d| d.id == "f").cloned().collect();
    let plan = plan(
        &parent_only,
        &live,
        &Options {
            prune: true,
            ..opts()
        },
    )
    .unwrap();
    let child = plan.changes.iter().find(|c| c.id == "child").unwrap();
    assert_eq!(child.action, Action::Refused);
    assert!(child.operations.is_empty());
    assert!(
        child
            .reason
            .as_deref()
            .unwrap()
            .contains("still refers to it")
    );
}

#[test]
fn pruning_with_nothing_desired_is_refused() {
    let ds = desired(DEFS);
    let err = plan(
        &[],
        &live_of(&ds),
        &Options {
            prune: true,
            ..opts()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::PruneEverything(_)), "{err}");
}

#[test]
fn removed_variables_go_only_after_the_new_version_is_live() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let f = live
        .resources
        .get_mut(&(Kind::Flow, "f".to_string()))
        .unwrap();
    let p = f.published.as_mut().unwrap();
    p["flowVariables"] = json!({"old": 1});
    p["steps"]["a"]["displayName"] = json!("old");
    f.versions = Some(vec![VersionSummary {
        version: 1,
        created_at: None,
    }]);
    let plan = plan(&ds, &live, &opts()).unwrap();
    let ops: Vec<String> = plan.changes[0].operations.iter().map(op_name).collect();
    assert_eq!(
        ops,
        [
            "put-flow-master",
            "create-version",
            "put-version",
            "publish",
            "put-flow-master"
        ]
    );
    let Op::PutFlowMaster { body } = &plan.changes[0].operations[0] else {
        unreachable!()
    };
    assert_eq!(
        body["flowVariables"],
        json!({"old": 1}),
        "the old variable stays while the old version is live"
    );
}

#[test]
fn a_flow_unpublished_outside_the_tool_is_drift() {
    let ds = desired(DEFS);
    let mut live = live_of(&ds);
    let f = live
        .resources
        .get_mut(&(Kind::Flow, "f".to_string()))
        .unwrap();
    let mut v1 = f.published.take().unwrap();
    v1["isPublished"] = json!(false);
    f.latest = Some(v1);
    f.versions = Some(vec![VersionSummary {
        version: 1,
        created_at: None,
    }]);
    f.master.as_mut().unwrap().published_version = None;
    let plan = plan(&ds, &live, &opts()).unwrap();
    let c = &plan.changes[0];
    assert!(
        c.drift && c.reason.as_deref().unwrap().contains("unpublished outside"),
        "{c:?}"
    );
    assert_eq!(
        c.operations,
        vec![Op::Publish {
            version: Target::Number(1)
        }]
    );
    assert!(
        c.diff.is_empty(),
        "the draft already has the content: {:?}",
        c.diff
    );
}
