//! Watermark state of a folder store: `.hygge-state.json` inside the published folder.
//!
//! Readers skip dot-files, so the state is invisible to them; because it lives inside the
//! folder, the exchange that publishes a new set of files publishes its state with it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::folder::{io_error, lock_destination};
use crate::contract::{ConnectorError, ConnectorResult};
use crate::state::{EntityState, StateStore};

/// The state file's name inside a published folder.
pub const STATE_FILE: &str = ".hygge-state.json";

/// The state published in `folder`, if any.
///
/// # Errors
/// A data error naming the file when it exists and is not hygge state.
pub fn read_state_file(folder: &Path) -> Result<Option<EntityState>, ConnectorError> {
    let path = folder.join(STATE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e, format!("cannot read {}", path.display()))),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        ConnectorError::data(format!(
            "{} is not hygge watermark state: {e}",
            path.display()
        ))
        .with_context("remove the file to load the entity from the start")
    })
}

/// Writes `state` into `folder` (a staging folder, or a published one under its lock) by
/// a rename, so the file is never seen half written.
///
/// # Errors
/// An I/O error naming the file.
pub fn write_state_file(folder: &Path, state: &EntityState) -> Result<(), ConnectorError> {
    let path = folder.join(STATE_FILE);
    let temp = folder.join(format!("{STATE_FILE}.tmp"));
    let fail = |e: io::Error| io_error(e, format!("cannot write {}", path.display()));
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| ConnectorError::internal("cannot encode watermark state").with_source(e))?;
    let mut file = fs::File::create(&temp).map_err(fail)?;
    file.write_all(&json).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    fs::rename(&temp, &path).map_err(fail)
}

/// The state of a folder store, for the flow and for `hygge state` / `hygge reset`.
#[derive(Debug, Clone)]
pub struct FolderState {
    destination: PathBuf,
}

impl FolderState {
    /// The state of the folder `destination`.
    pub fn new(destination: impl Into<PathBuf>) -> FolderState {
        FolderState {
            destination: destination.into(),
        }
    }
}

#[async_trait]
impl StateStore for FolderState {
    async fn read(&self, flow: &str, entity: &str) -> ConnectorResult<Option<EntityState>> {
        let destination = self.destination.clone();
        let state = tokio::task::spawn_blocking(move || read_state_file(&destination))
            .await
            .map_err(|e| ConnectorError::internal(format!("state task failed: {e}")))??;
        if let Some(s) = &state
            && (s.flow != flow || s.entity != entity)
        {
            tracing::warn!(folder = %self.destination.display(), committed_by = %format!("{}.{}", s.flow, s.entity), "the folder's watermark was committed under another flow or entity name; using it");
        }
        Ok(state)
    }

    async fn reset(&self, flow: &str, entity: &str, run_id: &str) -> ConnectorResult<bool> {
        let destination = self.destination.clone();
        let marker = EntityState::reset_marker(flow, entity, run_id);
        tokio::task::spawn_blocking(move || {
            if !destination.is_dir() {
                return Ok(false);
            }
            let _lock = lock_destination(&destination)?;
            let had = read_state_file(&destination)?.is_some_and(|s| !s.is_reset());
            write_state_file(&destination, &marker)?;
            Ok(had)
        })
        .await
        .map_err(|e| ConnectorError::internal(format!("state task failed: {e}")))?
    }

    fn location(&self) -> String {
        self.destination.join(STATE_FILE).display().to_string()
    }
}
