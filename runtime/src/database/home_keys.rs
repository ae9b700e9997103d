//! A database home's own keys: what to read, and how to split the read.

use serde::Deserialize;

use crate::contract::{ConfigProblem, ConnectorConfig};

/// `home:` keys every database connector takes (besides its connection keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeKeys {
    /// `schema.table` to read (`{entity}` allowed). One of `table` or `query`.
    pub table: Option<String>,
    /// A custom SELECT (`{entity}` allowed). One of `table` or `query`.
    pub query: Option<String>,
    /// Rows per batch.
    pub batch_size: Option<usize>,
    /// A column to split the read on (which kinds, the connector says).
    pub partition_on: Option<String>,
    /// How many range reads (each on its own pooled connection) to split the read into.
    pub partitions: Option<usize>,
}

/// What a home reads: a table (of the connector's name type) or a custom SELECT.
#[derive(Debug, Clone)]
pub enum Source<T> {
    /// A whole table.
    Table(T),
    /// A custom SELECT, without a trailing `;`.
    Query(String),
}

impl<T> Source<T> {
    /// The table, when the home reads one (a place two flows of a run must not both write).
    pub fn table(&self) -> Option<&T> {
        match self {
            Source::Table(table) => Some(table),
            Source::Query(_) => None,
        }
    }
}

/// How messages name it: the table, or `query`.
impl<T: std::fmt::Display> std::fmt::Display for Source<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Table(table) => table.fmt(f),
            Source::Query(_) => f.write_str("query"),
        }
    }
}

/// A range split of the read.
#[derive(Debug, Clone)]
pub struct Partitioning {
    /// The column the ranges are taken on.
    pub column: String,
    /// How many ranges.
    pub partitions: usize,
}

/// A home's keys, checked.
#[derive(Debug, Clone)]
pub struct ResolvedHome<T> {
    /// Table or query.
    pub source: Source<T>,
    /// Rows per batch, when set on the home.
    pub batch_size: Option<usize>,
    /// Parallel range reads, when configured.
    pub partitioning: Option<Partitioning>,
}

/// Partitions when `partition_on` names no count.
const DEFAULT_PARTITIONS: usize = 4;

impl HomeKeys {
    /// Checks the keys: the source (`default_schema.{entity}` when a flow with entities
    /// names neither table nor query), the batch size, and the split.
    ///
    /// # Errors
    /// The key at fault and what to write.
    pub fn resolve<T>(
        self,
        config: &ConnectorConfig<'_>,
        default_schema: &str,
        key_kinds: &str,
        parse_table: impl Fn(&str) -> Result<T, ConfigProblem>,
    ) -> Result<ResolvedHome<T>, ConfigProblem> {
        let source = match (self.table, self.query) {
            (Some(table), None) => Source::Table(parse_table(&table)?),
            (None, Some(query)) if !query.trim().is_empty() => {
                Source::Query(query.trim().trim_end_matches(';').to_string())
            }
            (None, None) if config.has_entities => {
                Source::Table(parse_table(&format!("{default_schema}.{}", config.entity))?)
            }
            (Some(_), Some(_)) => {
                return Err(ConfigProblem::key(
                    "query",
                    "set either `table` or `query`, not both",
                ));
            }
            _ => {
                return Err(
                    ConfigProblem::key("table", "required key is missing").hint(format!(
                        "set `table: schema.table` (e.g. {default_schema}.{{entity}}) or `query: SELECT …`"
                    )),
                );
            }
        };
        if self.batch_size == Some(0) {
            return Err(ConfigProblem::key("batch_size", "must be at least 1"));
        }
        let partitioning = match (self.partition_on, self.partitions) {
            (Some(column), partitions) => {
                let partitions = partitions.unwrap_or(DEFAULT_PARTITIONS);
                if partitions == 0 {
                    return Err(ConfigProblem::key("partitions", "must be at least 1"));
                }
                Some(Partitioning { column, partitions })
            }
            (None, Some(_)) => {
                return Err(
                    ConfigProblem::key("partitions", "needs `partition_on: COLUMN`")
                        .hint(format!("name {key_kinds} column to split the read on")),
                );
            }
            (None, None) => None,
        };
        Ok(ResolvedHome {
            source,
            batch_size: self.batch_size,
            partitioning,
        })
    }
}
