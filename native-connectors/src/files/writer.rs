//! A store that writes files of one format into a staged folder and publishes it on commit,
//! optionally split into hive-style partition folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use arrow_select::take::take_record_batch;
use async_trait::async_trait;
use hygge_runtime::contract::{
    ConnectorError, ConnectorResult, RunContext, RunType, SchemaAdapter, Store, StoreWriter,
    check_batch_schema,
};
use hygge_runtime::publish::objects::DeltaTable;
use hygge_runtime::state::StateUpdate;

use super::delta_stats::delta_stats;
use super::file_writer::{FileWriteError, FileWriter, ParquetEncoding};
use super::format::{Format, read_columns};
use super::naming::{FilePattern, highest_sequence};
use super::paths::list_inputs;
use super::staged::{Staged, Target};

/// Everything a file store needs, validated.
#[derive(Debug, Clone)]
pub struct FileStoreSettings {
    /// Where readers see the files.
    pub target: Target,
    /// The format written.
    pub format: Format,
    /// Parquet encoding.
    pub parquet: ParquetEncoding,
    /// CSV delimiter.
    pub delimiter: u8,
    /// Rows per batch handed to the encoder.
    pub batch_size: Option<usize>,
    /// File names.
    pub pattern: FilePattern,
    /// Columns whose values name sub-folders (`col=value/`).
    pub partition_by: Vec<String>,
    /// Bytes after which a file is closed and the next one started (`None`: no limit).
    /// Object stores make files visible by a server-side copy, which S3 caps at 5 GB.
    pub max_file_bytes: Option<u64>,
    /// `table_format: delta`: the destination is also a Delta table. Its files leave the
    /// partition columns out (Delta keeps them in the log), and nanosecond timestamps are
    /// written as microseconds, which Delta readers read.
    pub delta: bool,
}

/// A [`Store`] writing files.
pub struct FileStore {
    settings: Arc<FileStoreSettings>,
}

impl FileStore {
    /// A store for one attempt.
    pub fn new(settings: Arc<FileStoreSettings>) -> Self {
        FileStore { settings }
    }
}

#[async_trait]
impl Store for FileStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let settings = self.settings;
        for column in &settings.partition_by {
            let Ok(field) = schema.field_with_name(column) else {
                return Err(ConnectorError::config(format!(
                    "partition_by column `{column}` is not in the data"
                )));
            };
            let exact_in_paths = !matches!(
                field.data_type(),
                DataType::Timestamp(..)
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::FixedSizeBinary(_)
            );
            if settings.delta && !exact_in_paths {
                return Err(ConnectorError::config(format!(
                    "partition_by column `{column}` is a {}, whose values a Delta table's paths do not state exactly",
                    field.data_type()
                ))
                .with_context("partition a Delta table by a date, number or text column"));
            }
        }
        if settings.format == Format::Parquet
            && let Some((column, what)) = super::parquet_writer::unwritable_column(&schema)
        {
            return Err(ConnectorError::config(format!("column `{column}` is {what}"))
                .with_context(format!(
                    "cast it at the home, e.g. with `query:` and EXTRACT(EPOCH FROM {column}) (seconds) or {column}::text, or leave it out with `columns:`"
                )));
        }
        let context = context.clone();
        let opened = schema.clone();
        let state = blocking(move || Files::open(settings, schema, context)).await?;
        Ok(Box::new(FileStoreWriter {
            state: Some(state),
            opened,
        }))
    }
}

/// The columns of the newest published file of `format` under `destination`, and whether
/// only their names are known (CSV and NDJSON do not store types); `None` when there is none.
///
/// # Errors
/// A data error naming the file when its columns cannot be read.
pub fn newest_columns(
    destination: &Path,
    format: Format,
    delimiter: u8,
) -> ConnectorResult<Option<(Schema, bool)>> {
    let Ok(files) = list_inputs(destination, format.extensions()) else {
        return Ok(None);
    };
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for path in files {
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| {
                ConnectorError::internal(format!("cannot stat {}: {e}", path.display()))
            })?;
        if newest.as_ref().is_none_or(|(t, _)| modified >= *t) {
            newest = Some((modified, path));
        }
    }
    let Some((_, path)) = newest else {
        return Ok(None);
    };
    read_columns(&path, format, delimiter)
        .map(Some)
        .map_err(|e| {
            ConnectorError::data(format!(
                "cannot read the columns of {}, published earlier: {e}",
                path.display()
            ))
        })
}

/// A failed write: a full device is a data error that says so and names the place; anything
/// else is hygge's to explain.
fn write_failed(error: FileWriteError, what: String) -> ConnectorError {
    if error.no_space {
        ConnectorError::data(format!("no space left on device: {what}: {}", error.message))
            .with_context("free space there, or point the store at another device; the destination was left as it was")
    } else {
        ConnectorError::data(format!("{what}: {}", error.message))
    }
}

/// Runs blocking file work off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ConnectorResult<T> + Send + 'static,
) -> ConnectorResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ConnectorError::internal(format!("file task failed: {e}")))?
}

/// A file being written, and what the commit log records of it.
struct OpenFile {
    writer: FileWriter,
    /// Its path under the destination.
    relative: PathBuf,
    rows: u64,
}

/// The open files of one run.
struct Files {
    settings: Arc<FileStoreSettings>,
    /// The columns of the data (committed to the log).
    schema: SchemaRef,
    /// The columns of each file: a Delta table's leave its partition columns out.
    file_schema: SchemaRef,
    context: RunContext,
    staged: Staged,
    writers: BTreeMap<String, OpenFile>,
    /// Files completed before the commit (closed at the size limit).
    closed: usize,
    next_sequence: u64,
    /// The columns the destination keeps (incremental runs into published files), and
    /// whether only their names are known; checked against this run's at its first row.
    kept: Option<(Schema, bool)>,
    /// Fits this run's batches to the destination's columns (incremental runs whose
    /// source's columns changed, under `on_schema_change`).
    adapter: Option<SchemaAdapter>,
}

impl Files {
    fn open(
        settings: Arc<FileStoreSettings>,
        schema: SchemaRef,
        context: RunContext,
    ) -> ConnectorResult<Files> {
        let delta = settings.delta.then(|| DeltaTable {
            partition_by: settings.partition_by.clone(),
        });
        let schema = match settings.delta {
            true => delta_schema_of(&schema),
            false => schema,
        };
        let staged = Staged::open(&settings.target, &context.run_id, context.run_type, delta)?;
        let next_sequence =
            if context.run_type == RunType::Incremental && !settings.pattern.has_run_id() {
                highest_sequence(&staged.published_files()?) + 1
            } else {
                1
            };
        let kept = match (context.run_type, &settings.target) {
            (RunType::FullDrop, _) => None,
            (RunType::Incremental, Target::Folder(path)) => {
                newest_columns(path, settings.format, settings.delimiter)?
            }
            (RunType::Incremental, Target::Objects(_)) => staged
                .published_schema()
                .map(|schema| (schema, settings.format != Format::Parquet)),
        };
        let file_schema = file_schema_of(&settings, &schema);
        Ok(Files {
            settings,
            schema,
            file_schema,
            context,
            staged,
            writers: BTreeMap::new(),
            closed: 0,
            next_sequence,
            kept,
            adapter: None,
        })
    }

    fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        if batch.num_rows() == 0 {
            // An empty input says nothing about columns (a header-only CSV is all text).
            return Ok(());
        }
        if let Some((kept, names_only)) = self.kept.take() {
            let policy = self.context.on_schema_change;
            self.adapter = SchemaAdapter::plan(&kept, &self.schema, names_only, policy)?;
            if let Some(adapter) = &self.adapter {
                self.schema = adapter.target().clone();
                self.file_schema = file_schema_of(&self.settings, &self.schema);
            }
        }
        let batch = match self.settings.delta {
            true => micros_for_delta(&batch)?,
            false => batch,
        };
        let batch = match &self.adapter {
            Some(adapter) => adapter.adapt(&batch)?,
            None => batch,
        };
        if self.settings.partition_by.is_empty() {
            return self.write_to(String::new(), &batch);
        }
        for (folder, rows) in partitions(&batch, &self.settings.partition_by)? {
            let indices = UInt32Array::from(rows);
            let part = take_record_batch(&batch, &indices).map_err(|e| {
                ConnectorError::internal("cannot split a batch by partition").with_source(e)
            })?;
            self.write_to(folder, &part)?;
        }
        Ok(())
    }

    fn write_to(&mut self, folder: String, batch: &RecordBatch) -> ConnectorResult<()> {
        let at = || format!("{}/{folder}", self.staged.describe());
        if !self.writers.contains_key(&folder) {
            let name = self.settings.pattern.render(
                self.next_sequence,
                &self.context.run_id,
                &self.context.entity,
                &self.context.flow,
            );
            self.next_sequence += 1;
            let relative = Path::new(&folder).join(name);
            let sink = self.staged.create(&relative).map_err(|e| {
                ConnectorError::data(format!("cannot create a file in {}: {e}", at()))
            })?;
            let writer = FileWriter::on(
                self.settings.format,
                sink,
                &self.file_schema,
                &self.settings.parquet,
                self.settings.delimiter,
            )
            .map_err(|e| write_failed(e, format!("cannot create a file in {}", at())))?;
            let file = OpenFile {
                writer,
                relative,
                rows: 0,
            };
            self.writers.insert(folder.clone(), file);
        }
        let at = at();
        let file = self
            .writers
            .get_mut(&folder)
            .ok_or_else(|| ConnectorError::internal("writer vanished"))?;
        file.rows += batch.num_rows() as u64;
        let batch = match self.file_schema.fields().len() == batch.num_columns() {
            true => batch.clone(),
            false => {
                let keep: Vec<usize> = self
                    .file_schema
                    .fields()
                    .iter()
                    .filter_map(|f| batch.schema().index_of(f.name()).ok())
                    .collect();
                batch.project(&keep).map_err(|e| {
                    ConnectorError::internal("cannot leave out the partition columns")
                        .with_source(e)
                })?
            }
        };
        file.writer
            .write(&batch)
            .map_err(|e| write_failed(e, format!("cannot write a batch for {at}")))?;
        if let Some(limit) = self.settings.max_file_bytes
            && file.writer.bytes_written() >= limit
            && let Some(full) = self.writers.remove(&folder)
        {
            // The folder's next batch starts the next file.
            self.close_file(&folder, full)?;
        }
        Ok(())
    }

    /// Completes `file` (written for `folder`) and records it for the commit.
    fn close_file(&mut self, folder: &str, file: OpenFile) -> ConnectorResult<()> {
        let finished = file.writer.finish().map_err(|e| {
            let at = format!("{}/{folder}", self.staged.describe());
            write_failed(e, format!("cannot finish a file for {at}"))
        })?;
        let stats = self.settings.delta.then(|| {
            let written = super::parquet_writer::readable_schema(&self.file_schema);
            delta_stats(&written, &finished.row_groups, file.rows)
        });
        self.staged
            .completed(&file.relative, file.rows, finished.bytes, stats);
        self.closed += 1;
        Ok(())
    }

    fn commit(mut self, state: Option<StateUpdate>) -> ConnectorResult<()> {
        if self.writers.is_empty() && self.closed == 0 && self.context.run_type == RunType::FullDrop
        {
            // No rows: still publish one empty file, so the destination states the schema and
            // a full drop really empties it. An incremental run adds nothing.
            let empty = RecordBatch::new_empty(self.schema.clone());
            self.write_to(String::new(), &empty)?;
        }
        for (folder, file) in std::mem::take(&mut self.writers) {
            self.close_file(&folder, file)?;
        }
        // A Delta table states the types its files hold (seconds as milliseconds, …).
        let committed = match self.settings.delta {
            true => super::parquet_writer::readable_schema(&self.schema),
            false => self.schema.clone(),
        };
        self.staged.commit(state.as_ref(), &committed)
    }
}

/// The columns of each file: the data's, less a Delta table's partition columns.
fn file_schema_of(settings: &FileStoreSettings, schema: &SchemaRef) -> SchemaRef {
    if !settings.delta || settings.partition_by.is_empty() {
        return schema.clone();
    }
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| !settings.partition_by.contains(f.name()))
        .cloned()
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `schema` with nanosecond timestamps as microseconds (Delta readers read microseconds).
fn delta_schema_of(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, zone) => Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(DataType::Timestamp(TimeUnit::Microsecond, zone.clone())),
            ),
            _ => f.clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` with nanosecond timestamps as microseconds; a value with digits below the
/// microsecond is refused by column, never rounded.
fn micros_for_delta(batch: &RecordBatch) -> ConnectorResult<RecordBatch> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampNanosecondType;
    let schema = delta_schema_of(&batch.schema());
    if schema == batch.schema() {
        return Ok(batch.clone());
    }
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(schema.fields()) {
        if let DataType::Timestamp(TimeUnit::Nanosecond, _) = column.data_type() {
            let nanos = column.as_primitive::<TimestampNanosecondType>();
            if nanos.iter().flatten().any(|n| n % 1_000 != 0) {
                return Err(ConnectorError::data(format!(
                    "column `{}` holds timestamps finer than a microsecond, which a Delta table cannot keep",
                    field.name()
                ))
                .with_context("round them to microseconds at the home, or write plain Parquet"));
            }
        }
        columns.push(arrow_cast::cast(column, field.data_type()).map_err(|e| {
            ConnectorError::internal("cannot cast timestamps to microseconds").with_source(e)
        })?);
    }
    RecordBatch::try_new(schema, columns)
        .map_err(|e| ConnectorError::internal("cannot rebuild a batch").with_source(e))
}

/// Groups the rows of `batch` by the values of the partition columns, as `col=value/…`
/// folders (hive style; nulls as `__HIVE_DEFAULT_PARTITION__`).
fn partitions(
    batch: &RecordBatch,
    columns: &[String],
) -> ConnectorResult<BTreeMap<String, Vec<u32>>> {
    let options = FormatOptions::default();
    let formatters = columns
        .iter()
        .map(|c| {
            let array = batch.column_by_name(c).ok_or_else(|| {
                ConnectorError::config(format!("partition column `{c}` is missing"))
            })?;
            ArrayFormatter::try_new(array.as_ref(), &options)
                .map(|f| (c, array.clone(), f))
                .map_err(|e| ConnectorError::config(format!("cannot partition by `{c}`: {e}")))
        })
        .collect::<ConnectorResult<Vec<_>>>()?;
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let mut folder = String::new();
        for (name, array, formatter) in &formatters {
            let value = if array.is_null(row) {
                "__HIVE_DEFAULT_PARTITION__".to_string()
            } else {
                escape(&formatter.value(row).to_string())
            };
            if !folder.is_empty() {
                folder.push('/');
            }
            folder.push_str(&format!("{name}={value}"));
        }
        groups.entry(folder).or_default().push(row as u32);
    }
    Ok(groups)
}

/// Escapes characters that cannot stand in a folder name, as hive does (`%2F` for `/`).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || "/\\:*?\"<>|%=#".contains(c) || (out.is_empty() && c == '.') {
            for byte in c.to_string().bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        "__EMPTY__".to_string()
    } else {
        out
    }
}

/// The [`StoreWriter`] of a file store.
struct FileStoreWriter {
    state: Option<Files>,
    /// The schema the store was opened with; every batch must have it.
    opened: SchemaRef,
}

impl FileStoreWriter {
    fn take(&mut self) -> ConnectorResult<Files> {
        self.state
            .take()
            .ok_or_else(|| ConnectorError::internal("the store was used after a failed write"))
    }
}

#[async_trait]
impl StoreWriter for FileStoreWriter {
    fn batch_size(&self) -> Option<usize> {
        self.state.as_ref().and_then(|s| s.settings.batch_size)
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        check_batch_schema(&self.opened, &batch)?;
        let mut files = self.take()?;
        let (files, result) = tokio::task::spawn_blocking(move || {
            let result = files.write(batch);
            (files, result)
        })
        .await
        .map_err(|e| ConnectorError::internal(format!("file task failed: {e}")))?;
        self.state = Some(files);
        result
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        let Some(files) = &self.state else {
            return Err(ConnectorError::internal("the store was already finished"));
        };
        if files.context.run_type == RunType::Incremental {
            return Ok(false);
        }
        files.staged.holds_data()
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        let files = self.take()?;
        blocking(move || files.commit(state)).await
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        match self.state.take() {
            Some(files) => {
                blocking(move || {
                    drop(files.writers);
                    files.staged.abort()
                })
                .await
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that reaches the size limit is closed, and the next batch starts the next
    /// one: every file is committed, every row once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_past_the_size_limit_are_closed_and_the_next_begun() {
        use arrow_array::{Int64Array, StringArray};
        use arrow_schema::Field;
        use hygge_runtime::publish::objects::ObjectDestination;
        use object_store::memory::InMemory;

        let store = Arc::new(InMemory::new());
        let destination = ObjectDestination::new(store, "raw/orders".into(), "memory://raw/orders");
        let settings = FileStoreSettings {
            target: Target::Objects(destination.clone()),
            format: Format::Csv,
            parquet: ParquetEncoding {
                compression: parquet::basic::Compression::UNCOMPRESSED,
                row_group_size: 1024,
            },
            delimiter: b',',
            batch_size: None,
            pattern: FilePattern::new(None, Format::Csv.suffix()).unwrap(),
            partition_by: Vec::new(),
            max_file_bytes: Some(1),
            delta: false,
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, false),
        ]));
        // About 2.5 MB of CSV a batch: more than the 1 MiB buffer before the sink.
        let batch = |from: i64| {
            let ids: Vec<i64> = (from..from + 200_000).collect();
            let notes: Vec<String> = ids.iter().map(|i| format!("note {i}")).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(notes)),
                ],
            )
            .unwrap()
        };
        let context = RunContext {
            run_id: "20261130T100000Z-000001".into(),
            flow: "f".into(),
            entity: "orders".into(),
            run_type: RunType::FullDrop,
            on_schema_change: Default::default(),
            reload: false,
            watermark_column: None,
        };
        let mut writer = Box::new(FileStore::new(Arc::new(settings)))
            .open(schema.clone(), &context)
            .await
            .unwrap();
        for from in [0, 200_000, 400_000] {
            writer.write(batch(from)).await.unwrap();
        }
        writer.commit(None).await.unwrap();
        let commit = destination.log().latest().await.unwrap().unwrap();
        assert_eq!(commit.files.len(), 3, "{:?}", commit.files);
        assert_eq!(commit.rows(), 600_000);
    }

    #[test]
    fn partition_values_are_escaped() {
        assert_eq!(escape("2024-01-01"), "2024-01-01");
        assert_eq!(escape("a/b"), "a%2Fb");
        assert_eq!(escape(".."), "%2E.");
        assert_eq!(escape(""), "__EMPTY__");
    }
}
