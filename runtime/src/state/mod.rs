//! Watermark state: how far each incremental entity has loaded, committed with its data.
//!
//! An entity with a `watermark` reads only the rows whose watermark column is past the
//! last committed value ([`plan`]), the flow keeps the greatest value it wrote ([`rows`]),
//! and the store commits that value in the same step that publishes the rows
//! ([`StateUpdate`], handed to `StoreWriter::commit`). So state lives where the data lives:
//! a hidden file inside a published folder, a `hygge_state` row in a database. A
//! [`StateStore`] reads and resets it for `hygge state` and `hygge reset`.

mod plan;
mod rows;
mod value;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::contract::ConnectorResult;

pub use plan::{BoundPlan, IncrementalPlan, WatermarkSpec};
pub use rows::{MaxTracker, RowFilter, blocks_to_skip};
pub use value::{WatermarkKind, WatermarkValue, parse_duration_micros};

/// The committed state of one entity flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityState {
    /// The flow's name.
    pub flow: String,
    /// The entity's name.
    pub entity: String,
    /// The watermark column.
    pub column: String,
    /// The greatest value loaded so far, as text; `None` after `hygge reset`, which makes
    /// the next run a full reload.
    pub watermark: Option<String>,
    /// The column's Arrow type when the value was taken (`Timestamp(µs, "UTC")`, …).
    pub data_type: String,
    /// The run that committed this state.
    pub run_id: String,
    /// When it was committed, UTC, RFC 3339.
    pub committed_at: String,
}

impl EntityState {
    /// Whether this state asks for a full reload (it was reset).
    pub fn is_reset(&self) -> bool {
        self.watermark.is_none()
    }

    /// The state `hygge reset` leaves: no watermark, so the next run reloads everything
    /// and replaces the destination.
    pub fn reset_marker(flow: &str, entity: &str, run_id: &str) -> EntityState {
        EntityState {
            flow: flow.to_string(),
            entity: entity.to_string(),
            column: String::new(),
            watermark: None,
            data_type: String::new(),
            run_id: run_id.to_string(),
            committed_at: crate::run_id::utc_now_rfc3339(),
        }
    }
}

/// What a store commits beside the data: the entity's new state, and the state the run
/// started from. A store refuses to commit (a retryable connection error) when the state
/// at the destination is no longer `previous`: another run committed in between, and this
/// run's rows may overlap its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUpdate {
    /// The state read when the run began (`None`: there was none).
    pub previous: Option<EntityState>,
    /// The state to commit with the data.
    pub next: EntityState,
}

/// Where a store keeps state, for the flow (read before a run) and for `hygge state` and
/// `hygge reset`.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The committed state of `flow`.`entity`, if any.
    ///
    /// # Errors
    /// A connection error when the destination cannot be reached, a data error when the
    /// state there cannot be read.
    async fn read(&self, flow: &str, entity: &str) -> ConnectorResult<Option<EntityState>>;

    /// Marks `flow`.`entity` for a full reload that replaces its destination on its next
    /// run; `true` when it had a watermark.
    ///
    /// # Errors
    /// As [`StateStore::read`].
    async fn reset(&self, flow: &str, entity: &str, run_id: &str) -> ConnectorResult<bool>;

    /// Where the state lives, for messages (`<folder>/.hygge-state.json`, a table name).
    fn location(&self) -> String;
}

/// Whether the destination's state is still the one a run started from: the same
/// watermark committed by the same run (or no state on both sides).
pub fn unchanged(expected: Option<&EntityState>, found: Option<&EntityState>) -> bool {
    match (expected, found) {
        (None, None) => true,
        (Some(a), Some(b)) => a.watermark == b.watermark && a.run_id == b.run_id,
        _ => false,
    }
}
