//! The three file formats, each as a reader of one file and a writer of one file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::RecordBatchReader;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Deserialize;

use super::parquet_writer::ParallelParquetWriter;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadUnit {
    /// The file.
    pub path: PathBuf,
    /// `None`: the whole file; `Some`: these Parquet row groups.
    pub row_groups: Option<Vec<usize>>,
}

/// Splits the files into read units: one per Parquet row group, one per other file.
pub fn plan_units(format: Format, files: &[PathBuf]) -> Result<Vec<ReadUnit>, (PathBuf, String)> {
    let mut units = Vec::new();
    for path in files {
        let whole = ReadUnit {
            path: path.clone(),
            row_groups: None,
        };
        if format != Format::Parquet {
            units.push(whole);
            continue;
        }
        let file = File::open(path).map_err(|e| (path.clone(), format!("cannot open: {e}")))?;
        let row_groups = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| (path.clone(), format!("not a readable Parquet file: {e}")))?
            .metadata()
            .num_row_groups();
        if row_groups <= 1 {
            units.push(whole);
        } else {
            units.extend((0..row_groups).map(|g| ReadUnit {
                path: path.clone(),
                row_groups: Some(vec![g]),
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
) -> Result<(SchemaRef, BatchIter), String> {
    let file = File::open(&unit.path).map_err(|e| format!("cannot open: {e}"))?;
    match format {
        Format::Parquet => open_parquet(file, columns, batch_size, unit.row_groups.clone()),
        Format::Csv => open_csv(file, columns, batch_size, text, schema_hint),
        Format::Ndjson => open_ndjson(file, columns, batch_size, text, schema_hint),
    }
}

/// The indices of `columns` in `schema`, in the requested order.
pub fn projection(schema: &SchemaRef, columns: &[String]) -> Result<Vec<usize>, String> {
    columns
        .iter()
        .map(|c| {
            schema.index_of(c).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                format!(
                    "column `{c}` is not in the data; columns: {}",
                    names.join(", ")
                )
            })
        })
        .collect()
}

fn open_parquet(
    file: File,
    columns: Option<&[String]>,
    batch_size: usize,
    row_groups: Option<Vec<usize>>,
) -> Result<(SchemaRef, BatchIter), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
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
    Ok((schema, Box::new(iter)))
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
    mut file: File,
    columns: Option<&[String]>,
    batch_size: usize,
    text: &TextOptions,
    schema_hint: Option<SchemaRef>,
) -> Result<(SchemaRef, BatchIter), String> {
    let delimiter = u8::try_from(text.delimiter)
        .map_err(|_| "the CSV delimiter must be one ASCII character".to_string())?;
    let format = arrow_csv::reader::Format::default()
        .with_header(text.has_header)
        .with_delimiter(delimiter);
    let full = match schema_hint {
        Some(s) => s,
        None => {
            let (schema, _) = format
                .infer_schema(BufReader::new(&mut file), Some(text.infer_schema_length))
                .map_err(|e| format!("cannot infer the CSV columns: {e}"))?;
            file.rewind().map_err(|e| e.to_string())?;
            Arc::new(schema)
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

fn open_ndjson(
    file: File,
    columns: Option<&[String]>,
    batch_size: usize,
    text: &TextOptions,
    schema_hint: Option<SchemaRef>,
) -> Result<(SchemaRef, BatchIter), String> {
    let mut buffered = BufReader::new(file);
    let full = match schema_hint {
        Some(s) => s,
        None => {
            let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(
                &mut buffered,
                Some(text.infer_schema_length),
            )
            .map_err(|e| format!("cannot infer the NDJSON fields: {e}"))?;
            Arc::new(schema)
        }
    };
    let reader = arrow_json::ReaderBuilder::new(full.clone())
        .with_batch_size(batch_size)
        .build(buffered)
        .map_err(|e| format!("cannot read NDJSON: {e}"))?;
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

/// Writes one file of a format.
// One value per open file: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum FileWriter {
    /// Parquet, row group by row group, columns encoded in parallel.
    Parquet(ParallelParquetWriter<BufWriter<File>>),
    /// CSV with a header.
    Csv(arrow_csv::Writer<BufWriter<File>>),
    /// NDJSON.
    Ndjson(arrow_json::LineDelimitedWriter<BufWriter<File>>),
}

/// How Parquet files are encoded.
#[derive(Debug, Clone)]
pub struct ParquetEncoding {
    /// The codec and level.
    pub compression: Compression,
    /// Rows per row group.
    pub row_group_size: usize,
}

impl FileWriter {
    /// Creates `path` and a writer of `format` for batches of `schema`.
    pub fn create(
        format: Format,
        path: &Path,
        schema: &SchemaRef,
        parquet: &ParquetEncoding,
        delimiter: u8,
    ) -> Result<FileWriter, String> {
        let file = BufWriter::with_capacity(
            1 << 20,
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        );
        Ok(match format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(parquet.compression)
                    .set_max_row_group_row_count(Some(parquet.row_group_size))
                    .build();
                FileWriter::Parquet(
                    ParallelParquetWriter::try_new(
                        file,
                        schema.clone(),
                        props,
                        parquet.row_group_size,
                    )
                    .map_err(|e| e.to_string())?,
                )
            }
            Format::Csv => FileWriter::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(delimiter)
                    .build(file),
            ),
            Format::Ndjson => FileWriter::Ndjson(arrow_json::LineDelimitedWriter::new(file)),
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            FileWriter::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            FileWriter::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            FileWriter::Ndjson(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    /// Completes the file (footer, flush).
    pub fn finish(self) -> Result<(), String> {
        use std::io::Write;
        match self {
            FileWriter::Parquet(w) => w
                .close()
                .map_err(|e| e.to_string())?
                .flush()
                .map_err(|e| e.to_string()),
            FileWriter::Csv(w) => w.into_inner().flush().map_err(|e| e.to_string()),
            FileWriter::Ndjson(mut w) => {
                w.finish().map_err(|e| e.to_string())?;
                w.into_inner().flush().map_err(|e| e.to_string())
            }
        }
    }
}
