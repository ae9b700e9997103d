//! Reading Parquet files: splitting them into read units (row groups, skipped by the
//! watermark where their statistics allow), the footer in one request, a unit's column
//! chunks fetched ahead of decoding, INT96 timestamps as microseconds, and row counts checked
//! against the metadata.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::RecordBatchReader;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use hygge_runtime::contract::WatermarkFilter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::format::{BatchIter, Format, ReadUnit, projection};
use super::input::{InputFile, ReadFailure, Source};
use super::prune::groups_to_skip;

/// Bytes read from the end of a Parquet file in the first request: the footer of most
/// files fits, so an object's metadata costs one request.
const FOOTER_PREFETCH: usize = 64 * 1024;

/// Splits the files into read units: one per Parquet row group, one per other file.
/// With a watermark, Parquet row groups whose statistics show no row past it are left
/// out.
pub fn plan_units(
    format: Format,
    files: &[InputFile],
    watermark: Option<&WatermarkFilter>,
) -> Result<Vec<ReadUnit>, (InputFile, ReadFailure)> {
    let mut units = Vec::new();
    for path in files {
        if format != Format::Parquet {
            units.push(ReadUnit {
                file: path.clone(),
                metadata: None,
                row_groups: None,
                rows: None,
            });
            continue;
        }
        let file = path.open().map_err(|e| {
            (
                path.clone(),
                ReadFailure::Store(format!("cannot open: {e}")),
            )
        })?;
        let metadata = Arc::new(read_footer(&file).map_err(|e| (path.clone(), e))?);
        let rows = |g: usize| u64::try_from(metadata.row_group(g).num_rows()).ok();
        let row_groups = metadata.num_row_groups();
        let skip = watermark
            .and_then(|w| groups_to_skip(&metadata, w))
            .unwrap_or_else(|| vec![false; row_groups]);
        if skip.iter().all(|s| *s) && row_groups > 0 {
            tracing::debug!(file = %path, "every row group is below the watermark; skipped");
        } else if row_groups <= 1 {
            units.push(ReadUnit {
                file: path.clone(),
                metadata: Some(metadata.clone()),
                row_groups: None,
                rows: Some((0..row_groups).filter_map(rows).sum()),
            });
        } else {
            units.extend((0..row_groups).filter(|g| !skip[*g]).map(|g| ReadUnit {
                file: path.clone(),
                metadata: Some(metadata.clone()),
                row_groups: Some(vec![g]),
                rows: rows(g),
            }));
        }
    }
    Ok(units)
}

/// A Parquet file's metadata, read with one request for most files.
fn read_footer(file: &Source) -> Result<ParquetMetaData, ReadFailure> {
    ParquetMetaDataReader::new()
        .with_prefetch_hint(Some(FOOTER_PREFETCH))
        .parse_and_finish(file)
        .map_err(|e| match e {
            // Only an object's ranged reads raise external errors: the store failed.
            ParquetError::External(e) => ReadFailure::Store(format!("cannot read: {e}")),
            e => ReadFailure::Data(format!("not a readable Parquet file: {e}")),
        })
}

pub(super) fn open_parquet(
    mut file: Source,
    unit: &ReadUnit,
    columns: Option<&[String]>,
    batch_size: usize,
) -> Result<(SchemaRef, BatchIter), ReadFailure> {
    let row_groups = unit.row_groups.clone();
    let footer = match &unit.metadata {
        Some(metadata) => metadata.clone(),
        None => Arc::new(read_footer(&file)?),
    };
    let metadata = ArrowReaderMetadata::try_new(footer, ArrowReaderOptions::new())
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let metadata = int96_as_micros(metadata).map_err(|e| format!("cannot read Parquet: {e}"))?;
    let groups: Vec<usize> = row_groups
        .clone()
        .unwrap_or_else(|| (0..metadata.metadata().num_row_groups()).collect());
    let expected_rows = checked_row_count(metadata.metadata(), &groups)?;
    let wanted_roots = match columns {
        Some(columns) => Some(projection(metadata.schema(), columns)?),
        None => None,
    };
    // A planned unit knows its footer; one without is the schema probe, which reads none
    // of the data.
    if unit.metadata.is_some() {
        file.prefetch(chunk_ranges(
            metadata.metadata(),
            &groups,
            wanted_roots.as_deref(),
        ))
        .map_err(|e| ReadFailure::Store(format!("cannot read: {e}")))?;
    }
    check_int96_range(&file, metadata.metadata(), &groups)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
    let file_schema = builder.schema().clone();
    let mut builder = builder.with_batch_size(batch_size);
    if let Some(groups) = row_groups {
        builder = builder.with_row_groups(groups);
    }
    let mut reorder = None;
    if let Some(columns) = columns {
        let wanted = projection(&file_schema, columns)?;
        let mut sorted = wanted.clone();
        sorted.sort_unstable();
        let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
        builder = builder.with_projection(mask);
        // The reader yields columns in file order; put them in the requested order.
        reorder = Some(
            wanted
                .iter()
                .map(|w| sorted.iter().position(|s| s == w).unwrap_or(0))
                .collect::<Vec<_>>(),
        );
    }
    let reader = builder
        .build()
        .map_err(|e| format!("cannot read Parquet: {e}"))?;
    let schema = reader_schema(reader.schema(), reorder.as_deref())?;
    let iter = reader.map(move |b| match &reorder {
        Some(order) => b.and_then(|b| b.project(order)),
        None => b,
    });
    Ok((schema, Box::new(CountedRows::new(iter, expected_rows))))
}

/// The byte ranges of the column chunks `groups` hold for the `roots` columns (all when
/// `None`): what decoding them reads.
fn chunk_ranges(
    metadata: &ParquetMetaData,
    groups: &[usize],
    roots: Option<&[usize]>,
) -> Vec<std::ops::Range<u64>> {
    let schema = metadata.file_metadata().schema_descr();
    let wanted = |leaf: usize| roots.is_none_or(|r| r.contains(&schema.get_column_root_idx(leaf)));
    groups
        .iter()
        .flat_map(|&g| {
            let group = metadata.row_group(g);
            (0..group.num_columns())
                .filter(|&leaf| wanted(leaf))
                .map(move |leaf| {
                    let (start, length) = group.column(leaf).byte_range();
                    start..start + length
                })
        })
        .collect()
}

/// Reads INT96 timestamps (written by Spark, Impala and Hive) as microseconds instead of
/// the parquet crate's nanoseconds: as nanoseconds, dates past 2262 (`9999-12-31` is a
/// common "open end") wrapped silently into 1815; as microseconds, every year up to
/// 294,000 fits, and the precision those writers keep is microseconds anyway.
fn int96_as_micros(metadata: ArrowReaderMetadata) -> Result<ArrowReaderMetadata, ParquetError> {
    let int96: Vec<&str> = metadata
        .parquet_schema()
        .columns()
        .iter()
        .filter(|c| c.physical_type() == parquet::basic::Type::INT96 && c.path().parts().len() == 1)
        .map(|c| c.name())
        .collect();
    if int96.is_empty() {
        return Ok(metadata);
    }
    let schema = metadata.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, tz) if int96.contains(&f.name().as_str()) => {
                f.as_ref()
                    .clone()
                    .with_data_type(DataType::Timestamp(TimeUnit::Microsecond, tz.clone()))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let hint = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hint),
    )
}

/// The rows the row groups `groups` hold, after checking that the file's metadata agrees
/// with itself: each flat column chunk holds as many values as its row group says it has
/// rows (a writer bug otherwise makes readers return fewer rows, without an error).
pub(super) fn checked_row_count(
    metadata: &ParquetMetaData,
    groups: &[usize],
) -> Result<u64, String> {
    let mut rows = 0u64;
    for &g in groups {
        let group = metadata.row_group(g);
        let claimed = group.num_rows();
        for column in group.columns() {
            let descriptor = column.column_descr();
            if descriptor.max_rep_level() == 0 && column.num_values() != claimed {
                return Err(format!(
                    "the file's metadata disagrees with itself: row group {g} says it holds {claimed} rows, \
                     but its column `{}` holds {} values; it was written by a broken writer, and reading \
                     it would lose or invent rows. Rewrite it with a current writer",
                    descriptor.path(),
                    column.num_values()
                ));
            }
        }
        rows += u64::try_from(claimed).unwrap_or(0);
    }
    Ok(rows)
}

/// A file's batches, checked to add up to the rows its row groups hold, so that no reader
/// quirk publishes fewer rows than the source has without an error.
struct CountedRows<I> {
    inner: I,
    expected: u64,
    seen: u64,
    done: bool,
}

impl<I> CountedRows<I> {
    fn new(inner: I, expected: u64) -> Self {
        CountedRows {
            inner,
            expected,
            seen: 0,
            done: false,
        }
    }
}

impl<I: Iterator<Item = Result<RecordBatch, ArrowError>>> Iterator for CountedRows<I> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.inner.next() {
            Some(Ok(batch)) => {
                self.seen += batch.num_rows() as u64;
                Some(Ok(batch))
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                (self.seen != self.expected).then(|| {
                    Err(ArrowError::ParquetError(format!(
                        "read {} rows where the row groups hold {}",
                        self.seen, self.expected
                    )))
                })
            }
        }
    }
}

/// Microseconds in a day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Fails naming the column when an INT96 timestamp in `groups` lies beyond what microseconds
/// since 1970 can hold (about ±292,000 years), which the reader would wrap silently. Only
/// files with INT96 columns pay for this second read of those columns.
fn check_int96_range(
    file: &Source,
    metadata: &ParquetMetaData,
    groups: &[usize],
) -> Result<(), String> {
    use parquet::column::reader::get_typed_column_reader;
    use parquet::data_type::Int96Type;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let columns: Vec<(usize, String)> = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.physical_type() == parquet::basic::Type::INT96)
        .map(|(i, c)| (i, c.path().string()))
        .collect();
    if columns.is_empty() {
        return Ok(());
    }
    let copy = file.try_clone().map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(copy).map_err(|e| e.to_string())?;
    let (mut values, mut levels) = (Vec::new(), Vec::new());
    for &g in groups {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        for (index, name) in &columns {
            let column = group.get_column_reader(*index).map_err(|e| e.to_string())?;
            let mut column = get_typed_column_reader::<Int96Type>(column);
            loop {
                values.clear();
                levels.clear();
                let (records, _, _) = column
                    .read_records(8192, Some(&mut levels), None, &mut values)
                    .map_err(|e| e.to_string())?;
                if records == 0 {
                    break;
                }
                for value in &values {
                    let &[low, high, julian_day] = value.data() else {
                        return Err(format!("column `{name}` holds a malformed INT96 value"));
                    };
                    let nanos = i64::from(low) | (i64::from(high) << 32);
                    let days = i64::from(julian_day) - 2_440_588;
                    if days
                        .checked_mul(MICROS_PER_DAY)
                        .and_then(|micros| micros.checked_add(nanos / 1_000))
                        .is_none()
                    {
                        return Err(format!(
                            "column `{name}` holds an INT96 timestamp {days} days from 1970-01-01, \
                             beyond what a 64-bit timestamp can hold (about 292,000 years either way); \
                             it would be read as a wrong date, so nothing was read"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn reader_schema(schema: SchemaRef, order: Option<&[usize]>) -> Result<SchemaRef, String> {
    match order {
        Some(order) => schema
            .project(order)
            .map(Arc::new)
            .map_err(|e| e.to_string()),
        None => Ok(schema),
    }
}
