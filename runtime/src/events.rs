//! Typed events from running flows. Progress bars, log lines and `--json` all read these;
//! connectors never print.

use std::time::Duration;

use serde::Serialize;

use crate::contract::ErrorKind;

/// Something that happened in an entity flow.
#[derive(Debug, Clone)]
pub enum FlowEvent {
    /// The flow got a concurrency slot and began.
    Started {
        /// `flow.entity`.
        name: String,
    },
    /// The home is open; `total_rows` is what it will yield at most, when it knows.
    Opened {
        /// `flow.entity`.
        name: String,
        /// Rows the home holds, from its metadata.
        total_rows: Option<u64>,
    },
    /// A batch reached the store; `rows` is the running total of this attempt.
    BatchWritten {
        /// `flow.entity`.
        name: String,
        /// Rows written so far in this attempt.
        rows: u64,
    },
    /// An attempt failed with a transient error and will be tried again.
    Retrying {
        /// `flow.entity`.
        name: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// How long until the next attempt.
        delay: Duration,
        /// Why.
        error: String,
    },
    /// The flow ended (committed, failed or skipped).
    Finished(FlowReport),
}

/// The outcome of one entity flow, as shown in the summary and in `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    /// The flow's name.
    pub flow: String,
    /// The entity's name.
    pub entity: String,
    /// What happened.
    pub status: FlowStatus,
    /// Rows committed (0 unless succeeded).
    pub rows: u64,
    /// Wall time of the flow, all attempts included.
    pub seconds: f64,
    /// Attempts made.
    pub attempts: u32,
    /// The error, when it failed.
    pub error: Option<FlowErrorReport>,
}

impl FlowReport {
    /// `flow.entity`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.flow, self.entity)
    }

    /// Rows per second, 0 when nothing ran.
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// How an entity flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowStatus {
    /// Committed.
    Succeeded,
    /// Failed; the store was aborted and its destination is as it was.
    Failed,
    /// Never started, because an earlier flow failed and `continue_on_error` is off.
    Skipped,
}

/// A failure, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct FlowErrorReport {
    /// The error kind.
    pub kind: ErrorKind,
    /// Where it happened: `open home`, `read`, `open store`, `write`, `commit`, `timeout`.
    pub stage: String,
    /// The full message.
    pub message: String,
}

/// Where flow events go.
pub trait EventSink: Send + Sync {
    /// Receives one event. Must not block for long: it runs on the flow's task.
    fn emit(&self, event: FlowEvent);
}

/// Discards events (for library use and tests that do not look at progress).
#[derive(Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: FlowEvent) {}
}
