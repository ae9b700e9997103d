//! One writer per table. A store takes a session-owned application lock (`sp_getapplock`)
//! on its target table before it touches anything, on a connection of its own, and holds it
//! until its writer ends. A second run writing the same table waits for the first instead
//! of dropping its staging table as stale or interleaving a publish with it; the server
//! releases the lock when the session ends, so a crashed run never leaves it behind.

use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use tiberius::Query;
use tracing::warn;

use super::config::ConnectionSettings;
use super::pool::{Pool, SqlClient, sql_error};
use super::sql::TableName;

/// Takes the lock and returns at once when it is free (SQL Server's `@LockTimeout`).
const NO_WAIT: i32 = 0;
/// Waits for as long as the other writer takes.
const WAIT: i32 = -1;

/// A held write lock on one table; dropping it closes its connection, which releases it.
pub(super) struct TableLock {
    _session: SqlClient,
}

impl TableLock {
    /// Locks `table` for this run, waiting while another run (of hygge, on any machine)
    /// holds it.
    ///
    /// # Errors
    /// A connection or SQL error naming the server.
    pub(super) async fn acquire(pool: &Pool, table: &TableName) -> ConnectorResult<TableLock> {
        let settings = pool.settings();
        let mut session = pool.dedicated().await?;
        let resource = resource(table);
        if !try_lock(&mut session, settings, &resource, NO_WAIT).await? {
            warn!(table = %table, "another run is writing {table}; waiting for it to finish");
            if !try_lock(&mut session, settings, &resource, WAIT).await? {
                return Err(ConnectorError::connection(format!(
                    "could not lock {table} for writing (application lock `{resource}`)"
                ))
                .with_context("another session holds it; run again when it has finished"));
            }
        }
        Ok(TableLock { _session: session })
    }
}

/// The lock's name: binary-compared by the server, so the table's name is lower-cased.
fn resource(table: &TableName) -> String {
    format!("hygge:{}.{}", table.schema, table.table).to_lowercase()
}

/// Asks for the lock, waiting `timeout_ms`; whether the session holds it now.
async fn try_lock(
    session: &mut SqlClient,
    settings: &ConnectionSettings,
    resource: &str,
    timeout_ms: i32,
) -> ConnectorResult<bool> {
    // sp_getapplock reports through its return code, which tiberius does not surface;
    // APPLOCK_MODE says whether this session holds the lock.
    let mut query = Query::new(
        "EXEC sp_getapplock @Resource = @P1, @LockMode = 'Exclusive', @LockOwner = 'Session', \
         @LockTimeout = @P2; SELECT APPLOCK_MODE('public', @P1, 'Session') AS mode",
    );
    query.bind(resource);
    query.bind(timeout_ms);
    let rows = query
        .query(session)
        .await
        .map_err(|e| sql_error(settings, e))?
        .into_first_result()
        .await
        .map_err(|e| sql_error(settings, e))?;
    Ok(rows
        .first()
        .and_then(|row| row.get::<&str, _>(0))
        .is_some_and(|mode| mode.eq_ignore_ascii_case("Exclusive")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_resource_names_the_table_whatever_its_case() {
        let a = resource(&TableName::parse("dbo.Orders").unwrap());
        let b = resource(&TableName::parse("[DBO].[orders]").unwrap());
        assert_eq!(a, "hygge:dbo.orders");
        assert_eq!(a, b);
    }
}
