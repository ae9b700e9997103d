//! A lock file beside a database file (`<file>.hygge-lock`), held with `flock` while a run
//! writes it: other hygge processes, and other runs of this process, wait for it. Each open
//! of the lock file is a lock of its own, so two runs in one process exclude each other too
//! (a database's own `fcntl` locks do not: they belong to the process).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hygge_runtime::contract::ConnectorError;
use rustix::fs::{FlockOperation, flock};

/// How often a waiting run asks again.
const POLL: Duration = Duration::from_millis(100);

/// The lock file of `database`.
pub fn lock_file_of(database: &Path) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(".hygge-lock");
    database.with_file_name(name)
}

/// Takes the lock of `database`, waiting up to `timeout` (saying so) while another run
/// holds it; released when the returned file is dropped, or the process ends.
///
/// # Errors
/// A config error naming the database when it is still held after `timeout`, or the lock
/// file cannot be made.
pub fn hold(database: &Path, timeout: Duration, label: &str) -> Result<File, ConnectorError> {
    let path = lock_file_of(database);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            ConnectorError::config(format!(
                "{label}: cannot open the lock file {}: {e}",
                path.display()
            ))
        })?;
    let started = Instant::now();
    let mut said = false;
    while flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        if started.elapsed() >= timeout {
            return Err(ConnectorError::config(format!(
                "{label}: {} is locked by another run (one writer at a time); waited {} s",
                database.display(),
                timeout.as_secs()
            ))
            .with_context("let the other run finish, or raise `lock_timeout`"));
        }
        if !said {
            tracing::warn!(
                file = %database.display(),
                timeout_s = timeout.as_secs(),
                "another run is writing the database; waiting for it"
            );
            said = true;
        }
        std::thread::sleep(POLL.min(timeout.saturating_sub(started.elapsed())));
    }
    Ok(file)
}
