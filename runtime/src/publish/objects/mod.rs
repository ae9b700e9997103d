//! Publishing to object stores (S3, Azure, GCS), which have no rename of a folder: a run
//! stages its files under a hidden prefix and publishes them with one conditional write of
//! the next entry of a commit log, which also carries the watermark state.
//!
//! ```text
//! <destination>/
//!   part-….parquet            the committed data files, as plain readers see them
//!   _hygge/log/<version>.json the commit log: each entry lists the committed set
//!   _hygge/staging/<run id>/  a run's files until its commit is made visible
//!   _delta_log/<version>.json with `table_format: delta`: the Delta log, one entry a commit
//! ```
//!
//! hygge's own homes read the newest entry, so they see a commit whole the moment it is
//! made. A plain listing sees the new files appear, and then the replaced ones go, while
//! [`finish`] runs; after it, exactly the committed files.

mod delta;
mod destination;
mod errors;
mod log;
mod staging;
mod state;
#[cfg(test)]
mod tests;

pub use delta::{DELTA_LOG_DIR, delta_schema, partition_values};
pub use destination::ObjectDestination;
pub use errors::object_error;
pub use log::{Commit, CommitLog, DataFile, DeltaTable, HYGGE_DIR};
pub use staging::{ObjectStaging, STALE_STAGING_SECS, finish};
pub use state::ObjectState;
