//! The component's config: the native parquet connector's keys, with paths as the host
//! mounted them.

use serde::Deserialize;

/// The JSON Schema `describe()` returns.
pub const JSON_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "path": {"type": "string", "description": "home: file, folder or glob; store: the entity folder"},
    "batch_size": {"type": "integer", "minimum": 1},
    "compression": {"enum": ["snappy", "gzip", "lz4", "brotli", "none"]},
    "compression_level": {"type": "integer"},
    "row_group_size": {"type": "integer", "minimum": 1},
    "part": {"type": "integer", "minimum": 0, "description": "which of `parts` parallel instances this is (home: reads every `parts`-th row group; store: writes its own file)"},
    "parts": {"type": "integer", "minimum": 1, "description": "how many instances share the run; a store's part 0 publishes"}
  },
  "required": ["path"],
  "additionalProperties": false
}"#;

/// Home keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeConfig {
    pub path: String,
    pub batch_size: Option<usize>,
    /// Which of `parts` readers of one run this instance is (0 when alone). Part `k`
    /// reads the row groups `k`, `k + parts`, … of the input, counted across its files
    /// in order, and marks the end of each with an empty batch (wit/README.md).
    #[serde(default)]
    pub part: u32,
    /// How many readers share the run.
    #[serde(default = "one")]
    pub parts: u32,
}

/// Store keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: String,
    /// The host re-chunks batches to it before `write`; accepted so configs stay alike.
    #[serde(rename = "batch_size")]
    pub _batch_size: Option<usize>,
    pub compression: Option<String>,
    pub compression_level: Option<u32>,
    pub row_group_size: Option<usize>,
    /// Which of `parts` writers of one run this instance is (0 when alone). Part 0 owns
    /// the staging folder: it creates it, and its commit (the host calls it last)
    /// publishes every part's file.
    #[serde(default)]
    pub part: u32,
    /// How many writers share the run.
    #[serde(default = "one")]
    pub parts: u32,
}

fn one() -> u32 {
    1
}

/// Parses a config, naming the problem.
pub fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, hygge_component_sdk::Error> {
    Ok(hygge_component_sdk::parse_config(json)?)
}
