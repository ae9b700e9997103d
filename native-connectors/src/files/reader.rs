//! Reads a list of files as one stream of batches: several read units (files, or row groups
//! of a Parquet file) are decoded in parallel on blocking threads, and their batches come
//! out in order with bounded memory.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{
    BatchReader, ConnectorError, ConnectorResult, ParquetFiles, ReadRequest,
};
use tokio::sync::mpsc;

use super::format::{Format, ReadUnit, TextOptions, open_unit, plan_units};
use super::handover::whole_files;
use super::input::{InputFile, ReadFailure};

/// Batches buffered per unit being read ahead.
const BATCHES_AHEAD_PER_UNIT: usize = 2;

/// How one home reads its files.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The format of every file.
    pub format: Format,
    /// The files, in the order their rows are yielded.
    pub files: Vec<InputFile>,
    /// CSV/NDJSON options.
    pub text: TextOptions,
    /// Units decoded at once.
    pub parallel_units: usize,
}

/// A [`BatchReader`] over many files of one format and one schema.
pub struct FilesReader {
    plan: Arc<ReadPlan>,
    units: Vec<ReadUnit>,
    request: ReadRequest,
    schema: SchemaRef,
    /// The full (unprojected) schema of text files, so every file is read alike.
    text_schema: Option<SchemaRef>,
    next_unit: usize,
    reading: VecDeque<mpsc::Receiver<ConnectorResult<RecordBatch>>>,
    /// The files, when a store may read them itself (see [`whole_files`]).
    whole: Option<ParquetFiles>,
}

impl FilesReader {
    /// Opens the first file to learn the schema, and plans the read units.
    ///
    /// # Errors
    /// A data error naming the file when it cannot be read; a config error when a requested
    /// column does not exist.
    pub async fn open(plan: ReadPlan, request: &ReadRequest) -> ConnectorResult<FilesReader> {
        let plan = Arc::new(plan);
        let p = plan.clone();
        let (columns, batch_size, watermark) = (
            request.columns().map(<[String]>::to_vec),
            request.batch_size(),
            request.watermark().cloned(),
        );
        let (schema, text_schema, units, whole) = tokio::task::spawn_blocking(move || {
            let first = ReadUnit {
                file: p.files[0].clone(),
                metadata: None,
                row_groups: None,
                rows: None,
            };
            let fail = |e: ReadFailure| e.about(&first.file);
            let (schema, _) = open_unit(
                p.format,
                &first,
                columns.as_deref(),
                batch_size,
                &p.text,
                None,
            )
            .map_err(fail)?;
            // Text formats infer their schema from the first file; later files use it too.
            let full = match p.format {
                Format::Parquet => None,
                _ => Some(
                    open_unit(p.format, &first, None, batch_size, &p.text, None)
                        .map_err(fail)?
                        .0,
                ),
            };
            let units = plan_units(p.format, &p.files, watermark.as_ref())
                .map_err(|(path, e)| e.about(&path))?;
            let whole = match (p.format, &watermark) {
                (Format::Parquet, None) => {
                    whole_files(&p.files, &units, &schema, columns.as_deref())
                }
                _ => None,
            };
            Ok::<_, ConnectorError>((schema, full, units, whole))
        })
        .await
        .map_err(|e| ConnectorError::internal(format!("reading task failed: {e}")))??;
        Ok(FilesReader {
            plan,
            units,
            request: request.clone(),
            schema,
            text_schema,
            next_unit: 0,
            reading: VecDeque::new(),
            whole,
        })
    }

    /// Starts decoding units until `parallel_units` are in flight.
    fn read_ahead(&mut self) {
        while self.reading.len() < self.plan.parallel_units.max(1)
            && self.next_unit < self.units.len()
        {
            let unit = self.units[self.next_unit].clone();
            self.next_unit += 1;
            let (tx, rx) = mpsc::channel(BATCHES_AHEAD_PER_UNIT);
            let (plan, schema, hint) = (
                self.plan.clone(),
                self.schema.clone(),
                self.text_schema.clone(),
            );
            let (columns, batch_size) = (
                self.request.columns().map(<[String]>::to_vec),
                self.request.batch_size(),
            );
            tokio::task::spawn_blocking(move || {
                let file = &unit.file;
                let iter = match open_unit(
                    plan.format,
                    &unit,
                    columns.as_deref(),
                    batch_size,
                    &plan.text,
                    hint,
                ) {
                    Ok((unit_schema, iter)) if unit_schema.fields() == schema.fields() => iter,
                    Ok((unit_schema, _)) => {
                        let _ = tx.blocking_send(Err(ConnectorError::data(format!(
                            "{} has other columns than {}: {:?} instead of {:?}",
                            file,
                            plan.files[0],
                            names(&unit_schema),
                            names(&schema)
                        ))));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e.about(file)));
                        return;
                    }
                };
                for batch in iter {
                    let item = batch.map_err(|e| ReadFailure::of_batch(file, &e).about(file));
                    let failed = item.is_err();
                    if tx.blocking_send(item).is_err() || failed {
                        return;
                    }
                }
            });
            self.reading.push_back(rx);
        }
    }
}

#[async_trait]
impl BatchReader for FilesReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn total_rows(&self) -> Option<u64> {
        self.units.iter().map(|u| u.rows).sum()
    }

    fn parquet_files(&self) -> Option<ParquetFiles> {
        self.whole.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        loop {
            self.read_ahead();
            let Some(rx) = self.reading.front_mut() else {
                return Ok(None);
            };
            match rx.recv().await {
                Some(item) => return item.map(Some),
                None => {
                    self.reading.pop_front();
                }
            }
        }
    }
}

fn names(schema: &SchemaRef) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect()
}
