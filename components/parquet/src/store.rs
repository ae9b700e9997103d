//! The writer resource: Arrow IPC batches → one Parquet file per writer, staged in a hidden
//! sibling folder and published on commit.
//!
//! Naming follows the native stores (`.hygge-staging.<entity>.<run id>` beside the entity
//! folder, `part-<run id>-00001.parquet`), so a native run cleans up after a crashed Wasm
//! run and the other way round.
//!
//! The host may open several writers for one run (config `part` / `parts`), each writing
//! its own file into the same staging folder. Part 0 creates the folder; the host commits
//! the other parts first (they only close their files) and part 0 last, which publishes:
//! the staging folder replaces the entity folder by two renames (WASI has no exchange), and
//! a crash between them is rolled forward by the next run, native or Wasm. `incremental`
//! first hard-links the entity folder's files into the staging folder, so the same swap
//! publishes old and new files at once.

use std::cell::RefCell;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::config::{StoreConfig, parse};
use crate::exports::hygge::connector::store::{GuestWriter, Writer};
use crate::hygge::connector::types::{Error, ErrorKind, RunContext, RunType};
use crate::{config_error, data_error, error};

const STAGING_PREFIX: &str = ".hygge-staging.";
const OLD_SUFFIX: &str = ".old";

/// An open Parquet store.
pub struct ParquetWriter {
    state: RefCell<Option<State>>,
}

struct State {
    schema: SchemaRef,
    destination: PathBuf,
    staging: PathBuf,
    file_name: String,
    run_type: RunType,
    writer: ArrowWriter<BufWriter<File>>,
    /// Part 0: owns the staging folder and publishes it.
    leader: bool,
}

fn io(what: &str, e: std::io::Error) -> Error {
    error(ErrorKind::Internal, format!("{what}: {e}"))
}

fn compression(config: &StoreConfig) -> Result<Compression, Error> {
    let name = config
        .compression
        .as_deref()
        .unwrap_or("snappy")
        .to_ascii_lowercase();
    let level = config.compression_level;
    let no_level = |c: Compression| match level {
        Some(_) => Err(config_error(format!(
            "{name} has no levels; remove compression_level"
        ))),
        None => Ok(c),
    };
    match name.as_str() {
        "snappy" => no_level(Compression::SNAPPY),
        "lz4" | "lz4_raw" => no_level(Compression::LZ4_RAW),
        "none" | "uncompressed" => no_level(Compression::UNCOMPRESSED),
        "gzip" => GzipLevel::try_new(level.unwrap_or(6))
            .map(Compression::GZIP)
            .map_err(|e| config_error(e.to_string())),
        "brotli" => BrotliLevel::try_new(level.unwrap_or(1))
            .map(Compression::BROTLI)
            .map_err(|e| config_error(e.to_string())),
        // Pure-Rust zstd (components/zstd-pure): every level writes about zstd's level 1.
        "zstd" => ZstdLevel::try_new(level.map_or(3, |l| i32::try_from(l).unwrap_or(i32::MAX)))
            .map(Compression::ZSTD)
            .map_err(|e| config_error(e.to_string())),
        other => Err(config_error(format!(
            "unknown codec `{other}`; use snappy, zstd, gzip, lz4, brotli or none"
        ))),
    }
}

/// Removes staging left by crashed runs; finishes a swap interrupted between its renames.
fn clean_stale(parent: &Path, name: &str, destination: &Path) -> Result<(), Error> {
    let prefix = format!("{STAGING_PREFIX}{name}.");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(&prefix)
                .map(|rest| rest.trim_end_matches(OLD_SUFFIX))
                .is_some_and(|run| !run.is_empty() && !run.contains('.'))
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    for path in &stale {
        let old = PathBuf::from(format!("{}{OLD_SUFFIX}", path.display()));
        if !path.to_string_lossy().ends_with(OLD_SUFFIX) && !destination.exists() && old.exists() {
            std::fs::rename(path, destination)
                .map_err(|e| io("cannot finish an interrupted publish", e))?;
        }
    }
    for path in stale {
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| io("cannot remove stale staging", e))?;
        }
    }
    Ok(())
}

/// Replaces `destination` with `staging`: one rename when there is nothing to replace,
/// else the old folder aside, the new one in, the old one removed.
fn swap_in(staging: &Path, destination: &Path) -> Result<(), Error> {
    if !destination.exists() {
        return std::fs::rename(staging, destination).map_err(|e| io("cannot publish", e));
    }
    let old = PathBuf::from(format!("{}{OLD_SUFFIX}", staging.display()));
    std::fs::rename(destination, &old)
        .map_err(|e| io("cannot move the previous files aside", e))?;
    std::fs::rename(staging, destination).map_err(|e| io("cannot publish", e))?;
    std::fs::remove_dir_all(&old).map_err(|e| io("cannot remove the previous files", e))
}

/// Hard-links the visible files under `destination/relative` into the same place under
/// `staging` (no data is copied). A staged file of the same name is refused.
fn link_published(destination: &Path, staging: &Path, relative: &Path) -> Result<(), Error> {
    let from = destination.join(relative);
    let entries =
        std::fs::read_dir(&from).map_err(|e| io(&format!("cannot list {}", from.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io("cannot list the published files", e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(['.', '_']) {
            continue;
        }
        let path = relative.join(&name);
        let target = staging.join(&path);
        let kind = entry
            .file_type()
            .map_err(|e| io("cannot read a published file", e))?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| io("cannot mirror a published folder", e))?;
            link_published(destination, staging, &path)?;
        } else if target.exists() {
            return Err(data_error(format!(
                "{} is published already; an incremental run would overwrite it",
                path.display()
            )));
        } else {
            std::fs::hard_link(entry.path(), &target)
                .map_err(|e| io("cannot link a published file into staging", e))?;
        }
    }
    Ok(())
}

impl GuestWriter for ParquetWriter {
    fn open(config: String, schema: Vec<u8>, context: RunContext) -> Result<Writer, Error> {
        let config: StoreConfig = parse(&config)?;
        let schema = hygge_ipc::schema_from_bytes(&schema)
            .map_err(|e| data_error(format!("invalid schema: {e}")))?;
        let destination = PathBuf::from(&config.path);
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| config_error("the store path has no folder name"))?;
        let parent = destination
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if config.part >= config.parts {
            return Err(config_error(format!(
                "part {} is not below parts {}",
                config.part, config.parts
            )));
        }
        let leader = config.part == 0;
        let staging = parent.join(format!("{STAGING_PREFIX}{name}.{}", context.run_id));
        if leader {
            std::fs::create_dir_all(&parent)
                .map_err(|e| io("cannot create the store folder", e))?;
            clean_stale(&parent, &name, &destination)?;
            std::fs::create_dir(&staging).map_err(|e| io("cannot create the staging folder", e))?;
        } else if !staging.is_dir() {
            return Err(error(
                ErrorKind::Internal,
                format!(
                    "part {} was opened before part 0 created the staging folder",
                    config.part
                ),
            ));
        }
        let file_name = format!("part-{}-{:05}.parquet", context.run_id, config.part + 1);
        let file = File::create(staging.join(&file_name))
            .map_err(|e| io("cannot create the staged file", e))?;
        let props = WriterProperties::builder()
            .set_compression(compression(&config)?)
            .set_max_row_group_row_count(Some(config.row_group_size.unwrap_or(1024 * 1024)))
            .build();
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            schema.clone(),
            Some(props),
        )
        .map_err(|e| data_error(e.to_string()))?;
        Ok(Writer::new(ParquetWriter {
            state: RefCell::new(Some(State {
                schema,
                destination,
                staging,
                file_name,
                run_type: context.run_type,
                writer,
                leader,
            })),
        }))
    }

    fn write(&self, batch: Vec<u8>) -> Result<(), Error> {
        let mut state = self.state.borrow_mut();
        let state = state
            .as_mut()
            .ok_or_else(|| error(ErrorKind::Internal, "the writer is closed"))?;
        let batch = hygge_ipc::batch_from_bytes(batch)
            .map_err(|e| data_error(format!("invalid batch: {e}")))?;
        if batch.schema().fields() != state.schema.fields() {
            return Err(data_error(
                "a batch does not match the schema the store was opened with",
            ));
        }
        state
            .writer
            .write(&batch)
            .map_err(|e| data_error(format!("cannot encode a batch: {e}")))
    }

    fn commit(&self) -> Result<(), Error> {
        let state = self
            .state
            .borrow_mut()
            .take()
            .ok_or_else(|| error(ErrorKind::Internal, "the writer is closed"))?;
        state
            .writer
            .close()
            .map_err(|e| data_error(format!("cannot finish the file: {e}")))?;
        if !state.leader {
            return Ok(());
        }
        if matches!(state.run_type, RunType::Incremental) && state.destination.exists() {
            link_published(&state.destination, &state.staging, Path::new(""))?;
        }
        swap_in(&state.staging, &state.destination)
    }

    fn abort(&self) -> Result<(), Error> {
        if let Some(state) = self.state.borrow_mut().take() {
            drop(state.writer);
            let removed = if state.leader {
                std::fs::remove_dir_all(&state.staging)
            } else {
                std::fs::remove_file(state.staging.join(&state.file_name))
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("cannot remove the staged files", e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
