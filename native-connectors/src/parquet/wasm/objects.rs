//! The Parquet component on an object-store URL (`runtime: wasm` with `path: s3://…`).
//! The sandbox gets no network. As a home, the host reads the objects (hygge's committed set
//! where hygge publishes, as the native home does) with ranged requests into a private local
//! folder made for this read, and grants the component that folder alone, read-only. As a
//! store, the component writes a private local folder, which the host uploads and publishes
//! through the object-store commit log. The folders are removed when the run ends.

use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{
    AdaptingWriter, BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, Place,
    ReadRequest, RunContext, RunScope, RunType, SchemaAdapter, Store, StoreSpec, StoreWriter,
};
use hygge_runtime::publish::objects::{ObjectDestination, ObjectStaging, ObjectState};
use hygge_runtime::state::{StateStore, StateUpdate};
use hygge_runtime::wasm::{ComponentSource, Permissions};

use crate::files::{FileSink, Format, InputFile, ObjectSink, list_objects};

/// A component home on an object-store URL.
pub struct ObjectHomeSpec {
    objects: ObjectDestination,
    batch_size: Option<usize>,
    permissions: Permissions,
}

/// The component home reading `objects`, with the sandbox's other limits in `permissions`.
pub fn home(
    objects: ObjectDestination,
    batch_size: Option<usize>,
    permissions: Permissions,
) -> ObjectHomeSpec {
    ObjectHomeSpec {
        objects,
        batch_size,
        permissions,
    }
}

impl HomeSpec for ObjectHomeSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
        Box::new(ObjectHome {
            objects: self.objects.clone(),
            batch_size: self.batch_size,
            permissions: self.permissions.clone(),
        })
    }

    fn describe(&self) -> String {
        format!("parquet {} (wasm)", self.objects.place())
    }

    fn sandbox(&self) -> Option<String> {
        Some(format!(
            "{}; reads a private local copy of {} (no network)",
            self.permissions.summary(),
            self.objects.place()
        ))
    }

    fn component(&self) -> Option<Arc<ComponentSource>> {
        Some(super::source())
    }

    fn place(&self) -> Option<Place> {
        Some(Place::url(self.objects.place()))
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.objects.connection_label())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(self.objects.check_now())
    }
}

/// One attempt.
struct ObjectHome {
    objects: ObjectDestination,
    batch_size: Option<usize>,
    permissions: Permissions,
}

#[async_trait]
impl Home for ObjectHome {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let files = list_objects(&self.objects, Format::Parquet.extensions())
            .await?
            .files_only(self.objects.place())?;
        let copy = tempfile::Builder::new()
            .prefix("hygge-wasm-home-")
            .tempdir()
            .map_err(|e| {
                ConnectorError::data(format!("cannot make a local folder to read into: {e}"))
                    .with_context("check that the system's temporary folder is writable")
            })?;
        let folder = copy.path().to_path_buf();
        tokio::task::spawn_blocking(move || copy_all(&files, &folder))
            .await
            .map_err(|e| ConnectorError::internal(format!("copying task failed: {e}")))??;
        let spec = super::home(copy.path(), self.batch_size, self.permissions)
            .map_err(|p| ConnectorError::internal(p.message))?;
        let inner = Box::new(spec).open(request).await?;
        Ok(Box::new(CopiedReader { inner, _copy: copy }))
    }
}

/// Streams each file into `folder`, numbered so that the component reads them in order.
fn copy_all(files: &[InputFile], folder: &std::path::Path) -> ConnectorResult<()> {
    for (index, file) in files.iter().enumerate() {
        let mut source = file
            .open()
            .map_err(|e| ConnectorError::internal(format!("{file}: {e}")))?;
        let local = folder.join(format!("{index:08}.parquet"));
        let mut target = std::fs::File::create(&local)
            .map_err(|e| ConnectorError::data(format!("cannot write {}: {e}", local.display())))?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = source
                .read(&mut buffer)
                .map_err(|e| ConnectorError::connection(format!("cannot read {file}: {e}")))?;
            if n == 0 {
                break;
            }
            target.write_all(&buffer[..n]).map_err(|e| {
                ConnectorError::data(format!("cannot write {}: {e}", local.display()))
                    .with_context("free space in the system's temporary folder")
            })?;
        }
    }
    Ok(())
}

/// The component's reader, holding the local copy until the read ends.
struct CopiedReader {
    inner: Box<dyn BatchReader>,
    _copy: tempfile::TempDir,
}

#[async_trait]
impl BatchReader for CopiedReader {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn total_rows(&self) -> Option<u64> {
        self.inner.total_rows()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        self.inner.next_batch().await
    }
}

/// The component store's encoding keys, owned.
#[derive(Debug, Clone)]
pub struct Encoding {
    /// The codec name as written.
    pub compression: Option<String>,
    /// The codec level.
    pub compression_level: Option<i32>,
    /// Rows per row group.
    pub row_group_size: Option<usize>,
    /// Rows per batch handed to the component.
    pub batch_size: Option<usize>,
}

/// A component store on an object-store URL. The sandbox gets no network: the component
/// writes into a private local folder, and at the commit the host uploads the files into
/// the run's staging prefix and publishes them through the object-store commit log, with
/// the watermark, exactly as the native store does.
pub struct ObjectStoreSpec {
    objects: ObjectDestination,
    encoding: Encoding,
    permissions: Permissions,
}

/// The component store writing `objects`.
pub fn store(
    objects: ObjectDestination,
    encoding: Encoding,
    permissions: Permissions,
) -> ObjectStoreSpec {
    ObjectStoreSpec {
        objects,
        encoding,
        permissions,
    }
}

impl StoreSpec for ObjectStoreSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(ObjectComponentStore {
            objects: self.objects.clone(),
            encoding: self.encoding.clone(),
            permissions: self.permissions.clone(),
            run: run.clone(),
        })
    }

    fn describe(&self) -> String {
        format!("parquet {} (wasm)", self.objects.place())
    }

    fn sandbox(&self) -> Option<String> {
        Some(format!(
            "{}; writes a private local folder the host uploads to {} (no network)",
            self.permissions.summary(),
            self.objects.place()
        ))
    }

    fn component(&self) -> Option<Arc<ComponentSource>> {
        Some(super::source())
    }

    fn place(&self) -> Option<Place> {
        Some(Place::url(self.objects.place()))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.objects.connection_label())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(self.objects.check_now())
    }

    fn state(&self, _run: &RunScope) -> Option<Box<dyn StateStore>> {
        Some(Box::new(ObjectState::new(self.objects.clone())))
    }
}

/// One attempt.
struct ObjectComponentStore {
    objects: ObjectDestination,
    encoding: Encoding,
    permissions: Permissions,
    run: RunScope,
}

#[async_trait]
impl Store for ObjectComponentStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let staging =
            ObjectStaging::open(self.objects.clone(), &context.run_id, context.run_type).await?;
        let adapter = match (
            context.run_type,
            staging.published().and_then(|c| c.schema.clone()),
        ) {
            (RunType::Incremental, Some(kept)) => {
                SchemaAdapter::plan(&kept, &schema, false, context.on_schema_change)?
            }
            _ => None,
        };
        let written = adapter
            .as_ref()
            .map_or_else(|| schema.clone(), |a| a.target().clone());
        let local = tempfile::Builder::new()
            .prefix("hygge-wasm-store-")
            .tempdir()
            .map_err(|e| {
                ConnectorError::data(format!("cannot make a local folder to write into: {e}"))
                    .with_context("check that the system's temporary folder is writable")
            })?;
        let folder = local.path().join("out");
        let settings = super::StoreSettings {
            destination: &folder,
            compression: self.encoding.compression.as_deref(),
            compression_level: self.encoding.compression_level,
            row_group_size: self.encoding.row_group_size,
            batch_size: self.encoding.batch_size,
        };
        let component = super::store(settings, self.permissions)
            .map_err(|p| ConnectorError::internal(p.message))?;
        // The local folder is new every run: the component always writes a whole set, and
        // the commit log adds it to or replaces what the destination holds.
        let local_context = RunContext {
            run_type: RunType::FullDrop,
            ..context.clone()
        };
        let inner = component
            .build(&self.run)
            .open(written.clone(), &local_context)
            .await?;
        let writer: Box<dyn StoreWriter> = Box::new(UploadingWriter {
            inner: Some(inner),
            staging: Some(staging),
            run_type: context.run_type,
            schema: written,
            folder,
            _local: local,
        });
        Ok(match adapter {
            Some(adapter) => Box::new(AdaptingWriter::new(writer, adapter)),
            None => writer,
        })
    }
}

/// The component's writer, and the upload and commit after it.
struct UploadingWriter {
    inner: Option<Box<dyn StoreWriter>>,
    staging: Option<ObjectStaging>,
    run_type: RunType,
    schema: SchemaRef,
    folder: std::path::PathBuf,
    _local: tempfile::TempDir,
}

impl UploadingWriter {
    fn inner(&mut self) -> ConnectorResult<&mut Box<dyn StoreWriter>> {
        self.inner
            .as_mut()
            .ok_or_else(|| ConnectorError::internal("the store was already finished"))
    }
}

#[async_trait]
impl StoreWriter for UploadingWriter {
    fn batch_size(&self) -> Option<usize> {
        self.inner.as_ref().and_then(|w| w.batch_size())
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        self.inner()?.write(batch).await
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        Ok(self.run_type == RunType::FullDrop
            && self
                .staging
                .as_ref()
                .is_some_and(|s| !s.published_files().is_empty()))
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| ConnectorError::internal("the store was already finished"))?;
        let mut staging = self
            .staging
            .take()
            .ok_or_else(|| ConnectorError::internal("the store was already finished"))?;
        if let Err(e) = inner.commit(None).await {
            let _ = staging.abort().await;
            return Err(e);
        }
        let folder = self.folder.clone();
        let files = tokio::task::spawn_blocking(move || written_files(&folder))
            .await
            .map_err(|e| ConnectorError::internal(format!("listing task failed: {e}")))??;
        for (relative, local, rows) in files {
            let target = staging.staged_path(&relative)?;
            let store = staging.destination().store().clone();
            let bytes = tokio::task::spawn_blocking(move || upload(&store, &target, &local))
                .await
                .map_err(|e| ConnectorError::internal(format!("upload task failed: {e}")))?;
            match bytes {
                Ok(bytes) => staging.add_file(relative, rows, bytes, None),
                Err(e) => {
                    let _ = staging.abort().await;
                    return Err(e);
                }
            }
        }
        staging
            .commit(state.as_ref(), Some(self.schema.as_ref().clone()))
            .await
            .map(|_| ())
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        if let Some(inner) = self.inner.take() {
            inner.abort().await?;
        }
        match self.staging.take() {
            Some(staging) => staging.abort().await,
            None => Ok(()),
        }
    }
}

/// The Parquet files the component published into `folder`: each one's path under it, its
/// local path and its rows (from its footer).
fn written_files(
    folder: &std::path::Path,
) -> ConnectorResult<Vec<(String, std::path::PathBuf, u64)>> {
    let mut files = Vec::new();
    let local = crate::files::list_inputs(folder, Format::Parquet.extensions()).unwrap_or_default();
    for path in local {
        let relative = path
            .strip_prefix(folder)
            .map_err(|e| ConnectorError::internal(e.to_string()))?
            .to_string_lossy()
            .replace('\\', "/");
        let file = std::fs::File::open(&path)
            .map_err(|e| ConnectorError::internal(format!("{}: {e}", path.display())))?;
        let rows = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&file)
            .map_err(|e| {
                ConnectorError::data(format!(
                    "the component wrote {} unreadably: {e}",
                    path.display()
                ))
            })?
            .file_metadata()
            .num_rows();
        files.push((relative, path, u64::try_from(rows).unwrap_or(0)));
    }
    Ok(files)
}

/// Streams the local file `local` into a multipart upload at `target`: its size.
fn upload(
    store: &Arc<dyn object_store::ObjectStore>,
    target: &object_store::path::Path,
    local: &std::path::Path,
) -> ConnectorResult<u64> {
    let mut sink = ObjectSink::start(store, target)
        .map_err(|e| ConnectorError::connection(format!("cannot upload to {target}: {e}")))?;
    let mut source = std::fs::File::open(local)
        .map_err(|e| ConnectorError::internal(format!("{}: {e}", local.display())))?;
    std::io::copy(&mut source, &mut sink)
        .map_err(|e| ConnectorError::connection(format!("cannot upload to {target}: {e}")))?;
    Box::new(sink)
        .complete()
        .map_err(|e| ConnectorError::connection(format!("cannot upload to {target}: {e}")))
}
