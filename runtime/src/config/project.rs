//! The resolved project: what `hygge go` runs, with nothing left to interpret.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_yaml::Value;

use super::diagnostics::{Diagnostic, did_you_mean};
use super::model::ProjectOptions;
use crate::contract::{HomeSpec, OnSchemaChange, ReadRequest, RunType, StoreSpec};
use crate::flow::FlowJob;
use crate::state::WatermarkSpec;

/// A loaded, validated project.
#[derive(Debug)]
pub struct Project {
    /// `name` from hygge.yml, else the directory name.
    pub name: String,
    /// The directory holding hygge.yml.
    pub root: PathBuf,
    /// The hygge.yml path.
    pub file: PathBuf,
    /// Project options.
    pub options: ProjectOptions,
    /// Named connections (validated shape; used by database connectors).
    pub connections: BTreeMap<String, Value>,
    /// The flows, sorted by name.
    pub flows: Vec<Flow>,
    /// Things that are allowed but probably not what the user meant.
    pub warnings: Vec<Diagnostic>,
}

/// One flow and its entities.
#[derive(Debug)]
pub struct Flow {
    /// The directory name (or the key under `flows:` in hygge.yml).
    pub name: String,
    /// One entry per entity; a flow without entities has one, named after the flow.
    pub entities: Vec<ResolvedEntity>,
}

/// Everything one entity flow needs, fully resolved.
pub struct ResolvedEntity {
    /// The flow's name.
    pub flow: String,
    /// The entity's name.
    pub entity: String,
    /// The home's `type`.
    pub home_type: String,
    /// The store's `type`.
    pub store_type: String,
    /// The validated home.
    pub home: Arc<dyn HomeSpec>,
    /// The validated store.
    pub store: Arc<dyn StoreSpec>,
    /// The merged home config, as the connector received it (for `hygge debug`).
    pub home_config: Value,
    /// The merged store config, as the connector received it (for `hygge debug`).
    pub store_config: Value,
    /// Full drop or incremental.
    pub run_type: RunType,
    /// Batches buffered between home and store.
    pub queue_size: usize,
    /// Time allowed for the whole entity flow.
    pub timeout: Option<Duration>,
    /// What the home is asked for.
    pub request: ReadRequest,
    /// Incremental-load settings, when given.
    pub watermark: Option<WatermarkSpec>,
    /// Whether a full run that finds no rows may replace published data.
    pub allow_empty: bool,
    /// What an incremental run does when the source's columns differ from the destination's.
    pub on_schema_change: OnSchemaChange,
}

impl ResolvedEntity {
    /// `flow.entity`, the name used by `--entity` and in messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.flow, self.entity)
    }

    /// What the flow engine runs for this entity.
    pub fn job(&self) -> FlowJob {
        FlowJob {
            flow: self.flow.clone(),
            entity: self.entity.clone(),
            home: self.home.clone(),
            store: self.store.clone(),
            request: self.request.clone(),
            run_type: self.run_type,
            queue_size: self.queue_size,
            timeout: self.timeout,
            allow_empty: self.allow_empty,
            on_schema_change: self.on_schema_change,
            watermark: self.watermark.clone(),
        }
    }
}

impl fmt::Debug for ResolvedEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedEntity")
            .field("flow", &self.flow)
            .field("entity", &self.entity)
            .field("home", &self.home.describe())
            .field("store", &self.store.describe())
            .field("run_type", &self.run_type)
            .finish_non_exhaustive()
    }
}

/// `--flow` / `--entity` named something that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SelectionError {
    message: String,
}

impl Project {
    /// Every entity flow, in flow then entity order.
    pub fn entities(&self) -> impl Iterator<Item = &ResolvedEntity> {
        self.flows.iter().flat_map(|f| f.entities.iter())
    }

    /// The entity flows selected by `--flow a,b` and `--entity flow.entity,…` (both empty:
    /// all). An entity filter narrows within its flow; flows named only by `--flow` run whole.
    ///
    /// # Errors
    /// An unknown flow or entity, with the available ones listed.
    pub fn select(
        &self,
        flows: &[String],
        entities: &[String],
    ) -> Result<Vec<&ResolvedEntity>, SelectionError> {
        for name in flows {
            if !self.flows.iter().any(|f| &f.name == name) {
                return Err(self.unknown(
                    "flow",
                    name,
                    self.flows.iter().map(|f| f.name.clone()).collect(),
                ));
            }
        }
        let all: Vec<String> = self
            .entities()
            .map(ResolvedEntity::qualified_name)
            .collect();
        for name in entities {
            if !all.contains(name) {
                return Err(self.unknown("entity", name, all.clone()));
            }
        }
        if flows.is_empty() && entities.is_empty() {
            return Ok(self.entities().collect());
        }
        Ok(self
            .entities()
            .filter(|e| flows.contains(&e.flow) || entities.contains(&e.qualified_name()))
            .collect())
    }

    fn unknown(&self, what: &str, name: &str, available: Vec<String>) -> SelectionError {
        let hint = did_you_mean(name, available.iter().map(String::as_str))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        let listed = if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        };
        let form = if what == "entity" {
            " (write entities as flow.entity)"
        } else {
            ""
        };
        SelectionError {
            message: format!("unknown {what} `{name}`{hint}; available: {listed}{form}"),
        }
    }
}
