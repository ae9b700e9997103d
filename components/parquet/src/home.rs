//! The reader resource: Parquet files → Arrow IPC batches.
//!
//! Alone, an instance reads every file whole, in order. As part `k` of `parts` (config
//! keys set by the host, protocol in wit/README.md) it reads only the row groups `k`,
//! `k + parts`, … counted across the files in order, and answers an empty byte list after
//! each, so the host can put the parts' batches back in input order.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};

use crate::config::{HomeConfig, parse};
use crate::exports::hygge::connector::home::{GuestReader, Reader};
use crate::files::{SeekReader, list_inputs};
use crate::watermark::needed_groups;
use crate::{config_error, data_error};
use hygge_component_sdk::types::{Error, ReadRequest, WatermarkFilter};

const DEFAULT_BATCH_SIZE: usize = 65_536;

/// An open Parquet home.
pub struct ParquetReader {
    state: RefCell<State>,
}

/// What one instance reads: a whole file, or one row group of it.
struct Unit {
    path: PathBuf,
    row_group: Option<usize>,
    /// The file's footer, when already read: the row groups of one file share it.
    metadata: Option<ArrowReaderMetadata>,
}

/// A unit being read, and the reorder that puts its columns in the requested order.
struct Open {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    reorder: Option<Vec<usize>>,
}

struct State {
    schema: SchemaRef,
    columns: Option<Vec<String>>,
    batch_size: usize,
    pending: VecDeque<Unit>,
    current: Option<Open>,
    /// A part answers an empty batch after each of its units.
    mark_unit_ends: bool,
    /// Row groups below it are not decoded.
    watermark: Option<WatermarkFilter>,
}

/// Opens one unit with the projection; returns its schema and the open reader.
fn open_unit(
    unit: &Unit,
    columns: Option<&[String]>,
    batch_size: usize,
    watermark: Option<&WatermarkFilter>,
) -> Result<(SchemaRef, Open), Error> {
    let path = &unit.path;
    let fail = |e: String| data_error(format!("{}: {e}", path.display()));
    let source = SeekReader::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let builder = match &unit.metadata {
        Some(metadata) => {
            ParquetRecordBatchReaderBuilder::new_with_metadata(source, metadata.clone())
        }
        None => ParquetRecordBatchReaderBuilder::try_new(source)
            .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?,
    };
    let file_schema = builder.schema().clone();
    let groups: Vec<usize> = match unit.row_group {
        Some(row_group) => vec![row_group],
        None => (0..builder.metadata().num_row_groups()).collect(),
    };
    let groups = match watermark {
        Some(w) => needed_groups(builder.metadata(), groups, w),
        None => groups,
    };
    let builder = builder.with_batch_size(batch_size).with_row_groups(groups);
    let mut builder = builder;
    let mut reorder = None;
    if let Some(columns) = columns {
        let wanted = columns
            .iter()
            .map(|c| {
                file_schema.index_of(c).map_err(|_| {
                    let names: Vec<&str> = file_schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    config_error(format!(
                        "{}: column `{c}` is not in the data; columns: {}",
                        path.display(),
                        names.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<usize>, Error>>()?;
        let mut sorted = wanted.clone();
        sorted.sort_unstable();
        let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
        builder = builder.with_projection(mask);
        reorder = Some(
            wanted
                .iter()
                .map(|w| sorted.iter().position(|s| s == w).unwrap_or(0))
                .collect::<Vec<_>>(),
        );
    }
    let reader = builder.build().map_err(|e| fail(e.to_string()))?;
    let schema = match &reorder {
        Some(order) => Arc::new(
            arrow_array::RecordBatchReader::schema(&reader)
                .project(order)
                .map_err(|e| fail(e.to_string()))?,
        ),
        None => arrow_array::RecordBatchReader::schema(&reader),
    };
    Ok((
        schema,
        Open {
            path: path.clone(),
            reader,
            reorder,
        },
    ))
}

/// The units part `part` of `parts` reads: every `parts`-th row group, counted across
/// `files` in order, starting at `part`.
fn part_units(files: &[PathBuf], part: usize, parts: usize) -> Result<VecDeque<Unit>, Error> {
    let mut units = VecDeque::new();
    let mut index = 0;
    for path in files {
        let fail = |e: String| data_error(format!("{}: {e}", path.display()));
        let source = SeekReader::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let metadata = ArrowReaderMetadata::load(&source, ArrowReaderOptions::new())
            .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
        for row_group in 0..metadata.metadata().num_row_groups() {
            if index % parts == part {
                units.push_back(Unit {
                    path: path.clone(),
                    row_group: Some(row_group),
                    metadata: Some(metadata.clone()),
                });
            }
            index += 1;
        }
    }
    Ok(units)
}

impl GuestReader for ParquetReader {
    fn open(config: String, request: ReadRequest) -> Result<Reader, Error> {
        let config: HomeConfig = parse(&config)?;
        if config.part >= config.parts {
            return Err(config_error(format!(
                "part {} is not below parts {}",
                config.part, config.parts
            )));
        }
        let files = list_inputs(Path::new(&config.path)).map_err(config_error)?;
        let batch_size = if request.batch_size == 0 {
            config.batch_size.unwrap_or(DEFAULT_BATCH_SIZE)
        } else {
            (request.batch_size as usize).min(config.batch_size.unwrap_or(usize::MAX))
        }
        .max(1);
        let first = Unit {
            path: files
                .first()
                .ok_or_else(|| config_error("no input files"))?
                .clone(),
            row_group: None,
            metadata: None,
        };
        let (schema, first) = open_unit(
            &first,
            request.columns.as_deref(),
            batch_size,
            request.watermark.as_ref(),
        )?;
        let (pending, current) = if config.parts > 1 {
            let units = part_units(&files, config.part as usize, config.parts as usize)?;
            (units, None)
        } else {
            let rest = files[1..].iter().map(|path| Unit {
                path: path.clone(),
                row_group: None,
                metadata: None,
            });
            (rest.collect(), Some(first))
        };
        Ok(Reader::new(ParquetReader {
            state: RefCell::new(State {
                schema,
                columns: request.columns,
                batch_size,
                pending,
                current,
                mark_unit_ends: config.parts > 1,
                watermark: request.watermark,
            }),
        }))
    }

    fn schema(&self) -> Result<Vec<u8>, Error> {
        let state = self.state.borrow();
        hygge_ipc::schema_to_bytes(&state.schema).map_err(|e| data_error(e.to_string()))
    }

    fn next_batch(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut state = self.state.borrow_mut();
        loop {
            let Some(open) = state.current.as_mut() else {
                let Some(next) = state.pending.pop_front() else {
                    return Ok(None);
                };
                let (schema, open) = open_unit(
                    &next,
                    state.columns.as_deref(),
                    state.batch_size,
                    state.watermark.as_ref(),
                )?;
                if schema.fields() != state.schema.fields() {
                    return Err(data_error(format!(
                        "{} has other columns than the first file",
                        next.path.display()
                    )));
                }
                state.current = Some(open);
                continue;
            };
            match open.reader.next() {
                Some(Ok(batch)) => {
                    let batch = match &open.reorder {
                        Some(order) => batch
                            .project(order)
                            .map_err(|e| data_error(e.to_string()))?,
                        None => batch,
                    };
                    return hygge_ipc::batch_to_bytes(&batch)
                        .map(Some)
                        .map_err(|e| data_error(e.to_string()));
                }
                Some(Err(e)) => return Err(data_error(format!("{}: {e}", open.path.display()))),
                None => {
                    state.current = None;
                    if state.mark_unit_ends {
                        return Ok(Some(Vec::new()));
                    }
                }
            }
        }
    }
}
