//! `type: sqlite`: SQLite files, home and store, with a SQLite compiled in (nothing to
//! install). A front end of the engine in [`crate::arrow_db`]: this folder opens the file
//! ([`database`]), reads rows into Arrow ([`read`]) and loads Arrow rows ([`write`]), by the
//! type mapping in [`types`].
//!
//! Python hygge's store keys (`path`, `table`, `batch_size`, and `options`, which the
//! runtime merges for every store) work unchanged, and so does its behaviour: a table that
//! exists is appended to unless `if_exists` says otherwise.

mod database;
mod read;
pub mod types;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hygge_runtime::contract::{
    ConfigProblem, ConnectionKeys, Connector, ConnectorConfig, HomeSpec, StoreSpec,
    parse_connection,
};
use hygge_runtime::database::IfExists;
use serde::Deserialize;
use serde_yaml::Value;

use crate::arrow_db::keys::{home_spec, split_database, store_spec};
use crate::arrow_db::{DbSettings, Flavor};
use database::SqliteOpener;

/// Seconds a statement waits for another writer (SQLite's busy timeout).
pub const DEFAULT_LOCK_TIMEOUT: u64 = 30;

const KEYS: ConnectionKeys = ConnectionKeys {
    keys: &["path", "lock_timeout"],
    identity: &["path"],
    example: "`path: data/warehouse.db`",
};

/// The `sqlite` connector.
pub static SQLITE: SqliteConnector = SqliteConnector;

/// Reads and writes SQLite files.
pub struct SqliteConnector;

/// The database keys of `type: sqlite`, under `connections:` or on the home or store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseConfig {
    /// `sqlite`, under `connections:`.
    #[serde(rename = "type")]
    type_name: Option<String>,
    /// The database file, relative to the project.
    path: Option<String>,
    /// Seconds a statement waits for another writer (default 30).
    lock_timeout: Option<u64>,
}

impl DatabaseConfig {
    fn resolve(self, name: Option<&str>, project_dir: &Path) -> Result<DbSettings, ConfigProblem> {
        if let Some(t) = &self.type_name
            && t != "sqlite"
        {
            return Err(ConfigProblem::key(
                "connection",
                format!(
                    "connection `{}` has type `{t}`, not sqlite",
                    name.unwrap_or("inline")
                ),
            ));
        }
        let Some(written) = self.path.filter(|p| !p.trim().is_empty()) else {
            return Err(ConfigProblem::key("path", "required key is missing").hint(
                "name the database file, e.g. `path: data/warehouse.db` (relative to the project)",
            ));
        };
        let path = crate::arrow_db::database_path(project_dir, &written);
        let busy_timeout = Duration::from_secs(self.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT));
        Ok(DbSettings {
            label: match name {
                Some(name) => format!("sqlite {name} ({written})"),
                None => format!("sqlite {written}"),
            },
            flavor: Flavor::Sqlite,
            key: format!("sqlite {}", path.display()),
            opener: Arc::new(SqliteOpener { path, busy_timeout }),
            reads_parquet: false,
        })
    }
}

/// Splits a home/store mapping into its own keys and its database, resolved.
fn split(config: &ConnectorConfig<'_>) -> Result<(Value, DbSettings), ConfigProblem> {
    let (own, name, parsed) = split_database::<DatabaseConfig>(config, &KEYS)?;
    Ok((own, parsed.resolve(name.as_deref(), config.project_dir)?))
}

impl Connector for SqliteConnector {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn description(&self) -> &'static str {
        "SQLite files (SQLite compiled in)"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(split(config).and_then(|(own, settings)| {
            home_spec(config, &own, settings).map(|spec| Arc::new(spec) as Arc<dyn HomeSpec>)
        }))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(split(config).and_then(|(own, settings)| {
            // Python hygge appends to a table that exists.
            store_spec(config, &own, settings, IfExists::Append)
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
                        c.resolve(Some(name), project_dir)
                    })
                }),
        )
    }
}

#[cfg(test)]
mod conformance_tests;
