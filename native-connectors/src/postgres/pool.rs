//! Connections: one deadpool pool per distinct connection, shared by every flow of the run.

use std::time::Duration;

use hygge_runtime::contract::{ConnectorError, RunScope};
use tokio_postgres::Client;

use super::connect::{PgSettings, connect};

/// A pooled client, with a flag for "a result stream was abandoned mid-way": such a
/// connection is closed instead of returned, since the server is still sending.
pub struct Conn {
    /// The client.
    pub client: Client,
    /// Set while a statement's results or a COPY are under way.
    pub busy: bool,
}

/// A connection checked out of a pool; returns to it when dropped.
pub type PooledConn = deadpool::managed::Object<Manager>;

/// How long a flow waits for a free pooled connection before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(600);

/// Opens and checks connections for one [`PgSettings`].
pub struct Manager {
    settings: PgSettings,
}

impl deadpool::managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnectorError;

    async fn create(&self) -> Result<Conn, ConnectorError> {
        Ok(Conn {
            client: connect(&self.settings).await?,
            busy: false,
        })
    }

    async fn recycle(
        &self,
        conn: &mut Conn,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<ConnectorError> {
        if conn.busy || conn.client.is_closed() {
            return Err(deadpool::managed::RecycleError::message(
                "the connection is closed or was left mid-statement",
            ));
        }
        Ok(())
    }
}

/// The run's shared pool of one connection.
#[derive(Clone)]
pub struct Pool {
    pool: deadpool::managed::Pool<Manager>,
}

impl Pool {
    /// The run's pool for `settings`: made on first use, then shared by every home and
    /// store of the run with equal settings, and closed with the run.
    pub fn for_run(run: &RunScope, settings: &PgSettings) -> Pool {
        run.shared(&settings.pool_key(), || {
            let size = settings
                .pool_size
                .unwrap_or_else(|| u32::try_from(run.concurrency()).unwrap_or(u32::MAX).max(2));
            let pool = deadpool::managed::Pool::builder(Manager {
                settings: settings.clone(),
            })
            .max_size(size.max(1) as usize)
            .wait_timeout(Some(CHECKOUT_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .unwrap_or_else(|e| unreachable!("a pool with a runtime builds: {e}"));
            Pool { pool }
        })
    }

    /// The settings behind this pool.
    pub fn settings(&self) -> &PgSettings {
        &self.pool.manager().settings
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
                self.settings().label,
                self.pool.status().max_size
            ))
            .with_context("raise `pool_size` on the connection or lower `--concurrency`"),
            other => ConnectorError::internal(format!(
                "connection pool for {}: {other}",
                self.settings().label
            )),
        })
    }
}
