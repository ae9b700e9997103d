//! A component as a [`Store`]: each attempt instantiates it afresh in its own sandbox.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use wasmtime::Store as WasmtimeStore;
use wasmtime::component::ResourceAny;

use super::bindings::store_world::StoreConnector;
use super::bindings::{GuestRunType, RunContext as GuestRunContext};
use super::engine::{ComponentSource, WasmEngine, arm};
use super::error::{call_failed, guest_error};
use super::spec::{ComponentSpec, StoreSide};
use super::state::HostState;
use crate::contract::{
    ConnectorError, ConnectorResult, RunContext, RunType, Store, StoreSpec, StoreWriter,
};

/// A component as a store.
pub type WasmStoreSpec = ComponentSpec<StoreSide>;

impl StoreSpec for ComponentSpec<StoreSide> {
    fn build(&self) -> Box<dyn Store> {
        Box::new(self.clone())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn sandbox(&self) -> Option<String> {
        Some(self.permissions.summary())
    }

    fn component(&self) -> Option<Arc<ComponentSource>> {
        Some(self.source.clone())
    }
}

#[async_trait]
impl Store for ComponentSpec<StoreSide> {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let engine = WasmEngine::global()?;
        let component = self.source.compiled(engine).await?;
        let name = self.source.name().to_string();
        let mut store = engine.new_store(&name, &self.permissions)?;
        let bindings = StoreConnector::instantiate_async(&mut store, &component, engine.linker())
            .await
            .map_err(|e| {
                call_failed(&store, "instantiate", e)
                    .with_context("does the component export hygge:connector/store?")
            })?;
        let schema_bytes = hygge_ipc::schema_to_bytes(&schema)
            .map_err(|e| ConnectorError::internal("cannot encode the schema").with_source(e))?;
        let guest_context = GuestRunContext {
            run_id: context.run_id.clone(),
            flow: context.flow.clone(),
            entity: context.entity.clone(),
            run_type: match context.run_type {
                RunType::FullDrop => GuestRunType::FullDrop,
                RunType::Incremental => GuestRunType::Incremental,
            },
        };
        let timeout = self.permissions.call_timeout();
        arm(&mut store, timeout);
        let writer = bindings
            .hygge_connector_store()
            .writer()
            .call_open(&mut store, &self.config_json, &schema_bytes, &guest_context)
            .await
            .map_err(|e| call_failed(&store, "open", e))?
            .map_err(|e| guest_error(&name, "open", e))?;
        Ok(Box::new(WasmWriter {
            store,
            bindings,
            writer,
            name,
            timeout,
            batch_size: self.batch_size,
        }))
    }
}

/// An open component store.
struct WasmWriter {
    store: WasmtimeStore<HostState>,
    bindings: StoreConnector,
    writer: ResourceAny,
    name: String,
    timeout: Duration,
    batch_size: Option<usize>,
}

impl WasmWriter {
    async fn finish(&mut self, call: &str, commit: bool) -> ConnectorResult<()> {
        arm(&mut self.store, self.timeout);
        let api = self.bindings.hygge_connector_store().writer();
        let answer = if commit {
            api.call_commit(&mut self.store, self.writer).await
        } else {
            api.call_abort(&mut self.store, self.writer).await
        };
        let result = answer
            .map_err(|e| call_failed(&self.store, call, e))?
            .map_err(|e| guest_error(&self.name, call, e));
        self.store.data().drain_output_to_log();
        result
    }
}

#[async_trait]
impl StoreWriter for WasmWriter {
    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let bytes = hygge_ipc::batch_to_bytes(&batch)
            .map_err(|e| ConnectorError::internal("cannot encode a batch").with_source(e))?;
        arm(&mut self.store, self.timeout);
        self.bindings
            .hygge_connector_store()
            .writer()
            .call_write(&mut self.store, self.writer, &bytes)
            .await
            .map_err(|e| call_failed(&self.store, "write", e))?
            .map_err(|e| guest_error(&self.name, "write", e))
    }

    async fn commit(mut self: Box<Self>) -> ConnectorResult<()> {
        self.finish("commit", true).await
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        self.finish("abort", false).await
    }
}
