//! Loading an ADBC driver library at run time and opening a database with it. Nothing of a
//! database is compiled into hygge: the driver is a shared library found when a flow runs.

use adbc_core::error::{Error as AdbcError, Status};
use adbc_core::options::{AdbcVersion, OptionDatabase, OptionValue};
use adbc_core::{Driver, LOAD_FLAG_DEFAULT};
use adbc_driver_manager::{ManagedDatabase, ManagedDriver};
use hygge_runtime::contract::{ConnectorError, ErrorKind};

/// Which library a driver is, and the function that starts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DriverRef {
    /// A path to the library, or a name the driver manager resolves (a library on the
    /// system's search path, such as `adbc_driver_sqlite`, or a driver manifest).
    pub library: String,
    /// The init function, when neither `AdbcDriverInit` nor the one named after the library.
    pub entrypoint: Option<String>,
}

impl DriverRef {
    /// Whether `library` names a file (a path or a file name with an extension) rather than
    /// a name to resolve.
    fn is_file(&self) -> bool {
        self.library.contains(std::path::MAIN_SEPARATOR)
            || [".so", ".dylib", ".dll"]
                .iter()
                .any(|ext| self.library.contains(ext))
    }

    /// Loads the library and starts the driver, at ADBC 1.1 or, for an older driver, 1.0.
    ///
    /// # Errors
    /// A config error naming the library when it cannot be loaded or started.
    pub fn load(&self) -> Result<ManagedDriver, AdbcError> {
        let entrypoint = self.entrypoint.as_deref().map(str::as_bytes);
        let load = |version| {
            if self.is_file() {
                ManagedDriver::load_dynamic_from_filename(&self.library, entrypoint, version)
            } else {
                ManagedDriver::load_from_name(
                    &self.library,
                    entrypoint,
                    version,
                    LOAD_FLAG_DEFAULT,
                    None,
                )
            }
        };
        load(AdbcVersion::V110).or_else(|_| load(AdbcVersion::V100))
    }
}

/// Opens a database of `driver` with `options` (set in order, before the database starts).
///
/// # Errors
/// The driver's error.
pub fn open_database(
    driver: &mut ManagedDriver,
    options: &[(String, String)],
) -> Result<ManagedDatabase, AdbcError> {
    driver.new_database_with_opts(options.iter().map(|(key, value)| {
        (
            OptionDatabase::from(key.as_str()),
            OptionValue::String(value.clone()),
        )
    }))
}

/// A driver's error as hygge's: `kind` as the caller knows it, except where the driver's
/// status says the network failed (a connection error) or the login was refused; the message
/// names where and what was being done.
pub fn driver_error(kind: ErrorKind, label: &str, doing: &str, e: &AdbcError) -> ConnectorError {
    let kind = match e.status {
        Status::IO | Status::Timeout => ErrorKind::Connection,
        Status::Unauthenticated | Status::Unauthorized => ErrorKind::Auth,
        _ => kind,
    };
    let message = e.message.trim();
    ConnectorError::new(kind, format!("{label}: {doing} failed: {message}"))
}
