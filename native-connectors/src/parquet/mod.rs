//! `type: parquet`: reads and writes Apache Parquet files.
//!
//! Home: a file, a folder (recursive) or a glob, decoded in parallel, with `columns`
//! projection pushed into the Parquet reader. Store: Parquet files (snappy by default) in a
//! staging folder beside the destination, published atomically on commit (see
//! `hygge_runtime::publish`). Config keys: [`crate::files::FileHomeConfig`] and
//! [`crate::files::FileStoreConfig`], without `format`.

use crate::files::{FileConnector, Format};

pub mod wasm;

/// The `parquet` connector.
pub static PARQUET: FileConnector = FileConnector {
    name: "parquet",
    description: "Apache Parquet files: a file, a folder or a glob",
    fixed_format: Some(Format::Parquet),
};

#[cfg(test)]
mod tests;
