//! The keys each file may hold and the typed form of the settings that merge by precedence.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

use crate::contract::{OnSchemaChange, RunType};

/// Keys of `hygge.yml`.
pub(crate) const PROJECT_KEYS: &[&str] = &[
    "name",
    "flows_dir",
    "connections",
    "defaults",
    "options",
    "flows",
    "journal",
    "components",
];

/// Keys of `hygge.yml` `options`.
pub(crate) const PROJECT_OPTION_KEYS: &[&str] = &[
    "concurrency",
    "max_parallel_entities",
    "continue_on_error",
    "log_level",
];

/// Keys accepted so that Python hygge projects run, which this version does not act on;
/// each is named in a warning once, with why.
pub(crate) const ACCEPTED_UNUSED_KEYS: &[(&str, &str)] = &[(
    "options.continue_on_error",
    "is accepted but not used at flow level: set `options.continue_on_error` in hygge.yml",
)];

/// Keys that may appear in a flow, in `defaults` and in an entity, merged by precedence.
pub(crate) const SETTINGS_KEYS: &[&str] = &[
    "home",
    "store",
    "run_type",
    "load_type",
    "full_drop",
    "watermark",
    "watermark_column",
    "watermark_initial",
    "journal",
    "queue_size",
    "timeout",
    "columns",
    "schema_overrides",
    "options",
    "batch_size",
    "if_exists",
    "parallel_workers",
    "allow_empty",
    "on_schema_change",
];

/// Keys Python hygge accepted and silently ignored. Accepted so old projects run, with a
/// warning so that nobody believes they do something.
pub(crate) const IGNORED_LEGACY_KEYS: &[&str] =
    &["key_column", "source_config", "deletion_query_timeout"];

/// Keys only a flow file has.
pub(crate) const FLOW_ONLY_KEYS: &[&str] = &["name", "entities", "defaults"];

/// Keys of a flow's or entity's `options` map.
pub(crate) const OPTION_KEYS: &[&str] = &[
    "batch_size",
    "queue_size",
    "timeout",
    "if_exists",
    "parallel_workers",
];

/// Settings that go to the store's own config when written at flow or entity level
/// (Python hygge's behaviour), unless the store sets them itself. A store that has no such
/// setting gets none, with a warning.
pub(crate) const STORE_LEVEL_KEYS: &[&str] = &[
    "batch_size",
    "if_exists",
    "parallel_workers",
    "schema_overrides",
];

/// `hygge.yml` `options`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectOptions {
    /// How many entity flows run at once (`max_parallel_entities` in Python hygge).
    #[serde(alias = "max_parallel_entities")]
    pub concurrency: Option<usize>,
    /// Keep starting flows after one failed.
    #[serde(default)]
    pub continue_on_error: bool,
    /// `debug`, `info`, `warning`/`warn` or `error`.
    pub log_level: Option<String>,
}

/// The settings of one layer (project defaults, flow, flow defaults, entity, command line),
/// typed so that a wrong value is reported in the file that holds it.
// Some fields are only parsed, so that a wrong type is reported in the file that holds it;
// `normalize` moves their values into place before the merged settings are read.
#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Settings {
    pub home: Option<Value>,
    pub store: Option<Value>,
    #[serde(alias = "load_type")]
    pub run_type: Option<RunType>,
    pub full_drop: Option<bool>,
    pub watermark: Option<WatermarkConfig>,
    pub watermark_column: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    pub watermark_initial: Option<String>,
    pub journal: Option<Value>,
    pub queue_size: Option<usize>,
    pub timeout: Option<u64>,
    pub columns: Option<Vec<String>>,
    pub schema_overrides: Option<BTreeMap<String, String>>,
    pub options: Option<FlowOptions>,
    pub batch_size: Option<usize>,
    pub if_exists: Option<String>,
    pub parallel_workers: Option<usize>,
    pub allow_empty: Option<bool>,
    pub on_schema_change: Option<OnSchemaChange>,
}

/// A flow's or entity's `options` (Python hygge ignored these; hygge applies them).
#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowOptions {
    pub batch_size: Option<usize>,
    pub queue_size: Option<usize>,
    pub timeout: Option<u64>,
    pub if_exists: Option<String>,
    pub parallel_workers: Option<usize>,
    pub continue_on_error: Option<bool>,
}

/// An entity's `watermark:` mapping (Python hygge's form, the roadmap's, and the short one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkConfig {
    /// The key column(s) identifying a row; SQL stores merge on them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub primary_key: Vec<String>,
    /// The column whose greatest loaded value is the watermark.
    #[serde(alias = "watermark_column")]
    pub column: Option<String>,
    /// Where the first run starts (inclusive).
    #[serde(default, deserialize_with = "scalar_text")]
    pub initial: Option<String>,
    /// How far below the watermark each run re-reads: a number, or a duration (`2h`).
    #[serde(default, deserialize_with = "scalar_text")]
    pub lookback: Option<String>,
}

/// Deserializes a YAML scalar (text, number, date) as its text, so `initial: 2024-01-01`
/// and `initial: 100` both read as written.
pub fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(_) => {
            return Err(D::Error::custom(
                "must be a single value, such as 2024-01-01 or 100",
            ));
        }
    })
}

/// Deserializes a string or a list of strings as a list (`primary_key: id` or
/// `primary_key: [a, b]`). Connectors use it for keys such as `partition_by`.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}
