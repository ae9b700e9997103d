//! What one run of an entity with a watermark reads and records, decided from its config
//! and the state committed before it.

use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema};

use super::rows::{MaxTracker, RowFilter};
use super::value::{WatermarkKind, WatermarkValue};
use super::{EntityState, StateUpdate};
use crate::contract::{ConnectorError, RunContext, RunType, WatermarkFilter};

/// An entity's resolved `watermark` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkSpec {
    /// The column whose greatest loaded value is the watermark.
    pub column: String,
    /// The key columns of a row (SQL stores merge on them).
    pub primary_key: Vec<String>,
    /// Where the first run starts (inclusive), as written.
    pub initial: Option<String>,
    /// How far below the watermark each run re-reads (a number, or a duration).
    pub lookback: Option<String>,
}

/// Where a run starts reading.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    /// Every row: no state, no `initial`, or a full reload.
    Everything,
    /// Rows at or past a value (`initial`, or the watermark minus the lookback).
    From(String),
    /// Rows past the committed watermark.
    After(String),
}

/// One run's plan, before the home's schema is known.
#[derive(Debug, Clone)]
pub struct IncrementalPlan {
    spec: WatermarkSpec,
    /// The state the destination holds, as read: what a commit checks is still there.
    stored: Option<EntityState>,
    /// That state when it applies to this run (the same column, or a reset).
    previous: Option<EntityState>,
    run_type: RunType,
    start: Start,
    /// The committed watermark's column type, when state holds one.
    stored_type: Option<DataType>,
}

impl IncrementalPlan {
    /// Plans a run of `configured` type after `previous` state. A reset entity's run is a
    /// full reload; a full run reads everything and records the watermark it loaded.
    ///
    /// # Errors
    /// A config error when the state or `lookback` cannot be used with this column.
    pub fn new(
        spec: WatermarkSpec,
        previous: Option<EntityState>,
        configured: RunType,
    ) -> Result<IncrementalPlan, ConnectorError> {
        let stored = previous.clone();
        let previous = previous.filter(|p| {
            let same = p.is_reset() || p.column == spec.column;
            if !same {
                tracing::warn!(stored = %p.column, configured = %spec.column, "the watermark column changed; starting from `initial`");
            }
            same
        });
        let reload = previous.as_ref().is_some_and(EntityState::is_reset);
        let run_type = if reload {
            RunType::FullDrop
        } else {
            configured
        };
        let stored_type = match previous.as_ref().filter(|p| !p.is_reset()) {
            Some(p) => Some(DataType::from_str(&p.data_type).map_err(|e| {
                ConnectorError::data(format!(
                    "the committed state of watermark column `{}` names an unknown type `{}`: {e}",
                    spec.column, p.data_type
                ))
                .with_context("run `hygge reset` for this entity to reload it from the start")
            })?),
            None => None,
        };
        let start = match (&previous, run_type) {
            (_, RunType::FullDrop) => Start::Everything,
            (
                Some(EntityState {
                    watermark: Some(w), ..
                }),
                _,
            ) => match (&spec.lookback, &stored_type) {
                (Some(back), Some(data_type)) => {
                    let value = WatermarkValue::parse(w, data_type)
                        .and_then(|v| v.minus(back))
                        .map_err(|e| lookback_error(&spec, &e))?;
                    Start::From(value.to_text().map_err(|e| lookback_error(&spec, &e))?)
                }
                _ => Start::After(w.clone()),
            },
            _ => match &spec.initial {
                Some(initial) => Start::From(initial.clone()),
                None => Start::Everything,
            },
        };
        Ok(IncrementalPlan {
            spec,
            stored,
            previous,
            run_type,
            start,
            stored_type,
        })
    }

    /// The run type the store opens with: a reset entity reloads in full.
    pub fn run_type(&self) -> RunType {
        self.run_type
    }

    /// The filter the home is asked to apply (homes may read more; the flow keeps exactly
    /// the rows past the watermark).
    pub fn home_filter(&self) -> Option<WatermarkFilter> {
        let (after, inclusive) = match &self.start {
            Start::Everything => return None,
            Start::From(v) => (v.clone(), true),
            Start::After(v) => (v.clone(), false),
        };
        Some(WatermarkFilter {
            column: self.spec.column.clone(),
            after,
            inclusive,
        })
    }

    /// What the run reads, for dry runs and logs.
    pub fn describe(&self) -> String {
        let column = &self.spec.column;
        match (&self.start, self.run_type) {
            (Start::Everything, RunType::FullDrop) if self.previous.is_some() => {
                format!("every row (full reload), then records the greatest `{column}`")
            }
            (Start::Everything, _) => {
                format!("every row (no watermark yet), then records the greatest `{column}`")
            }
            (Start::From(v), _) => format!("rows with `{column}` >= {v}"),
            (Start::After(v), _) => format!("rows with `{column}` > {v}"),
        }
    }

    /// Checks the plan against the home's schema and prepares the per-batch work.
    ///
    /// # Errors
    /// A config error naming the column when the home has no such column, or one of
    /// another kind than the committed watermark, or when `initial` is not of its type.
    pub fn bind(&self, schema: &Schema) -> Result<BoundPlan, ConnectorError> {
        let column = &self.spec.column;
        let (index, field) = schema.column_with_name(column).ok_or_else(|| {
            ConnectorError::config(format!(
                "the watermark column `{column}` is not a column of the home (it has {})",
                schema
                    .fields()
                    .iter()
                    .map(|f| format!("`{}`", f.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_context("set `watermark.column` to one of the home's columns")
        })?;
        let data_type = field.data_type();
        let kind = WatermarkKind::of(data_type).ok_or_else(|| {
            ConnectorError::config(format!(
                "the watermark column `{column}` is of type {data_type}, which cannot be a watermark"
            ))
            .with_context("use an integer, decimal, date, timestamp or text column")
        })?;
        if let Some(stored) = &self.stored_type
            && WatermarkKind::of(stored) != Some(kind)
        {
            return Err(ConnectorError::config(format!(
                "the watermark column `{column}` is now of type {data_type} ({kind}), but the \
                 committed watermark is of type {stored}"
            ))
            .with_context("run `hygge reset` for this entity to reload it with the new type"));
        }
        let filter = match &self.start {
            Start::Everything => None,
            Start::From(text) | Start::After(text) => {
                let inclusive = matches!(self.start, Start::From(_));
                let bound = WatermarkValue::parse(text, data_type).map_err(|e| {
                    ConnectorError::config(format!(
                        "the watermark of column `{column}` cannot be compared with the home's \
                         values: {e}"
                    ))
                    .with_context(if self.previous.is_some() {
                        "run `hygge reset` for this entity to reload it"
                    } else {
                        "write `watermark.initial` as a value of the column's type"
                    })
                })?;
                Some(RowFilter::new(index, bound, inclusive))
            }
        };
        Ok(BoundPlan {
            filter,
            tracker: MaxTracker::new(index),
            data_type: data_type.clone(),
        })
    }
}

fn lookback_error(spec: &WatermarkSpec, message: &str) -> ConnectorError {
    ConnectorError::config(format!(
        "`watermark.lookback` of column `{}`: {message}",
        spec.column
    ))
}

/// A plan bound to the home's schema: filters each batch and tracks the new watermark.
#[derive(Debug, Clone)]
pub struct BoundPlan {
    filter: Option<RowFilter>,
    tracker: MaxTracker,
    data_type: DataType,
}

impl BoundPlan {
    /// The rows of `batch` this run loads; their watermark values are noted.
    ///
    /// # Errors
    /// A data error when the column cannot be compared.
    pub fn admit(&mut self, batch: RecordBatch) -> Result<RecordBatch, ConnectorError> {
        let kept = match &self.filter {
            Some(filter) => filter.apply(batch),
            None => Ok(batch),
        }
        .map_err(|e| ConnectorError::data("cannot filter by the watermark").with_source(e))?;
        self.tracker.observe(&kept).map_err(|e| {
            ConnectorError::data("cannot order the watermark column").with_source(e)
        })?;
        Ok(kept)
    }

    /// The state to commit: the greatest value written; on an incremental run never below
    /// the previous watermark (a `lookback` re-reads older rows). A run that wrote no row
    /// with a value keeps the previous watermark; a full one that wrote none leaves a reset
    /// marker, so the next run reloads; a first incremental run that found none records
    /// nothing.
    ///
    /// # Errors
    /// An internal error when the value cannot be rendered (it is then not committed).
    pub fn update(
        &self,
        plan: &IncrementalPlan,
        context: &RunContext,
    ) -> Result<Option<StateUpdate>, ConnectorError> {
        let previous = plan.stored.clone();
        let carried = plan
            .previous
            .as_ref()
            .filter(|p| !p.is_reset() && plan.run_type == RunType::Incremental);
        let written = match self.tracker.max() {
            Some(value) => Some(value.to_text().map_err(ConnectorError::internal)?),
            None => None,
        };
        let watermark = match (written, carried) {
            (Some(new), Some(old)) => Some(self.greater(&new, old.watermark.as_deref())?),
            (Some(new), None) => Some(new),
            (None, Some(old)) => {
                return Ok(Some(StateUpdate {
                    next: old.clone(),
                    previous,
                }));
            }
            (None, None) if plan.run_type == RunType::Incremental => return Ok(None),
            (None, None) => None,
        };
        let next = match watermark {
            Some(w) => EntityState {
                flow: context.flow.clone(),
                entity: context.entity.clone(),
                column: plan.spec.column.clone(),
                watermark: Some(w),
                data_type: self.data_type.to_string(),
                run_id: context.run_id.clone(),
                committed_at: crate::run_id::utc_now_rfc3339(),
            },
            None => EntityState::reset_marker(&context.flow, &context.entity, &context.run_id),
        };
        Ok(Some(StateUpdate { next, previous }))
    }

    /// The greater of a new watermark and the previous one (both texts of this column).
    fn greater(&self, new: &str, old: Option<&str>) -> Result<String, ConnectorError> {
        let Some(old) = old else {
            return Ok(new.to_string());
        };
        let parse =
            |t: &str| WatermarkValue::parse(t, &self.data_type).map_err(ConnectorError::internal);
        let (a, b) = (parse(new)?, parse(old)?);
        let compare = arrow_ord::ord::make_comparator(
            a.array().as_ref(),
            b.array().as_ref(),
            arrow_schema::SortOptions::default(),
        )
        .map_err(|e| ConnectorError::internal("cannot compare watermarks").with_source(e))?;
        Ok(if compare(0, 0).is_lt() {
            old.to_string()
        } else {
            new.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::Field;

    use super::*;

    fn spec() -> WatermarkSpec {
        WatermarkSpec {
            column: "id".into(),
            primary_key: vec![],
            initial: None,
            lookback: None,
        }
    }

    fn state(watermark: Option<&str>) -> EntityState {
        EntityState {
            flow: "f".into(),
            entity: "e".into(),
            column: "id".into(),
            watermark: watermark.map(String::from),
            data_type: "Int64".into(),
            run_id: "r1".into(),
            committed_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn context(run_id: &str) -> RunContext {
        RunContext {
            run_id: run_id.into(),
            flow: "f".into(),
            entity: "e".into(),
            run_type: RunType::Incremental,
            on_schema_change: Default::default(),
            reload: false,
            watermark_column: None,
        }
    }

    fn ids(values: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    #[test]
    fn a_first_run_starts_at_initial_inclusive_and_later_runs_after_the_watermark() {
        let mut with_initial = spec();
        with_initial.initial = Some("3".into());
        let plan = IncrementalPlan::new(with_initial.clone(), None, RunType::Incremental).unwrap();
        let mut bound = plan.bind(&ids(vec![]).schema()).unwrap();
        assert_eq!(bound.admit(ids(vec![1, 3, 5])).unwrap().num_rows(), 2);
        let update = bound.update(&plan, &context("r2")).unwrap().unwrap();
        assert_eq!(update.next.watermark.as_deref(), Some("5"));

        let plan = IncrementalPlan::new(with_initial, Some(state(Some("5"))), RunType::Incremental)
            .unwrap();
        let mut bound = plan.bind(&ids(vec![]).schema()).unwrap();
        assert_eq!(bound.admit(ids(vec![5, 6])).unwrap().num_rows(), 1);
    }

    #[test]
    fn no_rows_keep_the_old_watermark_and_a_reset_reloads_in_full() {
        let plan =
            IncrementalPlan::new(spec(), Some(state(Some("5"))), RunType::Incremental).unwrap();
        let bound = plan.bind(&ids(vec![]).schema()).unwrap();
        assert_eq!(
            bound.update(&plan, &context("r9")).unwrap().unwrap().next,
            state(Some("5"))
        );

        let plan = IncrementalPlan::new(spec(), Some(state(None)), RunType::Incremental).unwrap();
        assert_eq!(plan.run_type(), RunType::FullDrop);
        assert_eq!(plan.home_filter(), None);
    }

    #[test]
    fn a_lookback_never_moves_the_watermark_back() {
        let mut back = spec();
        back.lookback = Some("5".into());
        let plan =
            IncrementalPlan::new(back, Some(state(Some("10"))), RunType::Incremental).unwrap();
        let mut bound = plan.bind(&ids(vec![]).schema()).unwrap();
        // Only re-read rows came: the row at 10 has left the source.
        bound.admit(ids(vec![6, 7])).unwrap();
        let update = bound.update(&plan, &context("r2")).unwrap().unwrap();
        assert_eq!(update.next.watermark.as_deref(), Some("10"));
    }

    #[test]
    fn a_renamed_column_commits_over_the_state_it_found() {
        let mut renamed = spec();
        renamed.column = "id2".into();
        let found = state(Some("5"));
        let plan =
            IncrementalPlan::new(renamed, Some(found.clone()), RunType::Incremental).unwrap();
        let schema = Schema::new(vec![Field::new("id2", DataType::Int64, false)]);
        let mut bound = plan.bind(&schema).unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        assert_eq!(bound.admit(batch).unwrap().num_rows(), 2);
        let update = bound.update(&plan, &context("r2")).unwrap().unwrap();
        assert_eq!(update.previous, Some(found));
        assert_eq!(update.next.column, "id2");
    }

    #[test]
    fn a_full_run_without_values_leaves_a_reset_marker() {
        let plan = IncrementalPlan::new(spec(), Some(state(Some("5"))), RunType::FullDrop).unwrap();
        let bound = plan.bind(&ids(vec![]).schema()).unwrap();
        let update = bound.update(&plan, &context("r2")).unwrap().unwrap();
        assert!(update.next.is_reset());
    }

    #[test]
    fn lookback_rereads_below_the_watermark() {
        let mut back = spec();
        back.lookback = Some("2".into());
        let plan =
            IncrementalPlan::new(back, Some(state(Some("10"))), RunType::Incremental).unwrap();
        let filter = plan.home_filter().unwrap();
        assert_eq!((filter.after.as_str(), filter.inclusive), ("8", true));
    }

    #[test]
    fn a_missing_or_retyped_column_is_a_config_error_naming_it() {
        let plan =
            IncrementalPlan::new(spec(), Some(state(Some("5"))), RunType::Incremental).unwrap();
        let other = Schema::new(vec![Field::new("name", DataType::Utf8, false)]);
        let err = plan.bind(&other).unwrap_err();
        assert!(err.to_string().contains("`id`"), "{err}");
        let retyped = Schema::new(vec![Field::new("id", DataType::Utf8, false)]);
        let err = plan.bind(&retyped).unwrap_err();
        assert!(err.to_string().contains("committed watermark"), "{err}");
    }
}
