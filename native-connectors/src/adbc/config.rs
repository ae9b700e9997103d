//! The YAML of `type: adbc`: a driver with its database options (under `connections:` in
//! hygge.yml or inline), and the home's and store's own keys.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hygge_runtime::contract::{
    ConfigProblem, ConnectionKeys, ConnectorConfig, parse_connection, split_connection_keys,
};
use serde::Deserialize;
use serde_yaml::Value;

use super::driver::{AdbcOpener, DriverRef};
use crate::arrow_db::{DbSettings, Flavor};

/// What to do when the driver library cannot be loaded.
const MISSING_DRIVER: &str = "`driver` is a library path or a name on the system's library path; the PyPI wheels `adbc-driver-sqlite`, `adbc-driver-postgresql`, … ship the libraries (pip download adbc-driver-sqlite, unzip, and point `driver` at adbc_driver_sqlite/libadbc_driver_sqlite.so)";

const KEYS: ConnectionKeys = ConnectionKeys {
    keys: &["driver", "entrypoint", "uri", "options", "dialect"],
    identity: &["driver"],
    example: "`driver` (a library path, or a name such as adbc_driver_sqlite) and `uri`",
};

/// `connections.NAME` (with `type: adbc`), or the same keys written on a home or store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionConfig {
    /// `adbc`, under `connections:`.
    #[serde(rename = "type")]
    type_name: Option<String>,
    /// The driver library: a path (relative to the project) or a name the driver manager
    /// finds on the system's library path or as a driver manifest.
    driver: Option<String>,
    /// The driver's init function, when not the one its name implies.
    entrypoint: Option<String>,
    /// The database URI, as the driver takes it (`file:data.db`, `postgresql://…`).
    uri: Option<String>,
    /// More database options, as the driver names them.
    #[serde(default)]
    options: BTreeMap<String, Value>,
    /// The SQL the database speaks (`duckdb`, `sqlite`, `postgresql`, `ansi`); guessed from
    /// the driver's name when not set.
    dialect: Option<Flavor>,
}

/// An option's value as the driver takes it: text.
fn option_text(key: &str, value: &Value) -> Result<String, ConfigProblem> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ConfigProblem::key(
            format!("options.{key}"),
            "must be text, a number or true/false",
        )),
    }
}

impl ConnectionConfig {
    fn resolve(self, name: Option<&str>, project_dir: &Path) -> Result<DbSettings, ConfigProblem> {
        if let Some(t) = &self.type_name
            && t != "adbc"
        {
            return Err(ConfigProblem::key(
                "connection",
                format!(
                    "connection `{}` has type `{t}`, not adbc",
                    name.unwrap_or("inline")
                ),
            ));
        }
        let Some(library) = self.driver.filter(|d| !d.trim().is_empty()) else {
            return Err(ConfigProblem::key("driver", "required key is missing")
                .hint(format!("set {}", KEYS.example)));
        };
        // A path is taken from the project folder, like every relative path in hygge.
        let library = if library.contains('/') && Path::new(&library).is_relative() {
            project_dir.join(&library).to_string_lossy().into_owned()
        } else {
            library
        };
        let flavor = self.dialect.unwrap_or_else(|| Flavor::guess(&library));
        let mut options = Vec::new();
        if let Some(uri) = self.uri {
            options.push(("uri".to_string(), uri));
        }
        for (key, value) in &self.options {
            options.push((key.clone(), option_text(key, value)?));
        }
        let shown = Path::new(&library)
            .file_name()
            .map_or(library.clone(), |n| n.to_string_lossy().into_owned());
        let label = match name {
            Some(name) => format!("adbc {name} ({shown})"),
            None => format!("adbc {shown}"),
        };
        let driver = DriverRef {
            library,
            entrypoint: self.entrypoint,
        };
        Ok(DbSettings {
            label,
            flavor,
            // The options may hold a password: the key, shown in messages, holds their hash.
            key: format!(
                "adbc {} #{:016x}",
                driver.library,
                options_hash(&driver, &options)
            ),
            opener: Arc::new(AdbcOpener {
                driver,
                options,
                missing_driver_hint: MISSING_DRIVER.to_string(),
                flavor,
            }),
            reads_parquet: false,
        })
    }
}

/// A stable hash of what identifies a database, so that keys differ when options do.
fn options_hash(driver: &DriverRef, options: &[(String, String)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    driver.hash(&mut hasher);
    options.hash(&mut hasher);
    hasher.finish()
}

/// Splits a home/store mapping into its own keys and its connection, resolved.
pub fn split(config: &ConnectorConfig<'_>) -> Result<(Value, DbSettings), ConfigProblem> {
    let split = split_connection_keys(config, &KEYS)?;
    let parsed: ConnectionConfig = split.parse()?;
    Ok((
        split.own,
        parsed.resolve(split.name.as_deref(), config.project_dir)?,
    ))
}

/// A named connection from hygge.yml, checked and resolved.
///
/// # Errors
/// The problem with its keys.
pub fn named_connection(
    name: &str,
    value: &Value,
    project_dir: &Path,
) -> Result<DbSettings, ConfigProblem> {
    parse_connection::<ConnectionConfig>(value, &format!("connection `{name}`"))?
        .resolve(Some(name), project_dir)
}
