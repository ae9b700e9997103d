//! The flow engine against fake homes and stores: retries, aborts, timeouts, backpressure
//! and schema checks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;

use super::{FlowJob, Interrupt, RetryPolicy, run_flow};
use crate::contract::*;
use crate::events::{FlowStatus, NoEvents};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]))
}

fn batch(n: i64) -> RecordBatch {
    RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from_iter_values(0..n))]).unwrap()
}

/// What the fake home does.
#[derive(Clone, Copy)]
enum HomeBehaviour {
    Batches(usize, i64),
    /// Batches, also offered as Parquet files.
    Files(usize, i64),
    FailOpen(ErrorKind),
    FailAfter(usize),
    Hang,
    WrongSchema,
    Panic,
}

struct FakeHomeSpec {
    behaviour: HomeBehaviour,
    opens: Arc<AtomicU32>,
    /// Fails the first N opens with a connection error.
    transient_failures: u32,
}

struct FakeHome(HomeBehaviour, bool);
struct FakeReader(HomeBehaviour, usize);

impl HomeSpec for FakeHomeSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
        let n = self.opens.fetch_add(1, Ordering::SeqCst);
        Box::new(FakeHome(self.behaviour, n < self.transient_failures))
    }
    fn describe(&self) -> String {
        "fake".into()
    }
}

#[async_trait]
impl Home for FakeHome {
    async fn open(self: Box<Self>, _: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        if self.1 {
            return Err(ConnectorError::connection("network blip"));
        }
        match self.0 {
            HomeBehaviour::FailOpen(kind) => Err(ConnectorError::new(kind, "cannot open")),
            b => Ok(Box::new(FakeReader(b, 0))),
        }
    }
}

#[async_trait]
impl BatchReader for FakeReader {
    fn schema(&self) -> SchemaRef {
        schema()
    }
    fn parquet_files(&self) -> Option<ParquetFiles> {
        match self.0 {
            HomeBehaviour::Files(count, rows) => Some(ParquetFiles {
                paths: vec!["/data/part-0.parquet".into()],
                columns: vec!["v".into()],
                all_columns: schema().fields().iter().cloned().collect(),
                rows: count as u64 * rows as u64,
            }),
            _ => None,
        }
    }
    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        self.1 += 1;
        match self.0 {
            HomeBehaviour::Batches(count, rows) | HomeBehaviour::Files(count, rows) => {
                Ok((self.1 <= count).then(|| batch(rows)))
            }
            HomeBehaviour::FailAfter(count) if self.1 > count => {
                Err(ConnectorError::data("bad row"))
            }
            HomeBehaviour::FailAfter(_) => Ok(Some(batch(10))),
            HomeBehaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(None)
            }
            HomeBehaviour::WrongSchema => {
                let other = Arc::new(Schema::new(vec![Field::new("w", DataType::Int64, false)]));
                Ok(Some(
                    RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap(),
                ))
            }
            HomeBehaviour::Panic => panic!("home bug"),
            HomeBehaviour::FailOpen(_) => unreachable!("open failed"),
        }
    }
}

/// Records what happened to every store built.
#[derive(Default)]
struct Journal {
    written_batches: Vec<usize>,
    /// Whether the store reads offered Parquet files itself.
    takes_files: bool,
    /// The rows of the files it read.
    loaded_files: Vec<u64>,
    committed: u32,
    aborted: u32,
}

struct FakeStoreSpec {
    journal: Arc<Mutex<Journal>>,
    batch_size: Option<usize>,
    fail_write: bool,
}

struct FakeStore(Arc<Mutex<Journal>>, Option<usize>, bool);

impl StoreSpec for FakeStoreSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Store> {
        Box::new(FakeStore(
            self.journal.clone(),
            self.batch_size,
            self.fail_write,
        ))
    }
    fn describe(&self) -> String {
        "fake".into()
    }
}

#[async_trait]
impl Store for FakeStore {
    async fn open(
        self: Box<Self>,
        _: SchemaRef,
        _: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        Ok(self)
    }
}

#[async_trait]
impl StoreWriter for FakeStore {
    fn batch_size(&self) -> Option<usize> {
        self.1
    }
    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        if self.2 {
            return Err(ConnectorError::data("disk says no"));
        }
        self.0
            .lock()
            .unwrap()
            .written_batches
            .push(batch.num_rows());
        Ok(())
    }
    async fn load_parquet_files(&mut self, files: &ParquetFiles) -> ConnectorResult<Option<u64>> {
        let mut journal = self.0.lock().unwrap();
        if !journal.takes_files {
            return Ok(None);
        }
        journal.loaded_files.push(files.rows);
        Ok(Some(files.rows))
    }
    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        Ok(self.0.lock().unwrap().committed > 0)
    }
    async fn commit(
        self: Box<Self>,
        _state: Option<crate::state::StateUpdate>,
    ) -> ConnectorResult<()> {
        self.0.lock().unwrap().committed += 1;
        Ok(())
    }
    async fn abort(self: Box<Self>) -> ConnectorResult<()> {
        self.0.lock().unwrap().aborted += 1;
        Ok(())
    }
}

struct Setup {
    job: FlowJob,
    journal: Arc<Mutex<Journal>>,
    opens: Arc<AtomicU32>,
}

fn setup(
    behaviour: HomeBehaviour,
    transient_failures: u32,
    batch_size: Option<usize>,
    fail_write: bool,
) -> Setup {
    let journal = Arc::new(Mutex::new(Journal::default()));
    let opens = Arc::new(AtomicU32::new(0));
    let job = FlowJob {
        flow: "f".into(),
        entity: "e".into(),
        home: Arc::new(FakeHomeSpec {
            behaviour,
            opens: opens.clone(),
            transient_failures,
        }),
        store: Arc::new(FakeStoreSpec {
            journal: journal.clone(),
            batch_size,
            fail_write,
        }),
        request: ReadRequest::default(),
        run_type: RunType::FullDrop,
        queue_size: 2,
        timeout: None,
        allow_empty: false,
        on_schema_change: Default::default(),
        watermark: None,
    };
    Setup {
        job,
        journal,
        opens,
    }
}

const FAST_RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    base_delay: Duration::from_millis(10),
};

/// Runs `job` once as its own run, with quick retries and nobody to interrupt it.
async fn run_once(job: &FlowJob) -> crate::events::FlowReport {
    run_flow(
        job,
        "run",
        &RunScope::default(),
        FAST_RETRY,
        &NoEvents,
        &Interrupt::never(),
    )
    .await
}

#[tokio::test]
async fn rows_are_counted_rechunked_and_committed() {
    let s = setup(HomeBehaviour::Batches(5, 7), 0, Some(10), false);
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Succeeded);
    assert_eq!(report.rows, 35);
    let j = s.journal.lock().unwrap();
    assert_eq!(j.written_batches, vec![10, 10, 10, 5]);
    assert_eq!((j.committed, j.aborted), (1, 0));
}

#[tokio::test]
async fn connection_errors_are_retried_with_a_fresh_store() {
    let s = setup(HomeBehaviour::Batches(1, 3), 2, None, false);
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Succeeded, "{:?}", report.error);
    assert_eq!(report.attempts, 3);
    assert_eq!(s.opens.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_after_three_attempts() {
    let s = setup(HomeBehaviour::Batches(1, 3), 10, None, false);
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Failed);
    assert_eq!(report.attempts, 3);
    let error = report.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Connection);
    assert!(
        error.message.contains("flow `f`, entity `e`") && error.message.contains("network blip"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    for kind in [
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::Data,
        ErrorKind::Internal,
    ] {
        let s = setup(HomeBehaviour::FailOpen(kind), 0, None, false);
        let report = run_once(&s.job).await;
        assert_eq!(report.attempts, 1, "{kind}");
        assert_eq!(report.error.unwrap().stage, "open home");
    }
}

#[tokio::test]
async fn a_read_failure_aborts_the_store() {
    let s = setup(HomeBehaviour::FailAfter(3), 0, None, false);
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Failed);
    assert_eq!(report.error.as_ref().unwrap().stage, "read");
    let j = s.journal.lock().unwrap();
    assert_eq!((j.committed, j.aborted), (0, 1));
}

#[tokio::test]
async fn a_write_failure_aborts_the_store() {
    let s = setup(HomeBehaviour::Batches(3, 3), 0, None, true);
    let report = run_once(&s.job).await;
    assert_eq!(report.error.unwrap().stage, "write");
    assert_eq!(s.journal.lock().unwrap().aborted, 1);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_aborts_the_store() {
    let mut s = setup(HomeBehaviour::Hang, 0, None, false);
    s.job.timeout = Some(Duration::from_secs(5));
    let report = run_once(&s.job).await;
    let error = report.error.unwrap();
    assert_eq!(error.stage, "timeout");
    assert!(
        error.message.contains("timeout of 5 s"),
        "{}",
        error.message
    );
    let j = s.journal.lock().unwrap();
    assert_eq!((j.committed, j.aborted), (0, 1));
}

#[tokio::test]
async fn a_batch_with_another_schema_fails_the_flow() {
    let s = setup(HomeBehaviour::WrongSchema, 0, None, false);
    let report = run_once(&s.job).await;
    let error = report.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Data);
    assert!(
        error.message.contains("differs from the one it announced"),
        "{}",
        error.message
    );
    assert_eq!(s.journal.lock().unwrap().aborted, 1);
}

#[tokio::test]
async fn a_panicking_home_is_a_failure_not_the_end_of_the_data() {
    let s = setup(HomeBehaviour::Panic, 0, None, false);
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Failed);
    assert_eq!(report.error.unwrap().kind, ErrorKind::Internal);
    let j = s.journal.lock().unwrap();
    assert_eq!((j.committed, j.aborted), (0, 1));
}

#[tokio::test]
async fn a_store_that_reads_the_homes_files_itself_gets_them_instead_of_batches() {
    let s = setup(HomeBehaviour::Files(3, 10), 0, None, false);
    s.journal.lock().unwrap().takes_files = true;
    let report = run_once(&s.job).await;
    assert_eq!(report.status, FlowStatus::Succeeded, "{:?}", report.error);
    assert_eq!(report.rows, 30);
    let j = s.journal.lock().unwrap();
    assert_eq!(j.loaded_files, vec![30]);
    assert!(j.written_batches.is_empty());
    assert_eq!((j.committed, j.aborted), (1, 0));
}

#[tokio::test]
async fn a_store_that_declines_the_files_gets_the_batches() {
    let s = setup(HomeBehaviour::Files(3, 10), 0, None, false);
    let report = run_once(&s.job).await;
    assert_eq!(report.rows, 30);
    let j = s.journal.lock().unwrap();
    assert!(j.loaded_files.is_empty());
    assert_eq!(j.written_batches, vec![10, 10, 10]);
    assert_eq!(j.committed, 1);
}
