//! Connections: one deadpool pool per distinct connection, shared by every flow of the run, with
//! a `SELECT 1` health check, and errors that say which server failed and what to try.

use std::sync::Arc;
use std::time::Duration;

use hygge_runtime::contract::{ConnectorError, ErrorKind, RunScope};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::auth::AuthConfig;
use super::config::ConnectionSettings;
use super::token::TokenSource;

/// A tiberius client over TCP.
pub type SqlClient = Client<Compat<TcpStream>>;

/// A pooled client, with a flag for "a result stream was abandoned mid-way": such a
/// connection is closed instead of returned.
pub struct Conn {
    /// The client.
    pub client: SqlClient,
    /// Set while a statement's results are being read; a connection dropped with it set is
    /// out of sync with the server.
    pub busy: bool,
}

/// A connection checked out of a pool; returns to it when dropped.
pub type PooledConn = deadpool::managed::Object<Manager>;

/// How long a flow waits for a free pooled connection before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(600);

/// Opens and checks connections for one [`ConnectionSettings`].
pub struct Manager {
    settings: ConnectionSettings,
    tokens: Option<TokenSource>,
}

impl deadpool::managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnectorError;

    async fn create(&self) -> Result<Conn, ConnectorError> {
        let client = connect(&self.settings, self.tokens.as_ref()).await?;
        Ok(Conn {
            client,
            busy: false,
        })
    }

    /// The health check: a connection abandoned mid-result is closed, any other must answer
    /// `SELECT 1`.
    async fn recycle(
        &self,
        conn: &mut Conn,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<ConnectorError> {
        if conn.busy {
            return Err(deadpool::managed::RecycleError::message(
                "a statement's results were not read to the end",
            ));
        }
        conn.client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| sql_error(&self.settings, e))?
            .into_results()
            .await
            .map_err(|e| sql_error(&self.settings, e))?;
        Ok(())
    }
}

/// The shared pool of one connection.
#[derive(Clone)]
pub struct Pool {
    pool: deadpool::managed::Pool<Manager>,
    settings: Arc<ConnectionSettings>,
}

impl Pool {
    /// The run's pool for `settings`: created on first use, then shared by every home and
    /// store of the run with equal settings, and closed with the run.
    pub fn for_run(run: &RunScope, settings: &ConnectionSettings) -> Pool {
        run.shared(settings, || {
            let size = settings
                .pool_size
                .unwrap_or_else(|| default_pool_size(run.concurrency()));
            if !settings.encrypt {
                tracing::warn!(
                    connection = %settings.label,
                    "encrypt: false: traffic to {} (the login included) is not encrypted",
                    settings.host
                );
            }
            let tokens = TokenSource::for_auth(&settings.auth);
            let manager = Manager {
                settings: settings.clone(),
                tokens,
            };
            let pool = deadpool::managed::Pool::builder(manager)
                .max_size(size.max(1) as usize)
                .wait_timeout(Some(CHECKOUT_TIMEOUT))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .unwrap_or_else(|e| unreachable!("a pool with a runtime builds: {e}"));
            Pool {
                pool,
                settings: Arc::new(settings.clone()),
            }
        })
    }

    /// The settings behind this pool.
    pub fn settings(&self) -> &ConnectionSettings {
        &self.settings
    }

    /// A connection of its own, outside the pool and its `pool_size`, for something held for a
    /// whole run (a table's write lock) that must not starve the flows of pooled connections.
    ///
    /// # Errors
    /// The connection error (auth, network) with the server named.
    pub async fn dedicated(&self) -> Result<SqlClient, ConnectorError> {
        let manager = self.pool.manager();
        connect(&manager.settings, manager.tokens.as_ref()).await
    }

    /// A connection, waiting for a free one when all are in use.
    ///
    /// # Errors
    /// The connection error (auth, network) with the server named, or a timeout when every
    /// connection stayed busy.
    pub async fn get(&self) -> Result<PooledConn, ConnectorError> {
        use deadpool::managed::PoolError;
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(_) => ConnectorError::connection(format!(
                "waited {}s for a free connection to {} (pool_size {})",
                CHECKOUT_TIMEOUT.as_secs(),
                self.settings.label,
                self.pool.status().max_size
            ))
            .with_context("raise `pool_size` on the connection or lower `--concurrency`"),
            other => ConnectorError::internal(format!(
                "connection pool for {}: {other}",
                self.settings.label
            )),
        })
    }
}

/// The default pool size: the run's concurrency (`--concurrency`, hygge.yml, CPUs).
fn default_pool_size(concurrency: usize) -> u32 {
    u32::try_from(concurrency).unwrap_or(u32::MAX).max(2)
}

/// Opens one connection: TCP, TLS as configured, login.
///
/// # Errors
/// A connection error naming the server and port for network problems, an auth error for
/// a rejected login, each with what to try.
pub async fn connect(
    settings: &ConnectionSettings,
    tokens: Option<&TokenSource>,
) -> Result<SqlClient, ConnectorError> {
    let mut config = Config::new();
    config.host(&settings.host);
    config.port(settings.port);
    config.database(&settings.database);
    config.application_name("hygge");
    // The largest TDS packet: 8× fewer packets (and flushes) per bulk load than the 4 KiB default.
    config.packet_size(32_767);
    config.encryption(if settings.encrypt {
        EncryptionLevel::Required
    } else {
        // tiberius attempts TLS for the login even against a server without it, so "no
        // encryption" has to mean none at all.
        EncryptionLevel::NotSupported
    });
    if settings.trust_cert {
        config.trust_cert();
    }
    config.authentication(match (&settings.auth, tokens) {
        (AuthConfig::Sql { user, password }, _) => AuthMethod::sql_server(user, password),
        (AuthConfig::AccessToken(token), _) => AuthMethod::aad_token(token),
        (_, Some(tokens)) => AuthMethod::aad_token(tokens.token(settings).await?),
        (auth, None) => {
            return Err(ConnectorError::internal(format!(
                "no token source for {auth:?}"
            )));
        }
    });
    let address = format!("{}:{}", settings.host, settings.port);
    let where_ = || {
        format!(
            "{} ({address}, database {})",
            settings.label, settings.database
        )
    };
    let tcp = tokio::time::timeout(settings.timeout, TcpStream::connect(&address))
        .await
        .map_err(|_| {
            ConnectorError::connection(format!(
                "timed out after {}s connecting to {}",
                settings.timeout.as_secs(),
                where_()
            ))
            .with_context(
                "check that the server name and port are right and that a firewall allows it",
            )
        })?
        .map_err(|e| {
            ConnectorError::connection(format!("cannot reach {}: {e}", where_())).with_context(
                "check that the server name and port are right and that the server is running",
            )
        })?;
    tcp.set_nodelay(true).ok();
    let login = Client::connect(config, tcp.compat_write());
    match tokio::time::timeout(settings.timeout, login).await {
        Err(_) => Err(ConnectorError::connection(format!(
            "timed out after {}s logging in to {}",
            settings.timeout.as_secs(),
            where_()
        ))),
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(login_error(settings, &where_(), e)),
    }
}

fn login_error(
    settings: &ConnectionSettings,
    place: &str,
    e: tiberius::error::Error,
) -> ConnectorError {
    match &e {
        tiberius::error::Error::Server(token) if token.code() == 18456 => ConnectorError::new(
            ErrorKind::Auth,
            format!("login to {place} as {:?} was refused: {}", settings.auth, token.message()),
        )
        .with_context("check the user and password (or token) and that the login may use this database"),
        tiberius::error::Error::Server(token) if token.code() == 4060 => ConnectorError::config(
            format!("cannot open database on {place}: {}", token.message()),
        )
        .with_context("check `database`"),
        tiberius::error::Error::Tls(_) => ConnectorError::connection(format!(
            "TLS with {place} failed: {e}"
        ))
        .with_context("set `trust_cert: true` for a self-signed certificate, or `encrypt: false` for a server without TLS"),
        _ => ConnectorError::connection(format!("cannot log in to {place}: {e}"))
            .with_context("check the server name, port and `encrypt` setting"),
    }
}

/// A server error from a statement, with the server named.
pub fn sql_error(settings: &ConnectionSettings, e: tiberius::error::Error) -> ConnectorError {
    labelled_error(&settings.label, e)
}

/// A statement's error, naming the connection `label`: the server's own refusals are data
/// errors, a broken connection is a connection error (which the flow retries).
pub fn labelled_error(label: &str, e: tiberius::error::Error) -> ConnectorError {
    match &e {
        tiberius::error::Error::Server(token) => ConnectorError::data(format!(
            "{label} said: {} (error {})",
            token.message(),
            token.code()
        )),
        tiberius::error::Error::Io { .. } => {
            ConnectorError::connection(format!("lost the connection to {label}: {e}"))
        }
        _ => ConnectorError::data(format!("{label}: {e}")),
    }
}
