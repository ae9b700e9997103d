//! Watermark state of an object-store destination: the `state` of its newest commit, so it
//! is published by the same conditional write as the files it describes.

use async_trait::async_trait;

use super::destination::ObjectDestination;
use super::log::Commit;
use super::staging::finish;
use crate::contract::{ConnectorError, ConnectorResult, RunType};
use crate::state::{EntityState, StateStore};

/// Attempts `hygge reset` makes when other runs keep taking the next version.
const RESET_ATTEMPTS: usize = 5;

/// The state of an object-store destination, for the flow and for `hygge state` /
/// `hygge reset`.
#[derive(Debug, Clone)]
pub struct ObjectState {
    destination: ObjectDestination,
}

impl ObjectState {
    /// The state published at `destination`.
    pub fn new(destination: ObjectDestination) -> ObjectState {
        ObjectState { destination }
    }
}

#[async_trait]
impl StateStore for ObjectState {
    async fn read(&self, flow: &str, entity: &str) -> ConnectorResult<Option<EntityState>> {
        let state = self.destination.log().latest().await?.and_then(|c| c.state);
        if let Some(s) = &state
            && (s.flow != flow || s.entity != entity)
        {
            tracing::warn!(place = %self.destination.place(), committed_by = %format!("{}.{}", s.flow, s.entity), "the destination's watermark was committed under another flow or entity name; using it");
        }
        Ok(state)
    }

    /// Commits the same files again with a reset marker as their state.
    async fn reset(&self, flow: &str, entity: &str, run_id: &str) -> ConnectorResult<bool> {
        let log = self.destination.log();
        for _ in 0..RESET_ATTEMPTS {
            let Some(latest) = log.latest().await? else {
                return Ok(false);
            };
            // Every commit is finished before the next is made (see `staging`).
            finish(&self.destination, &latest).await?;
            let had = latest.state.as_ref().is_some_and(|s| !s.is_reset());
            let marker = Commit {
                version: latest.version + 1,
                run_id: run_id.to_string(),
                run_type: RunType::Incremental,
                committed_at: crate::run_id::utc_now_rfc3339(),
                files: latest.files.clone(),
                removed: Vec::new(),
                schema: latest.schema.clone(),
                state: Some(EntityState::reset_marker(flow, entity, run_id)),
                delta: latest.delta.clone(),
            };
            if log.create(&marker).await? {
                return Ok(had);
            }
        }
        Err(ConnectorError::connection(format!(
            "other runs kept publishing {} while the state was being reset",
            self.destination.place()
        ))
        .with_context("reset it when no run writes there"))
    }

    fn location(&self) -> String {
        format!("{}/_hygge/log", self.destination.place())
    }
}
