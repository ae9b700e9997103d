//! Real object-store emulators for tests: moto's S3 server and Azurite's blob service (and
//! `deltalake`, an independent reader of Delta tables),
//! installed by `.ci/run` under `~/.cache/hygge/tools` (or `$HYGGE_TEST_TOOLS`), started
//! on 127.0.0.1 on a free port, and stopped when dropped.
//!
//! Start-up waits for the line each server prints once it listens, never for a duration.
//! When a server is not installed, starting it fails with the command that installs it:
//! a test never skips silently.

mod azurite;
mod delta;
mod http;
mod local_db;
mod moto;
mod process;

pub use azurite::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
pub use delta::{DeltaRead, read_delta};
pub use local_db::{
    DuckDbHolder, duckdb_library, postgres_adbc_driver, py_duckdb, py_sqlite, sqlite_adbc_driver,
};
pub use moto::Moto;

/// Why a server could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The emulator is not installed where the tests look.
    #[error("{what} is not installed at {path}; install it with: {install}")]
    NotInstalled {
        /// Which emulator.
        what: &'static str,
        /// Where it was looked for.
        path: String,
        /// The command that installs it.
        install: String,
    },
    /// A step failed.
    #[error("{step} failed: {detail}")]
    Step {
        /// What was done.
        step: String,
        /// Its output, or the error.
        detail: String,
    },
}

/// Where `.ci/run` installs the emulators.
pub fn tools_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("HYGGE_TEST_TOOLS") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    std::path::Path::new(&home).join(".cache/hygge/tools")
}

fn step(what: impl Into<String>, e: impl std::fmt::Display) -> ServerError {
    ServerError::Step {
        step: what.into(),
        detail: e.to_string(),
    }
}
