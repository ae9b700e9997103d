//! Store types that name an object-store destination their own way (Python hygge's `adls`
//! and `onelake`, the roadmap's `s3`, `azure_blob` and `gcs`) are thin front ends: each
//! turns its keys into a URL and a connection, and the `parquet` store does the rest.

use std::collections::BTreeMap;
use std::sync::Arc;

use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, StoreSpec};
use serde_yaml::{Mapping, Value};

/// The Parquet keys every front end passes through unchanged.
pub const PARQUET_KEYS: &[&str] = &[
    "compression",
    "compression_level",
    "row_group_size",
    "batch_size",
    "file_pattern",
    "partition_by",
];

/// A `parquet` store on `url`: `own` holds the Parquet keys, `connection` the keys of the
/// connection that signs in (named `name` in messages), added to the project's.
///
/// # Errors
/// What the `parquet` store refuses, naming its key.
pub fn parquet_store_on(
    config: &ConnectorConfig<'_>,
    name: &str,
    url: String,
    connection: Mapping,
    mut own: Mapping,
) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
    own.insert("path".into(), Value::String(url));
    own.insert("connection".into(), Value::String(name.to_string()));
    let mut connections: BTreeMap<String, Value> = config.connections.clone();
    connections.insert(name.to_string(), Value::Mapping(connection));
    let value = Value::Mapping(own);
    let parquet_config = ConnectorConfig {
        value: &value,
        connections: &connections,
        // The URL is complete: no entity sub-folder is appended to it.
        path_names_entity: true,
        ..*config
    };
    crate::parquet::PARQUET
        .store(&parquet_config)
        .unwrap_or_else(|| Err(ConfigProblem::key("type", "parquet writes no store")))
}

/// The Parquet keys of `value` (a store mapping), to pass through.
pub fn parquet_keys(value: &Value) -> Mapping {
    let mut out = Mapping::new();
    if let Some(map) = value.as_mapping() {
        for (key, v) in map {
            if key.as_str().is_some_and(|k| PARQUET_KEYS.contains(&k)) {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    out
}
