//! A database store's shared keys, and how `if_exists` and the target decide the publish.

use std::fmt::Display;

use arrow_schema::SchemaRef;
use serde::Deserialize;

use crate::contract::{ConfigProblem, ConnectorError, ConnectorResult, RunContext};
use crate::publish::SqlPublish;

/// What to do when the target table already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// Stop with an error before loading anything (the default: safest).
    #[default]
    Fail,
    /// Add the rows to the table (new columns are added as nullable).
    Append,
    /// Swap in a new table holding just this run's rows.
    Replace,
    /// Empty the table and load this run's rows, keeping its definition.
    Truncate,
    /// Replace the rows whose `primary_key` matches a loaded row; insert the others.
    Merge,
}

/// The store keys every database connector takes, checked.
#[derive(Debug, Clone)]
pub struct StoreKeys {
    /// What to do when the table exists.
    pub if_exists: IfExists,
    /// The key columns `merge` matches rows on.
    pub primary_key: Vec<String>,
    /// Where `hygge_state` lives, when not in the table's schema.
    pub state_schema: Option<String>,
    /// Concurrent load streams.
    pub parallel_workers: usize,
    /// Rows per batch handed to a load stream.
    pub batch_size: usize,
}

/// The shared store keys as written, `None` where the user set nothing.
#[derive(Debug, Clone)]
pub struct StoreKeysWritten {
    /// `if_exists`.
    pub if_exists: IfExists,
    /// `primary_key`.
    pub primary_key: Vec<String>,
    /// `state_schema`.
    pub state_schema: Option<String>,
    /// `parallel_workers`.
    pub parallel_workers: Option<usize>,
    /// `batch_size`.
    pub batch_size: Option<usize>,
}

impl StoreKeys {
    /// Checks the keys as written, filling in the connector's defaults for workers and
    /// batch size.
    ///
    /// # Errors
    /// The key at fault and what to write.
    pub fn check(
        written: StoreKeysWritten,
        default_workers: usize,
        default_batch_size: usize,
    ) -> Result<StoreKeys, ConfigProblem> {
        let StoreKeysWritten {
            if_exists,
            primary_key,
            state_schema,
            parallel_workers,
            batch_size,
        } = written;
        let parallel_workers = parallel_workers.unwrap_or(default_workers);
        if !(1..=16).contains(&parallel_workers) {
            return Err(ConfigProblem::key(
                "parallel_workers",
                "must be between 1 and 16",
            ));
        }
        if batch_size == Some(0) {
            return Err(ConfigProblem::key("batch_size", "must be at least 1"));
        }
        if if_exists == IfExists::Merge && primary_key.is_empty() {
            return Err(ConfigProblem::key(
                "if_exists",
                "`merge` needs the key columns to match rows on",
            )
            .hint("set `primary_key` on the store, or `watermark.primary_key` on the entity"));
        }
        if state_schema.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(ConfigProblem::key("state_schema", "is empty"));
        }
        Ok(StoreKeys {
            if_exists,
            primary_key,
            state_schema,
            parallel_workers,
            batch_size: batch_size.unwrap_or(default_batch_size),
        })
    }
}

/// How this run publishes, by `if_exists` and the target's columns (`None` when it does not
/// exist). A full reload of an entity with a watermark replaces the rows whatever
/// `if_exists` says (but `fail`), so that a reset never doubles them.
///
/// # Errors
/// A config error when the table exists under `fail`, or a merge key is missing on a side.
pub fn choose_publish(
    if_exists: IfExists,
    primary_key: &[String],
    target: Option<&[&str]>,
    schema: &SchemaRef,
    context: &RunContext,
    table: &dyn Display,
    place: &str,
) -> ConnectorResult<SqlPublish> {
    Ok(match (target, if_exists) {
        (None, _) => SqlPublish::Rename,
        (Some(_), if_exists) if context.reload && if_exists != IfExists::Fail => SqlPublish::Swap,
        (Some(_), IfExists::Fail) => {
            return Err(ConnectorError::config(format!(
                "table {table} already exists in {place} and if_exists is fail"
            ))
            .with_context(
                "set `if_exists: append`, `replace`, `truncate` or `merge` on the store",
            ));
        }
        (Some(_), IfExists::Replace) => SqlPublish::Swap,
        (Some(_), IfExists::Append) => SqlPublish::Insert { truncate: false },
        (Some(_), IfExists::Truncate) => SqlPublish::Insert { truncate: true },
        (Some(columns), IfExists::Merge) => {
            for key in primary_key {
                let in_target = columns.contains(&key.as_str());
                if !in_target || schema.column_with_name(key).is_none() {
                    return Err(ConnectorError::config(format!(
                        "the merge key `{key}` is not a column of {} in table {table}",
                        if in_target { "the home" } else { "the target" }
                    ))
                    .with_context("set `primary_key` to columns both sides have"));
                }
            }
            SqlPublish::Merge {
                keys: primary_key.to_vec(),
            }
        }
    })
}

/// What one run writes, decided before any row: the publish, whether it writes into the
/// existing target, the adapter of an incremental run's new columns (by
/// `on_schema_change`), and the schema loaded into staging.
pub struct PublishPlan {
    /// How the staged rows reach the target.
    pub publish: SqlPublish,
    /// Whether the publish inserts into the existing target (append, truncate, merge),
    /// whose columns the loaded ones must then fit.
    pub into_target: bool,
    /// Drops or refuses the source's new columns, for an incremental run into the target.
    pub adapter: Option<crate::contract::SchemaAdapter>,
    /// The columns loaded into staging.
    pub loaded: SchemaRef,
}

/// The [`PublishPlan`] for `keys`, the target's columns (`None` when it does not exist) and
/// the source's `schema`.
///
/// # Errors
/// [`choose_publish`]'s, and a config error when an incremental run's columns differ from
/// the target's and `on_schema_change` says fail.
pub fn plan_publish(
    keys: &StoreKeys,
    target: Option<&[&str]>,
    schema: &SchemaRef,
    context: &RunContext,
    table: &dyn Display,
    place: &str,
) -> ConnectorResult<PublishPlan> {
    let publish = choose_publish(
        keys.if_exists,
        &keys.primary_key,
        target,
        schema,
        context,
        table,
        place,
    )?;
    let into_target = matches!(
        publish,
        SqlPublish::Insert { .. } | SqlPublish::Merge { .. }
    );
    let adapter = match (target, context.run_type) {
        (Some(target), crate::contract::RunType::Incremental) if into_target => {
            crate::publish::target_schema_policy(schema, target, context.on_schema_change, table)?
        }
        _ => None,
    };
    let loaded = adapter
        .as_ref()
        .map_or(schema.clone(), |a| a.target().clone());
    Ok(PublishPlan {
        publish,
        into_target,
        adapter,
        loaded,
    })
}
