//! The rows the suite writes, and a home that serves them from memory (and can fail
//! after some batches, like a source that breaks mid-read).

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;

use crate::contract::{
    BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, ReadRequest, RunScope,
};

/// Microseconds in a day: row `id` was updated `id` days after 1970-01-01.
const DAY_MICROS: i64 = 86_400_000_000;

/// The suite's schema: `id`, `updated_at` (the watermark), `name`.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("name", DataType::Utf8, false),
    ]))
}

/// One batch of the rows `ids`.
pub fn rows(ids: Range<i64>) -> RecordBatch {
    let names: Vec<String> = ids.clone().map(|i| format!("row {i}")).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                ids.map(|i| i * DAY_MICROS),
            )),
            Arc::new(StringArray::from(names)),
        ],
    );
    batch.unwrap_or_else(|e| unreachable!("the suite's batch is valid: {e}"))
}

/// A home yielding batches from memory, then (optionally) failing.
#[derive(Clone)]
pub struct MemoryHome {
    batches: Vec<RecordBatch>,
    fail_at_end: bool,
}

impl MemoryHome {
    /// Yields `batches`, then ends.
    pub fn new(batches: Vec<RecordBatch>) -> MemoryHome {
        MemoryHome {
            batches,
            fail_at_end: false,
        }
    }

    /// Yields `batches`, then fails with a data error instead of ending.
    pub fn failing_after(batches: Vec<RecordBatch>) -> MemoryHome {
        MemoryHome {
            batches,
            fail_at_end: true,
        }
    }
}

impl HomeSpec for MemoryHome {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
        Box::new(self.clone())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

#[async_trait]
impl Home for MemoryHome {
    async fn open(self: Box<Self>, _: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        Ok(Box::new(MemoryReader {
            home: *self,
            next: 0,
        }))
    }
}

struct MemoryReader {
    home: MemoryHome,
    next: usize,
}

#[async_trait]
impl BatchReader for MemoryReader {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        let batch = self.home.batches.get(self.next).cloned();
        self.next += 1;
        match batch {
            Some(b) => Ok(Some(b)),
            None if self.home.fail_at_end => Err(ConnectorError::data(
                "the memory home fails here, as a source that breaks mid-read",
            )),
            None => Ok(None),
        }
    }
}
