//! kill -9 between staging and publishing, in a child process.
//!
//! The parent commits a first run, then starts a child (the same test binary, running the
//! store's child test) that stages a second run and stops just before publishing: it prints
//! [`STAGED_LINE`] and waits. The parent reads that line (an event, not a delay), kills the
//! child with SIGKILL, checks that the data and watermark are the first run's, and runs the
//! second run again: every row once, the watermark advanced, no staging left.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;

use super::StoreHarness;
use super::checks::{job, run, run_ok, state};
use super::memory::{MemoryHome, rows};
use crate::contract::{
    ConnectorResult, Place, RunContext, RunScope, RunType, Store, StoreSpec, StoreWriter,
};
use crate::state::StateUpdate;

/// Set (to whatever the store's tests need to find the destination) in the child.
pub const CHILD_ENV: &str = "HYGGE_CONFORMANCE_CHILD";
/// What the child prints when its rows are staged and it is about to publish.
pub const STAGED_LINE: &str = "hygge-conformance: staged, about to publish";

/// The child's part: stages rows 10..20 with the watermark, prints [`STAGED_LINE`] where
/// it would publish, and waits to be killed.
pub async fn child_main(h: &dyn StoreHarness) {
    let mut second = job(
        h,
        MemoryHome::new(vec![rows(10..15), rows(15..20)]),
        RunType::Incremental,
        true,
    );
    second.store = Arc::new(PauseBeforeCommit(h.spec()));
    let report = run(&second).await;
    // Only reached when the run failed before it could pause.
    eprintln!("the child's run ended before publishing: {report:?}");
    std::process::exit(3);
}

/// The parent's part; `child` runs the store's child test with [`CHILD_ENV`] set.
///
/// # Errors
/// What went wrong: the child never staged, or data or state after the kill or the rerun
/// are not what they must be.
pub async fn kill_9_between_staging_and_publishing(
    h: &dyn StoreHarness,
    mut child: Command,
) -> Result<(), String> {
    let first = || {
        job(
            h,
            MemoryHome::new(vec![rows(0..10)]),
            RunType::Incremental,
            true,
        )
    };
    run_ok(&first()).await?;
    let before = (h.fingerprint().await?, state(h).await?);
    let mut process = child
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the child: {e}"))?;
    let stdout = process.stdout.take().ok_or("no stdout")?;
    let staged = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains(STAGED_LINE))
    })
    .await
    .map_err(|e| e.to_string())?;
    if !staged {
        let output = process.wait_with_output().map_err(|e| e.to_string())?;
        return Err(format!(
            "the child ended without staging: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    process
        .kill()
        .map_err(|e| format!("cannot kill the child: {e}"))?;
    let _ = process.wait();
    let after = (h.fingerprint().await?, state(h).await?);
    if after != before {
        return Err(format!(
            "a kill -9 before publishing changed the destination or its watermark: before {before:?}, after {after:?}"
        ));
    }
    let second = job(
        h,
        MemoryHome::new(vec![rows(10..15), rows(15..20)]),
        RunType::Incremental,
        true,
    );
    run_ok(&second).await?;
    let ids = h.published_ids().await?;
    if ids != (0..20).collect::<Vec<_>>() {
        return Err(format!("rows after the rerun: {ids:?}"));
    }
    let watermark = state(h).await?.and_then(|s| s.watermark);
    if watermark.as_deref() != Some("1970-01-20T00:00:00") {
        return Err(format!("the watermark after the rerun: {watermark:?}"));
    }
    let staging = h.staging().await?;
    if !staging.is_empty() {
        return Err(format!("staging left after the rerun: {staging:?}"));
    }
    Ok(())
}

/// A store whose commit stops where publishing would begin.
struct PauseBeforeCommit(Arc<dyn StoreSpec>);

impl StoreSpec for PauseBeforeCommit {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(PausingStore(self.0.build(run)))
    }

    fn describe(&self) -> String {
        self.0.describe()
    }

    fn place(&self) -> Option<Place> {
        self.0.place()
    }

    fn state(&self, run: &RunScope) -> Option<Box<dyn crate::state::StateStore>> {
        self.0.state(run)
    }
}

struct PausingStore(Box<dyn Store>);

#[async_trait]
impl Store for PausingStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        Ok(Box::new(PausingWriter(self.0.open(schema, context).await?)))
    }
}

struct PausingWriter(Box<dyn StoreWriter>);

#[async_trait]
impl StoreWriter for PausingWriter {
    fn batch_size(&self) -> Option<usize> {
        self.0.batch_size()
    }

    async fn write(&mut self, batch: arrow_array::RecordBatch) -> ConnectorResult<()> {
        self.0.write(batch).await
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        self.0.would_replace_data().await
    }

    async fn commit(self: Box<Self>, _state: Option<StateUpdate>) -> ConnectorResult<()> {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{STAGED_LINE}");
        let _ = out.flush();
        let never: std::convert::Infallible = std::future::pending().await;
        match never {}
    }

    async fn abort(self: Box<Self>) -> ConnectorResult<()> {
        self.0.abort().await
    }
}
