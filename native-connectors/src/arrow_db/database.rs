//! One database, opened once per run and shared by every home and store of the run that
//! names it (DuckDB allows one open per file and process), with the runtime's SQL publish
//! layer's connections and writer lock on top.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, SchemaRef};
use async_trait::async_trait;
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind, RunScope};
use hygge_runtime::publish::{SqlConnection, SqlDatabase, SqlDialect, SqlTable};

use super::dialect::{DbSql, Flavor, literal, quote};
use super::{ArrowConnection, ArrowDatabase, DbSettings};

/// A connection, owned by whichever blocking call uses it.
pub type Conn = Box<dyn ArrowConnection>;

/// Runs blocking database calls on tokio's blocking threads.
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

/// The run's open database, opened on first use; shared by the homes and stores naming
/// it, each with a handle saying whether it writes.
#[derive(Clone)]
pub struct ArrowDb {
    inner: Arc<Inner>,
    /// Whether this handle's user is a store (which may create the database file).
    writes: bool,
}

struct Inner {
    settings: DbSettings,
    dialect: DbSql,
    database: tokio::sync::OnceCell<Arc<dyn ArrowDatabase>>,
    /// One writer per target table within this process.
    locks: Mutex<HashMap<SqlTable, Arc<tokio::sync::Mutex<()>>>>,
}

/// The writer lock of one table: this process's, and the one other processes respect.
struct TableLock {
    _in_process: tokio::sync::OwnedMutexGuard<()>,
    _across_processes: Option<Box<dyn Any + Send>>,
}

impl ArrowDb {
    /// The run's database for `settings`, for a store when `writes`.
    pub fn for_run(run: &RunScope, settings: &DbSettings, writes: bool) -> ArrowDb {
        let shared = run.shared(settings, || ArrowDb::new(settings.clone(), false));
        ArrowDb { writes, ..shared }
    }

    /// A database of its own (connection checks, tests).
    pub fn new(settings: DbSettings, writes: bool) -> ArrowDb {
        ArrowDb {
            writes,
            inner: Arc::new(Inner {
                dialect: DbSql {
                    flavor: settings.flavor,
                },
                settings,
                database: tokio::sync::OnceCell::new(),
                locks: Mutex::default(),
            }),
        }
    }

    /// Its SQL flavor.
    pub fn flavor(&self) -> Flavor {
        self.inner.settings.flavor
    }

    /// How messages name it.
    pub fn label(&self) -> &str {
        &self.inner.settings.label
    }

    async fn database(&self) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        let settings = self.inner.settings.clone();
        let writes = self.writes;
        self.inner
            .database
            .get_or_try_init(|| blocking(move || settings.opener.open(&settings.label, writes)))
            .await
            .cloned()
    }

    /// A new connection.
    ///
    /// # Errors
    /// Why the database could not be opened or connected to.
    pub async fn connection(&self) -> ConnectorResult<Conn> {
        let database = self.database().await?;
        let label = self.label().to_string();
        blocking(move || {
            database
                .connect()
                .map_err(|e| e.into_connector(ErrorKind::Connection, &label, "connecting"))
        })
        .await
    }

    /// Runs `sql` and returns its whole result (small results: lookups, probes).
    ///
    /// # Errors
    /// The database's error, as `kind` unless the database says otherwise.
    pub async fn query(
        &self,
        sql: &str,
        kind: ErrorKind,
        doing: &str,
    ) -> ConnectorResult<(SchemaRef, Vec<RecordBatch>)> {
        let mut connection = self.connection().await?;
        let (sql, label, doing) = (sql.to_string(), self.label().to_string(), doing.to_string());
        blocking(move || query_all(connection.as_mut(), &sql, kind, &label, &doing)).await
    }
}

/// Runs `sql` on `connection` and collects its result.
///
/// # Errors
/// The database's error.
pub fn query_all(
    connection: &mut dyn ArrowConnection,
    sql: &str,
    kind: ErrorKind,
    label: &str,
    doing: &str,
) -> ConnectorResult<(SchemaRef, Vec<RecordBatch>)> {
    let rows = connection
        .query(sql)
        .map_err(|e| e.into_connector(kind, label, doing))?;
    let schema = rows.schema();
    let batches = rows
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConnectorError::new(kind, format!("{label}: {doing} failed: {e}")))?;
    Ok((schema, batches))
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

/// A connection running the publish layer's statements. Dropping it rolls back whatever
/// transaction a failed statement left open.
struct PublishConnection {
    connection: Option<Conn>,
    label: String,
}

impl PublishConnection {
    /// Runs `call` with the connection on a blocking thread, and takes it back.
    async fn with<T: Send + 'static>(
        &mut self,
        call: impl FnOnce(&mut dyn ArrowConnection, &str) -> ConnectorResult<T> + Send + 'static,
    ) -> ConnectorResult<T> {
        let mut connection = self.connection.take().ok_or_else(|| {
            ConnectorError::internal(format!("{}: a discarded connection was used", self.label))
        })?;
        let label = self.label.clone();
        let (connection, result) = tokio::task::spawn_blocking(move || {
            let result = call(connection.as_mut(), &label);
            (connection, result)
        })
        .await
        .map_err(|e| ConnectorError::internal(format!("a database call stopped: {e}")))?;
        self.connection = Some(connection);
        result
    }
}

#[async_trait]
impl SqlConnection for PublishConnection {
    async fn execute(&mut self, sql: &str) -> ConnectorResult<()> {
        let sql = sql.to_string();
        self.with(move |connection, label| {
            let first = sql.lines().next().unwrap_or_default();
            connection
                .execute(&sql)
                .map_err(|e| e.into_connector(ErrorKind::Data, label, &format!("running {first}")))
        })
        .await
    }

    async fn query_text(&mut self, sql: &str) -> ConnectorResult<Vec<Vec<Option<String>>>> {
        let sql = sql.to_string();
        self.with(move |connection, label| {
            let (_, batches) = query_all(connection, &sql, ErrorKind::Data, label, "a lookup")?;
            as_text(&batches)
        })
        .await
    }

    fn discard(&mut self) {
        self.connection = None;
    }
}

#[async_trait]
impl SqlDatabase for ArrowDb {
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
        // Opening the database may take a lock of its own (DuckDB's file lock, held until
        // the run ends).
        let database = self.database().await?;
        // SQLite takes one writer at a time per file: its flows' loads queue here rather
        // than time out on SQLite's busy lock.
        let key = match self.flavor() {
            Flavor::Sqlite => SqlTable::new("", ""),
            _ => table.clone(),
        };
        let lock = {
            let mut locks = self
                .inner
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(key).or_default().clone()
        };
        let in_process = match lock.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::warn!(table = %table, "another flow is writing {table}; waiting for it to finish");
                lock.lock_owned().await
            }
        };
        let target = table.clone();
        let across_processes = blocking(move || database.lock_across_processes(&target)).await?;
        Ok(Box::new(TableLock {
            _in_process: in_process,
            _across_processes: across_processes,
        }))
    }

    async fn ensure_schema(&self, schema: &str) -> ConnectorResult<()> {
        if self.flavor() == Flavor::Sqlite {
            // SQLite's schemas are attached databases; `main` always exists.
            return Ok(());
        }
        let mut connection = self.connection().await?;
        let label = self.label().to_string();
        let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema));
        let exists = format!(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = {}",
            literal(schema)
        );
        blocking(move || {
            // `IF NOT EXISTS` does not cover another flow creating the schema at the same
            // moment (DuckDB: a write-write conflict): that is success too.
            match connection.execute(&create) {
                Ok(()) => Ok(()),
                Err(e) => {
                    let (_, found) = query_all(
                        connection.as_mut(),
                        &exists,
                        ErrorKind::Config,
                        &label,
                        "looking up the schema",
                    )?;
                    match as_text(&found)?
                        .first()
                        .and_then(|row| row.first().cloned().flatten())
                    {
                        Some(count) if count != "0" => Ok(()),
                        _ => {
                            Err(e.into_connector(ErrorKind::Config, &label, "creating the schema"))
                        }
                    }
                }
            }
        })
        .await
    }
}
