//! Loading an ADBC driver library at run time, opening a database with it, and its
//! connections' three calls for the engine (statements, queries, bulk ingest). Nothing of a
//! database is compiled into hygge: the driver is a shared library found when a flow runs.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};

use adbc_core::error::{Error as AdbcError, Status};
use adbc_core::options::{AdbcVersion, IngestMode, OptionDatabase, OptionStatement, OptionValue};
use adbc_core::{Connection, Database, Driver, LOAD_FLAG_DEFAULT, Optionable, Statement};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase, ManagedDriver, ManagedStatement};
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind};
use hygge_runtime::publish::SqlTable;

use crate::arrow_db::{
    ArrowConnection, ArrowDatabase, ArrowRows, CancelSlot, DbError, Flavor, Opener,
};

/// Which library a driver is, and the function that starts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DriverRef {
    /// A path to the library, or a name the driver manager resolves (a library on the
    /// system's search path, such as `adbc_driver_sqlite`, or a driver manifest).
    pub library: String,
    /// The init function, when neither `AdbcDriverInit` nor the one named after the library.
    pub entrypoint: Option<String>,
}

impl DriverRef {
    /// Whether `library` names a file (a path or a file name with an extension) rather than
    /// a name to resolve.
    fn is_file(&self) -> bool {
        self.library.contains(std::path::MAIN_SEPARATOR)
            || [".so", ".dylib", ".dll"]
                .iter()
                .any(|ext| self.library.contains(ext))
    }

    /// Loads the library and starts the driver, at ADBC 1.1 or, for an older driver, 1.0.
    ///
    /// # Errors
    /// A config error naming the library when it cannot be loaded or started.
    pub fn load(&self) -> Result<ManagedDriver, AdbcError> {
        let entrypoint = self.entrypoint.as_deref().map(str::as_bytes);
        let load = |version| {
            if self.is_file() {
                ManagedDriver::load_dynamic_from_filename(&self.library, entrypoint, version)
            } else {
                ManagedDriver::load_from_name(
                    &self.library,
                    entrypoint,
                    version,
                    LOAD_FLAG_DEFAULT,
                    None,
                )
            }
        };
        load(AdbcVersion::V110).or_else(|_| load(AdbcVersion::V100))
    }
}

/// Opens a database of `driver` with `options` (set in order, before the database starts).
///
/// # Errors
/// The driver's error.
pub fn open_database(
    driver: &mut ManagedDriver,
    options: &[(String, String)],
) -> Result<ManagedDatabase, AdbcError> {
    driver.new_database_with_opts(options.iter().map(|(key, value)| {
        (
            OptionDatabase::from(key.as_str()),
            OptionValue::String(value.clone()),
        )
    }))
}

/// A driver's error as the engine's: the driver's status says when the network failed (a
/// connection error) or the login was refused; the caller classifies the rest.
pub fn db_error(e: &AdbcError) -> DbError {
    let kind = match e.status {
        Status::IO | Status::Timeout => Some(ErrorKind::Connection),
        Status::Unauthenticated | Status::Unauthorized => Some(ErrorKind::Auth),
        _ => None,
    };
    DbError {
        message: e.message.clone(),
        kind,
    }
}

/// Opens a database through an ADBC driver.
pub struct AdbcOpener {
    /// The driver.
    pub driver: DriverRef,
    /// Database options, set in order before it opens (`uri`, `path`, …).
    pub options: Vec<(String, String)>,
    /// What to do when the driver library cannot be loaded.
    pub missing_driver_hint: String,
    /// The database's SQL (SQLite's driver takes no target schema for a load).
    pub flavor: Flavor,
}

impl AdbcOpener {
    /// Loads the driver library.
    ///
    /// # Errors
    /// A config error naming the library, with the hint.
    pub fn load_driver(&self, label: &str) -> ConnectorResult<ManagedDriver> {
        self.driver.load().map_err(|e| {
            ConnectorError::config(format!(
                "{label}: cannot load the driver library `{}`: {}",
                self.driver.library,
                e.message.trim()
            ))
            .with_context(self.missing_driver_hint.clone())
        })
    }

    /// Opens the database with a loaded driver.
    ///
    /// # Errors
    /// The driver's error.
    pub fn open_with(
        &self,
        driver: &mut ManagedDriver,
    ) -> Result<Arc<dyn ArrowDatabase>, AdbcError> {
        let database = open_database(driver, &self.options)?;
        Ok(Arc::new(AdbcDatabase {
            database,
            flavor: self.flavor,
        }))
    }
}

impl Opener for AdbcOpener {
    fn open(&self, label: &str, _writes: bool) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        let mut driver = self.load_driver(label)?;
        self.open_with(&mut driver).map_err(|e| {
            db_error(&e).into_connector(ErrorKind::Config, label, "opening the database")
        })
    }
}

/// A database open through its driver.
struct AdbcDatabase {
    database: ManagedDatabase,
    flavor: Flavor,
}

impl ArrowDatabase for AdbcDatabase {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        Ok(Box::new(AdbcConnection {
            connection: self.database.new_connection().map_err(|e| db_error(&e))?,
            flavor: self.flavor,
        }))
    }
}

/// A query's rows, holding their statement open until the rows are dropped: some drivers
/// (PostgreSQL's) end the stream when its statement is released.
struct StatementRows {
    /// Dropped first (fields drop in order).
    rows: ArrowRows,
    _statement: ManagedStatement,
}

impl Iterator for StatementRows {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

impl RecordBatchReader for StatementRows {
    fn schema(&self) -> SchemaRef {
        self.rows.schema()
    }
}

/// One connection of a driver.
struct AdbcConnection {
    connection: ManagedConnection,
    flavor: Flavor,
}

impl AdbcConnection {
    fn statement(&mut self) -> Result<ManagedStatement, DbError> {
        self.connection.new_statement().map_err(|e| db_error(&e))
    }
}

impl ArrowConnection for AdbcConnection {
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        let mut statement = self.statement()?;
        statement.set_sql_query(sql).map_err(|e| db_error(&e))?;
        statement.execute_update().map_err(|e| db_error(&e))?;
        Ok(())
    }

    fn execute_cancellable(&mut self, sql: &str, cancel: &CancelSlot) -> Result<(), DbError> {
        let mut statement = self.statement()?;
        statement.set_sql_query(sql).map_err(|e| db_error(&e))?;
        let handle = statement.get_cancel_handle();
        let stop = Box::new(move || {
            if let Err(e) = handle.try_cancel() {
                tracing::warn!("the database could not stop the statement: {e}");
            }
        });
        if !cancel.arm(stop) {
            return Err(DbError::new("cancelled before it started"));
        }
        let ran = statement.execute_update().map_err(|e| db_error(&e));
        cancel.disarm();
        ran.map(|_| ())
    }

    fn query(&mut self, sql: &str) -> Result<ArrowRows, DbError> {
        let mut statement = self.statement()?;
        statement.set_sql_query(sql).map_err(|e| db_error(&e))?;
        let rows = statement.execute().map_err(|e| db_error(&e))?;
        Ok(Box::new(StatementRows {
            rows,
            _statement: statement,
        }))
    }

    fn ingest(&mut self, table: &SqlTable, rows: ArrowRows) -> Result<(), DbError> {
        let mut statement = self.statement()?;
        let mut options = vec![
            (OptionStatement::TargetTable, table.table.clone()),
            (OptionStatement::IngestMode, IngestMode::Create.into()),
        ];
        if self.flavor != Flavor::Sqlite {
            options.push((OptionStatement::TargetDbSchema, table.schema.clone()));
        }
        for (key, value) in options {
            statement
                .set_option(key, OptionValue::String(value))
                .map_err(|e| db_error(&e))?;
        }
        statement.bind_stream(rows).map_err(|e| db_error(&e))?;
        statement.execute_update().map_err(|e| db_error(&e))?;
        Ok(())
    }
}
