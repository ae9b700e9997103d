//! `type: adbc`: any database with an ADBC driver (Arrow Database Connectivity), and the
//! engine `type: duckdb` is a front end of.
//!
//! The driver is a shared library loaded when a flow runs ([`driver`]); one database is
//! opened per run and settings ([`database`]). Home: the table or query's Arrow stream, in
//! batches ([`home`]). Store: the driver's bulk ingest into a staging table, published by
//! `if_exists` through the runtime's SQL publish layer, in one transaction with the
//! watermark row ([`store`]). Rows stay Arrow both ways.

mod config;
pub mod database;
pub mod dialect;
pub mod driver;
pub mod file_lock;
mod home;
mod store;

use std::sync::Arc;

use hygge_runtime::contract::{
    ConfigProblem, Connector, ConnectorConfig, HomeSpec, Place, StoreSpec,
};
use hygge_runtime::database::{HomeKeys, StoreKeys, StoreKeysWritten};
use hygge_runtime::publish::SqlTable;

pub use config::{AdbcStoreConfig, table_name};
pub use database::{AdbcDb, AdbcSettings};
pub use dialect::Flavor;
pub use home::AdbcHomeSpec;
pub use store::AdbcStoreSpec;

/// Rows per batch handed to a load.
pub const DEFAULT_STORE_BATCH_SIZE: usize = 100_000;

/// The `adbc` connector.
pub static ADBC: AdbcConnector = AdbcConnector;

/// Reads and writes any database through its ADBC driver.
pub struct AdbcConnector;

impl Connector for AdbcConnector {
    fn name(&self) -> &'static str {
        "adbc"
    }

    fn description(&self) -> &'static str {
        "any database through its ADBC driver (Arrow both ways)"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(config::split(config).and_then(|(own, settings)| {
            home_spec(config, &own, settings).map(|spec| Arc::new(spec) as Arc<dyn HomeSpec>)
        }))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(config::split(config).and_then(|(own, settings)| {
            store_spec(config, &own, settings).map(|spec| Arc::new(spec) as Arc<dyn StoreSpec>)
        }))
    }

    fn check_connection(
        &self,
        name: &str,
        connection: &serde_yaml::Value,
    ) -> Option<Result<String, String>> {
        // A named connection's relative driver path is taken from the working folder here:
        // `hygge debug` runs from the project.
        Some(
            config::named_connection(name, connection, std::path::Path::new("."))
                .map_err(|problem| problem.one_line())
                .and_then(|settings| check(&settings)),
        )
    }
}

/// A table of a database, as a place two flows of one run must not both write.
pub(crate) fn place(settings: &AdbcSettings, table: &SqlTable) -> Place {
    let database = match &settings.file {
        Some(file) => file.path.display().to_string(),
        None => format!("{:?}", settings.options),
    };
    Place::Named(format!(
        "adbc {} {database} {table}",
        settings.driver.library
    ))
}

/// Opens the database and runs `SELECT 1`, on a runtime of its own (`hygge debug`).
pub(crate) fn check(settings: &AdbcSettings) -> Result<String, String> {
    hygge_runtime::database::on_own_runtime(async {
        let db = AdbcDb::new(settings.clone());
        db.query(
            "SELECT 1",
            hygge_runtime::contract::ErrorKind::Connection,
            "SELECT 1",
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(format!("opened {}; SELECT 1 ok", settings.label))
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    config: &ConnectorConfig<'_>,
    own: &serde_yaml::Value,
) -> Result<T, ConfigProblem> {
    ConnectorConfig {
        value: own,
        ..*config
    }
    .parse()
}

/// A home of `settings` from its own keys (`table` or `query`, `batch_size`).
///
/// # Errors
/// The key at fault.
pub fn home_spec(
    config: &ConnectorConfig<'_>,
    own: &serde_yaml::Value,
    settings: AdbcSettings,
) -> Result<AdbcHomeSpec, ConfigProblem> {
    let keys: HomeKeys = parse(config, own)?;
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
    Ok(AdbcHomeSpec {
        settings,
        source: home.source,
        batch_size: home.batch_size,
    })
}

/// A store of `settings` from its own keys.
///
/// # Errors
/// The key at fault.
pub fn store_spec(
    config: &ConnectorConfig<'_>,
    own: &serde_yaml::Value,
    settings: AdbcSettings,
) -> Result<AdbcStoreSpec, ConfigProblem> {
    let parsed: AdbcStoreConfig = parse(config, own)?;
    let table = table_name(&parsed.table, "table", settings.flavor)?;
    let keys = StoreKeys::check(
        StoreKeysWritten {
            if_exists: parsed.if_exists,
            primary_key: parsed.primary_key,
            state_schema: parsed.state_schema,
            parallel_workers: Some(1),
            batch_size: parsed.batch_size,
        },
        1,
        DEFAULT_STORE_BATCH_SIZE,
    )?;
    Ok(AdbcStoreSpec {
        settings,
        table,
        keys,
    })
}
