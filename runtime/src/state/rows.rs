//! What an incremental run does to each batch: keep the rows past the watermark, and note
//! the greatest watermark value among the rows kept.

use arrow_array::{Array, RecordBatch, Scalar};
use arrow_ord::cmp::{gt, gt_eq};
use arrow_ord::ord::make_comparator;
use arrow_ord::sort::sort_to_indices;
use arrow_schema::{ArrowError, SortOptions};
use arrow_select::filter::filter_record_batch;

use super::value::WatermarkValue;

/// Keeps the rows whose watermark column is past a bound (`>`), or at or past it (`>=`,
/// for `initial`). Rows whose column is null never qualify.
#[derive(Debug, Clone)]
pub struct RowFilter {
    column: usize,
    bound: WatermarkValue,
    inclusive: bool,
}

impl RowFilter {
    /// A filter on column `column` of the batches; `bound` must have that column's type.
    pub fn new(column: usize, bound: WatermarkValue, inclusive: bool) -> RowFilter {
        RowFilter {
            column,
            bound,
            inclusive,
        }
    }

    /// The rows of `batch` that qualify (the batch itself when all do).
    ///
    /// # Errors
    /// Arrow's error when the column cannot be compared with the bound.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
        let column = batch.column(self.column);
        let bound = Scalar::new(self.bound.array().clone());
        let keep = if self.inclusive {
            gt_eq(column, &bound)?
        } else {
            gt(column, &bound)?
        };
        if keep.true_count() == batch.num_rows() {
            return Ok(batch);
        }
        filter_record_batch(&batch, &keep)
    }
}

/// For each of `maxima` (the greatest value of a column in each of some blocks of rows,
/// such as Parquet row groups; null when unknown), whether no row of that block can pass
/// a watermark filter of `after` (`inclusive`: rows equal to it pass). `None` when the
/// bound is not a value of the maxima's type: then nothing may be skipped.
pub fn blocks_to_skip(maxima: &dyn Array, after: &str, inclusive: bool) -> Option<Vec<bool>> {
    let bound = WatermarkValue::parse(after, maxima.data_type()).ok()?;
    let bound = Scalar::new(bound.array().clone());
    let skip = if inclusive {
        arrow_ord::cmp::lt(&maxima, &bound)
    } else {
        arrow_ord::cmp::lt_eq(&maxima, &bound)
    }
    .ok()?;
    Some(
        (0..skip.len())
            .map(|i| skip.is_valid(i) && skip.value(i))
            .collect(),
    )
}

/// The greatest non-null value of one column over every batch it is shown.
#[derive(Debug, Clone)]
pub struct MaxTracker {
    column: usize,
    best: Option<WatermarkValue>,
}

impl MaxTracker {
    /// Tracks column `column` of the batches.
    pub fn new(column: usize) -> MaxTracker {
        MaxTracker { column, best: None }
    }

    /// Takes `batch`'s values into account.
    ///
    /// # Errors
    /// Arrow's error when the column cannot be ordered.
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let column = batch.column(self.column);
        if column.null_count() == column.len() {
            return Ok(());
        }
        let descending = SortOptions {
            descending: true,
            nulls_first: false,
        };
        let top = sort_to_indices(column, Some(descending), Some(1))?;
        let Some(candidate) = WatermarkValue::from_row(column, top.value(0) as usize) else {
            return Ok(());
        };
        let better = match &self.best {
            None => true,
            Some(best) => {
                let compare = make_comparator(
                    candidate.array().as_ref(),
                    best.array().as_ref(),
                    SortOptions::default(),
                )?;
                compare(0, 0).is_gt()
            }
        };
        if better {
            self.best = Some(candidate);
        }
        Ok(())
    }

    /// The greatest value seen, or `None` when every value was null or no row came.
    pub fn max(&self) -> Option<&WatermarkValue> {
        self.best.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(ids: Vec<Option<i64>>) -> RecordBatch {
        let names: Vec<String> = (0..ids.len()).map(|i| format!("r{i}")).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("id", DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(names)),
                Arc::new(Int64Array::from(ids)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_filter_keeps_rows_past_the_bound_and_drops_nulls() {
        let bound = WatermarkValue::parse("2", &DataType::Int64).unwrap();
        let rows = batch(vec![Some(1), Some(2), None, Some(3)]);
        let strict = RowFilter::new(1, bound.clone(), false)
            .apply(rows.clone())
            .unwrap();
        assert_eq!(strict.num_rows(), 1);
        let inclusive = RowFilter::new(1, bound, true).apply(rows).unwrap();
        assert_eq!(inclusive.num_rows(), 2);
    }

    #[test]
    fn blocks_whose_maximum_is_below_the_bound_are_skipped() {
        let maxima = Int64Array::from(vec![Some(1), Some(2), None, Some(3)]);
        assert_eq!(
            blocks_to_skip(&maxima, "2", false).unwrap(),
            [true, true, false, false]
        );
        assert_eq!(
            blocks_to_skip(&maxima, "2", true).unwrap(),
            [true, false, false, false]
        );
        assert!(blocks_to_skip(&maxima, "x", true).is_none());
    }

    #[test]
    fn the_tracker_keeps_the_greatest_value_across_batches() {
        let mut tracker = MaxTracker::new(1);
        tracker.observe(&batch(vec![None, None])).unwrap();
        assert!(tracker.max().is_none());
        tracker
            .observe(&batch(vec![Some(5), None, Some(9)]))
            .unwrap();
        tracker.observe(&batch(vec![Some(7)])).unwrap();
        assert_eq!(tracker.max().unwrap().to_text().unwrap(), "9");
        tracker.observe(&batch(vec![Some(11), Some(-3)])).unwrap();
        assert_eq!(tracker.max().unwrap().to_text().unwrap(), "11");
    }
}
