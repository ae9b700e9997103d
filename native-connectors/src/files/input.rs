//! The files a home reads, on a local disk or in an object store, opened alike: as a
//! seekable stream for CSV and NDJSON, and as ranged reads for Parquet (the footer in one
//! request, then the column chunks a read unit needs, fetched together before decoding).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use tokio::runtime::Handle;

/// Bytes fetched per request when a text file is streamed from an object store.
const STREAM_CHUNK: u64 = 8 * 1024 * 1024;

/// One file a home reads.
#[derive(Debug, Clone)]
pub enum InputFile {
    /// A file on a local disk.
    Local(PathBuf),
    /// An object in a bucket or container.
    Object(Arc<ObjectFile>),
}

/// An object a home reads: where it is, and its size from the listing or the commit log.
#[derive(Debug)]
pub struct ObjectFile {
    /// The store holding it.
    pub store: Arc<dyn ObjectStore>,
    /// Its path in the store.
    pub location: ObjectPath,
    /// Its size in bytes.
    pub size: u64,
    /// How messages name it: the URL of the home with the object's path below it.
    pub shown: String,
}

impl fmt::Display for InputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputFile::Local(path) => write!(f, "{}", path.display()),
            InputFile::Object(object) => f.write_str(&object.shown),
        }
    }
}

impl InputFile {
    /// Opens the file for reading. An object is opened from a blocking thread of the
    /// runtime (the file homes decode on `spawn_blocking` threads): its reads wait there
    /// for the store.
    ///
    /// # Errors
    /// A local file that cannot be opened, or an object opened outside the runtime.
    pub fn open(&self) -> io::Result<Source> {
        match self {
            InputFile::Local(path) => File::open(path).map(Source::Local),
            InputFile::Object(object) => Ok(Source::Object(ObjectSource {
                object: object.clone(),
                runtime: Handle::try_current().map_err(io::Error::other)?,
                position: 0,
                fetched: Arc::new(Vec::new()),
                window: None,
            })),
        }
    }
}

/// An open input: a local file, or an object read with ranged requests.
pub enum Source {
    /// A local file.
    Local(File),
    /// An object.
    Object(ObjectSource),
}

/// An object read through ranged GETs: byte ranges fetched ahead of time (a Parquet footer,
/// a row group's column chunks) are served from memory; anything else is fetched as it is
/// read, [`STREAM_CHUNK`] bytes at a time.
#[derive(Clone)]
pub struct ObjectSource {
    object: Arc<ObjectFile>,
    runtime: Handle,
    position: u64,
    /// Ranges fetched ahead, sorted by start.
    fetched: Arc<Vec<(u64, Bytes)>>,
    /// The chunk a sequential read is in.
    window: Option<(u64, Bytes)>,
}

impl Source {
    /// A second handle on the same input, for a reader that needs its own.
    ///
    /// # Errors
    /// The local file could not be duplicated.
    pub fn try_clone(&self) -> io::Result<Source> {
        Ok(match self {
            Source::Local(file) => Source::Local(file.try_clone()?),
            Source::Object(object) => Source::Object(object.clone()),
        })
    }

    /// Fetches `ranges` of an object in parallel requests (the store merges close ones),
    /// so that decoding them reads memory. Local files read from disk as they are.
    ///
    /// # Errors
    /// The store failed to answer.
    pub fn prefetch(&mut self, ranges: Vec<Range<u64>>) -> io::Result<()> {
        let Source::Object(source) = self else {
            return Ok(());
        };
        let mut ranges: Vec<Range<u64>> = ranges.into_iter().filter(|r| r.start < r.end).collect();
        ranges.retain(|r| source.cached(r.start, r.end - r.start).is_none());
        if ranges.is_empty() {
            return Ok(());
        }
        let object = &source.object;
        let fetched = source
            .runtime
            .block_on(object.store.get_ranges(&object.location, &ranges))
            .map_err(io::Error::from)?;
        let mut all = source.fetched.as_ref().clone();
        all.extend(ranges.iter().map(|r| r.start).zip(fetched));
        all.sort_by_key(|(start, _)| *start);
        source.fetched = Arc::new(all);
        Ok(())
    }
}

impl ObjectSource {
    /// `length` bytes from `start` when a fetched range holds them all.
    fn cached(&self, start: u64, length: u64) -> Option<Bytes> {
        let holds = |(from, bytes): &(u64, Bytes)| {
            start >= *from && start + length <= from + bytes.len() as u64
        };
        let (from, bytes) = self
            .window
            .iter()
            .chain(self.fetched.iter())
            .find(|r| holds(r))?;
        let offset = usize::try_from(start - from).ok()?;
        Some(bytes.slice(offset..offset + usize::try_from(length).ok()?))
    }

    /// The fetched range that holds `position`, if any, from `position` to its end.
    fn cached_from(&self, position: u64) -> Option<(u64, Bytes)> {
        self.fetched
            .iter()
            .find(|(from, bytes)| position >= *from && position < from + bytes.len() as u64)
            .cloned()
    }

    fn get(&self, range: Range<u64>) -> io::Result<Bytes> {
        let object = &self.object;
        self.runtime
            .block_on(object.store.get_range(&object.location, range))
            .map_err(io::Error::from)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Local(file) => file.read(buf),
            Source::Object(source) => source.read(buf),
        }
    }
}

impl Read for ObjectSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.object.size;
        if self.position >= size || buf.is_empty() {
            return Ok(0);
        }
        let inside = |(from, bytes): &(u64, Bytes)| {
            self.position >= *from && self.position < from + bytes.len() as u64
        };
        if !self.window.as_ref().is_some_and(inside) {
            self.window = match self.cached_from(self.position) {
                Some(range) => Some(range),
                None => {
                    let end = (self.position + STREAM_CHUNK).min(size);
                    Some((self.position, self.get(self.position..end)?))
                }
            };
        }
        let Some((from, bytes)) = &self.window else {
            return Ok(0);
        };
        let offset = usize::try_from(self.position - from).map_err(io::Error::other)?;
        let available = &bytes[offset..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for Source {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Local(file) => file.seek(to),
            Source::Object(source) => {
                let size = i128::from(source.object.size);
                let target = match to {
                    SeekFrom::Start(n) => i128::from(n),
                    SeekFrom::End(n) => size + i128::from(n),
                    SeekFrom::Current(n) => i128::from(source.position) + i128::from(n),
                };
                source.position = u64::try_from(target).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
                })?;
                Ok(source.position)
            }
        }
    }
}

impl Length for Source {
    fn len(&self) -> u64 {
        match self {
            Source::Local(file) => file.len(),
            Source::Object(source) => source.object.size,
        }
    }
}

/// What [`ChunkReader::get_read`] hands the Parquet reader.
pub enum ChunkRead {
    /// A local file, buffered.
    Local(io::BufReader<File>),
    /// An object from an offset.
    Object(ObjectSource),
}

impl Read for ChunkRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ChunkRead::Local(file) => file.read(buf),
            ChunkRead::Object(source) => source.read(buf),
        }
    }
}

impl ChunkReader for Source {
    type T = ChunkRead;

    fn get_read(&self, start: u64) -> Result<ChunkRead, ParquetError> {
        match self {
            Source::Local(file) => file.get_read(start).map(ChunkRead::Local),
            Source::Object(source) => {
                let mut from = source.clone();
                from.position = start;
                Ok(ChunkRead::Object(from))
            }
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        match self {
            Source::Local(file) => file.get_bytes(start, length),
            Source::Object(source) => {
                if let Some(bytes) = source.cached(start, length as u64) {
                    return Ok(bytes);
                }
                source
                    .get(start..start + length as u64)
                    .map_err(|e| ParquetError::External(Box::new(e)))
            }
        }
    }
}

/// Why a file could not be read, decided where it failed: the user asked for something the
/// file does not have, the file is bad, or the store holding it did not answer.
#[derive(Debug)]
pub enum ReadFailure {
    /// A requested column is missing: fix the config.
    Config(String),
    /// The file cannot be read as its format.
    Data(String),
    /// The object store failed a request: retrying may help.
    Store(String),
}

impl From<String> for ReadFailure {
    fn from(message: String) -> Self {
        ReadFailure::Data(message)
    }
}

impl ReadFailure {
    /// The failure as the flow reports it, naming the file.
    pub fn about(self, file: &InputFile) -> hygge_runtime::contract::ConnectorError {
        use hygge_runtime::contract::ConnectorError;
        match self {
            ReadFailure::Config(m) => {
                ConnectorError::config(format!("{file}: {m}")).with_context("check `columns`")
            }
            ReadFailure::Data(m) => ConnectorError::data(format!("{file}: {m}")),
            ReadFailure::Store(m) => ConnectorError::connection(format!("{file}: {m}")),
        }
    }

    /// A failure while decoding batches: a store request that failed under an object's
    /// reader surfaces as an I/O or external error; anything else is the data.
    pub fn of_batch(file: &InputFile, error: &arrow_schema::ArrowError) -> ReadFailure {
        use arrow_schema::ArrowError;
        let from_store = matches!(file, InputFile::Object(_))
            && matches!(
                error,
                ArrowError::IoError(..) | ArrowError::ExternalError(_)
            );
        if from_store {
            ReadFailure::Store(error.to_string())
        } else {
            ReadFailure::Data(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    fn object(store: &Arc<dyn ObjectStore>, data: &[u8]) -> InputFile {
        let location = ObjectPath::from("raw/a.csv");
        let handle = Handle::current();
        let payload = PutPayload::from(data.to_vec());
        handle.block_on(store.put(&location, payload)).expect("put");
        InputFile::Object(Arc::new(ObjectFile {
            store: store.clone(),
            location,
            size: data.len() as u64,
            shown: "memory://raw/a.csv".into(),
        }))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn an_object_reads_seeks_and_serves_prefetched_ranges_like_a_file() {
        let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let expected = data.clone();
        tokio::task::spawn_blocking(move || {
            let input = object(&store, &data);
            let mut source = input.open().unwrap();
            let mut all = Vec::new();
            source.read_to_end(&mut all).unwrap();
            assert_eq!(all, expected);
            source.seek(SeekFrom::Start(99_990)).unwrap();
            let mut tail = Vec::new();
            source.read_to_end(&mut tail).unwrap();
            assert_eq!(tail, expected[99_990..]);
            source.prefetch(vec![10..20, 50_000..50_100]).unwrap();
            assert_eq!(source.get_bytes(12, 5).unwrap(), expected[12..17]);
            let mut from = source.get_read(50_050).unwrap();
            let mut some = [0u8; 10];
            from.read_exact(&mut some).unwrap();
            assert_eq!(some, expected[50_050..50_060]);
            // Not fetched ahead: read from the store.
            assert_eq!(
                source.get_bytes(70_000, 3).unwrap(),
                expected[70_000..70_003]
            );
        })
        .await
        .unwrap();
    }
}
