//! The YAML config of PostgreSQL connections, homes and stores.
//!
//! A connection is a `url` or its parts (`host`, `port`, `database`, `user`, `password`),
//! with `sslmode` and `pool_size`; it sits under `connections:` in hygge.yml (`type:
//! postgres`) or inline on a home or store, split off by the runtime's
//! [`split_connection_keys`].

use std::collections::BTreeMap;

use hygge_runtime::contract::{
    ConfigProblem, ConnectionKeys, ConnectorConfig, parse_connection, split_connection_keys,
};
use hygge_runtime::database::IfExists;
use serde::Deserialize;
use serde_yaml::Value;

use super::connect::{PgSettings, SslMode};
use super::sql::PgTable;

/// The TCP port PostgreSQL listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 5432;
/// Default rows per COPY batch handed to a load stream.
pub const DEFAULT_STORE_BATCH_SIZE: usize = 100_000;
/// Default concurrent COPY streams into the staging table.
pub const DEFAULT_PARALLEL_WORKERS: usize = 4;

const KEYS: ConnectionKeys = ConnectionKeys {
    keys: &[
        "url",
        "host",
        "port",
        "database",
        "dbname",
        "user",
        "username",
        "password",
        "sslmode",
        "pool_size",
        "timeout",
    ],
    identity: &["url", "host"],
    example: "`url` (postgres://user:password@host:5432/database) or `host` and `database`",
};

/// `connections.NAME` (with `type: postgres`), or the same keys written on a home or store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionConfig {
    /// `postgres`, under `connections:`.
    #[serde(rename = "type")]
    type_name: Option<String>,
    /// `postgres://user:password@host:port/database?sslmode=…`; or the keys below.
    url: Option<String>,
    /// Host name or address.
    host: Option<String>,
    /// TCP port (default 5432).
    port: Option<u16>,
    /// Database to connect to.
    #[serde(alias = "dbname")]
    database: Option<String>,
    /// Login.
    #[serde(alias = "username")]
    user: Option<String>,
    /// Password; write it as `${ENV_VAR}`.
    password: Option<String>,
    /// `disable`, `prefer` (default), `require` or `verify-full`.
    sslmode: Option<String>,
    /// Connections in the run's pool (default: the run's concurrency, at least 2).
    pool_size: Option<u32>,
    /// Seconds to wait for a connection (default 30).
    timeout: Option<u64>,
}

impl ConnectionConfig {
    fn resolve(self, name: Option<&str>) -> Result<PgSettings, ConfigProblem> {
        if let Some(t) = &self.type_name
            && t != "postgres"
        {
            return Err(ConfigProblem::key(
                "connection",
                format!(
                    "connection `{}` has type `{t}`, not postgres",
                    name.unwrap_or("inline")
                ),
            ));
        }
        let sslmode = self
            .sslmode
            .as_deref()
            .map(str::parse::<SslMode>)
            .transpose()
            .map_err(|why| ConfigProblem::key("sslmode", why))?;
        let mut settings = match (&self.url, &self.host) {
            (Some(_), Some(_)) => {
                return Err(ConfigProblem::key("host", "is set both here and in `url`")
                    .hint("use either `url` or `host` + `database`, not both"));
            }
            (Some(url), None) => {
                let mut settings =
                    PgSettings::from_url(url).map_err(|why| ConfigProblem::key("url", why))?;
                // Keys beside a URL fill in or refine it (a password from the environment).
                if let Some(user) = &self.user {
                    settings.config.user(user);
                }
                if let Some(password) = &self.password {
                    settings.config.password(password);
                }
                if let Some(database) = &self.database {
                    settings.config.dbname(database);
                }
                if self.port.is_some() {
                    return Err(ConfigProblem::key("port", "is set both here and by `url`")
                        .hint("write the port in the url: postgres://user@host:5432/database"));
                }
                if let Some(mode) = sslmode {
                    settings = settings.with_sslmode(mode);
                }
                settings.relabel();
                settings
            }
            (None, Some(host)) => {
                let Some(database) = self.database.as_deref().filter(|d| !d.trim().is_empty())
                else {
                    return Err(ConfigProblem::key("database", "required key is missing")
                        .hint("name the database to connect to"));
                };
                PgSettings::from_parts(
                    host,
                    self.port.unwrap_or(DEFAULT_PORT),
                    database,
                    self.user.as_deref().unwrap_or_default(),
                    self.password.as_deref(),
                    sslmode.unwrap_or(SslMode::Prefer),
                )
            }
            (None, None) => {
                return Err(ConfigProblem::key("url", "required key is missing")
                    .hint(format!("set {}", KEYS.example)));
            }
        };
        if settings.config.get_user().is_none_or(str::is_empty) {
            return Err(ConfigProblem::key("user", "required key is missing")
                .hint("set `user` (or put it in the url: postgres://user@host/database)"));
        }
        if self.pool_size == Some(0) {
            return Err(ConfigProblem::key("pool_size", "must be at least 1"));
        }
        settings.pool_size = self.pool_size;
        if let Some(seconds) = self.timeout.filter(|t| *t > 0) {
            settings = settings.with_timeout(seconds);
        }
        if let Some(name) = name {
            settings.label = format!("{name} ({})", settings.label);
        }
        Ok(settings)
    }
}

/// Splits a home/store mapping into its own keys and its connection, resolved.
pub fn split(config: &ConnectorConfig<'_>) -> Result<(Value, PgSettings), ConfigProblem> {
    let split = split_connection_keys(config, &KEYS)?;
    let parsed: ConnectionConfig = split.parse()?;
    Ok((split.own, parsed.resolve(split.name.as_deref())?))
}

/// A named connection from hygge.yml, checked and resolved.
///
/// # Errors
/// The problem with its keys.
pub fn named_connection(name: &str, value: &Value) -> Result<PgSettings, ConfigProblem> {
    parse_connection::<ConnectionConfig>(value, &format!("connection `{name}`"))?
        .resolve(Some(name))
}

/// `store:` keys of `type: postgres` (besides the connection keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgStoreConfig {
    /// `schema.table` to load (`{entity}` allowed); the schema is created if missing.
    pub table: String,
    /// `fail` (default), `append`, `replace`, `truncate` or `merge`.
    #[serde(default)]
    pub if_exists: IfExists,
    /// The key columns `merge` matches rows on (`watermark.primary_key` is handed here).
    #[serde(default, deserialize_with = "hygge_runtime::config::one_or_many")]
    pub primary_key: Vec<String>,
    /// The schema of the `hygge_state` table holding watermarks (default: the table's).
    pub state_schema: Option<String>,
    /// Rows per batch handed to a COPY stream (default 100,000).
    pub batch_size: Option<usize>,
    /// Concurrent COPY streams into the staging table (default 4, at most 16).
    pub parallel_workers: Option<usize>,
    /// Column → PostgreSQL type, used instead of the inferred type when hygge creates a
    /// column.
    #[serde(default)]
    pub schema_overrides: BTreeMap<String, String>,
}

/// Parses and checks `table`.
pub fn table_name(raw: &str, key: &str) -> Result<PgTable, ConfigProblem> {
    PgTable::parse(raw).map_err(|why| {
        ConfigProblem::key(key, why).hint("write it as schema.table, e.g. public.{entity}")
    })
}
