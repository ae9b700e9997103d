//! `type: postgres`: PostgreSQL tables over binary COPY, both ways.
//!
//! Home: a table or a custom query, read by `COPY (SELECT …) TO STDOUT (FORMAT binary)`
//! and decoded straight into Arrow, optionally as parallel range partitions; an
//! incremental watermark becomes an escaped literal in the WHERE. Store: `COPY … FROM STDIN
//! (FORMAT binary)` into a staging table on pooled connections, published in one
//! transaction by `if_exists` through the runtime's SQL publish layer. Connections come
//! from `connections:` in hygge.yml (or inline keys), pooled per connection for the run.

mod config;
pub mod connect;
mod decode;
pub mod dialect;
mod encode;
mod home;
mod numeric;
mod partition;
mod pool;
mod sql;
mod store;
mod types;

use std::sync::Arc;

use hygge_runtime::contract::{
    ConfigProblem, Connector, ConnectorConfig, HomeSpec, Place, StoreSpec,
};

pub use connect::PgSettings;
pub use home::PgHomeSpec;
pub use sql::PgTable;
pub use store::{PgStoreSpec, StorePlan};
pub use types::PgType;

use config::{
    DEFAULT_PARALLEL_WORKERS, DEFAULT_STORE_BATCH_SIZE, PgStoreConfig, split, table_name,
};
use hygge_runtime::database::{HomeKeys, StoreKeys, StoreKeysWritten, on_own_runtime};

/// The `postgres` connector.
pub static POSTGRES: PostgresConnector = PostgresConnector;

/// Reads and writes PostgreSQL tables.
pub struct PostgresConnector;

impl Connector for PostgresConnector {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn description(&self) -> &'static str {
        "PostgreSQL tables over binary COPY"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(home_spec(config).map(|spec| Arc::new(spec) as Arc<dyn HomeSpec>))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(store_spec(config).map(|spec| Arc::new(spec) as Arc<dyn StoreSpec>))
    }

    fn check_connection(
        &self,
        name: &str,
        connection: &serde_yaml::Value,
        _project_dir: &std::path::Path,
    ) -> Option<Result<String, String>> {
        Some(
            config::named_connection(name, connection)
                .map_err(|problem| problem.one_line())
                .and_then(|settings| check(&settings)),
        )
    }
}

/// The table `table` on this server and database, as a place two flows of one run must not
/// both write.
fn place(settings: &PgSettings, table: &PgTable) -> Place {
    Place::Named(format!("postgres {} {table}", settings.label))
}

/// Logs in and runs `SELECT 1`, on a runtime of its own.
fn check(settings: &PgSettings) -> Result<String, String> {
    on_own_runtime(async {
        let client = connect::connect(settings)
            .await
            .map_err(|e| e.to_string())?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "reached {} as {} (sslmode {:?}); SELECT 1 ok",
            settings.label,
            settings.user(),
            settings.sslmode
        ))
    })
}

fn home_spec(config: &ConnectorConfig<'_>) -> Result<PgHomeSpec, ConfigProblem> {
    let (own, settings) = split(config)?;
    let keys: HomeKeys = config.parse_own(&own)?;
    let home = keys.resolve(
        config,
        sql::DEFAULT_SCHEMA,
        "an integer, numeric, date or timestamp",
        |raw| table_name(raw, "table"),
    )?;
    Ok(PgHomeSpec {
        settings,
        source: home.source,
        batch_size: home.batch_size,
        partitioning: home.partitioning,
    })
}

fn store_spec(config: &ConnectorConfig<'_>) -> Result<PgStoreSpec, ConfigProblem> {
    let (own, settings) = split(config)?;
    let parsed: PgStoreConfig = config.parse_own(&own)?;
    let table = table_name(&parsed.table, "table")?;
    let keys = StoreKeys::check(
        StoreKeysWritten {
            if_exists: parsed.if_exists,
            primary_key: parsed.primary_key,
            state_schema: parsed.state_schema,
            parallel_workers: parsed.parallel_workers,
            batch_size: parsed.batch_size,
        },
        DEFAULT_PARALLEL_WORKERS,
        DEFAULT_STORE_BATCH_SIZE,
    )?;
    let mut schema_overrides = std::collections::BTreeMap::new();
    for (column, text) in parsed.schema_overrides {
        let ty = PgType::parse(&text).ok_or_else(|| {
            ConfigProblem::key(
                format!("schema_overrides.{column}"),
                format!("`{text}` is not a PostgreSQL type hygge writes"),
            )
            .hint("e.g. text, varchar(100), numeric(18,2), timestamptz, jsonb, uuid, bigint[]")
        })?;
        schema_overrides.insert(column, ty);
    }
    Ok(PgStoreSpec {
        settings,
        plan: Arc::new(StorePlan {
            table,
            keys,
            schema_overrides,
        }),
    })
}

#[cfg(test)]
mod conformance_tests;
#[cfg(all(test, feature = "mssql", feature = "files"))]
mod cross_tests;
#[cfg(test)]
mod tests;
