//! `type: local`: local files in the `format` chosen: `parquet` (default), `csv` or
//! `ndjson` (Python hygge's `local` type). Same engine and same guarantees as `parquet`.

use crate::files::FileConnector;

/// The `local` connector.
pub static LOCAL: FileConnector = FileConnector {
    name: "local",
    description: "local files: parquet, csv or ndjson (`format`)",
    fixed_format: None,
};
