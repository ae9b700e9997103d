//! hygge's native connectors, in-process Rust for the throughput-critical paths.
//!
//! Each connector is a folder; [`CONNECTORS`] is the one list that registers them (with
//! `wasm`, the runtime's connector for user components). Each is a cargo feature, all on
//! by default.

#[cfg(feature = "adbc")]
pub mod adbc;
#[cfg(feature = "files")]
pub mod adls;
#[cfg(any(feature = "adbc", feature = "sqlite"))]
pub mod arrow_db;
#[cfg(feature = "files")]
pub mod buckets;
#[cfg(feature = "adbc")]
pub mod duckdb;
#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "files")]
pub mod local;
#[cfg(feature = "mssql")]
pub mod mssql;
#[cfg(feature = "files")]
pub mod parquet;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "rest")]
pub mod rest;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use hygge_runtime::contract::{Connector, Registry};

/// Every native connector. Adding one is its folder plus one line here.
pub static CONNECTORS: &[&dyn Connector] = &[
    #[cfg(feature = "files")]
    &parquet::PARQUET,
    #[cfg(feature = "files")]
    &local::LOCAL,
    #[cfg(feature = "files")]
    &adls::ADLS,
    #[cfg(feature = "files")]
    &adls::ONELAKE,
    #[cfg(feature = "files")]
    &buckets::S3,
    #[cfg(feature = "files")]
    &buckets::AZURE_BLOB,
    #[cfg(feature = "files")]
    &buckets::GCS,
    #[cfg(feature = "mssql")]
    &mssql::MSSQL,
    #[cfg(feature = "postgres")]
    &postgres::POSTGRES,
    #[cfg(feature = "adbc")]
    &duckdb::DUCKDB,
    #[cfg(feature = "adbc")]
    &adbc::ADBC,
    #[cfg(feature = "sqlite")]
    &sqlite::SQLITE,
    #[cfg(feature = "rest")]
    &rest::REST_API,
    #[cfg(feature = "rest")]
    &rest::REST,
    &hygge_runtime::wasm::WASM_CONNECTOR,
];

/// A registry of the native connectors.
pub fn registry() -> Registry {
    Registry::new(CONNECTORS)
}

/// The hostile test component (`components/evil`), built beside the embedded ones but never
/// embedded: end-to-end tests use it as a home that misbehaves on request.
#[doc(hidden)]
pub const EVIL_COMPONENT: &str = env!("HYGGE_EVIL_COMPONENT");
