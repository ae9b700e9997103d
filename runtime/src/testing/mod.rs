//! The store conformance suite (feature `testing`): one set of checks every store runs,
//! native or Wasm, file or database, so that "atomic publish" and "state matches data"
//! are tested the same way everywhere.
//!
//! A store's tests implement [`StoreHarness`] (how to build the store for a fresh
//! destination, and how to look at what it published) and call [`run_suite`]; the kill -9
//! check also needs a child test that calls [`child_main`] (see [`kill`]).

mod checks;
pub mod kill;
mod memory;

use std::sync::Arc;

use async_trait::async_trait;

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::contract::{ConnectorConfig, Role, StoreSpec};

pub use checks::{CHECKS, Check, run_check, run_suite};
pub use memory::{MemoryHome, rows, schema};

/// A store under test, writing one destination of its own.
#[async_trait]
pub trait StoreHarness: Send + Sync {
    /// The store, configured for this harness's destination.
    fn spec(&self) -> Arc<dyn StoreSpec>;
    /// The `id` of every row published at the destination, sorted (empty when there is
    /// nothing).
    async fn published_ids(&self) -> Result<Vec<i64>, String>;
    /// Everything at the destination a reader could see, as one comparable text (file
    /// names and bytes, or table rows).
    async fn fingerprint(&self) -> Result<String, String>;
    /// Leaves staging as a run `run_id` that crashed would have left it.
    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String>;
    /// Staging (files, folders, tables) present now, by name.
    async fn staging(&self) -> Result<Vec<String>, String>;
}

/// Makes a harness for a fresh destination; `name` is unique per check.
pub type HarnessFactory = dyn Fn(&str) -> Box<dyn StoreHarness> + Send + Sync;

#[cfg(test)]
mod tests;

/// A connector config for tests: `value` as the home or store of entity `e` in flow `f` of a
/// project with entities, in the current folder.
pub fn connector_config<'a>(
    value: &'a Value,
    role: Role,
    connections: &'a BTreeMap<String, Value>,
) -> ConnectorConfig<'a> {
    ConnectorConfig {
        value,
        role,
        flow: "f",
        entity: "e",
        project_dir: std::path::Path::new("."),
        entity_sets_path: false,
        path_names_entity: false,
        has_entities: true,
        connections,
    }
}
