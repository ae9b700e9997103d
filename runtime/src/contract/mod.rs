//! The connector contract: what every home and store, native or Wasm, implements.
//!
//! A [`Home`] opens into a [`BatchReader`] that yields Arrow batches; a [`Store`] opens into
//! a [`StoreWriter`] that stages batches and ends in `commit` or `abort`. Errors are
//! [`ConnectorError`]s whose [`ErrorKind`] drives retries. The [`Registry`] maps `type:`
//! names to [`Connector`]s, which validate their own typed config.

mod connection;
mod error;
mod home;
mod place;
mod registry;
mod run_scope;
mod schema_change;
mod store;

pub use connection::{ConnectionKeys, SplitConnection, parse_connection, split_connection_keys};
pub use error::{ConnectorError, ConnectorResult, ErrorKind};
pub use home::{BatchReader, DEFAULT_BATCH_SIZE, Home, ParquetFiles, ReadRequest, WatermarkFilter};
pub use place::Place;
pub use registry::{
    ConfigProblem, Connector, ConnectorConfig, HomeSpec, Registry, Role, StoreSpec,
};
pub use run_scope::RunScope;
pub use schema_change::{AdaptingWriter, OnSchemaChange, SchemaAdapter, SchemaDiff};
pub use store::{RunContext, RunType, Store, StoreWriter, check_batch_schema};
