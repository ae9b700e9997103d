//! A SQLite file for the engine: connections with a busy timeout, statements and queries,
//! bulk loads, and a writer lock other processes respect.

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use hygge_runtime::publish::SqlTable;
use rusqlite::{Connection, OpenFlags};
use rustix::fs::{FlockOperation, flock};

use super::read;
use super::write::{ingest, sqlite_error};
use crate::arrow_db::dialect::quote;
use crate::arrow_db::{ArrowConnection, ArrowDatabase, ArrowRows, DbError, Opener};

/// Opens a SQLite file.
pub struct SqliteOpener {
    /// The database file.
    pub path: PathBuf,
    /// Whether a missing file is created (a store) or an error (a home).
    pub create: bool,
    /// How long a statement waits for another writer's lock.
    pub busy_timeout: Duration,
}

impl Opener for SqliteOpener {
    fn open(&self, label: &str) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        if !self.create && !self.path.exists() {
            return Err(ConnectorError::config(format!(
                "{label}: {} does not exist",
                self.path.display()
            ))
            .with_context("check `path` (relative paths are taken from the project folder)"));
        }
        if self.create
            && let Some(parent) = self.path.parent()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                ConnectorError::config(format!("{label}: cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let database = SqliteDatabase {
            path: self.path.clone(),
            flags,
            busy_timeout: self.busy_timeout,
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
}

impl ArrowDatabase for SqliteDatabase {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        let connection =
            Connection::open_with_flags(&self.path, self.flags).map_err(sqlite_error)?;
        connection
            .busy_timeout(self.busy_timeout)
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
        // A lock file beside the database: SQLite's own locks last a transaction, and a
        // run's staging outlives its transactions.
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".hygge-lock");
        let path = self.path.with_file_name(name);
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                ConnectorError::config(format!("cannot open the lock file {}: {e}", path.display()))
            })?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            tracing::warn!(table = %table, "another process is writing {}; waiting for it to finish", self.path.display());
            flock(&file, FlockOperation::LockExclusive).map_err(|e| {
                ConnectorError::config(format!("cannot lock {}: {e}", path.display()))
            })?;
        }
        Ok(Some(Box::new(file)))
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
