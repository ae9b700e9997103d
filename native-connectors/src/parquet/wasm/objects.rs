//! The Parquet component reading an object-store URL (`runtime: wasm` with
//! `path: s3://…`). The sandbox gets no network: the host reads the objects (hygge's
//! committed set where hygge publishes, as the native home does) with ranged requests into
//! a private local folder made for this read, and grants the component that folder alone,
//! read-only. The folder is removed when the read ends.

use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{
    BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, Place, ReadRequest, RunScope,
};
use hygge_runtime::publish::objects::ObjectDestination;
use hygge_runtime::wasm::{ComponentSource, Permissions};

use crate::files::{Format, InputFile, list_objects};

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
        Some(hygge_runtime::database::on_own_runtime(
            self.objects.check(),
        ))
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
        let files = list_objects(&self.objects, Format::Parquet.extensions()).await?;
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
