//! The one engine behind every file connector: finding inputs, reading them in parallel,
//! and writing staged, atomically published output. `parquet` and `local` are thin front
//! ends over it.

mod compression;
mod config;
mod delta_stats;
mod file_writer;
mod format;
pub mod front;
mod handover;
mod input;
mod naming;
mod object_inputs;
mod object_sink;
mod parquet_reader;
mod parquet_writer;
mod partitioned;
mod paths;
mod prune;
mod reader;
mod staged;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use hygge_runtime::contract::{
    BatchReader, ConfigProblem, Connector, ConnectorConfig, ConnectorError, ConnectorResult, Home,
    HomeSpec, Place, ReadRequest, RunScope, Store, StoreSpec,
};
use hygge_runtime::publish::FolderState;
use hygge_runtime::publish::objects::{HYGGE_DIR, ObjectDestination, ObjectState};
use hygge_runtime::state::StateStore;
use hygge_runtime::wasm::SandboxLimits;

pub use compression::parse_compression;
pub use config::{FileHomeConfig, FileStoreConfig, Runtime, TableFormat};
pub use format::{Format, TextOptions};
pub use naming::{DEFAULT_PATTERN, FilePattern};
pub use paths::{entity_path, fixed_prefix, is_glob, list_inputs, object_destination};

pub(crate) use file_writer::FileSink;
use file_writer::ParquetEncoding;
pub(crate) use input::InputFile;
use object_inputs::Listing;
pub(crate) use object_inputs::list_objects;
pub(crate) use object_sink::ObjectSink;
use partitioned::PartitionedReader;
use reader::{FilesReader, ReadPlan};
use staged::Target;
pub(crate) use writer::newest_columns;
use writer::{FileStore, FileStoreSettings};

/// The size after which a file on an object store is closed and the next begun: S3 copies
/// an object server-side (how hygge makes a staged file visible) up to 5 GB.
pub const MAX_OBJECT_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The default Parquet row group size.
pub const DEFAULT_ROW_GROUP_SIZE: usize = 1024 * 1024;

/// A file connector: a name, and whether its format is fixed (`parquet`) or chosen by the
/// `format` key (`local`).
pub struct FileConnector {
    /// The `type:` name.
    pub name: &'static str,
    /// One line for listings.
    pub description: &'static str,
    /// `Some` when the connector only speaks one format.
    pub fixed_format: Option<Format>,
}

impl FileConnector {
    fn format(&self, requested: Option<Format>) -> Result<Format, ConfigProblem> {
        match (self.fixed_format, requested) {
            (Some(fixed), Some(asked)) if fixed != asked => Err(ConfigProblem::key(
                "format",
                format!("`{}` only reads and writes {fixed:?}", self.name).to_lowercase(),
            )
            .hint("use `type: local` with `format: csv` or `format: ndjson`")),
            (Some(fixed), _) => Ok(fixed),
            (None, asked) => Ok(asked.unwrap_or_default()),
        }
    }
}

impl Connector for FileConnector {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some((|| {
            let parsed: FileHomeConfig = config.parse()?;
            let format = self.format(parsed.format)?;
            if parsed.batch_size == Some(0) {
                return Err(ConfigProblem::key("batch_size", "must be at least 1"));
            }
            if let Some(options) = &parsed.format_options
                && !options.delimiter.is_ascii()
            {
                return Err(ConfigProblem::key(
                    "format_options.delimiter",
                    "must be one ASCII character",
                ));
            }
            let objects = object_destination(config, &parsed.path, parsed.connection.as_deref())?;
            let path = entity_path(config, &parsed.path)?;
            if parsed.runtime == Runtime::Wasm {
                if format != Format::Parquet {
                    return Err(ConfigProblem::key("runtime", "wasm runs Parquet only")
                        .hint("use runtime: native for csv/ndjson"));
                }
                let permissions = SandboxLimits {
                    memory_limit: parsed.memory_limit,
                    call_timeout: parsed.call_timeout,
                    ..SandboxLimits::default()
                }
                .apply(Default::default())?;
                if let Some(objects) = objects {
                    return Ok(Arc::new(crate::parquet::wasm::objects::home(
                        objects,
                        parsed.batch_size,
                        permissions,
                    )) as Arc<dyn HomeSpec>);
                }
                return Ok(Arc::new(crate::parquet::wasm::home(
                    &path,
                    parsed.batch_size,
                    permissions,
                )?) as Arc<dyn HomeSpec>);
            }
            if parsed.memory_limit.is_some() || parsed.call_timeout.is_some() {
                return Err(
                    ConfigProblem::key("memory_limit", "applies to runtime: wasm only")
                        .hint("remove it, or set runtime: wasm"),
                );
            }
            let source = match objects {
                Some(objects) => HomeSource::Objects(objects),
                None => HomeSource::Files(path),
            };
            Ok(Arc::new(FileHomeSpec {
                type_name: self.name,
                source,
                format,
                text: parsed.format_options.unwrap_or_default(),
                batch_size: parsed.batch_size,
            }) as Arc<dyn HomeSpec>)
        })())
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some((|| {
            let parsed: FileStoreConfig = config.parse()?;
            let format = self.format(parsed.format)?;
            let compression = parse_compression(
                parsed.compression.as_deref().unwrap_or("snappy"),
                parsed.compression_level,
            )?;
            if format != Format::Parquet
                && (parsed.compression.is_some() || parsed.row_group_size.is_some())
            {
                return Err(ConfigProblem::key("compression", "applies to Parquet only")
                    .hint("remove it for csv/ndjson"));
            }
            for (key, value) in [
                ("row_group_size", parsed.row_group_size),
                ("batch_size", parsed.batch_size),
            ] {
                if value == Some(0) {
                    return Err(ConfigProblem::key(key, "must be at least 1"));
                }
            }
            let delimiter = match parsed.format_options.as_ref().and_then(|o| o.delimiter) {
                None => b',',
                Some(c) => u8::try_from(c).ok().filter(u8::is_ascii).ok_or_else(|| {
                    ConfigProblem::key("format_options.delimiter", "must be one ASCII character")
                })?,
            };
            let mut objects =
                object_destination(config, &parsed.path, parsed.connection.as_deref())?;
            let delta = parsed.table_format == Some(TableFormat::Delta);
            if delta && (format != Format::Parquet || parsed.runtime == Runtime::Wasm) {
                return Err(ConfigProblem::key(
                    "table_format",
                    "delta tables are written by the native Parquet store only",
                )
                .hint("use type: parquet (runtime: native) for a Delta table"));
            }
            let destination = entity_path(config, &parsed.path)?;
            let place = match &objects {
                Some(objects) => Place::url(objects.place()),
                None => Place::path(&destination),
            };
            if delta && objects.is_none() {
                // A local Delta table publishes through the same commit log as an object
                // store, on the local file system.
                objects = Some(local_table(&destination)?);
            }
            if parsed.runtime == Runtime::Wasm {
                if format != Format::Parquet
                    || !parsed.partition_by.is_empty()
                    || parsed.file_pattern.is_some()
                {
                    return Err(ConfigProblem::key(
                        "runtime",
                        "wasm writes plain Parquet folders only",
                    )
                    .hint("partition_by, file_pattern and csv/ndjson need runtime: native"));
                }
                let permissions = SandboxLimits {
                    memory_limit: parsed.memory_limit,
                    call_timeout: parsed.call_timeout,
                    ..SandboxLimits::default()
                }
                .apply(Default::default())?;
                if let Some(objects) = objects {
                    let encoding = crate::parquet::wasm::objects::Encoding {
                        compression: parsed.compression.clone(),
                        compression_level: parsed.compression_level,
                        row_group_size: parsed.row_group_size,
                        batch_size: parsed.batch_size,
                    };
                    return Ok(Arc::new(crate::parquet::wasm::objects::store(
                        objects,
                        encoding,
                        permissions,
                    )) as Arc<dyn StoreSpec>);
                }
                let settings = crate::parquet::wasm::StoreSettings {
                    destination: &destination,
                    compression: parsed.compression.as_deref(),
                    compression_level: parsed.compression_level,
                    row_group_size: parsed.row_group_size,
                    batch_size: parsed.batch_size,
                };
                let component = crate::parquet::wasm::store(settings, permissions)?;
                return Ok(Arc::new(crate::parquet::wasm::SchemaGuarded::new(
                    component,
                    destination.clone(),
                )) as Arc<dyn StoreSpec>);
            }
            if parsed.memory_limit.is_some() || parsed.call_timeout.is_some() {
                return Err(
                    ConfigProblem::key("memory_limit", "applies to runtime: wasm only")
                        .hint("remove it, or set runtime: wasm"),
                );
            }
            let pattern = FilePattern::new(parsed.file_pattern.as_deref(), format.suffix())?;
            if delta && !pattern.has_run_id() {
                // A name a later run reuses would be overwritten under the table's older
                // versions, which still name it.
                return Err(ConfigProblem::key(
                    "file_pattern",
                    "a Delta table's file names must hold {run_id}",
                )
                .hint("add {run_id} to file_pattern, or leave file_pattern out"));
            }
            // Without a number in the name, a second file in a folder would take the first's.
            let (target, max_file_bytes) = match objects {
                Some(objects) if pattern.has_sequence() => {
                    (Target::Objects(objects), Some(MAX_OBJECT_FILE_BYTES))
                }
                Some(objects) => (Target::Objects(objects), None),
                None => (Target::Folder(destination), None),
            };
            let settings = FileStoreSettings {
                target,
                format,
                parquet: ParquetEncoding {
                    compression,
                    row_group_size: parsed.row_group_size.unwrap_or(DEFAULT_ROW_GROUP_SIZE),
                },
                delimiter,
                batch_size: parsed.batch_size,
                pattern,
                partition_by: parsed.partition_by,
                max_file_bytes,
                delta,
            };
            Ok(Arc::new(FileStoreSpec {
                type_name: self.name,
                settings: Arc::new(settings),
                place,
            }) as Arc<dyn StoreSpec>)
        })())
    }
}

/// Where a file home reads: local files, or objects under a URL.
#[derive(Debug, Clone)]
enum HomeSource {
    /// A file, a folder or a glob on a local disk.
    Files(PathBuf),
    /// A prefix (or one object, or a glob) in an object store.
    Objects(ObjectDestination),
}

impl HomeSource {
    fn describe(&self) -> String {
        match self {
            HomeSource::Files(path) => path.display().to_string(),
            HomeSource::Objects(objects) => objects.place().to_string(),
        }
    }

    /// The files to read, in order (or a partitioned table's, by partition).
    async fn list(&self, format: Format) -> ConnectorResult<Listing> {
        let path = match self {
            HomeSource::Objects(objects) => {
                return object_inputs::list_objects(objects, format.extensions()).await;
            }
            HomeSource::Files(path) => path.clone(),
        };
        if path.join(HYGGE_DIR).join("log").is_dir() {
            // A local destination hygge publishes through a commit log (a Delta table):
            // read its committed set, not every file in the folder.
            let table = local_table(&path).map_err(|p| ConnectorError::config(p.message))?;
            return object_inputs::list_objects(&table, format.extensions()).await;
        }
        let files = tokio::task::spawn_blocking(move || list_inputs(&path, format.extensions()))
            .await
            .map_err(|e| ConnectorError::internal(format!("listing task failed: {e}")))?
            .map_err(|e| ConnectorError::config(e).with_context("check the home `path`"))?;
        Ok(Listing::Files(
            files.into_iter().map(InputFile::Local).collect(),
        ))
    }
}

/// A validated file home.
struct FileHomeSpec {
    type_name: &'static str,
    source: HomeSource,
    format: Format,
    text: TextOptions,
    batch_size: Option<usize>,
}

impl HomeSpec for FileHomeSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
        Box::new(FileHome {
            source: self.source.clone(),
            format: self.format,
            text: self.text.clone(),
        })
    }

    fn describe(&self) -> String {
        match self.format {
            Format::Parquet => format!("{} {}", self.type_name, self.source.describe()),
            other => format!(
                "{} {} ({})",
                self.type_name,
                self.source.describe(),
                format!("{other:?}").to_lowercase()
            ),
        }
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn preflight(&self) -> Vec<String> {
        match &self.source {
            HomeSource::Files(path) => match list_inputs(path, self.format.extensions()) {
                Ok(_) => Vec::new(),
                Err(e) => vec![e],
            },
            // Checked by a listing, as the connection check.
            HomeSource::Objects(_) => Vec::new(),
        }
    }

    fn place(&self) -> Option<Place> {
        Some(match &self.source {
            HomeSource::Files(path) => Place::path(&fixed_prefix(path)),
            HomeSource::Objects(objects) => Place::url(objects.place()),
        })
    }

    fn connection_label(&self) -> Option<String> {
        match &self.source {
            HomeSource::Objects(objects) => Some(objects.connection_label()),
            HomeSource::Files(_) => None,
        }
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        match &self.source {
            HomeSource::Objects(objects) => Some(objects.check_now()),
            HomeSource::Files(_) => None,
        }
    }
}

/// A file home for one attempt.
struct FileHome {
    source: HomeSource,
    format: Format,
    text: TextOptions,
}

#[async_trait]
impl Home for FileHome {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let listing = self.source.list(self.format).await?;
        let mut plan = ReadPlan {
            format: self.format,
            files: Vec::new(),
            text: self.text,
            parallel_units: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        };
        match listing {
            Listing::Files(files) => {
                plan.files = files;
                Ok(Box::new(FilesReader::open(plan, request).await?))
            }
            Listing::Partitioned(table) => {
                Ok(Box::new(PartitionedReader::open(plan, table, request)?))
            }
        }
    }
}

/// A validated file store.
struct FileStoreSpec {
    type_name: &'static str,
    settings: Arc<FileStoreSettings>,
    /// Where it writes, for overlap checks: a local Delta table is a local path although it
    /// publishes like an object store.
    place: Place,
}

/// A local folder as an object-store destination, for a local Delta table.
fn local_table(folder: &std::path::Path) -> Result<ObjectDestination, ConfigProblem> {
    let absolute = std::path::absolute(folder)
        .map_err(|e| ConfigProblem::key("path", format!("{}: {e}", folder.display())))?;
    let root = object_store::path::Path::from_absolute_path(&absolute)
        .map_err(|e| ConfigProblem::key("path", format!("{}: {e}", folder.display())))?;
    let store = Arc::new(object_store::local::LocalFileSystem::new());
    Ok(
        ObjectDestination::new(store, root, absolute.display().to_string())
            .signed_in_with(None, "the local file system")
            .on_local_disk(),
    )
}

impl StoreSpec for FileStoreSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Store> {
        Box::new(FileStore::new(self.settings.clone()))
    }

    fn describe(&self) -> String {
        let s = &self.settings;
        let detail = match s.format {
            Format::Parquet => codec_name(s.parquet.compression),
            other => format!("{other:?}").to_lowercase(),
        };
        format!("{} {} ({detail})", self.type_name, s.target.describe())
    }

    fn preflight(&self) -> Vec<String> {
        let Target::Folder(destination) = &self.settings.target else {
            // `hygge debug` checks an object store's connection with a listing.
            return Vec::new();
        };
        let existing = destination.ancestors().find(|p| p.exists());
        match existing {
            Some(dir)
                if dir
                    .metadata()
                    .map(|m| m.permissions().readonly())
                    .unwrap_or(true) =>
            {
                vec![format!("{} is not writable", dir.display())]
            }
            Some(_) => Vec::new(),
            None => vec![format!("no existing parent of {}", destination.display())],
        }
    }

    fn place(&self) -> Option<Place> {
        Some(self.place.clone())
    }

    fn connection_label(&self) -> Option<String> {
        match &self.settings.target {
            Target::Objects(objects) => Some(objects.connection_label()),
            Target::Folder(_) => None,
        }
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        match &self.settings.target {
            Target::Objects(objects) => Some(objects.check_now()),
            Target::Folder(_) => None,
        }
    }

    fn state(&self, _run: &RunScope) -> Option<Box<dyn StateStore>> {
        Some(match &self.settings.target {
            Target::Folder(path) => Box::new(FolderState::new(path)) as Box<dyn StateStore>,
            Target::Objects(destination) => Box::new(ObjectState::new(destination.clone())),
        })
    }
}

/// `zstd(3)`, `snappy`, … as users write them.
fn codec_name(compression: parquet::basic::Compression) -> String {
    use parquet::basic::Compression as C;
    match compression {
        C::UNCOMPRESSED => "none".into(),
        C::SNAPPY => "snappy".into(),
        C::LZ4 | C::LZ4_RAW => "lz4".into(),
        C::ZSTD(level) => format!("zstd({})", level.compression_level()),
        C::GZIP(level) => format!("gzip({})", level.compression_level()),
        C::BROTLI(level) => format!("brotli({})", level.compression_level()),
        other => other.to_string().to_lowercase(),
    }
}
