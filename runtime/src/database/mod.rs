//! What every database connector shares, written once: the home's keys (`table` or
//! `query`, `partition_on` + `partitions`) and the store's (`if_exists`, `primary_key`,
//! `state_schema`, `parallel_workers`), the choice of publish by `if_exists`, reads of
//! several range partitions at once into one reader, and parallel load streams into a
//! staging table. A database connector adds its SQL, its wire format and its connections.

mod home_keys;
mod loads;
pub mod partition;
mod reads;
mod store_keys;

pub use home_keys::{HomeKeys, Partitioning, ResolvedHome, Source};
pub use loads::{Batches, LoadStreams};
pub use reads::{BatchSender, ParallelReader};
pub use store_keys::{
    IfExists, PublishPlan, StoreKeys, StoreKeysWritten, choose_publish, plan_publish,
};

/// Runs a connection check (`hygge debug`) on a runtime of its own: the checks run before
/// and outside any flow.
///
/// # Errors
/// The check's message, or why no runtime could be made.
pub fn on_own_runtime(
    check: impl std::future::Future<Output = Result<String, String>>,
) -> Result<String, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(check)
}
