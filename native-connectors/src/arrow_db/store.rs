//! A table written by the database's bulk load: the rows stream into a staging
//! table of this run (one ingest for the whole load, fed batch by batch), then the runtime's
//! SQL publish layer ([`SqlStaging`]) publishes it by `if_exists` in one transaction with
//! the watermark row. The target is never touched before that transaction.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use async_trait::async_trait;
use hygge_runtime::contract::{
    ConnectorError, ConnectorResult, ErrorKind, ParquetFiles, Place, RunContext, RunScope,
    SchemaAdapter, Store, StoreSpec, StoreWriter,
};
use hygge_runtime::database::{IfExists, StoreKeys, plan_publish};
use hygge_runtime::publish::{
    KeepNewest, PublishColumns, SqlDatabase, SqlPublish, SqlStaging, SqlState, SqlTable,
    staged_batch,
};
use hygge_runtime::state::{StateStore, StateUpdate};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::database::{ArrowDb, as_text};
use super::dialect::{column_types_query, quote};
use super::{CancelSlot, DbSettings, parquet_load};

/// A validated store of an Arrow database (`duckdb`, `sqlite`, `adbc`).
pub struct ArrowStoreSpec {
    /// The database.
    pub settings: DbSettings,
    /// The target table.
    pub table: SqlTable,
    /// `if_exists`, `primary_key`, `state_schema`, `batch_size`.
    pub keys: StoreKeys,
    /// Whether it reads a home's local Parquet files itself (`read_parquet`, DuckDB).
    pub read_parquet: bool,
}

impl ArrowStoreSpec {
    fn state_schema(&self) -> String {
        self.keys
            .state_schema
            .clone()
            .unwrap_or_else(|| self.table.schema.clone())
    }
}

impl StoreSpec for ArrowStoreSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(ArrowStore {
            db: ArrowDb::for_run(run, &self.settings, true),
            table: self.table.clone(),
            keys: self.keys.clone(),
            state_schema: self.state_schema(),
            read_parquet: self.read_parquet,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} {} (if_exists: {:?})",
            self.settings.label, self.table, self.keys.if_exists
        )
        .to_lowercase()
    }

    fn place(&self) -> Option<Place> {
        Some(super::place(&self.settings, &self.table))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.settings.label.clone())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(super::check(&self.settings))
    }

    fn state(&self, run: &RunScope) -> Option<Box<dyn StateStore>> {
        let db: Arc<dyn SqlDatabase> = Arc::new(ArrowDb::for_run(run, &self.settings, true));
        Some(Box::new(SqlState::new(
            db,
            &self.state_schema(),
            self.table.clone(),
        )))
    }
}

struct ArrowStore {
    db: ArrowDb,
    table: SqlTable,
    keys: StoreKeys,
    state_schema: String,
    read_parquet: bool,
}

/// The columns of `table` with their declared types, or `None` when it does not exist.
async fn table_columns(
    db: &ArrowDb,
    table: &SqlTable,
) -> ConnectorResult<Option<Vec<(String, String)>>> {
    let dialect = db.dialect();
    let doing = format!("looking up {table}");
    let (_, tables) = db
        .query(&dialect.list_tables(&table.schema), ErrorKind::Data, &doing)
        .await?;
    let exists = as_text(&tables)?
        .iter()
        .any(|row| row.first().cloned().flatten().as_deref() == Some(table.table.as_str()));
    if !exists {
        return Ok(None);
    }
    let (_, columns) = db
        .query(
            &column_types_query(db.flavor(), table),
            ErrorKind::Data,
            &doing,
        )
        .await?;
    Ok(Some(
        as_text(&columns)?
            .into_iter()
            .map(|row| {
                let mut row = row.into_iter().map(Option::unwrap_or_default);
                (
                    row.next().unwrap_or_default(),
                    row.next().unwrap_or_default(),
                )
            })
            .collect(),
    ))
}

#[async_trait]
impl Store for ArrowStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let table = &self.table;
        let label = self.db.label().to_string();
        let shared: Arc<dyn SqlDatabase> = Arc::new(self.db.clone());
        let staged =
            SqlStaging::open(shared, table.clone(), &context.run_id, &self.state_schema).await?;
        let prepared = async {
            let existing = table_columns(&self.db, table).await?;
            let names: Option<Vec<&str>> = existing
                .as_ref()
                .map(|columns| columns.iter().map(|(n, _)| n.as_str()).collect());
            let plan = plan_publish(
                &self.keys,
                names.as_deref(),
                &schema,
                context,
                table,
                &label,
            )?;
            let target = names.filter(|_| plan.into_target);
            let added: Vec<String> = match &target {
                Some(target) => plan
                    .loaded
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|name| !target.contains(&name.as_str()))
                    .collect(),
                None => Vec::new(),
            };
            Ok::<_, ConnectorError>((plan.publish, plan.adapter, plan.loaded, added))
        }
        .await;
        let (publish, adapter, loaded, added) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                if let Err(cleanup) = staged.abort().await {
                    warn!(table = %table, "could not drop the staging table: {cleanup}");
                }
                return Err(e);
            }
        };
        let (sender, receiver) = mpsc::channel(2);
        let ingest = start_ingest(&self.db, staged.table().clone(), loaded.clone(), receiver).await;
        let ingest = match ingest {
            Ok(ingest) => ingest,
            Err(e) => {
                staged.abort().await.ok();
                return Err(e);
            }
        };
        Ok(Box::new(ArrowWriter {
            db: self.db.clone(),
            table: self.table.clone(),
            keys: self.keys.clone(),
            publish,
            sender: Some(sender),
            ingest: Some(ingest),
            rows: 0,
            adapter,
            loaded,
            added,
            staged: Some(staged),
            watermark_column: context.watermark_column.clone(),
            opened: schema,
            read_parquet: self.read_parquet,
            cancel: CancelSlot::default(),
        }))
    }
}

/// The batches `write` sends, as the Arrow stream the driver ingests.
struct ChannelStream {
    schema: SchemaRef,
    receiver: mpsc::Receiver<RecordBatch>,
}

impl Iterator for ChannelStream {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.blocking_recv().map(Ok)
    }
}

impl RecordBatchReader for ChannelStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// Starts one bulk ingest into `staging` (created from `schema`), fed from `receiver`.
async fn start_ingest(
    db: &ArrowDb,
    staging: SqlTable,
    schema: SchemaRef,
    receiver: mpsc::Receiver<RecordBatch>,
) -> ConnectorResult<JoinHandle<ConnectorResult<()>>> {
    let mut connection = db.connection().await?;
    let label = db.label().to_string();
    Ok(tokio::task::spawn_blocking(move || {
        connection
            .ingest(&staging, Box::new(ChannelStream { schema, receiver }))
            .map_err(|e| {
                e.into_connector(
                    ErrorKind::Data,
                    &label,
                    &format!("loading the staging table {staging}"),
                )
            })
    }))
}

struct ArrowWriter {
    db: ArrowDb,
    table: SqlTable,
    keys: StoreKeys,
    publish: SqlPublish,
    /// Feeds the ingest; dropped to end it.
    sender: Option<mpsc::Sender<RecordBatch>>,
    ingest: Option<JoinHandle<ConnectorResult<()>>>,
    rows: u64,
    /// Drops the source's new columns under `on_schema_change: ignore`.
    adapter: Option<SchemaAdapter>,
    /// The columns loaded into the staging table.
    loaded: SchemaRef,
    /// Loaded columns the existing target lacks, added by the publish.
    added: Vec<String>,
    /// The run's staging under the target's write lock, until it is published or dropped.
    staged: Option<SqlStaging>,
    /// The entity's watermark column: a merge keeps the newest row of each key.
    watermark_column: Option<String>,
    /// The schema the store was opened with; every batch must have it.
    opened: SchemaRef,
    /// Whether it may read a home's Parquet files itself.
    read_parquet: bool,
    /// Stops DuckDB reading the files when the run is aborted.
    cancel: CancelSlot,
}

impl ArrowWriter {
    /// Ends the ingest and waits for it. Cancelled, it leaves the load to the next call
    /// (an abort waits for it before dropping the staging table).
    async fn finish_ingest(&mut self) -> ConnectorResult<()> {
        self.sender = None;
        let Some(ingest) = self.ingest.as_mut() else {
            return Ok(());
        };
        let ended = ingest.await;
        self.ingest = None;
        ended.map_err(|e| ConnectorError::internal(format!("the load stopped: {e}")))?
    }

    /// Loads `files` into the staging table with DuckDB's own Parquet reader.
    async fn load_with_read_parquet(&mut self, files: &ParquetFiles) -> ConnectorResult<u64> {
        // With no rows, the ingest creates the staging table the batches would have.
        self.finish_ingest().await?;
        let staging = self
            .staged
            .as_ref()
            .ok_or_else(|| ConnectorError::internal("loaded after publishing"))?
            .table()
            .clone();
        // Kept where an abort finds it: it cancels the load, then waits for it.
        self.ingest = Some(parquet_load::start(&self.db, &staging, files, &self.cancel).await?);
        self.finish_ingest().await?;
        parquet_load::check_rows(&self.db, &staging, files).await?;
        Ok(files.rows)
    }

    async fn publish(&mut self, state: Option<&StateUpdate>) -> ConnectorResult<()> {
        self.finish_ingest().await?;
        let staging = self
            .staged
            .as_ref()
            .ok_or_else(|| ConnectorError::internal("published twice"))?
            .table()
            .clone();
        let mut added = Vec::new();
        if !self.added.is_empty() {
            let types = table_columns(&self.db, &staging).await?.unwrap_or_default();
            for name in &self.added {
                let ty = types
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, ty)| ty.clone())
                    .unwrap_or_default();
                added.push(format!("{} {ty}", quote(name)));
            }
        }
        let staged = self
            .staged
            .take()
            .ok_or_else(|| ConnectorError::internal("published twice"))?;
        let keep_newest = match (&self.keys.if_exists, &self.watermark_column) {
            (IfExists::Merge, Some(by)) => Some(KeepNewest {
                keys: self.keys.primary_key.clone(),
                by: by.clone(),
            }),
            _ => None,
        };
        let columns = PublishColumns {
            names: self
                .loaded
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            added,
            keep_newest,
        };
        staged.commit(&self.publish, &columns, state).await?;
        info!(table = %self.table, rows = self.rows, "published");
        Ok(())
    }

    async fn drop_staging(&mut self) -> ConnectorResult<()> {
        self.cancel.cancel();
        if let Err(e) = self.finish_ingest().await {
            warn!(table = %self.table, "the abandoned load failed: {e}");
        }
        match self.staged.take() {
            Some(staged) => staged.abort().await,
            None => Ok(()),
        }
    }
}

#[async_trait]
impl StoreWriter for ArrowWriter {
    fn batch_size(&self) -> Option<usize> {
        Some(self.keys.batch_size)
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let Some(batch) = staged_batch(batch, &self.opened, &self.publish, self.adapter.as_ref())?
        else {
            return Ok(());
        };
        let rows = batch.num_rows() as u64;
        let sent = match &self.sender {
            Some(sender) => sender.send(batch).await.is_ok(),
            None => false,
        };
        if !sent {
            // The ingest stopped taking rows: its error says why.
            self.finish_ingest().await?;
            return Err(ConnectorError::internal(format!(
                "{}: the load into the staging table ended early",
                self.db.label()
            )));
        }
        self.rows += rows;
        Ok(())
    }

    async fn load_parquet_files(&mut self, files: &ParquetFiles) -> ConnectorResult<Option<u64>> {
        let takes = self.read_parquet
            && self.rows == 0
            && self.adapter.is_none()
            && !matches!(self.publish, SqlPublish::Merge { .. })
            && parquet_load::fits(&self.loaded, files);
        if !takes || !parquet_load::library_reads_alike(&self.db).await? {
            return Ok(None);
        }
        let rows = self.load_with_read_parquet(files).await?;
        self.rows = rows;
        Ok(Some(rows))
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        if !self.publish.replaces_rows() {
            return Ok(false);
        }
        let sql = format!(
            "SELECT 1 FROM {} LIMIT 1",
            self.db.dialect().qualified(&self.table)
        );
        let (_, batches) = self
            .db
            .query(&sql, ErrorKind::Data, "reading the target")
            .await?;
        Ok(batches.iter().any(|b| b.num_rows() > 0))
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        match self.publish(state.as_ref()).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Err(cleanup) = self.drop_staging().await {
                    warn!(table = %self.table, "could not drop the staging table: {cleanup}");
                }
                Err(e)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        self.drop_staging().await
    }
}
