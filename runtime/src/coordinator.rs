//! Runs every selected entity flow concurrently, under a concurrency limit, and decides the
//! run's outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::contract::{ErrorKind, RunScope};
use crate::events::{EventSink, FlowErrorReport, FlowEvent, FlowReport, FlowStatus};
use crate::flow::{FlowJob, Interrupt, RetryPolicy, run_flow};

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
    interrupt: Interrupt,
) -> RunSummary {
    let started = Instant::now();
    let scope = RunScope::new(options.concurrency);
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
        if stop.load(Ordering::SeqCst) || interrupt.is_set() {
            let report = skipped(&job);
            events.emit(FlowEvent::Finished(report.clone()));
            reports[index] = Some(report);
            continue;
        }
        let (events, stop, run_id) = (events.clone(), stop.clone(), run_id.to_string());
        let (interrupt, scope) = (interrupt.clone(), scope.clone());
        let span = tracing::info_span!("flow", flow = %job.flow, entity = %job.entity);
        running.spawn(
            async move {
                let report = run_flow(
                    &job,
                    &run_id,
                    &scope,
                    options.retry,
                    events.as_ref(),
                    &interrupt,
                )
                .await;
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use arrow_array::RecordBatch;
    use arrow_schema::{Schema, SchemaRef};
    use async_trait::async_trait;

    use super::*;
    use crate::contract::*;
    use crate::events::NoEvents;

    /// Counts flows inside their home at once; fails when asked. Each home waits at `gate`
    /// (a semaphore the test opens), so flows overlap by the test's events, not by time.
    struct Gauge {
        now: AtomicUsize,
        peak: AtomicUsize,
        gate: tokio::sync::Semaphore,
    }

    struct SlowHome(Arc<Gauge>, bool);

    impl HomeSpec for SlowHome {
        fn build(&self, _run: &RunScope) -> Box<dyn Home> {
            Box::new(SlowHome(self.0.clone(), self.1))
        }
        fn describe(&self) -> String {
            "slow".into()
        }
    }

    #[async_trait]
    impl Home for SlowHome {
        async fn open(self: Box<Self>, _: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
            let now = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.0.peak.fetch_max(now, Ordering::SeqCst);
            let passed = self.0.gate.acquire().await;
            drop(passed);
            self.0.now.fetch_sub(1, Ordering::SeqCst);
            if self.1 {
                return Err(ConnectorError::data("broken on purpose"));
            }
            Ok(Box::new(Empty))
        }
    }

    struct Empty;

    #[async_trait]
    impl BatchReader for Empty {
        fn schema(&self) -> SchemaRef {
            Arc::new(Schema::empty())
        }
        async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
            Ok(None)
        }
    }

    struct NullStore(Arc<Mutex<u32>>);

    impl StoreSpec for NullStore {
        fn build(&self, _run: &RunScope) -> Box<dyn Store> {
            Box::new(NullStore(self.0.clone()))
        }
        fn describe(&self) -> String {
            "null".into()
        }
    }

    #[async_trait]
    impl Store for NullStore {
        async fn open(
            self: Box<Self>,
            _: SchemaRef,
            _: &RunContext,
        ) -> ConnectorResult<Box<dyn StoreWriter>> {
            Ok(self)
        }
    }

    #[async_trait]
    impl StoreWriter for NullStore {
        fn batch_size(&self) -> Option<usize> {
            None
        }
        async fn write(&mut self, _: RecordBatch) -> ConnectorResult<()> {
            Ok(())
        }
        async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
            Ok(false)
        }
        async fn commit(
            self: Box<Self>,
            _state: Option<crate::state::StateUpdate>,
        ) -> ConnectorResult<()> {
            *self.0.lock().unwrap() += 1;
            Ok(())
        }
        async fn abort(self: Box<Self>) -> ConnectorResult<()> {
            Ok(())
        }
    }

    fn jobs(
        count: usize,
        failing: &[usize],
        gauge: &Arc<Gauge>,
        commits: &Arc<Mutex<u32>>,
    ) -> Vec<FlowJob> {
        (0..count)
            .map(|i| FlowJob {
                flow: "f".into(),
                entity: format!("e{i}"),
                home: Arc::new(SlowHome(gauge.clone(), failing.contains(&i))),
                store: Arc::new(NullStore(commits.clone())),
                request: ReadRequest::default(),
                run_type: RunType::FullDrop,
                queue_size: 1,
                timeout: None,
                allow_empty: false,
                on_schema_change: Default::default(),
                watermark: None,
            })
            .collect()
    }

    fn options(concurrency: usize, continue_on_error: bool) -> RunOptions {
        RunOptions {
            concurrency,
            continue_on_error,
            retry: RetryPolicy::default(),
        }
    }

    /// A gauge whose gate is open, and a commit counter.
    fn setup() -> (Arc<Gauge>, Arc<Mutex<u32>>) {
        let gauge = Arc::new(Gauge {
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(tokio::sync::Semaphore::MAX_PERMITS),
        });
        (gauge, Arc::new(Mutex::new(0)))
    }

    #[tokio::test]
    async fn flows_run_concurrently_up_to_the_limit() {
        let gauge = Arc::new(Gauge {
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(0),
        });
        let commits = Arc::new(Mutex::new(0));
        let run = tokio::spawn(run_all(
            jobs(8, &[], &gauge, &commits),
            "r",
            options(3, false),
            Arc::new(NoEvents),
            Interrupt::never(),
        ));
        // The event: three flows are inside their homes, held at the closed gate.
        while gauge.now.load(Ordering::SeqCst) < 3 {
            tokio::task::yield_now().await;
        }
        // However often the scheduler turns now, no fourth flow starts.
        for _ in 0..1_000 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gauge.now.load(Ordering::SeqCst), 3);
        gauge
            .gate
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS - 1);
        let summary = run.await.unwrap();
        assert!(summary.succeeded());
        assert_eq!(gauge.peak.load(Ordering::SeqCst), 3);
        assert_eq!(*commits.lock().unwrap(), 8);
        let names: Vec<String> = summary.flows.iter().map(|f| f.entity.clone()).collect();
        assert_eq!(names, (0..8).map(|i| format!("e{i}")).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn after_a_failure_no_new_flow_starts() {
        let (gauge, commits) = setup();
        let summary = run_all(
            jobs(4, &[0], &gauge, &commits),
            "r",
            options(1, false),
            Arc::new(NoEvents),
            Interrupt::never(),
        )
        .await;
        let statuses: Vec<FlowStatus> = summary.flows.iter().map(|f| f.status).collect();
        assert_eq!(
            statuses,
            [
                FlowStatus::Failed,
                FlowStatus::Skipped,
                FlowStatus::Skipped,
                FlowStatus::Skipped
            ]
        );
        assert!(!summary.succeeded());
        assert_eq!(*commits.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn running_flows_finish_after_a_failure() {
        let (gauge, commits) = setup();
        let summary = run_all(
            jobs(3, &[0], &gauge, &commits),
            "r",
            options(3, false),
            Arc::new(NoEvents),
            Interrupt::never(),
        )
        .await;
        let statuses: Vec<FlowStatus> = summary.flows.iter().map(|f| f.status).collect();
        assert_eq!(
            statuses,
            [
                FlowStatus::Failed,
                FlowStatus::Succeeded,
                FlowStatus::Succeeded
            ]
        );
    }

    #[tokio::test]
    async fn continue_on_error_runs_everything_but_still_fails_the_run() {
        let (gauge, commits) = setup();
        let summary = run_all(
            jobs(4, &[1], &gauge, &commits),
            "r",
            options(1, true),
            Arc::new(NoEvents),
            Interrupt::never(),
        )
        .await;
        assert_eq!(*commits.lock().unwrap(), 3);
        assert!(!summary.succeeded());
        assert_eq!(summary.total_rows(), 0);
    }
}
