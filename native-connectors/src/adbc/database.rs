//! One database reached through ADBC, opened once per run and shared by every home and store
//! of the run that names it (DuckDB allows one open per file and process), with the
//! runtime's SQL publish layer's connections and writer lock on top.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adbc_core::{Connection, Database, Statement};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase};
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use async_trait::async_trait;
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind, RunScope};
use hygge_runtime::publish::{SqlConnection, SqlDatabase, SqlDialect, SqlTable};

use super::dialect::{AdbcSql, Flavor, quote};
use super::driver::{DriverRef, driver_error, open_database};
use super::file_lock::FileLock;

/// How to open one database: two homes or stores with equal settings share it for the run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdbcSettings {
    /// How messages name the database (`duckdb warehouse.duckdb`).
    pub label: String,
    /// The driver.
    pub driver: DriverRef,
    /// Database options, set in order before it opens (`path`, `uri`, …).
    pub options: Vec<(String, String)>,
    /// Its SQL.
    pub flavor: Flavor,
    /// The database file another process may hold, for DuckDB.
    pub file: Option<FileLock>,
    /// What to do when the driver library cannot be loaded.
    pub missing_driver_hint: String,
}

/// Runs blocking driver calls on tokio's blocking threads.
///
/// # Errors
/// The call's error, or an internal one if it panicked.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> ConnectorResult<T> + Send + 'static,
) -> ConnectorResult<T> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| ConnectorError::internal(format!("a database call stopped: {e}")))?
}

/// The run's open database, opened on first use.
#[derive(Clone)]
pub struct AdbcDb {
    inner: Arc<Inner>,
}

struct Inner {
    settings: AdbcSettings,
    dialect: AdbcSql,
    database: tokio::sync::OnceCell<ManagedDatabase>,
    /// One writer per target table within this process; across processes DuckDB's file
    /// lock (held while the database is open) and the database's own locks do the rest.
    locks: Mutex<HashMap<SqlTable, Arc<tokio::sync::Mutex<()>>>>,
}

impl AdbcDb {
    /// The run's database for `settings`.
    pub fn for_run(run: &RunScope, settings: &AdbcSettings) -> AdbcDb {
        run.shared(settings, || AdbcDb::new(settings.clone()))
    }

    /// A database of its own (connection checks).
    pub fn new(settings: AdbcSettings) -> AdbcDb {
        AdbcDb {
            inner: Arc::new(Inner {
                dialect: AdbcSql {
                    flavor: settings.flavor,
                },
                settings,
                database: tokio::sync::OnceCell::new(),
                locks: Mutex::default(),
            }),
        }
    }

    /// The settings it was opened with.
    pub fn settings(&self) -> &AdbcSettings {
        &self.inner.settings
    }

    /// Its SQL flavor.
    pub fn flavor(&self) -> Flavor {
        self.inner.settings.flavor
    }

    /// How messages name it.
    pub fn label(&self) -> &str {
        &self.inner.settings.label
    }

    async fn database(&self) -> ConnectorResult<ManagedDatabase> {
        let settings = self.inner.settings.clone();
        self.inner
            .database
            .get_or_try_init(|| blocking(move || open(&settings)))
            .await
            .cloned()
    }

    /// A new connection.
    ///
    /// # Errors
    /// Why the database could not be opened or connected to.
    pub async fn connection(&self) -> ConnectorResult<ManagedConnection> {
        let database = self.database().await?;
        let label = self.label().to_string();
        blocking(move || {
            database
                .new_connection()
                .map_err(|e| driver_error(ErrorKind::Connection, &label, "connecting", &e))
        })
        .await
    }

    /// Runs `sql` and returns its whole result (small results: lookups, probes).
    ///
    /// # Errors
    /// The database's error, as `kind` unless the driver says otherwise.
    pub async fn query(
        &self,
        sql: &str,
        kind: ErrorKind,
        doing: &str,
    ) -> ConnectorResult<(SchemaRef, Vec<RecordBatch>)> {
        let connection = self.connection().await?;
        let (sql, label, doing) = (sql.to_string(), self.label().to_string(), doing.to_string());
        blocking(move || query_all(&connection, &sql, kind, &label, &doing)).await
    }
}

/// Runs `sql` on `connection` and collects its result.
///
/// # Errors
/// The database's error.
pub fn query_all(
    connection: &ManagedConnection,
    sql: &str,
    kind: ErrorKind,
    label: &str,
    doing: &str,
) -> ConnectorResult<(SchemaRef, Vec<RecordBatch>)> {
    let failed = |e: &adbc_core::error::Error| driver_error(kind, label, doing, e);
    let mut connection = connection.clone();
    let mut statement = connection.new_statement().map_err(|e| failed(&e))?;
    statement.set_sql_query(sql).map_err(|e| failed(&e))?;
    let reader = statement.execute().map_err(|e| failed(&e))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectorError::new(kind, format!("{label}: {doing} failed: {e}")))?;
    Ok((schema, batches))
}

/// Runs `sql`, which returns no rows.
///
/// # Errors
/// The database's error.
pub fn execute(
    connection: &ManagedConnection,
    sql: &str,
    kind: ErrorKind,
    label: &str,
    doing: &str,
) -> ConnectorResult<()> {
    let failed = |e: &adbc_core::error::Error| driver_error(kind, label, doing, e);
    let mut connection = connection.clone();
    let mut statement = connection.new_statement().map_err(|e| failed(&e))?;
    statement.set_sql_query(sql).map_err(|e| failed(&e))?;
    statement.execute_update().map_err(|e| failed(&e))?;
    Ok(())
}

/// Every value of `batches` as text, row by row (NULL as `None`).
///
/// # Errors
/// A column that cannot be shown as text.
pub fn as_text(batches: &[RecordBatch]) -> ConnectorResult<Vec<Vec<Option<String>>>> {
    let mut rows = Vec::new();
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| {
                arrow_cast::cast(c, &DataType::Utf8).map_err(|e| {
                    ConnectorError::internal(format!("a lookup's column is not text: {e}"))
                })
            })
            .collect::<ConnectorResult<Vec<_>>>()?;
        let texts: Vec<&StringArray> = columns
            .iter()
            .filter_map(|c| c.as_any().downcast_ref::<StringArray>())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                texts
                    .iter()
                    .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// Loads the driver, waits for the file, and opens the database.
fn open(settings: &AdbcSettings) -> ConnectorResult<ManagedDatabase> {
    let label = &settings.label;
    let mut driver = settings.driver.load().map_err(|e| {
        ConnectorError::config(format!(
            "{label}: cannot load the driver library `{}`: {}",
            settings.driver.library,
            e.message.trim()
        ))
        .with_context(settings.missing_driver_hint.clone())
    })?;
    if let Some(file) = &settings.file {
        file.wait_until_free(label)?;
    }
    open_database(&mut driver, &settings.options).map_err(|e| {
        let mut error = driver_error(ErrorKind::Config, label, "opening the database", &e);
        if settings.flavor == Flavor::DuckDb
            && let Some(version) = duckdb_version(&mut driver)
        {
            let written = settings
                .file
                .as_ref()
                .and_then(|file| duckdb_file_writer(&file.path))
                .map(|writer| format!("the file was written by DuckDB {writer}; "))
                .unwrap_or_default();
            error = error.with_context(format!(
                "{written}hygge loaded DuckDB {version} from {}; a file written by a newer DuckDB needs that DuckDB's library (set `library:` or HYGGE_DUCKDB_LIBRARY)",
                settings.driver.library
            ));
        }
        error
    })
}

/// The DuckDB version that wrote a database file, from its main header (the 32-byte
/// `library_git_desc` after the magic, the storage version and four flags).
fn duckdb_file_writer(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let mut header = [0u8; 84];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[8..12] != b"DUCK" {
        return None;
    }
    let desc = &header[52..84];
    let end = desc.iter().position(|b| *b == 0).unwrap_or(desc.len());
    let text = std::str::from_utf8(&desc[..end]).ok()?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The version of a DuckDB library, asked of an in-memory database.
fn duckdb_version(driver: &mut adbc_driver_manager::ManagedDriver) -> Option<String> {
    let database = open_database(driver, &[]).ok()?;
    let connection = database.new_connection().ok()?;
    let (_, batches) = query_all(
        &connection,
        "SELECT library_version FROM pragma_version()",
        ErrorKind::Internal,
        "duckdb",
        "asking the version",
    )
    .ok()?;
    as_text(&batches)
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .next()?
}

/// A connection running the publish layer's statements. Dropping it rolls back whatever
/// transaction a failed statement left open.
struct PublishConnection {
    connection: Option<ManagedConnection>,
    label: String,
}

impl PublishConnection {
    fn get(&self) -> ConnectorResult<ManagedConnection> {
        self.connection.clone().ok_or_else(|| {
            ConnectorError::internal(format!("{}: a discarded connection was used", self.label))
        })
    }
}

#[async_trait]
impl SqlConnection for PublishConnection {
    async fn execute(&mut self, sql: &str) -> ConnectorResult<()> {
        let connection = self.get()?;
        let (sql, label) = (sql.to_string(), self.label.clone());
        blocking(move || {
            let first = sql.lines().next().unwrap_or_default().to_string();
            execute(
                &connection,
                &sql,
                ErrorKind::Data,
                &label,
                &format!("running {first}"),
            )
        })
        .await
    }

    async fn query_text(&mut self, sql: &str) -> ConnectorResult<Vec<Vec<Option<String>>>> {
        let connection = self.get()?;
        let (sql, label) = (sql.to_string(), self.label.clone());
        blocking(move || {
            let (_, batches) = query_all(&connection, &sql, ErrorKind::Data, &label, "a lookup")?;
            as_text(&batches)
        })
        .await
    }

    fn discard(&mut self) {
        self.connection = None;
    }
}

#[async_trait]
impl SqlDatabase for AdbcDb {
    fn dialect(&self) -> &dyn SqlDialect {
        &self.inner.dialect
    }

    async fn connect(&self) -> ConnectorResult<Box<dyn SqlConnection>> {
        Ok(Box::new(PublishConnection {
            connection: Some(self.connection().await?),
            label: self.label().to_string(),
        }))
    }

    async fn lock(&self, table: &SqlTable) -> ConnectorResult<Box<dyn Any + Send>> {
        // Opening takes DuckDB's file lock, held until the run ends.
        self.database().await?;
        let lock = {
            let mut locks = self
                .inner
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(table.clone()).or_default().clone()
        };
        let guard = match lock.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::warn!(table = %table, "another flow is writing {table}; waiting for it to finish");
                lock.lock_owned().await
            }
        };
        Ok(Box::new(guard))
    }

    async fn ensure_schema(&self, schema: &str) -> ConnectorResult<()> {
        if self.flavor() == Flavor::Sqlite {
            // SQLite's schemas are attached databases; `main` always exists.
            return Ok(());
        }
        let connection = self.connection().await?;
        let label = self.label().to_string();
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema));
        blocking(move || {
            execute(
                &connection,
                &sql,
                ErrorKind::Config,
                &label,
                "creating the schema",
            )
        })
        .await
    }
}
