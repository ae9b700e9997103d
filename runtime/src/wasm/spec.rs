//! What every component home or store is built from: the component, its grant, its config.

use std::marker::PhantomData;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::Component;

use super::engine::{ComponentSource, WasmEngine};
use super::linker::refuse_withheld;
use super::permissions::Permissions;
use super::state::HostState;
use crate::contract::ConnectorError;

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
    /// Store side: how many instances share a run (see [`ComponentSpec::with_parts`]).
    pub(crate) parts: usize,
    side: PhantomData<Side>,
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
            side: PhantomData,
        }
    }

    /// The rows per batch (a home reads, or the flow re-chunks to before a store's `write`).
    pub fn with_batch_size(mut self, batch_size: Option<usize>) -> Self {
        self.batch_size = batch_size;
        self
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
        refuse_withheld(engine.engine(), self.source.name(), &component)?;
        let store = engine.new_store(self.source.name(), &self.permissions)?;
        Ok((engine, component, store))
    }
}
