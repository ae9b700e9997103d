//! The one publish layer: stores stage what they write, then publish it atomically together
//! with the entity's watermark state, and clean up staging left by crashed runs.
//!
//! - [`StagedDir`]: a folder of files (local disk), swapped in by one exchange, with its
//!   state in a hidden file inside it ([`FolderState`]).
//! - [`SqlStaging`]: a database table, published in one transaction with its state row
//!   ([`SqlState`]); a SQL store supplies its [`SqlDialect`] and [`SqlDatabase`].
//! - [`objects`] (feature `objects`): files on an object store, published by one
//!   conditional write of a commit log entry that also carries the state.

mod folder;
mod folder_state;
#[cfg(feature = "objects")]
pub mod objects;
mod sql;
mod sql_checks;
mod sql_state;

pub use folder::{STAGING_PREFIX, StagedDir, holds_data, io_error, is_hidden};
pub use folder_state::{FolderState, STATE_FILE, read_state_file};
pub use sql::{
    KeepNewest, PublishColumns, SqlConnection, SqlDatabase, SqlDialect, SqlPublish, SqlStaging,
    SqlTable, standard_literal, standard_quote, statement_calls,
};
pub use sql_checks::{staged_batch, target_schema_policy};
pub use sql_state::{STATE_TABLE, SqlState, state_table_columns};
