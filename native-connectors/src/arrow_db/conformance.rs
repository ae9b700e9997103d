//! The store conformance suite's harness for the engine's stores: the destination is read
//! back through the engine's own connections (a fresh open each time, as another process
//! would), and the kill -9 check runs in a child process (the test binary).

#![allow(clippy::unwrap_used)]

use std::any::Any;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, Weak};

use async_trait::async_trait;
use hygge_runtime::contract::{ConnectorResult, ErrorKind, StoreSpec};
use hygge_runtime::publish::{SqlDialect, SqlTable};
use hygge_runtime::testing::kill::{CHILD_ENV, child_main, kill_9_between_staging_and_publishing};
use hygge_runtime::testing::{StoreHarness, run_suite};

use super::database::{ArrowDb, as_text};
use super::dialect::DbSql;
use super::{ArrowConnection, ArrowDatabase, DbError, DbSettings, Flavor, Opener};

/// An opener that hands out the database it opened while anyone still holds it: the
/// harness then reads the store's database through the very instance the store writes, as
/// the flows of one run share it. (DuckDB allows one open of a file per process, and keeps
/// other processes out while it is open; a reader of a live run must share it.)
///
/// Runs that share one instance are not kept apart by the lock file (taken when a database
/// opens), so the shared instance stands in for it: one writer per table across the runs
/// sharing it, the others waiting.
pub struct SharedOpener {
    opener: Arc<dyn Opener>,
    open: Mutex<Weak<dyn ArrowDatabase>>,
    writers: Arc<Writers>,
}

/// The tables being written through a shared instance, and a signal when one is let go.
#[derive(Default)]
struct Writers {
    tables: Mutex<HashSet<SqlTable>>,
    released: Condvar,
}

/// A shared instance: the database, and the writers of the runs sharing it.
struct Shared {
    database: Arc<dyn ArrowDatabase>,
    writers: Arc<Writers>,
}

/// One run's hold on a table of a shared instance.
struct Writing {
    writers: Arc<Writers>,
    table: SqlTable,
}

impl Drop for Writing {
    fn drop(&mut self) {
        let mut tables = self
            .writers
            .tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tables.remove(&self.table);
        self.writers.released.notify_all();
    }
}

impl ArrowDatabase for Shared {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        self.database.connect()
    }

    fn lock_across_processes(
        &self,
        table: &SqlTable,
    ) -> ConnectorResult<Option<Box<dyn Any + Send>>> {
        let own = self.database.lock_across_processes(table)?;
        let mut tables = self.writers.tables.lock().unwrap();
        while tables.contains(table) {
            tables = self.writers.released.wait(tables).unwrap();
        }
        tables.insert(table.clone());
        let writing = Writing {
            writers: self.writers.clone(),
            table: table.clone(),
        };
        Ok(Some(Box::new((writing, own))))
    }
}

impl SharedOpener {
    /// `settings`, opened through one shared instance.
    pub fn share(settings: DbSettings) -> DbSettings {
        let opener: Arc<dyn Opener> = Arc::new(SharedOpener {
            opener: settings.opener.clone(),
            open: Mutex::new(Weak::<Nothing>::new()),
            writers: Arc::default(),
        });
        DbSettings { opener, ..settings }
    }
}

/// A database type for an empty `Weak`.
struct Nothing;

impl ArrowDatabase for Nothing {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        Err(DbError::new("nothing is open"))
    }
}

impl Opener for SharedOpener {
    fn open(&self, label: &str, writes: bool) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        let mut open = self.open.lock().unwrap();
        if let Some(database) = open.upgrade() {
            return Ok(database);
        }
        let database: Arc<dyn ArrowDatabase> = Arc::new(Shared {
            database: self.opener.open(label, writes)?,
            writers: self.writers.clone(),
        });
        *open = Arc::downgrade(&database);
        Ok(database)
    }
}

/// One target table of a store under test.
pub struct DbHarness {
    /// The database, as the store reaches it.
    pub settings: DbSettings,
    /// The store.
    pub spec: Arc<dyn StoreSpec>,
    /// Its target.
    pub table: SqlTable,
}

impl DbHarness {
    async fn rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let db = ArrowDb::new(self.settings.clone(), true);
        let (_, batches) = db
            .query(sql, ErrorKind::Data, "checking")
            .await
            .map_err(|e| e.to_string())?;
        as_text(&batches).map_err(|e| e.to_string())
    }

    async fn tables(&self) -> Result<Vec<String>, String> {
        let sql = DbSql {
            flavor: self.settings.flavor,
        };
        Ok(self
            .rows(&sql.list_tables(&self.table.schema))
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect())
    }

    async fn exists(&self) -> Result<bool, String> {
        Ok(self.tables().await?.contains(&self.table.table))
    }

    fn qualified(&self) -> String {
        DbSql {
            flavor: self.settings.flavor,
        }
        .qualified(&self.table)
    }
}

#[async_trait]
impl StoreHarness for DbHarness {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        self.spec.clone()
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        if !self.exists().await? {
            return Ok(Vec::new());
        }
        self.rows(&format!("SELECT id FROM {} ORDER BY id", self.qualified()))
            .await?
            .into_iter()
            .map(|row| {
                let text = row.into_iter().next().flatten().unwrap_or_default();
                text.parse().map_err(|e| format!("{text}: {e}"))
            })
            .collect()
    }

    async fn fingerprint(&self) -> Result<String, String> {
        if !self.exists().await? {
            return Ok("no table".into());
        }
        Ok(format!(
            "{:?}",
            self.rows(&format!(
                "SELECT id, updated_at, name FROM {} ORDER BY id",
                self.qualified()
            ))
            .await?
        ))
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        let db = ArrowDb::new(self.settings.clone(), true);
        let staging = self.table.staging(run_id);
        let sql = DbSql {
            flavor: self.settings.flavor,
        };
        if self.settings.flavor != Flavor::Sqlite {
            db.query(
                &format!("CREATE SCHEMA IF NOT EXISTS {}", sql.quote(&staging.schema)),
                ErrorKind::Data,
                "planting",
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        db.query(
            &format!("CREATE TABLE {} (id BIGINT)", sql.qualified(&staging)),
            ErrorKind::Data,
            "planting",
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        let prefix = format!("{}__hygge_", self.table.table);
        let mut found: Vec<String> = self
            .tables()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.starts_with(&prefix))
            .collect();
        found.sort();
        Ok(found)
    }
}

/// Runs the suite on a database file per check (`<check>.<extension>` in a folder of its
/// own, as a project would have), each store made by `harness(file, check)`, then the kill
/// -9 check on `kill.<extension>`, its child being `child_test` of this test binary (which
/// calls [`conformance_child`]).
pub async fn conforms(
    what: &str,
    extension: &str,
    harness: fn(&Path, &str) -> DbHarness,
    child_test: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = {
        let (root, extension) = (dir.path().to_path_buf(), extension.to_string());
        move |check: &str| root.join(format!("{check}.{extension}"))
    };
    let each = file.clone();
    let factory =
        move |check: &str| Box::new(harness(&each(check), check)) as Box<dyn StoreHarness>;
    if let Err(failures) = run_suite(&factory).await {
        panic!("the {what} store fails the conformance suite:\n{failures}");
    }
    let kill_db = file("kill");
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &kill_db);
    if let Err(why) = kill_9_between_staging_and_publishing(&harness(&kill_db, "kill"), child).await
    {
        panic!("the {what} store: {why}");
    }
}

/// The child of the kill -9 check that [`conforms`] starts: the store of the database file
/// it names; does nothing when the test runs on its own.
pub async fn conformance_child(harness: fn(&Path, &str) -> DbHarness) {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    child_main(&harness(Path::new(&db), "kill")).await;
}
