//! `type: adbc`: any database with an ADBC driver (Arrow Database Connectivity), through
//! the engine in [`crate::arrow_db`]. The driver is a shared library loaded when a flow
//! runs ([`driver`]); rows stay Arrow both ways: the home reads the driver's Arrow stream,
//! the store loads a staging table by the driver's bulk ingest.

mod config;
pub mod driver;

use std::sync::Arc;

use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec, StoreSpec};

use hygge_runtime::database::IfExists;

use crate::arrow_db::keys::{home_spec, store_spec};

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
            store_spec(config, &own, settings, IfExists::Fail)
                .map(|spec| Arc::new(spec) as Arc<dyn StoreSpec>)
        }))
    }

    fn check_connection(
        &self,
        name: &str,
        connection: &serde_yaml::Value,
        project_dir: &std::path::Path,
    ) -> Option<Result<String, String>> {
        Some(
            config::named_connection(name, connection, project_dir)
                .map_err(|problem| problem.one_line())
                .and_then(|settings| crate::arrow_db::check(&settings)),
        )
    }
}
