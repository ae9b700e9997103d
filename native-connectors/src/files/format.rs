//! The three file formats, each as a reader of one file and a writer of one file.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use serde::Deserialize;

use super::input::{InputFile, ReadFailure, Source};
use super::parquet_reader::open_parquet;
pub use super::parquet_reader::plan_units;

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
