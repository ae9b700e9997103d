//! `type: mssql` as a home: a table or a custom query, streamed straight into Arrow
//! builders, optionally split into range partitions read on several pooled connections.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use hygge_runtime::contract::{
    BatchReader, ConnectorError, ConnectorResult, Home, HomeSpec, Place, ReadRequest, RunScope,
};
use hygge_runtime::database::{BatchSender, ParallelReader, Partitioning};
use tiberius::{ColumnData, Query, QueryItem};

use super::catalog::{self, ColumnInfo};
use super::config::ConnectionSettings;
use super::decode::BatchBuilder;
use super::partition::KeyKind;
use super::pool::{Pool, PooledConn, labelled_error};
use super::sql::{SqlType, TableName, quote};
use super::types::arrow_type;

/// What a home reads.
pub type Source = hygge_runtime::database::Source<TableName>;

/// A validated MSSQL home.
pub struct MssqlHomeSpec {
    /// The connection.
    pub settings: ConnectionSettings,
    /// Table or query.
    pub source: Source,
    /// Rows per batch, when set on the home.
    pub batch_size: Option<usize>,
    /// Parallel range reads, when configured.
    pub partitioning: Option<Partitioning>,
}

impl HomeSpec for MssqlHomeSpec {
    fn build(&self, run: &RunScope) -> Box<dyn Home> {
        Box::new(MssqlHome {
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
        format!("mssql {} {what}{split}", self.settings.label)
    }

    fn batch_size(&self) -> Option<usize> {
        self.batch_size
    }

    fn place(&self) -> Option<Place> {
        self.source.table().map(|table| self.settings.place(table))
    }

    fn connection_label(&self) -> Option<String> {
        Some(self.settings.label.clone())
    }

    fn check_connection(&self) -> Option<Result<String, String>> {
        Some(super::check(&self.settings))
    }
}

struct MssqlHome {
    pool: Pool,
    source: Source,
    partitioning: Option<Partitioning>,
}

/// One statement to run, with its parameters (all bound, never spliced into the text).
#[derive(Debug, Clone)]
struct Statement {
    sql: String,
    text_params: Vec<String>,
    /// Bounds of a partition's range, bound after `text_params`.
    range_params: Vec<ColumnData<'static>>,
}

#[async_trait]
impl Home for MssqlHome {
    async fn open(self: Box<Self>, request: &ReadRequest) -> ConnectorResult<Box<dyn BatchReader>> {
        let settings = self.pool.settings().clone();
        let mut conn = self.pool.get().await?;
        let described = match &self.source {
            Source::Table(table) => catalog::table_columns(&mut conn, &settings, table)
                .await?
                .ok_or_else(|| {
                    ConnectorError::config(format!(
                        "table {table} does not exist in database {} on {}",
                        settings.database, settings.label
                    ))
                    .with_context("check `table` (schema.table) and the connection's database")
                })?,
            Source::Query(sql) => catalog::query_columns(&mut conn, &settings, sql).await?,
        };
        let selected = select_columns(&described, request.columns())?;
        let types: Vec<SqlType> = selected.iter().map(|(_, ty)| *ty).collect();
        let schema: SchemaRef = Arc::new(Schema::new(
            selected
                .iter()
                .map(|(c, ty)| Field::new(&c.name, arrow_type(*ty), c.nullable))
                .collect::<Vec<_>>(),
        ));
        let select_list = selected
            .iter()
            .map(|(c, ty)| match ty {
                // tiberius reads money as f64; the server's own CAST keeps it exact.
                SqlType::Money | SqlType::SmallMoney => {
                    format!("CAST({0} AS DECIMAL(19,4)) AS {0}", quote(&c.name))
                }
                _ => quote(&c.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let from = match &self.source {
            Source::Table(table) => table.quoted(),
            Source::Query(sql) => format!("({sql}) AS [hygge_query]"),
        };
        let mut filters = Vec::new();
        let mut text_params = Vec::new();
        if let Some(watermark) = request.watermark() {
            let Some(column) = described.iter().find(|c| c.name == watermark.column) else {
                return Err(ConnectorError::config(format!(
                    "watermark column `{}` is not a column of the home",
                    watermark.column
                )));
            };
            let (bound, exact) = sql_bound(&watermark.after);
            text_params.push(bound);
            // A bound cut to SQL Server's precision is lower than the real one: read from
            // it inclusively; the flow keeps exactly the rows past the watermark.
            let op = if watermark.inclusive || !exact {
                ">="
            } else {
                ">"
            };
            // Text compares by the column's collation on the server but by bytes in the
            // flow: it is filtered in the flow only, so no row is lost to a collation.
            if pushes_down(&column.sql_type) {
                filters.push(format!("{} {op} @P1", quote(&watermark.column)));
            } else {
                text_params.pop();
            }
        }
        let base = Statement {
            sql: format!("SELECT {select_list} FROM {from}"),
            text_params,
            range_params: Vec::new(),
        };
        let statements = match &self.partitioning {
            None => vec![with_filters(&base, &filters, None)],
            Some(p) => {
                partition_statements(&mut conn, &settings, &described, &from, &base, &filters, p)
                    .await?
            }
        };

        let batch_size = request.batch_size();
        let pool = self.pool.clone();
        let mut first = Some(conn);
        let jobs: Vec<(Statement, Option<PooledConn>)> = statements
            .into_iter()
            .map(|statement| (statement, first.take()))
            .collect();
        let label = settings.label.clone();
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
                    stream_statement(
                        &mut conn, &label, &statement, schema, &types, batch_size, &sender,
                    )
                    .await
                }
            },
        )))
    }
}

/// The described columns to read, in the requested order, with their types; unknown names
/// and types hygge cannot move are config errors that say what to do.
fn select_columns<'a>(
    described: &'a [ColumnInfo],
    requested: Option<&[String]>,
) -> ConnectorResult<Vec<(&'a ColumnInfo, SqlType)>> {
    let picked: Vec<&ColumnInfo> = match requested {
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
        .map(|c| match &c.sql_type {
            Ok(ty) => Ok((c, *ty)),
            Err(server_type) => Err(ConnectorError::config(format!(
                "column `{}` has type {server_type}, which hygge does not read",
                c.name
            ))
            .with_context(format!(
                "use `query:` with CAST({} AS NVARCHAR(MAX)) (or another supported type), or leave the column out with `columns:`",
                quote(&c.name)
            ))),
        })
        .collect()
}

fn with_filters(base: &Statement, filters: &[String], extra: Option<String>) -> Statement {
    let mut all: Vec<String> = filters.to_vec();
    all.extend(extra);
    let mut statement = base.clone();
    if !all.is_empty() {
        statement.sql = format!("{} WHERE {}", base.sql, all.join(" AND "));
    }
    statement
}

/// Splits the read into `partitions` ranges of the partition column, cut evenly between its
/// MIN and MAX (see [`KeyKind`]). The first range is open below and takes the NULL keys, the
/// last is open above, so the ranges cover every row exactly once.
async fn partition_statements(
    conn: &mut PooledConn,
    settings: &ConnectionSettings,
    described: &[ColumnInfo],
    from: &str,
    base: &Statement,
    filters: &[String],
    p: &Partitioning,
) -> ConnectorResult<Vec<Statement>> {
    let column = described
        .iter()
        .find(|c| c.name == p.column)
        .ok_or_else(|| {
            ConnectorError::config(format!(
                "partition_on column `{}` is not in the home",
                p.column
            ))
        })?;
    let Some(kind) = column.sql_type.as_ref().ok().copied().and_then(KeyKind::of) else {
        return Err(ConnectorError::config(format!(
            "partition_on column `{}` must be an integer, decimal, date or date-time column",
            p.column
        ))
        .with_context("pick such a key, or read without partitions"));
    };
    let col = quote(&p.column);
    let bounds = with_filters(
        &Statement {
            sql: format!("SELECT {} FROM {from}", kind.bounds_select(&col)),
            ..base.clone()
        },
        filters,
        None,
    );
    let params: Vec<&str> = bounds.text_params.iter().map(String::as_str).collect();
    let rows = catalog::query_rows(conn, settings, &bounds.sql, &params).await?;
    let bounds = rows
        .into_iter()
        .next()
        .map(|row| row.into_iter().collect::<Vec<_>>());
    let ranges = match bounds.as_deref() {
        Some([lo, hi]) => kind
            .split(lo, hi, p.partitions)
            .map_err(|e| ConnectorError::internal(format!("partition_on `{}`: {e}", p.column)))?,
        _ => None,
    };
    let Some(ranges) = ranges else {
        // Empty, or only NULLs: one read returns exactly those rows.
        return Ok(vec![with_filters(base, filters, None)]);
    };
    let first_param = base.text_params.len() + 1;
    Ok(ranges
        .into_iter()
        .map(|range| {
            let takes_nulls = range.from.is_none();
            let mut conditions = Vec::new();
            let mut params = Vec::new();
            for (bound, op) in [(range.from, ">="), (range.to, "<")] {
                if let Some(value) = bound {
                    conditions.push(format!("{col} {op} @P{}", first_param + params.len()));
                    params.push(value);
                }
            }
            let predicate = match (conditions.is_empty(), takes_nulls) {
                // The only range: every row.
                (true, _) => None,
                (false, true) => Some(format!("({col} IS NULL OR {})", conditions.join(" AND "))),
                (false, false) => Some(conditions.join(" AND ")),
            };
            let mut statement = with_filters(base, filters, predicate);
            statement.range_params = params;
            statement
        })
        .collect())
}

async fn stream_statement(
    conn: &mut PooledConn,
    settings_label: &str,
    statement: &Statement,
    schema: SchemaRef,
    types: &[SqlType],
    batch_size: usize,
    sender: &BatchSender,
) -> ConnectorResult<()> {
    let mut query = Query::new(statement.sql.clone());
    for p in &statement.text_params {
        query.bind(p.clone());
    }
    for p in &statement.range_params {
        query.bind(p.clone());
    }
    conn.busy = true;
    let mut stream = query
        .query(&mut conn.client)
        .await
        .map_err(|e| labelled_error(settings_label, e))?;
    let mut builder = BatchBuilder::new(schema, types, batch_size);
    while let Some(item) = stream
        .try_next()
        .await
        .map_err(|e| labelled_error(settings_label, e))?
    {
        let QueryItem::Row(row) = item else { continue };
        builder
            .append(row.cells().map(|(_, cell)| cell))
            .map_err(|e| ConnectorError::data(e.to_string()))?;
        if builder.len() >= batch_size {
            let batch = builder
                .finish()
                .map_err(|e| ConnectorError::internal(e.to_string()))?;
            if sender.send(Ok(batch)).await.is_err() {
                // The reader is gone; the connection is left busy and will be closed.
                return Ok(());
            }
        }
    }
    drop(stream);
    conn.busy = false;
    if !builder.is_empty() {
        let batch = builder
            .finish()
            .map_err(|e| ConnectorError::internal(e.to_string()))?;
        sender.send(Ok(batch)).await.ok();
    }
    Ok(())
}

/// Whether a watermark on a column of this type can be a `WHERE` on the server: numbers
/// and times order the same there as in the flow; text and GUIDs do not.
fn pushes_down(sql_type: &Result<SqlType, String>) -> bool {
    !matches!(
        sql_type,
        Ok(SqlType::VarChar(_) | SqlType::NVarChar(_) | SqlType::UniqueIdentifier) | Err(_)
    )
}

/// A watermark as SQL Server reads it: fractions of a second cut to the 7 digits of
/// `datetime2` (Arrow writes 9 for nanoseconds). `false` when something was cut.
fn sql_bound(text: &str) -> (String, bool) {
    let Some(dot) = text.find('.').filter(|_| text.contains(':')) else {
        return (text.to_string(), true);
    };
    let digits = text[dot + 1..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len() - dot - 1);
    if digits <= 7 {
        return (text.to_string(), true);
    }
    let kept = &text[..dot + 1 + 7];
    let rest = &text[dot + 1 + digits..];
    let cut = text[dot + 1 + 7..dot + 1 + digits]
        .bytes()
        .any(|b| b != b'0');
    (format!("{kept}{rest}"), !cut)
}

#[cfg(test)]
mod bound_tests {
    use super::sql_bound;

    #[test]
    fn fractions_beyond_seven_digits_are_cut() {
        assert_eq!(sql_bound("42"), ("42".into(), true));
        assert_eq!(
            sql_bound("2024-01-01T00:00:00.123456700"),
            ("2024-01-01T00:00:00.1234567".into(), true)
        );
        assert_eq!(
            sql_bound("2024-01-01T00:00:00.123456789+00:00"),
            ("2024-01-01T00:00:00.1234567+00:00".into(), false)
        );
    }
}
