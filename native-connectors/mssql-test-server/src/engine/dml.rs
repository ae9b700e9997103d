//! INSERT … VALUES / SELECT and DELETE.

use super::catalog::{Column, RowStore, column_index, encode_row, row_spans};
use super::database::Workspace;
use super::ddl::{key_of, schema_of};
use super::expr::{Binder, Env, NoRow, StoredRow, eval, is_true};
use super::query::run_select;
use crate::error::SqlError;
use crate::sql::ast::{Expr, InsertSource, ObjectName};
use crate::types::convert::{Target, convert};
use crate::types::{SqlType, Value};

/// `db.schema.table`, the table name SQL Server puts in 515 / 2628 messages.
pub(crate) fn message_name(database: &str, schema: &str, table: &str) -> String {
    format!("{database}.{schema}.{table}")
}

/// Converts one input row (values for `targets`) into a stored row of `columns`.
pub(crate) fn build_row(
    columns: &[Column],
    targets: &[usize],
    values: &[(Value, Option<SqlType>)],
    table_msg: &str,
    full: &mut Vec<Value>,
    out: &mut Vec<u8>,
) -> Result<(), SqlError> {
    full.clear();
    full.resize(columns.len(), Value::Null);
    for (&t, (v, from)) in targets.iter().zip(values) {
        let c = &columns[t];
        full[t] = convert(
            v,
            *from,
            c.ty,
            Target::Column {
                table: table_msg,
                column: &c.name,
            },
        )?;
    }
    for (c, v) in columns.iter().zip(full.iter()) {
        if v.is_null() && !c.nullable {
            return Err(SqlError::null_not_allowed(&c.name, table_msg));
        }
    }
    encode_row(columns, full, out)
}

fn target_columns(columns: &[Column], list: Option<&[String]>) -> Result<Vec<usize>, SqlError> {
    let Some(list) = list else {
        return Ok((0..columns.len()).collect());
    };
    let mut out = Vec::new();
    for name in list {
        let i = column_index(columns, name).ok_or_else(|| SqlError::invalid_column(name))?;
        if out.contains(&i) {
            return Err(SqlError::new(
                264,
                format!(
                    "The column name '{name}' is specified more than once in the SET clause or column list of an INSERT. A column cannot be assigned more than one value in the same clause. Modify the clause to make sure that a column is updated only once. If this statement updates or inserts columns into a view, column aliasing can conceal the duplication in your code."
                ),
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// INSERT; returns the number of rows inserted.
pub(crate) fn insert(
    ws: &mut Workspace<'_>,
    env_parts: (&super::expr::Params, &super::expr::Globals),
    name: &ObjectName,
    list: Option<&[String]>,
    source: &InsertSource,
) -> Result<u64, SqlError> {
    let key = key_of(name);
    let table = ws
        .table(&key)
        .ok_or_else(|| SqlError::invalid_object(&name.display()))?;
    let targets = target_columns(&table.columns, list)?;
    let rows: Vec<Vec<(Value, Option<SqlType>)>> = {
        let env = Env {
            params: env_parts.0,
            globals: env_parts.1,
            ws,
        };
        match source {
            InsertSource::Values(rows) => {
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    if row.len() != targets.len() {
                        return Err(values_mismatch(list.is_some(), row.len(), targets.len()));
                    }
                    out.push(eval_constants(row, &env)?);
                }
                out
            }
            InsertSource::Select(sel) => {
                let rs = run_select(sel, &env, false)?;
                if rs.columns.len() != targets.len() {
                    return Err(if rs.columns.len() < targets.len() {
                        SqlError::new(
                            120,
                            "The select list for the INSERT statement contains fewer items than the insert list. The number of SELECT values must match the number of INSERT columns.",
                        )
                    } else {
                        SqlError::new(
                            121,
                            "The select list for the INSERT statement contains more items than the insert list. The number of SELECT values must match the number of INSERT columns.",
                        )
                    });
                }
                let types: Vec<SqlType> = rs.columns.iter().map(|c| c.ty).collect();
                rs.into_values()?
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .zip(types.iter())
                            .map(|(v, t)| (v, Some(*t)))
                            .collect()
                    })
                    .collect()
            }
        }
    };
    let table_msg = message_name(&env_parts.1.database, schema_of(name), &table.name);
    let mut staging = RowStore::default();
    let mut buf = Vec::new();
    let mut full = Vec::new();
    for row in &rows {
        buf.clear();
        build_row(
            &table.columns,
            &targets,
            row,
            &table_msg,
            &mut full,
            &mut buf,
        )?;
        staging.push(&buf);
    }
    let count = staging.len() as u64;
    let t = ws
        .table_mut(&key)
        .ok_or_else(|| SqlError::invalid_object(&name.display()))?;
    t.rows.append(staging);
    Ok(count)
}

fn values_mismatch(explicit: bool, values: usize, columns: usize) -> SqlError {
    if !explicit {
        return SqlError::new(
            213,
            "Column name or number of supplied values does not match table definition.",
        );
    }
    if values < columns {
        SqlError::new(
            109,
            "There are more columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.",
        )
    } else {
        SqlError::new(
            110,
            "There are fewer columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.",
        )
    }
}

fn eval_constants(row: &[Expr], env: &Env<'_>) -> Result<Vec<(Value, Option<SqlType>)>, SqlError> {
    let mut binder = Binder {
        columns: &[],
        qualifiers: Vec::new(),
        env,
        aggs: None,
        outer: None,
    };
    let mut out = Vec::with_capacity(row.len());
    for e in row {
        if let Expr::Column { name, .. } = e {
            return Err(SqlError::new(
                128,
                format!(
                    "The name \"{name}\" is not permitted in this context. Valid expressions are constants, constant expressions, and (in some contexts) variables. Column names are not permitted."
                ),
            ));
        }
        let t = binder.bind(e)?;
        let v = eval(&t.expr, &NoRow, &[])?;
        out.push((v, Some(t.ty)));
    }
    Ok(out)
}

/// DELETE; returns the number of rows deleted.
pub(crate) fn delete(
    ws: &mut Workspace<'_>,
    env_parts: (&super::expr::Params, &super::expr::Globals),
    name: &ObjectName,
    filter: Option<&Expr>,
) -> Result<u64, SqlError> {
    let key = key_of(name);
    let table = ws
        .table(&key)
        .ok_or_else(|| SqlError::invalid_object(&name.display()))?;
    let Some(filter) = filter else {
        let n = table.rows.len() as u64;
        if let Some(t) = ws.table_mut(&key) {
            t.rows.clear();
        }
        return Ok(n);
    };
    let bound = {
        let env = Env {
            params: env_parts.0,
            globals: env_parts.1,
            ws,
        };
        let mut binder = Binder {
            columns: &table.columns,
            qualifiers: vec![table.name.clone()],
            env: &env,
            aggs: None,
            outer: None,
        };
        binder.bind(filter)?.expr
    };
    let mut kept = RowStore::default();
    let mut removed = 0u64;
    let mut spans = Vec::new();
    for r in table.rows.refs() {
        let row = table.rows.row(r);
        row_spans(&table.columns, row, &mut spans)?;
        let access = StoredRow {
            columns: &table.columns,
            row,
            spans: &spans,
        };
        if is_true(&bound, &access, &[])? {
            removed += 1;
        } else {
            kept.push(row);
        }
    }
    if let Some(t) = ws.table_mut(&key) {
        t.rows = kept;
    }
    Ok(removed)
}
