//! A Parquet file writer that encodes the columns of each batch on several threads, using
//! the parquet crate's column-writer API (one encoder per leaf column), so that writing is
//! not bound to one core.

use std::io::Write;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Writes one Parquet file, row group by row group, encoding columns in parallel.
pub struct ParallelParquetWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    columns: Vec<ArrowColumnWriter>,
    row_group: usize,
    rows_in_group: usize,
    row_group_size: usize,
    threads: usize,
}

impl<W: Write + Send> ParallelParquetWriter<W> {
    /// A writer of `schema` to `sink`; row groups hold `row_group_size` rows.
    pub fn try_new(
        sink: W,
        schema: SchemaRef,
        props: WriterProperties,
        row_group_size: usize,
        threads: usize,
    ) -> Result<Self, ParquetError> {
        // ArrowWriter converts the schema and embeds the Arrow schema in the footer metadata;
        // its lower-level parts then let each column be encoded separately.
        let (writer, factory) =
            ArrowWriter::try_new(sink, schema.clone(), Some(props))?.into_serialized_writer()?;
        let columns = factory.create_column_writers(0)?;
        Ok(ParallelParquetWriter {
            writer,
            factory,
            schema,
            columns,
            row_group: 0,
            rows_in_group: 0,
            row_group_size: row_group_size.max(1),
            threads: threads.max(1),
        })
    }

    /// Encodes a batch, closing row groups as they fill.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.row_group_size - self.rows_in_group).min(batch.num_rows() - offset);
            self.encode(&batch.slice(offset, take))?;
            self.rows_in_group += take;
            offset += take;
            if self.rows_in_group >= self.row_group_size {
                self.flush_row_group()?;
            }
        }
        Ok(())
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut leaves: Vec<ArrowLeafColumn> = Vec::with_capacity(self.columns.len());
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, array)?);
        }
        let threads = self.threads.min(leaves.len()).max(1);
        if threads == 1 {
            for (writer, leaf) in self.columns.iter_mut().zip(&leaves) {
                writer.write(leaf)?;
            }
            return Ok(());
        }
        let mut jobs: Vec<Vec<(&mut ArrowColumnWriter, &ArrowLeafColumn)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, pair) in self.columns.iter_mut().zip(&leaves).enumerate() {
            jobs[i % threads].push(pair);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .into_iter()
                .map(|job| {
                    scope.spawn(move || {
                        for (writer, leaf) in job {
                            writer.write(leaf)?;
                        }
                        Ok::<(), ParquetError>(())
                    })
                })
                .collect();
            for handle in handles {
                handle
                    .join()
                    .map_err(|_| ParquetError::General("a column encoder panicked".into()))??;
            }
            Ok(())
        })
    }

    fn flush_row_group(&mut self) -> Result<(), ParquetError> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        let next = self.factory.create_column_writers(self.row_group + 1)?;
        let columns = std::mem::replace(&mut self.columns, next);
        let mut row_group = self.writer.next_row_group()?;
        for column in columns {
            column.close()?.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_group += 1;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the sink.
    pub fn close(mut self) -> Result<W, ParquetError> {
        self.flush_row_group()?;
        self.writer.into_inner()
    }
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
            3,
        )
        .unwrap();
        for b in &input {
            writer.write(b).unwrap();
        }
        let bytes = Bytes::from(writer.close().unwrap());
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 4);
        assert_eq!(builder.schema(), &schema);
        let output: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
        let expected = arrow_select::concat::concat_batches(&schema, &input).unwrap();
        let actual = arrow_select::concat::concat_batches(&schema, &output).unwrap();
        assert_eq!(actual, expected);
    }
}
