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

pub use config::IfExists;
pub use connect::PgSettings;
pub use home::{Partitioning, PgHomeSpec, Source};
pub use sql::PgTable;
pub use store::{PgStoreSpec, StorePlan};
pub use types::PgType;

use config::{
    DEFAULT_PARALLEL_WORKERS, DEFAULT_STORE_BATCH_SIZE, PgHomeConfig, PgStoreConfig, split,
    table_name,
};

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
    ) -> Option<Result<String, String>> {
        let settings = match config::named_connection(name, connection) {
            Ok(settings) => settings,
            Err(problem) => {
                let key = problem.key.map(|k| format!("{k}: ")).unwrap_or_default();
                let hint = problem.hint.map(|h| format!(" ({h})")).unwrap_or_default();
                return Some(Err(format!("{key}{}{hint}", problem.message)));
            }
        };
        Some(check(&settings))
    }
}

/// The table `table` on this server and database, as a place two flows of one run must not
/// both write.
fn place(settings: &PgSettings, table: &PgTable) -> Place {
    Place::Named(format!("postgres {} {table}", settings.label))
}

/// Logs in and runs `SELECT 1`, on a runtime of its own.
fn check(settings: &PgSettings) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
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

fn home_spec(config: &ConnectorConfig<'_>) -> Result<PgHomeSpec, ConfigProblem> {
    let (own, settings) = split(config)?;
    let parsed: PgHomeConfig = parse(config, &own)?;
    let source = match (parsed.table, parsed.query) {
        (Some(table), None) => Source::Table(table_name(&table, "table")?),
        (None, Some(query)) if !query.trim().is_empty() => {
            Source::Query(query.trim().trim_end_matches(';').to_string())
        }
        (None, None) if config.has_entities => {
            Source::Table(table_name(&format!("public.{}", config.entity), "table")?)
        }
        (Some(_), Some(_)) => {
            return Err(ConfigProblem::key(
                "query",
                "set either `table` or `query`, not both",
            ));
        }
        _ => {
            return Err(ConfigProblem::key("table", "required key is missing")
                .hint("set `table: schema.table` (e.g. public.{entity}) or `query: SELECT …`"));
        }
    };
    if parsed.batch_size == Some(0) {
        return Err(ConfigProblem::key("batch_size", "must be at least 1"));
    }
    let partitioning = match (parsed.partition_on, parsed.partitions) {
        (Some(column), partitions) => {
            let partitions = partitions.unwrap_or(4);
            if partitions == 0 {
                return Err(ConfigProblem::key("partitions", "must be at least 1"));
            }
            Some(Partitioning { column, partitions })
        }
        (None, Some(_)) => {
            return Err(
                ConfigProblem::key("partitions", "needs `partition_on: COLUMN`").hint(
                    "name an integer, numeric, date or timestamp column to split the read on",
                ),
            );
        }
        (None, None) => None,
    };
    Ok(PgHomeSpec {
        settings,
        source,
        batch_size: parsed.batch_size,
        partitioning,
    })
}

fn store_spec(config: &ConnectorConfig<'_>) -> Result<PgStoreSpec, ConfigProblem> {
    let (own, settings) = split(config)?;
    let parsed: PgStoreConfig = parse(config, &own)?;
    let table = table_name(&parsed.table, "table")?;
    let parallel_workers = parsed.parallel_workers.unwrap_or(DEFAULT_PARALLEL_WORKERS);
    if !(1..=16).contains(&parallel_workers) {
        return Err(ConfigProblem::key(
            "parallel_workers",
            "must be between 1 and 16",
        ));
    }
    if parsed.batch_size == Some(0) {
        return Err(ConfigProblem::key("batch_size", "must be at least 1"));
    }
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
    if parsed.if_exists == IfExists::Merge && parsed.primary_key.is_empty() {
        return Err(ConfigProblem::key(
            "if_exists",
            "`merge` needs the key columns to match rows on",
        )
        .hint("set `primary_key` on the store, or `watermark.primary_key` on the entity"));
    }
    if parsed
        .state_schema
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        return Err(ConfigProblem::key("state_schema", "is empty"));
    }
    Ok(PgStoreSpec {
        settings,
        plan: Arc::new(StorePlan {
            table,
            if_exists: parsed.if_exists,
            batch_size: parsed.batch_size.unwrap_or(DEFAULT_STORE_BATCH_SIZE),
            parallel_workers,
            schema_overrides,
            primary_key: parsed.primary_key,
            state_schema: parsed.state_schema,
        }),
    })
}

#[cfg(test)]
mod conformance_tests;
#[cfg(all(test, feature = "mssql", feature = "files"))]
mod cross_tests;
#[cfg(test)]
mod tests;
