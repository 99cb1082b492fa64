//! Unit tests of the version rules in `versions.rs`, on a real store in a temp directory.

use super::*;
use crate::local::publish::{publish, unpublish};
use crate::local::store::Store;

fn store() -> Store {
    let dir = std::env::temp_dir().join(format!(
        "allma-local-versions-{}-{}",
        std::process::id(),
        ids::uuid()
    ));
    Store::open(&dir).expect("open store")
}

fn flow_version(n: u64, published: bool) -> Value {
    json!({"id": "f", "version": n, "isPublished": published, "publishedAt": null,
        "createdAt": "2025-01-05T10:00:00.000Z", "updatedAt": "2025-01-05T10:00:00.000Z",
        "description": "d", "startStepInstanceId": "a", "flowVariables": {"stale": true},
        "defaultStepConfig": {"defaultCustomConfig": {"a": 1}},
        "steps": {"a": {"stepInstanceId": "a", "stepType": "NO_OP"}, "b": {"stepInstanceId": "b", "stepType": "END_FLOW"}}})
}

/// A flow `f` with versions `1..=latest`, `published` flagged, master counters set.
fn seeded(latest: u64, published: Option<u64>) -> Store {
    let mut s = store();
    let mut changes: Vec<Change> = (1..=latest)
        .map(|n| Change::Version {
            number: n,
            record: flow_version(n, Some(n) == published),
        })
        .collect();
    let mut master = json!({"id": "f", "name": "F", "latestVersion": latest, "flowVariables": {"v": 1}, "tags": []});
    if let Some(p) = published {
        master["publishedVersion"] = json!(p);
    }
    changes.push(Change::Master { record: master });
    s.commit(Kind::Flow, "f", changes).expect("seed");
    s
}

fn entity(s: &Store) -> &Entity {
    s.get(Kind::Flow, "f").expect("entity")
}

fn err(outcome: Outcome) -> ApiError {
    outcome.expect_err("expected an error")
}

#[test]
fn publish_unpublishes_the_previous_version() {
    let mut s = seeded(2, Some(1));
    publish(&mut s, Kind::Flow, "f", "2").expect("publish");
    let e = entity(&s);
    assert_eq!(
        (
            e.versions[&1]["isPublished"].clone(),
            e.versions[&1]["publishedAt"].clone()
        ),
        (json!(false), Value::Null)
    );
    assert_eq!(e.versions[&2]["isPublished"], true);
    assert_eq!(e.master["publishedVersion"], 2);
}

#[test]
fn publishing_a_missing_version_is_a_cancelled_transaction() {
    let mut s = seeded(1, None);
    let e = err(publish(&mut s, Kind::Flow, "f", "5"));
    assert_eq!((e.status, e.code), (500, "SERVER_ERROR"));
    assert!(e.message.starts_with("Transaction cancelled"));
}

#[test]
fn unpublish_only_accepts_the_published_version() {
    let mut s = seeded(2, Some(1));
    let e = err(unpublish(&mut s, Kind::Flow, "f", "2"));
    assert_eq!(
        e.message,
        "Version 2 is not the currently published version. Published version is 1."
    );
    unpublish(&mut s, Kind::Flow, "f", "1").expect("unpublish");
    assert!(entity(&s).master.get("publishedVersion").is_none());
    let e = err(unpublish(&mut s, Kind::Prompt, "f", "1"));
    assert_eq!(e.message, "Version is not currently published.");
}

#[test]
fn delete_refuses_published_and_only_versions() {
    let mut s = seeded(2, Some(1));
    assert_eq!(
        err(delete(&mut s, Kind::Flow, "f", "1")).message,
        "Cannot delete a published version."
    );
    let mut only = seeded(1, None);
    let e = err(delete(&mut only, Kind::Flow, "f", "9"));
    assert_eq!(
        (e.status, e.message.as_str()),
        (409, "Cannot delete the only version.")
    );
    assert_eq!(err(delete(&mut s, Kind::Flow, "nope", "1")).status, 404);
}

#[test]
fn deleting_the_latest_decrements_the_counter_and_others_do_not() {
    let mut s = seeded(4, None);
    delete(&mut s, Kind::Flow, "f", "4").expect("delete latest");
    assert_eq!(entity(&s).master["latestVersion"], 3);
    delete(&mut s, Kind::Flow, "f", "2").expect("delete middle");
    assert_eq!(entity(&s).master["latestVersion"], 3);
    assert_eq!(err(delete(&mut s, Kind::Flow, "f", "2")).status, 409);
    delete(&mut s, Kind::Flow, "f", "3").expect("delete latest again");
    assert_eq!(entity(&s).master["latestVersion"], 2);
    let e = err(delete(&mut s, Kind::Flow, "f", "2"));
    assert_eq!(e.status, 500, "latest number points at a deleted version");
}

#[test]
fn put_merges_deeply_but_replaces_steps_and_syncs_the_latest_master() {
    let mut s = seeded(2, None);
    let body = json!({"description": "new", "defaultStepConfig": {"defaultCustomConfig": {"b": 2}},
        "steps": {"a": {"stepInstanceId": "a", "stepType": "NO_OP"}}});
    let reply = put(&mut s, Kind::Flow, "f", "2", &body).expect("put");
    let data = &reply.body.expect("body")["data"];
    assert_eq!(data["steps"].as_object().map(|m| m.len()), Some(1));
    assert_eq!(
        data["defaultStepConfig"]["defaultCustomConfig"],
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        data["flowVariables"],
        json!({"v": 1}),
        "loaded with the master's variables"
    );
    assert_eq!(entity(&s).master["description"], "new");
    put(&mut s, Kind::Flow, "f", "1", &json!({"description": "old"})).expect("put non-latest");
    assert_eq!(entity(&s).master["description"], "new");
}

#[test]
fn put_of_a_published_version_is_refused_with_500() {
    let mut s = seeded(1, Some(1));
    let e = err(put(
        &mut s,
        Kind::Flow,
        "f",
        "1",
        &json!({"description": "x"}),
    ));
    assert_eq!((e.status, e.code), (500, "SERVER_ERROR"));
    assert_eq!(entity(&s).versions[&1]["description"], "d");
}

#[test]
fn create_version_fills_defaults_and_bumps_the_counter() {
    let mut s = seeded(2, Some(2));
    let reply =
        create(&mut s, Kind::Flow, "f", &json!({"sourceVersion": "latest"})).expect("create");
    let data = &reply.body.expect("body")["data"];
    assert_eq!(
        (data["version"].clone(), data["isPublished"].clone()),
        (json!(3), json!(false))
    );
    assert_eq!(data["steps"]["a"]["defaultNextMaxTransitions"], 5);
    assert_eq!(
        (
            data["authoringSource"].clone(),
            data["enableExecutionLogs"].clone()
        ),
        (json!("visual"), json!(false))
    );
    assert_eq!(entity(&s).master["latestVersion"], 3);
    assert_eq!(
        err(create(
            &mut s,
            Kind::Flow,
            "f",
            &json!({"sourceVersion": "2"})
        ))
        .status,
        400
    );
}

#[test]
fn javascript_number_conversion_of_version_segments() {
    assert_eq!(js_number("01"), Some(1));
    assert_eq!(js_number("1.0"), Some(1));
    assert_eq!(js_number("latest"), None);
    assert_eq!(js_number("1.5"), None);
}
