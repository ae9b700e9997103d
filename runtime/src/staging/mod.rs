//! Staged, atomic publishing, written once for every store that writes files.

mod files;

pub use files::{STAGING_PREFIX, StagedDir, holds_data, io_error, is_hidden};
