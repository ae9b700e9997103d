//! Checks every SQL store makes before loading into an existing table: how the source's
//! columns may differ from the table's (`on_schema_change`), and that a merge's keys hold
//! no NULL.

use std::fmt::Display;

use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;

use crate::contract::{ConnectorError, ConnectorResult, OnSchemaChange, SchemaAdapter};

/// An incremental run into an existing table (its columns `target`) whose columns differ
/// from the source's, under `on_schema_change`: `fail` stops before loading and lists the
/// differences; `evolve` adds the new columns (nullable) and leaves missing nullable ones
/// NULL; `ignore` drops the new columns. The database converts values to the table's
/// types, so names are compared.
///
/// # Errors
/// Under `fail`, a config error listing the differences.
pub fn target_schema_policy(
    schema: &SchemaRef,
    target: &[&str],
    policy: OnSchemaChange,
    table: &dyn Display,
) -> ConnectorResult<Option<SchemaAdapter>> {
    let has = |name: &str| target.contains(&name);
    let added: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| !has(n))
        .collect();
    let missing: Vec<&str> = target
        .iter()
        .copied()
        .filter(|n| schema.field_with_name(n).is_err())
        .collect();
    if added.is_empty() && missing.is_empty() {
        return Ok(None);
    }
    match policy {
        OnSchemaChange::Fail => {
            let mut differences: Vec<String> =
                added.iter().map(|n| format!("new column `{n}`")).collect();
            differences.extend(
                missing
                    .iter()
                    .map(|n| format!("column `{n}` is gone from the source")),
            );
            Err(ConnectorError::config(format!(
                "the source's columns differ from {table}'s ({}); on_schema_change is `fail`, so nothing was loaded",
                differences.join("; ")
            ))
            .with_context("set `on_schema_change: evolve` to add the new columns, or `ignore` to keep the table's columns"))
        }
        OnSchemaChange::Evolve => Ok(None),
        OnSchemaChange::Ignore => Ok(Some(SchemaAdapter::project(schema, |f| has(f.name())))),
    }
}

/// A batch as a SQL store loads it into its staging table: checked to have the columns the
/// store was opened with (`opened`), with no NULL merge key, and adapted to the target's
/// columns (`adapter`, under `on_schema_change: ignore`). `None` for a batch of no rows,
/// which loads nothing.
///
/// # Errors
/// A data error naming the columns or the key at fault.
pub fn staged_batch(
    batch: RecordBatch,
    opened: &SchemaRef,
    publish: &super::SqlPublish,
    adapter: Option<&SchemaAdapter>,
) -> ConnectorResult<Option<RecordBatch>> {
    crate::contract::check_batch_schema(opened, &batch)?;
    if let super::SqlPublish::Merge { keys } = publish {
        refuse_null_keys(&batch, keys)?;
    }
    if batch.num_rows() == 0 {
        return Ok(None);
    }
    match adapter {
        Some(adapter) => adapter.adapt(&batch).map(Some),
        None => Ok(Some(batch)),
    }
}

/// A merge matches rows by key with `=`, which a NULL never satisfies: such a row would be
/// inserted again by every run that reads it.
///
/// # Errors
/// A data error naming the key column that holds NULL.
fn refuse_null_keys(batch: &RecordBatch, keys: &[String]) -> ConnectorResult<()> {
    for key in keys {
        if batch
            .column_by_name(key)
            .is_some_and(|c| c.null_count() > 0)
        {
            return Err(ConnectorError::data(format!(
                "the merge key column `{key}` holds NULL, and a NULL key matches no row: it would \
                 be inserted again on every run"
            ))
            .with_context(
                "filter those rows out at the source, or merge on columns without NULLs",
            ));
        }
    }
    Ok(())
}
