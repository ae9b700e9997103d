//! `type: duckdb`: DuckDB database files (or an in-memory DuckDB answering SQL over files),
//! home and store, through DuckDB's own ADBC driver: a thin front end of the [`crate::adbc`]
//! engine that finds the library, takes `path` from the project folder, and waits for a
//! file another process holds.

mod file_lock;
mod library;
mod opener;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hygge_runtime::contract::{
    ConfigProblem, ConnectionKeys, Connector, ConnectorConfig, HomeSpec, StoreSpec,
    parse_connection,
};
use hygge_runtime::database::IfExists;
use serde::Deserialize;
use serde_yaml::Value;

use crate::adbc::driver::AdbcOpener;
use crate::arrow_db::keys::{home_spec, split_database, store_spec};
use crate::arrow_db::{DbSettings, Flavor};
use file_lock::FileLock;
use opener::DuckDbOpener;

pub use library::LIBRARY_ENV;

/// Seconds a writer waits for another process to release the database file.
pub const DEFAULT_LOCK_TIMEOUT: u64 = 30;

const KEYS: ConnectionKeys = ConnectionKeys {
    keys: &["path", "library", "lock_timeout"],
    identity: &["path"],
    example: "`path: warehouse.duckdb`",
};

/// The `duckdb` connector.
pub static DUCKDB: DuckDbConnector = DuckDbConnector;

/// Reads and writes DuckDB databases.
pub struct DuckDbConnector;

/// The database keys of `type: duckdb`, under `connections:` or on the home or store.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseConfig {
    /// `duckdb`, under `connections:`.
    #[serde(rename = "type")]
    type_name: Option<String>,
    /// The database file, relative to the project; omitted on a home: an in-memory DuckDB.
    path: Option<String>,
    /// The libduckdb file (relative to the project); wins over `HYGGE_DUCKDB_LIBRARY`.
    library: Option<String>,
    /// Seconds to wait for another process holding the file (default 30).
    lock_timeout: Option<u64>,
}

impl DatabaseConfig {
    fn resolve(
        self,
        name: Option<&str>,
        project_dir: &Path,
        store: bool,
    ) -> Result<DbSettings, ConfigProblem> {
        if let Some(t) = &self.type_name
            && t != "duckdb"
        {
            return Err(ConfigProblem::key(
                "connection",
                format!(
                    "connection `{}` has type `{t}`, not duckdb",
                    name.unwrap_or("inline")
                ),
            ));
        }
        let driver = library::driver(
            self.library.as_deref(),
            std::env::var(LIBRARY_ENV).ok(),
            project_dir,
        );
        let path: Option<PathBuf> = self
            .path
            .as_deref()
            .filter(|p| !p.trim().is_empty() && *p != ":memory:")
            .map(|p| crate::arrow_db::database_path(project_dir, p));
        if store && path.is_none() {
            return Err(ConfigProblem::key("path", "required key is missing").hint(
                "name the database file, e.g. `path: warehouse.duckdb` (relative to the project)",
            ));
        }
        let timeout = Duration::from_secs(self.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT));
        // Relative paths in a query are taken from the project folder.
        let mut options = vec![
            (
                "file_search_path".to_string(),
                project_dir.to_string_lossy().into_owned(),
            ),
            // Loads run in parallel, as for the other SQL stores: a table's rows keep no
            // order (a query that needs one says ORDER BY). A 10M-row load took 8.7 s
            // instead of 11.1 s.
            ("preserve_insertion_order".to_string(), "false".to_string()),
        ];
        let shown = self.path.clone().unwrap_or_else(|| "(in memory)".into());
        if let Some(path) = &path {
            options.push(("path".to_string(), path.to_string_lossy().into_owned()));
        }
        let label = match name {
            Some(name) => format!("duckdb {name} ({shown})"),
            None => format!("duckdb {shown}"),
        };
        Ok(DbSettings {
            label,
            flavor: Flavor::DuckDb,
            key: match &path {
                Some(path) => format!("duckdb {}", path.display()),
                None => format!("duckdb in memory ({})", driver.library),
            },
            opener: Arc::new(DuckDbOpener {
                adbc: AdbcOpener {
                    driver,
                    options,
                    missing_driver_hint: library::install_hint(),
                    flavor: Flavor::DuckDb,
                },
                file: path.map(|path| FileLock { path, timeout }),
            }),
            reads_parquet: true,
        })
    }
}

/// Splits a home/store mapping into its own keys and its database, resolved.
fn split(config: &ConnectorConfig<'_>, store: bool) -> Result<(Value, DbSettings), ConfigProblem> {
    let (own, name, parsed) = split_database::<DatabaseConfig>(config, &KEYS)?;
    Ok((
        own,
        parsed.resolve(name.as_deref(), config.project_dir, store)?,
    ))
}

impl Connector for DuckDbConnector {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn description(&self) -> &'static str {
        "DuckDB database files, and SQL over files (libduckdb, loaded at run time)"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(split(config, false).and_then(|(own, settings)| {
            home_spec(config, &own, settings).map(|spec| Arc::new(spec) as Arc<dyn HomeSpec>)
        }))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(split(config, true).and_then(|(own, settings)| {
            store_spec(config, &own, settings, IfExists::Fail)
                .map(|spec| Arc::new(spec) as Arc<dyn StoreSpec>)
        }))
    }

    fn check_connection(
        &self,
        name: &str,
        connection: &Value,
        project_dir: &Path,
    ) -> Option<Result<String, String>> {
        Some(
            parse_connection::<DatabaseConfig>(connection, &format!("connection `{name}`"))
                .map_err(|problem| problem.one_line())
                .and_then(|c| {
                    let file = c.path.as_deref().map(|p| project_dir.join(p));
                    crate::arrow_db::check_file_connection(file, || {
                        c.resolve(Some(name), project_dir, false)
                    })
                }),
        )
    }
}

#[cfg(test)]
mod conformance_tests;
