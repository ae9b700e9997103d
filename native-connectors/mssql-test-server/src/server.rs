//! The listener, its configuration, and the hooks tests use.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use crate::engine::database::Database;

/// How a [`TestServer`] behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// SQL logins (user, password) the server accepts.
    pub logins: Vec<(String, String)>,
    /// How long a statement waits for another session's transaction to
    /// release a table it wants to change before failing with error 1222.
    pub lock_timeout: Duration,
}

impl Default for ServerConfig {
    /// One login, `sa` / `Hygge-Test-1`, and a 30 s lock timeout.
    fn default() -> ServerConfig {
        ServerConfig {
            logins: vec![("sa".to_string(), "Hygge-Test-1".to_string())],
            lock_timeout: Duration::from_secs(30),
        }
    }
}

/// State shared by the listener and all sessions.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) db: Database,
    executed: Mutex<Vec<String>>,
    fail_bulk_after: AtomicU64,
    open: AtomicUsize,
    max_open: AtomicUsize,
    next_spid: AtomicU16,
    sessions: Mutex<Vec<AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Records an SQL batch or sp_executesql statement.
    pub(crate) fn record_sql(&self, sql: &str) {
        lock(&self.executed).push(sql.to_string());
    }

    /// Takes the armed bulk-load failure threshold, if any.
    pub(crate) fn take_bulk_failure(&self) -> Option<u64> {
        match self.fail_bulk_after.swap(u64::MAX, Ordering::SeqCst) {
            u64::MAX => None,
            n => Some(n),
        }
    }

    /// Whether `user` / `password` is a configured login.
    pub(crate) fn login_ok(&self, user: &str, password: &str) -> bool {
        self.config
            .logins
            .iter()
            .any(|(u, p)| u.eq_ignore_ascii_case(user) && p == password)
    }

    fn session_started(&self) -> u16 {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_open.fetch_max(now, Ordering::SeqCst);
        self.next_spid.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn session_ended(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TDS 7.4 server on 127.0.0.1 with an in-memory catalog, for tests.
///
/// Dropping it stops the listener and ends all its connections (open
/// transactions roll back).
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

impl TestServer {
    /// Starts a server on `127.0.0.1` with a free port.
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound. Must be called inside a Tokio runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<TestServer> {
        TestServer::start_on_port(0, config).await
    }

    /// Starts a server on `127.0.0.1:port` (0 picks a free port).
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound. Must be called inside a Tokio runtime.
    pub async fn start_on_port(port: u16, config: ServerConfig) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            db: Database::new(config.lock_timeout),
            config,
            executed: Mutex::new(Vec::new()),
            fail_bulk_after: AtomicU64::new(u64::MAX),
            open: AtomicUsize::new(0),
            max_open: AtomicUsize::new(0),
            next_spid: AtomicU16::new(51),
            sessions: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let spid = accept_shared.session_started();
                let session_shared = accept_shared.clone();
                let task = tokio::spawn(crate::session::run(stream, session_shared, spid));
                let mut sessions = lock(&accept_shared.sessions);
                sessions.retain(|h| !h.is_finished());
                sessions.push(task.abort_handle());
            }
        })
        .abort_handle();
        Ok(TestServer {
            addr,
            shared,
            accept,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Makes the next bulk load fail with an ERROR token once it has received
    /// `rows` rows; none of that load's rows are applied (and an open
    /// transaction is rolled back, as for any error).
    pub fn fail_next_bulk_load_after(&self, rows: u64) {
        self.shared
            .fail_bulk_after
            .store(rows.min(u64::MAX - 1), Ordering::SeqCst);
    }

    /// The largest number of sessions that were open at the same time.
    pub fn max_concurrent_sessions(&self) -> usize {
        self.shared.max_open.load(Ordering::SeqCst)
    }

    /// Sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Every SQL batch and `sp_executesql` statement text received, in order.
    pub fn executed_sql(&self) -> Vec<String> {
        lock(&self.shared.executed).clone()
    }

    /// Committed tables as `schema.table`, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .db
            .snapshot()
            .tables
            .values()
            .map(|t| format!("{}.{}", t.schema, t.name))
            .collect();
        names.sort();
        names
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept.abort();
        for h in lock(&self.shared.sessions).drain(..) {
            h.abort();
        }
    }
}
