//! A component as a [`Home`]: each attempt instantiates it afresh in its own sandbox.
//!
//! A home opened [`with_parts`](ComponentSpec::with_parts) reads with several instances at
//! once, each on its own task: part `k` reads the units (row groups) `k`, `k + parts`, …
//! and answers an empty byte list after each, and the host takes the units in turn, so
//! the batches come out in input order (the protocol is in wit/README.md). While the flow
//! takes one part's unit, the others read theirs ahead, up to a memory budget per part.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::home_world::HomeConnector;
use super::bindings::{ReadRequest as GuestReadRequest, WatermarkFilter};
use super::engine::{ComponentSource, arm};
use super::error::{call_failed, guest_error, http_checked, instantiate_failed};
use super::limits::{decode_batch, decode_schema};
use super::spec::{ComponentSpec, HomeSide};
use super::state::HostState;
use crate::contract::{
    BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, Place, ReadRequest, RunScope,
};

/// A component as a home.
pub type WasmHomeSpec = ComponentSpec<HomeSide>;

impl HomeSpec for ComponentSpec<HomeSide> {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
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

    fn place(&self) -> Option<Place> {
        self.place.clone()
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }
}

#[async_trait]
impl Home for ComponentSpec<HomeSide> {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let request = GuestReadRequest {
            columns: request.columns().map(<[String]>::to_vec),
            batch_size: u32::try_from(request.batch_size()).unwrap_or(u32::MAX),
            watermark: request.watermark().map(|w| WatermarkFilter {
                column: w.column.clone(),
                after: w.after.clone(),
            }),
        };
        let first = Instance::open(&self, 0, &request).await?;
        if self.parts == 1 {
            return Ok(Box::new(WasmReader { instance: first }));
        }
        let mut instances = vec![first];
        for part in 1..self.parts {
            let instance = Instance::open(&self, part, &request).await?;
            if instance.schema.fields() != instances[0].schema.fields() {
                return Err(ConnectorError::data(format!(
                    "component `{}` announced another schema in part {part} than in part 0",
                    instance.name
                )));
            }
            instances.push(instance);
        }
        Ok(Box::new(PartsReader::spawn(instances)))
    }
}

/// One instance of the component with its open reader.
struct Instance {
    store: Store<HostState>,
    bindings: HomeConnector,
    reader: ResourceAny,
    schema: SchemaRef,
    name: String,
    timeout: Duration,
}

impl Instance {
    /// Instantiates the component as part `part` and opens its reader.
    async fn open(
        spec: &ComponentSpec<HomeSide>,
        part: usize,
        request: &GuestReadRequest,
    ) -> ConnectorResult<Instance> {
        let config = spec.part_config(part)?;
        let (engine, component, mut store) = spec.prepare().await?;
        let name = spec.source.name().to_string();
        let bindings = HomeConnector::instantiate_async(
            &mut store,
            &component,
            engine.linker(!spec.permissions.http().is_empty()),
        )
        .await
        .map_err(|e| instantiate_failed(&store, "hygge:connector/home", e))?;
        let timeout = spec.permissions.call_timeout();
        arm(&mut store, timeout);
        let reader = bindings
            .hygge_connector_home()
            .reader()
            .call_open(&mut store, &config, request)
            .await
            .map_err(|e| call_failed(&store, "open", e))?
            .map_err(|e| guest_error(&store, "open", e))?;
        http_checked(&store)?;
        arm(&mut store, timeout);
        let schema_bytes = bindings
            .hygge_connector_home()
            .reader()
            .call_schema(&mut store, reader)
            .await
            .map_err(|e| call_failed(&store, "schema", e))?
            .map_err(|e| guest_error(&store, "schema", e))?;
        let schema = decode_schema(&schema_bytes, &name)?;
        Ok(Instance {
            store,
            bindings,
            reader,
            schema,
            name,
            timeout,
        })
    }

    /// The next answer of `next-batch`, still encoded; `None` at the end.
    async fn next_bytes(&mut self) -> ConnectorResult<Option<Vec<u8>>> {
        arm(&mut self.store, self.timeout);
        let answer = self
            .bindings
            .hygge_connector_home()
            .reader()
            .call_next_batch(&mut self.store, self.reader)
            .await
            .map_err(|e| call_failed(&self.store, "next-batch", e))?
            .map_err(|e| guest_error(&self.store, "next-batch", e))?;
        http_checked(&self.store)?;
        if answer.is_none() {
            self.store.data().drain_output_to_log();
        }
        Ok(answer)
    }
}

/// An open component home read by one instance.
struct WasmReader {
    instance: Instance,
}

#[async_trait]
impl BatchReader for WasmReader {
    fn schema(&self) -> SchemaRef {
        self.instance.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        let instance = &mut self.instance;
        match instance.next_bytes().await? {
            None => Ok(None),
            Some(bytes) => decode_batch(bytes, &instance.schema, &instance.name).map(Some),
        }
    }
}

/// What a part hands the fan-in.
enum Piece {
    /// A batch, holding its share of the part's read-ahead budget until the flow takes it.
    Batch(RecordBatch, OwnedSemaphorePermit),
    /// The part finished one unit; the next unit is the next part's.
    UnitEnd,
}

/// How much one part may read ahead of the flow, in KiB of IPC bytes (which the decoded
/// batches share). A part whose unit is not being taken yet reads up to this much of it, so
/// the budget decides how much of the reading overlaps: a Parquet row group of a million
/// rows is about this size.
const READ_AHEAD_KIB_PER_PART: u32 = 128 << 10;

/// An open component home read by several instances, their batches put back in order.
struct PartsReader {
    schema: SchemaRef,
    name: String,
    /// What each part sends; a closed channel means the part has read everything.
    parts: Vec<mpsc::UnboundedReceiver<ConnectorResult<Piece>>>,
    /// The units taken so far; unit `turn` is part `turn % parts`'s.
    turn: usize,
    finished: bool,
    /// Dropping the reader stops every part.
    _tasks: JoinSet<()>,
}

impl PartsReader {
    fn spawn(instances: Vec<Instance>) -> PartsReader {
        let schema = instances[0].schema.clone();
        let name = instances[0].name.clone();
        let mut tasks = JoinSet::new();
        let mut parts = Vec::with_capacity(instances.len());
        for instance in instances {
            // The budget, not the channel, bounds what a part holds.
            let (sender, receiver) = mpsc::unbounded_channel();
            let budget = Arc::new(Semaphore::new(READ_AHEAD_KIB_PER_PART as usize));
            tasks.spawn(read_part(instance, budget, sender));
            parts.push(receiver);
        }
        PartsReader {
            schema,
            name,
            parts,
            turn: 0,
            finished: false,
            _tasks: tasks,
        }
    }

    /// After part `ended` has read everything: every other part must have too, since the
    /// units go round in turn.
    async fn check_all_ended(&mut self, ended: usize) -> ConnectorResult<()> {
        for (part, receiver) in self.parts.iter_mut().enumerate() {
            match receiver.recv().await {
                None => {}
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => {
                    return Err(ConnectorError::data(format!(
                        "component `{}` sent more data in part {part} after part {ended} had ended; it does not follow the protocol of a home in parts",
                        self.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Reads one part to its end, decoding on this task, within its read-ahead `budget`,
/// until the fan-in stops listening.
async fn read_part(
    mut instance: Instance,
    budget: Arc<Semaphore>,
    sender: mpsc::UnboundedSender<ConnectorResult<Piece>>,
) {
    loop {
        let piece = match instance.next_bytes().await {
            Ok(None) => return,
            Ok(Some(bytes)) if bytes.is_empty() => Ok(Piece::UnitEnd),
            Ok(Some(bytes)) => {
                let kib = u32::try_from(bytes.len() >> 10)
                    .unwrap_or(u32::MAX)
                    .clamp(1, READ_AHEAD_KIB_PER_PART);
                match decode_batch(bytes, &instance.schema, &instance.name) {
                    Ok(batch) => match budget.clone().acquire_many_owned(kib).await {
                        Ok(permit) => Ok(Piece::Batch(batch, permit)),
                        Err(_) => return,
                    },
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let failed = piece.is_err();
        if sender.send(piece).is_err() || failed {
            return;
        }
    }
}

#[async_trait]
impl BatchReader for PartsReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        while !self.finished {
            let part = self.turn % self.parts.len();
            match self.parts[part].recv().await {
                Some(Ok(Piece::Batch(batch, _permit))) => return Ok(Some(batch)),
                Some(Ok(Piece::UnitEnd)) => self.turn += 1,
                Some(Err(e)) => return Err(e),
                None => {
                    self.finished = true;
                    self.check_all_ended(part).await?;
                }
            }
        }
        Ok(None)
    }
}
