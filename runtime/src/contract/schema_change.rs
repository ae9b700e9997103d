//! What an incremental run does when the source's columns no longer match the destination's:
//! the entity's `on_schema_change` policy, the differences, and the batch adapter that makes
//! this run's rows fit what the destination keeps.
//!
//! Without it, an incremental run whose source gained, lost or changed a column appended files
//! of another schema, and the destination could no longer be read as one dataset.

use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, new_null_array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use async_trait::async_trait;

use super::{ConnectorError, ConnectorResult, StoreWriter};
use crate::state::StateUpdate;

/// `on_schema_change`: the policy for an incremental run whose columns differ from the
/// destination's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSchemaChange {
    /// Stop before writing anything, listing the differences (the default).
    #[default]
    Fail,
    /// Accept new nullable columns (added to the destination); missing nullable columns are
    /// written as nulls; a changed type is refused.
    Evolve,
    /// Keep the destination's columns: new columns are dropped, missing ones written as
    /// nulls; a changed type is refused.
    Ignore,
}

impl fmt::Display for OnSchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnSchemaChange::Fail => "fail",
            OnSchemaChange::Evolve => "evolve",
            OnSchemaChange::Ignore => "ignore",
        })
    }
}

/// How this run's columns differ from the destination's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// Columns the source has and the destination does not.
    pub added: Vec<Field>,
    /// Columns the destination has and the source does not.
    pub missing: Vec<Field>,
    /// Columns of both, with another type: `(destination, source)`.
    pub changed: Vec<(Field, Field)>,
}

impl SchemaDiff {
    /// The differences between `destination` and `incoming`, by column name. With
    /// `names_only` (a CSV destination, whose types are not stored), types are not compared.
    pub fn between(destination: &Schema, incoming: &Schema, names_only: bool) -> SchemaDiff {
        let mut diff = SchemaDiff::default();
        for field in incoming.fields() {
            match destination.field_with_name(field.name()) {
                Err(_) => diff.added.push(field.as_ref().clone()),
                Ok(old) if !names_only && old.data_type() != field.data_type() => {
                    diff.changed.push((old.clone(), field.as_ref().clone()))
                }
                Ok(_) => {}
            }
        }
        for field in destination.fields() {
            if incoming.field_with_name(field.name()).is_err() {
                diff.missing.push(field.as_ref().clone());
            }
        }
        diff
    }

    /// Whether the columns match.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.missing.is_empty() && self.changed.is_empty()
    }
}

impl fmt::Display for SchemaDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        for field in &self.added {
            lines.push(format!(
                "new column `{}` ({})",
                field.name(),
                field.data_type()
            ));
        }
        for field in &self.missing {
            lines.push(format!(
                "column `{}` ({}) is gone from the source",
                field.name(),
                field.data_type()
            ));
        }
        for (old, new) in &self.changed {
            lines.push(format!(
                "column `{}` changed type: {} at the destination, {} in the source",
                old.name(),
                old.data_type(),
                new.data_type()
            ));
        }
        f.write_str(&lines.join("; "))
    }
}

/// Makes this run's batches fit the schema the destination keeps under a policy.
#[derive(Debug, Clone)]
pub struct SchemaAdapter {
    target: SchemaRef,
    /// For each target column, its index in the incoming batches, or `None` for nulls.
    sources: Vec<Option<usize>>,
}

impl SchemaAdapter {
    /// The adapter for writing `incoming` batches into a destination of `destination`'s
    /// columns under `policy`; `None` when the columns match and batches pass unchanged.
    ///
    /// # Errors
    /// A config error listing the differences that `policy` does not accept.
    pub fn plan(
        destination: &Schema,
        incoming: &SchemaRef,
        names_only: bool,
        policy: OnSchemaChange,
    ) -> ConnectorResult<Option<SchemaAdapter>> {
        let diff = SchemaDiff::between(destination, incoming, names_only);
        if diff.is_empty() {
            return Ok(None);
        }
        let refuse = |why: &str| {
            Err(ConnectorError::config(format!(
                "the source's columns differ from the destination's ({diff}); {why}"
            ))
            .with_context(
                "set `on_schema_change: evolve` to add new nullable columns, or `ignore` to keep the destination's columns; a full_drop run (--full-drop) rewrites the destination with the new columns",
            ))
        };
        if policy == OnSchemaChange::Fail {
            return refuse("on_schema_change is `fail`, so nothing was written");
        }
        if !diff.changed.is_empty() {
            return refuse(&format!(
                "on_schema_change `{policy}` never changes a column's type"
            ));
        }
        if let Some(field) = diff.missing.iter().find(|f| !f.is_nullable()) {
            return refuse(&format!(
                "the destination's column `{}` takes no nulls, so rows without it cannot be added",
                field.name()
            ));
        }
        let mut fields: Vec<Field> = if names_only {
            destination
                .fields()
                .iter()
                .map(|f| match incoming.field_with_name(f.name()) {
                    Ok(source) => source.clone(),
                    Err(_) => f.as_ref().clone().with_data_type(DataType::Utf8),
                })
                .collect()
        } else {
            destination
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect()
        };
        if policy == OnSchemaChange::Evolve {
            if let Some(field) = diff.added.iter().find(|f| !f.is_nullable()) {
                return refuse(&format!(
                    "the new column `{}` takes no nulls, so the destination's earlier rows cannot have it",
                    field.name()
                ));
            }
            fields.extend(diff.added.iter().cloned());
        }
        let target = Arc::new(Schema::new(fields));
        let sources = target
            .fields()
            .iter()
            .map(|f| incoming.index_of(f.name()).ok())
            .collect();
        Ok(Some(SchemaAdapter { target, sources }))
    }

    /// The adapter that keeps only the `incoming` columns `keep` accepts, in their order: for
    /// stores whose destination fills missing columns itself (a SQL table's NULLs).
    pub fn project(incoming: &SchemaRef, keep: impl Fn(&Field) -> bool) -> SchemaAdapter {
        let (fields, sources): (Vec<Field>, Vec<Option<usize>>) = incoming
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| keep(f))
            .map(|(i, f)| (f.as_ref().clone(), Some(i)))
            .unzip();
        SchemaAdapter {
            target: Arc::new(Schema::new_with_metadata(
                fields,
                incoming.metadata().clone(),
            )),
            sources,
        }
    }

    /// The schema the destination keeps after this run.
    pub fn target(&self) -> &SchemaRef {
        &self.target
    }

    /// `batch` with the target's columns: reordered, dropped, or all nulls where the source
    /// has none.
    ///
    /// # Errors
    /// An internal error when the batch does not have the schema the adapter was planned for.
    pub fn adapt(&self, batch: &RecordBatch) -> ConnectorResult<RecordBatch> {
        let columns: Vec<ArrayRef> = self
            .target
            .fields()
            .iter()
            .zip(&self.sources)
            .map(|(field, source)| match source {
                Some(i) => batch.column(*i).clone(),
                None => new_null_array(field.data_type(), batch.num_rows()),
            })
            .collect();
        RecordBatch::try_new(self.target.clone(), columns).map_err(|e| {
            ConnectorError::internal("cannot fit a batch to the destination's columns")
                .with_source(e)
        })
    }
}

/// A writer whose batches are fitted to the destination's columns before they reach it:
/// for stores (a Wasm component) that take batches of one schema and cannot adapt them.
pub struct AdaptingWriter {
    writer: Box<dyn StoreWriter>,
    adapter: SchemaAdapter,
}

impl AdaptingWriter {
    /// `writer`, opened with `adapter.target()`, fed through `adapter`.
    pub fn new(writer: Box<dyn StoreWriter>, adapter: SchemaAdapter) -> Self {
        AdaptingWriter { writer, adapter }
    }
}

#[async_trait]
impl StoreWriter for AdaptingWriter {
    fn batch_size(&self) -> Option<usize> {
        self.writer.batch_size()
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let batch = self.adapter.adapt(&batch)?;
        self.writer.write(batch).await
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        self.writer.would_replace_data().await
    }

    async fn commit(self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        self.writer.commit(state).await
    }

    async fn abort(self: Box<Self>) -> ConnectorResult<()> {
        self.writer.abort().await
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int64Array, StringArray};

    use super::*;

    fn schema(fields: &[(&str, DataType, bool)]) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .iter()
                .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn matching_columns_need_no_adapter_and_fail_lists_every_difference() {
        let old = schema(&[("id", DataType::Int64, false), ("a", DataType::Utf8, true)]);
        assert!(
            SchemaAdapter::plan(&old, &old, false, OnSchemaChange::Fail)
                .unwrap()
                .is_none()
        );
        let new = schema(&[("id", DataType::Utf8, false), ("b", DataType::Int64, true)]);
        let err = SchemaAdapter::plan(&old, &new, false, OnSchemaChange::Fail)
            .unwrap_err()
            .to_string();
        assert!(err.contains("new column `b` (Int64)"), "{err}");
        assert!(err.contains("column `a` (Utf8) is gone"), "{err}");
        assert!(err.contains("column `id` changed type: Int64"), "{err}");
    }

    #[test]
    fn evolve_adds_nullable_columns_and_fills_missing_ones_with_nulls() {
        let old = schema(&[("id", DataType::Int64, false), ("a", DataType::Utf8, true)]);
        let new = schema(&[("b", DataType::Int64, true), ("id", DataType::Int64, false)]);
        let adapter = SchemaAdapter::plan(&old, &new, false, OnSchemaChange::Evolve)
            .unwrap()
            .unwrap();
        let names: Vec<&str> = adapter
            .target()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "a", "b"]);
        let batch = RecordBatch::try_new(
            new.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let out = adapter.adapt(&batch).unwrap();
        assert_eq!(out.column(0).as_ref(), &Int64Array::from(vec![1, 2]));
        assert_eq!(out.column(1).null_count(), 2);
        assert_eq!(
            out.column(2).as_ref(),
            &Int64Array::from(vec![Some(7), None])
        );
        // A new column that takes no nulls cannot be added to earlier rows.
        let strict = schema(&[
            ("id", DataType::Int64, false),
            ("c", DataType::Int64, false),
        ]);
        assert!(SchemaAdapter::plan(&old, &strict, false, OnSchemaChange::Evolve).is_err());
    }

    #[test]
    fn ignore_keeps_the_destination_columns_and_never_changes_a_type() {
        let old = schema(&[("id", DataType::Int64, false), ("a", DataType::Utf8, true)]);
        let new = schema(&[("id", DataType::Int64, false), ("b", DataType::Utf8, true)]);
        let adapter = SchemaAdapter::plan(&old, &new, false, OnSchemaChange::Ignore)
            .unwrap()
            .unwrap();
        assert_eq!(adapter.target().as_ref(), old.as_ref());
        let batch = RecordBatch::try_new(
            new.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(StringArray::from(vec!["x"])),
            ],
        )
        .unwrap();
        let out = adapter.adapt(&batch).unwrap();
        assert_eq!(out.schema(), old);
        assert!(out.column(1).is_null(0));
        let changed = schema(&[("id", DataType::Utf8, false), ("a", DataType::Utf8, true)]);
        let err = SchemaAdapter::plan(&old, &changed, false, OnSchemaChange::Ignore)
            .unwrap_err()
            .to_string();
        assert!(err.contains("never changes a column's type"), "{err}");
    }
}
