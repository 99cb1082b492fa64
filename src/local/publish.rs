//! Publish and unpublish of the embedded Admin API (§4.6): one published version per entity,
//! the previous one unpublished in the same atomic change.

use serde_json::{Value, json};

use super::ids;
use super::reply::{ApiError, Outcome, Reply};
use super::store::{Change, Entity, Kind, Store};
use super::versions::{as_read, js_number, published, show};

/// The change that unpublishes the currently published version when `n` gets published
/// (its `updatedAt` is left alone, as the real transaction does).
pub(crate) fn unpublish_previous(entity: &Entity, n: u64) -> Option<Change> {
    let previous = published(entity).filter(|p| *p != n)?;
    let mut old = entity.versions.get(&previous)?.clone();
    old["isPublished"] = json!(false);
    old["publishedAt"] = Value::Null;
    Some(Change::Version {
        number: previous,
        record: old,
    })
}

/// Flags `record` published now and points the master's `publishedVersion` at `n`.
pub(crate) fn mark_published(record: &mut Value, master: &mut Value, n: u64, now: &str) {
    record["isPublished"] = json!(true);
    record["publishedAt"] = json!(now);
    record["updatedAt"] = json!(now);
    master["publishedVersion"] = json!(n);
    master["updatedAt"] = json!(now);
}

/// `POST …/{v}/publish`: previous published version unpublished, `v` published, master
/// `publishedVersion = v`, all in one transaction.
pub(crate) fn publish(store: &mut Store, kind: Kind, id: &str, v: &str) -> Outcome {
    let number = js_number(v);
    let found = store
        .get(kind, id)
        .and_then(|e| number.and_then(|n| e.versions.get(&n)).map(|r| (e, r)));
    let Some((entity, record)) = found else {
        return Err(ApiError::transaction_cancelled(&[
            "None",
            "ConditionalCheckFailed",
            "None",
        ]));
    };
    let (n, now) = (number.unwrap_or_default(), ids::now());
    let mut changes: Vec<Change> = unpublish_previous(entity, n).into_iter().collect();
    let (mut record, mut master) = (record.clone(), entity.master.clone());
    mark_published(&mut record, &mut master, n, &now);
    let shown = as_read(
        kind,
        &Entity {
            master: master.clone(),
            versions: Default::default(),
        },
        &record,
    );
    changes.push(Change::Version { number: n, record });
    changes.push(Change::Master { record: master });
    store.commit(kind, id, changes)?;
    Ok(Reply::ok(shown))
}

/// `POST …/{v}/unpublish`: only the currently published version; else 500 as the real one.
pub(crate) fn unpublish(store: &mut Store, kind: Kind, id: &str, v: &str) -> Outcome {
    let number = js_number(v);
    let entity = store.get(kind, id);
    let current = entity.and_then(published);
    let refuse = |message: String| match kind {
        Kind::Flow => ApiError::server(message),
        Kind::Prompt => ApiError::server("Version is not currently published."),
    };
    let (Some(entity), Some(current)) = (entity, current) else {
        return Err(refuse(format!(
            "Flow {id} is not published or does not exist."
        )));
    };
    if number != Some(current) {
        let text = format!(
            "Version {} is not the currently published version. Published version is {current}.",
            show(number)
        );
        return Err(refuse(text));
    }
    let record = entity
        .versions
        .get(&current)
        .ok_or_else(|| ApiError::transaction_cancelled(&["ConditionalCheckFailed", "None"]))?;
    let now = ids::now();
    let mut record = record.clone();
    record["isPublished"] = json!(false);
    record["publishedAt"] = Value::Null;
    record["updatedAt"] = json!(now);
    let mut master = entity.master.clone();
    if let Some(m) = master.as_object_mut() {
        m.remove("publishedVersion");
    }
    master["updatedAt"] = json!(now);
    store.commit(
        kind,
        id,
        vec![
            Change::Version {
                number: current,
                record: record.clone(),
            },
            Change::Master { record: master },
        ],
    )?;
    Ok(Reply::ok(record))
}
