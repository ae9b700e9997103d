//! The engine of the connectors whose databases take and give Arrow: DuckDB and any ADBC
//! driver (`crate::adbc`, `crate::duckdb`) and SQLite (`crate::sqlite`). A connector
//! supplies a way to open its database ([`Opener`]) and the three calls its connections
//! make ([`ArrowConnection`]); the engine does the rest, once for all:
//!
//! - one open database per run and settings, shared by every home and store naming it
//!   ([`database`]), with the runtime's SQL publish layer on top;
//! - the home: a table or query read as an Arrow stream, in batches of the flow's size;
//! - the store: one bulk load into a staging table, published by `if_exists` in one
//!   transaction with the watermark row;
//! - the keys of homes and stores ([`keys`]).

pub mod database;
pub mod dialect;
mod home;
pub mod keys;
pub mod lock_file;
mod parquet_load;
mod store;

#[cfg(test)]
pub mod conformance;

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow_array::RecordBatchReader;
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind, Place};
use hygge_runtime::publish::SqlTable;

pub use database::ArrowDb;
pub use dialect::Flavor;
pub use home::ArrowHomeSpec;
pub use store::ArrowStoreSpec;

/// A failed database call, as the database put it.
#[derive(Debug, Clone)]
pub struct DbError {
    /// What the database said.
    pub message: String,
    /// The kind, when the database's own status tells it (a refused login, a lost
    /// network); otherwise the caller's.
    pub kind: Option<ErrorKind>,
}

impl DbError {
    /// An error the caller classifies.
    pub fn new(message: impl Into<String>) -> DbError {
        DbError {
            message: message.into(),
            kind: None,
        }
    }

    /// As hygge's error: `kind` unless the database said otherwise, naming `label` and what
    /// was being done.
    pub fn into_connector(self, kind: ErrorKind, label: &str, doing: &str) -> ConnectorError {
        ConnectorError::new(
            self.kind.unwrap_or(kind),
            format!("{label}: {doing} failed: {}", self.message.trim()),
        )
    }
}

/// Where a long statement leaves the way to stop it while it runs, for an abort (an
/// interrupt, a timeout) that must not wait for the whole load.
#[derive(Clone, Default)]
pub struct CancelSlot(Arc<std::sync::Mutex<Cancel>>);

/// What a [`CancelSlot`] holds.
#[derive(Default)]
enum Cancel {
    /// No statement runs, and none was cancelled.
    #[default]
    Idle,
    /// A statement runs; this stops it.
    Armed(Box<dyn Fn() + Send + Sync>),
    /// Cancelled: a statement not yet started must not start.
    Cancelled,
}

impl CancelSlot {
    /// Arms the slot with `stop` for a statement about to run; `false` when it was already
    /// cancelled, and the statement must not run.
    pub fn arm(&self, stop: Box<dyn Fn() + Send + Sync>) -> bool {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*slot, Cancel::Cancelled) {
            return false;
        }
        *slot = Cancel::Armed(stop);
        true
    }

    /// The statement ended: nothing to stop any more.
    pub fn disarm(&self) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*slot, Cancel::Armed(_)) {
            *slot = Cancel::Idle;
        }
    }

    /// Stops the running statement, if any, and keeps any later one from starting.
    pub fn cancel(&self) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Cancel::Armed(stop) = std::mem::replace(&mut *slot, Cancel::Cancelled) {
            stop();
        }
    }
}

/// The rows of a query, as the database streams them.
pub type ArrowRows = Box<dyn RecordBatchReader + Send>;

/// A connection of a database that speaks Arrow. Its calls block; the engine makes them
/// on blocking threads.
pub trait ArrowConnection: Send {
    /// Runs statements that return no rows (one statement, unless the flavor runs scripts).
    ///
    /// # Errors
    /// The database's error.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Runs a statement that may run long (a load), as [`ArrowConnection::execute`], armed
    /// in `cancel` while it runs so that another thread can stop it. A connection that
    /// cannot be stopped runs it to its end.
    ///
    /// # Errors
    /// The database's error, or a cancelled statement's.
    fn execute_cancellable(&mut self, sql: &str, cancel: &CancelSlot) -> Result<(), DbError> {
        let _ = cancel;
        self.execute(sql)
    }

    /// Runs a query and streams its rows.
    ///
    /// # Errors
    /// The database's error.
    fn query(&mut self, sql: &str) -> Result<ArrowRows, DbError>;

    /// Creates `table` (which does not exist) from the schema of `rows` and loads them,
    /// as the database loads fastest.
    ///
    /// # Errors
    /// The database's error; the table may then hold part of the rows (it is a staging
    /// table, dropped by the caller).
    fn ingest(&mut self, table: &SqlTable, rows: ArrowRows) -> Result<(), DbError>;
}

/// An open database.
pub trait ArrowDatabase: Send + Sync {
    /// A new connection.
    ///
    /// # Errors
    /// The database's error.
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError>;

    /// Takes a writer lock of `table` that other processes respect, when the database has
    /// no lock of its own that keeps them out (DuckDB's file lock does); released when the
    /// returned value is dropped, and when the process dies.
    ///
    /// # Errors
    /// Why the lock cannot be taken.
    fn lock_across_processes(
        &self,
        _table: &SqlTable,
    ) -> ConnectorResult<Option<Box<dyn Any + Send>>> {
        Ok(None)
    }
}

/// Opens one database (blocking).
pub trait Opener: Send + Sync {
    /// Opens it; messages name it `label`. A store `writes`: a database file it names may
    /// be created; a home's must exist.
    ///
    /// # Errors
    /// A config error that says what to do when it cannot be opened.
    fn open(&self, label: &str, writes: bool) -> ConnectorResult<Arc<dyn ArrowDatabase>>;
}

/// How to reach one database: two homes or stores with equal settings share it for the
/// run.
#[derive(Clone)]
pub struct DbSettings {
    /// How messages name the database (`duckdb warehouse.duckdb`).
    pub label: String,
    /// Its SQL.
    pub flavor: Flavor,
    /// What identifies the database (driver, file, options): equal keys, one database.
    pub key: String,
    /// Opens it.
    pub opener: Arc<dyn Opener>,
    /// Whether the database runs in this process and reads local Parquet files itself
    /// (DuckDB's `read_parquet`), so its store may take a home's files whole.
    pub reads_parquet: bool,
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("label", &self.label)
            .field("key", &self.key)
            .finish()
    }
}

impl PartialEq for DbSettings {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.flavor == other.flavor
    }
}

impl Eq for DbSettings {}

impl Hash for DbSettings {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
        self.flavor.hash(state);
    }
}

/// A table of a database, as a place two flows of one run must not both write.
pub(crate) fn place(settings: &DbSettings, table: &SqlTable) -> Place {
    Place::Named(format!("{} {table}", settings.key))
}

/// The database file `written` (relative to `project_dir`), as one name whatever way it was
/// written (`data/w.db`, `./data/w.db`, through a link), so that two homes or stores naming
/// it share one database and the overlap check sees them meet.
pub fn database_path(project_dir: &std::path::Path, written: &str) -> std::path::PathBuf {
    let path = project_dir.join(written);
    let folder = path.parent().and_then(|p| std::fs::canonicalize(p).ok());
    match (folder, path.file_name()) {
        (Some(folder), Some(name)) => folder.join(name),
        _ => std::path::absolute(&path).unwrap_or(path),
    }
}

/// `hygge debug`'s check of a named connection to a database `file`: a file a store has
/// yet to create is no fault of the connection; else the database the connection's keys
/// resolve to opens and answers ([`check`]).
pub(crate) fn check_file_connection(
    file: Option<std::path::PathBuf>,
    resolve: impl FnOnce() -> Result<DbSettings, hygge_runtime::contract::ConfigProblem>,
) -> Result<String, String> {
    match file {
        Some(file) if !file.exists() => Ok(format!(
            "{} does not exist yet; a store creates it",
            file.display()
        )),
        _ => resolve()
            .map_err(|problem| problem.one_line())
            .and_then(|settings| check(&settings)),
    }
}

/// Opens the database and runs `SELECT 1`, on a runtime of its own (`hygge debug`).
pub(crate) fn check(settings: &DbSettings) -> Result<String, String> {
    hygge_runtime::database::on_own_runtime(async {
        let db = ArrowDb::new(settings.clone(), false);
        db.query("SELECT 1", ErrorKind::Connection, "SELECT 1")
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("opened {}; SELECT 1 ok", settings.label))
    })
}
