//! A [`FileSink`] that uploads to an object store in parts while the file is written: a
//! few parts in memory at most, never the whole file.

use std::io::{self, Write};
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::runtime::Handle;

use super::file_writer::FileSink;

/// Bytes per part (S3 wants at least 5 MiB for every part but the last).
const PART_SIZE: usize = 10 * 1024 * 1024;
/// Parts uploading at once; a writer that gets ahead waits for one to finish.
const PARTS_IN_FLIGHT: usize = 4;

/// A multipart upload written through [`Write`], from a blocking thread of the runtime.
pub struct ObjectSink {
    upload: Option<WriteMultipart>,
    runtime: Handle,
    written: u64,
}

impl ObjectSink {
    /// Starts an upload to `path` in `store`. Call from a blocking thread (the file
    /// stores write on `spawn_blocking` threads), never from async code.
    ///
    /// # Errors
    /// The store refused to start the upload.
    pub fn start(store: &Arc<dyn ObjectStore>, path: &Path) -> io::Result<ObjectSink> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let upload = runtime
            .block_on(store.put_multipart(path))
            .map_err(io::Error::from)?;
        Ok(ObjectSink {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)),
            runtime,
            written: 0,
        })
    }

    fn upload(&mut self) -> io::Result<&mut WriteMultipart> {
        self.upload
            .as_mut()
            .ok_or_else(|| io::Error::other("the upload was already completed"))
    }
}

impl Write for ObjectSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let runtime = self.runtime.clone();
        let upload = self.upload()?;
        runtime
            .block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(io::Error::from)?;
        upload.write(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts go when full; the last one goes with `complete`.
        Ok(())
    }
}

impl FileSink for ObjectSink {
    fn complete(mut self: Box<Self>) -> io::Result<u64> {
        let upload = self
            .upload
            .take()
            .ok_or_else(|| io::Error::other("the upload was already completed"))?;
        self.runtime
            .block_on(upload.finish())
            .map_err(io::Error::from)?;
        Ok(self.written)
    }
}

impl Drop for ObjectSink {
    /// An upload never completed (a failed or aborted run) is aborted, so the store does
    /// not keep its parts.
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            self.runtime.spawn(async move {
                if let Err(e) = upload.abort().await {
                    tracing::debug!(error = %e, "could not abort an unfinished upload");
                }
            });
        }
    }
}
