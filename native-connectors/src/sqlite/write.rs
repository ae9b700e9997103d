//! Loading Arrow batches into a SQLite table: each column turned into the values its
//! storage class holds (see [`super::types`]), then one prepared INSERT per row, in one
//! transaction.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use rusqlite::Connection;
use rusqlite::types::ToSqlOutput;

use super::types::{Stored, for_arrow};
use crate::arrow_db::dialect::quote;
use crate::arrow_db::{ArrowRows, DbError};

/// One column's values as SQLite takes them.
enum Values {
    Boolean(arrow_array::BooleanArray),
    Integer(arrow_array::Int64Array),
    Real(arrow_array::Float64Array),
    Text(arrow_array::StringArray),
    Blob(arrow_array::BinaryArray),
}

impl Values {
    fn of(column: &ArrayRef, name: &str) -> Result<Values, DbError> {
        // A dictionary column is written as its values.
        let column = &match column.data_type() {
            DataType::Dictionary(_, values) => arrow_cast::cast(column, values)
                .map_err(|e| DbError::new(format!("column `{name}`: {e}")))?,
            _ => column.clone(),
        };
        let cast = |to: &DataType| {
            arrow_cast::cast(column, to).map_err(|e| DbError::new(format!("column `{name}`: {e}")))
        };
        let Some((_, stored)) = for_arrow(column.data_type()) else {
            return Err(unsupported(name, column.data_type()));
        };
        Ok(match stored {
            Stored::Boolean => Values::Boolean(column.as_boolean().clone()),
            Stored::Integer => {
                if let DataType::UInt64 = column.data_type() {
                    let too_big = column
                        .as_primitive::<UInt64Type>()
                        .iter()
                        .flatten()
                        .find(|v| i64::try_from(*v).is_err());
                    if let Some(v) = too_big {
                        return Err(DbError::new(format!(
                            "column `{name}` holds {v}, above SQLite's largest integer (2^63-1)"
                        )));
                    }
                }
                Values::Integer(cast(&DataType::Int64)?.as_primitive::<Int64Type>().clone())
            }
            Stored::Real => {
                let reals = cast(&DataType::Float64)?
                    .as_primitive::<arrow_array::types::Float64Type>()
                    .clone();
                // SQLite stores NaN as NULL: refused rather than changed.
                if reals.iter().flatten().any(f64::is_nan) {
                    return Err(DbError::new(format!(
                        "column `{name}` holds NaN, which SQLite would store as NULL; replace it at the home (NULLIF, or a value)"
                    )));
                }
                Values::Real(reals)
            }
            Stored::Blob => Values::Blob(cast(&DataType::Binary)?.as_binary::<i32>().clone()),
            Stored::Text(_) => match column.data_type() {
                // Zoned timestamps are written in UTC, as `…+00:00`: the instants as UTC wall
                // clock time, then the offset.
                DataType::Timestamp(unit, Some(_)) => {
                    let utc = cast(&DataType::Timestamp(*unit, Some("+00:00".into())))?;
                    let wall = arrow_cast::cast(&utc, &DataType::Timestamp(*unit, None))
                        .and_then(|wall| arrow_cast::cast(&wall, &DataType::Utf8))
                        .map_err(|e| DbError::new(format!("column `{name}`: {e}")))?;
                    Values::Text(
                        wall.as_string::<i32>()
                            .iter()
                            .map(|v| v.map(|v| format!("{v}+00:00")))
                            .collect(),
                    )
                }
                DataType::Date64 => Values::Text(
                    arrow_cast::cast(&cast(&DataType::Date32)?, &DataType::Utf8)
                        .map_err(|e| DbError::new(format!("column `{name}`: {e}")))?
                        .as_string::<i32>()
                        .clone(),
                ),
                _ => Values::Text(cast(&DataType::Utf8)?.as_string::<i32>().clone()),
            },
        })
    }

    fn get(&self, row: usize) -> ToSqlOutput<'_> {
        use rusqlite::types::ValueRef;
        let null = |array: &dyn Array| array.is_null(row);
        match self {
            Values::Boolean(a) if !null(a) => ToSqlOutput::Owned(i64::from(a.value(row)).into()),
            Values::Integer(a) if !null(a) => ToSqlOutput::Owned(a.value(row).into()),
            Values::Real(a) if !null(a) => ToSqlOutput::Owned(a.value(row).into()),
            Values::Text(a) if !null(a) => {
                ToSqlOutput::Borrowed(ValueRef::Text(a.value(row).as_bytes()))
            }
            Values::Blob(a) if !null(a) => ToSqlOutput::Borrowed(ValueRef::Blob(a.value(row))),
            _ => ToSqlOutput::Owned(rusqlite::types::Value::Null),
        }
    }
}

/// The refusal of a column SQLite cannot hold.
pub fn unsupported(name: &str, ty: &DataType) -> DbError {
    DbError::new(format!(
        "column `{name}` is {ty}, which SQLite cannot hold; leave it out with `columns:`, or cast it at the home (to text, say)"
    ))
}

/// `CREATE TABLE` for `schema`, with the declared types hygge reads back.
///
/// # Errors
/// A column SQLite cannot hold, named.
pub fn create_table(table: &str, schema: &SchemaRef) -> Result<String, DbError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let (declared, _) =
                for_arrow(f.data_type()).ok_or_else(|| unsupported(f.name(), f.data_type()))?;
            Ok(format!("{} {declared}", quote(f.name())))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(format!("CREATE TABLE {table} ({})", columns.join(", ")))
}

/// Creates `table` from the schema of `rows` and inserts them, in one transaction.
///
/// # Errors
/// SQLite's error, or a value SQLite cannot hold.
pub fn ingest(connection: &mut Connection, table: &str, rows: ArrowRows) -> Result<(), DbError> {
    let schema = rows.schema();
    let transaction = connection.transaction().map_err(sqlite_error)?;
    transaction
        .execute_batch(&create_table(table, &schema)?)
        .map_err(sqlite_error)?;
    let marks: Vec<String> = (1..=schema.fields().len())
        .map(|i| format!("?{i}"))
        .collect();
    let insert = format!("INSERT INTO {table} VALUES ({})", marks.join(", "));
    {
        let mut statement = transaction.prepare(&insert).map_err(sqlite_error)?;
        for batch in rows {
            let batch: RecordBatch = batch.map_err(|e| DbError::new(e.to_string()))?;
            let values = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| Values::of(c, f.name()))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                for (i, column) in values.iter().enumerate() {
                    statement
                        .raw_bind_parameter(i + 1, column.get(row))
                        .map_err(sqlite_error)?;
                }
                statement.raw_execute().map_err(sqlite_error)?;
            }
        }
    }
    transaction.commit().map_err(sqlite_error)
}

/// SQLite's error: a busy or locked database (another writer held it past the timeout) is
/// a connection error, retried; the caller classifies the rest.
pub fn sqlite_error(e: rusqlite::Error) -> DbError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    let busy = matches!(e.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked));
    DbError {
        message: e.to_string(),
        kind: busy.then_some(hygge_runtime::contract::ErrorKind::Connection),
    }
}
