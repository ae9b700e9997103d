//! Files inside the sandbox: listing inputs, and a Parquet chunk reader that needs only
//! seek and read (WASI has no `File::try_clone`, which parquet's own `File` reader uses).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// The Parquet files of a home path: the file, a folder (recursive, sorted, hidden and
/// `_`-prefixed entries skipped) or a glob of the form `dir/*.parquet`.
pub fn list_inputs(path: &Path) -> Result<Vec<PathBuf>, String> {
    let text = path.to_string_lossy();
    if text.contains('*') {
        let dir = path.parent().ok_or("a glob needs a folder")?;
        let suffix = path
            .file_name()
            .map(|n| n.to_string_lossy().replace('*', ""))
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.file_name().is_some_and(|n| {
                        !hidden(&n.to_string_lossy()) && n.to_string_lossy().ends_with(&suffix)
                    })
            })
            .collect();
        files.sort();
        return if files.is_empty() {
            Err(format!("no file matches {text}"))
        } else {
            Ok(files)
        };
    }
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.exists() {
        return Err(format!("{text} does not exist"));
    }
    let mut files = Vec::new();
    walk(path, &mut files).map_err(|e| format!("cannot list {text}: {e}"))?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no .parquet files under {text}"));
    }
    Ok(files)
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if hidden(&name) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if name.ends_with(".parquet") {
            out.push(path);
        }
    }
    Ok(())
}

/// A Parquet chunk reader over one file handle, by seek and read.
#[derive(Clone)]
pub struct SeekReader {
    file: Arc<Mutex<File>>,
    len: u64,
}

impl SeekReader {
    /// Opens `path`.
    pub fn open(path: &Path) -> std::io::Result<SeekReader> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(SeekReader {
            file: Arc::new(Mutex::new(file)),
            len,
        })
    }

    fn read_at(&self, start: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("file lock poisoned"))?;
        file.seek(SeekFrom::Start(start))?;
        file.read(buf)
    }
}

impl Length for SeekReader {
    fn len(&self) -> u64 {
        self.len
    }
}

/// A reader from an offset, for [`ChunkReader::get_read`]. Parquet reads page headers
/// through it a few bytes at a time, so it is buffered: each refill is one WASI call.
pub struct OffsetReader {
    source: SeekReader,
    position: u64,
}

impl Read for OffsetReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.source.read_at(self.position, buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

/// Bytes read ahead for a page header; a header is rarely more than a few hundred bytes.
const HEADER_READ_AHEAD: usize = 16 << 10;

impl ChunkReader for SeekReader {
    type T = BufReader<OffsetReader>;

    fn get_read(&self, start: u64) -> Result<BufReader<OffsetReader>, ParquetError> {
        Ok(BufReader::with_capacity(
            HEADER_READ_AHEAD,
            OffsetReader {
                source: self.clone(),
                position: start,
            },
        ))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<bytes::Bytes, ParquetError> {
        let mut buf = Vec::with_capacity(length);
        let mut reader = OffsetReader {
            source: self.clone(),
            position: start,
        }
        .take(length as u64);
        reader
            .read_to_end(&mut buf)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        if buf.len() < length {
            return Err(ParquetError::EOF(format!(
                "expected {length} bytes at {start}"
            )));
        }
        Ok(buf.into())
    }
}
