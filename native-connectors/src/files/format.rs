//! The three file formats, each as a reader of one file and a writer of one file.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::RecordBatchReader;
use arrow_array::cast::AsArray;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use hygge_runtime::contract::WatermarkFilter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use serde::Deserialize;

use super::input::{InputFile, ReadFailure, Source};
use super::prune::groups_to_skip;

/// Bytes read from the end of a Parquet file in the first request: the footer of most
/// files fits, so an object's metadata costs one request.
const FOOTER_PREFETCH: usize = 64 * 1024;

/// A file format hygge reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Apache Parquet: typed, compressed, columnar.
    #[default]
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    #[serde(alias = "jsonl")]
    Ndjson,
}

impl Format {
    /// File extensions read from folders.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Parquet => &["parquet"],
            Format::Csv => &["csv"],
            Format::Ndjson => &["ndjson", "jsonl", "json"],
        }
    }

    /// The extension of written files.
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Parquet => ".parquet",
            Format::Csv => ".csv",
            Format::Ndjson => ".ndjson",
        }
    }
}

/// Options for reading CSV and NDJSON (Python hygge's `format_options`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextOptions {
    /// The CSV field separator (one character).
    #[serde(default = "default_delimiter", alias = "separator")]
    pub delimiter: char,
    /// Whether the first CSV line names the columns.
    #[serde(default = "yes")]
    pub has_header: bool,
    /// Rows read to infer column types.
    #[serde(default = "default_infer_rows")]
    pub infer_schema_length: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            delimiter: default_delimiter(),
            has_header: true,
            infer_schema_length: default_infer_rows(),
        }
    }
}

const fn default_delimiter() -> char {
    ','
}
const fn yes() -> bool {
    true
}
const fn default_infer_rows() -> usize {
    10_000
}

/// A stream of batches from one file.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// A part of a file read as one unit: the whole file, or some of a Parquet file's row
/// groups, so that one large file can be decoded on several threads.
#[derive(Debug, Clone)]
pub struct ReadUnit {
    /// The file.
    pub file: InputFile,
    /// Its Parquet metadata, once read, so units of one file read the footer once.
    pub metadata: Option<Arc<ParquetMetaData>>,
    /// `None`: the whole file; `Some`: these Parquet row groups.
    pub row_groups: Option<Vec<usize>>,
    /// The rows the unit holds, when its metadata says (Parquet).
    pub rows: Option<u64>,
}

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

/// Reads one unit: its schema after projection, and its batches.
pub fn open_unit(
    format: Format,
    unit: &ReadUnit,
    columns: Option<&[String]>,
    batch_size: usize,
    text: &TextOptions,
    schema_hint: Option<SchemaRef>,
) -> Result<(SchemaRef, BatchIter), ReadFailure> {
    let file = unit
        .file
        .open()
        .map_err(|e| ReadFailure::Data(format!("cannot open: {e}")))?;
    match format {
        Format::Parquet => open_parquet(file, unit, columns, batch_size),
        Format::Csv => open_csv(file, columns, batch_size, text, schema_hint),
        Format::Ndjson => open_ndjson(&unit.file, file, columns, batch_size, text, schema_hint),
    }
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

/// The indices of `columns` in `schema`, in the requested order.
pub fn projection(schema: &SchemaRef, columns: &[String]) -> Result<Vec<usize>, ReadFailure> {
    columns
        .iter()
        .map(|c| {
            schema.index_of(c).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                ReadFailure::Config(format!(
                    "column `{c}` is not in the data; columns: {}",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

fn open_parquet(
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
    file.prefetch(chunk_ranges(
        metadata.metadata(),
        &groups,
        wanted_roots.as_deref(),
    ))
    .map_err(|e| ReadFailure::Store(format!("cannot read: {e}")))?;
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
fn checked_row_count(metadata: &ParquetMetaData, groups: &[usize]) -> Result<u64, String> {
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

fn open_csv(
    mut file: Source,
    columns: Option<&[String]>,
    batch_size: usize,
    text: &TextOptions,
    schema_hint: Option<SchemaRef>,
) -> Result<(SchemaRef, BatchIter), ReadFailure> {
    let delimiter = u8::try_from(text.delimiter)
        .map_err(|_| "the CSV delimiter must be one ASCII character".to_string())?;
    let format = arrow_csv::reader::Format::default()
        .with_header(text.has_header)
        .with_delimiter(delimiter);
    let full = match schema_hint {
        Some(s) => s,
        None => {
            let (schema, _) = format
                .clone()
                .infer_schema(BufReader::new(&mut file), Some(text.infer_schema_length))
                .map_err(|e| format!("cannot infer the CSV columns: {e}"))?;
            file.rewind().map_err(|e| e.to_string())?;
            let zoned = zoned_columns(&mut file, &format, &schema, text.infer_schema_length)?;
            file.rewind().map_err(|e| e.to_string())?;
            Arc::new(settle_csv_schema(&schema, &zoned))
        }
    };
    let mut builder = arrow_csv::ReaderBuilder::new(full.clone())
        .with_format(format)
        .with_batch_size(batch_size);
    let mut schema = full.clone();
    if let Some(columns) = columns {
        let wanted = projection(&full, columns)?;
        schema = Arc::new(full.project(&wanted).map_err(|e| e.to_string())?);
        builder = builder.with_projection(wanted);
    }
    let reader = builder
        .build(BufReader::new(file))
        .map_err(|e| format!("cannot read CSV: {e}"))?;
    Ok((schema, Box::new(reader)))
}

/// The inferred CSV schema made fit for every store: a column with no values (a header-only
/// file, or only empty cells) is text rather than the null type, and whole-second
/// timestamps become milliseconds (Parquet has no seconds unit), as UTC instants (`+00:00`;
/// named zones need chrono-tz) when their values carry `Z` or an offset (`zoned`).
fn settle_csv_schema(schema: &Schema, zoned: &[bool]) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(zoned)
        .map(|(field, &zoned)| {
            let data_type = match field.data_type() {
                DataType::Null => DataType::Utf8,
                DataType::Timestamp(unit, _) => {
                    let unit = match unit {
                        TimeUnit::Second => TimeUnit::Millisecond,
                        other => *other,
                    };
                    DataType::Timestamp(unit, zoned.then(|| "+00:00".into()))
                }
                other => other.clone(),
            };
            field.as_ref().clone().with_data_type(data_type)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// For each column, whether it is a timestamp column whose first values end in `Z` or a
/// `±hh:mm` offset; those are read as UTC instants instead of zone-less times.
fn zoned_columns(
    file: &mut (impl Read + Seek),
    format: &arrow_csv::reader::Format,
    schema: &Schema,
    rows: usize,
) -> Result<Vec<bool>, String> {
    let mut zoned = vec![false; schema.fields().len()];
    let timestamps: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| matches!(schema.field(i).data_type(), DataType::Timestamp(..)))
        .collect();
    if timestamps.is_empty() {
        return Ok(zoned);
    }
    let as_text = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let mut reader = arrow_csv::ReaderBuilder::new(as_text)
        .with_format(format.clone())
        .with_batch_size(rows.max(1))
        .with_projection(timestamps.clone())
        .build(BufReader::new(file))
        .map_err(|e| format!("cannot read CSV: {e}"))?;
    let Some(batch) = reader.next().transpose().map_err(|e| e.to_string())? else {
        return Ok(zoned);
    };
    for (position, &column) in timestamps.iter().enumerate() {
        let values = batch.column(position).as_string::<i32>();
        zoned[column] = values.iter().flatten().any(has_offset);
    }
    Ok(zoned)
}

/// `…Z`, `…+01:00`, `…-0500`: a timestamp text that names its offset from UTC.
fn has_offset(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with(['Z', 'z']) {
        return true;
    }
    let bytes = text.as_bytes();
    let Some(time) = text.find(['T', ' ']) else {
        return false;
    };
    bytes[time..]
        .iter()
        .rposition(|b| *b == b'+' || *b == b'-')
        .is_some_and(|at| {
            let rest = &text[time + at + 1..];
            !rest.is_empty()
                && rest.len() <= 5
                && rest.bytes().all(|b| b.is_ascii_digit() || b == b':')
        })
}

fn open_ndjson(
    path: &InputFile,
    file: Source,
    columns: Option<&[String]>,
    batch_size: usize,
    text: &TextOptions,
    schema_hint: Option<SchemaRef>,
) -> Result<(SchemaRef, BatchIter), ReadFailure> {
    let mut buffered = BufReader::new(file);
    let full = match schema_hint {
        Some(s) => s,
        None => {
            let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(
                &mut buffered,
                Some(text.infer_schema_length),
            )
            .map_err(|e| match locate_ndjson_error(path, None) {
                Some((line, why)) => format!("cannot infer the NDJSON fields: line {line}: {why}"),
                None => format!("cannot infer the NDJSON fields: {e}"),
            })?;
            Arc::new(schema)
        }
    };
    let decoding = arrow_json::ReaderBuilder::new(full.clone())
        .with_batch_size(batch_size)
        .build(buffered)
        .map_err(|e| format!("cannot read NDJSON: {e}"))?;
    let (located, schema_for_errors) = (path.clone(), full.clone());
    let reader = decoding.map(move |batch| {
        batch.map_err(
            |e| match locate_ndjson_error(&located, Some(&schema_for_errors)) {
                Some((line, why)) => ArrowError::JsonError(format!("line {line}: {why}")),
                None => e,
            },
        )
    });
    match columns {
        None => Ok((full, Box::new(reader))),
        Some(columns) => {
            let wanted = projection(&full, columns)?;
            let schema = Arc::new(full.project(&wanted).map_err(|e| e.to_string())?);
            Ok((
                schema,
                Box::new(reader.map(move |b| b.and_then(|b| b.project(&wanted)))),
            ))
        }
    }
}

/// The first line (counted from 1, as editors do) of the NDJSON file at `path` that is not
/// a JSON value, or whose values do not fit `schema`, with why. arrow-json's errors name no
/// line or count from the record, so after a failed read hygge finds the line again.
fn locate_ndjson_error(path: &InputFile, schema: Option<&SchemaRef>) -> Option<(usize, String)> {
    use std::io::BufRead;
    let file = path.open().ok()?;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.ok()?;
        let record = line.trim();
        if record.is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_str::<serde_json::Value>(record) {
            return Some((index + 1, format!("not valid JSON: {e}")));
        }
        if let Some(schema) = schema {
            let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
                .build_decoder()
                .ok()?;
            if let Err(e) = decoder
                .decode(record.as_bytes())
                .and_then(|_| decoder.flush())
            {
                return Some((index + 1, e.to_string()));
            }
        }
    }
    None
}

/// The columns of a file this store wrote, and whether only their names are known: a
/// Parquet footer states types, a CSV header and NDJSON keys do not (their types are
/// inferred again on every read).
pub fn read_columns(path: &Path, format: Format, delimiter: u8) -> Result<(Schema, bool), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    match format {
        Format::Parquet => ParquetRecordBatchReaderBuilder::try_new(file)
            .map(|b| (b.schema().as_ref().clone(), false))
            .map_err(|e| e.to_string()),
        Format::Csv => {
            let mut header = String::new();
            std::io::BufRead::read_line(&mut BufReader::new(file), &mut header)
                .map_err(|e| e.to_string())?;
            let names = csv_header_names(header.trim_end_matches(['\r', '\n']), delimiter);
            let fields: Vec<Field> = names
                .into_iter()
                .map(|n| Field::new(n, DataType::Utf8, true))
                .collect();
            Ok((Schema::new(fields), true))
        }
        Format::Ndjson => {
            let (schema, _) =
                arrow_json::reader::infer_json_schema_from_seekable(BufReader::new(file), Some(1))
                    .map_err(|e| e.to_string())?;
            Ok((schema, true))
        }
    }
}

/// The column names of a header line hygge wrote (`delimiter`-separated, quoted when needed).
fn csv_header_names(line: &str, delimiter: u8) -> Vec<String> {
    let delimiter = char::from(delimiter);
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => names.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    names.push(current);
    names
}
