//! `type: mssql` as a store: every row goes by TDS bulk load into a staging table, on
//! several pooled connections at once. Locking, staging names, cleanup after crashed runs,
//! and the publish transaction (with the watermark row in `hygge_state`) are the runtime's
//! SQL publish layer ([`SqlStaging`]) speaking T-SQL ([`super::dialect`]); this file sizes
//! and loads the staging table. The target is never touched before the publish
//! transaction, so a failure at any point leaves it as it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use hygge_runtime::contract::{
    ConnectorError, ConnectorResult, Place, RunContext, RunScope, RunType, SchemaAdapter, Store,
    StoreSpec, StoreWriter,
};
use hygge_runtime::database::{IfExists, LoadStreams, choose_publish};
use hygge_runtime::publish::{
    KeepNewest, PublishColumns, SqlDatabase, SqlPublish, SqlStaging, SqlState, SqlTable,
    staged_batch,
};
use hygge_runtime::state::{StateStore, StateUpdate};
use tiberius::{SqlBulkCopyOption, SqlBulkCopyOptions};
use tracing::{info, warn};

use super::catalog;
use super::columns::{
    ColumnOverride, StagedColumn, longest_value, plan_columns, schema_policy, wider,
};
use super::config::{ConnectionSettings, IndexKind};
use super::dialect::MssqlDatabase;
use super::encode::{RowEncoder, normalize};
use super::pool::{Pool, sql_error};
use super::sql::{SqlType, TableName, quote};

/// A validated MSSQL store.
pub struct MssqlStoreSpec {
    /// The connection.
    pub settings: ConnectionSettings,
    /// Everything else, shared with the writers it builds.
    pub plan: Arc<StorePlan>,
}

/// The store's settings.
#[derive(Debug)]
pub struct StorePlan {
    /// The target table.
    pub table: TableName,
    /// What to do when it exists.
    pub if_exists: IfExists,
    /// Rows per bulk-load batch.
    pub batch_size: usize,
    /// Concurrent bulk-load streams.
    pub parallel_workers: usize,
    /// New string columns: longest value × this.
    pub string_buffer_factor: f64,
    /// Column types the user fixed.
    pub schema_overrides: BTreeMap<String, ColumnOverride>,
    /// Index of tables hygge creates.
    pub index: IndexKind,
    /// Bulk-load with a table lock (`table_hints: TABLOCK`).
    pub table_lock: bool,
    /// The key columns `if_exists: merge` matches rows on.
    pub primary_key: Vec<String>,
    /// The schema of the watermark state table (default: the target's).
    pub state_schema: Option<String>,
}

impl StorePlan {
    /// The target as the publish layer names it.
    fn target(&self) -> SqlTable {
        SqlTable::new(self.table.schema.clone(), self.table.table.clone())
    }

    /// Where `hygge_state` lives.
    fn state_schema(&self) -> &str {
        self.state_schema.as_deref().unwrap_or(&self.table.schema)
    }
}

impl StoreSpec for MssqlStoreSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(MssqlStore {
            pool: Pool::for_run(run, &self.settings),
            plan: self.plan.clone(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "mssql {} {} (if_exists: {:?})",
            self.settings.label, self.plan.table, self.plan.if_exists
        )
        .to_lowercase()
    }

    fn place(&self) -> Option<Place> {
        Some(self.settings.place(&self.plan.table))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.settings.label.clone())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(super::check(&self.settings))
    }

    fn state(&self, run: &RunScope) -> Option<Box<dyn StateStore>> {
        let db = Arc::new(MssqlDatabase::new(Pool::for_run(run, &self.settings)));
        Some(Box::new(SqlState::new(
            db,
            self.plan.state_schema(),
            self.plan.target(),
        )))
    }
}

struct MssqlStore {
    pool: Pool,
    plan: Arc<StorePlan>,
}

#[async_trait]
impl Store for MssqlStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let settings = self.pool.settings().clone();
        let plan = self.plan.clone();
        let table = &plan.table;
        // Locks the target first: a concurrent run's staging table is not stale.
        let db: Arc<dyn SqlDatabase> = Arc::new(MssqlDatabase::new(self.pool.clone()));
        let staged =
            SqlStaging::open(db, plan.target(), &context.run_id, plan.state_schema()).await?;
        let mut conn = self.pool.get().await?;
        let existing = catalog::table_columns(&mut conn, &settings, table).await?;
        drop(conn);

        let names: Option<Vec<&str>> = existing
            .as_ref()
            .map(|columns| columns.iter().map(|c| c.name.as_str()).collect());
        let publish = choose_publish(
            plan.if_exists,
            &plan.primary_key,
            names.as_deref(),
            &schema,
            context,
            table,
            &format!("database {}", settings.database),
        )?;
        let target = match publish {
            SqlPublish::Insert { .. } | SqlPublish::Merge { .. } => existing.as_deref(),
            _ => None,
        };
        let adapter = match (target, context.run_type) {
            (Some(target), RunType::Incremental) => {
                schema_policy(&schema, target, context.on_schema_change, table)?
            }
            _ => None,
        };
        let source_schema = schema.clone();
        let schema = adapter.as_ref().map_or(schema, |a| a.target().clone());
        let columns = plan_columns(&schema, target, &plan, table)?;
        let staging = table.sibling(staged.table().table.clone());
        let mut writer = MssqlWriter {
            pool: self.pool.clone(),
            plan: plan.clone(),
            staging: Arc::new(staging),
            columns,
            publish,
            created: false,
            streams: None,
            rows: 0,
            adapter,
            staged: Some(staged),
            watermark_column: context.watermark_column.clone(),
            opened: source_schema,
        };
        writer.streams = Some(writer.start_streams());
        Ok(Box::new(writer))
    }
}

struct MssqlWriter {
    pool: Pool,
    plan: Arc<StorePlan>,
    staging: Arc<TableName>,
    columns: Vec<StagedColumn>,
    publish: SqlPublish,
    created: bool,
    /// The bulk-load streams into the staging table (set right after the writer is made).
    streams: Option<LoadStreams>,
    rows: u64,
    /// Drops the source's new columns under `on_schema_change: ignore`.
    adapter: Option<SchemaAdapter>,
    /// The run's staging under the target's write lock, until it is published or dropped.
    staged: Option<SqlStaging>,
    /// The entity's watermark column: a merge keeps the newest row of each key.
    watermark_column: Option<String>,
    /// The schema the store was opened with; every batch must have it.
    opened: SchemaRef,
}

impl MssqlWriter {
    fn start_streams(&self) -> LoadStreams {
        let options = if self.plan.table_lock {
            SqlBulkCopyOptions::from(SqlBulkCopyOption::TableLock)
        } else {
            SqlBulkCopyOptions::empty()
        };
        let names: Vec<String> = self.columns.iter().map(|c| quote(&c.name)).collect();
        let column_types: Vec<SqlType> = self.columns.iter().map(|c| c.sql_type).collect();
        LoadStreams::start(self.plan.parallel_workers, |batches| {
            let pool = self.pool.clone();
            let staging = self.staging.clone();
            let names = names.clone();
            let settings = self.pool.settings().clone();
            let column_types = column_types.clone();
            async move {
                let mut loaded = 0;
                loop {
                    let batch = { batches.lock().await.recv().await };
                    let Some(batch) = batch else {
                        return Ok(loaded);
                    };
                    load_batch(
                        &pool,
                        &settings,
                        &staging,
                        &names,
                        &column_types,
                        options,
                        &batch,
                    )
                    .await?;
                    loaded += batch.num_rows() as u64;
                }
            }
        })
    }

    /// Creates the staging table, or widens its data-sized columns to fit what was seen.
    async fn fit_staging(&mut self) -> ConnectorResult<()> {
        let factor = self.plan.string_buffer_factor;
        let mut widened = Vec::new();
        for column in self.columns.iter_mut().filter(|c| c.sized_from_data) {
            let want = column.fitted(factor);
            if !self.created || wider(want, column.sql_type) {
                column.sql_type = want;
                widened.push(column.clone());
            }
        }
        let mut conn = self.pool.get().await?;
        if !self.created {
            let ddl = format!(
                "CREATE TABLE {} ({})",
                self.staging.quoted(),
                self.columns
                    .iter()
                    .map(StagedColumn::ddl)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            catalog::execute(&mut conn, self.pool.settings(), &ddl).await?;
            self.created = true;
            return Ok(());
        }
        for column in widened {
            // Widening a variable-length column is a metadata-only change on SQL Server.
            let ddl = format!(
                "ALTER TABLE {} ALTER COLUMN {}",
                self.staging.quoted(),
                column.ddl()
            );
            catalog::execute(&mut conn, self.pool.settings(), &ddl).await?;
        }
        Ok(())
    }

    async fn publish(&mut self, state: Option<&StateUpdate>) -> ConnectorResult<()> {
        self.streams()?.finish().await?;
        self.fit_staging().await?;
        if matches!(self.publish, SqlPublish::Rename | SqlPublish::Swap)
            && self.plan.index == IndexKind::Columnstore
        {
            let mut conn = self.pool.get().await?;
            let ddl = format!(
                "CREATE CLUSTERED COLUMNSTORE INDEX {} ON {}",
                quote(&format!("CCI_{}", self.plan.table.table)),
                self.staging.quoted()
            );
            catalog::execute(&mut conn, self.pool.settings(), &ddl).await?;
        }
        let keep_newest = match (&self.plan.if_exists, &self.watermark_column) {
            (IfExists::Merge, Some(by)) => Some(KeepNewest {
                keys: self.plan.primary_key.clone(),
                by: by.clone(),
            }),
            _ => None,
        };
        let columns = PublishColumns {
            keep_newest,
            names: self.columns.iter().map(|c| c.name.clone()).collect(),
            added: self
                .columns
                .iter()
                .filter(|c| c.new_in_target)
                .map(StagedColumn::ddl)
                .collect(),
        };
        let staged = self
            .staged
            .take()
            .ok_or_else(|| ConnectorError::internal("published twice"))?;
        staged.commit(&self.publish, &columns, state).await?;
        info!(table = %self.plan.table, rows = self.rows, "published");
        Ok(())
    }

    /// The load streams.
    fn streams(&mut self) -> ConnectorResult<&mut LoadStreams> {
        self.streams
            .as_mut()
            .ok_or_else(|| ConnectorError::internal("the bulk-load streams were not started"))
    }

    async fn drop_staging(&mut self) -> ConnectorResult<()> {
        if let Some(streams) = self.streams.as_mut() {
            streams.abort().await;
        }
        match self.staged.take() {
            Some(staged) if self.created => staged.abort().await,
            _ => Ok(()),
        }
    }
}

async fn load_batch(
    pool: &Pool,
    settings: &ConnectionSettings,
    staging: &TableName,
    names: &[String],
    types: &[SqlType],
    options: SqlBulkCopyOptions,
    batch: &RecordBatch,
) -> ConnectorResult<()> {
    let normalized = normalize(batch, types).map_err(|e| ConnectorError::data(e.to_string()))?;
    let rows = RowEncoder::new(batch, &normalized, types)
        .map_err(|e| ConnectorError::data(e.to_string()))?;
    let mut conn = pool.get().await?;
    let table = staging.quoted();
    let columns: Vec<&str> = names.iter().map(String::as_str).collect();
    conn.busy = true;
    let mut request = conn
        .client
        .bulk_insert_with_options(&table, &columns, options, &[])
        .await
        .map_err(|e| {
            sql_error(settings, e).with_context(format!("starting a bulk load into {staging}"))
        })?;
    for index in 0..batch.num_rows() {
        // A value that does not fit fails the load; the staging table is then dropped.
        let row = rows
            .row(index)
            .map_err(|e| ConnectorError::data(e.to_string()))?;
        request.send(row).await.map_err(|e| {
            sql_error(settings, e).with_context(format!("bulk load into {staging}"))
        })?;
    }
    request
        .finalize()
        .await
        .map_err(|e| sql_error(settings, e).with_context(format!("bulk load into {staging}")))?;
    conn.busy = false;
    Ok(())
}

#[async_trait]
impl StoreWriter for MssqlWriter {
    fn batch_size(&self) -> Option<usize> {
        Some(self.plan.batch_size)
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let Some(batch) = staged_batch(batch, &self.opened, &self.publish, self.adapter.as_ref())?
        else {
            return Ok(());
        };
        for (column, array) in self.columns.iter_mut().zip(batch.columns()) {
            if column.sized_from_data {
                column.longest = column.longest.max(longest_value(array.as_ref()));
            }
        }
        // Widen only when a value no longer fits; the buffer factor then leaves headroom.
        let overflows = self
            .columns
            .iter()
            .any(|c| c.sized_from_data && wider(c.fitted(1.0), c.sql_type));
        if !self.created || overflows {
            self.fit_staging().await?;
        }
        self.rows += batch.num_rows() as u64;
        self.streams()?.send(batch).await
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        if !self.publish.replaces_rows() {
            return Ok(false);
        }
        let mut conn = self.pool.get().await?;
        let sql = format!("SELECT TOP 1 1 FROM {}", self.plan.table.quoted());
        let rows = catalog::query_rows(&mut conn, self.pool.settings(), &sql, &[]).await?;
        Ok(!rows.is_empty())
    }

    async fn commit(mut self: Box<Self>, state: Option<StateUpdate>) -> ConnectorResult<()> {
        match self.publish(state.as_ref()).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Err(cleanup) = self.drop_staging().await {
                    warn!(staging = %self.staging, "could not drop the staging table: {cleanup}");
                }
                Err(e)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> ConnectorResult<()> {
        self.drop_staging().await
    }
}
