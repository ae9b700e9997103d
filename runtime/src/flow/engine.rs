//! One entity flow: home → bounded channel → store, with retries, a timeout and an abort on
//! every failure path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant as TokioInstant;

use super::interrupt::Interrupt;
use super::rechunk::Rechunker;
use crate::contract::{
    BatchReader, ConnectorError, ConnectorResult, ErrorKind, HomeSpec, OnSchemaChange,
    ParquetFiles, ReadRequest, RunContext, RunScope, RunType, StoreSpec, StoreWriter,
};
use crate::events::{EventSink, FlowErrorReport, FlowEvent, FlowReport, FlowStatus};
use crate::state::{BoundPlan, IncrementalPlan, WatermarkSpec};

/// Everything needed to run one entity flow.
#[derive(Clone)]
pub struct FlowJob {
    /// The flow's name.
    pub flow: String,
    /// The entity's name.
    pub entity: String,
    /// Builds a fresh home for each attempt.
    pub home: Arc<dyn HomeSpec>,
    /// Builds a fresh store for each attempt.
    pub store: Arc<dyn StoreSpec>,
    /// What to read.
    pub request: ReadRequest,
    /// Full drop or incremental.
    pub run_type: RunType,
    /// Batches buffered between home and store (backpressure beyond that).
    pub queue_size: usize,
    /// Time allowed for all attempts together.
    pub timeout: Option<Duration>,
    /// Whether a full run that finds no rows may replace data already published.
    pub allow_empty: bool,
    /// What an incremental run does when the source's columns differ from the destination's.
    pub on_schema_change: OnSchemaChange,
    /// The watermark that makes runs read only new rows, committed with the data.
    pub watermark: Option<WatermarkSpec>,
}

impl FlowJob {
    /// `flow.entity`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.flow, self.entity)
    }
}

/// How transient (connection) failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the second attempt; doubled for each one after.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_secs(1),
        }
    }
}

/// A failure with the stage it happened in.
#[derive(Debug)]
struct StageError {
    stage: &'static str,
    error: ConnectorError,
}

fn at(stage: &'static str) -> impl FnOnce(ConnectorError) -> StageError {
    move |error| StageError { stage, error }
}

/// Runs one entity flow to its end and reports how it went. Never panics on connector
/// failures: every error becomes a `Failed` report, after the store was aborted.
pub async fn run_flow(
    job: &FlowJob,
    run_id: &str,
    scope: &RunScope,
    retry: RetryPolicy,
    events: &dyn EventSink,
    interrupt: &Interrupt,
) -> FlowReport {
    let started = Instant::now();
    let deadline = job.timeout.map(|t| TokioInstant::now() + t);
    let context = RunContext {
        run_id: run_id.to_string(),
        flow: job.flow.clone(),
        entity: job.entity.clone(),
        run_type: job.run_type,
        on_schema_change: job.on_schema_change,
        reload: false,
        watermark_column: job.watermark.as_ref().map(|w| w.column.clone()),
    };
    events.emit(FlowEvent::Started { name: job.name() });
    tracing::info!(home = %job.home.describe(), store = %job.store.describe(), run_type = %job.run_type, "flow started");
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let result = run_attempt(job, &context, scope, deadline, events, interrupt).await;
        match result {
            Err(e) if e.error.kind().is_retryable() && attempt < retry.attempts.max(1) => {
                let delay = retry.base_delay * 2u32.saturating_pow(attempt - 1);
                if deadline.is_some_and(|d| TokioInstant::now() + delay >= d) {
                    break Err(e);
                }
                tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %e.error, "transient failure; retrying");
                events.emit(FlowEvent::Retrying {
                    name: job.name(),
                    attempt,
                    delay,
                    error: e.error.to_string(),
                });
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = interrupt.fired() => break Err(interrupted()),
                }
            }
            other => break other,
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = match outcome {
        Ok(rows) => {
            tracing::info!(rows, seconds, "flow committed");
            FlowReport {
                flow: job.flow.clone(),
                entity: job.entity.clone(),
                status: FlowStatus::Succeeded,
                rows,
                seconds,
                attempts: attempt,
                error: None,
            }
        }
        Err(e) => {
            let message = format!(
                "flow `{}`, entity `{}`: {} failed: {}",
                job.flow, job.entity, e.stage, e.error
            );
            tracing::error!(kind = %e.error.kind(), stage = e.stage, "{message}");
            FlowReport {
                flow: job.flow.clone(),
                entity: job.entity.clone(),
                status: FlowStatus::Failed,
                rows: 0,
                seconds,
                attempts: attempt,
                error: Some(FlowErrorReport {
                    kind: e.error.kind(),
                    stage: e.stage.to_string(),
                    message,
                }),
            }
        }
    };
    events.emit(FlowEvent::Finished(report.clone()));
    report
}

/// Awaits `future` until the flow's deadline.
async fn before<T>(
    deadline: Option<TokioInstant>,
    timeout: Option<Duration>,
    future: impl Future<Output = Result<T, StageError>>,
) -> Result<T, StageError> {
    match deadline {
        None => future.await,
        Some(d) => tokio::time::timeout_at(d, future).await.unwrap_or_else(|_| {
            let secs = timeout.map(|t| t.as_secs()).unwrap_or_default();
            Err(StageError {
                stage: "timeout",
                error: ConnectorError::new(
                    ErrorKind::Config,
                    format!("the flow did not finish within its timeout of {secs} s; the store was aborted"),
                )
                .with_context("raise `timeout` in flow.yml or the entity, or remove it"),
            })
        }),
    }
}

/// The failure of a flow stopped by an [`Interrupt`].
fn interrupted() -> StageError {
    StageError {
        stage: "interrupted",
        error: ConnectorError::new(
            ErrorKind::Interrupted,
            "the run was interrupted; the store was aborted and its destination left as it was",
        ),
    }
}

/// Awaits `future` unless the run is interrupted first.
async fn unless_interrupted<T>(
    interrupt: &Interrupt,
    future: impl Future<Output = Result<T, StageError>>,
) -> Result<T, StageError> {
    tokio::select! {
        result = future => result,
        () = interrupt.fired() => Err(interrupted()),
    }
}

/// The watermark plan of an attempt: the state the store holds now, and what to read.
async fn plan_watermark(
    job: &FlowJob,
    context: &RunContext,
    scope: &RunScope,
) -> Result<Option<IncrementalPlan>, StageError> {
    let Some(spec) = &job.watermark else {
        return Ok(None);
    };
    let Some(state) = job.store.state(scope) else {
        return Err(StageError {
            stage: "read state",
            error: ConnectorError::config(format!(
                "the store {} cannot keep watermark state",
                job.store.describe()
            ))
            .with_context("remove `watermark` from the entity, or use a store that keeps state"),
        });
    };
    let previous = state
        .read(&job.flow, &job.entity)
        .await
        .map_err(at("read state"))?;
    IncrementalPlan::new(spec.clone(), previous, context.run_type)
        .map(Some)
        .map_err(at("read state"))
}

/// One attempt: open both sides, pump, then commit or abort.
async fn run_attempt(
    job: &FlowJob,
    context: &RunContext,
    scope: &RunScope,
    deadline: Option<TokioInstant>,
    events: &dyn EventSink,
    interrupt: &Interrupt,
) -> Result<u64, StageError> {
    if interrupt.is_set() {
        return Err(interrupted());
    }
    let plan = before(deadline, job.timeout, plan_watermark(job, context, scope)).await?;
    let mut context = context.clone();
    let mut request = job.request.clone();
    if let Some(plan) = &plan {
        context.run_type = plan.run_type();
        context.reload = plan.run_type() == RunType::FullDrop;
        request = request.with_watermark(plan.home_filter());
        tracing::info!(reads = %plan.describe(), "watermark");
    }
    let reader = before(deadline, job.timeout, async {
        job.home
            .build(scope)
            .open(&request)
            .await
            .map_err(at("open home"))
    })
    .await?;
    let schema = reader.schema();
    let mut bound = match &plan {
        Some(plan) => Some(plan.bind(&schema).map_err(at("open home"))?),
        None => None,
    };
    events.emit(FlowEvent::Opened {
        name: job.name(),
        total_rows: reader.total_rows(),
    });
    let mut writer = before(deadline, job.timeout, async {
        job.store
            .build(scope)
            .open(schema, &context)
            .await
            .map_err(at("open store"))
    })
    .await?;
    // Files the store can read itself go to it whole, unless a watermark must see the rows.
    let files = reader.parquet_files().filter(|_| bound.is_none());
    let pumped = unless_interrupted(
        interrupt,
        before(deadline, job.timeout, async {
            if let Some(files) = &files
                && let Some(rows) = load_files(job, files, writer.as_mut(), events).await?
            {
                return Ok(rows);
            }
            pump(job, reader, writer.as_mut(), bound.as_mut(), events).await
        }),
    )
    .await;
    let pumped = match pumped {
        Ok(0) if context.run_type == RunType::FullDrop && !job.allow_empty => {
            refuse_empty_replace(writer.as_mut()).await.map(|()| 0)
        }
        other => other,
    };
    // The state to commit with the rows: decided before anything is published.
    let pumped = pumped.and_then(|rows| match (&plan, &bound) {
        (Some(plan), Some(bound)) => bound
            .update(plan, &context)
            .map(|state| (rows, state))
            .map_err(at("commit")),
        _ => Ok((rows, None)),
    });
    match pumped {
        Ok((rows, state)) => {
            writer.commit(state).await.map_err(at("commit"))?;
            Ok(rows)
        }
        Err(e) => {
            if let Err(abort_error) = writer.abort().await {
                tracing::error!(error = %abort_error, "aborting the store failed as well");
            }
            Err(e)
        }
    }
}

/// A full run that found no rows must not replace published data (an empty or header-only
/// input is far more often a broken export than a real emptying of the table).
async fn refuse_empty_replace(writer: &mut dyn StoreWriter) -> Result<(), StageError> {
    if !writer
        .would_replace_data()
        .await
        .map_err(at("check destination"))?
    {
        return Ok(());
    }
    Err(StageError {
        stage: "read",
        error: ConnectorError::data(
            "the home yielded no rows, and this full_drop run would replace the data already \
             at the destination with nothing; the destination was left as it was",
        )
        .with_context(
            "check the source; to publish an empty result on purpose, set `allow_empty: true` on the entity or flow",
        ),
    })
}

/// Offers the home's Parquet files to the store: the rows it staged by reading them itself,
/// or `None` when it declined and the batches must be pumped.
async fn load_files(
    job: &FlowJob,
    files: &ParquetFiles,
    writer: &mut dyn StoreWriter,
    events: &dyn EventSink,
) -> Result<Option<u64>, StageError> {
    let Some(rows) = writer
        .load_parquet_files(files)
        .await
        .map_err(at("write"))?
    else {
        return Ok(None);
    };
    tracing::info!(
        files = files.paths.len(),
        rows,
        "the store read the home's Parquet files itself"
    );
    events.emit(FlowEvent::BatchWritten {
        name: job.name(),
        rows,
    });
    Ok(Some(rows))
}

/// Aborts the producer task when the pump stops early.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Moves batches from the reader to the writer through a channel of `queue_size` batches, so
/// reading and writing overlap and memory stays bounded.
async fn pump(
    job: &FlowJob,
    mut reader: Box<dyn BatchReader>,
    writer: &mut dyn StoreWriter,
    mut watermark: Option<&mut BoundPlan>,
    events: &dyn EventSink,
) -> Result<u64, StageError> {
    let schema = reader.schema();
    let (tx, mut rx) = mpsc::channel::<ConnectorResult<RecordBatch>>(job.queue_size.max(1));
    let producer = AbortOnDrop(tokio::spawn(async move {
        loop {
            let next = reader.next_batch().await;
            let done = !matches!(next, Ok(Some(_)));
            let item = match next {
                Ok(Some(batch)) => Ok(batch),
                Ok(None) => break,
                Err(e) => Err(e),
            };
            if tx.send(item).await.is_err() || done {
                break;
            }
        }
    }));
    let mut rechunker = Rechunker::new(schema.clone(), writer.batch_size());
    let mut rows: u64 = 0;
    while let Some(item) = rx.recv().await {
        let mut batch = item.map_err(at("read"))?;
        if batch.schema().fields() != schema.fields() {
            return Err(StageError {
                stage: "read",
                error: ConnectorError::data(format!(
                    "the home returned a batch whose schema differs from the one it announced (expected {:?}, got {:?})",
                    field_names(&schema),
                    field_names(&batch.schema())
                )),
            });
        }
        if let Some(plan) = watermark.as_deref_mut() {
            batch = plan.admit(batch).map_err(at("read"))?;
        }
        for chunk in rechunker.push(batch).map_err(at("write"))? {
            rows += chunk.num_rows() as u64;
            writer.write(chunk).await.map_err(at("write"))?;
            events.emit(FlowEvent::BatchWritten {
                name: job.name(),
                rows,
            });
        }
    }
    if let Some(last) = rechunker.finish().map_err(at("write"))? {
        rows += last.num_rows() as u64;
        writer.write(last).await.map_err(at("write"))?;
        events.emit(FlowEvent::BatchWritten {
            name: job.name(),
            rows,
        });
    }
    // The channel closed, so the producer ended: normally, or by a panic that dropped its
    // sender. A panic must not pass for the end of the data.
    let mut producer = producer;
    if let Err(join_error) = (&mut producer.0).await {
        return Err(StageError {
            stage: "read",
            error: ConnectorError::internal(format!("the home stopped unexpectedly: {join_error}")),
        });
    }
    Ok(rows)
}

fn field_names(schema: &arrow_schema::SchemaRef) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect()
}
