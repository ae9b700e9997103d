//! Staging a run's files on an object store and publishing them with one conditional write.
//!
//! 1. The store uploads each data file under `_hygge/staging/<run id>/`, a hidden prefix.
//! 2. [`ObjectStaging::commit`] creates the entry after the one the run opened on, with
//!    `PutMode::Create`: that write is the commit. Two runs that opened on one version
//!    cannot both publish; the loser removes its files and fails (a config error: two
//!    writers share a destination), or is retried when its watermark moved.
//! 3. [`finish`] makes the commit visible to plain readers: it copies the staged files to
//!    their names (a server-side copy), removes the files the commit replaced, then the
//!    staging prefix. It is idempotent, and whoever reads or writes the destination next
//!    finishes a commit whose run crashed before it had.
//!
//! Staging left by runs that crashed before committing is hidden from every reader and
//! removed by a later run once it is older than [`STALE_STAGING_SECS`] by run ids, which
//! start with their UTC time: a run still uploading is never mistaken for a dead one.

use std::collections::BTreeSet;

use arrow_schema::Schema;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::delta::{DeltaLog, delta_schema};
use super::destination::ObjectDestination;
use super::errors::object_error;
use super::log::{Commit, DataFile, DeltaTable};
use crate::contract::{ConnectorError, RunType};
use crate::state::{StateUpdate, unchanged};

/// How much older than the current run another run's staging must be to count as left by a
/// crash (a day: longer than any run that is still uploading).
pub const STALE_STAGING_SECS: i64 = 24 * 60 * 60;

/// Server-side copies a finish runs at once: a run of many files (partitions) is made
/// visible in about the time of its largest file, not of all of them in turn.
const COPIES_AT_ONCE: usize = 8;

/// The files one run stages for a destination, until it commits or aborts.
#[derive(Debug)]
pub struct ObjectStaging {
    destination: ObjectDestination,
    run_id: String,
    run_type: RunType,
    published: Option<Commit>,
    staged: Vec<DataFile>,
    delta: Option<DeltaTable>,
}

impl ObjectStaging {
    /// Opens `destination` for `run_id`: finishes a commit a crashed run left half visible,
    /// and removes stale staging of runs that never committed.
    ///
    /// # Errors
    /// The log cannot be read or the store refuses the cleanup.
    pub async fn open(
        destination: ObjectDestination,
        run_id: &str,
        run_type: RunType,
    ) -> Result<ObjectStaging, ConnectorError> {
        let published = destination.log().latest().await?;
        if let Some(commit) = &published {
            finish(&destination, commit).await?;
        }
        remove_stale_staging(&destination, run_id, published.as_ref()).await?;
        Ok(ObjectStaging {
            destination,
            run_id: run_id.to_string(),
            run_type,
            published,
            staged: Vec::new(),
            delta: None,
        })
    }

    /// Publishes the run as a Delta table too: each commit also writes a Delta log entry.
    #[must_use]
    pub fn as_delta(mut self, table: DeltaTable) -> Self {
        self.delta = Some(table);
        self
    }

    /// The destination.
    pub fn destination(&self) -> &ObjectDestination {
        &self.destination
    }

    /// The data files published when the run opened.
    pub fn published_files(&self) -> &[DataFile] {
        self.published.as_ref().map_or(&[], |c| &c.files)
    }

    /// The newest commit when the run opened.
    pub fn published(&self) -> Option<&Commit> {
        self.published.as_ref()
    }

    /// Where to upload the data file that will be published at `relative`.
    ///
    /// # Errors
    /// `relative` is not a valid object path.
    pub fn staged_path(&self, relative: &str) -> Result<Path, ConnectorError> {
        self.destination.staged(&self.run_id, relative)
    }

    /// Records a data file uploaded to [`Self::staged_path`]`(relative)`, with its Delta
    /// statistics when it has them.
    pub fn add_file(
        &mut self,
        relative: impl Into<String>,
        rows: u64,
        bytes: u64,
        stats: Option<String>,
    ) {
        self.staged.push(DataFile {
            path: relative.into(),
            rows,
            bytes,
            run_id: self.run_id.clone(),
            stats,
        });
    }

    /// Publishes the staged files with `state` (see [`crate::publish::StagedDir::commit`]
    /// for what `None` means) and `schema`; the version committed.
    ///
    /// # Errors
    /// A connection error (retried) when the published state is no longer
    /// `state.previous`; a config error when another run took the version first. Either
    /// way this run's files are removed and the destination is as it was.
    pub async fn commit(
        self,
        state: Option<&StateUpdate>,
        schema: Option<Schema>,
    ) -> Result<u64, ConnectorError> {
        let commit = match self.prepare(state, schema).await {
            Ok(commit) => commit,
            Err(refused) => {
                self.remove_staging().await?;
                return Err(refused);
            }
        };
        finish(&self.destination, &commit).await?;
        self.destination.log().prune(commit.version).await;
        Ok(commit.version)
    }

    /// Creates the entry after the one the run opened on: the commit itself. A run loses
    /// when anything was published since it opened (a watermark that moved is retried, from
    /// the new watermark). Nothing is visible to plain readers yet; [`finish`] does that.
    pub(super) async fn prepare(
        &self,
        state: Option<&StateUpdate>,
        schema: Option<Schema>,
    ) -> Result<Commit, ConnectorError> {
        let log = self.destination.log();
        let latest = log.latest().await?;
        if self.delta.is_some() {
            // Checked before the commit: a failure while making it visible would stop every
            // later run at the same place.
            self.check_delta(latest.as_ref(), schema.as_ref()).await?;
        }
        let published_state = latest.as_ref().and_then(|c| c.state.clone());
        if let Some(update) = state
            && !unchanged(update.previous.as_ref(), published_state.as_ref())
        {
            return Err(ConnectorError::connection(format!(
                "the watermark state of {} changed while this run was reading; \
                 reading again from the new watermark",
                self.destination.place()
            )));
        }
        let opened_at = self.published.as_ref().map(|c| c.version);
        if latest.as_ref().map(|c| c.version) != opened_at {
            return Err(self.conflict(latest.as_ref()));
        }
        let next_state = match state {
            Some(update) => Some(update.next.clone()),
            None if self.run_type == RunType::Incremental => published_state,
            None => None,
        };
        let new_paths: BTreeSet<&str> = self.staged.iter().map(|f| f.path.as_str()).collect();
        let previous = latest.as_ref().map_or(&[][..], |c| &c.files[..]);
        let (files, removed) = match self.run_type {
            RunType::FullDrop => (
                self.staged.clone(),
                previous
                    .iter()
                    .filter(|f| !new_paths.contains(f.path.as_str()))
                    .map(|f| f.path.clone())
                    .collect(),
            ),
            RunType::Incremental => {
                let mut files: Vec<DataFile> = previous
                    .iter()
                    .filter(|f| !new_paths.contains(f.path.as_str()))
                    .cloned()
                    .collect();
                files.extend(self.staged.iter().cloned());
                (files, Vec::new())
            }
        };
        let commit = Commit {
            version: opened_at.map_or(1, |v| v + 1),
            run_id: self.run_id.clone(),
            run_type: self.run_type,
            committed_at: crate::run_id::utc_now_rfc3339(),
            files,
            removed,
            schema,
            state: next_state,
            delta: self.delta.clone(),
        };
        if log.create(&commit).await? {
            return Ok(commit);
        }
        Err(self.conflict(log.latest().await?.as_ref()))
    }

    /// Whether this run can publish as a Delta table: its columns have Delta types, and a
    /// `_delta_log` already there was written by hygge's commits here.
    async fn check_delta(
        &self,
        latest: Option<&Commit>,
        schema: Option<&Schema>,
    ) -> Result<(), ConnectorError> {
        if let Some(schema) = schema {
            delta_schema(schema).map_err(|m| {
                ConnectorError::config(format!("{}: {m}", self.destination.place()))
                    .with_context("`table_format: delta`")
            })?;
        }
        let hygge_wrote_it = latest.is_some_and(|c| c.delta.is_some());
        if !hygge_wrote_it && DeltaLog::new(&self.destination).has_entries().await? {
            return Err(ConnectorError::config(format!(
                "{} already holds a Delta table that hygge's commits did not write",
                self.destination.place()
            ))
            .with_context("give hygge's Delta table a path of its own"));
        }
        Ok(())
    }

    /// The error of a run that lost the race to publish: `winner` committed after this run
    /// opened the destination.
    fn conflict(&self, winner: Option<&Commit>) -> ConnectorError {
        let by = winner
            .map(|c| format!(" (version {} by run {})", c.version, c.run_id))
            .unwrap_or_default();
        ConnectorError::config(format!(
            "another run published {} while this one was writing it{by}; this run published nothing",
            self.destination.place()
        ))
        .with_context("two flows or two hygge processes write one destination: give each its own path, or run them one after the other")
    }

    /// Removes this run's staged files; the destination is untouched.
    ///
    /// # Errors
    /// The store refused the deletes (the files stay hidden, and a later run removes them).
    pub async fn abort(self) -> Result<(), ConnectorError> {
        self.remove_staging().await
    }

    async fn remove_staging(&self) -> Result<(), ConnectorError> {
        remove_prefix(
            &self.destination,
            &self.destination.staging_of(&self.run_id),
        )
        .await
    }
}

/// Makes `commit` visible to plain readers: copies the files its run staged to their names,
/// removes the files it replaced, then its staging. Safe to repeat and to run twice at once;
/// a commit whose staging is gone is finished.
///
/// # Errors
/// A copy or delete the store refused; the next reader or writer finishes the commit.
pub async fn finish(
    destination: &ObjectDestination,
    commit: &Commit,
) -> Result<(), ConnectorError> {
    let staging = destination.staging_of(&commit.run_id);
    let staged = destination.list(&staging).await?;
    if staged.is_empty() {
        return Ok(());
    }
    let store = destination.store();
    let mut copies = Vec::new();
    for file in commit.added() {
        let from = destination.staged(&commit.run_id, &file.path)?;
        if !staged.iter().any(|m| m.location == from) {
            // Copied and removed from staging by an earlier, interrupted finish.
            continue;
        }
        copies.push((from, destination.visible(&file.path)?));
    }
    let mut copying = futures_util::stream::iter(copies)
        .map(|(from, to)| async move { store.copy(&from, &to).await })
        .buffer_unordered(COPIES_AT_ONCE);
    while let Some(copied) = copying.next().await {
        match copied {
            // Another finish of the same commit removes staging only after copying every
            // file: this one is published.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(object_error(
                    e,
                    "cannot publish a file of",
                    destination.place(),
                    &destination.sign_in(),
                ));
            }
        }
    }
    if let Some(table) = &commit.delta {
        DeltaLog::new(destination)
            .publish(commit, &table.partition_by)
            .await?;
    }
    // A Delta table keeps the files a full drop replaced: its older versions still name
    // them (Delta readers time-travel to them), as Spark's and delta-rs' overwrites do.
    let replaced = match commit.delta {
        Some(_) => &[][..],
        None => &commit.removed[..],
    };
    for path in replaced {
        let path = destination.visible(path)?;
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(object_error(
                    e,
                    "cannot remove a replaced file of",
                    destination.place(),
                    &destination.sign_in(),
                ));
            }
        }
    }
    remove_prefix(destination, &staging).await
}

/// Deletes every object under `prefix`.
async fn remove_prefix(
    destination: &ObjectDestination,
    prefix: &Path,
) -> Result<(), ConnectorError> {
    for meta in destination.list(prefix).await? {
        match destination.store().delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(object_error(
                    e,
                    "cannot remove staged files of",
                    destination.place(),
                    &destination.sign_in(),
                ));
            }
        }
    }
    if let Some(folder) = destination.local_folder(prefix) {
        // A local file system keeps the emptied folders, which would read as staging.
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::debug!(folder = %folder.display(), error = %e, "could not remove an emptied staging folder")
            }
        }
    }
    Ok(())
}

/// Removes the staging of runs that started [`STALE_STAGING_SECS`] or more before `run_id`
/// and are not the newest commit's (which [`finish`] handles).
async fn remove_stale_staging(
    destination: &ObjectDestination,
    run_id: &str,
    newest: Option<&Commit>,
) -> Result<(), ConnectorError> {
    let Some(now) = run_started(run_id) else {
        return Ok(());
    };
    let root = destination.staging_root();
    let listing = destination
        .store()
        .list_with_delimiter(Some(&root))
        .await
        .map_err(|e| {
            object_error(
                e,
                "cannot list the staging area of",
                destination.place(),
                &destination.sign_in(),
            )
        })?;
    for prefix in listing.common_prefixes {
        let Some(other) = prefix.filename() else {
            continue;
        };
        if other == run_id || newest.is_some_and(|c| c.run_id == other) {
            continue;
        }
        if run_started(other).is_some_and(|then| now - then >= STALE_STAGING_SECS) {
            tracing::info!(place = %destination.place(), run = other, "removing files staged by a run that never committed");
            remove_prefix(destination, &prefix).await?;
        }
    }
    Ok(())
}

/// The start of a run, in seconds since 1970, from its id (`20261130T164100Z-3f9a1c`).
fn run_started(run_id: &str) -> Option<i64> {
    let stamp = run_id.get(..16)?;
    let digits = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<i64>().ok();
    if stamp.as_bytes().get(8) != Some(&b'T') || stamp.as_bytes().get(15) != Some(&b'Z') {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    Some(
        crate::run_id::days_from_civil(year, month, day) * 86_400
            + hour * 3600
            + minute * 60
            + second,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_give_their_start() {
        let a = run_started("20261130T164100Z-3f9a1c").unwrap();
        let b = run_started("20261201T164100Z-000000").unwrap();
        assert_eq!(b - a, 86_400);
        assert_eq!(run_started("19700101T000010Z-aaaaaa"), Some(10));
        assert_eq!(run_started("not-a-run"), None);
        assert_eq!(run_started("20261130X164100Z-3f9a1c"), None);
    }
}
