//! The commit log of an object-store destination: `_hygge/log/<version>.json`, one entry per
//! publish, each created by a conditional write so that two runs cannot both take a version.
//!
//! An entry lists the whole committed set of data files after it (so a reader needs only the
//! newest entry), the files it replaced, the schema and the entity's watermark state.

use std::sync::Arc;

use arrow_schema::Schema;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::errors::{object_error, typed_list_error};
use crate::contract::{ConnectorError, RunType};
use crate::state::EntityState;

/// The hidden folder hygge keeps under a destination: the log and the staging area. Readers
/// skip it because it starts with an underscore.
pub const HYGGE_DIR: &str = "_hygge";
const LOG_DIR: &str = "log";
/// Entries kept behind the newest; older ones are removed after a publish. Readers only
/// ever need the newest.
const KEEP_ENTRIES: u64 = 20;

/// The versions of the log entries among `listed` (`<20 digits>.json`, as both hygge's log
/// and Delta's name them), oldest first.
pub(super) fn entry_versions(listed: &[object_store::ObjectMeta]) -> Vec<u64> {
    let mut versions: Vec<u64> = listed
        .iter()
        .filter_map(|meta| meta.location.filename())
        .filter_map(|name| name.strip_suffix(".json"))
        .filter(|digits| digits.len() == 20)
        .filter_map(|digits| digits.parse().ok())
        .collect();
    versions.sort_unstable();
    versions
}

/// One data file of a committed set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Its path under the destination, `/`-separated (`year=2026/part-….parquet`).
    pub path: String,
    /// Rows in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// The run that wrote it (the files of one run are staged under its id).
    pub run_id: String,
    /// Its column statistics as Delta's `stats` JSON (`numRecords`, `minValues`,
    /// `maxValues`, `nullCount`), when the table is a Delta table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
}

/// One entry of the log: what a destination holds after a publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    /// Its place in the log, from 1.
    pub version: u64,
    /// The run that published it.
    pub run_id: String,
    /// Whether it replaced the destination or added to it.
    pub run_type: RunType,
    /// When, UTC, RFC 3339.
    pub committed_at: String,
    /// Every data file of the destination after this commit.
    pub files: Vec<DataFile>,
    /// The files this commit replaced (a full drop's predecessors), removed once it is
    /// published.
    pub removed: Vec<String>,
    /// The columns of the data, when the run knew them.
    pub schema: Option<Schema>,
    /// The entity's watermark state, committed with the data it describes.
    pub state: Option<EntityState>,
    /// Set when the destination is also a Delta table: its partition columns. Making the
    /// commit visible then also writes its Delta log entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<DeltaTable>,
}

/// A destination published as a Delta Lake table (`table_format: delta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaTable {
    /// The Delta partition columns (the store's `partition_by`).
    pub partition_by: Vec<String>,
}

impl Commit {
    /// The files this commit added (those its own run wrote).
    pub fn added(&self) -> impl Iterator<Item = &DataFile> {
        self.files.iter().filter(|f| f.run_id == self.run_id)
    }

    /// Rows in the committed set.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// The log of one destination.
#[derive(Debug, Clone)]
pub struct CommitLog {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    place: String,
    sign_in: String,
}

impl CommitLog {
    /// The log under `root` (the destination prefix); `place` names the destination in
    /// messages (its URL), `sign_in` how the store signs in.
    pub fn new(store: Arc<dyn ObjectStore>, root: &Path, place: &str, sign_in: &str) -> CommitLog {
        CommitLog {
            store,
            dir: root.clone().join(HYGGE_DIR).join(LOG_DIR),
            place: place.to_string(),
            sign_in: sign_in.to_string(),
        }
    }

    fn entry(&self, version: u64) -> Path {
        self.dir.clone().join(format!("{version:020}.json"))
    }

    /// The versions in the log, oldest first.
    async fn versions(&self) -> Result<Vec<u64>, ConnectorError> {
        let listed: Vec<_> = match self.store.list(Some(&self.dir)).try_collect().await {
            Ok(listed) => listed,
            Err(e) => {
                let e = typed_list_error(self.store.as_ref(), &self.entry(0), e).await;
                return Err(object_error(
                    e,
                    "cannot list the commit log of",
                    &self.place,
                    &self.sign_in,
                ));
            }
        };
        Ok(entry_versions(&listed))
    }

    /// The newest entry, `None` when nothing was published here by hygge.
    ///
    /// # Errors
    /// The log cannot be listed or read, or its newest entry is not a hygge commit.
    pub async fn latest(&self) -> Result<Option<Commit>, ConnectorError> {
        let Some(version) = self.versions().await?.last().copied() else {
            return Ok(None);
        };
        let path = self.entry(version);
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(|e| {
                object_error(
                    e,
                    "cannot read the commit log entry",
                    &self.at(&path),
                    &self.sign_in,
                )
            })?
            .bytes()
            .await
            .map_err(|e| {
                object_error(
                    e,
                    "cannot read the commit log entry",
                    &self.at(&path),
                    &self.sign_in,
                )
            })?;
        let commit: Commit = serde_json::from_slice(&bytes).map_err(|e| {
            ConnectorError::data(format!(
                "{} is not a hygge commit log entry: {e}",
                self.at(&path)
            ))
            .with_context(
                "hygge's `_hygge/` folder was changed by hand; restore it or publish to a new path",
            )
        })?;
        if commit.version != version {
            return Err(ConnectorError::data(format!(
                "{} says it is version {}",
                self.at(&path),
                commit.version
            ))
            .with_context(
                "hygge's `_hygge/` folder was changed by hand; restore it or publish to a new path",
            ));
        }
        Ok(Some(commit))
    }

    /// Creates the entry `commit.version` unless it exists: `Ok(false)` when another run
    /// took that version first.
    ///
    /// # Errors
    /// The store refused the write or cannot write conditionally.
    pub async fn create(&self, commit: &Commit) -> Result<bool, ConnectorError> {
        let path = self.entry(commit.version);
        let json = serde_json::to_vec_pretty(commit)
            .map_err(|e| ConnectorError::internal("cannot encode a commit").with_source(e))?;
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(json), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(object_error(
                e,
                "cannot write the commit",
                &self.at(&path),
                &self.sign_in,
            )),
        }
    }

    /// Removes the entries older than the newest [`KEEP_ENTRIES`]; a failure only delays
    /// that to the next publish.
    pub async fn prune(&self, newest: u64) {
        let Ok(versions) = self.versions().await else {
            return;
        };
        for version in versions.into_iter().filter(|v| v + KEEP_ENTRIES < newest) {
            if let Err(e) = self.store.delete(&self.entry(version)).await {
                tracing::debug!(place = %self.place, version, error = %e, "could not prune a commit log entry");
            }
        }
    }

    fn at(&self, path: &Path) -> String {
        format!("{} ({path})", self.place)
    }
}
