//! Re-chunking batches to the size a store asks for.

use std::collections::VecDeque;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;

use crate::contract::{ConnectorError, ConnectorResult};

/// Collects batches and hands them out in slices of exactly `size` rows (the last may be
/// shorter). Large batches are sliced without copying; small ones are concatenated.
pub struct Rechunker {
    schema: SchemaRef,
    size: Option<usize>,
    pending: VecDeque<RecordBatch>,
    pending_rows: usize,
}

impl Rechunker {
    /// A rechunker to `size` rows per batch; `None` passes batches through unchanged.
    pub fn new(schema: SchemaRef, size: Option<usize>) -> Self {
        Rechunker {
            schema,
            size: size.filter(|s| *s > 0),
            pending: VecDeque::new(),
            pending_rows: 0,
        }
    }

    /// Adds a batch; returns the batches now ready.
    pub fn push(&mut self, batch: RecordBatch) -> ConnectorResult<Vec<RecordBatch>> {
        let Some(size) = self.size else {
            return Ok(if batch.num_rows() > 0 {
                vec![batch]
            } else {
                vec![]
            });
        };
        if batch.num_rows() == 0 {
            return Ok(vec![]);
        }
        self.pending_rows += batch.num_rows();
        self.pending.push_back(batch);
        let mut ready = Vec::new();
        while self.pending_rows >= size {
            ready.push(self.take(size)?);
        }
        Ok(ready)
    }

    /// The remaining rows, if any.
    pub fn finish(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        if self.pending_rows == 0 {
            return Ok(None);
        }
        let rows = self.pending_rows;
        self.take(rows).map(Some)
    }

    fn take(&mut self, rows: usize) -> ConnectorResult<RecordBatch> {
        let mut parts = Vec::new();
        let mut needed = rows;
        while needed > 0 {
            let Some(front) = self.pending.pop_front() else {
                break;
            };
            if front.num_rows() <= needed {
                needed -= front.num_rows();
                parts.push(front);
            } else {
                parts.push(front.slice(0, needed));
                self.pending
                    .push_front(front.slice(needed, front.num_rows() - needed));
                needed = 0;
            }
        }
        self.pending_rows -= rows - needed;
        if parts.len() == 1 {
            return Ok(parts.remove(0));
        }
        concat_batches(&self.schema, &parts)
            .map_err(|e| ConnectorError::internal("cannot re-chunk batches").with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(schema: &SchemaRef, from: i64, n: i64) -> RecordBatch {
        RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(from..from + n))],
        )
        .unwrap()
    }

    #[test]
    fn rechunks_to_the_requested_size_preserving_order() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let mut r = Rechunker::new(schema.clone(), Some(4));
        let mut out = Vec::new();
        for (from, n) in [(0, 3), (3, 1), (4, 9), (13, 2)] {
            out.extend(r.push(batch(&schema, from, n)).unwrap());
        }
        out.extend(r.finish().unwrap());
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![4, 4, 4, 3]);
        let values: Vec<i64> = out
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values, (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn without_a_size_batches_pass_through() {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let mut r = Rechunker::new(schema.clone(), None);
        assert_eq!(r.push(batch(&schema, 0, 7)).unwrap()[0].num_rows(), 7);
        assert!(r.push(batch(&schema, 0, 0)).unwrap().is_empty());
        assert!(r.finish().unwrap().is_none());
    }
}
