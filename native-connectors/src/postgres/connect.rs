//! Connection settings (a URL, or keys) and opening a connection, with TLS by `sslmode`.

use std::str::FromStr;

use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use native_tls::TlsConnector;
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::Client;
use tokio_postgres::config::{Config, SslMode as PgSslMode};

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
}

impl PgSettings {
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
        config.ssl_mode(match sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => PgSslMode::Require,
        });
        config.application_name("hygge");
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let label = format!(
            "{host}:{port}/{}",
            config.get_dbname().unwrap_or("postgres")
        );
        PgSettings {
            config,
            sslmode,
            label,
        }
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
        ConnectorError::config(format!(
            "PostgreSQL at {} refused the login: {e}",
            settings.label
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
