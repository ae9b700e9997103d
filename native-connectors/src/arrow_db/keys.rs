//! The keys of the engine's homes and stores (besides each connector's database keys).

use hygge_runtime::contract::{
    ConfigProblem, ConnectionKeys, ConnectorConfig, parse_connection, split_connection_keys,
};
use hygge_runtime::database::{HomeKeys, IfExists, StoreKeys, StoreKeysWritten};
use hygge_runtime::publish::SqlTable;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::{ArrowHomeSpec, ArrowStoreSpec, DbSettings, Flavor};

/// Rows per batch handed to a load.
pub const DEFAULT_STORE_BATCH_SIZE: usize = 100_000;

/// `store:` keys of the engine's stores.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreConfig {
    /// `schema.table` to load (`{entity}` allowed); the schema is created if missing.
    table: String,
    /// `fail`, `append`, `replace`, `truncate` or `merge` (default: the connector's).
    if_exists: Option<IfExists>,
    /// The key columns `merge` matches rows on (`watermark.primary_key` is handed here).
    #[serde(default, deserialize_with = "hygge_runtime::config::one_or_many")]
    primary_key: Vec<String>,
    /// The schema of the `hygge_state` table holding watermarks (default: the table's).
    state_schema: Option<String>,
    /// Rows per batch handed to the load (default 100,000).
    batch_size: Option<usize>,
    /// Whether a DuckDB store reads a home's local Parquet files itself (default true).
    read_parquet: Option<bool>,
}

/// `schema.table`, or `table` in the flavor's default schema.
///
/// # Errors
/// A problem naming `key` when the name is malformed or needs a schema.
pub fn table_name(raw: &str, key: &str, flavor: Flavor) -> Result<SqlTable, ConfigProblem> {
    let raw = raw.trim();
    let (schema, table) = match (raw.split_once('.'), flavor.default_schema()) {
        (Some((schema, table)), _) => (schema.trim(), table.trim()),
        (None, Some(schema)) => (schema, raw),
        (None, None) => {
            return Err(ConfigProblem::key(key, format!("`{raw}` names no schema"))
                .hint("write it as schema.table"));
        }
    };
    if schema.is_empty() || table.is_empty() || table.contains('.') {
        return Err(
            ConfigProblem::key(key, format!("`{raw}` is not a table name")).hint(format!(
                "write it as schema.table, e.g. {}.{{entity}}",
                flavor.default_schema().unwrap_or("my_schema")
            )),
        );
    }
    if flavor == Flavor::Sqlite && schema != "main" {
        return Err(ConfigProblem::key(
            key,
            format!("`{raw}`: a SQLite database has no schema `{schema}`"),
        )
        .hint("write the table alone, or as main.table"));
    }
    Ok(SqlTable::new(schema, table))
}

/// A home of `settings` from its own keys (`table` or `query`, `batch_size`).
///
/// # Errors
/// The key at fault.
pub fn home_spec(
    config: &ConnectorConfig<'_>,
    own: &serde_yaml::Value,
    settings: DbSettings,
) -> Result<ArrowHomeSpec, ConfigProblem> {
    let keys: HomeKeys = config.parse_own(own)?;
    let flavor = settings.flavor;
    let home = keys.resolve(
        config,
        flavor.default_schema().unwrap_or("public"),
        "a",
        |raw| table_name(raw, "table", flavor),
    )?;
    if home.partitioning.is_some() {
        return Err(ConfigProblem::key(
            "partition_on",
            "is not supported here: the database reads in parallel itself",
        )
        .hint("remove `partition_on` and `partitions`"));
    }
    Ok(ArrowHomeSpec {
        settings,
        source: home.source,
        batch_size: home.batch_size,
    })
}

/// A store of `settings` from its own keys; `if_exists` is `default_if_exists` unless set.
///
/// # Errors
/// The key at fault.
pub fn store_spec(
    config: &ConnectorConfig<'_>,
    own: &serde_yaml::Value,
    settings: DbSettings,
    default_if_exists: IfExists,
) -> Result<ArrowStoreSpec, ConfigProblem> {
    let parsed: StoreConfig = config.parse_own(own)?;
    let table = table_name(&parsed.table, "table", settings.flavor)?;
    if let Some(schema) = &parsed.state_schema {
        table_name(
            &format!("{schema}.hygge_state"),
            "state_schema",
            settings.flavor,
        )?;
    }
    if parsed.read_parquet.is_some() && !settings.reads_parquet {
        return Err(ConfigProblem::key(
            "read_parquet",
            "only a duckdb store reads Parquet files itself",
        )
        .hint("remove `read_parquet`"));
    }
    let read_parquet = settings.reads_parquet && parsed.read_parquet.unwrap_or(true);
    let keys = StoreKeys::check(
        StoreKeysWritten {
            if_exists: parsed.if_exists.unwrap_or(default_if_exists),
            primary_key: parsed.primary_key,
            state_schema: parsed.state_schema,
            parallel_workers: Some(1),
            batch_size: parsed.batch_size,
        },
        1,
        DEFAULT_STORE_BATCH_SIZE,
    )?;
    Ok(ArrowStoreSpec {
        settings,
        table,
        keys,
        read_parquet,
    })
}

/// A home or store mapping of a connector whose connection is optional (a database file
/// named inline, or none for an in-memory database): its own keys, the connection's name
/// when one is named, and the connection's keys parsed.
///
/// # Errors
/// An unknown connection, or a connection key that is unknown or of the wrong type.
pub fn split_database<T: DeserializeOwned>(
    config: &ConnectorConfig<'_>,
    keys: &ConnectionKeys,
) -> Result<(Value, Option<String>, T), ConfigProblem> {
    let Some(map) = config.value.as_mapping() else {
        return Err(ConfigProblem::key(config.role.key(), "must be a mapping"));
    };
    if map.contains_key("connection") {
        let split = split_connection_keys(config, keys)?;
        let parsed: T = split.parse()?;
        return Ok((split.own, split.name, parsed));
    }
    let (mut own, mut database) = (Mapping::new(), Mapping::new());
    for (key, value) in map {
        let part = match key.as_str() {
            Some(k) if keys.keys.contains(&k) => &mut database,
            _ => &mut own,
        };
        part.insert(key.clone(), value.clone());
    }
    let parsed: T = parse_connection(&Value::Mapping(database), config.role.key())?;
    Ok((Value::Mapping(own), None, parsed))
}
