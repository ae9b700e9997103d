//! Runs every selected entity flow concurrently, under a concurrency limit, and decides the
//! run's outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::contract::ErrorKind;
use crate::events::{EventSink, FlowErrorReport, FlowEvent, FlowReport, FlowStatus};
use crate::flow::{FlowJob, RetryPolicy, run_flow};

/// How a run is carried out.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Flows running at once (at least 1).
    pub concurrency: usize,
    /// Keep starting flows after one failed.
    pub continue_on_error: bool,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

/// The default concurrency: the number of CPUs, at least 2.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// One report per selected entity flow, in selection order.
    pub flows: Vec<FlowReport>,
    /// Wall time of the run.
    pub seconds: f64,
}

impl RunSummary {
    /// Whether every flow succeeded (the exit code is 0 only then).
    pub fn succeeded(&self) -> bool {
        self.flows.iter().all(|f| f.status == FlowStatus::Succeeded)
    }

    /// Rows committed across all flows.
    pub fn total_rows(&self) -> u64 {
        self.flows.iter().map(|f| f.rows).sum()
    }
}

/// Runs `jobs` and returns their reports. With `continue_on_error` off, a failure stops new
/// flows from starting (they are reported as skipped) while running ones finish.
pub async fn run_all(
    jobs: Vec<FlowJob>,
    run_id: &str,
    options: RunOptions,
    events: Arc<dyn EventSink>,
) -> RunSummary {
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut reports: Vec<Option<FlowReport>> = vec![None; jobs.len()];
    let mut running = JoinSet::new();
    let mut names = Vec::with_capacity(jobs.len());

    for (index, job) in jobs.into_iter().enumerate() {
        names.push((job.flow.clone(), job.entity.clone()));
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if stop.load(Ordering::SeqCst) {
            let report = skipped(&job);
            events.emit(FlowEvent::Finished(report.clone()));
            reports[index] = Some(report);
            continue;
        }
        let (events, stop, run_id) = (events.clone(), stop.clone(), run_id.to_string());
        let span = tracing::info_span!("flow", flow = %job.flow, entity = %job.entity);
        running.spawn(
            async move {
                let report = run_flow(&job, &run_id, options.retry, events.as_ref()).await;
                if report.status == FlowStatus::Failed && !options.continue_on_error {
                    stop.store(true, Ordering::SeqCst);
                }
                drop(slot);
                (index, report)
            }
            .instrument(span),
        );
    }
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((index, report)) => reports[index] = Some(report),
            Err(e) => tracing::error!(error = %e, "a flow task ended abnormally"),
        }
    }
    let flows = reports
        .into_iter()
        .zip(names)
        .map(|(report, (flow, entity))| {
            report.unwrap_or_else(|| FlowReport {
                flow,
                entity,
                status: FlowStatus::Failed,
                rows: 0,
                seconds: 0.0,
                attempts: 0,
                error: Some(FlowErrorReport {
                    kind: ErrorKind::Internal,
                    stage: "run".into(),
                    message: "the flow's task panicked; see the log".into(),
                }),
            })
        })
        .collect();
    RunSummary {
        run_id: run_id.to_string(),
        flows,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn skipped(job: &FlowJob) -> FlowReport {
    FlowReport {
        flow: job.flow.clone(),
        entity: job.entity.clone(),
        status: FlowStatus::Skipped,
        rows: 0,
        seconds: 0.0,
        attempts: 0,
        error: None,
    }
}
