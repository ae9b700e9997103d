//! The YAML config of file homes and stores (`type: parquet` and `type: local`).

use serde::Deserialize;

use super::format::{Format, TextOptions};

/// Which implementation runs a connector that exists both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// In-process Rust: the fastest path.
    #[default]
    Native,
    /// The portable component, in the Wasm sandbox.
    Wasm,
}

/// A file home: where to read and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHomeConfig {
    /// A file, a folder (read recursively, sorted; hidden and `_`-prefixed entries skipped) or
    /// a glob. Relative to the project folder, or an object-store URL (`s3://`,
    /// `abfss://`, `az://`, `gs://`). Without `{entity}`, the entity name is appended as a
    /// sub-folder unless the entity sets its own path.
    pub path: String,
    /// For a URL: the connection under `connections:` that signs in (default: the cloud's
    /// credential chain from the environment).
    pub connection: Option<String>,
    /// `parquet` (default), `csv` or `ndjson`. Only `type: local` reads other formats.
    pub format: Option<Format>,
    /// CSV/NDJSON reading options: `delimiter`, `has_header`, `infer_schema_length`.
    #[serde(default)]
    pub format_options: Option<TextOptions>,
    /// Rows per batch read.
    pub batch_size: Option<usize>,
    /// `native` (default) or `wasm`: the portable component in the sandbox.
    #[serde(default)]
    pub runtime: Runtime,
    /// Memory cap of the component instance in MiB, for `runtime: wasm` (default 512).
    pub memory_limit: Option<usize>,
    /// Seconds one call into the component may take, for `runtime: wasm` (default 60).
    pub call_timeout: Option<u64>,
}

/// A file store: where to write and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStoreConfig {
    /// The folder to write under; the entity name is appended unless the path names
    /// `{entity}`. Relative to the project folder, or an object-store URL (`s3://`,
    /// `abfss://`, `az://`, `gs://`).
    pub path: String,
    /// For a URL: the connection under `connections:` that signs in (default: the cloud's
    /// credential chain from the environment).
    pub connection: Option<String>,
    /// `parquet` (default), `csv` or `ndjson`. Only `type: local` writes other formats.
    pub format: Option<Format>,
    /// Parquet codec: `snappy` (default), `zstd`, `gzip`, `lz4`, `brotli` or `none`.
    pub compression: Option<String>,
    /// Level for zstd (1–22, default 3), gzip (0–9, default 6) or brotli (0–11, default 1).
    pub compression_level: Option<i32>,
    /// Rows per Parquet row group (default 1,048,576).
    pub row_group_size: Option<usize>,
    /// Rows per batch handed to the encoder (the flow re-chunks to it).
    pub batch_size: Option<usize>,
    /// File names: `{sequence}`, `{sequence:020d}`, `{run_id}`, `{name}`, `{flow_name}`.
    /// Default `part-{run_id}-{sequence:05d}`; the format's suffix is added.
    pub file_pattern: Option<String>,
    /// Columns whose values become hive-style sub-folders (`col=value/`). The columns stay
    /// in the files too.
    #[serde(default, deserialize_with = "hygge_runtime::config::one_or_many")]
    pub partition_by: Vec<String>,
    /// CSV writing options: `delimiter`.
    pub format_options: Option<StoreTextOptions>,
    /// `delta`: publish a Delta Lake table (a `_delta_log/` entry per run) beside the
    /// Parquet files, locally or on an object store.
    pub table_format: Option<TableFormat>,
    /// `native` (default) or `wasm`: the portable component in the sandbox.
    #[serde(default)]
    pub runtime: Runtime,
    /// Memory cap of the component instance in MiB, for `runtime: wasm` (default 512).
    pub memory_limit: Option<usize>,
    /// Seconds one call into the component may take, for `runtime: wasm` (default 60).
    pub call_timeout: Option<u64>,
}

/// A table format a Parquet store publishes besides its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Delta Lake.
    Delta,
}

/// CSV writing options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreTextOptions {
    /// The CSV field separator.
    #[serde(alias = "separator")]
    pub delimiter: Option<char>,
}
