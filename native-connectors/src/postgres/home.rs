//! `type: postgres` as a home: a table or a custom query, read by `COPY (SELECT …) TO
//! STDOUT (FORMAT binary)` and decoded straight into Arrow builders, optionally split into
//! range partitions read on several pooled connections. Memory stays bounded: each reader
//! holds one batch in the making, and a channel of two batches per reader.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures_util::StreamExt;
use hygge_runtime::contract::{
    BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, Place, ReadRequest, RunScope,
};
use hygge_runtime::database::{BatchSender, ParallelReader, Partitioning};

use super::connect::{PgSettings, statement_error};
use super::decode::CopyDecoder;
use super::dialect::{literal, quote};
use super::partition::KeyKind;
use super::pool::{Pool, PooledConn};
use super::sql::PgTable;
use super::types::PgType;

/// What a home reads.
pub type Source = hygge_runtime::database::Source<PgTable>;

/// A validated PostgreSQL home.
pub struct PgHomeSpec {
    /// The connection.
    pub settings: PgSettings,
    /// Table or query.
    pub source: Source,
    /// Rows per batch, when set on the home.
    pub batch_size: Option<usize>,
    /// Parallel range reads, when configured.
    pub partitioning: Option<Partitioning>,
}

impl HomeSpec for PgHomeSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Home> {
        Box::new(PgHome {
            pool: Pool::for_run(run, &self.settings),
            source: self.source.clone(),
            partitioning: self.partitioning.clone(),
        })
    }

    fn describe(&self) -> String {
        let what = &self.source;
        let split = self
            .partitioning
            .as_ref()
            .map(|p| format!(", {} partitions on {}", p.partitions, p.column))
            .unwrap_or_default();
        format!("postgres {} {what}{split}", self.settings.label)
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

struct PgHome {
    pool: Pool,
    source: Source,
    partitioning: Option<Partitioning>,
}

/// A column as the server describes it.
struct Described {
    name: String,
    /// Its type, or the server's name of a type hygge cannot read.
    ty: Result<PgType, String>,
    nullable: bool,
}

#[async_trait]
impl Home for PgHome {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let label = self.pool.settings().label.clone();
        let mut conn = self.pool.get().await?;
        let from = match &self.source {
            Source::Table(table) => table.quoted(),
            Source::Query(sql) => format!("({sql}) AS hygge_query"),
        };
        let described = describe(&mut conn, &label, &self.source, &from).await?;
        let selected = select_columns(&described, request.columns())?;
        let types: Vec<PgType> = selected.iter().map(|(_, ty)| ty.clone()).collect();
        let schema: SchemaRef = Arc::new(Schema::new(
            selected
                .iter()
                .map(|(c, ty)| Field::new(&c.name, ty.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        ));
        let select_list = selected
            .iter()
            .map(|(c, _)| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let mut filters = Vec::new();
        if let Some(watermark) = request.watermark() {
            let Some(column) = described.iter().find(|c| c.name == watermark.column) else {
                return Err(ConnectorError::config(format!(
                    "watermark column `{}` is not a column of the home",
                    watermark.column
                )));
            };
            // COPY takes no parameters: the bound is a quoted literal the server casts to the
            // column's type. Text is filtered in the flow only: the server orders it by
            // collation, the flow by bytes, and no row may be lost between the two.
            if column.ty.as_ref().is_ok_and(PgType::orders_like_arrow) {
                let op = if watermark.inclusive { ">=" } else { ">" };
                filters.push(format!(
                    "{} {op} {}",
                    quote(&watermark.column),
                    literal(&watermark.after)
                ));
            }
        }
        let base = format!("SELECT {select_list} FROM {from}");
        let statements = match &self.partitioning {
            None => vec![with_filters(&base, &filters, None)],
            Some(p) => {
                partition_statements(&mut conn, &label, &described, &from, &base, &filters, p)
                    .await?
            }
        };

        let batch_size = request.batch_size();
        let pool = self.pool.clone();
        let mut first = Some(conn);
        let jobs: Vec<(String, Option<PooledConn>)> = statements
            .into_iter()
            .map(|statement| (statement, first.take()))
            .collect();
        let read_schema = schema.clone();
        Ok(Box::new(ParallelReader::start(
            schema,
            jobs,
            move |(statement, conn), sender| {
                let pool = pool.clone();
                let schema = read_schema.clone();
                let types = types.clone();
                let label = label.clone();
                async move {
                    let mut conn = match conn {
                        Some(conn) => conn,
                        None => pool.get().await?,
                    };
                    copy_out(
                        &mut conn, &label, &statement, schema, &types, batch_size, &sender,
                    )
                    .await
                }
            },
        )))
    }
}

/// The columns of the source, with their types and nullability, without reading a row.
async fn describe(
    conn: &mut PooledConn,
    label: &str,
    source: &Source,
    from: &str,
) -> ConnectorResult<Vec<Described>> {
    let statement = conn
        .client
        .prepare(&format!("SELECT * FROM {from}"))
        .await
        .map_err(|e| match (source, e.code()) {
            (Source::Table(table), Some(code))
                if *code == tokio_postgres::error::SqlState::UNDEFINED_TABLE =>
            {
                ConnectorError::config(format!("table {table} does not exist at {label}"))
                    .with_context(
                        "check `table` (schema.table; names are matched exactly, case included) and the connection's database",
                    )
            }
            (Source::Table(table), _) => statement_error(label, &format!("describing {table}"), e),
            (Source::Query(_), _) => statement_error(label, "describing the home's `query`", e),
        })?;
    let not_null: Vec<String> = match source {
        Source::Table(table) => conn
            .client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass \
                 AND attnum > 0 AND attnotnull AND NOT attisdropped",
                &[&table.quoted()],
            )
            .await
            .map_err(|e| statement_error(label, &format!("describing {table}"), e))?
            .iter()
            .map(|row| row.get(0))
            .collect(),
        Source::Query(_) => Vec::new(),
    };
    Ok(statement
        .columns()
        .iter()
        .map(|c| Described {
            name: c.name().to_string(),
            ty: PgType::from_server(c.type_(), c.type_modifier()),
            nullable: !not_null.iter().any(|n| n == c.name()),
        })
        .collect())
}

/// The described columns to read, in the requested order, with their types; unknown names
/// and types hygge cannot read are config errors that say what to do.
fn select_columns<'a>(
    described: &'a [Described],
    requested: Option<&[String]>,
) -> ConnectorResult<Vec<(&'a Described, PgType)>> {
    let picked: Vec<&Described> = match requested {
        None => described.iter().collect(),
        Some(names) => names
            .iter()
            .map(|name| {
                described.iter().find(|c| &c.name == name).ok_or_else(|| {
                    ConnectorError::config(format!(
                        "column `{name}` is not in the home; it has: {}",
                        described
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    picked
        .into_iter()
        .map(|c| match &c.ty {
            Ok(ty) => Ok((c, ty.clone())),
            Err(server_type) => Err(ConnectorError::config(format!(
                "column `{}` has type {server_type}, which hygge does not read",
                c.name
            ))
            .with_context(format!(
                "use `query:` with {}::text (or another supported type), or leave the column out with `columns:`",
                quote(&c.name)
            ))),
        })
        .collect()
}

fn with_filters(base: &str, filters: &[String], extra: Option<String>) -> String {
    let mut all: Vec<String> = filters.to_vec();
    all.extend(extra);
    if all.is_empty() {
        base.to_string()
    } else {
        format!("{base} WHERE {}", all.join(" AND "))
    }
}

/// Splits the read into `partitions` ranges of the partition column, cut evenly between its
/// MIN and MAX (see [`KeyKind`]).
async fn partition_statements(
    conn: &mut PooledConn,
    label: &str,
    described: &[Described],
    from: &str,
    base: &str,
    filters: &[String],
    p: &Partitioning,
) -> ConnectorResult<Vec<String>> {
    let column = described
        .iter()
        .find(|c| c.name == p.column)
        .ok_or_else(|| {
            ConnectorError::config(format!(
                "partition_on column `{}` is not in the home",
                p.column
            ))
        })?;
    let Some(kind) = column.ty.as_ref().ok().and_then(KeyKind::of) else {
        return Err(ConnectorError::config(format!(
            "partition_on column `{}` must be an integer, numeric(p,s), date or timestamp column",
            p.column
        ))
        .with_context("pick such a key, or read without partitions"));
    };
    let col = quote(&p.column);
    let axis = kind.axis(&col);
    let bounds = with_filters(
        &format!("SELECT min({axis})::text, max({axis})::text FROM {from}"),
        filters,
        None,
    );
    let rows = conn
        .client
        .simple_query(&bounds)
        .await
        .map_err(|e| statement_error(label, "reading the partition key's bounds", e))?;
    let parse = |v: Option<&str>| v.and_then(|v| v.parse::<i128>().ok());
    let bounds = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => {
            Some((parse(row.get(0)), parse(row.get(1))))
        }
        _ => None,
    });
    let Some((Some(lo), Some(hi))) = bounds else {
        // Empty, or only NULLs: one read returns exactly those rows.
        return Ok(vec![with_filters(base, filters, None)]);
    };
    Ok(kind
        .predicates(&col, lo, hi, p.partitions)
        .into_iter()
        .map(|predicate| with_filters(base, filters, predicate))
        .collect())
}

/// Runs one SELECT as a binary COPY and sends its rows on as batches.
async fn copy_out(
    conn: &mut PooledConn,
    label: &str,
    select: &str,
    schema: SchemaRef,
    types: &[PgType],
    batch_size: usize,
    sender: &BatchSender,
) -> ConnectorResult<()> {
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
    conn.busy = true;
    let stream = conn
        .client
        .copy_out(&copy)
        .await
        .map_err(|e| statement_error(label, "starting the read", e))?;
    let mut stream = std::pin::pin!(stream);
    let mut decoder = CopyDecoder::new(schema, types, batch_size);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| statement_error(label, "reading rows", e))?;
        let batches = decoder
            .push(&chunk)
            .map_err(|e| ConnectorError::data(e.message))?;
        for batch in batches {
            if sender.send(Ok(batch)).await.is_err() {
                // The reader is gone; the connection is left busy and will be closed.
                return Ok(());
            }
        }
    }
    if !decoder.ended() {
        return Err(ConnectorError::connection(format!(
            "the read from PostgreSQL at {label} ended before its last row"
        )));
    }
    conn.busy = false;
    if decoder.pending() > 0 {
        let batch = decoder
            .finish()
            .map_err(|e| ConnectorError::internal(e.message))?;
        sender.send(Ok(batch)).await.ok();
    }
    Ok(())
}
