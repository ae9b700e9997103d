//! `sp_describe_first_result_set`: the columns a query would return.

use super::StatementEnv;
use super::database::Workspace;
use super::expr::Env;
use super::query::run_select;
use super::result::{OutColumn, ResultSet, RowSource};
use crate::error::SqlError;
use crate::sql::ast::Statement;
use crate::sql::parse_batch;
use crate::tds::wire_type::decimal_size;
use crate::types::{SqlType, Value};

/// `sys.types.system_type_id`.
fn system_type_id(t: SqlType) -> i64 {
    match t {
        SqlType::Bit => 104,
        SqlType::TinyInt => 48,
        SqlType::SmallInt => 52,
        SqlType::Int => 56,
        SqlType::BigInt => 127,
        SqlType::Real => 59,
        SqlType::Float => 62,
        SqlType::Decimal { .. } => 106,
        SqlType::Numeric { .. } => 108,
        SqlType::Money => 60,
        SqlType::SmallMoney => 122,
        SqlType::Date => 40,
        SqlType::Time(_) => 41,
        SqlType::DateTime2(_) => 42,
        SqlType::DateTimeOffset(_) => 43,
        SqlType::DateTime => 61,
        SqlType::SmallDateTime => 58,
        SqlType::Char(_) => 175,
        SqlType::VarChar(_) => 167,
        SqlType::NChar(_) => 239,
        SqlType::NVarChar(_) => 231,
        SqlType::Text => 35,
        SqlType::NText => 99,
        SqlType::Binary(_) => 173,
        SqlType::VarBinary(_) => 165,
        SqlType::Image => 34,
        SqlType::Xml => 241,
        SqlType::UniqueIdentifier => 36,
        SqlType::SqlVariant => 98,
    }
}

/// (max_length, precision, scale) as `sp_describe_first_result_set` reports them.
fn sizes(t: SqlType) -> (i64, i64, i64) {
    let time_len = |s: u8| match s {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    };
    let time_precision = |s: u8| 8 + i64::from(s) + i64::from(s > 0);
    match t {
        SqlType::Bit => (1, 1, 0),
        SqlType::TinyInt => (1, 3, 0),
        SqlType::SmallInt => (2, 5, 0),
        SqlType::Int => (4, 10, 0),
        SqlType::BigInt => (8, 19, 0),
        SqlType::Real => (4, 24, 0),
        SqlType::Float => (8, 53, 0),
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => (
            i64::from(decimal_size(precision)),
            i64::from(precision),
            i64::from(scale),
        ),
        SqlType::Money => (8, 19, 4),
        SqlType::SmallMoney => (4, 10, 4),
        SqlType::Date => (3, 10, 0),
        SqlType::Time(s) => (time_len(s), time_precision(s), i64::from(s)),
        SqlType::DateTime2(s) => (time_len(s) + 3, time_precision(s) + 11, i64::from(s)),
        SqlType::DateTimeOffset(s) => (time_len(s) + 5, time_precision(s) + 18, i64::from(s)),
        SqlType::DateTime => (8, 23, 3),
        SqlType::SmallDateTime => (4, 16, 0),
        SqlType::Char(n) | SqlType::Binary(n) => (i64::from(n), 0, 0),
        SqlType::NChar(n) => (2 * i64::from(n), 0, 0),
        SqlType::VarChar(n) | SqlType::VarBinary(n) => (n.map(i64::from).unwrap_or(-1), 0, 0),
        SqlType::NVarChar(n) => (n.map(|n| 2 * i64::from(n)).unwrap_or(-1), 0, 0),
        SqlType::Text | SqlType::NText | SqlType::Image => (16, 0, 0),
        SqlType::Xml => (-1, 0, 0),
        SqlType::UniqueIdentifier => (16, 0, 0),
        SqlType::SqlVariant => (8016, 0, 0),
    }
}

/// Describes the first result set of `tsql` (one SELECT), like SQL Server's
/// first ten columns of `sp_describe_first_result_set`.
pub(crate) fn first_result_set(
    tsql: &str,
    ws: &Workspace<'_>,
    se: &StatementEnv<'_>,
) -> Result<ResultSet, SqlError> {
    let statements = parse_batch(tsql)?;
    let select = statements
        .iter()
        .find_map(|s| match s {
            Statement::Select(sel) => Some(sel),
            _ => None,
        })
        .ok_or_else(|| {
            SqlError::new(
                11_501,
                "The batch could not be analyzed because it does not contain a SELECT statement.",
            )
        })?;
    let env = Env {
        params: se.params,
        globals: se.globals,
        ws,
    };
    let described = run_select(select, &env, true)?;
    let columns = vec![
        OutColumn::new("is_hidden", SqlType::Bit, false),
        OutColumn::new("column_ordinal", SqlType::Int, false),
        OutColumn::new("name", SqlType::NVarChar(Some(128)), true),
        OutColumn::new("is_nullable", SqlType::Bit, false),
        OutColumn::new("system_type_id", SqlType::Int, false),
        OutColumn::new("system_type_name", SqlType::NVarChar(Some(256)), true),
        OutColumn::new("max_length", SqlType::SmallInt, false),
        OutColumn::new("precision", SqlType::TinyInt, false),
        OutColumn::new("scale", SqlType::TinyInt, false),
        OutColumn::new("collation_name", SqlType::NVarChar(Some(128)), true),
    ];
    let rows = described
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (max_length, precision, scale) = sizes(c.ty);
            vec![
                Value::Bool(false),
                Value::Int(i as i64 + 1),
                if c.name.is_empty() {
                    Value::Null
                } else {
                    Value::String(c.name.clone())
                },
                Value::Bool(c.nullable),
                Value::Int(system_type_id(c.ty)),
                Value::String(c.ty.to_string()),
                Value::Int(max_length),
                Value::Int(precision),
                Value::Int(scale),
                if c.ty.is_string() && c.ty != SqlType::Xml {
                    Value::String("SQL_Latin1_General_CP1_CI_AS".into())
                } else {
                    Value::Null
                },
            ]
        })
        .collect();
    Ok(ResultSet {
        columns,
        rows: RowSource::Values(rows),
    })
}
