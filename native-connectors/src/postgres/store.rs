//! `type: postgres` as a store: rows go by `COPY … FROM STDIN (FORMAT binary)` into a
//! staging table, on `parallel_workers` pooled connections at once. Locking (an advisory
//! lock), staging names, cleanup after crashed runs, and the publish transaction with the
//! watermark row in `hygge_state` are the runtime's SQL publish layer ([`SqlStaging`])
//! speaking PostgreSQL ([`super::dialect`]); this file plans the columns and loads the
//! staging table. The target is never touched before the publish transaction, so a failure
//! at any point leaves it as it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::SinkExt;
use hygge_runtime::contract::{
    ConnectorError, ConnectorResult, Place, RunContext, RunScope, SchemaAdapter, Store, StoreSpec,
    StoreWriter,
};
use hygge_runtime::database::{Batches, IfExists, LoadStreams, StoreKeys, plan_publish};
use hygge_runtime::publish::{
    KeepNewest, PublishColumns, SqlDatabase, SqlPublish, SqlStaging, SqlState, staged_batch,
};
use hygge_runtime::state::{StateStore, StateUpdate};
use tracing::{info, warn};

use super::connect::{PgSettings, connect, statement_error};
use super::dialect::{PgDatabase, quote};
use super::encode::{encode_batch, header, trailer};
use super::pool::Pool;
use super::sql::PgTable;
use super::types::PgType;

/// A validated PostgreSQL store.
pub struct PgStoreSpec {
    /// The connection.
    pub settings: PgSettings,
    /// Everything else, shared with the writers it builds.
    pub plan: Arc<StorePlan>,
}

/// The store's settings.
#[derive(Debug)]
pub struct StorePlan {
    /// The target table.
    pub table: PgTable,
    /// `if_exists`, `primary_key`, `state_schema`, `parallel_workers`, `batch_size`.
    pub keys: StoreKeys,
    /// Column types the user fixed, for columns hygge creates.
    pub schema_overrides: BTreeMap<String, PgType>,
}

impl StorePlan {
    fn state_schema(&self) -> &str {
        self.keys
            .state_schema
            .as_deref()
            .unwrap_or(&self.table.schema)
    }
}

impl StoreSpec for PgStoreSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Store> {
        Box::new(PgStore {
            pool: Pool::for_run(run, &self.settings),
            plan: self.plan.clone(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "postgres {} {} (if_exists: {:?})",
            self.settings.label, self.plan.table, self.plan.keys.if_exists
        )
        .to_lowercase()
    }

    fn place(&self) -> Option<Place> {
        Some(super::place(&self.settings, &self.plan.table))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.settings.label.clone())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(super::check(&self.settings))
    }

    fn state(&self, _run: &RunScope) -> Option<Box<dyn StateStore>> {
        let db = Arc::new(PgDatabase::new(self.settings.clone()));
        Some(Box::new(SqlState::new(
            db,
            self.plan.state_schema(),
            self.plan.table.sql_table(),
        )))
    }
}

struct PgStore {
    pool: Pool,
    plan: Arc<StorePlan>,
}

/// A column of the staging table.
#[derive(Debug, Clone)]
struct StagedColumn {
    name: String,
    ty: PgType,
    nullable: bool,
    /// Not in the existing target: added (nullable) by the publish.
    new_in_target: bool,
}

impl StagedColumn {
    fn ddl(&self, allow_not_null: bool) -> String {
        let null = if self.nullable || !allow_not_null {
            ""
        } else {
            " NOT NULL"
        };
        format!("{} {}{null}", quote(&self.name), self.ty.ddl())
    }
}

#[async_trait]
impl Store for PgStore {
    async fn open(
        self: Box<Self>,
        schema: SchemaRef,
        context: &RunContext,
    ) -> ConnectorResult<Box<dyn StoreWriter>> {
        let plan = self.plan.clone();
        let table = &plan.table;
        let label = self.pool.settings().label.clone();
        // Locks the target first: a concurrent run's staging table is not stale.
        let db: Arc<dyn SqlDatabase> = Arc::new(PgDatabase::new(self.pool.settings().clone()));
        let staged =
            SqlStaging::open(db, table.sql_table(), &context.run_id, plan.state_schema()).await?;
        let prepared = async {
            let existing = target_columns(&self.pool, table).await?;
            let names: Option<Vec<&str>> = existing
                .as_ref()
                .map(|columns| columns.iter().map(|(n, _)| n.as_str()).collect());
            let publish_plan = plan_publish(
                &plan.keys,
                names.as_deref(),
                &schema,
                context,
                table,
                &label,
            )?;
            let target = existing.as_deref().filter(|_| publish_plan.into_target);
            let (publish, adapter, loaded) = (
                publish_plan.publish,
                publish_plan.adapter,
                publish_plan.loaded,
            );
            let columns = plan_columns(&loaded, target, &plan)?;
            let staging = PgTable {
                schema: table.schema.clone(),
                table: staged.table().table.clone(),
            };
            let ddl = format!(
                "CREATE TABLE {} ({})",
                staging.quoted(),
                columns
                    .iter()
                    .map(|c| c.ddl(target.is_none()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let conn = self.pool.get().await?;
            conn.client
                .batch_execute(&ddl)
                .await
                .map_err(|e| statement_error(&label, &format!("creating {staging}"), e))?;
            Ok::<_, ConnectorError>((publish, adapter, columns, staging))
        }
        .await;
        let (publish, adapter, columns, staging) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                if let Err(cleanup) = staged.abort().await {
                    warn!(table = %table, "could not drop the staging table: {cleanup}");
                }
                return Err(e);
            }
        };
        let streams = start_copies(&self.pool, &staging, &columns, plan.keys.parallel_workers);
        Ok(Box::new(PgWriter {
            pool: self.pool.clone(),
            plan: plan.clone(),
            staging,
            columns,
            publish,
            streams,
            rows: 0,
            adapter,
            staged: Some(staged),
            watermark_column: context.watermark_column.clone(),
            opened: schema,
        }))
    }
}

/// The existing target's columns and their declared types, or `None` when it does not
/// exist.
async fn target_columns(
    pool: &Pool,
    table: &PgTable,
) -> ConnectorResult<Option<Vec<(String, String)>>> {
    let conn = pool.get().await?;
    let label = &pool.settings().label;
    let doing = format!("looking up {table}");
    let found = conn
        .client
        .query_one("SELECT to_regclass($1)::oid", &[&table.quoted()])
        .await
        .map_err(|e| statement_error(label, &doing, e))?;
    let Some(oid) = found.get::<_, Option<u32>>(0) else {
        return Ok(None);
    };
    let rows = conn
        .client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&oid],
        )
        .await
        .map_err(|e| statement_error(label, &doing, e))?;
    Ok(Some(rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
}

/// The staging table's columns: the target's own types for columns it has, else the
/// override, else the type for the Arrow type.
fn plan_columns(
    schema: &SchemaRef,
    target: Option<&[(String, String)]>,
    plan: &StorePlan,
) -> ConnectorResult<Vec<StagedColumn>> {
    let table = &plan.table;
    schema
        .fields()
        .iter()
        .map(|field| {
            let name = field.name();
            let existing = target.and_then(|t| t.iter().find(|(n, _)| n == name));
            let ty = match existing {
                Some((_, declared)) => PgType::parse(declared).ok_or_else(|| {
                    ConnectorError::config(format!(
                        "column `{name}` of {table} has type {declared}, which hygge cannot load"
                    ))
                    .with_context("load into a table hygge creates (`if_exists: replace`), or change the column's type")
                })?,
                None => match plan.schema_overrides.get(name) {
                    Some(ty) => ty.clone(),
                    None => PgType::for_arrow(field.data_type()).ok_or_else(|| {
                        ConnectorError::config(format!(
                            "column `{name}` is {}, which a PostgreSQL column cannot hold",
                            field.data_type()
                        ))
                        .with_context(format!(
                            "leave it out with `columns:`, or name a type in `schema_overrides: {{{name}: text}}`"
                        ))
                    })?,
                },
            };
            if !arrow_cast::can_cast_types(field.data_type(), &ty.arrow()) {
                return Err(ConnectorError::config(format!(
                    "column `{name}` is {} and cannot be written as {ty}",
                    field.data_type()
                ))
                .with_context("change `schema_overrides` for it, or cast it at the home"));
            }
            Ok(StagedColumn {
                name: name.clone(),
                ty,
                nullable: field.is_nullable(),
                new_in_target: target.is_some() && existing.is_none(),
            })
        })
        .collect()
}

struct PgWriter {
    pool: Pool,
    plan: Arc<StorePlan>,
    staging: PgTable,
    columns: Vec<StagedColumn>,
    publish: SqlPublish,
    /// The COPY streams into the staging table.
    streams: LoadStreams,
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

/// `workers` COPY streams into `staging`, on pooled connections.
fn start_copies(
    pool: &Pool,
    staging: &PgTable,
    columns: &[StagedColumn],
    workers: usize,
) -> LoadStreams {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let copy = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        staging.quoted(),
        names.join(", ")
    );
    let types: Arc<Vec<PgType>> = Arc::new(columns.iter().map(|c| c.ty.clone()).collect());
    LoadStreams::start(workers, |batches| {
        let pool = pool.clone();
        let copy = copy.clone();
        let types = types.clone();
        async move { copy_in(&pool, &copy, &types, &batches).await }
    })
}

impl PgWriter {
    async fn publish(&mut self, state: Option<&StateUpdate>) -> ConnectorResult<()> {
        self.streams.finish().await?;
        let keep_newest = match (&self.plan.keys.if_exists, &self.watermark_column) {
            (IfExists::Merge, Some(by)) => Some(KeepNewest {
                keys: self.plan.keys.primary_key.clone(),
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
                .map(|c| c.ddl(false))
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

    async fn drop_staging(&mut self) -> ConnectorResult<()> {
        self.streams.abort().await;
        match self.staged.take() {
            Some(staged) => staged.abort().await,
            None => Ok(()),
        }
    }
}

/// One COPY stream, on a connection of its own: takes batches until the queue closes,
/// encodes and sends them, and returns how many rows the server took.
async fn copy_in(
    pool: &Pool,
    copy: &str,
    types: &[PgType],
    batches: &Batches,
) -> ConnectorResult<u64> {
    let label = pool.settings().label.clone();
    // A connection of its own, outside the pool: a flow from a home on the same pool
    // would otherwise hold every pooled connection while waiting for this load to drain it.
    let client = connect(pool.settings()).await?;
    let sink = client
        .copy_in::<_, Bytes>(copy)
        .await
        .map_err(|e| statement_error(&label, "starting a COPY into the staging table", e))?;
    let mut sink = std::pin::pin!(sink);
    let sent = |e| statement_error(&label, "loading the staging table", e);
    sink.feed(Bytes::from(header())).await.map_err(sent)?;
    loop {
        let batch = { batches.lock().await.recv().await };
        let Some(batch) = batch else { break };
        // A guess at the encoded size (a field count, then a length and about 8 bytes a
        // value); not the batch's memory size, which for a slice is its whole parent's.
        let mut out = Vec::with_capacity(batch.num_rows() * (2 + 12 * batch.num_columns()));
        encode_batch(&batch, types, &mut out).map_err(|e| {
            ConnectorError::data(e.to_string()).with_context("nothing was published")
        })?;
        sink.send(Bytes::from(out)).await.map_err(sent)?;
    }
    sink.feed(Bytes::copy_from_slice(&trailer()))
        .await
        .map_err(sent)?;
    sink.as_mut().finish().await.map_err(sent)
}

#[async_trait]
impl StoreWriter for PgWriter {
    fn batch_size(&self) -> Option<usize> {
        Some(self.plan.keys.batch_size)
    }

    async fn write(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let Some(batch) = staged_batch(batch, &self.opened, &self.publish, self.adapter.as_ref())?
        else {
            return Ok(());
        };
        self.rows += batch.num_rows() as u64;
        self.streams.send(batch).await
    }

    async fn would_replace_data(&mut self) -> ConnectorResult<bool> {
        if !self.publish.replaces_rows() {
            return Ok(false);
        }
        let conn = self.pool.get().await?;
        let sql = format!("SELECT 1 FROM {} LIMIT 1", self.plan.table.quoted());
        let rows =
            conn.client.query(&sql, &[]).await.map_err(|e| {
                statement_error(&self.pool.settings().label, "reading the target", e)
            })?;
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
