//! SQL Server for the runtime's SQL publish layer: T-SQL statements, pooled connections,
//! and the `sp_getapplock` writer lock.

use std::any::Any;

use async_trait::async_trait;
use hygge_runtime::contract::ConnectorResult;
use hygge_runtime::publish::{
    SqlConnection, SqlDatabase, SqlDialect, SqlTable, state_table_columns,
};

use super::catalog;
use super::lock::TableLock;
use super::pool::{Pool, PooledConn};
use super::sql::{TableName, literal, quote};

/// T-SQL.
pub struct TSql;

impl SqlDialect for TSql {
    fn quote(&self, name: &str) -> String {
        quote(name)
    }

    fn literal(&self, text: &str) -> String {
        literal(text)
    }

    fn begin(&self) -> String {
        "SET XACT_ABORT ON; BEGIN TRANSACTION;".into()
    }

    fn commit(&self) -> String {
        "COMMIT TRANSACTION;".into()
    }

    fn rename(&self, table: &SqlTable, name: &str) -> String {
        format!(
            "EXEC sp_rename {}, {};",
            literal(&self.qualified(table)),
            literal(name)
        )
    }

    fn text_type(&self) -> &'static str {
        "NVARCHAR(MAX)"
    }

    fn key_type(&self) -> &'static str {
        "NVARCHAR(256)"
    }

    fn create_state_table(&self, table: &SqlTable) -> String {
        format!(
            "CREATE TABLE {} ({})",
            self.qualified(table),
            state_table_columns(self)
        )
    }

    fn list_tables(&self, schema: &str) -> String {
        format!(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = {}",
            literal(schema)
        )
    }

    fn separate_batches(&self) -> bool {
        true
    }
}

/// A SQL Server database, reached through the run's pool.
pub struct MssqlDatabase {
    pool: Pool,
}

impl MssqlDatabase {
    /// The database behind `pool`.
    pub fn new(pool: Pool) -> MssqlDatabase {
        MssqlDatabase { pool }
    }
}

/// A pooled connection running the publish layer's statements.
struct Connection {
    conn: PooledConn,
    pool: Pool,
}

#[async_trait]
impl SqlConnection for Connection {
    async fn execute(&mut self, sql: &str) -> ConnectorResult<()> {
        catalog::execute(&mut self.conn, self.pool.settings(), sql).await
    }

    async fn query_text(&mut self, sql: &str) -> ConnectorResult<Vec<Vec<Option<String>>>> {
        let rows = catalog::query_rows(&mut self.conn, self.pool.settings(), sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<&str, _>(i).ok().flatten().map(String::from))
                    .collect()
            })
            .collect())
    }

    fn discard(&mut self) {
        // A busy connection is closed, not reused: the server rolls back its transaction.
        self.conn.busy = true;
    }
}

#[async_trait]
impl SqlDatabase for MssqlDatabase {
    fn dialect(&self) -> &dyn SqlDialect {
        &TSql
    }

    async fn connect(&self) -> ConnectorResult<Box<dyn SqlConnection>> {
        Ok(Box::new(Connection {
            conn: self.pool.get().await?,
            pool: self.pool.clone(),
        }))
    }

    async fn lock(&self, table: &SqlTable) -> ConnectorResult<Box<dyn Any + Send>> {
        let table = TableName {
            schema: table.schema.clone(),
            table: table.table.clone(),
        };
        Ok(Box::new(TableLock::acquire(&self.pool, &table).await?))
    }

    async fn ensure_schema(&self, schema: &str) -> ConnectorResult<()> {
        let mut conn = self.pool.get().await?;
        catalog::ensure_schema(&mut conn, self.pool.settings(), schema).await
    }
}
