//! The YAML config of MSSQL connections, homes and stores.
//!
//! A home or store names a connection (`connection: NAME`, defined under `connections:` in
//! hygge.yml) or carries the connection keys inline (`server`, `database`, …). Both forms
//! are parsed into one [`ConnectionConfig`]; [`split_connection_keys`] takes the inline
//! keys out of a home or store mapping so each part is checked against its own key list.

use std::collections::BTreeMap;
use std::time::Duration;

use hygge_runtime::contract::{
    self, ConfigProblem, ConnectionKeys, ConnectorConfig, Place, parse_connection,
};
use hygge_runtime::database::IfExists;
use serde::Deserialize;
use serde_yaml::Value;

use super::auth::{AuthConfig, AuthMethodName};
use super::sql::TableName;

/// The TCP port SQL Server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 1433;
/// Seconds to wait for a connection (TCP, TLS and login) before giving up.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 30;

/// Keys that describe a connection; they may appear under `connections.NAME` or inline on a
/// home or store.
const CONNECTION_KEYS: &[&str] = &[
    "server",
    "port",
    "database",
    "auth",
    "user",
    "username",
    "password",
    "tenant_id",
    "client_id",
    "client_secret",
    "access_token",
    "encrypt",
    "trust_cert",
    "pool_size",
    "pool",
    "timeout",
    "driver",
];

/// `connections.NAME` (with `type: mssql`), or the same keys written on a home or store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// `mssql`, under `connections:`.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Host name or address of the SQL Server (`tcp:` prefix and `,port` suffix accepted).
    pub server: String,
    /// TCP port (default 1433).
    pub port: Option<u16>,
    /// Database to log in to.
    pub database: String,
    /// `sql`, `service_principal`, `managed_identity`, `azure_cli`, `access_token` or
    /// `default` (the default: service principal from the environment, then managed
    /// identity, then the Azure CLI — Python hygge's behaviour).
    pub auth: Option<AuthMethodName>,
    /// SQL login name, for `auth: sql`.
    #[serde(alias = "username")]
    pub user: Option<String>,
    /// SQL login password, for `auth: sql`; write it as `${ENV_VAR}`.
    pub password: Option<String>,
    /// Entra ID tenant, for `auth: service_principal`.
    pub tenant_id: Option<String>,
    /// Application (client) id, for `service_principal`, or a user-assigned identity's id for
    /// `managed_identity`.
    pub client_id: Option<String>,
    /// Client secret, for `auth: service_principal`; write it as `${ENV_VAR}`.
    pub client_secret: Option<String>,
    /// A ready access token, for `auth: access_token`.
    pub access_token: Option<String>,
    /// Encrypt the connection with TLS (default true). `false` sends everything, the login
    /// included, in clear text: only for trusted networks and local test servers.
    pub encrypt: Option<Flag>,
    /// Accept the server's certificate without checking it (default false).
    pub trust_cert: Option<Flag>,
    /// Connections in this connection's pool (default: the run's concurrency, at least 2).
    pub pool_size: Option<u32>,
    /// Python hygge's pool settings: `max_size` is `pool_size`; `min_size` is accepted and
    /// ignored (hygge opens connections as flows need them).
    pub pool: Option<PoolConfig>,
    /// Seconds to wait for a connection (default 30).
    pub timeout: Option<u64>,
    /// Python hygge's ODBC driver name. Ignored: hygge speaks TDS itself.
    pub driver: Option<String>,
}

/// `pool: {min_size, max_size}` as Python hygge writes it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Connections opened up front in Python hygge; hygge opens them on demand.
    pub min_size: Option<u32>,
    /// The most connections at once: hygge's `pool_size`.
    pub max_size: Option<u32>,
}

/// A yes/no setting written as a bool or as Python hygge's strings (`"yes"`, `"no"`,
/// `"true"`, `"false"`, `"mandatory"`, `"optional"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bool(b) => Ok(Flag(b)),
            Raw::Text(text) => match text.to_ascii_lowercase().as_str() {
                "yes" | "true" | "mandatory" | "strict" | "on" => Ok(Flag(true)),
                "no" | "false" | "optional" | "off" => Ok(Flag(false)),
                other => Err(serde::de::Error::custom(format!(
                    "expected true or false, found `{other}`"
                ))),
            },
        }
    }
}

/// A connection, resolved: where, who, how. Two homes/stores with equal settings share one
/// pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionSettings {
    /// The name under `connections:`, or `server/database` for an inline connection.
    pub label: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database.
    pub database: String,
    /// How to authenticate.
    pub auth: AuthConfig,
    /// TLS required.
    pub encrypt: bool,
    /// Skip certificate validation.
    pub trust_cert: bool,
    /// Pool size, when configured.
    pub pool_size: Option<u32>,
    /// Connect timeout.
    pub timeout: Duration,
}

impl ConnectionSettings {
    /// The table `table` on this server and database, as a place two flows of one run must
    /// not both write (SQL Server names compare without case by default).
    pub fn place(&self, table: &impl std::fmt::Display) -> Place {
        Place::Named(
            format!(
                "mssql {}:{}/{} {table}",
                self.host, self.port, self.database
            )
            .to_lowercase(),
        )
    }
}

impl ConnectionConfig {
    /// Checks the keys and resolves them into settings.
    fn resolve(self, label: String) -> Result<ConnectionSettings, ConfigProblem> {
        if let Some(driver) = &self.driver {
            tracing::warn!(connection = %label, "`driver: {driver}` is ignored: hygge speaks TDS itself, no ODBC driver needed");
        }
        if let Some(t) = &self.type_name
            && t != "mssql"
        {
            return Err(ConfigProblem::key(
                "connection",
                format!("connection `{label}` has type `{t}`, not mssql"),
            ));
        }
        let (host, port_in_server) = parse_server(&self.server).ok_or_else(|| {
            ConfigProblem::key(
                "server",
                "must be a host name, e.g. myserver.database.windows.net",
            )
        })?;
        let port = self.port.or(port_in_server).unwrap_or(DEFAULT_PORT);
        if self.database.trim().is_empty() {
            return Err(ConfigProblem::key("database", "must not be empty"));
        }
        if self.pool_size == Some(0) {
            return Err(ConfigProblem::key("pool_size", "must be at least 1"));
        }
        if self.pool.is_some_and(|p| p.max_size == Some(0)) {
            return Err(ConfigProblem::key("pool.max_size", "must be at least 1"));
        }
        if self.pool.is_some_and(|p| p.min_size.is_some()) {
            tracing::warn!(connection = %label, "`pool.min_size` is ignored: hygge opens connections as flows need them");
        }
        let pool_size = self.pool_size.or(self.pool.and_then(|p| p.max_size));
        let auth = AuthConfig::from_keys(
            self.auth,
            self.user,
            self.password,
            self.tenant_id,
            self.client_id,
            self.client_secret,
            self.access_token,
        )?;
        Ok(ConnectionSettings {
            label,
            host,
            port,
            database: self.database,
            auth,
            encrypt: self.encrypt.is_none_or(|f| f.0),
            trust_cert: self.trust_cert.is_some_and(|f| f.0),
            pool_size,
            timeout: Duration::from_secs(
                self.timeout
                    .filter(|t| *t > 0)
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
            ),
        })
    }
}

/// `tcp:host,1433`, `host,1433`, `host:1433` or `host` → host and optional port.
fn parse_server(server: &str) -> Option<(String, Option<u16>)> {
    let server = server.trim();
    let server = server.strip_prefix("tcp:").unwrap_or(server);
    let (host, port) = match server.rsplit_once([',', ':']) {
        Some((host, port)) if !host.contains(':') => (host, Some(port.trim().parse().ok()?)),
        _ => (server, None),
    };
    let host = host.trim();
    (!host.is_empty() && !host.contains(char::is_whitespace)).then(|| (host.to_string(), port))
}

/// How MSSQL connections are written.
const KEYS: ConnectionKeys = ConnectionKeys {
    keys: CONNECTION_KEYS,
    identity: &["server", "database"],
    example: "`server` and `database`",
};

/// Splits a home/store mapping into its own keys and the connection it uses (named or
/// inline), resolved.
pub fn split_connection_keys(
    config: &ConnectorConfig<'_>,
) -> Result<(Value, ConnectionSettings), ConfigProblem> {
    let split = contract::split_connection_keys(config, &KEYS)?;
    let parsed: ConnectionConfig = split.parse()?;
    let label = match &split.name {
        Some(name) => name.clone(),
        None => format!("{}/{}", parsed.server, parsed.database),
    };
    Ok((split.own, parsed.resolve(label)?))
}

/// A named connection from hygge.yml, checked and resolved.
///
/// # Errors
/// The problem with its keys.
pub fn named_connection(name: &str, value: &Value) -> Result<ConnectionSettings, ConfigProblem> {
    parse_connection::<ConnectionConfig>(value, &format!("connection `{name}`"))?
        .resolve(name.to_string())
}

/// The physical layout of a table hygge creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// A clustered columnstore index (the default: compressed, fast to scan).
    #[default]
    Columnstore,
    /// No index.
    Heap,
}

/// `store:` keys of `type: mssql` (besides the connection keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MssqlStoreConfig {
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
    /// Rows per batch handed to the bulk load (default 102,400, a full columnstore row group).
    pub batch_size: Option<usize>,
    /// Concurrent bulk-load streams into the staging table (default 4, at most 16).
    pub parallel_workers: Option<usize>,
    /// New string columns are sized to the longest value seen times this (default 2.0).
    pub string_buffer_factor: Option<f64>,
    /// Column → SQL type, used instead of the inferred type when hygge creates a column.
    #[serde(default)]
    pub schema_overrides: BTreeMap<String, String>,
    /// `columnstore` (default) or `heap`, for tables hygge creates.
    #[serde(default)]
    pub index: IndexKind,
    /// Python hygge's table hints; `TABLOCK` takes a bulk-update lock on the staging table.
    pub table_hints: Option<String>,
    /// Python hygge's write strategy; accepted for old projects, always staged + published.
    pub write_strategy: Option<String>,
}

/// Default rows per bulk-load batch: one full columnstore row group.
pub const DEFAULT_STORE_BATCH_SIZE: usize = 102_400;
/// Default concurrent bulk-load streams.
pub const DEFAULT_PARALLEL_WORKERS: usize = 4;

/// Parses and checks `table`, applying `{entity}`.
pub fn table_name(raw: &str, key: &str) -> Result<TableName, ConfigProblem> {
    TableName::parse(raw).map_err(|why| {
        ConfigProblem::key(key, why).hint("write it as schema.table, e.g. dbo.{entity}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        assert_eq!(
            parse_server("tcp:db.example.com,1444"),
            Some(("db.example.com".into(), Some(1444)))
        );
        assert_eq!(parse_server("db:1500"), Some(("db".into(), Some(1500))));
        assert_eq!(parse_server("db"), Some(("db".into(), None)));
        assert_eq!(parse_server("db,x"), None);
        assert_eq!(parse_server(" "), None);
    }
}
