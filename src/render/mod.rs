//! How results reach people: live progress, the summary table, JSON.

pub mod progress;
pub mod summary;
