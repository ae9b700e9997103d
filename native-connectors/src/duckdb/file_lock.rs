//! Waiting for another process to let go of a database file. DuckDB holds an exclusive
//! `fcntl` lock on its file while a process has it open; hygge asks for the same lock,
//! without blocking, before opening, so a second writer waits (saying so) instead of
//! failing at once, and fails with a clear message once `lock_timeout` has passed.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hygge_runtime::contract::ConnectorError;
use rustix::fs::{FlockOperation, fcntl_lock};

/// A database file another process may hold, and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileLock {
    /// The database file.
    pub path: PathBuf,
    /// How long to wait.
    pub timeout: Duration,
}

/// How often a waiting open asks again.
const POLL: Duration = Duration::from_millis(100);

impl FileLock {
    /// Returns once no other process holds the file (at once when it does not exist yet).
    /// Call it only while this process does not have the file open: releasing the probe
    /// releases every `fcntl` lock this process holds on the file.
    ///
    /// # Errors
    /// A config error naming the file when it is still held after the timeout, or when it
    /// cannot be opened.
    pub fn wait_until_free(&self, label: &str) -> Result<(), ConnectorError> {
        let file = match File::options().read(true).write(true).open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(ConnectorError::config(format!(
                    "{label}: cannot open {}: {e}",
                    self.path.display()
                ))
                .with_context(
                    "check the file's permissions, and that `path` names a DuckDB database file",
                ));
            }
        };
        let started = Instant::now();
        let mut said = false;
        loop {
            match fcntl_lock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {
                    fcntl_lock(&file, FlockOperation::NonBlockingUnlock).ok();
                    return Ok(());
                }
                Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                    if started.elapsed() >= self.timeout {
                        return Err(ConnectorError::config(format!(
                            "{label}: {} is locked by another process (one writer at a time); waited {} s",
                            self.path.display(),
                            self.timeout.as_secs()
                        ))
                        .with_context("let the other process finish (a DuckDB shell or notebook holding the file open, another hygge run), or raise `lock_timeout`"));
                    }
                    if !said {
                        tracing::warn!(
                            file = %self.path.display(),
                            timeout_s = self.timeout.as_secs(),
                            "another process holds the database file; waiting for it"
                        );
                        said = true;
                    }
                    std::thread::sleep(POLL.min(self.timeout.saturating_sub(started.elapsed())));
                }
                Err(e) => {
                    return Err(ConnectorError::config(format!(
                        "{label}: cannot lock {}: {e}",
                        self.path.display()
                    )));
                }
            }
        }
    }
}
