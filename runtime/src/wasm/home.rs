//! A component as a [`Home`]: each attempt instantiates it afresh in its own sandbox.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::home_world::HomeConnector;
use super::bindings::{ReadRequest as GuestReadRequest, WatermarkFilter};
use super::engine::{ComponentSource, arm};
use super::error::{call_failed, guest_error};
use super::limits::{decode_batch, decode_schema};
use super::spec::{ComponentSpec, HomeSide};
use super::state::HostState;
use crate::contract::{BatchReader, ConnectorResult, Home, HomeSpec, ReadRequest};

/// A component as a home.
pub type WasmHomeSpec = ComponentSpec<HomeSide>;

impl HomeSpec for ComponentSpec<HomeSide> {
    fn build(&self) -> Box<dyn Home> {
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

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }
}

#[async_trait]
impl Home for ComponentSpec<HomeSide> {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let (engine, component, mut store) = self.prepare().await?;
        let name = self.source.name().to_string();
        let bindings = HomeConnector::instantiate_async(&mut store, &component, engine.linker())
            .await
            .map_err(|e| {
                call_failed(&store, "instantiate", e)
                    .with_context("does the component export hygge:connector/home?")
            })?;
        let guest_request = GuestReadRequest {
            columns: request.columns().map(<[String]>::to_vec),
            batch_size: u32::try_from(request.batch_size()).unwrap_or(u32::MAX),
            watermark: request.watermark().map(|w| WatermarkFilter {
                column: w.column.clone(),
                after: w.after.clone(),
            }),
        };
        let timeout = self.permissions.call_timeout();
        arm(&mut store, timeout);
        let reader = bindings
            .hygge_connector_home()
            .reader()
            .call_open(&mut store, &self.config_json, &guest_request)
            .await
            .map_err(|e| call_failed(&store, "open", e))?
            .map_err(|e| guest_error(&name, "open", e))?;
        arm(&mut store, timeout);
        let schema_bytes = bindings
            .hygge_connector_home()
            .reader()
            .call_schema(&mut store, reader)
            .await
            .map_err(|e| call_failed(&store, "schema", e))?
            .map_err(|e| guest_error(&name, "schema", e))?;
        let schema = decode_schema(&schema_bytes, &name)?;
        Ok(Box::new(WasmReader {
            store,
            bindings,
            reader,
            schema,
            name,
            timeout,
        }))
    }
}

/// An open component home.
struct WasmReader {
    store: Store<HostState>,
    bindings: HomeConnector,
    reader: ResourceAny,
    schema: SchemaRef,
    name: String,
    timeout: std::time::Duration,
}

#[async_trait]
impl BatchReader for WasmReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        arm(&mut self.store, self.timeout);
        let answer = self
            .bindings
            .hygge_connector_home()
            .reader()
            .call_next_batch(&mut self.store, self.reader)
            .await
            .map_err(|e| call_failed(&self.store, "next-batch", e))?
            .map_err(|e| guest_error(&self.name, "next-batch", e))?;
        match answer {
            None => {
                self.store.data().drain_output_to_log();
                Ok(None)
            }
            Some(bytes) => decode_batch(bytes, &self.schema, &self.name).map(Some),
        }
    }
}
