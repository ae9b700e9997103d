//! Where a file store writes until it commits: a staging folder beside a local destination
//! ([`StagedDir`]), or a run's staging prefix on an object store ([`ObjectStaging`]). Both
//! publish atomically through the runtime's publish layer.

use std::path::{Path, PathBuf};

use arrow_schema::Schema;
use hygge_runtime::contract::{ConnectorError, ConnectorResult, RunType};
use hygge_runtime::publish::objects::{DeltaTable, ObjectDestination, ObjectStaging};
use hygge_runtime::publish::{StagedDir, holds_data};
use hygge_runtime::state::StateUpdate;
use tokio::runtime::Handle;

use super::file_writer::{FileSink, LocalSink};
use super::object_sink::ObjectSink;

/// Where a file store publishes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local folder, swapped in whole.
    Folder(PathBuf),
    /// A prefix on an object store, published through its commit log.
    Objects(ObjectDestination),
}

impl Target {
    /// The destination as users wrote it.
    pub fn describe(&self) -> String {
        match self {
            Target::Folder(path) => path.display().to_string(),
            Target::Objects(destination) => destination.place().to_string(),
        }
    }
}

/// One run's staging, for either kind of target. Every method runs on a blocking thread.
pub enum Staged {
    /// A local staging folder.
    Folder(StagedDir),
    /// An object-store staging prefix.
    Objects(Box<ObjectStaging>),
}

/// Runs `future` to its end from a blocking thread of the runtime.
fn wait<T>(future: impl Future<Output = ConnectorResult<T>>) -> ConnectorResult<T> {
    let runtime = Handle::try_current()
        .map_err(|e| ConnectorError::internal(format!("no runtime for an upload: {e}")))?;
    runtime.block_on(future)
}

impl Staged {
    /// Opens `target` for `run_id`; `delta` publishes an object-store target as a Delta
    /// table too.
    ///
    /// # Errors
    /// See [`StagedDir::open`] and [`ObjectStaging::open`].
    pub fn open(
        target: &Target,
        run_id: &str,
        run_type: RunType,
        delta: Option<DeltaTable>,
    ) -> ConnectorResult<Staged> {
        Ok(match target {
            Target::Folder(path) => Staged::Folder(StagedDir::open(path, run_id, run_type)?),
            Target::Objects(destination) => {
                let staging = wait(ObjectStaging::open(destination.clone(), run_id, run_type))?;
                Staged::Objects(Box::new(match delta {
                    Some(table) => staging.as_delta(table),
                    None => staging,
                }))
            }
        })
    }

    /// The destination, for messages.
    pub fn describe(&self) -> String {
        match self {
            Staged::Folder(staged) => staged.destination().display().to_string(),
            Staged::Objects(staging) => staging.destination().place().to_string(),
        }
    }

    /// The published data files, relative to the destination.
    ///
    /// # Errors
    /// The destination cannot be listed.
    pub fn published_files(&self) -> ConnectorResult<Vec<PathBuf>> {
        match self {
            Staged::Folder(staged) => staged.published_files().map_err(|e| {
                ConnectorError::internal(format!(
                    "cannot list {}: {e}",
                    staged.destination().display()
                ))
            }),
            Staged::Objects(staging) => Ok(staging
                .published_files()
                .iter()
                .map(|f| PathBuf::from(&f.path))
                .collect()),
        }
    }

    /// The columns the published files have, when the object store's log recorded them
    /// (local folders read their newest file instead).
    pub fn published_schema(&self) -> Option<Schema> {
        match self {
            Staged::Folder(_) => None,
            Staged::Objects(staging) => staging.published().and_then(|c| c.schema.clone()),
        }
    }

    /// Whether publishing would replace data readers see now.
    ///
    /// # Errors
    /// The local destination cannot be listed.
    pub fn holds_data(&self) -> ConnectorResult<bool> {
        match self {
            Staged::Folder(staged) => holds_data(staged.destination()),
            Staged::Objects(staging) => Ok(!staging.published_files().is_empty()),
        }
    }

    /// A new file at `relative` (`year=2026/part-1.parquet`).
    ///
    /// # Errors
    /// The file or upload cannot be started.
    pub fn create(&self, relative: &Path) -> std::io::Result<Box<dyn FileSink>> {
        match self {
            Staged::Folder(staged) => {
                let path = staged.path().join(relative);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Ok(Box::new(LocalSink::create(&path)?))
            }
            Staged::Objects(staging) => {
                let path = staging
                    .staged_path(&relative.to_string_lossy())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                Ok(Box::new(ObjectSink::start(
                    staging.destination().store(),
                    &path,
                )?))
            }
        }
    }

    /// Records a completed file: its rows, size and Delta statistics, for the commit log.
    pub fn completed(&mut self, relative: &Path, rows: u64, bytes: u64, stats: Option<String>) {
        if let Staged::Objects(staging) = self {
            staging.add_file(relative.to_string_lossy(), rows, bytes, stats);
        }
    }

    /// Publishes the staged files with `state`, atomically.
    ///
    /// # Errors
    /// See [`StagedDir::commit`] and [`ObjectStaging::commit`].
    pub fn commit(self, state: Option<&StateUpdate>, schema: &Schema) -> ConnectorResult<()> {
        match self {
            Staged::Folder(staged) => staged.commit(state),
            Staged::Objects(staging) => {
                wait((*staging).commit(state, Some(schema.clone()))).map(|_| ())
            }
        }
    }

    /// Removes the staged files; the destination is untouched.
    ///
    /// # Errors
    /// The staged files could not be removed (a later run removes them).
    pub fn abort(self) -> ConnectorResult<()> {
        match self {
            Staged::Folder(staged) => staged.abort(),
            Staged::Objects(staging) => wait((*staging).abort()),
        }
    }
}
