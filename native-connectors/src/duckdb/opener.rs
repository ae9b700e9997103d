//! Opening a DuckDB file: wait for another process holding it, then open it through the
//! ADBC driver; a failure names the DuckDB that wrote the file and the one hygge loaded.

use std::path::Path;
use std::sync::Arc;

use adbc_driver_manager::ManagedDriver;
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind};

use super::file_lock::FileLock;
use crate::adbc::driver::{AdbcOpener, db_error};
use crate::arrow_db::database::{as_text, query_all};
use crate::arrow_db::lock_file;
use crate::arrow_db::{ArrowConnection, ArrowDatabase, DbError, Opener};

/// Opens one DuckDB database.
pub struct DuckDbOpener {
    /// The driver, with `path` among its options.
    pub adbc: AdbcOpener,
    /// The file, unless in memory.
    pub file: Option<FileLock>,
}

impl Opener for DuckDbOpener {
    fn open(&self, label: &str, writes: bool) -> ConnectorResult<Arc<dyn ArrowDatabase>> {
        let mut driver = self.adbc.load_driver(label)?;
        if let Some(file) = &self.file
            && !file.path.exists()
        {
            if !writes {
                return Err(ConnectorError::config(format!(
                    "{label}: {} does not exist",
                    file.path.display()
                ))
                .with_context("check `path` (relative paths are taken from the project folder)"));
            }
            if let Some(folder) = file.path.parent() {
                std::fs::create_dir_all(folder).map_err(|e| {
                    ConnectorError::config(format!(
                        "{label}: cannot create {}: {e}",
                        folder.display()
                    ))
                })?;
            }
        }
        // Runs of hygge (in other processes, or this one) wait on the lock file; other
        // programs holding the database file are waited for by its own lock.
        let held = match &self.file {
            Some(file) => {
                let held = lock_file::hold(&file.path, file.timeout, label)?;
                file.wait_until_free(label)?;
                Some(held)
            }
            None => None,
        };
        let database = self.adbc.open_with(&mut driver).map_err(|e| {
            let mut error =
                db_error(&e).into_connector(ErrorKind::Config, label, "opening the database");
            if let Some(version) = library_version(&self.adbc, &mut driver) {
                let written = self
                    .file
                    .as_ref()
                    .and_then(|file| file_writer(&file.path))
                    .map(|writer| format!("the file was written by DuckDB {writer}; "))
                    .unwrap_or_default();
                error = error.with_context(format!(
                    "{written}hygge loaded DuckDB {version} from {}; a file written by a newer DuckDB needs that DuckDB's library (set `library:` or HYGGE_DUCKDB_LIBRARY)",
                    self.adbc.driver.library
                ));
            }
            error
        })?;
        Ok(match held {
            Some(lock) => Arc::new(Held {
                database,
                _lock: lock,
            }),
            None => database,
        })
    }
}

/// An open database file and its lock file, released together.
struct Held {
    database: Arc<dyn ArrowDatabase>,
    _lock: std::fs::File,
}

impl ArrowDatabase for Held {
    fn connect(&self) -> Result<Box<dyn ArrowConnection>, DbError> {
        self.database.connect()
    }
}

/// The version of the loaded library, asked of an in-memory database.
fn library_version(adbc: &AdbcOpener, driver: &mut ManagedDriver) -> Option<String> {
    let in_memory = AdbcOpener {
        driver: adbc.driver.clone(),
        options: Vec::new(),
        missing_driver_hint: String::new(),
        flavor: adbc.flavor,
    };
    let database = in_memory.open_with(driver).ok()?;
    let mut connection = database.connect().ok()?;
    let (_, batches) = query_all(
        connection.as_mut(),
        "SELECT library_version FROM pragma_version()",
        ErrorKind::Internal,
        "duckdb",
        "asking the version",
    )
    .ok()?;
    as_text(&batches)
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .next()?
}

/// The DuckDB version that wrote a database file, from its main header (the 32-byte
/// `library_git_desc` after the checksum, the magic, the storage version and four flags).
fn file_writer(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut header = [0u8; 84];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[8..12] != b"DUCK" {
        return None;
    }
    let desc = &header[52..84];
    let end = desc.iter().position(|b| *b == 0).unwrap_or(desc.len());
    let text = std::str::from_utf8(&desc[..end]).ok()?.trim();
    (!text.is_empty()).then(|| text.to_string())
}
