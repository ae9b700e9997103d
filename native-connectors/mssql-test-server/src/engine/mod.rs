//! The SQL engine: catalog, transactions, and statement execution.

pub(crate) mod bulk;
pub(crate) mod catalog;
pub(crate) mod database;
mod ddl;
mod describe;
mod dml;
pub(crate) mod expr;
mod query;
pub(crate) mod result;
mod views;

use database::Workspace;
use expr::{Env, Globals, Params};
use result::{OutColumn, ResultSet, RowSource};

use crate::error::SqlError;
use crate::sql::ast::{Expr, Statement};
use crate::tds::tokens::cmd;
use crate::types::{SqlType, Value};

pub(crate) use ddl::{key_of, schema_of};
pub(crate) use dml::message_name;

/// What a statement produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A result set.
    Rows(ResultSet),
    /// Rows affected by INSERT / DELETE.
    Affected {
        /// DONE CurCmd.
        cmd: u16,
        /// Count.
        rows: u64,
    },
    /// Done, with informational messages.
    Done(Vec<SqlError>),
}

/// Per-statement inputs besides the workspace.
pub(crate) struct StatementEnv<'a> {
    /// sp_executesql parameters.
    pub(crate) params: &'a Params,
    /// Session facts.
    pub(crate) globals: &'a Globals,
    /// SET FMTONLY ON: only metadata, change nothing.
    pub(crate) fmtonly: bool,
}

/// The objects a statement writes, to lock before it runs.
pub(crate) fn lock_keys(stmt: &Statement) -> Vec<String> {
    match stmt {
        Statement::Insert { table, .. }
        | Statement::Delete { table, .. }
        | Statement::AlterTableAdd { table, .. }
        | Statement::AlterColumn { table, .. }
        | Statement::Truncate(table)
        | Statement::CreateTable { table, .. }
        | Statement::CreateIndex { table, .. }
        | Statement::InsertBulk { table, .. } => vec![key_of(table)],
        Statement::DropTable { tables, .. } => tables.iter().map(key_of).collect(),
        Statement::CreateSchema(name) => vec![format!("schema:{}", name.to_lowercase())],
        Statement::Exec { procedure, args } if procedure == "sp_rename" => {
            let (obj, new, _) = rename_args(args);
            ddl::rename_keys(&obj.unwrap_or_default(), &new.unwrap_or_default())
        }
        _ => Vec::new(),
    }
}

/// An sp_getapplock or sp_releaseapplock call: the session waits for the lock itself.
#[derive(Debug, PartialEq)]
pub(crate) struct AppLockCall {
    /// `@Resource`.
    pub(crate) resource: String,
    /// `@LockTimeout` in milliseconds; `None` waits for ever (-1, the default).
    pub(crate) timeout: Option<std::time::Duration>,
}

/// The lock key of an application lock on `resource` (binary-compared, as SQL Server does).
pub(crate) fn applock_key(resource: &str) -> String {
    format!("applock:{resource}")
}

/// Reads the arguments of sp_getapplock / sp_releaseapplock. Only what hygge uses is
/// supported: `@LockMode = 'Exclusive'` and `@LockOwner = 'Session'`.
pub(crate) fn applock_call(
    procedure: &str,
    args: &[(Option<String>, Expr)],
    se: &StatementEnv<'_>,
) -> Result<AppLockCall, SqlError> {
    let positions: &[&str] = if procedure == "sp_getapplock" {
        &["@resource", "@lockmode", "@lockowner", "@locktimeout"]
    } else {
        &["@resource", "@lockowner"]
    };
    let mut values: std::collections::HashMap<&str, String> = Default::default();
    for (i, (name, e)) in args.iter().enumerate() {
        let key = match name {
            Some(n) => positions
                .iter()
                .find(|p| p.eq_ignore_ascii_case(n))
                .copied()
                .ok_or_else(|| {
                    SqlError::new(
                        8145,
                        format!("{n} is not a parameter for procedure {procedure}."),
                    )
                })?,
            None => positions.get(i).copied().ok_or_else(|| {
                SqlError::new(
                    8144,
                    format!("Procedure or function {procedure} has too many arguments specified."),
                )
            })?,
        };
        let text = match e {
            Expr::Literal(Value::Int(n), _) => Some(n.to_string()),
            Expr::Neg(inner) => match inner.as_ref() {
                Expr::Literal(Value::Int(n), _) => Some((-n).to_string()),
                _ => None,
            },
            other => constant_text(other, se)?,
        };
        let text = text.ok_or_else(|| {
            SqlError::new(
                50000,
                format!("the TDS test server takes only constants and parameters for {key} in {procedure}"),
            )
        })?;
        values.insert(key, text);
    }
    let resource = values.remove("@resource").ok_or_else(|| {
        SqlError::new(
            201,
            format!("Procedure or function '{procedure}' expects parameter '@Resource', which was not supplied."),
        )
    })?;
    let unsupported = |what: &str| {
        SqlError::new(
            50000,
            format!("the TDS test server supports {what} only in {procedure}"),
        )
    };
    if procedure == "sp_getapplock"
        && !values
            .get("@lockmode")
            .is_some_and(|m| m.eq_ignore_ascii_case("exclusive"))
    {
        return Err(unsupported("@LockMode = 'Exclusive'"));
    }
    if !values
        .get("@lockowner")
        .is_some_and(|o| o.eq_ignore_ascii_case("session"))
    {
        return Err(unsupported("@LockOwner = 'Session'"));
    }
    let timeout = match values.get("@locktimeout").map(|t| t.trim().parse::<i64>()) {
        None => None,
        Some(Ok(ms)) if ms < 0 => None,
        Some(Ok(ms)) => Some(std::time::Duration::from_millis(ms as u64)),
        Some(Err(_)) => return Err(SqlError::new(8114, "Error converting data type to int.")),
    };
    Ok(AppLockCall { resource, timeout })
}

/// The text of a constant argument (literal or parameter).
fn constant_text(e: &Expr, se: &StatementEnv<'_>) -> Result<Option<String>, SqlError> {
    match e {
        Expr::Param(name) => {
            let (v, _) = se
                .params
                .get(&name.to_lowercase())
                .ok_or_else(|| SqlError::undeclared_variable(name))?;
            Ok(v.to_text(None))
        }
        other => Ok(text_arg(other)),
    }
}

fn text_arg(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(Value::String(s), _) => Some(s.clone()),
        Expr::Column { name, .. } => Some(name.clone()),
        _ => None,
    }
}

fn rename_args(
    args: &[(Option<String>, Expr)],
) -> (Option<String>, Option<String>, Option<String>) {
    let mut obj = None;
    let mut new = None;
    let mut ty = None;
    for (i, (name, e)) in args.iter().enumerate() {
        let slot = match name.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("@objname") => 0,
            Some("@newname") => 1,
            Some("@objtype") => 2,
            _ => i,
        };
        match slot {
            0 => obj = text_arg(e),
            1 => new = text_arg(e),
            2 => ty = text_arg(e),
            _ => {}
        }
    }
    (obj, new, ty)
}

/// Runs a statement that reads or changes data (not transaction control,
/// SET, or INSERT BULK, which the session handles).
pub(crate) fn execute(
    stmt: &Statement,
    ws: &mut Workspace<'_>,
    se: &StatementEnv<'_>,
) -> Result<Outcome, SqlError> {
    if se.fmtonly && !matches!(stmt, Statement::Select(_)) {
        return Ok(Outcome::Done(Vec::new()));
    }
    let parts = (se.params, se.globals);
    match stmt {
        Statement::Select(sel) => {
            let env = Env {
                params: se.params,
                globals: se.globals,
                ws,
            };
            query::run_select(sel, &env, se.fmtonly).map(Outcome::Rows)
        }
        Statement::Insert {
            table,
            columns,
            source,
        } => dml::insert(ws, parts, table, columns.as_deref(), source).map(|rows| {
            Outcome::Affected {
                cmd: cmd::INSERT,
                rows,
            }
        }),
        Statement::Delete { table, filter } => {
            dml::delete(ws, parts, table, filter.as_ref()).map(|rows| Outcome::Affected {
                cmd: cmd::DELETE,
                rows,
            })
        }
        Statement::CreateSchema(name) => ddl::create_schema(ws, name).map(|()| done()),
        Statement::CreateTable { table, columns } => {
            ddl::create_table(ws, table, columns).map(|()| done())
        }
        Statement::CreateIndex { name, kind, table } => {
            ddl::create_index(ws, name, kind, table).map(|()| done())
        }
        Statement::DropTable { tables, if_exists } => {
            ddl::drop_tables(ws, tables, *if_exists).map(|()| done())
        }
        Statement::AlterTableAdd { table, columns } => {
            ddl::alter_add(ws, table, columns).map(|()| done())
        }
        Statement::AlterColumn { table, column } => {
            ddl::alter_column(ws, table, column, &se.globals.database).map(|()| done())
        }
        Statement::Truncate(table) => ddl::truncate(ws, table).map(|()| done()),
        Statement::Exec { procedure, args } => exec_procedure(procedure, args, ws, se),
        other => Err(SqlError::syntax(&format!("{other:?}"), "")),
    }
}

fn done() -> Outcome {
    Outcome::Done(Vec::new())
}

fn exec_procedure(
    procedure: &str,
    args: &[(Option<String>, Expr)],
    ws: &mut Workspace<'_>,
    se: &StatementEnv<'_>,
) -> Result<Outcome, SqlError> {
    match procedure {
        "sp_describe_first_result_set" => {
            let tsql = args
                .iter()
                .find(|(name, _)| name.as_deref().is_none_or(|n| n.eq_ignore_ascii_case("@tsql")))
                .map(|(_, e)| constant_text(e, se))
                .transpose()?
                .flatten()
                .ok_or_else(|| {
                    SqlError::new(
                        201,
                        "Procedure or function 'sp_describe_first_result_set' expects parameter '@tsql', which was not supplied.",
                    )
                })?;
            describe::first_result_set(&tsql, ws, se).map(Outcome::Rows)
        }
        "sp_rename" => {
            let (obj, new, ty) = rename_args(args);
            let (Some(obj), Some(new)) = (obj, new) else {
                return Err(SqlError::new(
                    201,
                    "Procedure or function 'sp_rename' expects parameter '@newname', which was not supplied.",
                ));
            };
            ddl::rename(ws, &obj, &new, ty.as_deref())?;
            Ok(Outcome::Done(vec![ddl::rename_caution()]))
        }
        "sp_tablecollations_100" | "sp_tablecollations_90" | "sp_tablecollations" => {
            let obj = args
                .first()
                .and_then(|(_, e)| text_arg(e))
                .unwrap_or_default();
            table_collations(&obj, ws)
        }
        other => Err(SqlError::new(
            2812,
            format!("Could not find stored procedure '{other}'."),
        )),
    }
}

/// `sp_tablecollations_100 N'schema.table'` (FreeTDS' bcp asks for it).
fn table_collations(obj: &str, ws: &Workspace<'_>) -> Result<Outcome, SqlError> {
    let parts = ddl::split_name(obj);
    let (schema, table) = match parts.as_slice() {
        [t] => ("dbo".to_string(), t.clone()),
        [.., s, t] => (s.clone(), t.clone()),
        [] => (String::new(), String::new()),
    };
    let columns = vec![
        OutColumn::new("colid", SqlType::Int, false),
        OutColumn::new("name", SqlType::NVarChar(Some(128)), false),
        OutColumn::new("tds_collation_28", SqlType::Binary(5), true),
        OutColumn::new("tds_collation_90", SqlType::Binary(5), true),
        OutColumn::new("tds_collation_100", SqlType::Binary(5), true),
        OutColumn::new("collation_28", SqlType::NVarChar(Some(128)), true),
        OutColumn::new("collation_90", SqlType::NVarChar(Some(128)), true),
        OutColumn::new("collation_100", SqlType::NVarChar(Some(128)), true),
    ];
    let mut rows = Vec::new();
    if let Some(t) = ws.table(&catalog::table_key(&schema, &table)) {
        for (i, c) in t.columns.iter().enumerate() {
            let (bin, name) = if c.ty.is_string() {
                (
                    Value::Binary(crate::tds::wire_type::COLLATION.to_vec()),
                    Value::String("SQL_Latin1_General_CP1_CI_AS".into()),
                )
            } else {
                (Value::Null, Value::Null)
            };
            rows.push(vec![
                Value::Int(i as i64 + 1),
                Value::String(c.name.clone()),
                bin.clone(),
                bin.clone(),
                bin,
                name.clone(),
                name.clone(),
                name,
            ]);
        }
    }
    Ok(Outcome::Rows(ResultSet {
        columns,
        rows: RowSource::Values(rows),
    }))
}
