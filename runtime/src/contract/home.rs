//! The read side of the contract: a [`Home`] opens into a [`BatchReader`].

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;

use super::ConnectorResult;

/// The default number of rows per batch when neither the home nor the flow says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 65_536;

/// What the flow asks of a home: which columns, how many rows per batch, and (for
/// incremental runs) which rows. Every home, native or Wasm, takes this one request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRequest {
    columns: Option<Vec<String>>,
    batch_size: usize,
    watermark: Option<WatermarkFilter>,
}

/// Rows to read in an incremental run: those whose `column` is greater than `after` (or
/// not less, when `inclusive`). A home may apply it where it is cheapest, or read more:
/// the flow keeps exactly the qualifying rows.
#[derive(Debug, Clone, PartialEq)]
pub struct WatermarkFilter {
    /// The column compared.
    pub column: String,
    /// The bound, rendered as text (Arrow's rendering of the column's type).
    pub after: String,
    /// Whether rows equal to `after` qualify (`initial`, and `lookback`).
    pub inclusive: bool,
}

impl Default for ReadRequest {
    fn default() -> Self {
        ReadRequest {
            columns: None,
            batch_size: DEFAULT_BATCH_SIZE,
            watermark: None,
        }
    }
}

impl ReadRequest {
    /// Restricts the read to these columns, in this order.
    pub fn with_columns(mut self, columns: Option<Vec<String>>) -> Self {
        self.columns = columns;
        self
    }

    /// Sets the rows per batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Restricts the read to rows past a watermark.
    pub fn with_watermark(mut self, watermark: Option<WatermarkFilter>) -> Self {
        self.watermark = watermark;
        self
    }

    /// The requested columns, or `None` for all of them.
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// The rows per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The watermark filter, if the run is incremental and one applies.
    pub fn watermark(&self) -> Option<&WatermarkFilter> {
        self.watermark.as_ref()
    }
}

/// A source of data for one entity. Built fresh for every attempt of a flow.
#[async_trait]
pub trait Home: Send {
    /// Opens the source: after this the schema is known and batches can be pulled.
    ///
    /// # Errors
    /// A config error when the request names columns the source does not have, a data error
    /// when the source cannot be read.
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>>;
}

/// An open home, yielding batches that all have [`BatchReader::schema`].
#[async_trait]
pub trait BatchReader: Send {
    /// The schema of every batch this reader yields (after projection).
    fn schema(&self) -> SchemaRef;
    /// How many rows the read will yield at most, when the source's metadata says so
    /// (Parquet footers do), for progress with a percentage and an estimated time left.
    fn total_rows(&self) -> Option<u64> {
        None
    }

    /// The local Parquet files whose rows, read whole and unchanged, are exactly what this
    /// reader would yield, for a store that reads Parquet itself faster than it takes
    /// batches (DuckDB's `read_parquet`). `None`, the default: the rows must be pulled.
    fn parquet_files(&self) -> Option<ParquetFiles> {
        None
    }

    /// The next batch, or `None` at the end.
    ///
    /// # Cancellation
    /// Dropping the reader between calls stops the read and releases its resources.
    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>>;
}

/// Local Parquet files that a reader offers to hand over whole instead of as batches (see
/// [`BatchReader::parquet_files`]): every file has the reader's columns with the reader's
/// types, and nothing is filtered, converted or added on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetFiles {
    /// The files, absolute.
    pub paths: Vec<PathBuf>,
    /// The columns to read, by name, in the reader's order (the reader's schema).
    pub columns: Vec<String>,
    /// Every column of the files, those not read too (each distinct one once): a store
    /// reading the files itself may have to make sense of them all.
    pub all_columns: Vec<arrow_schema::FieldRef>,
    /// The rows the files hold, from their footers: a store checks its load against it.
    pub rows: u64,
}
