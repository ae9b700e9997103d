//! Writing one file of a format to a [`FileSink`]: a local file, or an upload to an
//! object store.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::format::Format;
use super::parquet_writer::ParallelParquetWriter;

/// Where a file's bytes go.
pub trait FileSink: Write + Send {
    /// Completes the file (an upload's last part and the upload itself); its size.
    fn complete(self: Box<Self>) -> io::Result<u64>;
}

/// A local file.
pub struct LocalSink {
    file: File,
    written: u64,
}

impl LocalSink {
    /// Creates `path`.
    pub fn create(path: &Path) -> io::Result<LocalSink> {
        Ok(LocalSink {
            file: File::create(path)?,
            written: 0,
        })
    }
}

impl Write for LocalSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl FileSink for LocalSink {
    fn complete(mut self: Box<Self>) -> io::Result<u64> {
        self.file.flush()?;
        Ok(self.written)
    }
}

/// A sink that counts the bytes that reach it, so a store can start a new file before one
/// grows past what the destination can publish.
pub struct CountedSink {
    inner: Box<dyn FileSink>,
    written: Arc<AtomicU64>,
}

impl Write for CountedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Sink = BufWriter<CountedSink>;

/// Why a file could not be written, keeping whether the device was full (the user's to fix,
/// unlike most write failures), found through the error's sources.
#[derive(Debug)]
pub struct FileWriteError {
    /// What failed.
    pub message: String,
    /// Whether an I/O error on the way said the device (or quota) is full.
    pub no_space: bool,
}

impl FileWriteError {
    fn new(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut no_space = false;
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                no_space |= matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                );
            }
            cause = e.source();
        }
        FileWriteError {
            message: error.to_string(),
            no_space,
        }
    }
}

/// Writes one file of a format.
pub struct FileWriter {
    encoder: Encoder,
    written: Arc<AtomicU64>,
}

/// The encoder of one format.
// One value per open file: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Encoder {
    /// Parquet, row group by row group, columns encoded in parallel.
    Parquet(ParallelParquetWriter<Sink>),
    /// CSV with a header.
    Csv(arrow_csv::Writer<Sink>),
    /// NDJSON.
    Ndjson(arrow_json::LineDelimitedWriter<Sink>),
}

/// A file written whole.
#[derive(Debug)]
pub struct FinishedFile {
    /// Its size.
    pub bytes: u64,
    /// Its row groups' metadata (Parquet only).
    pub row_groups: Vec<parquet::file::metadata::RowGroupMetaData>,
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
    /// A writer of `format` for batches of `schema` into `sink`.
    pub fn on(
        format: Format,
        sink: Box<dyn FileSink>,
        schema: &SchemaRef,
        parquet: &ParquetEncoding,
        delimiter: u8,
    ) -> Result<FileWriter, FileWriteError> {
        let written = Arc::new(AtomicU64::new(0));
        let counted = CountedSink {
            inner: sink,
            written: written.clone(),
        };
        let file = BufWriter::with_capacity(1 << 20, counted);
        let encoder = match format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(parquet.compression)
                    .set_max_row_group_row_count(Some(parquet.row_group_size))
                    .build();
                Encoder::Parquet(
                    ParallelParquetWriter::try_new(
                        file,
                        schema.clone(),
                        props,
                        parquet.row_group_size,
                    )
                    .map_err(|e| FileWriteError::new(&e))?,
                )
            }
            Format::Csv => Encoder::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(delimiter)
                    .build(file),
            ),
            Format::Ndjson => Encoder::Ndjson(arrow_json::LineDelimitedWriter::new(file)),
        };
        Ok(FileWriter { encoder, written })
    }

    /// Bytes that reached the sink so far (an open Parquet row group and a buffer of at
    /// most 1 MiB are not counted yet).
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), FileWriteError> {
        match &mut self.encoder {
            Encoder::Parquet(w) => w.write(batch).map_err(|e| FileWriteError::new(&e)),
            Encoder::Csv(w) => w.write(batch).map_err(|e| FileWriteError::new(&e)),
            Encoder::Ndjson(w) => w.write(batch).map_err(|e| FileWriteError::new(&e)),
        }
    }

    /// Completes the file (footer, flush, the sink's completion): its size, and its row
    /// groups for Parquet.
    pub fn finish(self) -> Result<FinishedFile, FileWriteError> {
        let (buffered, row_groups) = match self.encoder {
            Encoder::Parquet(w) => {
                let (buffered, groups) = w.close().map_err(|e| FileWriteError::new(&e))?;
                (buffered, groups)
            }
            Encoder::Csv(w) => (w.into_inner(), Vec::new()),
            Encoder::Ndjson(mut w) => {
                w.finish().map_err(|e| FileWriteError::new(&e))?;
                (w.into_inner(), Vec::new())
            }
        };
        let sink = buffered
            .into_inner()
            .map_err(|e| FileWriteError::new(e.error()))?;
        let bytes = sink.inner.complete().map_err(|e| FileWriteError::new(&e))?;
        Ok(FinishedFile { bytes, row_groups })
    }
}
