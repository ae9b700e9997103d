//! A SQLite file for the engine: connections with a busy timeout, statements and queries,
//! bulk loads, and a writer lock other processes respect.

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use hygge_runtime::publish::SqlTable;
use rusqlite::{Connection, OpenFlags};

use super::read;
use super::write::{ingest, sqlite_error};
use crate::arrow_db::dialect::quote;
use crate::arrow_db::lock_file;
use crate::arrow_db::{ArrowConnection, ArrowDatabase, ArrowRows, DbError, Opener};

/// Opens a SQLite file.
pub struct SqliteOpener {
    /// The database file.
    pub path: PathBuf,
    /// How long a statement waits for another writer's lock.
    pub busy_timeout: Duration,
}

impl Opener for SqliteOpener {
    fn open(&self, label: &str, writes: bool) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        if !writes && !self.path.exists() {
            return Err(ConnectorError::config(format!(
                "{label}: {} does not exist",
                self.path.display()
            ))
            .with_context("check `path` (relative paths are taken from the project folder)"));
        }
        if writes && let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                ConnectorError::config(format!("{label}: cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if writes {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let database = SqliteDatabase {
            path: self.path.clone(),
            flags,
            busy_timeout: self.busy_timeout,
            lock: std::sync::Mutex::new(None),
        };
        // Opening one connection checks the file is a database hygge can use.
        let mut probe = database.connect().map_err(|e| {
            e.into_connector(
                hygge_runtime::contract::ErrorKind::Config,
                label,
                "opening the database",
            )
        })?;
        probe
            .query("SELECT count(*) FROM sqlite_master")
            .and_then(|rows| {
                rows.collect::<Result<Vec<_>, _>>()
                    .map_err(|e| DbError::new(e.to_string()))
            })
            .map_err(|e| {
                e.into_connector(
                    hygge_runtime::contract::ErrorKind::Config,
                    label,
                    "reading the database",
                )
            })?;
        Ok(Arc::new(database))
    }
}

/// An open SQLite file.
struct SqliteDatabase {
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: Duration,
    /// The lock file, once a store of the run has taken it.
    lock: std::sync::Mutex<Option<std::fs::File>>,
}

impl ArrowDatabase for SqliteDatabase {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        let connection =
            Connection::open_with_flags(&self.path, self.flags).map_err(sqlite_error)?;
        connection
            .busy_timeout(self.busy_timeout)
            .map_err(sqlite_error)?;
        // A `replace` renames the target away and the staging table in: views, triggers and
        // foreign keys naming the target must keep naming it, not follow it to the table
        // the publish drops (SQLite's default since 3.26).
        connection
            .execute_batch("PRAGMA legacy_alter_table = ON")
            .map_err(sqlite_error)?;
        Ok(Box::new(SqliteConnection {
            connection,
            path: self.path.clone(),
            flags: self.flags,
            busy_timeout: self.busy_timeout,
        }))
    }

    fn lock_across_processes(
        &self,
        table: &SqlTable,
    ) -> ConnectorResult<Option<Box<dyn Any + Send>>> {
        // SQLite's own locks last a transaction; a run's staging outlives its transactions.
        // The first store of the run takes the lock file, which the database keeps until the
        // run ends: one writing run at a time per file, as for DuckDB.
        let _ = table;
        let mut held = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.is_none() {
            *held = Some(lock_file::hold(
                &self.path,
                self.busy_timeout,
                &self.path.display().to_string(),
            )?);
        }
        Ok(None)
    }
}

/// One connection of a SQLite file.
struct SqliteConnection {
    connection: Connection,
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: Duration,
}

impl ArrowConnection for SqliteConnection {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_batch(sql).map_err(sqlite_error)
    }

    fn query(&mut self, sql: &str) -> Result<ArrowRows, DbError> {
        read::query(
            self.path.clone(),
            self.flags,
            self.busy_timeout,
            sql.to_string(),
        )
    }

    fn ingest(&mut self, table: &SqlTable, rows: ArrowRows) -> Result<(), DbError> {
        let name = format!("{}.{}", quote(&table.schema), quote(&table.table));
        ingest(&mut self.connection, &name, rows)
    }
}
