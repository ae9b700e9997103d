//! What every component home or store is built from: the component, its grant, its config.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::Component;

use super::engine::{ComponentSource, WasmEngine};
use super::linker::refuse_withheld;
use super::permissions::Permissions;
use super::state::HostState;
use crate::contract::{ConnectorError, Place};

/// Marks a [`ComponentSpec`] used as a home.
#[derive(Debug, Clone, Copy)]
pub struct HomeSide;

/// Marks a [`ComponentSpec`] used as a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreSide;

/// A validated component home or store (see [`super::WasmHomeSpec`] and
/// [`super::WasmStoreSpec`]): the component, its grant, its config as the guest sees it.
pub struct ComponentSpec<Side> {
    pub(crate) source: Arc<ComponentSource>,
    pub(crate) permissions: Permissions,
    pub(crate) config_json: String,
    pub(crate) describe: String,
    pub(crate) batch_size: Option<usize>,
    /// How many instances share a run (see [`ComponentSpec::with_parts`]).
    pub(crate) parts: usize,
    /// What the component reads or writes on the host, for the overlap check.
    pub(crate) place: Option<Place>,
    /// A store whose files the host publishes (see [`ComponentSpec::with_staged_folder`]).
    pub(crate) staged_folder: Option<StagedFolder>,
    side: PhantomData<Side>,
}

/// A destination folder the host stages and publishes for a component store.
#[derive(Debug, Clone)]
pub(crate) struct StagedFolder {
    /// The folder readers see.
    pub destination: PathBuf,
    /// Where the component sees the run's staging folder.
    pub mount: String,
}

impl<Side> Clone for ComponentSpec<Side> {
    fn clone(&self) -> Self {
        ComponentSpec {
            source: self.source.clone(),
            permissions: self.permissions.clone(),
            config_json: self.config_json.clone(),
            describe: self.describe.clone(),
            batch_size: self.batch_size,
            parts: self.parts,
            place: self.place.clone(),
            staged_folder: self.staged_folder.clone(),
            side: PhantomData,
        }
    }
}

impl<Side> ComponentSpec<Side> {
    /// Runs `source` with `config_json` (paths as the guest sees them) under `permissions`;
    /// `describe` is the line shown in dry runs.
    pub fn new(
        source: Arc<ComponentSource>,
        permissions: Permissions,
        config_json: String,
        describe: String,
    ) -> Self {
        ComponentSpec {
            source,
            permissions,
            config_json,
            describe,
            batch_size: None,
            parts: 1,
            place: None,
            staged_folder: None,
            side: PhantomData,
        }
    }

    /// The rows per batch (a home reads, or the flow re-chunks to before a store's `write`).
    pub fn with_batch_size(mut self, batch_size: Option<usize>) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Names the host data the component reads (a home) or publishes to (a store), so a
    /// run refuses a store that overlaps a home.
    pub fn with_place(mut self, place: Place) -> Self {
        self.place = Some(place);
        self
    }

    /// Makes the host publish the store's files: for each run the host opens a staging
    /// folder for `destination` (the runtime's publish layer: lock, stale-staging cleanup),
    /// grants the component that folder alone, read-write, at `mount`, and on commit
    /// publishes it with the entity's watermark state. The component only writes files; it
    /// never sees the destination or its parent.
    pub fn with_staged_folder(mut self, destination: PathBuf, mount: impl Into<String>) -> Self {
        self.place = Some(Place::path(&destination));
        self.staged_folder = Some(StagedFolder {
            destination,
            mount: mount.into(),
        });
        self
    }

    /// Spreads each run over `parts` instances (at least 1), each on its own task: a Wasm
    /// instance runs on one thread. Only for components that take `part` and `parts`
    /// config keys and follow the protocol in wit/README.md ("A home in parts", "A store
    /// in parts").
    pub fn with_parts(mut self, parts: usize) -> Self {
        self.parts = parts.max(1);
        self
    }

    /// The config of instance `part`: the component's config plus `part` and `parts`
    /// when there is more than one.
    pub(crate) fn part_config(&self, part: usize) -> Result<String, ConnectorError> {
        if self.parts == 1 {
            return Ok(self.config_json.clone());
        }
        let mut config: serde_json::Value =
            serde_json::from_str(&self.config_json).map_err(|e| {
                ConnectorError::internal("the component config is not JSON").with_source(e)
            })?;
        let Some(object) = config.as_object_mut() else {
            return Err(ConnectorError::internal(
                "a component in parts needs a JSON object as its config",
            ));
        };
        object.insert("part".into(), part.into());
        object.insert("parts".into(), self.parts.into());
        Ok(config.to_string())
    }

    /// What the component may touch.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// What instantiating needs: the engine, the compiled component, and a fresh sandboxed
    /// store for one instance of it.
    pub(crate) async fn prepare(
        &self,
    ) -> Result<(&'static WasmEngine, Component, Store<HostState>), ConnectorError> {
        let engine = WasmEngine::global()?;
        let component = self.source.compiled(engine).await?;
        refuse_withheld(
            engine.engine(),
            self.source.name(),
            &component,
            !self.permissions.http().is_empty(),
        )?;
        let store = engine.new_store(self.source.name(), &self.permissions)?;
        Ok((engine, component, store))
    }
}
