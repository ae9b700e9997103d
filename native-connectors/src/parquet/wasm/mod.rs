//! `runtime: wasm` for the parquet connector: the embedded portable component, and the
//! grant derived from the config's path keys (homes read-only, the store's root
//! read-write). The component sees host paths under `/home` and `/store` only.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{
    AdaptingWriter, ConfigProblem, ConnectorError, ConnectorResult, Place, RunContext, RunScope,
    RunType, SchemaAdapter, Store, StoreSpec, StoreWriter,
};
use hygge_runtime::wasm::{ComponentSource, Permissions, WasmHomeSpec, WasmStoreSpec};
use serde_json::json;

use crate::files::{Format, fixed_prefix, is_glob, newest_columns};

/// The portable Parquet component, built from `components/parquet` by build.rs.
pub static PARQUET_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hygge_parquet_component.wasm"));

const HOME_MOUNT: &str = "/home";
const STORE_MOUNT: &str = "/store";

/// The component source, shared by every flow (compiled once per process).
fn source() -> Arc<ComponentSource> {
    static SOURCE: OnceLock<Arc<ComponentSource>> = OnceLock::new();
    SOURCE
        .get_or_init(|| ComponentSource::new("parquet", PARQUET_COMPONENT))
        .clone()
}

/// The folder to grant for a home path, and the path as the guest sees it.
fn home_grant(path: &Path) -> (PathBuf, String) {
    if is_glob(path) {
        let root = fixed_prefix(path);
        let rest = path.strip_prefix(&root).unwrap_or(path);
        return (root, format!("{HOME_MOUNT}/{}", rest.display()));
    }
    if path.is_file() {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return (parent, format!("{HOME_MOUNT}/{name}"));
    }
    (path.to_path_buf(), HOME_MOUNT.to_string())
}

/// A component home reading `path`.
pub fn home(
    path: &Path,
    batch_size: Option<usize>,
    permissions: Permissions,
) -> Result<WasmHomeSpec, ConfigProblem> {
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(
            ConfigProblem::key("path", "cannot contain `..` with runtime: wasm")
                .hint("write the path without `..`"),
        );
    }
    let (granted, guest_path) = home_grant(path);
    let config = json!({ "path": guest_path, "batch_size": batch_size });
    Ok(WasmHomeSpec::new(
        source(),
        permissions.with_read_dir(&granted, HOME_MOUNT),
        config.to_string(),
        format!("parquet {} (wasm)", path.display()),
    )
    .with_place(Place::path(&fixed_prefix(path)))
    .with_batch_size(batch_size)
    .with_parts(parts()))
}

/// What a component store needs from the file store's config.
pub struct StoreSettings<'a> {
    /// The entity folder readers see.
    pub destination: &'a Path,
    /// The codec name and level as written.
    pub compression: Option<&'a str>,
    /// The codec level.
    pub compression_level: Option<i32>,
    /// Rows per row group.
    pub row_group_size: Option<usize>,
    /// Rows per batch handed to the component.
    pub batch_size: Option<usize>,
}

/// A component store writing the entity folder `destination`. The host stages and
/// publishes the folder; the component is granted only the run's staging folder.
pub fn store(
    settings: StoreSettings<'_>,
    permissions: Permissions,
) -> Result<WasmStoreSpec, ConfigProblem> {
    if settings.destination.file_name().is_none() {
        return Err(ConfigProblem::key("path", "needs a folder name"));
    }
    let config = json!({
        "path": STORE_MOUNT,
        "batch_size": settings.batch_size,
        "compression": settings.compression,
        "compression_level": settings.compression_level,
        "row_group_size": settings.row_group_size,
    });
    Ok(WasmStoreSpec::new(
        source(),
        permissions,
        config.to_string(),
        format!("parquet {} (wasm)", settings.destination.display()),
    )
    .with_staged_folder(settings.destination.to_path_buf(), STORE_MOUNT)
    .with_batch_size(settings.batch_size)
    .with_parts(parts()))
}

/// Instances that share one run of a component home or store: one per core (a Wasm
/// instance decodes or encodes on one thread), at most [`MAX_PARTS`]. A home's parts read
/// alternate row groups; a store's each write their own file.
fn parts() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_PARTS)
}

/// Each part holds a row group in memory while it decodes or encodes, so their number
/// is bounded.
const MAX_PARTS: usize = 4;

pub mod objects;
#[cfg(test)]
mod tests;

/// The component store with the host's schema-drift check around it: on an incremental run,
/// `on_schema_change` is applied on the host, against the newest file the destination holds,
/// before the component is opened, so the component writes only files of the kept columns.
pub struct SchemaGuarded {
    component: WasmStoreSpec,
    destination: PathBuf,
}

impl SchemaGuarded {
    /// `component`, publishing into `destination`, behind the check.
    pub fn new(component: WasmStoreSpec, destination: PathBuf) -> Self {
        SchemaGuarded {
            component,
            destination,
        }
    }
}

impl StoreSpec for SchemaGuarded {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(GuardedStore {
            component: self.component.build(run),
            destination: self.destination.clone(),
        })
    }

    fn describe(&self) -> String {
        self.component.describe()
    }

    fn sandbox(&self) -> Option<String> {
        self.component.sandbox()
    }

    fn component(&self) -> Option<Arc<ComponentSource>> {
        self.component.component()
    }

    fn preflight(&self) -> Vec<String> {
        self.component.preflight()
    }

    fn place(&self) -> Option<Place> {
        self.component.place()
    }

    fn state(&self, run: &RunScope) -> Option<Box<dyn hygge_runtime::state::StateStore>> {
        self.component.state(run)
    }
}

/// One attempt of a [`SchemaGuarded`] store.
struct GuardedStore {
    component: Box<dyn Store>,
    destination: PathBuf,
}

#[async_trait]
impl Store for GuardedStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let adapter = match context.run_type {
            RunType::FullDrop => None,
            RunType::Incremental => {
                let destination = self.destination.clone();
                let kept = tokio::task::spawn_blocking(move || {
                    newest_columns(&destination, Format::Parquet, b',')
                })
                .await
                .map_err(|e| ConnectorError::internal(format!("listing task failed: {e}")))??;
                match kept {
                    Some((kept, names_only)) => {
                        SchemaAdapter::plan(&kept, &schema, names_only, context.on_schema_change)?
                    }
                    None => None,
                }
            }
        };
        match adapter {
            None => self.component.open(schema, context).await,
            Some(adapter) => {
                let writer = self
                    .component
                    .open(adapter.target().clone(), context)
                    .await?;
                Ok(Box::new(AdaptingWriter::new(writer, adapter)))
            }
        }
    }
}
