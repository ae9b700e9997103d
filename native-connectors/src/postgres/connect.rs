//! Connection settings (a URL, or keys) and opening a connection, with TLS by `sslmode`.

use std::str::FromStr;

use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use native_tls::TlsConnector;
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::Client;
use tokio_postgres::config::{Config, SslMode as PgSslMode};

/// Seconds to wait for a connection (TCP, TLS and login) before giving up.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 30;

/// How the connection is encrypted, as libpq names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, the certificate not checked.
    Prefer,
    /// TLS always, the certificate not checked.
    Require,
    /// TLS always, the certificate and the host name checked.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "`{other}` is not an sslmode; use disable, prefer, require or verify-full"
                ));
            }
        })
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// tokio-postgres' settings (host, port, database, user, password).
    pub config: Config,
    /// Encryption.
    pub sslmode: SslMode,
    /// `host:port/database`, for messages (never the password).
    pub label: String,
    /// Connections in the run's pool for these settings (default: the run's concurrency,
    /// at least 2).
    pub pool_size: Option<u32>,
}

/// What makes two settings one pool: the server, database, login and pool size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey(String);

impl PgSettings {
    /// The key of the run's pool for these settings.
    pub fn pool_key(&self) -> PoolKey {
        let password = self
            .config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        PoolKey(format!(
            "{} user={:?} password={password:?} sslmode={:?} pool={:?}",
            self.label,
            self.config.get_user(),
            self.sslmode,
            self.pool_size
        ))
    }

    /// The user logged in as, for messages.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("postgres")
    }

    /// Gives up connecting after `seconds`.
    pub fn with_timeout(mut self, seconds: u64) -> PgSettings {
        self.config
            .connect_timeout(std::time::Duration::from_secs(seconds));
        self
    }

    /// Settings from a `postgres://user:password@host:port/database?sslmode=…` URL.
    ///
    /// # Errors
    /// A message naming what is wrong with the URL (never its password).
    pub fn from_url(url: &str) -> Result<PgSettings, String> {
        let (base, sslmode) = match url.split_once("sslmode=") {
            Some((_, rest)) => {
                let mode = rest.split('&').next().unwrap_or_default();
                (url.to_string(), mode.parse::<SslMode>()?)
            }
            None => (url.to_string(), SslMode::Prefer),
        };
        // tokio-postgres knows no verify-full; the mode is applied by `connect`.
        let base = base.replace("sslmode=verify-full", "sslmode=require");
        let config = Config::from_str(&base).map_err(|e| {
            format!("not a PostgreSQL URL (postgres://user:password@host:port/database): {e}")
        })?;
        Ok(PgSettings::new(config, sslmode))
    }

    /// Settings from their parts.
    pub fn from_parts(
        host: &str,
        port: u16,
        database: &str,
        user: &str,
        password: Option<&str>,
        sslmode: SslMode,
    ) -> PgSettings {
        let mut config = Config::new();
        config.host(host).port(port).dbname(database).user(user);
        if let Some(password) = password {
            config.password(password);
        }
        PgSettings::new(config, sslmode)
    }

    fn new(mut config: Config, sslmode: SslMode) -> PgSettings {
        config.application_name("hygge");
        config.connect_timeout(std::time::Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS));
        let mut settings = PgSettings {
            config,
            sslmode,
            label: String::new(),
            pool_size: None,
        };
        settings = settings.with_sslmode(sslmode);
        settings.relabel();
        settings
    }

    /// The same settings with another `sslmode`.
    pub fn with_sslmode(mut self, sslmode: SslMode) -> PgSettings {
        self.config.ssl_mode(match sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => PgSslMode::Require,
        });
        self.sslmode = sslmode;
        self
    }

    /// Sets `label` from the host, port and database.
    pub fn relabel(&mut self) {
        let host = self
            .config
            .get_hosts()
            .first()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        self.label = format!(
            "{host}:{port}/{}",
            self.config.get_dbname().unwrap_or("postgres")
        );
    }
}

/// Opens a connection; its I/O runs on a task of its own until the client is dropped.
///
/// # Errors
/// A connection error naming the server (retried by the flow); an auth error (bad
/// password, unknown user or database) as a config error with what to check.
pub async fn connect(settings: &PgSettings) -> ConnectorResult<Client> {
    let mut tls = TlsConnector::builder();
    if settings.sslmode != SslMode::VerifyFull {
        tls.danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true);
    }
    let tls = tls
        .build()
        .map_err(|e| ConnectorError::internal("cannot set up TLS for PostgreSQL").with_source(e))?;
    let (client, connection) = settings
        .config
        .connect(MakeTlsConnector::new(tls))
        .await
        .map_err(|e| connect_error(settings, e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// A failed connection, by what the server or network said.
fn connect_error(settings: &PgSettings, e: tokio_postgres::Error) -> ConnectorError {
    let refused_login = e.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        // invalid_password, invalid_authorization_specification, invalid_catalog_name
        code.starts_with("28") || code == "3D000"
    });
    if refused_login {
        let why = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |db| db.message().to_string());
        ConnectorError::config(format!(
            "PostgreSQL at {} refused the login as {}: {why}",
            settings.label,
            settings.user()
        ))
        .with_context("check user, password and database of the connection")
    } else {
        ConnectorError::connection(format!(
            "cannot reach PostgreSQL at {}: {e}",
            settings.label
        ))
        .with_context("check host and port, and that the server accepts TCP connections")
    }
}

/// A statement's error, naming the server: a broken connection is a connection error (the
/// flow retries it); a missing table or column or bad SQL is a config error; anything else
/// the server refused is a data error.
pub fn statement_error(label: &str, doing: &str, e: tokio_postgres::Error) -> ConnectorError {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed()
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
        {
            ConnectorError::connection(format!("lost the connection to PostgreSQL at {label}: {e}"))
        } else {
            ConnectorError::data(format!("PostgreSQL at {label}: {e}"))
        }
        .with_context(format!("while {doing}"));
    };
    let mut message = db.message().to_string();
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    // For a COPY, where names the row and the column: "COPY t, line 3, column x: …".
    if let Some(place) = db.where_() {
        message.push_str(&format!("; at {place}"));
    }
    let code = db.code().code();
    let said = format!("PostgreSQL at {label} said: {message} [{code}]");
    let error = match &code[..2] {
        // undefined table/column, syntax errors, insufficient privilege
        "42" => ConnectorError::config(said),
        "08" | "57" => ConnectorError::connection(said),
        _ => ConnectorError::data(said),
    };
    error.with_context(format!("while {doing}"))
}
