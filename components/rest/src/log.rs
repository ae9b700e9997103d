//! Lines for the flow's log, through the host.

use hygge_component_sdk::log;
use hygge_component_sdk::types::LogLevel;

/// An info line.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// A warning.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}
