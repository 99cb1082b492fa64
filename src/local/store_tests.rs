//! Unit tests of `store.rs`: durability, locking, journal replay and poisoning, on real
//! temp directories.

use super::*;
use serde_json::json;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "allma-local-{name}-{}-{}",
        std::process::id(),
        super::super::ids::uuid()
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn records_survive_reopen() {
    let dir = temp_dir("reopen");
    {
        let mut store = Store::open(&dir).expect("open");
        let changes = vec![
            Change::Version {
                number: 1,
                record: json!({"version": 1}),
            },
            Change::Master {
                record: json!({"id": "a"}),
            },
        ];
        store.commit(Kind::Flow, "a", changes).expect("commit");
    }
    let store = Store::open(&dir).expect("reopen");
    let entity = store.get(Kind::Flow, "a").expect("entity");
    assert_eq!(entity.master, json!({"id": "a"}));
    assert_eq!(entity.versions[&1], json!({"version": 1}));
}

#[test]
fn second_open_of_one_directory_is_refused() {
    let dir = temp_dir("lock");
    let _first = Store::open(&dir).expect("open");
    let err = Store::open(&dir).expect_err("locked");
    assert!(err.to_string().contains(&dir.display().to_string()));
}

#[test]
fn unfinished_journal_is_replayed_on_open() {
    let dir = temp_dir("journal");
    drop(Store::open(&dir).expect("open"));
    let journal = json!({"kind": "flow", "id": "j", "changes": [
        {"op": "version", "number": 2, "record": {"version": 2}},
        {"op": "master", "record": {"id": "j", "latestVersion": 2}},
    ]});
    write_json_atomic(&dir.join("journal.json"), &journal).expect("write");
    let store = Store::open(&dir).expect("reopen");
    let entity = store.get(Kind::Flow, "j").expect("entity");
    assert_eq!(entity.master["latestVersion"], 2);
    assert!(!dir.join("journal.json").exists());
}

#[test]
fn unsafe_ids_are_recognised() {
    assert!(is_safe_id("my-flow_1.0"));
    assert!(!is_safe_id(".."));
    assert!(!is_safe_id("a/b"));
    assert!(!is_safe_id(""));
}

/// Makes writing `flows/<id>/<name>` fail even as root: a rename onto a non-empty directory.
fn block_record(dir: &Path, id: &str, name: &str) -> PathBuf {
    let blocker = dir.join("flows").join(id).join(name);
    fs::create_dir_all(blocker.join("x")).expect("blocker");
    blocker
}

fn version_and_master(n: u64) -> Vec<Change> {
    vec![
        Change::Master {
            record: json!({"id": "a", "latestVersion": n}),
        },
        Change::Version {
            number: n,
            record: json!({"version": n}),
        },
    ]
}

#[test]
fn failure_after_a_rename_poisons_the_store_until_reopen() {
    let dir = temp_dir("poison-multi");
    let mut store = Store::open(&dir).expect("open");
    store
        .commit(Kind::Flow, "a", version_and_master(1))
        .expect("commit 1");
    let blocker = block_record(&dir, "a", "2.json");
    // master.json is renamed into place, then 2.json fails.
    store
        .commit(Kind::Flow, "a", version_and_master(2))
        .expect_err("blocked");
    let later = vec![Change::Master {
        record: json!({"id": "a", "latestVersion": 1}),
    }];
    let err = store.commit(Kind::Flow, "a", later).expect_err("poisoned");
    assert!(matches!(err, Error::Poisoned { .. }), "{err:?}");
    drop(store);
    fs::remove_dir_all(blocker).expect("unblock");
    let store = Store::open(&dir).expect("reopen");
    let entity = store.get(Kind::Flow, "a").expect("entity");
    assert_eq!(entity.master["latestVersion"], 2);
    assert_eq!(entity.versions[&2], json!({"version": 2}));
}

#[test]
fn failed_single_record_write_poisons_the_store() {
    let dir = temp_dir("poison-single");
    let mut store = Store::open(&dir).expect("open");
    block_record(&dir, "b", "master.json");
    let master = |id: &str| {
        vec![Change::Master {
            record: json!({ "id": id }),
        }]
    };
    store
        .commit(Kind::Flow, "b", master("b"))
        .expect_err("blocked");
    let err = store
        .commit(Kind::Prompt, "p", master("p"))
        .expect_err("poisoned");
    assert!(matches!(err, Error::Poisoned { .. }), "{err:?}");
    assert!(store.get(Kind::Flow, "b").is_none());
}

#[test]
fn new_directories_are_created_with_their_ancestors() {
    let dir = temp_dir("nested").join("state").join("deeper");
    let mut store = Store::open(&dir).expect("open");
    let master = vec![Change::Master {
        record: json!({"id": "p"}),
    }];
    store.commit(Kind::Prompt, "p", master).expect("commit");
    assert!(dir.join("prompts/p/master.json").is_file());
    create_dir_durable(&dir).expect("existing directory is fine");
}

#[test]
fn unreadable_kind_directory_fails_open_naming_it() {
    let dir = temp_dir("unreadable");
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join("flows"), b"not a directory").expect("file");
    let err = Store::open(&dir).expect_err("flows is a file");
    let Error::Io { path, .. } = err else {
        panic!("expected an io error, got {err:?}");
    };
    assert_eq!(path, dir.join("flows"));
}
