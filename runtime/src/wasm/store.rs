//! A component as a [`Store`]: each attempt instantiates it afresh in its own sandbox.
//!
//! Each instance writes on its own task, so the component encodes while the flow reads the
//! next batches. A store opened [`with_parts`](ComponentSpec::with_parts) spreads the
//! batches of one run over several instances (one Wasm instance runs on one thread), each
//! told its `part` and the number of `parts` in its config; part 0 is opened first and
//! committed last (the protocol is in wit/README.md).
//!
//! A store built [`with_staged_folder`](ComponentSpec::with_staged_folder) never publishes
//! by itself: the host opens the run's staging folder through the runtime's publish layer,
//! grants the component that folder alone, and after the component's commit publishes it
//! with the entity's watermark state.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wasmtime::Store as WasmtimeStore;
use wasmtime::component::ResourceAny;

use super::bindings::store_world::StoreConnector;
use super::bindings::{GuestRunType, RunContext as GuestRunContext};
use super::engine::{ComponentSource, arm};
use super::error::{call_failed, guest_error, http_checked, instantiate_failed};
use super::spec::{ComponentSpec, StoreSide};
use super::state::HostState;
use crate::contract::{
    ConnectorError, ConnectorResult, Place, RunContext, RunScope, RunType, Store, StoreSpec,
    StoreWriter, check_batch_schema,
};
use crate::publish::{FolderState, StagedDir, holds_data};
use crate::state::{StateStore, StateUpdate};

/// A component as a store.
pub type WasmStoreSpec = ComponentSpec<StoreSide>;

impl StoreSpec for ComponentSpec<StoreSide> {
    fn build(&self, _run: &RunScope) -> Box<dyn Store> {
        Box::new(self.clone())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn sandbox(&self) -> Option<String> {
        let permissions = match &self.staged_folder {
            Some(folder) => self.permissions.clone().with_write_dir(
                format!("the run's staging of {}", folder.destination.display()),
                folder.mount.clone(),
            ),
            None => self.permissions.clone(),
        };
        Some(permissions.summary())
    }

    fn component(&self) -> Option<Arc<ComponentSource>> {
        Some(self.source.clone())
    }

    fn place(&self) -> Option<Place> {
        self.place.clone()
    }

    fn state(&self, _run: &RunScope) -> Option<Box<dyn StateStore>> {
        self.staged_folder
            .as_ref()
            .map(|s| Box::new(FolderState::new(&s.destination)) as Box<dyn StateStore>)
    }
}

#[async_trait]
impl Store for ComponentSpec<StoreSide> {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let schema_bytes = hygge_ipc::schema_to_bytes(&schema)
            .map_err(|e| ConnectorError::internal("cannot encode the schema").with_source(e))?;
        let context = GuestRunContext {
            run_id: context.run_id.clone(),
            flow: context.flow.clone(),
            entity: context.entity.clone(),
            run_type: match context.run_type {
                RunType::FullDrop => GuestRunType::FullDrop,
                RunType::Incremental => GuestRunType::Incremental,
            },
        };
        let mut spec = *self;
        let staged = match spec.staged_folder.clone() {
            None => None,
            Some(folder) => {
                let (destination, run_id, run_type) = (
                    folder.destination.clone(),
                    context.run_id.clone(),
                    match context.run_type {
                        GuestRunType::FullDrop => RunType::FullDrop,
                        GuestRunType::Incremental => RunType::Incremental,
                    },
                );
                let staged = tokio::task::spawn_blocking(move || {
                    StagedDir::open(&destination, &run_id, run_type)
                })
                .await
                .map_err(|e| ConnectorError::internal(format!("staging task failed: {e}")))??;
                spec.permissions = spec
                    .permissions
                    .clone()
                    .with_write_dir(staged.path(), folder.mount);
                Some(staged)
            }
        };
        let leader = Instance::open(&spec, 0, &schema_bytes, &context).await?;
        Ok(Box::new(WasmWriter {
            schema,
            parts: vec![Part::spawn(leader)],
            next: 0,
            spec,
            schema_bytes,
            context,
            staged,
        }))
    }
}

/// One instance of the component with its open writer.
struct Instance {
    store: WasmtimeStore<HostState>,
    bindings: StoreConnector,
    writer: ResourceAny,
    name: String,
    timeout: Duration,
}

impl Instance {
    async fn open(
        spec: &ComponentSpec<StoreSide>,
        part: usize,
        schema_bytes: &[u8],
        context: &GuestRunContext,
    ) -> ConnectorResult<Instance> {
        let config = spec.part_config(part)?;
        let (engine, component, mut store) = spec.prepare().await?;
        let name = spec.source.name().to_string();
        let bindings = StoreConnector::instantiate_async(
            &mut store,
            &component,
            engine.linker(!spec.permissions.http().is_empty()),
        )
        .await
        .map_err(|e| instantiate_failed(&store, "hygge:connector/store", e))?;
        let timeout = spec.permissions.call_timeout();
        arm(&mut store, timeout);
        let writer = bindings
            .hygge_connector_store()
            .writer()
            .call_open(&mut store, &config, schema_bytes, context)
            .await
            .map_err(|e| call_failed(&store, "open", e))?
            .map_err(|e| guest_error(&store, "open", e))?;
        http_checked(&store)?;
        Ok(Instance {
            store,
            bindings,
            writer,
            name,
            timeout,
        })
    }

    async fn write(&mut self, batch: &RecordBatch) -> ConnectorResult<()> {
        let bytes = hygge_ipc::batch_to_bytes(batch)
            .map_err(|e| ConnectorError::internal("cannot encode a batch").with_source(e))?;
        arm(&mut self.store, self.timeout);
        self.bindings
            .hygge_connector_store()
            .writer()
            .call_write(&mut self.store, self.writer, &bytes)
            .await
            .map_err(|e| call_failed(&self.store, "write", e))?
            .map_err(|e| guest_error(&self.store, "write", e))?;
        http_checked(&self.store)
    }

    async fn finish(&mut self, commit: bool) -> ConnectorResult<()> {
        let call = if commit { "commit" } else { "abort" };
        if commit {
            // A component whose request failed the grant does not get to publish.
            http_checked(&self.store)?;
        }
        arm(&mut self.store, self.timeout);
        let api = self.bindings.hygge_connector_store().writer();
        let answer = if commit {
            api.call_commit(&mut self.store, self.writer).await
        } else {
            api.call_abort(&mut self.store, self.writer).await
        };
        let result = answer
            .map_err(|e| call_failed(&self.store, call, e))?
            .map_err(|e| guest_error(&self.store, call, e));
        self.store.data().drain_output_to_log();
        result
    }
}

/// An instance writing on its own task, fed through a short queue.
struct Part {
    queue: mpsc::Sender<RecordBatch>,
    task: JoinHandle<(Instance, ConnectorResult<()>)>,
}

/// Batches queued per part beyond the one being written.
const PART_QUEUE: usize = 1;

impl Part {
    fn spawn(mut instance: Instance) -> Part {
        let (queue, mut batches) = mpsc::channel::<RecordBatch>(PART_QUEUE);
        let task = tokio::spawn(async move {
            while let Some(batch) = batches.recv().await {
                if let Err(e) = instance.write(&batch).await {
                    return (instance, Err(e));
                }
            }
            (instance, Ok(()))
        });
        Part { queue, task }
    }

    /// Closes the queue and waits for the queued batches to be written.
    async fn drain(self) -> ConnectorResult<(Instance, ConnectorResult<()>)> {
        drop(self.queue);
        self.task
            .await
            .map_err(|e| ConnectorError::internal(format!("a component writer task failed: {e}")))
    }
}

/// An open component store: one part, or several written in parallel.
struct WasmWriter {
    /// The schema the store was opened with; every batch must have it.
    schema: SchemaRef,
    spec: ComponentSpec<StoreSide>,
    schema_bytes: Vec<u8>,
    context: GuestRunContext,
    /// Part 0 first; the others are opened when their first batch comes.
    parts: Vec<Part>,
    next: usize,
    /// The run's staging folder, when the host publishes the component's files.
    staged: Option<StagedDir>,
}

/// Aborts every instance, the followers before part 0 (which removes the staging); a
/// follower that cannot abort is logged, part 0's answer is returned.
async fn abort_all(mut instances: Vec<Instance>) -> ConnectorResult<()> {
    if instances.is_empty() {
        return Ok(());
    }
    let mut leader = instances.remove(0);
    for mut follower in instances {
        if let Err(e) = follower.finish(false).await {
            tracing::warn!(component = %follower.name, error = %e, "abort failed");
        }
    }
    leader.finish(false).await
}

/// Aborts after `error`, which stays the answer; a failed abort is logged beside it.
async fn abort_after(instances: Vec<Instance>, error: ConnectorError) -> ConnectorError {
    if let Err(e) = abort_all(instances).await {
        tracing::warn!(error = %e, "abort after a failure failed too");
    }
    error
}

impl WasmWriter {
    /// Waits for every part; the instances, and the first error if any part failed.
    async fn drain(&mut self) -> (Vec<Instance>, ConnectorResult<()>) {
        let mut instances = Vec::new();
        let mut outcome = Ok(());
        for part in std::mem::take(&mut self.parts) {
            match part.drain().await {
                Ok((instance, result)) => {
                    instances.push(instance);
                    outcome = outcome.and(result);
                }
                Err(e) => outcome = outcome.and(Err(e)),
            }
        }
        (instances, outcome)
    }
}

#[async_trait]
impl StoreWriter for WasmWriter {
    fn batch_size(&self) -> Option<usize> {
        self.spec.batch_size
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        check_batch_schema(&self.schema, &batch)?;
        let index = self.next % self.spec.parts;
        self.next += 1;
        if index == self.parts.len() {
            let instance =
                Instance::open(&self.spec, index, &self.schema_bytes, &self.context).await?;
            self.parts.push(Part::spawn(instance));
        }
        if self.parts[index].queue.send(batch).await.is_ok() {
            return Ok(());
        }
        // The part's task ended early: it failed. Nothing of this run may be published.
        let (instances, outcome) = self.drain().await;
        let error = outcome.err().unwrap_or_else(|| {
            ConnectorError::internal("a component writer stopped without an error")
        });
        Err(abort_after(instances, error).await)
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        match (&self.context.run_type, &self.spec.place) {
            (GuestRunType::Incremental, _) => Ok(false),
            (GuestRunType::FullDrop, Some(Place::Path(destination))) => holds_data(destination),
            (GuestRunType::FullDrop, _) => Ok(true),
        }
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        let (mut instances, outcome) = self.drain().await;
        if let Err(e) = outcome {
            return Err(abort_after(instances, e).await);
        }
        let nothing_written = self.next == 0;
        if nothing_written
            && self.context.run_type == GuestRunType::Incremental
            && let Some(staged) = self.staged.take()
        {
            // An incremental run with no rows adds no (empty) file; the published set and
            // its state are carried forward as they are.
            abort_all(instances).await?;
            return tokio::task::spawn_blocking(move || staged.commit(state.as_ref()))
                .await
                .map_err(|e| ConnectorError::internal(format!("publish task failed: {e}")))?;
        }
        // The followers only close their files; part 0 commits last (and, for a component
        // that publishes by itself, publishes them all).
        while instances.len() > 1 {
            let mut follower = instances.remove(1);
            if let Err(e) = follower.finish(true).await {
                return Err(abort_after(instances, e).await);
            }
        }
        match instances.pop() {
            Some(mut leader) => leader.finish(true).await?,
            None => {
                return Err(ConnectorError::internal(
                    "the component store has no writer",
                ));
            }
        }
        match self.staged.take() {
            Some(staged) => tokio::task::spawn_blocking(move || staged.commit(state.as_ref()))
                .await
                .map_err(|e| ConnectorError::internal(format!("publish task failed: {e}")))?,
            None => Ok(()),
        }
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        let (instances, _) = self.drain().await;
        let outcome = abort_all(instances).await;
        if let Some(staged) = self.staged.take() {
            tokio::task::spawn_blocking(move || staged.abort())
                .await
                .map_err(|e| ConnectorError::internal(format!("abort task failed: {e}")))??;
        }
        outcome
    }
}
