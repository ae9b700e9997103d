//! The reader resource: Parquet files → Arrow IPC batches.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::config::{HomeConfig, parse};
use crate::exports::hygge::connector::home::{GuestReader, Reader};
use crate::files::{SeekReader, list_inputs};
use crate::hygge::connector::types::{Error, ReadRequest};
use crate::{config_error, data_error};

const DEFAULT_BATCH_SIZE: usize = 65_536;

/// An open Parquet home.
pub struct ParquetReader {
    state: RefCell<State>,
}

struct State {
    schema: SchemaRef,
    columns: Option<Vec<String>>,
    batch_size: usize,
    pending: VecDeque<PathBuf>,
    current: Option<(PathBuf, ParquetRecordBatchReader, Option<Vec<usize>>)>,
}

/// Opens one file with the projection; returns its schema, its reader, and the reorder
/// that puts columns in the requested order.
fn open_file(
    path: &Path,
    columns: Option<&[String]>,
    batch_size: usize,
) -> Result<(SchemaRef, ParquetRecordBatchReader, Option<Vec<usize>>), Error> {
    let fail = |e: String| data_error(format!("{}: {e}", path.display()));
    let source = SeekReader::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(source)
        .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
    let file_schema = builder.schema().clone();
    let mut builder = builder.with_batch_size(batch_size);
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
    Ok((schema, reader, reorder))
}

impl GuestReader for ParquetReader {
    fn open(config: String, request: ReadRequest) -> Result<Reader, Error> {
        let config: HomeConfig = parse(&config)?;
        let files = list_inputs(Path::new(&config.path)).map_err(config_error)?;
        let batch_size = (request.batch_size as usize)
            .max(1)
            .min(config.batch_size.unwrap_or(usize::MAX))
            .max(1);
        let batch_size = if request.batch_size == 0 {
            config.batch_size.unwrap_or(DEFAULT_BATCH_SIZE)
        } else {
            batch_size
        };
        let mut pending: VecDeque<PathBuf> = files.into();
        let first = pending
            .pop_front()
            .ok_or_else(|| config_error("no input files"))?;
        let (schema, reader, reorder) = open_file(&first, request.columns.as_deref(), batch_size)?;
        Ok(Reader::new(ParquetReader {
            state: RefCell::new(State {
                schema,
                columns: request.columns,
                batch_size,
                pending,
                current: Some((first, reader, reorder)),
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
            let Some((path, reader, reorder)) = state.current.as_mut() else {
                let Some(next) = state.pending.pop_front() else {
                    return Ok(None);
                };
                let (schema, reader, reorder) =
                    open_file(&next, state.columns.as_deref(), state.batch_size)?;
                if schema.fields() != state.schema.fields() {
                    return Err(data_error(format!(
                        "{} has other columns than the first file",
                        next.display()
                    )));
                }
                state.current = Some((next, reader, reorder));
                continue;
            };
            match reader.next() {
                Some(Ok(batch)) => {
                    let batch = match reorder {
                        Some(order) => batch
                            .project(order)
                            .map_err(|e| data_error(e.to_string()))?,
                        None => batch,
                    };
                    return hygge_ipc::batch_to_bytes(&batch)
                        .map(Some)
                        .map_err(|e| data_error(e.to_string()));
                }
                Some(Err(e)) => return Err(data_error(format!("{}: {e}", path.display()))),
                None => state.current = None,
            }
        }
    }
}
