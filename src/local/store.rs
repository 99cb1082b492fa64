//! Durable state of the embedded Admin API: one JSON file per record, an in-memory copy,
//! a lock file against a second process, and a journal that makes multi-record writes atomic.
//!
//! Layout of a state directory:
//! ```text
//! lock                      held (File::try_lock) while a process uses the store
//! journal.json              present only while a multi-record change is being applied
//! flows/<id>/master.json    flow master record (as returned by the API, with PK/SK/itemType)
//! flows/<id>/<n>.json       flow version n
//! prompts/<id>/…            same for prompt templates
//! ```
//! Every file is written to `<name>.tmp` in the same directory, fsynced, renamed over the
//! target and the directory fsynced, so a reader only ever sees a whole old or a whole new
//! file. A change touching several records (publish: master + two versions) is first written
//! whole to `journal.json` (atomically, as above), then applied file by file, then the journal
//! is removed. [`Store::open`] replays a journal left by a crash before loading, so a `kill -9`
//! at any point leaves either none or all of the change.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Error;

/// Which kind of versioned definition a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A flow (`FLOW_DEF#<id>`).
    Flow,
    /// A prompt template (`PROMPT_TEMPLATE#<id>`).
    Prompt,
}

impl Kind {
    fn dir_name(self) -> &'static str {
        match self {
            Kind::Flow => "flows",
            Kind::Prompt => "prompts",
        }
    }
}

/// A master record and its versions, as held in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Entity {
    /// The master record, stored and returned raw (with `PK`, `SK`, `itemType`).
    pub master: Value,
    /// Version records by number (without `PK`, `SK`, `itemType`).
    pub versions: BTreeMap<u64, Value>,
}

/// One record-level write of a [`Store::commit`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub(crate) enum Change {
    /// Create or replace the master record.
    Master { record: Value },
    /// Create or replace version `number`.
    Version { number: u64, record: Value },
    /// Remove version `number` (no error when it is already gone).
    DeleteVersion { number: u64 },
}

#[derive(Serialize, Deserialize)]
struct Journal {
    kind: Kind,
    id: String,
    changes: Vec<Change>,
}

/// The open store: exclusive lock, directory and in-memory copy of every record.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    _lock: File,
    entities: BTreeMap<(Kind, String), Entity>,
    /// Set when a commit failed: the disk may be ahead of memory (a renamed record, a journal
    /// left to replay), so further writes are refused until the next open reloads it.
    poisoned: bool,
}

/// True for ids that are safe as a file name and a path segment: `[A-Za-z0-9._-]+`.
pub(crate) fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, takes its lock, replays an unfinished
    /// journal and loads every record.
    pub(crate) fn open(dir: &Path) -> Result<Store, Error> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        create_dir_durable(dir)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        let mut store = Store {
            dir: dir.to_path_buf(),
            _lock: lock,
            entities: BTreeMap::new(),
            poisoned: false,
        };
        store.replay_journal()?;
        for kind in [Kind::Flow, Kind::Prompt] {
            store.load_kind(kind)?;
        }
        Ok(store)
    }

    /// The entity `id` of `kind`, if its master exists.
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Entity> {
        self.entities.get(&(kind, id.to_string()))
    }

    /// Every entity of `kind`, ordered by id.
    pub(crate) fn all(&self, kind: Kind) -> impl Iterator<Item = &Entity> {
        self.entities
            .iter()
            .filter(move |((k, _), _)| *k == kind)
            .map(|(_, e)| e)
    }

    /// Applies `changes` to entity `id` durably (all or nothing), then to the memory copy.
    /// Any failure poisons the store: memory is only updated after a complete write, and
    /// the disk may already hold part of the change.
    pub(crate) fn commit(
        &mut self,
        kind: Kind,
        id: &str,
        changes: Vec<Change>,
    ) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned {
                dir: self.dir.clone(),
            });
        }
        self.poisoned = true;
        self.write_change(kind, id, &changes)?;
        self.poisoned = false;
        self.apply_memory(kind, id, changes);
        Ok(())
    }

    /// Writes `changes` to disk, through the journal when there are several.
    fn write_change(&self, kind: Kind, id: &str, changes: &[Change]) -> Result<(), Error> {
        if changes.len() < 2 {
            return self.apply_files(kind, id, changes);
        }
        let journal_path = self.dir.join("journal.json");
        let journal = Journal {
            kind,
            id: id.to_string(),
            changes: changes.to_vec(),
        };
        write_json_atomic(
            &journal_path,
            &serde_json::to_value(&journal).map_err(json_err)?,
        )?;
        self.apply_files(kind, id, changes)?;
        fs::remove_file(&journal_path).map_err(|source| Error::Io {
            path: journal_path.clone(),
            source,
        })?;
        sync_dir(&self.dir)
    }

    fn entity_dir(&self, kind: Kind, id: &str) -> PathBuf {
        self.dir.join(kind.dir_name()).join(id)
    }

    fn apply_files(&self, kind: Kind, id: &str, changes: &[Change]) -> Result<(), Error> {
        let dir = self.entity_dir(kind, id);
        create_dir_durable(&dir)?;
        for change in changes {
            match change {
                Change::Master { record } => write_json_atomic(&dir.join("master.json"), record)?,
                Change::Version { number, record } => {
                    write_json_atomic(&dir.join(format!("{number}.json")), record)?
                }
                Change::DeleteVersion { number } => {
                    let path = dir.join(format!("{number}.json"));
                    match fs::remove_file(&path) {
                        Ok(()) => sync_dir(&dir)?,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => return Err(Error::Io { path, source }),
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_memory(&mut self, kind: Kind, id: &str, changes: Vec<Change>) {
        let entity = self.entities.entry((kind, id.to_string())).or_default();
        for change in changes {
            match change {
                Change::Master { record } => entity.master = record,
                Change::Version { number, record } => {
                    entity.versions.insert(number, record);
                }
                Change::DeleteVersion { number } => {
                    entity.versions.remove(&number);
                }
            }
        }
    }

    fn replay_journal(&mut self) -> Result<(), Error> {
        let path = self.dir.join("journal.json");
        let Some(value) = read_json_opt(&path)? else {
            return Ok(());
        };
        let journal: Journal = serde_json::from_value(value).map_err(|source| Error::Corrupt {
            path: path.clone(),
            source,
        })?;
        tracing::warn!(dir = %self.dir.display(), id = %journal.id, "finishing an interrupted change");
        self.apply_files(journal.kind, &journal.id, &journal.changes)?;
        fs::remove_file(&path).map_err(|source| Error::Io { path, source })?;
        sync_dir(&self.dir)
    }

    fn load_kind(&mut self, kind: Kind) -> Result<(), Error> {
        let root = self.dir.join(kind.dir_name());
        let read = match fs::read_dir(&root) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(Error::Io { path: root, source }),
        };
        for entry in read {
            let entry = entry.map_err(|source| Error::Io {
                path: root.clone(),
                source,
            })?;
            let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if let Some(entity) = load_entity(&entry.path())? {
                self.entities.insert((kind, id), entity);
            }
        }
        Ok(())
    }
}

/// Reads one entity directory; `None` when it has no master (never a committed state).
fn load_entity(dir: &Path) -> Result<Option<Entity>, Error> {
    let Some(master) = read_json_opt(&dir.join("master.json"))? else {
        return Ok(None);
    };
    let mut versions = BTreeMap::new();
    let read = fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in read {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue; // master.json, leftover *.tmp files
        };
        if let Some(record) = read_json_opt(&entry.path())? {
            versions.insert(number, record);
        }
    }
    Ok(Some(Entity { master, versions }))
}

fn read_json_opt(path: &Path) -> Result<Option<Value>, Error> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn json_err(source: serde_json::Error) -> Error {
    Error::Io {
        path: PathBuf::from("journal.json"),
        source: std::io::Error::other(source),
    }
}

/// Writes `value` to `path` atomically: temp file, fsync, rename, fsync of the directory.
fn write_json_atomic(path: &Path, value: &Value) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| io(std::io::Error::other(e)))?;
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io)?;
    match path.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Creates `dir` and any missing ancestors, fsyncing each new directory and its parent so the
/// new entries survive a crash.
fn create_dir_durable(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_dir_durable(parent)?;
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    sync_dir(dir)?;
    sync_dir(parent)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    // Directories cannot be opened for syncing on every platform; where they can, a failed
    // sync is a real error.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
