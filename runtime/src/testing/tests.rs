//! The suite tested on a small folder store (Arrow IPC files published through the
//! runtime's [`StagedDir`]): the store passes, and the same store made to publish before
//! its commit fails the suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use async_trait::async_trait;

use super::{Check, StoreHarness, run_check, run_suite};
use crate::contract::{
    ConnectorError, ConnectorResult, RunContext, RunScope, Store, StoreSpec, StoreWriter,
};
use crate::publish::{FolderState, StagedDir};
use crate::state::{StateStore, StateUpdate};

#[derive(Clone)]
struct IpcFolder {
    destination: PathBuf,
    /// Broken on purpose: each batch is also copied to the destination as it is written.
    publishes_early: bool,
}

impl StoreSpec for IpcFolder {
    fn build(&self, _run: &RunScope) -> Box<dyn Store> {
        Box::new(self.clone())
    }

    fn describe(&self) -> String {
        format!("ipc {}", self.destination.display())
    }

    fn state(&self, _run: &RunScope) -> Option<Box<dyn StateStore>> {
        Some(Box::new(FolderState::new(&self.destination)))
    }
}

#[async_trait]
impl Store for IpcFolder {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let staged = StagedDir::open(&self.destination, &context.run_id, context.run_type)?;
        Ok(Box::new(IpcWriter {
            spec: *self,
            staged: Some(staged),
            schema,
            files: 0,
            run_id: context.run_id.clone(),
        }))
    }
}

struct IpcWriter {
    spec: IpcFolder,
    staged: Option<StagedDir>,
    schema: SchemaRef,
    files: usize,
    run_id: String,
}

#[async_trait]
impl StoreWriter for IpcWriter {
    fn batch_size(&self) -> Option<usize> {
        None
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(ConnectorError::data("a batch of another schema"));
        }
        let staged = self
            .staged
            .as_ref()
            .ok_or_else(|| ConnectorError::internal("finished"))?;
        self.files += 1;
        let name = format!("part-{}-{}.arrow", self.run_id, self.files);
        let bytes = hygge_ipc::batch_to_bytes(&batch)
            .map_err(|e| ConnectorError::internal("encode").with_source(e))?;
        fs::write(staged.path().join(&name), &bytes)
            .map_err(|e| ConnectorError::internal("write").with_source(e))?;
        if self.spec.publishes_early {
            fs::create_dir_all(&self.spec.destination)
                .and_then(|()| fs::write(self.spec.destination.join(&name), &bytes))
                .map_err(|e| ConnectorError::internal("write").with_source(e))?;
        }
        Ok(())
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        Ok(true)
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        match self.staged.take() {
            Some(staged) => staged.commit(state.as_ref()),
            None => Ok(()),
        }
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        match self.staged.take() {
            Some(staged) => staged.abort(),
            None => Ok(()),
        }
    }
}

struct Harness {
    store: IpcFolder,
    root: PathBuf,
}

fn visible(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[async_trait]
impl StoreHarness for Harness {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        Arc::new(self.store.clone())
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        let mut ids = Vec::new();
        for file in visible(&self.store.destination) {
            let batch = hygge_ipc::batch_from_bytes(fs::read(file).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            let column = batch.column(0);
            let values = column
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or("id is not Int64")?;
            ids.extend((0..values.len()).map(|i| values.value(i)));
        }
        ids.sort_unstable();
        Ok(ids)
    }

    async fn fingerprint(&self) -> Result<String, String> {
        let mut text = String::new();
        for file in visible(&self.store.destination) {
            let bytes = fs::read(&file).map_err(|e| e.to_string())?;
            text.push_str(&format!("{} {}\n", file.display(), bytes.len()));
        }
        Ok(text)
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        fs::create_dir_all(self.root.join(format!(".hygge-staging.rows.{run_id}")))
            .map_err(|e| e.to_string())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        Ok(fs::read_dir(&self.root)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".hygge-staging."))
            .collect())
    }
}

fn factory(
    root: &Path,
    publishes_early: bool,
) -> impl Fn(&str) -> Box<dyn StoreHarness> + Send + Sync + use<> {
    let root = root.to_path_buf();
    move |check: &str| {
        let root = root.join(check);
        Box::new(Harness {
            store: IpcFolder {
                destination: root.join("rows"),
                publishes_early,
            },
            root,
        }) as Box<dyn StoreHarness>
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_the_publish_layer_passes_the_suite() {
    let root = tempfile::tempdir().unwrap();
    let make = factory(root.path(), false);
    run_suite(&make).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_publishes_before_its_commit() {
    let root = tempfile::tempdir().unwrap();
    let make = factory(root.path(), true);
    let err = run_check(Check::CommitPublishesAllRowsAtOnce, &make)
        .await
        .unwrap_err();
    assert!(err.contains("rows visible before commit"), "{err}");
    assert!(run_suite(&make).await.is_err());
}
