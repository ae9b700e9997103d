//! Where hygge finds DuckDB: a shared library loaded at run time through its ADBC entry
//! point, so no build compiles DuckDB's C++ or downloads it.

use std::path::Path;

use crate::adbc::driver::DriverRef;

/// The environment variable naming the library when the connection does not.
pub const LIBRARY_ENV: &str = "HYGGE_DUCKDB_LIBRARY";

/// DuckDB's ADBC init function.
const ENTRYPOINT: &str = "duckdb_adbc_init";

/// The library's file name, found on the system's library path when nothing names it.
#[cfg(target_os = "macos")]
const SYSTEM_NAME: &str = "libduckdb.dylib";
#[cfg(not(target_os = "macos"))]
const SYSTEM_NAME: &str = "libduckdb.so";

/// The driver for DuckDB: `library:` (relative to the project) if set, else
/// `HYGGE_DUCKDB_LIBRARY` (`from_env`, read by the caller), else the system's library path.
pub fn driver(configured: Option<&str>, from_env: Option<String>, project_dir: &Path) -> DriverRef {
    let library = match (configured, from_env.filter(|v| !v.trim().is_empty())) {
        (Some(path), _) if Path::new(path).is_relative() => {
            project_dir.join(path).to_string_lossy().into_owned()
        }
        (Some(path), _) => path.to_string(),
        (None, Some(env)) => env,
        (None, None) => SYSTEM_NAME.to_string(),
    };
    DriverRef {
        library,
        entrypoint: Some(ENTRYPOINT.to_string()),
    }
}

/// How to get the library, for the error when it cannot be loaded.
pub fn install_hint() -> String {
    format!(
        "hygge loads DuckDB at run time and found no libduckdb. Set `library:` on the duckdb connection, or {LIBRARY_ENV}, to a libduckdb file, or put one on the system's library path. \
         Linux: `npm install --prefix ~/.cache/hygge/tools @duckdb/node-bindings-linux-x64@1.5.6-r.1` and \
         `export {LIBRARY_ENV}=~/.cache/hygge/tools/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so` \
         (or unzip libduckdb-linux-amd64.zip from https://github.com/duckdb/duckdb/releases into /usr/local/lib and run `sudo ldconfig`). \
         macOS: `brew install duckdb` and `export {LIBRARY_ENV}=$(brew --prefix)/lib/libduckdb.dylib`."
    )
}
