//! Reading a SQLite query as Arrow: a thread of its own steps the rows on a connection of
//! its own and builds batches by each column's declared type (see [`super::types`]), two
//! at most waiting, so memory stays bounded; dropping the reader stops it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::types::{Stored, for_declared};
use super::write::sqlite_error;
use crate::arrow_db::{ArrowRows, DbError};

/// Rows per batch the reader builds (the flow re-batches to its own size).
const ROWS_PER_BATCH: usize = 8192;

/// Runs `sql` on the database at `path` and streams its rows.
///
/// # Errors
/// SQLite's error preparing the query.
pub fn query(
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: std::time::Duration,
    sql: String,
) -> Result<ArrowRows, DbError> {
    let (schema_tx, schema_rx) = sync_channel::<Result<SchemaRef, DbError>>(1);
    let (batches_tx, batches_rx) = sync_channel(2);
    std::thread::Builder::new()
        .name("hygge-sqlite-read".into())
        .spawn(move || {
            if let Err(e) = produce(&path, flags, busy_timeout, &sql, &schema_tx, &batches_tx) {
                // Before the schema: the open fails; after: the reader's next batch does.
                if schema_tx.send(Err(e.clone())).is_err() {
                    batches_tx
                        .send(Err(ArrowError::ExternalError(e.message.into())))
                        .ok();
                }
            }
        })
        .map_err(|e| DbError::new(format!("cannot start a reader thread: {e}")))?;
    let schema = schema_rx
        .recv()
        .map_err(|_| DbError::new("the reader stopped before describing its columns"))??;
    Ok(Box::new(Rows {
        schema,
        batches: batches_rx,
    }))
}

/// The rows a reader thread sends.
struct Rows {
    schema: SchemaRef,
    batches: Receiver<Result<RecordBatch, ArrowError>>,
}

impl Iterator for Rows {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.recv().ok()
    }
}

impl RecordBatchReader for Rows {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// One column being built.
enum Column {
    Boolean(BooleanBuilder),
    Integer(Int64Builder),
    Real(Float64Builder),
    Text(StringBuilder, DataType),
    Blob(BinaryBuilder),
}

impl Column {
    fn new(stored: &Stored) -> Column {
        match stored {
            Stored::Boolean => Column::Boolean(BooleanBuilder::new()),
            Stored::Integer => Column::Integer(Int64Builder::new()),
            Stored::Real => Column::Real(Float64Builder::new()),
            Stored::Text(ty) => Column::Text(StringBuilder::new(), ty.clone()),
            Stored::Blob => Column::Blob(BinaryBuilder::new()),
        }
    }

    /// Appends `value`, or says why the column cannot hold it.
    fn push(&mut self, value: ValueRef<'_>) -> Result<(), String> {
        let text = |v: ValueRef<'_>| -> Result<Option<String>, String> {
            Ok(match v {
                ValueRef::Text(t) => Some(
                    std::str::from_utf8(t)
                        .map_err(|_| "holds text that is not UTF-8".to_string())?
                        .to_string(),
                ),
                ValueRef::Integer(i) => Some(i.to_string()),
                ValueRef::Real(r) => Some(r.to_string()),
                _ => None,
            })
        };
        match (self, value) {
            (Column::Boolean(b), ValueRef::Null) => b.append_null(),
            (Column::Integer(b), ValueRef::Null) => b.append_null(),
            (Column::Real(b), ValueRef::Null) => b.append_null(),
            (Column::Text(b, _), ValueRef::Null) => b.append_null(),
            (Column::Blob(b), ValueRef::Null) => b.append_null(),
            (Column::Boolean(b), ValueRef::Integer(i @ (0 | 1))) => b.append_value(i == 1),
            (Column::Integer(b), ValueRef::Integer(i)) => b.append_value(i),
            (Column::Real(b), ValueRef::Real(r)) => b.append_value(r),
            // An integer in a REAL or NUMERIC column, when a double holds it exactly.
            #[allow(clippy::cast_precision_loss)]
            (Column::Real(b), ValueRef::Integer(i)) if i.unsigned_abs() <= 1 << 53 => {
                b.append_value(i as f64);
            }
            (Column::Blob(b), ValueRef::Blob(v)) => b.append_value(v),
            (Column::Blob(b), ValueRef::Text(v)) => b.append_value(v),
            (
                Column::Text(b, _),
                v @ (ValueRef::Text(_) | ValueRef::Integer(_) | ValueRef::Real(_)),
            ) => {
                b.append_option(text(v)?);
            }
            (_, v) => {
                return Err(format!("holds a value of class {:?}", v.data_type()));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<ArrayRef, String> {
        Ok(match self {
            Column::Boolean(b) => Arc::new(b.finish()),
            Column::Integer(b) => Arc::new(b.finish()),
            Column::Real(b) => Arc::new(b.finish()),
            Column::Blob(b) => Arc::new(b.finish()),
            Column::Text(b, ty) => {
                let text: ArrayRef = Arc::new(b.finish());
                if *ty == DataType::Utf8 {
                    text
                } else {
                    let options = arrow_cast::CastOptions {
                        safe: false,
                        ..Default::default()
                    };
                    // Text with an offset parses into an offset zone, then takes the
                    // column's (the same instants).
                    let parsed = match ty {
                        DataType::Timestamp(unit, Some(_)) => arrow_cast::cast_with_options(
                            &text,
                            &DataType::Timestamp(*unit, Some("+00:00".into())),
                            &options,
                        ),
                        _ => Ok(text),
                    };
                    parsed
                        .and_then(|parsed| arrow_cast::cast_with_options(&parsed, ty, &options))
                        .map_err(|e| format!("holds text that is not {ty}: {e}"))?
                }
            }
        })
    }
}

/// The class a column with no declared type takes: that of its first value.
fn stored_of(value: ValueRef<'_>) -> Stored {
    match value {
        ValueRef::Integer(_) => Stored::Integer,
        ValueRef::Real(_) => Stored::Real,
        ValueRef::Blob(_) => Stored::Blob,
        ValueRef::Text(_) | ValueRef::Null => Stored::Text(DataType::Utf8),
    }
}

fn produce(
    path: &std::path::Path,
    flags: OpenFlags,
    busy_timeout: std::time::Duration,
    sql: &str,
    schema_tx: &SyncSender<Result<SchemaRef, DbError>>,
    batches_tx: &SyncSender<Result<RecordBatch, ArrowError>>,
) -> Result<(), DbError> {
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    connection
        .busy_timeout(busy_timeout)
        .map_err(sqlite_error)?;
    let mut statement = connection.prepare(sql).map_err(sqlite_error)?;
    let names: Vec<String> = statement
        .column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let declared: Vec<Option<Stored>> = statement
        .columns()
        .iter()
        .map(|c| for_declared(c.decl_type()))
        .collect();
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    let first = rows.next().map_err(sqlite_error)?;
    let stored: Vec<Stored> = declared
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            d.unwrap_or_else(|| {
                first
                    .and_then(|row| row.get_ref(i).ok())
                    .map_or(Stored::Text(DataType::Utf8), stored_of)
            })
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .zip(&stored)
            .map(|(n, s)| Field::new(n, s.arrow(), true))
            .collect::<Vec<_>>(),
    ));
    if schema_tx.send(Ok(schema.clone())).is_err() {
        return Ok(());
    }
    let mut columns: Vec<Column> = stored.iter().map(Column::new).collect();
    let mut pending = 0;
    let mut read = 0u64;
    let flush = |columns: &mut Vec<Column>| -> Result<RecordBatch, DbError> {
        let arrays = columns
            .iter_mut()
            .zip(&names)
            .map(|(c, n)| c.finish().map_err(|why| bad_value(n, &why)))
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(schema.clone(), arrays).map_err(|e| DbError::new(e.to_string()))
    };
    let push = |columns: &mut Vec<Column>, row: &rusqlite::Row<'_>, read: u64| {
        for (i, column) in columns.iter_mut().enumerate() {
            let value = row.get_ref(i).map_err(sqlite_error)?;
            column
                .push(value)
                .map_err(|why| bad_value(&names[i], &format!("{why} in row {read}")))?;
        }
        Ok::<_, DbError>(())
    };
    if let Some(row) = first {
        read += 1;
        push(&mut columns, row, read)?;
        pending += 1;
    }
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        read += 1;
        push(&mut columns, row, read)?;
        pending += 1;
        if pending == ROWS_PER_BATCH {
            if batches_tx.send(Ok(flush(&mut columns)?)).is_err() {
                return Ok(());
            }
            pending = 0;
        }
    }
    if pending > 0 {
        batches_tx.send(Ok(flush(&mut columns)?)).ok();
    }
    Ok(())
}

/// A value the column's type cannot hold (SQLite does not enforce declared types).
fn bad_value(column: &str, why: &str) -> DbError {
    DbError::new(format!(
        "column `{column}` {why}; SQLite does not enforce column types: read it as text with `query: SELECT CAST({column} AS TEXT) AS {column}, …`"
    ))
}
