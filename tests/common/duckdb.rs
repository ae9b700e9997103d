//! Helpers for end-to-end tests of the local databases: projects naming the libduckdb
//! `.ci/run` installs, and Python's `duckdb` and `sqlite3` as the independent readers.

use std::path::{Path, PathBuf};

use hygge_object_test_servers::{duckdb_library, py_duckdb, py_sqlite, sqlite_adbc_driver};

/// The libduckdb hygge loads in tests; panics with the install command when missing.
pub fn library() -> PathBuf {
    duckdb_library().unwrap_or_else(|e| panic!("{e}"))
}

/// The SQLite ADBC driver; panics with the install command when missing.
pub fn sqlite_driver() -> PathBuf {
    sqlite_adbc_driver().unwrap_or_else(|e| panic!("{e}"))
}

/// A project with the DuckDB connection `wh` (`warehouse.duckdb` in the project) and
/// `flows` (YAML lines indented under `flows:`).
pub fn duckdb_project(flows: &str) -> String {
    format!(
        "name: duckdb_e2e
connections:
  wh:
    type: duckdb
    path: warehouse.duckdb
    library: {}
flows:
{flows}",
        library().display()
    )
}

/// Python's duckdb on `db`, read-only; panics with its error.
pub fn duck(db: &Path, sql: &str) -> String {
    py_duckdb(db, sql, false).unwrap_or_else(|e| panic!("{e}"))
}

/// Python's duckdb on `db`, writing; panics with its error.
pub fn duck_write(db: &Path, sql: &str) -> String {
    py_duckdb(db, sql, true).unwrap_or_else(|e| panic!("{e}"))
}

/// Python's sqlite3 on `db`; panics with its error.
pub fn sqlite(db: &Path, sql: &str) -> String {
    py_sqlite(db, sql).unwrap_or_else(|e| panic!("{e}"))
}
