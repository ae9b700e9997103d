//! The checks of the store contract. Each starts from a fresh destination and answers
//! `Err` with what went wrong, so the suite can also show that it catches a broken store.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::memory::{MemoryHome, rows, schema};
use super::{HarnessFactory, StoreHarness};
use crate::contract::{ErrorKind, ReadRequest, RunContext, RunScope, RunType, StoreWriter};
use crate::events::{FlowReport, FlowStatus, NoEvents};
use crate::flow::{FlowJob, Interrupt, RetryPolicy, run_flow};
use crate::run_id::new_run_id;
use crate::state::{EntityState, StateUpdate, WatermarkSpec};

/// The flow and entity every check runs as.
pub(super) const FLOW: &str = "conformance";
/// See [`FLOW`].
pub(super) const ENTITY: &str = "rows";

/// One check of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing is visible before `commit`; everything is after it.
    CommitPublishesAllRowsAtOnce,
    /// `abort` leaves the destination exactly as it was, and no staging behind.
    AbortLeavesTheDestinationIdentical,
    /// A failure in the middle of a run changes neither the data nor the watermark.
    AFailureMidWriteChangesNothing,
    /// Staging a crashed run left is removed by the next run; a live run's never is.
    StaleStagingIsCleanedButNeverALiveRuns,
    /// Incremental runs add to what earlier runs published.
    IncrementalRunsNeverOverwrite,
    /// The watermark advances with a commit, only with one, and a commit refuses when
    /// the state changed under it.
    TheWatermarkAdvancesOnlyWithACommit,
    /// A batch of another schema than the opened one is a data error.
    ABatchOfAnotherSchemaIsADataError,
}

/// Every check, in the order the suite runs them.
pub const CHECKS: [Check; 7] = [
    Check::CommitPublishesAllRowsAtOnce,
    Check::AbortLeavesTheDestinationIdentical,
    Check::AFailureMidWriteChangesNothing,
    Check::StaleStagingIsCleanedButNeverALiveRuns,
    Check::IncrementalRunsNeverOverwrite,
    Check::TheWatermarkAdvancesOnlyWithACommit,
    Check::ABatchOfAnotherSchemaIsADataError,
];

impl Check {
    /// A name usable in a destination (a folder or table name).
    pub fn name(self) -> &'static str {
        match self {
            Check::CommitPublishesAllRowsAtOnce => "commit_at_once",
            Check::AbortLeavesTheDestinationIdentical => "abort_identical",
            Check::AFailureMidWriteChangesNothing => "failure_mid_write",
            Check::StaleStagingIsCleanedButNeverALiveRuns => "stale_staging",
            Check::IncrementalRunsNeverOverwrite => "incremental_adds",
            Check::TheWatermarkAdvancesOnlyWithACommit => "watermark_with_commit",
            Check::ABatchOfAnotherSchemaIsADataError => "other_schema",
        }
    }
}

/// Runs every check on fresh destinations; `Err` lists each failed check and why.
pub async fn run_suite(factory: &HarnessFactory) -> Result<(), String> {
    let mut failures = Vec::new();
    for check in CHECKS {
        if let Err(why) = run_check(check, factory).await {
            failures.push(format!("{}: {why}", check.name()));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Runs one check on a fresh destination.
///
/// # Errors
/// What the store did against the contract.
pub async fn run_check(check: Check, factory: &HarnessFactory) -> Result<(), String> {
    let harness = factory(check.name());
    let h = harness.as_ref();
    match check {
        Check::CommitPublishesAllRowsAtOnce => commit_at_once(h).await,
        Check::AbortLeavesTheDestinationIdentical => abort_identical(h).await,
        Check::AFailureMidWriteChangesNothing => failure_mid_write(h).await,
        Check::StaleStagingIsCleanedButNeverALiveRuns => stale_staging(h).await,
        Check::IncrementalRunsNeverOverwrite => incremental_adds(h).await,
        Check::TheWatermarkAdvancesOnlyWithACommit => watermark_with_commit(h).await,
        Check::ABatchOfAnotherSchemaIsADataError => other_schema(h).await,
    }
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn context(run_type: RunType) -> RunContext {
    RunContext {
        run_id: new_run_id(),
        flow: FLOW.into(),
        entity: ENTITY.into(),
        run_type,
        on_schema_change: Default::default(),
        reload: false,
        watermark_column: None,
    }
}

/// The watermark the checks load with.
pub(super) fn watermark() -> WatermarkSpec {
    WatermarkSpec {
        column: "updated_at".into(),
        primary_key: vec!["id".into()],
        initial: None,
        lookback: None,
    }
}

/// A flow job writing the harness's store from `home`.
pub(super) fn job(
    h: &dyn StoreHarness,
    home: MemoryHome,
    run_type: RunType,
    with_watermark: bool,
) -> FlowJob {
    FlowJob {
        flow: FLOW.into(),
        entity: ENTITY.into(),
        home: Arc::new(home),
        store: h.spec(),
        request: ReadRequest::default(),
        run_type,
        queue_size: 2,
        timeout: None,
        allow_empty: true,
        on_schema_change: Default::default(),
        watermark: with_watermark.then(watermark),
    }
}

/// Runs `job` once (no retries) as a run of its own.
pub(super) async fn run(job: &FlowJob) -> FlowReport {
    let retry = RetryPolicy {
        attempts: 1,
        base_delay: std::time::Duration::ZERO,
    };
    run_flow(
        job,
        &new_run_id(),
        &RunScope::new(2),
        retry,
        &NoEvents,
        &Interrupt::never(),
    )
    .await
}

/// Runs `job` and requires it to succeed.
pub(super) async fn run_ok(job: &FlowJob) -> Result<(), String> {
    let report = run(job).await;
    match report.status {
        FlowStatus::Succeeded => Ok(()),
        _ => Err(format!(
            "the run failed: {}",
            report.error.map(|e| e.message).unwrap_or_default()
        )),
    }
}

/// The committed state of the suite's entity.
pub(super) async fn state(h: &dyn StoreHarness) -> Result<Option<EntityState>, String> {
    let store = h
        .spec()
        .state(&RunScope::new(1))
        .ok_or("the store keeps no watermark state")?;
    store.read(FLOW, ENTITY).await.map_err(|e| e.to_string())
}

async fn open(h: &dyn StoreHarness, run_type: RunType) -> Result<Box<dyn StoreWriter>, String> {
    open_as(h, &context(run_type)).await
}

async fn open_as(
    h: &dyn StoreHarness,
    context: &RunContext,
) -> Result<Box<dyn StoreWriter>, String> {
    h.spec()
        .build(&RunScope::new(2))
        .open(schema(), context)
        .await
        .map_err(|e| format!("open: {e}"))
}

fn ids(range: std::ops::Range<i64>) -> Vec<i64> {
    range.collect()
}

async fn commit_at_once(h: &dyn StoreHarness) -> Result<(), String> {
    let mut writer = open(h, RunType::FullDrop).await?;
    for chunk in [0..10, 10..20, 20..30] {
        writer.write(rows(chunk)).await.map_err(|e| e.to_string())?;
        expect(
            "rows visible before commit",
            h.published_ids().await?,
            vec![],
        )?;
    }
    writer.commit(None).await.map_err(|e| e.to_string())?;
    expect("rows after commit", h.published_ids().await?, ids(0..30))
}

async fn abort_identical(h: &dyn StoreHarness) -> Result<(), String> {
    run_ok(&job(
        h,
        MemoryHome::new(vec![rows(0..10)]),
        RunType::FullDrop,
        false,
    ))
    .await?;
    let before = h.fingerprint().await?;
    let mut writer = open(h, RunType::FullDrop).await?;
    writer
        .write(rows(100..110))
        .await
        .map_err(|e| e.to_string())?;
    writer.abort().await.map_err(|e| e.to_string())?;
    expect(
        "the destination after abort",
        h.fingerprint().await?,
        before,
    )?;
    expect("staging after abort", h.staging().await?, vec![])
}

async fn failure_mid_write(h: &dyn StoreHarness) -> Result<(), String> {
    run_ok(&job(
        h,
        MemoryHome::new(vec![rows(0..10)]),
        RunType::Incremental,
        true,
    ))
    .await?;
    let before = (h.fingerprint().await?, state(h).await?);
    let failing = MemoryHome::failing_after(vec![rows(10..20), rows(20..30)]);
    let report = run(&job(h, failing, RunType::Incremental, true)).await;
    expect(
        "the failing run's status",
        report.status,
        FlowStatus::Failed,
    )?;
    expect(
        "data and watermark after a failure",
        (h.fingerprint().await?, state(h).await?),
        before,
    )?;
    expect("staging after a failure", h.staging().await?, vec![])
}

async fn stale_staging(h: &dyn StoreHarness) -> Result<(), String> {
    let crashed = "19990101T000000Z-dead00";
    h.plant_stale_staging(crashed).await?;
    let planted = h.staging().await?;
    if !planted.iter().any(|s| s.contains(crashed)) {
        return Err(format!("the planted staging is not seen: {planted:?}"));
    }
    let mut live = open(h, RunType::FullDrop).await?;
    live.write(rows(0..5)).await.map_err(|e| e.to_string())?;
    let now = h.staging().await?;
    if now.iter().any(|s| s.contains(crashed)) {
        return Err(format!("a crashed run's staging was kept: {now:?}"));
    }
    // A second run while the first is live: refused or made to wait, never allowed to
    // remove the live run's staging.
    let spec = h.spec();
    let second = tokio::spawn(async move {
        spec.build(&RunScope::new(2))
            .open(schema(), &context(RunType::FullDrop))
            .await
    });
    tokio::task::yield_now().await;
    live.commit(None)
        .await
        .map_err(|e| format!("the live run could not commit: {e}"))?;
    expect("rows of the live run", h.published_ids().await?, ids(0..5))?;
    match second.await.map_err(|e| e.to_string())? {
        Ok(writer) => writer.abort().await.map_err(|e| e.to_string())?,
        Err(e) if e.kind() == ErrorKind::Connection => {}
        Err(e) => return Err(format!("the second run failed otherwise: {e}")),
    }
    expect("staging at the end", h.staging().await?, vec![])
}

async fn incremental_adds(h: &dyn StoreHarness) -> Result<(), String> {
    for chunk in [0..10, 10..20, 20..25] {
        run_ok(&job(
            h,
            MemoryHome::new(vec![rows(chunk)]),
            RunType::Incremental,
            false,
        ))
        .await?;
    }
    expect(
        "rows after three runs",
        h.published_ids().await?,
        ids(0..25),
    )
}

async fn watermark_with_commit(h: &dyn StoreHarness) -> Result<(), String> {
    expect("state before any run", state(h).await?, None)?;
    run_ok(&job(
        h,
        MemoryHome::new(vec![rows(0..10)]),
        RunType::Incremental,
        true,
    ))
    .await?;
    let first = state(h).await?.ok_or("no state after a committed run")?;
    expect(
        "the watermark",
        first.watermark.as_deref(),
        Some("1970-01-10T00:00:00"),
    )?;
    // A run that reads from the old state while another committed: refused, nothing
    // published, state kept.
    let stale = StateUpdate {
        previous: None,
        next: EntityState {
            watermark: Some("1970-12-31T00:00:00".into()),
            ..first.clone()
        },
    };
    let attempt = context(RunType::Incremental);
    let mut writer = open_as(h, &attempt).await?;
    writer
        .write(rows(50..60))
        .await
        .map_err(|e| e.to_string())?;
    match writer.commit(Some(stale)).await {
        Err(e) if e.kind() == ErrorKind::Connection => {}
        Err(e) => return Err(format!("a stale commit failed otherwise: {e}")),
        Ok(()) => return Err("a commit over changed state was accepted".into()),
    }
    expect(
        "rows after a refused commit",
        h.published_ids().await?,
        ids(0..10),
    )?;
    expect(
        "state after a refused commit",
        state(h).await?,
        Some(first.clone()),
    )?;
    // The flow retries a refused commit as the same run: its staging must not be in the way.
    let mut retry = open_as(h, &attempt).await?;
    retry
        .write(rows(100..102))
        .await
        .map_err(|e| e.to_string())?;
    retry
        .commit(None)
        .await
        .map_err(|e| format!("the retry of a refused commit failed: {e}"))?;
    let mut expected = ids(0..10);
    expected.extend([100, 101]);
    expect(
        "rows after the retry",
        h.published_ids().await?,
        expected.clone(),
    )?;
    // The next run reads past the watermark: rows at or below it are not loaded again.
    run_ok(&job(
        h,
        MemoryHome::new(vec![rows(5..15)]),
        RunType::Incremental,
        true,
    ))
    .await?;
    expected.extend(10..15);
    expected.sort_unstable();
    expect(
        "rows after the second run",
        h.published_ids().await?,
        expected,
    )?;
    let second = state(h).await?.ok_or("the state vanished")?;
    expect(
        "the second watermark",
        second.watermark.as_deref(),
        Some("1970-01-15T00:00:00"),
    )
}

async fn other_schema(h: &dyn StoreHarness) -> Result<(), String> {
    let mut writer = open(h, RunType::FullDrop).await?;
    writer.write(rows(0..3)).await.map_err(|e| e.to_string())?;
    let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1, 2]))])
        .map_err(|e| e.to_string())?;
    let written = writer.write(batch).await;
    let _ = writer.abort().await;
    match written {
        Err(e) if e.kind() == ErrorKind::Data => Ok(()),
        Err(e) => Err(format!(
            "a batch of another schema failed as {}: {e}",
            e.kind()
        )),
        Ok(()) => Err("a batch of another schema was accepted".into()),
    }
}
