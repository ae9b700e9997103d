//! The write side of the contract: a [`Store`] opens into a [`StoreWriter`], which ends in
//! exactly one of `commit` or `abort`.

use std::fmt;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{ConnectorResult, OnSchemaChange, ParquetFiles};
use crate::state::StateUpdate;

/// How a run treats data already at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunType {
    /// The destination ends as exactly this run's data, swapped in atomically.
    #[default]
    FullDrop,
    /// This run's data is added beside what is there; nothing is overwritten.
    Incremental,
}

impl fmt::Display for RunType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunType::FullDrop => "full_drop",
            RunType::Incremental => "incremental",
        })
    }
}

/// What a store needs to know about the run it is part of.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Unique for each `hygge go`, sortable by time; used in staging and file names.
    pub run_id: String,
    /// The flow's name.
    pub flow: String,
    /// The entity's name.
    pub entity: String,
    /// Full drop or incremental.
    pub run_type: RunType,
    /// What an incremental run does when the source's columns differ from the destination's.
    pub on_schema_change: OnSchemaChange,
    /// Whether the run reloads an entity with a watermark in full (a full run, or the
    /// first after `hygge reset`): the destination's rows are replaced whatever a SQL
    /// store's `if_exists` says, so nothing is doubled.
    pub reload: bool,
    /// The watermark column, when the entity has one: a merge keeps, of the rows loaded
    /// for one key, those with the greatest value.
    pub watermark_column: Option<String>,
}

/// A destination for one entity. Built fresh for every attempt of a flow.
#[async_trait]
pub trait Store: Send {
    /// Prepares staging for a run that writes batches of `schema`. Cleans up stale staging
    /// left by crashed runs.
    ///
    /// # Errors
    /// A config error when the destination cannot be used, a connection error when it cannot
    /// be reached.
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>>;
}

/// An open store. Nothing it writes is visible until [`StoreWriter::commit`].
#[async_trait]
pub trait StoreWriter: Send {
    /// The rows per batch this store wants; the flow re-chunks to it. `None`: any size.
    fn batch_size(&self) -> Option<usize>;

    /// Stages one batch.
    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()>;
    /// Stages the rows of `files` by reading them itself, when it can do so faster than it
    /// takes batches and with the same result: `Some(rows)` once they are staged. `None`,
    /// the default: the store declined, has staged nothing, and takes batches as usual.
    ///
    /// # Errors
    /// As [`StoreWriter::write`]: the flow then aborts the store.
    async fn load_parquet_files(&mut self, _files: &ParquetFiles) -> ConnectorResult<Option<u64>> {
        Ok(None)
    }

    /// Whether committing now would replace data that earlier runs published. The flow asks
    /// when a full run found no rows: zero rows never replace data unless the entity says
    /// `allow_empty: true`. A store that only adds rows (an append) answers `false`; one
    /// that cannot tell answers `true`.
    async fn would_replace_data(&mut self) -> ConnectorResult<bool>;

    /// Publishes everything written, and with it the entity's new watermark state when
    /// `state` is given (a store without state is never handed one).
    ///
    /// # Atomicity
    /// A reader sees the old data or the new, never a mix, whenever the process stops, and
    /// the state committed always describes the data published: both change in one step.
    ///
    /// # Errors
    /// A connection error (retried) when the destination's state is no longer
    /// `state.previous`: another run committed after this one read it.
    async fn commit(self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()>;

    /// Throws away everything written; the destination is left as it was.
    async fn abort(self: Box<Self>) -> ConnectorResult<()>;
}

/// The check every store makes on each batch: it has the columns the store was opened
/// with, or the write is a data error (never a silently misaligned file or table).
///
/// # Errors
/// A data error naming both column lists.
pub fn check_batch_schema(opened: &SchemaRef, batch: &RecordBatch) -> ConnectorResult<()> {
    if batch.schema().fields() == opened.fields() {
        return Ok(());
    }
    let names = |s: &SchemaRef| {
        s.fields()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(super::ConnectorError::data(format!(
        "a batch's columns ({}) differ from those the store was opened with ({})",
        names(&batch.schema()),
        names(opened)
    )))
}
