//! The writer resource: Arrow IPC batches → one Parquet file per writer, written into the
//! folder the host granted.
//!
//! The host publishes: for each run it opens a staging folder (the runtime's publish layer,
//! the same as for the native store), grants this component that folder alone as the
//! config's `path`, and after `commit` swaps it in with the entity's watermark state. So
//! the component never sees the destination or its parent, and never renames anything.
//!
//! The host may open several writers for one run (config `part` / `parts`), each writing
//! its own file (`part-<run id>-0000N.parquet`) into the same folder; `commit` closes the
//! file, `abort` removes it.

use std::cell::RefCell;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::config::{StoreConfig, parse};
use crate::exports::hygge::connector::store::{GuestWriter, Writer};
use crate::{config_error, data_error, error};
use hygge_component_sdk::types::{Error, ErrorKind, RunContext};

/// An open Parquet store.
pub struct ParquetWriter {
    state: RefCell<Option<State>>,
}

struct State {
    schema: SchemaRef,
    file: PathBuf,
    writer: ArrowWriter<BufWriter<File>>,
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

impl GuestWriter for ParquetWriter {
    fn open(config: String, schema: Vec<u8>, context: RunContext) -> Result<Writer, Error> {
        let config: StoreConfig = parse(&config)?;
        let schema = hygge_ipc::schema_from_bytes(&schema)
            .map_err(|e| data_error(format!("invalid schema: {e}")))?;
        if config.part >= config.parts {
            return Err(config_error(format!(
                "part {} is not below parts {}",
                config.part, config.parts
            )));
        }
        let folder = PathBuf::from(&config.path);
        if !folder.is_dir() {
            return Err(config_error(format!(
                "the store folder {} was not granted",
                folder.display()
            )));
        }
        let file_path = folder.join(format!(
            "part-{}-{:05}.parquet",
            context.run_id,
            config.part + 1
        ));
        let file = File::create(&file_path).map_err(|e| io("cannot create the staged file", e))?;
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
                file: file_path,
                writer,
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
        Ok(())
    }

    fn abort(&self) -> Result<(), Error> {
        if let Some(state) = self.state.borrow_mut().take() {
            drop(state.writer);
            match std::fs::remove_file(&state.file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("cannot remove the staged file", e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
