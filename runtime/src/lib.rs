//! hygge's engine: everything between the YAML project and the connectors.
//!
//! - [`config`] loads a project (hygge.yml, flows, entities) into [`config::ResolvedEntity`]s,
//!   reporting every problem at once.
//! - [`contract`] is what every connector implements: [`contract::Home`] and
//!   [`contract::Store`] over Arrow batches, with typed errors, plus the [`contract::Registry`].
//! - [`flow`] runs one entity flow (home → bounded channel → store; retry, timeout, abort).
//! - [`coordinator`] runs many under a concurrency limit and builds the [`coordinator::RunSummary`].
//! - [`publish`] is the one publish layer: stage, then publish atomically (with the watermark state), then clean up.
//! - [`state`] is watermark state: what incremental runs read, committed with their data.
//! - [`events`] are the typed events progress output is built from.
//! - `testing` (feature `testing`) is the store conformance suite every store runs.
//! - [`wasm`] hosts sandboxed Wasm components as homes and stores.
//! - `cloud` (feature `objects`): object-store URLs and the connections that open them.

#[cfg(feature = "objects")]
pub mod cloud;
pub mod config;
pub mod contract;
pub mod coordinator;
pub mod database;
pub mod events;
pub mod flow;
pub mod publish;
pub mod run_id;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wasm;
