//! Reads a list of files as one stream of batches: several files are decoded in parallel on
//! blocking threads, and their batches come out in file order with bounded memory.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{BatchReader, ConnectorError, ConnectorResult, ReadRequest};
use tokio::sync::mpsc;

use super::format::{Format, TextOptions, open_file};

/// Batches buffered per file being read ahead.
const BATCHES_AHEAD_PER_FILE: usize = 2;

/// How one home reads its files.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The format of every file.
    pub format: Format,
    /// The files, in the order their rows are yielded.
    pub files: Vec<PathBuf>,
    /// CSV/NDJSON options.
    pub text: TextOptions,
    /// Files decoded at once.
    pub parallel_files: usize,
}

/// A [`BatchReader`] over many files of one format and one schema.
pub struct FilesReader {
    plan: Arc<ReadPlan>,
    request: ReadRequest,
    schema: SchemaRef,
    /// The full (unprojected) schema of text files, so every file is read alike.
    text_schema: Option<SchemaRef>,
    next_file: usize,
    reading: VecDeque<(PathBuf, mpsc::Receiver<ConnectorResult<RecordBatch>>)>,
}

impl FilesReader {
    /// Opens the first file to learn the schema.
    ///
    /// # Errors
    /// A data error naming the file when it cannot be read; a config error when a requested
    /// column does not exist.
    pub async fn open(plan: ReadPlan, request: &ReadRequest) -> ConnectorResult<FilesReader> {
        let plan = Arc::new(plan);
        let first = plan.files[0].clone();
        let (p, columns, batch_size) = (
            plan.clone(),
            request.columns().map(<[String]>::to_vec),
            request.batch_size(),
        );
        let (schema, text_schema) = tokio::task::spawn_blocking(move || {
            let (schema, _) = open_file(
                p.format,
                &first,
                columns.as_deref(),
                batch_size,
                &p.text,
                None,
            )
            .map_err(|e| file_error(&first, &e))?;
            // Text formats infer their schema from the first file; later files use it too.
            let full = match p.format {
                Format::Parquet => None,
                _ => Some(
                    open_file(p.format, &first, None, batch_size, &p.text, None)
                        .map_err(|e| file_error(&first, &e))?
                        .0,
                ),
            };
            Ok::<_, ConnectorError>((schema, full))
        })
        .await
        .map_err(|e| ConnectorError::internal(format!("reading task failed: {e}")))??;
        Ok(FilesReader {
            plan,
            request: request.clone(),
            schema,
            text_schema,
            next_file: 0,
            reading: VecDeque::new(),
        })
    }

    /// Starts decoding files until `parallel_files` are in flight.
    fn read_ahead(&mut self) {
        while self.reading.len() < self.plan.parallel_files.max(1)
            && self.next_file < self.plan.files.len()
        {
            let path = self.plan.files[self.next_file].clone();
            self.next_file += 1;
            let (tx, rx) = mpsc::channel(BATCHES_AHEAD_PER_FILE);
            let (plan, schema, hint) = (
                self.plan.clone(),
                self.schema.clone(),
                self.text_schema.clone(),
            );
            let (columns, batch_size) = (
                self.request.columns().map(<[String]>::to_vec),
                self.request.batch_size(),
            );
            let file = path.clone();
            tokio::task::spawn_blocking(move || {
                let iter = match open_file(
                    plan.format,
                    &file,
                    columns.as_deref(),
                    batch_size,
                    &plan.text,
                    hint,
                ) {
                    Ok((file_schema, iter)) if file_schema.fields() == schema.fields() => iter,
                    Ok((file_schema, _)) => {
                        let _ = tx.blocking_send(Err(ConnectorError::data(format!(
                            "{} has other columns than {}: {:?} instead of {:?}",
                            file.display(),
                            plan.files[0].display(),
                            names(&file_schema),
                            names(&schema)
                        ))));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(file_error(&file, &e)));
                        return;
                    }
                };
                for batch in iter {
                    let item = batch.map_err(|e| file_error(&file, &e.to_string()));
                    let failed = item.is_err();
                    if tx.blocking_send(item).is_err() || failed {
                        return;
                    }
                }
            });
            self.reading.push_back((path, rx));
        }
    }
}

#[async_trait]
impl BatchReader for FilesReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        loop {
            self.read_ahead();
            let Some((_, rx)) = self.reading.front_mut() else {
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

fn file_error(path: &std::path::Path, message: &str) -> ConnectorError {
    if message.starts_with("column `") {
        ConnectorError::config(format!("{}: {message}", path.display()))
            .with_context("check `columns`")
    } else {
        ConnectorError::data(format!("{}: {message}", path.display()))
    }
}
