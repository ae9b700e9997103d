//! Delta Lake tables on top of hygge's commit log (`table_format: delta`): each commit that
//! changes data also gets a Delta log entry, written once its files are visible.

mod log;
mod schema;

pub use log::{DELTA_LOG_DIR, DeltaLog, partition_values};
pub use schema::delta_schema;
