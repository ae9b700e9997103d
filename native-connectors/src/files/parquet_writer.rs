//! A Parquet file writer that encodes columns on worker threads, using the parquet crate's
//! column-writer API (one encoder per leaf column), so that writing is not bound to one
//! core. Workers are fed through channels, so no batch waits for the slowest column.

use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Batches of leaves queued per worker.
const QUEUED_PER_WORKER: usize = 2;
/// At most this many encoder threads per file, however wide the table.
const MAX_WORKERS: usize = 16;

type Chunks = Result<Vec<ArrowColumnChunk>, ParquetError>;

/// What an encoder thread is asked to do.
enum Job {
    /// Encode these leaves, one per column writer the worker owns.
    Leaves(Vec<ArrowLeafColumn>),
    /// Close the row group's writers and send back their chunks, then go on with `next`
    /// (the next row group's writers) or stop.
    Close(Option<Vec<ArrowColumnWriter>>),
}

/// One encoder thread for the whole file: owns the column writers `i` with
/// `i % workers == index` of each row group in turn. The thread lives as long as the file:
/// starting threads per row group made each new thread take memory from another allocator
/// arena, and peak memory grew with the number of row groups written.
struct Worker {
    jobs: SyncSender<Job>,
    chunks: Receiver<Chunks>,
    handle: JoinHandle<()>,
}

impl Worker {
    fn spawn(writers: Vec<ArrowColumnWriter>) -> Worker {
        let (jobs, receiver) = sync_channel::<Job>(QUEUED_PER_WORKER);
        let (send_chunks, chunks) = sync_channel::<Chunks>(1);
        let handle = std::thread::spawn(move || {
            let mut writers = writers;
            for job in receiver {
                match job {
                    Job::Leaves(leaves) => {
                        let written = writers
                            .iter_mut()
                            .zip(&leaves)
                            .try_for_each(|(writer, leaf)| writer.write(leaf));
                        if let Err(e) = written {
                            // The writer sees the closed queue and asks for this error.
                            let _ = send_chunks.send(Err(e));
                            return;
                        }
                    }
                    Job::Close(next) => {
                        let closed = std::mem::take(&mut writers)
                            .into_iter()
                            .map(ArrowColumnWriter::close)
                            .collect();
                        if send_chunks.send(closed).is_err() {
                            return;
                        }
                        match next {
                            Some(next) => writers = next,
                            None => return,
                        }
                    }
                }
            }
        });
        Worker {
            jobs,
            chunks,
            handle,
        }
    }

    /// The error that stopped the thread, once its queue is closed.
    fn failure(&self) -> ParquetError {
        match self.chunks.recv() {
            Ok(Err(e)) => e,
            _ => ParquetError::General("a column encoder stopped".into()),
        }
    }

    /// Closes the current row group's writers; the thread goes on with `next`, or ends.
    fn close(&self, next: Option<Vec<ArrowColumnWriter>>) -> Chunks {
        if self.jobs.send(Job::Close(next)).is_err() {
            return Err(self.failure());
        }
        self.chunks
            .recv()
            .map_err(|_| ParquetError::General("a column encoder panicked".into()))?
    }

    fn join(self) {
        drop(self.jobs);
        let _ = self.handle.join();
    }
}

/// `schema` with every type Parquet cannot state replaced by one it can, as pyarrow does:
/// whole-second timestamps and times become milliseconds (Parquet has no seconds unit, and
/// other readers would see bare integers), and `Date64` becomes `Date32`.
pub fn readable_schema(schema: &SchemaRef) -> SchemaRef {
    let readable = |t: &DataType| match t {
        DataType::Timestamp(TimeUnit::Second, tz) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        DataType::Date64 => Some(DataType::Date32),
        _ => None,
    };
    if !schema
        .fields()
        .iter()
        .any(|f| readable(f.data_type()).is_some())
    {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match readable(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn cast_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ParquetError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| arrow_cast::cast(array, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Writes one Parquet file, row group by row group, encoding columns in parallel.
pub struct ParallelParquetWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Whether batches are cast to `schema` first (see [`readable_schema`]).
    cast: bool,
    workers: Vec<Worker>,
    columns: usize,
    row_group: usize,
    rows_in_group: usize,
    row_group_size: usize,
}

impl<W: Write + Send> ParallelParquetWriter<W> {
    /// A writer of `schema` to `sink`; row groups hold `row_group_size` rows.
    pub fn try_new(
        sink: W,
        schema: SchemaRef,
        props: WriterProperties,
        row_group_size: usize,
    ) -> Result<Self, ParquetError> {
        let readable = readable_schema(&schema);
        let cast = readable != schema;
        let schema = readable;
        // ArrowWriter converts the schema and embeds the Arrow schema in the footer metadata;
        // its lower-level parts then let each column be encoded separately.
        let (writer, factory) =
            ArrowWriter::try_new(sink, schema.clone(), Some(props))?.into_serialized_writer()?;
        let mut this = ParallelParquetWriter {
            writer,
            factory,
            schema,
            cast,
            workers: Vec::new(),
            columns: 0,
            row_group: 0,
            rows_in_group: 0,
            row_group_size: row_group_size.max(1),
        };
        this.start_row_group()?;
        Ok(this)
    }

    /// The column writers of row group `row_group`, dealt to `count` workers.
    fn writers_for(
        &self,
        row_group: usize,
        count: usize,
    ) -> Result<Vec<Vec<ArrowColumnWriter>>, ParquetError> {
        let writers = self.factory.create_column_writers(row_group)?;
        let mut groups: Vec<Vec<ArrowColumnWriter>> = (0..count).map(|_| Vec::new()).collect();
        for (i, writer) in writers.into_iter().enumerate() {
            groups[i % count].push(writer);
        }
        Ok(groups)
    }

    fn start_row_group(&mut self) -> Result<(), ParquetError> {
        let columns = self.factory.create_column_writers(self.row_group)?.len();
        self.columns = columns;
        let count = columns.clamp(1, MAX_WORKERS);
        self.workers = self
            .writers_for(self.row_group, count)?
            .into_iter()
            .map(Worker::spawn)
            .collect();
        Ok(())
    }

    /// Encodes a batch, closing row groups as they fill.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let cast;
        let batch = if self.cast {
            cast = cast_batch(batch, &self.schema)?;
            &cast
        } else {
            batch
        };
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.row_group_size - self.rows_in_group).min(batch.num_rows() - offset);
            self.encode(&batch.slice(offset, take))?;
            self.rows_in_group += take;
            offset += take;
            if self.rows_in_group >= self.row_group_size {
                self.flush_row_group(true)?;
            }
        }
        Ok(())
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let count = self.workers.len();
        let mut shares: Vec<Vec<ArrowLeafColumn>> = (0..count).map(|_| Vec::new()).collect();
        let mut index = 0;
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array)? {
                shares[index % count].push(leaf);
                index += 1;
            }
        }
        for (worker, share) in self.workers.iter().zip(shares) {
            if worker.jobs.send(Job::Leaves(share)).is_err() {
                // The worker stopped on an error and left it behind.
                return Err(worker.failure());
            }
        }
        Ok(())
    }

    /// Appends the current row group's chunks to the file, in column order; with `more`,
    /// the workers go on with the next row group's writers.
    fn flush_row_group(&mut self, more: bool) -> Result<(), ParquetError> {
        let count = self.workers.len();
        let mut next: Vec<Option<Vec<ArrowColumnWriter>>> = if more {
            self.writers_for(self.row_group + 1, count)?
                .into_iter()
                .map(Some)
                .collect()
        } else {
            (0..count).map(|_| None).collect()
        };
        let mut finished: Vec<std::vec::IntoIter<ArrowColumnChunk>> = Vec::with_capacity(count);
        for (worker, next) in self.workers.iter().zip(next.iter_mut()) {
            finished.push(worker.close(next.take())?.into_iter());
        }
        if self.rows_in_group == 0 {
            return Ok(());
        }
        let mut row_group = self.writer.next_row_group()?;
        for i in 0..self.columns {
            let chunk = finished[i % count]
                .next()
                .ok_or_else(|| ParquetError::General("a column chunk is missing".into()))?;
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_group += 1;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the sink and the row groups'
    /// metadata (their statistics become a Delta table's file statistics).
    pub fn close(mut self) -> Result<(W, Vec<RowGroupMetaData>), ParquetError> {
        self.flush_row_group(false)?;
        for worker in std::mem::take(&mut self.workers) {
            worker.join();
        }
        let groups = self.writer.flushed_row_groups().to_vec();
        Ok((self.writer.into_inner()?, groups))
    }
}

/// The first column Parquet cannot hold (month-day-nano intervals, also inside lists,
/// structs and maps), with the cast to write instead; checked when a store opens, before
/// anything is written.
pub fn unwritable_column(schema: &Schema) -> Option<(String, &'static str)> {
    fn holds_interval(data_type: &DataType) -> bool {
        match data_type {
            DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) => true,
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::Map(f, _) => holds_interval(f.data_type()),
            DataType::Struct(fields) => fields.iter().any(|f| holds_interval(f.data_type())),
            DataType::Dictionary(_, value) => holds_interval(value),
            _ => false,
        }
    }
    schema
        .fields()
        .iter()
        .find(|f| holds_interval(f.data_type()))
        .map(|f| {
            (
                f.name().clone(),
                "an interval of months, days and nanoseconds, which Parquet cannot hold",
            )
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray, StructArray};
    use arrow_schema::{DataType, Field, Fields, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    #[test]
    fn output_reads_back_identically_with_the_requested_row_groups() {
        let inner = Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Utf8, true),
        ]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("nested", DataType::Struct(inner.clone()), true),
        ]));
        let batch = |from: i64, n: i64| {
            let ids: Vec<i64> = (from..from + n).collect();
            let names: Vec<Option<String>> = ids
                .iter()
                .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
                .collect();
            let nested = StructArray::new(
                inner.clone(),
                vec![
                    Arc::new(Int64Array::from(ids.clone())),
                    Arc::new(StringArray::from(names.clone())),
                ],
                None,
            );
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(names)),
                    Arc::new(nested),
                ],
            )
            .unwrap()
        };
        let input: Vec<RecordBatch> = vec![batch(0, 700), batch(700, 1), batch(701, 1299)];
        let mut writer = ParallelParquetWriter::try_new(
            Vec::new(),
            schema.clone(),
            WriterProperties::default(),
            500,
        )
        .unwrap();
        for b in &input {
            writer.write(b).unwrap();
        }
        let (written, groups) = writer.close().unwrap();
        assert_eq!(groups.len(), 4);
        let bytes = Bytes::from(written);
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 4);
        assert_eq!(builder.schema(), &schema);
        let output: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
        let expected = arrow_select::concat::concat_batches(&schema, &input).unwrap();
        let actual = arrow_select::concat::concat_batches(&schema, &output).unwrap();
        assert_eq!(actual, expected);
    }
}
