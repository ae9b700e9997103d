//! PostgreSQL for the runtime's SQL publish layer: its SQL, connections, and an advisory
//! lock as the writer lock.

use std::any::Any;

use async_trait::async_trait;
use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use hygge_runtime::publish::{SqlConnection, SqlDatabase, SqlDialect, SqlTable};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::connect::{PgSettings, connect, statement_error};

/// Identifiers and literals as standard SQL writes them (PostgreSQL's standard-conforming
/// strings keep backslashes plain).
pub use hygge_runtime::publish::{standard_literal as literal, standard_quote as quote};

/// PostgreSQL's SQL.
pub struct PgSql;

impl SqlDialect for PgSql {
    fn begin(&self) -> String {
        "BEGIN;".into()
    }

    fn text_type(&self) -> &'static str {
        "TEXT"
    }

    fn key_type(&self) -> &'static str {
        "TEXT"
    }
}

/// A PostgreSQL database; each statement group runs on a connection of its own.
pub struct PgDatabase {
    settings: PgSettings,
}

impl PgDatabase {
    /// The database `settings` reach.
    pub fn new(settings: PgSettings) -> PgDatabase {
        PgDatabase { settings }
    }
}

/// A connection running the publish layer's statements. Closing it rolls back whatever
/// transaction a failed statement left open.
struct Connection {
    client: Client,
    label: String,
}

/// Whether the catalog holds `schema`.
async fn schema_exists(client: &Client, label: &str, schema: &str) -> ConnectorResult<bool> {
    let sql = format!(
        "SELECT 1 FROM pg_namespace WHERE nspname = {}",
        literal(schema)
    );
    let messages = client
        .simple_query(&sql)
        .await
        .map_err(|e| sql_error(label, &sql, e))?;
    Ok(messages
        .iter()
        .any(|m| matches!(m, SimpleQueryMessage::Row(_))))
}

fn sql_error(label: &str, sql: &str, e: tokio_postgres::Error) -> ConnectorError {
    let first = sql.lines().next().unwrap_or_default();
    statement_error(label, &format!("running: {first}"), e)
}

#[async_trait]
impl SqlConnection for Connection {
    async fn execute(&mut self, sql: &str) -> ConnectorResult<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| sql_error(&self.label, sql, e))
    }

    async fn query_text(&mut self, sql: &str) -> ConnectorResult<Vec<Vec<Option<String>>>> {
        let messages = self
            .client
            .simple_query(sql)
            .await
            .map_err(|e| sql_error(&self.label, sql, e))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(String::from))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }
}

/// The writer lock: a session advisory lock on its own connection, released when the
/// connection closes (also when the process dies).
struct AdvisoryLock {
    _client: Client,
}

#[async_trait]
impl SqlDatabase for PgDatabase {
    fn dialect(&self) -> &dyn SqlDialect {
        &PgSql
    }

    async fn connect(&self) -> ConnectorResult<Box<dyn SqlConnection>> {
        Ok(Box::new(Connection {
            client: connect(&self.settings).await?,
            label: self.settings.label.clone(),
        }))
    }

    async fn lock(&self, table: &SqlTable) -> ConnectorResult<Box<dyn Any + Send>> {
        let client = connect(&self.settings).await?;
        let key = literal(&format!("hygge:{}.{}", table.schema, table.table));
        let label = &self.settings.label;
        let tried = client
            .simple_query(&format!("SELECT pg_try_advisory_lock(hashtext({key}))"))
            .await
            .map_err(|e| sql_error(label, "pg_try_advisory_lock", e))?;
        let got = tried
            .iter()
            .any(|m| matches!(m, SimpleQueryMessage::Row(row) if row.get(0) == Some("t")));
        if !got {
            tracing::warn!(table = %table, "another run is writing {table}; waiting for it to finish");
            client
                .batch_execute(&format!("SELECT pg_advisory_lock(hashtext({key}))"))
                .await
                .map_err(|e| sql_error(label, "pg_advisory_lock", e))?;
        }
        Ok(Box::new(AdvisoryLock { _client: client }))
    }

    async fn ensure_schema(&self, schema: &str) -> ConnectorResult<()> {
        let client = connect(&self.settings).await?;
        let created = client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))
            .await;
        // `IF NOT EXISTS` does not cover a second flow creating the schema at the same
        // moment: that fails on the catalog's unique index, and is success too.
        match created {
            Err(e) if !schema_exists(&client, &self.settings.label, schema).await? => {
                Err(sql_error(&self.settings.label, "CREATE SCHEMA", e))
            }
            _ => Ok(()),
        }
    }
}
