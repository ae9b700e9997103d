//! A table or query read as the database's Arrow stream, which is read on a blocking
//! thread and handed on in batches of the flow's size, two at most waiting, so memory stays
//! bounded whatever the result's size.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use arrow_select::coalesce::BatchCoalescer;
use async_trait::async_trait;
use hygge_runtime::contract::{
    BatchReader, ConnectorError, ConnectorResult, ErrorKind, Home, HomeSpec, Place, ReadRequest,
    RunScope,
};
use hygge_runtime::publish::{SqlDialect, SqlTable};
use tokio::sync::{mpsc, oneshot};

use super::DbSettings;
use super::database::{ArrowDb, Conn};
use super::dialect::{DbSql, Flavor, literal, quote};

/// What a home reads.
pub type Source = hygge_runtime::database::Source<SqlTable>;

/// A validated home of an Arrow database (`duckdb`, `sqlite`, `adbc`).
pub struct ArrowHomeSpec {
    /// The database.
    pub settings: DbSettings,
    /// Table or query.
    pub source: Source,
    /// Rows per batch, when set on the home.
    pub batch_size: Option<usize>,
}

impl HomeSpec for ArrowHomeSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Home> {
        Box::new(ArrowHome {
            db: ArrowDb::for_run(run, &self.settings, false),
            source: self.source.clone(),
        })
    }

    fn describe(&self) -> String {
        let what = &self.source;
        format!("{} {what}", self.settings.label)
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn place(&self) -> Option<Place> {
        self.source
            .table()
            .map(|table| super::place(&self.settings, table))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.settings.label.clone())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(super::check(&self.settings))
    }
}

struct ArrowHome {
    db: ArrowDb,
    source: Source,
}

/// Whether a watermark of this type may be compared in SQL as the column's own type: the
/// types whose order the database and Arrow agree on. Text is left to the flow (collations).
fn orders_like_arrow(ty: &DataType, casts_literals: bool) -> bool {
    match ty {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => true,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => casts_literals,
        _ => false,
    }
}

#[async_trait]
impl Home for ArrowHome {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let sql = DbSql {
            flavor: self.db.flavor(),
        };
        let (from, kind, doing) = match &self.source {
            Source::Table(table) => (
                sql.qualified(table),
                ErrorKind::Config,
                format!("reading table {table}"),
            ),
            Source::Query(query) => (
                format!("({query}\n) AS hygge_query"),
                ErrorKind::Config,
                "running the home's `query`".to_string(),
            ),
        };
        let (described, _) = self
            .db
            .query(&format!("SELECT * FROM {from} LIMIT 0"), kind, &doing)
            .await
            .map_err(|e| {
                e.with_context(match &self.source {
                    Source::Table(_) => "check `table` (schema.table; names match exactly)",
                    Source::Query(_) => "check the home's `query`",
                })
            })?;
        let columns: Vec<Arc<Field>> = match request.columns() {
            None => described.fields().iter().cloned().collect(),
            Some(names) => names
                .iter()
                .map(|name| {
                    described
                        .field_with_name(name)
                        .map(|f| Arc::new(f.clone()))
                        .map_err(|_| {
                            ConnectorError::config(format!(
                                "column `{name}` is not in the home; it has: {}",
                                described
                                    .fields()
                                    .iter()
                                    .map(|f| f.name().as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        })
                })
                .collect::<ConnectorResult<_>>()?,
        };
        let mut select = format!(
            "SELECT {} FROM {from}",
            columns
                .iter()
                .map(|f| quote(f.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(watermark) = request.watermark() {
            let Ok(column) = described.field_with_name(&watermark.column) else {
                return Err(ConnectorError::config(format!(
                    "watermark column `{}` is not a column of the home",
                    watermark.column
                )));
            };
            // SQLite's driver describes an empty result's columns without their types.
            let described_types = self.db.flavor() != Flavor::Sqlite;
            if described_types
                && orders_like_arrow(column.data_type(), self.db.flavor().casts_literals())
            {
                let op = if watermark.inclusive { ">=" } else { ">" };
                select.push_str(&format!(
                    " WHERE {} {op} {}",
                    quote(&watermark.column),
                    literal(&watermark.after)
                ));
            }
        }
        let connection = self.db.connection().await?;
        let (sender, receiver) = mpsc::channel(2);
        let (schema_sender, schema_receiver) = oneshot::channel();
        let batch_size = request.batch_size();
        let label = self.db.label().to_string();
        let task = tokio::task::spawn_blocking(move || {
            let result = stream(
                connection,
                &select,
                batch_size,
                schema_sender,
                &sender,
                &label,
                &doing,
            );
            if let Err(e) = result {
                sender.blocking_send(Err(e)).ok();
            }
        });
        // The result's own schema is the one promised: some drivers (SQLite's) describe a
        // column's type from its values, which an empty probe does not have.
        let mut reader = ArrowReader {
            schema: Arc::new(Schema::empty()),
            receiver,
            _task: task,
        };
        match schema_receiver.await {
            Ok(schema) => reader.schema = schema,
            Err(_) => {
                return Err(reader.next_batch().await.err().unwrap_or_else(|| {
                    ConnectorError::internal("the read ended before describing its columns")
                }));
            }
        }
        Ok(Box::new(reader))
    }
}

/// The schema as the flow gets it: a zone of `Etc/UTC` (DuckDB's name for the machine's
/// UTC) as `UTC`, the same instants.
fn normalized(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(unit, Some(zone)) if zone.as_ref() == "Etc/UTC" => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(*unit, Some("UTC".into()))),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Runs `select`, hands over its schema, and sends its rows on in batches of
/// `batch_size`.
fn stream(
    mut connection: Conn,
    select: &str,
    batch_size: usize,
    schema_sender: oneshot::Sender<SchemaRef>,
    sender: &mpsc::Sender<ConnectorResult<RecordBatch>>,
    label: &str,
    doing: &str,
) -> ConnectorResult<()> {
    let reader = connection
        .query(select)
        .map_err(|e| e.into_connector(ErrorKind::Config, label, doing))?;
    let schema = normalized(&reader.schema());
    if schema_sender.send(schema.clone()).is_err() {
        return Ok(());
    }
    let mut coalescer = BatchCoalescer::new(schema.clone(), batch_size);
    let send = |coalescer: &mut BatchCoalescer| -> bool {
        while let Some(batch) = coalescer.next_completed_batch() {
            if sender.blocking_send(Ok(batch)).is_err() {
                return false;
            }
        }
        true
    };
    for batch in reader {
        let batch = batch
            .map_err(|e| ConnectorError::data(format!("{label}: reading rows failed: {e}")))?;
        let columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| {
                if column.data_type() == field.data_type() {
                    Ok(column.clone())
                } else {
                    arrow_cast::cast(column, field.data_type())
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConnectorError::data(format!("{label}: reading rows failed: {e}")))?;
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
            ConnectorError::data(format!(
                "{label}: a batch of rows does not match the result's columns: {e}"
            ))
        })?;
        coalescer
            .push_batch(batch)
            .map_err(|e| ConnectorError::internal(e.to_string()))?;
        if !send(&mut coalescer) {
            return Ok(());
        }
    }
    coalescer
        .finish_buffered_batch()
        .map_err(|e| ConnectorError::internal(e.to_string()))?;
    send(&mut coalescer);
    Ok(())
}

/// The batches a read sends, in order, then its error if it failed.
struct ArrowReader {
    schema: SchemaRef,
    receiver: mpsc::Receiver<ConnectorResult<RecordBatch>>,
    /// The read, which stops at its next batch once the reader is dropped.
    _task: tokio::task::JoinHandle<()>,
}

#[async_trait]
impl BatchReader for ArrowReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        self.receiver.recv().await.transpose()
    }
}
