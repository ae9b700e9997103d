//! `type: mssql`: Microsoft SQL Server (and Azure SQL) over native TDS with tiberius.
//!
//! Home: a table or a custom query, streamed into Arrow with exact types, optionally read as
//! parallel range partitions; an incremental watermark becomes a bound parameter. Store: TDS
//! bulk load into a staging table on pooled connections, published in one transaction by
//! `if_exists` (fail, append, replace, truncate); tables it creates get sized string
//! columns and a clustered columnstore index. Connections come from `connections:` in
//! hygge.yml (or inline keys), with SQL or Entra ID authentication, pooled per connection.

mod auth;
mod catalog;
mod columns;
mod config;
mod decode;
mod dialect;
mod encode;
mod home;
mod lock;
mod partition;
mod pool;
mod sql;
mod store;
mod token;
mod types;

use std::sync::Arc;

use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec, StoreSpec};

pub use columns::ColumnOverride;
pub use config::{ConnectionSettings, IndexKind};
pub use home::{MssqlHomeSpec, Source};
pub use pool::{Pool, connect};
pub use sql::{SqlType, TableName};
pub use store::{MssqlStoreSpec, StorePlan};

use config::{
    DEFAULT_PARALLEL_WORKERS, DEFAULT_STORE_BATCH_SIZE, MssqlStoreConfig, split_connection_keys,
    table_name,
};
use hygge_runtime::database::{HomeKeys, StoreKeys, StoreKeysWritten, on_own_runtime};

/// The `mssql` connector.
pub static MSSQL: MssqlConnector = MssqlConnector;

/// Reads and writes SQL Server tables.
pub struct MssqlConnector;

impl Connector for MssqlConnector {
    fn name(&self) -> &'static str {
        "mssql"
    }

    fn description(&self) -> &'static str {
        "Microsoft SQL Server / Azure SQL tables over native TDS"
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

/// Logs in and runs `SELECT 1`, on a runtime of its own.
fn check(settings: &ConnectionSettings) -> Result<String, String> {
    on_own_runtime(async {
        let tokens = token::TokenSource::for_auth(&settings.auth);
        let mut client = pool::connect(settings, tokens.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| e.to_string())?
            .into_results()
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "reached {}:{} database {} as {:?}; SELECT 1 ok",
            settings.host, settings.port, settings.database, settings.auth
        ))
    })
}

fn home_spec(config: &ConnectorConfig<'_>) -> Result<MssqlHomeSpec, ConfigProblem> {
    let (own, settings) = split_connection_keys(config)?;
    let keys: HomeKeys = config.parse_own(&own)?;
    let home = keys.resolve(
        config,
        "dbo",
        "an integer, decimal, date or date-time",
        |raw| table_name(raw, "table"),
    )?;
    Ok(MssqlHomeSpec {
        settings,
        source: home.source,
        batch_size: home.batch_size,
        partitioning: home.partitioning,
    })
}

fn store_spec(config: &ConnectorConfig<'_>) -> Result<MssqlStoreSpec, ConfigProblem> {
    let (own, settings) = split_connection_keys(config)?;
    let parsed: MssqlStoreConfig = config.parse_own(&own)?;
    let table = table_name(&parsed.table, "table")?;
    if let Some(strategy) = parsed
        .write_strategy
        .as_deref()
        .filter(|s| *s != "temp_swap")
    {
        tracing::warn!(table = %table, "`write_strategy: {strategy}` is ignored: writes are always staged and published atomically");
    }
    let factor = parsed.string_buffer_factor.unwrap_or(2.0);
    if !(factor.is_finite() && factor >= 1.0) {
        return Err(ConfigProblem::key(
            "string_buffer_factor",
            "must be a number of at least 1.0",
        ));
    }
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
        let ty = SqlType::parse(&text)
            .filter(|_| sql::is_plain_type_text(&text))
            .ok_or_else(|| {
                ConfigProblem::key(
                    format!("schema_overrides.{column}"),
                    format!("`{text}` is not a SQL Server type hygge writes"),
                )
                .hint("e.g. NVARCHAR(100), DECIMAL(18,2), DATETIME2(3), VARBINARY(MAX)")
            })?;
        schema_overrides.insert(
            column,
            ColumnOverride {
                sql_type: ty,
                declared: text.trim().to_ascii_uppercase(),
            },
        );
    }
    let table_lock = match parsed.table_hints.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(h) if h.eq_ignore_ascii_case("tablock") => true,
        Some(other) => {
            return Err(
                ConfigProblem::key("table_hints", format!("`{other}` is not supported"))
                    .hint("only TABLOCK applies to hygge's bulk load"),
            );
        }
    };
    Ok(MssqlStoreSpec {
        settings,
        plan: Arc::new(StorePlan {
            table,
            if_exists: keys.if_exists,
            batch_size: keys.batch_size,
            parallel_workers: keys.parallel_workers,
            string_buffer_factor: factor,
            schema_overrides,
            index: parsed.index,
            table_lock,
            primary_key: keys.primary_key,
            state_schema: keys.state_schema,
        }),
    })
}

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
pub(crate) mod tests;
