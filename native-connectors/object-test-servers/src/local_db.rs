//! The local databases' test tools, installed by `.ci/run` under the tools folder: the
//! standalone `libduckdb.so` hygge loads, the SQLite ADBC driver from PyPI, and Python's
//! `duckdb` and `sqlite3`, the independent readers of what hygge writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{ServerError, step, tools_dir};

/// The libduckdb `.ci/run` installs (npm `@duckdb/node-bindings-linux-x64`).
///
/// # Errors
/// [`ServerError::NotInstalled`] with the install command.
pub fn duckdb_library() -> Result<PathBuf, ServerError> {
    let path = tools_dir().join("node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so");
    if path.exists() {
        return Ok(path);
    }
    Err(ServerError::NotInstalled {
        what: "libduckdb",
        path: path.display().to_string(),
        install: format!(
            "npm install --prefix {} --save-exact @duckdb/node-bindings-linux-x64@1.5.6-r.1 (or bash .ci/run)",
            tools_dir().display()
        ),
    })
}

fn python_with(module: &'static str, install: &str) -> Result<PathBuf, ServerError> {
    let python = tools_dir().join("venv/bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if installed {
        return Ok(python);
    }
    let venv = tools_dir().join("venv");
    Err(ServerError::NotInstalled {
        what: module,
        path: python.display().to_string(),
        install: format!(
            "python3 -m venv {0} && {0}/bin/pip install {install} (or bash .ci/run)",
            venv.display()
        ),
    })
}

/// The SQLite ADBC driver library of the PyPI wheel `adbc-driver-sqlite`.
///
/// # Errors
/// [`ServerError::NotInstalled`] with the install command.
pub fn sqlite_adbc_driver() -> Result<PathBuf, ServerError> {
    wheel_driver("adbc_driver_sqlite", "adbc-driver-sqlite==1.13.0")
}

/// The PostgreSQL ADBC driver library of the PyPI wheel `adbc-driver-postgresql`.
///
/// # Errors
/// [`ServerError::NotInstalled`] with the install command.
pub fn postgres_adbc_driver() -> Result<PathBuf, ServerError> {
    wheel_driver("adbc_driver_postgresql", "adbc-driver-postgresql==1.13.0")
}

/// The driver library a PyPI `adbc-driver-*` wheel ships (its module's `_driver_path()`).
fn wheel_driver(module: &'static str, install: &str) -> Result<PathBuf, ServerError> {
    let python = python_with(module, install)?;
    let output = Command::new(python)
        .args([
            "-c",
            &format!("import {module}; print({module}._driver_path())"),
        ])
        .output()
        .map_err(|e| step(format!("finding the driver of {module}"), e))?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ))
}

const DUCKDB_SCRIPT: &str = r#"
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == "read")
con.execute("SET TimeZone = 'UTC'")
result = con.execute(sys.argv[2])
if result.description:
    for row in result.fetchall():
        print("|".join("NULL" if v is None else str(v) for v in row))
con.close()
"#;

const SQLITE_SCRIPT: &str = r#"
import sys, sqlite3
con = sqlite3.connect(sys.argv[1])
sql = sys.argv[2]
if sql.lstrip().upper().startswith(("SELECT", "WITH", "PRAGMA")):
    for row in con.execute(sql).fetchall():
        print("|".join("NULL" if v is None else str(v) for v in row))
else:
    con.executescript(sql)
    con.commit()
con.close()
"#;

fn run_script(python: PathBuf, args: &[&str], what: &str) -> Result<String, ServerError> {
    let output = Command::new(python)
        .args(args)
        .output()
        .map_err(|e| step(what, e))?;
    if !output.status.success() {
        return Err(step(what, String::from_utf8_lossy(&output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_string())
}

/// Runs `sql` on the DuckDB file `db` with Python's `duckdb` (read-only unless `write`),
/// each result row a line of `|`-joined values (`NULL` for nulls), session time zone UTC.
///
/// # Errors
/// Not installed, or DuckDB's error.
pub fn py_duckdb(db: &Path, sql: &str, write: bool) -> Result<String, ServerError> {
    let python = python_with("duckdb", "duckdb==1.5.6")?;
    let db = db.display().to_string();
    let mode = if write { "write" } else { "read" };
    run_script(
        python,
        &["-c", DUCKDB_SCRIPT, &db, sql, mode],
        &format!("python duckdb on {db}: {sql}"),
    )
}

/// Runs `sql` on the SQLite file `db` with Python's `sqlite3`: a query's rows as
/// [`py_duckdb`] prints them, or other statements as a script, committed.
///
/// # Errors
/// Not installed, or SQLite's error.
pub fn py_sqlite(db: &Path, sql: &str) -> Result<String, ServerError> {
    let python = python_with("sqlite3", "(python3's own sqlite3)")?;
    let db = db.display().to_string();
    run_script(
        python,
        &["-c", SQLITE_SCRIPT, &db, sql],
        &format!("python sqlite3 on {db}: {sql}"),
    )
}

/// A Python process holding the DuckDB file `db` open for writing (and so its lock) until
/// [`DuckDbHolder::release`] or drop.
pub struct DuckDbHolder {
    child: Child,
}

/// What the holder prints once it holds the file.
const HOLDING: &str = "holding";

impl DuckDbHolder {
    /// Opens `db` in another process and returns once it is held (an event: the line the
    /// process prints).
    ///
    /// # Errors
    /// Not installed, or the process could not open the file.
    pub fn hold(db: &Path) -> Result<DuckDbHolder, ServerError> {
        let python = python_with("duckdb", "duckdb==1.5.6")?;
        let mut child = Command::new(python)
            .args([
                "-c",
                "import sys, duckdb\ncon = duckdb.connect(sys.argv[1])\nprint('holding', flush=True)\nsys.stdin.read()\ncon.close()",
                &db.display().to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| step("starting the holder", e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| step("the holder", "no stdout"))?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .map_err(|e| step("the holder", e))?;
        if line.trim() != HOLDING {
            return Err(step("the holder", "it ended without opening the file"));
        }
        Ok(DuckDbHolder { child })
    }

    /// Closes the file and waits for the process to end.
    pub fn release(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            stdin.flush().ok();
        }
        self.child.wait().ok();
    }
}

impl Drop for DuckDbHolder {
    fn drop(&mut self) {
        self.stop();
    }
}
