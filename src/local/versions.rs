//! Version operations of the embedded Admin API: list, create, get, update and delete, with Allma's numbering, merge and master-sync rules (§4.3–§4.7).

use serde_json::{Value, json};

use super::ids;
use super::reply::{ApiError, Outcome, Reply, flatten, summary};
use super::store::{Change, Entity, Kind, Store};
use super::validate::{self, FieldError};

/// Fields of a versions-list entry (§4.9).
const SUMMARY_FIELDS: &[&str] = &[
    "id",
    "version",
    "isPublished",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "description",
    "name",
    "tags",
];

/// JavaScript `Number(text)` restricted to what can name a version: `None` stands for `NaN`
/// or a non-integer, which never matches a stored version.
pub(crate) fn js_number(text: &str) -> Option<u64> {
    let n: f64 = text.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9.0e15).then_some(n as u64)
}

pub(crate) fn show(n: Option<u64>) -> String {
    n.map_or_else(|| "NaN".to_string(), |n| n.to_string())
}

fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Flow => "Flow",
        Kind::Prompt => "Prompt Template",
    }
}

pub(crate) fn latest(entity: &Entity) -> u64 {
    entity.master["latestVersion"].as_u64().unwrap_or(0)
}

pub(crate) fn published(entity: &Entity) -> Option<u64> {
    entity.master["publishedVersion"].as_u64()
}

/// A version as GET shows it: flows carry the master's `flowVariables` (no step definitions
/// are stored here, so hydration adds nothing).
pub(crate) fn as_read(kind: Kind, entity: &Entity, record: &Value) -> Value {
    let mut out = record.clone();
    if kind == Kind::Flow {
        out["flowVariables"] = entity
            .master
            .get("flowVariables")
            .cloned()
            .unwrap_or_else(|| json!({}));
    }
    out
}

/// `GET …/{id}/versions`: summaries, ordered numerically; unknown id → `[]`.
pub(crate) fn list(store: &Store, kind: Kind, id: &str) -> Outcome {
    let items: Vec<Value> = store
        .get(kind, id)
        .map(|e| e.versions.values().map(summary_of).collect())
        .unwrap_or_default();
    Ok(Reply::ok(Value::Array(items)))
}

fn summary_of(record: &Value) -> Value {
    let out = SUMMARY_FIELDS
        .iter()
        .filter_map(|k| record.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect();
    Value::Object(out)
}

/// `GET …/{id}/versions/{v}`: literal number text, `latest` or `LATEST_PUBLISHED`.
pub(crate) fn get(store: &Store, kind: Kind, id: &str, v: &str) -> Outcome {
    let entity = store
        .get(kind, id)
        .ok_or_else(ApiError::resource_not_found)?;
    let number = match v {
        "latest" => Some(latest(entity)),
        "LATEST_PUBLISHED" => published(entity),
        text => text.parse::<u64>().ok().filter(|n| n.to_string() == text),
    };
    let record = number
        .and_then(|n| entity.versions.get(&n))
        .ok_or_else(ApiError::resource_not_found)?;
    Ok(Reply::ok(as_read(kind, entity, record)))
}

/// Reads `sourceVersion`: a positive integer or `"latest"`.
fn source_version(body: &Value, entity_latest: Option<u64>) -> Result<Option<u64>, ApiError> {
    match body.get("sourceVersion") {
        Some(Value::String(s)) if s == "latest" => Ok(entity_latest),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f >= 1.0 && f.fract() == 0.0) => {
            Ok(n.as_f64().map(|f| f as u64))
        }
        _ => {
            let errors = [(
                "sourceVersion".to_string(),
                "Expected positive integer or 'latest'".to_string(),
            )];
            Err(ApiError::validation("Invalid input", flatten(&[], &errors)))
        }
    }
}

/// `POST …/{id}/versions`: copy of the stored source as `latestVersion + 1`, defaults filled.
pub(crate) fn create(store: &mut Store, kind: Kind, id: &str, body: &Value) -> Outcome {
    let entity = store.get(kind, id);
    let wanted = source_version(body, entity.map(latest))?;
    let entity = entity
        .ok_or_else(|| ApiError::not_found(format!("{} with id {id} not found.", label(kind))))?;
    let source = wanted
        .and_then(|n| entity.versions.get(&n))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Source version {} not found for {id}.",
                show(wanted)
            ))
        })?;
    let (number, now) = (latest(entity) + 1, ids::now());
    let mut record = source.clone();
    for (key, value) in [
        ("version", json!(number)),
        ("isPublished", json!(false)),
        ("publishedAt", Value::Null),
        ("createdAt", json!(now)),
        ("updatedAt", json!(now)),
    ] {
        record[key] = value;
    }
    full_defaults_and_check(kind, &mut record)?;
    let mut master = entity.master.clone();
    master["latestVersion"] = json!(number);
    master["updatedAt"] = json!(now);
    store.commit(
        kind,
        id,
        vec![
            Change::Version {
                number,
                record: record.clone(),
            },
            Change::Master { record: master },
        ],
    )?;
    Ok(Reply::created(record))
}

/// Applies the full schema (defaults, then checks) as create/clone/import do.
pub(crate) fn full_defaults_and_check(kind: Kind, record: &mut Value) -> Result<(), ApiError> {
    let errors = match kind {
        Kind::Flow => {
            validate::flow_defaults(record);
            validate::check_flow(record)
        }
        Kind::Prompt => {
            validate::prompt_defaults(record);
            validate::check_prompt(record, true)
        }
    };
    merged_errors(&errors)
}

fn merged_errors(errors: &[FieldError]) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let top = validate::top_level(errors);
    Err(ApiError::validation(
        format!("Validation failed on merged data: {}", summary(&top)),
        flatten(&[], &top),
    ))
}

/// Allma's `deepMerge`: objects merge recursively, anything else in `patch` replaces.
pub(crate) fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (key, value) in p {
                match b.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value)
                    }
                    _ => {
                        b.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The body merged onto the loaded version; for flows `steps` replaces the whole map.
pub(crate) fn merge_version(kind: Kind, loaded: &Value, body: &Value) -> Value {
    let mut merged = loaded.clone();
    deep_merge(&mut merged, body);
    if kind == Kind::Flow
        && let Some(steps) = body.get("steps")
    {
        merged["steps"] = steps.clone();
    }
    merged
}

/// Copies what a PUT of the latest version copies to the master (§4.5.1 step 5, §4.5.4).
pub(crate) fn sync_master(kind: Kind, master: &mut Value, version: &Value, now: &str) {
    if let Some(name) = version.get("name").filter(|n| n.is_string()) {
        master["name"] = name.clone();
    }
    if let Some(description) = version.get("description") {
        master["description"] = description.clone();
    }
    if let Some(tags) = version.get("tags").filter(|t| t.is_array()) {
        master["tags"] = tags.clone();
    }
    if kind == Kind::Flow
        && let Some(vars) = version.get("flowVariables").filter(|v| v.is_object())
    {
        master["flowVariables"] = vars.clone();
    }
    master["updatedAt"] = json!(now);
}

fn check_update_body(kind: Kind, body: &Value) -> Result<Value, ApiError> {
    let mut body = body.clone();
    let errors = match kind {
        Kind::Flow => validate::check_flow_update(&body),
        Kind::Prompt => {
            if body.get("tags").is_none() && body.is_object() {
                body["tags"] = json!([]);
            }
            validate::check_prompt(&body, false)
        }
    };
    if errors.is_empty() {
        return Ok(body);
    }
    let top = validate::top_level(&errors);
    Err(ApiError::validation(
        format!("Invalid input for update: {}", summary(&top)),
        flatten(&[], &top),
    ))
}

/// `PUT …/{id}/versions/{v}`: merge, validate, refuse published, sync master when latest.
pub(crate) fn put(store: &mut Store, kind: Kind, id: &str, v: &str, body: &Value) -> Outcome {
    let body = check_update_body(kind, body)?;
    let number = js_number(v);
    let entity = store.get(kind, id);
    let (entity, stored) = entity
        .and_then(|e| number.and_then(|n| e.versions.get(&n)).map(|s| (e, s)))
        .ok_or_else(|| ApiError::not_found("Version not found"))?;
    let mut merged = merge_version(kind, &as_read(kind, entity, stored), &body);
    match kind {
        Kind::Flow => merged_errors(&validate::check_flow(&merged))?,
        Kind::Prompt => full_defaults_and_check(kind, &mut merged)?,
    }
    let n = number.unwrap_or_default();
    let is_latest = n == latest(entity);
    if stored["isPublished"] == json!(true) {
        let reasons: &[&str] = if is_latest {
            &["ConditionalCheckFailed", "None"]
        } else {
            &["ConditionalCheckFailed"]
        };
        return Err(ApiError::transaction_cancelled(reasons));
    }
    let now = ids::now();
    merged["updatedAt"] = json!(now);
    let mut changes = vec![Change::Version {
        number: n,
        record: merged.clone(),
    }];
    if is_latest {
        let mut master = entity.master.clone();
        sync_master(kind, &mut master, &merged, &now);
        changes.push(Change::Master { record: master });
    }
    store.commit(kind, id, changes)?;
    Ok(Reply::ok(merged))
}

/// `DELETE …/{id}/versions/{v}` (§4.7).
pub(crate) fn delete(store: &mut Store, kind: Kind, id: &str, v: &str) -> Outcome {
    let entity = store
        .get(kind, id)
        .ok_or_else(|| ApiError::not_found(format!("{} not found.", label(kind))))?;
    let number = js_number(v);
    if number.is_some() && number == published(entity) {
        return Err(ApiError::conflict("Cannot delete a published version."));
    }
    let latest_number = latest(entity);
    if latest_number == 1 {
        return Err(ApiError::conflict("Cannot delete the only version."));
    }
    let record = number.and_then(|n| entity.versions.get(&n));
    let deletable = record.is_some_and(|r| r["isPublished"] != json!(true));
    let n = number.unwrap_or_default();
    let changes = if number == Some(latest_number) {
        if !deletable {
            return Err(ApiError::transaction_cancelled(&[
                "ConditionalCheckFailed",
                "None",
            ]));
        }
        let mut master = entity.master.clone();
        master["latestVersion"] = json!(latest_number - 1);
        master["updatedAt"] = json!(ids::now());
        vec![
            Change::DeleteVersion { number: n },
            Change::Master { record: master },
        ]
    } else if deletable {
        vec![Change::DeleteVersion { number: n }]
    } else {
        return Err(ApiError::conditional_failed());
    };
    store.commit(kind, id, changes)?;
    Ok(Reply::no_content())
}

#[cfg(test)]
#[path = "versions_tests.rs"]
mod tests;
