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

/// A merge matches rows by key with `=`, which a NULL never satisfies: such a row would be
/// inserted again by every run that reads it.
///
/// # Errors
/// A data error naming the key column that holds NULL.
pub fn refuse_null_keys(batch: &RecordBatch, keys: &[String]) -> ConnectorResult<()> {
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
