//! `snapshot()`: read the live state the planner needs, with as few requests as possible
//! (two lists, then one version read per desired resource; more only for changed ones).

use super::{Client, Error, MasterSummary};
use crate::load::Desired;
use crate::model::{self, Kind};
use futures::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One entry of a versions list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionSummary {
    /// Version number.
    pub version: u32,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// What is live for one id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveResource {
    /// The master as listed.
    pub master: Option<MasterSummary>,
    /// The published version, as read.
    pub published: Option<Value>,
    /// The latest version when it is not the published one (read only when needed).
    pub latest: Option<Value>,
    /// All versions (read only when needed).
    pub versions: Option<Vec<VersionSummary>>,
    /// Why the details could not be read (the resource is then left alone).
    pub error: Option<String>,
}

/// The live state of every master, with details for the ones that matter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Live {
    /// By kind and id.
    pub resources: BTreeMap<(Kind, String), LiveResource>,
}

impl Live {
    /// Whether an id exists live.
    pub fn exists(&self, kind: Kind, id: &str) -> bool {
        self.resources
            .get(&(kind, id.to_string()))
            .is_some_and(|r| r.master.is_some())
    }
}

impl Client {
    /// Reads what the planner needs for `desired`; with `prune`, also the versions of the
    /// owner's resources that are no longer desired.
    pub async fn snapshot(
        &self,
        desired: &[Desired],
        owner: &str,
        prune: bool,
    ) -> Result<Live, Error> {
        let (flows, prompts) = tokio::join!(self.list(Kind::Flow), self.list(Kind::PromptTemplate));
        let mut live = Live::default();
        for (kind, masters) in [(Kind::Flow, flows?), (Kind::PromptTemplate, prompts?)] {
            for m in masters {
                live.resources.insert(
                    (kind, m.id.clone()),
                    LiveResource {
                        master: Some(m),
                        ..Default::default()
                    },
                );
            }
        }
        self.fill_unlisted(&mut live, desired).await?;
        let reads = desired.iter().filter_map(|d| {
            let master = live
                .resources
                .get(&(d.kind, d.id.clone()))?
                .master
                .clone()?;
            Some(async move { (d.kind, d.id.clone(), self.details(d, &master).await) })
        });
        for (kind, id, details) in join_all(reads).await {
            let slot = live.resources.entry((kind, id)).or_default();
            match details {
                Ok((published, latest, versions)) => {
                    (slot.published, slot.latest, slot.versions) = (published, latest, versions)
                }
                // Without credentials nothing works: stop. Anything else fails this resource only.
                Err(e) if matches!(e.category(), "Unauthorized" | "Forbidden") => return Err(e),
                Err(e) => slot.error = Some(e.to_string()),
            }
        }
        if prune {
            let orphans = crate::plan::owned_orphans(desired, &live, owner);
            let deleting: Vec<(Kind, String)> = orphans
                .into_iter()
                .filter(|key| {
                    let tags = live.resources[key]
                        .master
                        .as_ref()
                        .map(|m| m.tags.as_slice())
                        .unwrap_or_default();
                    model::policy_from_tags(tags.iter().map(String::as_str))
                        == model::DeletionPolicy::Delete
                })
                .collect();
            let reads = deleting.iter().map(|(kind, id)| self.versions(*kind, id));
            for (key, versions) in deleting.iter().zip(join_all(reads).await) {
                if let Some(slot) = live.resources.get_mut(key) {
                    slot.versions = Some(versions?);
                }
            }
        }
        Ok(live)
    }

    /// Reads the published (else latest) version; when it differs from the desired
    /// content, also the versions list and the latest version.
    async fn details(
        &self,
        d: &Desired,
        master: &MasterSummary,
    ) -> Result<(Option<Value>, Option<Value>, Option<Vec<VersionSummary>>), Error> {
        let first = master.published_version.or(master.latest_version);
        let Some(first) = first else {
            return Ok((None, None, None));
        };
        let read = self.version(d.kind, &d.id, first).await;
        let read = match read {
            Ok(v) => Some(v),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let published = read.clone().filter(|_| master.published_version.is_some());
        let same = read
            .as_ref()
            .is_some_and(|v| model::same_content(d.kind, v, &d.normalized));
        // With `publish: false` the latest version must match: a newer draft matters.
        if same
            && published.is_some()
            && (d.publish || master.latest_version == master.published_version)
        {
            return Ok((published, None, None));
        }
        let versions = self.versions(d.kind, &d.id).await?;
        // The master's counter names the latest version; the list (one 1 MB page, text
        // ordered) may not show it. The counter can point at a deleted number (§4.3).
        let latest = match master.latest_version {
            Some(n) if Some(n) == master.published_version => None,
            Some(n) if n == first => read,
            Some(n) => match self.version(d.kind, &d.id, n).await {
                Ok(v) => Some(v),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((published, latest, Some(versions)))
    }

    /// A list holds at most one 1 MB page and says nothing when it was cut (§4.9), and
    /// how much JSON a full page makes varies: every desired id a list does not show is
    /// looked up on its own, so that an existing resource is never taken for a new one.
    async fn fill_unlisted(&self, live: &mut Live, desired: &[Desired]) -> Result<(), Error> {
        let missing: Vec<&Desired> = desired
            .iter()
            .filter(|d| !live.exists(d.kind, &d.id))
            .collect();
        let lookups = missing.iter().map(|d| async move {
            match d.kind {
                Kind::Flow => self.flow_master(&d.id).await,
                Kind::PromptTemplate => self.prompt_master_from_versions(&d.id).await,
            }
        });
        for (d, master) in missing.iter().zip(join_all(lookups).await) {
            if let Some(m) = master? {
                let resource = LiveResource {
                    master: Some(m),
                    ..Default::default()
                };
                live.resources.insert((d.kind, d.id.clone()), resource);
            }
        }
        Ok(())
    }

    /// Prompt masters cannot be read (the route is not deployed): rebuild one from the
    /// versions list, whose entries carry name and tags.
    async fn prompt_master_from_versions(&self, id: &str) -> Result<Option<MasterSummary>, Error> {
        let path = format!("/allma/prompt-templates/{id}/versions");
        let list = self.send(reqwest::Method::GET, &path, None).await?;
        let Some(items) = list.as_array().filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let number = |v: &Value| model::version_number(v).unwrap_or(0);
        let latest = items
            .iter()
            .max_by_key(|v| number(v))
            .cloned()
            .unwrap_or_default();
        let published = items
            .iter()
            .find(|v| v.get("isPublished") == Some(&Value::Bool(true)));
        Ok(Some(MasterSummary {
            id: id.to_string(),
            name: latest
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string(),
            description: latest
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            tags: serde_json::from_value(latest.get("tags").cloned().unwrap_or_default())
                .unwrap_or_default(),
            latest_version: Some(number(&latest)),
            published_version: published.map(number),
        }))
    }
}
