//! Expressions bound to a row layout: name resolution, typing, evaluation.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::catalog::{Column, Span, column_index, stored_value, table_key};
use super::database::Workspace;
use super::query::run_select;
use super::result::OutColumn;
use crate::error::SqlError;
use crate::sql::ast::{Aggregate, BinOp, Expr, FromClause, Select, SelectItem};
use crate::types::compare::{compare, like};
use crate::types::convert::{Target, convert};
use crate::types::temporal::{DAYS_TO_1900, TICKS_PER_SECOND};
use crate::types::{Decimal, SqlType, Value, pow10};

/// Text of `@@VERSION`.
pub(crate) const VERSION_TEXT: &str = "Microsoft SQL Server 2022 (RTM) - 16.0.4100.1 (X64) \n\thygge TDS test server (an in-memory stand-in for tests; not SQL Server)\n";

/// Parameters of an `sp_executesql` call by lower-case name (`@p1`).
pub(crate) type Params = HashMap<String, (Value, Option<SqlType>)>;

/// Session facts expressions can read (`@@SPID`, `DB_NAME()`, …).
#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    /// Current database name.
    pub(crate) database: String,
    /// Login name.
    pub(crate) user: String,
    /// Session id.
    pub(crate) spid: u16,
    /// Open transaction depth.
    pub(crate) trancount: u32,
    /// Rows affected by the previous statement.
    pub(crate) rowcount: u64,
    /// Resources of the application locks the session holds (sp_getapplock).
    pub(crate) applocks: Vec<String>,
}

/// What binding and evaluation can look at besides the row.
pub(crate) struct Env<'a> {
    /// Parameters.
    pub(crate) params: &'a Params,
    /// Session facts.
    pub(crate) globals: &'a Globals,
    /// The catalog, for `OBJECT_ID`.
    pub(crate) ws: &'a Workspace<'a>,
}

/// A scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    IsNull,
    Coalesce,
    Upper,
    Lower,
    LTrim,
    RTrim,
    Trim,
    Len,
    DataLength,
    Now(SqlType, bool),
}

/// A bound expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum BExpr {
    /// Column `i` of the input row.
    Col(usize),
    /// A constant (literal, parameter, global).
    Const(Value),
    /// Arithmetic negation.
    Neg(Box<BExpr>, SqlType),
    /// Logical NOT.
    Not(Box<BExpr>),
    /// Comparison or AND/OR.
    Logic(BinOp, Box<BExpr>, Box<BExpr>),
    /// Arithmetic or concatenation with its result type.
    Arith(BinOp, Box<BExpr>, Box<BExpr>, SqlType),
    /// IS [NOT] NULL.
    IsNull(Box<BExpr>, bool),
    /// [NOT] LIKE.
    Like(Box<BExpr>, Box<BExpr>, bool),
    /// [NOT] IN.
    InList(Box<BExpr>, Vec<BExpr>, bool),
    /// [NOT] BETWEEN.
    Between(Box<BExpr>, Box<BExpr>, Box<BExpr>, bool),
    /// CAST(x AS to) where x has type `from`.
    Cast(Box<BExpr>, SqlType, SqlType),
    /// Scalar function.
    Func(Func, Vec<BExpr>),
    /// The result of aggregate slot `i`.
    Agg(usize),
    /// `EXISTS (SELECT … FROM t WHERE …)`: the rows of `t`, and the filter bound to the
    /// inner row's columns followed by the outer row's (`inner_len` of the inner).
    Exists {
        /// The subquery's input rows.
        rows: std::sync::Arc<Vec<Vec<Value>>>,
        /// Its WHERE, if any.
        filter: Option<Box<BExpr>>,
        /// Columns of an inner row.
        inner_len: usize,
    },
}

/// The row a correlated subquery's filter sees: the inner row's columns, then the
/// outer row's.
struct Correlated<'a> {
    inner: &'a [Value],
    outer: &'a dyn RowAccess,
}

impl RowAccess for Correlated<'_> {
    fn value(&self, i: usize) -> Result<Value, SqlError> {
        match self.inner.get(i) {
            Some(v) => Ok(v.clone()),
            None => self.outer.value(i - self.inner.len()),
        }
    }
}

/// The enclosing query's row layout, for a subquery's correlated references.
pub(crate) struct Outer<'a> {
    /// Its columns.
    pub(crate) columns: &'a [Column],
    /// Its qualifiers.
    pub(crate) qualifiers: Vec<String>,
}

/// A bound expression with its type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Typed {
    /// The expression.
    pub(crate) expr: BExpr,
    /// Its SQL type.
    pub(crate) ty: SqlType,
    /// Whether it can be NULL.
    pub(crate) nullable: bool,
}

/// One aggregate to compute.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AggSpec {
    /// Function.
    pub(crate) kind: Aggregate,
    /// Argument (`None` = `*`).
    pub(crate) arg: Option<Typed>,
    /// Result type.
    pub(crate) ty: SqlType,
}

/// Resolves names against a row layout.
pub(crate) struct Binder<'a> {
    /// Input columns.
    pub(crate) columns: &'a [Column],
    /// Names the input can be qualified with (table name, alias).
    pub(crate) qualifiers: Vec<String>,
    /// Environment.
    pub(crate) env: &'a Env<'a>,
    /// Where aggregates go; `None` where aggregates are not allowed.
    pub(crate) aggs: Option<Vec<AggSpec>>,
    /// The enclosing query, when this binds a correlated subquery.
    pub(crate) outer: Option<Outer<'a>>,
}

fn typed(expr: BExpr, ty: SqlType, nullable: bool) -> Typed {
    Typed { expr, ty, nullable }
}

fn numeric_rank(t: SqlType) -> Option<u8> {
    Some(match t {
        SqlType::Bit => 1,
        SqlType::TinyInt => 2,
        SqlType::SmallInt => 3,
        SqlType::Int => 4,
        SqlType::BigInt => 5,
        SqlType::SmallMoney => 6,
        SqlType::Money => 7,
        SqlType::Decimal { .. } | SqlType::Numeric { .. } => 8,
        SqlType::Real => 9,
        SqlType::Float => 10,
        _ => return None,
    })
}

fn arith_type(op: BinOp, l: SqlType, r: SqlType) -> Result<SqlType, SqlError> {
    if l.is_string() || r.is_string() {
        if op == BinOp::Add {
            let unicode = matches!(l, SqlType::NVarChar(_) | SqlType::NChar(_))
                || matches!(r, SqlType::NVarChar(_) | SqlType::NChar(_))
                || !(l.is_string() && r.is_string());
            return Ok(if unicode {
                SqlType::NVarChar(None)
            } else {
                SqlType::VarChar(None)
            });
        }
        if numeric_rank(l).is_some() || numeric_rank(r).is_some() {
            // '1' * 2: the string converts to the number.
            let num = if numeric_rank(l).is_some() { l } else { r };
            return Ok(num);
        }
    }
    let (Some(a), Some(b)) = (numeric_rank(l), numeric_rank(r)) else {
        let bad = if numeric_rank(l).is_none() { l } else { r };
        let opname = match op {
            BinOp::Add => "add",
            BinOp::Sub => "subtract",
            BinOp::Mul => "multiply",
            BinOp::Div => "divide",
            _ => "modulo",
        };
        return Err(SqlError::new(
            8117,
            format!(
                "Operand data type {} is invalid for {opname} operator.",
                bad.data_type_name()
            ),
        ));
    };
    let top = if a >= b { l } else { r };
    Ok(match top {
        SqlType::Bit | SqlType::TinyInt | SqlType::SmallInt => SqlType::Int,
        SqlType::Decimal { .. } | SqlType::Numeric { .. } => {
            let scale_of = |t: SqlType| match t {
                SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => scale,
                SqlType::Money | SqlType::SmallMoney => 4,
                _ => 0,
            };
            let scale = match op {
                BinOp::Mul => scale_of(l) + scale_of(r),
                BinOp::Div => (scale_of(l) + 6).max(6),
                _ => scale_of(l).max(scale_of(r)),
            };
            SqlType::Numeric {
                precision: 38,
                scale: scale.min(38),
            }
        }
        other => other,
    })
}

impl Binder<'_> {
    /// Binds an expression.
    pub(crate) fn bind(&mut self, e: &Expr) -> Result<Typed, SqlError> {
        Ok(match e {
            Expr::Column { qualifier, name } => {
                let matches = |qualifiers: &[String]| {
                    qualifier
                        .as_ref()
                        .is_none_or(|q| qualifiers.iter().any(|x| x.eq_ignore_ascii_case(q)))
                };
                let inner = matches(&self.qualifiers)
                    .then(|| column_index(self.columns, name))
                    .flatten();
                let outer = self.outer.as_ref().and_then(|o| {
                    matches(&o.qualifiers)
                        .then(|| column_index(o.columns, name))
                        .flatten()
                        .map(|j| (self.columns.len() + j, &o.columns[j]))
                });
                match (inner, outer) {
                    (Some(i), _) => {
                        let c = &self.columns[i];
                        typed(BExpr::Col(i), c.ty, c.nullable)
                    }
                    (None, Some((i, c))) => typed(BExpr::Col(i), c.ty, c.nullable),
                    (None, None) => {
                        if let Some(q) = qualifier
                            && !matches(&self.qualifiers)
                        {
                            return Err(SqlError::new(
                                4104,
                                format!(
                                    "The multi-part identifier \"{q}.{name}\" could not be bound."
                                ),
                            ));
                        }
                        return Err(SqlError::invalid_column(name));
                    }
                }
            }
            Expr::Exists(select) => self.exists(select)?,
            Expr::Literal(v, ty) => typed(BExpr::Const(v.clone()), *ty, v.is_null()),
            Expr::Param(name) => {
                let (v, ty) = self
                    .env
                    .params
                    .get(&name.to_lowercase())
                    .ok_or_else(|| SqlError::undeclared_variable(name))?;
                typed(
                    BExpr::Const(v.clone()),
                    ty.unwrap_or_else(|| v.natural_type()),
                    true,
                )
            }
            Expr::Global(name) => self.global(name)?,
            Expr::Neg(inner) => {
                let t = self.bind(inner)?;
                let ty = arith_type(BinOp::Sub, SqlType::Int, t.ty)?;
                typed(BExpr::Neg(Box::new(t.expr), ty), ty, t.nullable)
            }
            Expr::Not(inner) => {
                let t = self.bind(inner)?;
                typed(BExpr::Not(Box::new(t.expr)), SqlType::Bit, true)
            }
            Expr::Binary(op, a, b) => {
                let ta = self.bind(a)?;
                let tb = self.bind(b)?;
                match op {
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                        let ty = arith_type(*op, ta.ty, tb.ty)?;
                        typed(
                            BExpr::Arith(*op, Box::new(ta.expr), Box::new(tb.expr), ty),
                            ty,
                            ta.nullable || tb.nullable,
                        )
                    }
                    _ => {
                        for t in [&ta, &tb] {
                            if !t.ty.is_comparable() && !matches!(op, BinOp::And | BinOp::Or) {
                                return Err(SqlError::new(
                                    402,
                                    format!(
                                        "The data types {} and {} are incompatible in the equal to operator.",
                                        ta.ty.data_type_name(),
                                        tb.ty.data_type_name()
                                    ),
                                ));
                            }
                        }
                        typed(
                            BExpr::Logic(*op, Box::new(ta.expr), Box::new(tb.expr)),
                            SqlType::Bit,
                            true,
                        )
                    }
                }
            }
            Expr::IsNull(inner, neg) => {
                let t = self.bind(inner)?;
                typed(BExpr::IsNull(Box::new(t.expr), *neg), SqlType::Bit, false)
            }
            Expr::Like(a, b, neg) => {
                let ta = self.bind(a)?;
                let tb = self.bind(b)?;
                typed(
                    BExpr::Like(Box::new(ta.expr), Box::new(tb.expr), *neg),
                    SqlType::Bit,
                    true,
                )
            }
            Expr::InList(a, list, neg) => {
                let ta = self.bind(a)?;
                let mut items = Vec::new();
                for x in list {
                    items.push(self.bind(x)?.expr);
                }
                typed(
                    BExpr::InList(Box::new(ta.expr), items, *neg),
                    SqlType::Bit,
                    true,
                )
            }
            Expr::Between(a, lo, hi, neg) => {
                let ta = self.bind(a)?;
                let tl = self.bind(lo)?;
                let th = self.bind(hi)?;
                typed(
                    BExpr::Between(
                        Box::new(ta.expr),
                        Box::new(tl.expr),
                        Box::new(th.expr),
                        *neg,
                    ),
                    SqlType::Bit,
                    true,
                )
            }
            Expr::Cast(inner, to) => {
                let t = self.bind(inner)?;
                typed(BExpr::Cast(Box::new(t.expr), *to, t.ty), *to, t.nullable)
            }
            Expr::Agg(kind, arg) => self.aggregate(*kind, arg.as_deref())?,
            Expr::Func(name, args) => self.function(name, args)?,
        })
    }

    /// Binds `EXISTS (subquery)`: the subquery's FROM is read now; its WHERE is bound to
    /// the inner row and, for correlated references, this binder's row.
    fn exists(&mut self, select: &Select) -> Result<Typed, SqlError> {
        let Some(from) = &select.from else {
            return Err(SqlError::new(
                102,
                "EXISTS needs a subquery with a FROM clause.",
            ));
        };
        let qualifiers = match from {
            FromClause::Table { name, alias } => vec![alias.clone().unwrap_or(name.name.clone())],
            FromClause::Subquery { alias, .. } => vec![alias.clone()],
        };
        let all = Select {
            items: vec![SelectItem::Star(None)],
            from: Some(from.clone()),
            ..Select::default()
        };
        let result = run_select(&all, self.env, false)?;
        let columns: Vec<Column> = result.columns.iter().map(OutColumn::as_column).collect();
        let rows = result.into_values()?;
        let filter = match &select.filter {
            None => None,
            Some(f) => {
                let mut inner = Binder {
                    columns: &columns,
                    qualifiers,
                    env: self.env,
                    aggs: None,
                    outer: Some(Outer {
                        columns: self.columns,
                        qualifiers: self.qualifiers.clone(),
                    }),
                };
                Some(Box::new(inner.bind(f)?.expr))
            }
        };
        Ok(typed(
            BExpr::Exists {
                rows: std::sync::Arc::new(rows),
                filter,
                inner_len: columns.len(),
            },
            SqlType::Bit,
            false,
        ))
    }

    fn aggregate(&mut self, kind: Aggregate, arg: Option<&Expr>) -> Result<Typed, SqlError> {
        if self.aggs.is_none() {
            return Err(SqlError::new(
                147,
                "An aggregate may not appear in the WHERE clause unless it is in a subquery contained in a HAVING clause or a select list, and the column being aggregated is an outer reference.",
            ));
        }
        // Aggregate arguments see the rows, and may not nest aggregates.
        let saved = self.aggs.take();
        let arg = match arg {
            Some(a) => Some(self.bind(a)?),
            None => None,
        };
        self.aggs = saved;
        if let Some(a) = &arg
            && !a.ty.is_comparable()
            && matches!(kind, Aggregate::Min | Aggregate::Max)
        {
            return Err(SqlError::new(
                8117,
                format!(
                    "Operand data type {} is invalid for {} operator.",
                    a.ty.data_type_name(),
                    if kind == Aggregate::Min { "min" } else { "max" }
                ),
            ));
        }
        let arg_ty = arg.as_ref().map(|a| a.ty).unwrap_or(SqlType::Int);
        let ty = match kind {
            Aggregate::Count => SqlType::Int,
            Aggregate::CountBig => SqlType::BigInt,
            Aggregate::Min | Aggregate::Max => arg_ty,
            Aggregate::Sum | Aggregate::Avg => match arg_ty {
                SqlType::Bit | SqlType::TinyInt | SqlType::SmallInt | SqlType::Int => SqlType::Int,
                SqlType::BigInt => SqlType::BigInt,
                SqlType::Real | SqlType::Float => SqlType::Float,
                SqlType::Money | SqlType::SmallMoney => SqlType::Money,
                SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => {
                    SqlType::Decimal {
                        precision: 38,
                        scale: if kind == Aggregate::Avg {
                            scale.max(6)
                        } else {
                            scale
                        },
                    }
                }
                other => {
                    return Err(SqlError::new(
                        8117,
                        format!(
                            "Operand data type {} is invalid for sum operator.",
                            other.data_type_name()
                        ),
                    ));
                }
            },
        };
        let aggs = self.aggs.get_or_insert_with(Vec::new);
        aggs.push(AggSpec { kind, arg, ty });
        let slot = aggs.len() - 1;
        // SQL Server reports every aggregate (COUNT too) as nullable.
        Ok(typed(BExpr::Agg(slot), ty, true))
    }

    fn global(&self, name: &str) -> Result<Typed, SqlError> {
        let g = self.env.globals;
        let (v, ty) = match name {
            "@@VERSION" => (
                Value::String(VERSION_TEXT.to_string()),
                SqlType::NVarChar(Some(300)),
            ),
            "@@SPID" => (Value::Int(i64::from(g.spid)), SqlType::SmallInt),
            "@@TRANCOUNT" => (Value::Int(i64::from(g.trancount)), SqlType::Int),
            "@@ROWCOUNT" => (Value::Int(g.rowcount as i64), SqlType::Int),
            "@@ERROR" => (Value::Int(0), SqlType::Int),
            "@@SERVERNAME" => (
                Value::String(crate::tds::tokens::SERVER_NAME.to_string()),
                SqlType::NVarChar(Some(128)),
            ),
            "@@LANGUAGE" => (
                Value::String("us_english".to_string()),
                SqlType::NVarChar(Some(128)),
            ),
            "@@MAX_PRECISION" => (Value::Int(38), SqlType::TinyInt),
            "@@TEXTSIZE" => (Value::Int(2_147_483_647), SqlType::Int),
            "@@IDENTITY" => (
                Value::Null,
                SqlType::Numeric {
                    precision: 38,
                    scale: 0,
                },
            ),
            _ => return Err(SqlError::undeclared_variable(name)),
        };
        let nullable = v.is_null();
        Ok(typed(BExpr::Const(v), ty, nullable))
    }

    fn function(&mut self, name: &str, args: &[Expr]) -> Result<Typed, SqlError> {
        let mut bound = Vec::new();
        for a in args {
            bound.push(self.bind(a)?);
        }
        let arity = |n: usize| -> Result<(), SqlError> {
            if bound.len() == n {
                Ok(())
            } else {
                Err(SqlError::new(
                    174,
                    format!(
                        "The {} function requires {n} argument(s).",
                        name.to_lowercase()
                    ),
                ))
            }
        };
        let env = self.env;
        let constant = |v: Value, ty: SqlType| typed(BExpr::Const(v.clone()), ty, v.is_null());
        let exprs = |b: Vec<Typed>| b.into_iter().map(|t| t.expr).collect::<Vec<_>>();
        let string_ty = |t: SqlType| {
            if t.is_string() {
                t
            } else {
                SqlType::NVarChar(Some(4000))
            }
        };
        Ok(match name {
            "ISNULL" => {
                arity(2)?;
                let ty = bound[0].ty;
                let nullable = bound[1].nullable;
                typed(BExpr::Func(Func::IsNull, exprs(bound)), ty, nullable)
            }
            "COALESCE" if !bound.is_empty() => {
                let ty = bound[0].ty;
                let nullable = bound.iter().all(|b| b.nullable);
                typed(BExpr::Func(Func::Coalesce, exprs(bound)), ty, nullable)
            }
            "UPPER" | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" => {
                arity(1)?;
                let ty = string_ty(bound[0].ty);
                let f = match name {
                    "UPPER" => Func::Upper,
                    "LOWER" => Func::Lower,
                    "LTRIM" => Func::LTrim,
                    "RTRIM" => Func::RTrim,
                    _ => Func::Trim,
                };
                let nullable = bound[0].nullable;
                typed(BExpr::Func(f, exprs(bound)), ty, nullable)
            }
            "LEN" | "DATALENGTH" => {
                arity(1)?;
                let f = if name == "LEN" {
                    Func::Len
                } else {
                    Func::DataLength
                };
                let from = bound[0].ty;
                let nullable = bound[0].nullable;
                let mut e = exprs(bound);
                if f == Func::DataLength {
                    // Remember the argument's type for its byte length.
                    e.push(BExpr::Cast(Box::new(BExpr::Const(Value::Null)), from, from));
                }
                typed(BExpr::Func(f, e), SqlType::Int, nullable)
            }
            "APPLOCK_MODE" => {
                arity(3)?;
                let Some(BExpr::Const(Value::String(resource))) = bound.get(1).map(|b| &b.expr)
                else {
                    return Err(SqlError::new(
                        8116,
                        "Argument data type is invalid for argument 2 of applock_mode function.",
                    ));
                };
                let held = env.globals.applocks.iter().any(|r| r == resource);
                constant(
                    Value::String(if held { "Exclusive" } else { "NoLock" }.into()),
                    SqlType::NVarChar(Some(32)),
                )
            }
            "DB_NAME" => constant(
                Value::String(env.globals.database.clone()),
                SqlType::NVarChar(Some(128)),
            ),
            "SCHEMA_NAME" => constant(Value::String("dbo".into()), SqlType::NVarChar(Some(128))),
            "SUSER_SNAME" | "SUSER_NAME" | "USER_NAME" | "CURRENT_USER" | "ORIGINAL_LOGIN" => {
                constant(
                    Value::String(env.globals.user.clone()),
                    SqlType::NVarChar(Some(128)),
                )
            }
            "OBJECT_ID" => {
                let Some(BExpr::Const(Value::String(obj))) = bound.first().map(|b| &b.expr) else {
                    return Err(SqlError::new(
                        8116,
                        "Argument data type is invalid for argument 1 of object_id function.",
                    ));
                };
                let parts: Vec<&str> = obj.split('.').map(|p| p.trim_matches(['[', ']'])).collect();
                let (schema, table) = match parts.as_slice() {
                    [t] => ("dbo", *t),
                    [s, t] => (*s, *t),
                    [_, s, t] => (if s.is_empty() { "dbo" } else { *s }, *t),
                    _ => ("", ""),
                };
                let key = table_key(schema, table);
                let id = env.ws.table(&key).map(|_| {
                    let h = key.bytes().fold(17u32, |acc, b| {
                        acc.wrapping_mul(31).wrapping_add(u32::from(b))
                    });
                    Value::Int(i64::from(h & 0x3FFF_FFFF) + 1)
                });
                constant(id.unwrap_or(Value::Null), SqlType::Int)
            }
            "SERVERPROPERTY" => {
                let prop = match bound.first().map(|b| &b.expr) {
                    Some(BExpr::Const(Value::String(p))) => p.to_ascii_lowercase(),
                    _ => String::new(),
                };
                let v = match prop.as_str() {
                    "productversion" => Value::String("16.0.4100.1".into()),
                    "productmajorversion" => Value::String("16".into()),
                    "edition" => Value::String("Developer Edition (64-bit)".into()),
                    "engineedition" => Value::Int(3),
                    "servername" | "machinename" => {
                        Value::String(crate::tds::tokens::SERVER_NAME.into())
                    }
                    "collation" => Value::String("SQL_Latin1_General_CP1_CI_AS".into()),
                    _ => Value::Null,
                };
                constant(v, SqlType::SqlVariant)
            }
            "GETDATE" | "CURRENT_TIMESTAMP" => typed(
                BExpr::Func(Func::Now(SqlType::DateTime, false), vec![]),
                SqlType::DateTime,
                false,
            ),
            "GETUTCDATE" => typed(
                BExpr::Func(Func::Now(SqlType::DateTime, true), vec![]),
                SqlType::DateTime,
                false,
            ),
            "SYSDATETIME" => typed(
                BExpr::Func(Func::Now(SqlType::DateTime2(7), false), vec![]),
                SqlType::DateTime2(7),
                false,
            ),
            "SYSUTCDATETIME" => typed(
                BExpr::Func(Func::Now(SqlType::DateTime2(7), true), vec![]),
                SqlType::DateTime2(7),
                false,
            ),
            "SYSDATETIMEOFFSET" => typed(
                BExpr::Func(Func::Now(SqlType::DateTimeOffset(7), true), vec![]),
                SqlType::DateTimeOffset(7),
                false,
            ),
            _ => {
                return Err(SqlError::new(
                    195,
                    format!("'{name}' is not a recognized built-in function name."),
                ));
            }
        })
    }
}

/// Access to the values of one input row.
pub(crate) trait RowAccess {
    /// Value of column `i`.
    fn value(&self, i: usize) -> Result<Value, SqlError>;
}

impl RowAccess for Vec<Value> {
    fn value(&self, i: usize) -> Result<Value, SqlError> {
        Ok(self.get(i).cloned().unwrap_or(Value::Null))
    }
}

/// No input row (SELECT without FROM, VALUES lists).
pub(crate) struct NoRow;

impl RowAccess for NoRow {
    fn value(&self, _: usize) -> Result<Value, SqlError> {
        Ok(Value::Null)
    }
}

/// A stored row with its value spans.
pub(crate) struct StoredRow<'a> {
    /// Columns of the table.
    pub(crate) columns: &'a [Column],
    /// Row bytes.
    pub(crate) row: &'a [u8],
    /// Spans from `row_spans`.
    pub(crate) spans: &'a [Span],
}

impl RowAccess for StoredRow<'_> {
    fn value(&self, i: usize) -> Result<Value, SqlError> {
        match (self.columns.get(i), self.spans.get(i)) {
            (Some(c), Some(s)) => stored_value(c, self.row, *s),
            _ => Ok(Value::Null),
        }
    }
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        Value::Int(i) => Some(*i != 0),
        _ => Some(true),
    }
}

fn from_truth(t: Option<bool>) -> Value {
    t.map(Value::Bool).unwrap_or(Value::Null)
}

/// Whether a predicate is TRUE for a row (UNKNOWN is not).
pub(crate) fn is_true(e: &BExpr, row: &dyn RowAccess, aggs: &[Value]) -> Result<bool, SqlError> {
    Ok(truth(&eval(e, row, aggs)?) == Some(true))
}

/// Evaluates an expression.
pub(crate) fn eval(e: &BExpr, row: &dyn RowAccess, aggs: &[Value]) -> Result<Value, SqlError> {
    Ok(match e {
        BExpr::Col(i) => row.value(*i)?,
        BExpr::Const(v) => v.clone(),
        BExpr::Agg(i) => aggs.get(*i).cloned().unwrap_or(Value::Null),
        BExpr::Exists {
            rows,
            filter,
            inner_len: _,
        } => {
            let mut found = false;
            for inner in rows.iter() {
                let matched = match filter {
                    None => true,
                    Some(f) => is_true(f, &Correlated { inner, outer: row }, aggs)?,
                };
                if matched {
                    found = true;
                    break;
                }
            }
            Value::Bool(found)
        }
        BExpr::Not(a) => from_truth(truth(&eval(a, row, aggs)?).map(|b| !b)),
        BExpr::Logic(op, a, b) => {
            let va = eval(a, row, aggs)?;
            match op {
                BinOp::And => {
                    let ta = truth(&va);
                    if ta == Some(false) {
                        return Ok(Value::Bool(false));
                    }
                    let tb = truth(&eval(b, row, aggs)?);
                    from_truth(match (ta, tb) {
                        (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    })
                }
                BinOp::Or => {
                    let ta = truth(&va);
                    if ta == Some(true) {
                        return Ok(Value::Bool(true));
                    }
                    let tb = truth(&eval(b, row, aggs)?);
                    from_truth(match (ta, tb) {
                        (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    })
                }
                _ => {
                    let vb = eval(b, row, aggs)?;
                    from_truth(compare(&va, &vb)?.map(|o| match op {
                        BinOp::Eq => o == Ordering::Equal,
                        BinOp::Ne => o != Ordering::Equal,
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Le => o != Ordering::Greater,
                        BinOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    }))
                }
            }
        }
        BExpr::IsNull(a, neg) => Value::Bool(eval(a, row, aggs)?.is_null() != *neg),
        BExpr::Like(a, p, neg) => {
            let va = eval(a, row, aggs)?;
            let vp = eval(p, row, aggs)?;
            match (va.to_text(None), vp.to_text(None)) {
                (Some(t), Some(p)) => Value::Bool(like(&t, &p) != *neg),
                _ => Value::Null,
            }
        }
        BExpr::InList(a, list, neg) => {
            let va = eval(a, row, aggs)?;
            if va.is_null() {
                return Ok(Value::Null);
            }
            let mut unknown = false;
            for x in list {
                match compare(&va, &eval(x, row, aggs)?)? {
                    Some(Ordering::Equal) => return Ok(Value::Bool(!*neg)),
                    None => unknown = true,
                    _ => {}
                }
            }
            if unknown {
                Value::Null
            } else {
                Value::Bool(*neg)
            }
        }
        BExpr::Between(a, lo, hi, neg) => {
            let va = eval(a, row, aggs)?;
            let ge = compare(&va, &eval(lo, row, aggs)?)?.map(|o| o != Ordering::Less);
            let le = compare(&va, &eval(hi, row, aggs)?)?.map(|o| o != Ordering::Greater);
            match (ge, le) {
                (Some(x), Some(y)) => Value::Bool((x && y) != *neg),
                _ => Value::Null,
            }
        }
        BExpr::Cast(a, to, from) => {
            let v = eval(a, row, aggs)?;
            convert(&v, Some(*from), *to, Target::Cast)?
        }
        BExpr::Neg(a, ty) => {
            let v = eval(a, row, aggs)?;
            arith(BinOp::Sub, &Value::Int(0), &v, *ty)?
        }
        BExpr::Arith(op, a, b, ty) => {
            let va = eval(a, row, aggs)?;
            let vb = eval(b, row, aggs)?;
            arith(*op, &va, &vb, *ty)?
        }
        BExpr::Func(f, args) => func(*f, args, row, aggs)?,
    })
}

fn divide_by_zero() -> SqlError {
    SqlError::new(8134, "Divide by zero error encountered.")
}

fn arith(op: BinOp, a: &Value, b: &Value, ty: SqlType) -> Result<Value, SqlError> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if ty.is_string() {
        let s = format!(
            "{}{}",
            a.to_text(None).unwrap_or_default(),
            b.to_text(None).unwrap_or_default()
        );
        return Ok(Value::String(s));
    }
    let a = convert(a, None, ty, Target::Cast)?;
    let b = convert(b, None, ty, Target::Cast)?;
    let overflow = || SqlError::overflow("expression", ty.data_type_name());
    let result = match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(
            match op {
                BinOp::Add => x.checked_add(*y),
                BinOp::Sub => x.checked_sub(*y),
                BinOp::Mul => x.checked_mul(*y),
                BinOp::Div => {
                    if *y == 0 {
                        return Err(divide_by_zero());
                    }
                    x.checked_div(*y)
                }
                _ => {
                    if *y == 0 {
                        return Err(divide_by_zero());
                    }
                    x.checked_rem(*y)
                }
            }
            .ok_or_else(overflow)?,
        ),
        (Value::Float(x), Value::Float(y)) => Value::Float(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => {
                if *y == 0.0 {
                    return Err(divide_by_zero());
                }
                x / y
            }
            _ => x % y,
        }),
        (Value::Money(x), Value::Money(y)) => {
            let dx = Decimal {
                value: i128::from(*x),
                scale: 4,
            };
            let dy = Decimal {
                value: i128::from(*y),
                scale: 4,
            };
            Value::Decimal(decimal_op(op, dx, dy, 4)?)
        }
        (Value::Decimal(x), Value::Decimal(y)) => {
            let scale = match ty {
                SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => scale,
                _ => x.scale.max(y.scale),
            };
            Value::Decimal(decimal_op(op, *x, *y, scale)?)
        }
        (Value::Bool(x), Value::Bool(y)) => Value::Int(i64::from(*x) + i64::from(*y)),
        _ => return Err(overflow()),
    };
    convert(&result, None, ty, Target::Cast)
}

fn decimal_op(op: BinOp, x: Decimal, y: Decimal, scale: u8) -> Result<Decimal, SqlError> {
    let overflow = || SqlError::overflow("expression", "numeric");
    let common = x.scale.max(y.scale);
    let (xs, ys) = (
        x.rescale(common).ok_or_else(overflow)?,
        y.rescale(common).ok_or_else(overflow)?,
    );
    let raw = match op {
        BinOp::Add => Decimal {
            value: xs.value.checked_add(ys.value).ok_or_else(overflow)?,
            scale: common,
        },
        BinOp::Sub => Decimal {
            value: xs.value.checked_sub(ys.value).ok_or_else(overflow)?,
            scale: common,
        },
        BinOp::Mul => Decimal {
            value: x.value.checked_mul(y.value).ok_or_else(overflow)?,
            scale: x.scale + y.scale,
        },
        BinOp::Div => {
            if y.value == 0 {
                return Err(divide_by_zero());
            }
            // x / y at `scale + 1` digits, then rounded.
            let extra = scale + 1 + y.scale;
            let shift = extra.saturating_sub(x.scale);
            let num = x.value.checked_mul(pow10(shift)).ok_or_else(overflow)?;
            Decimal {
                value: num / y.value,
                scale: x.scale + shift - y.scale,
            }
        }
        _ => {
            if ys.value == 0 {
                return Err(divide_by_zero());
            }
            Decimal {
                value: xs.value % ys.value,
                scale: common,
            }
        }
    };
    raw.rescale(scale).ok_or_else(overflow)
}

fn func(f: Func, args: &[BExpr], row: &dyn RowAccess, aggs: &[Value]) -> Result<Value, SqlError> {
    let arg = |i: usize| -> Result<Value, SqlError> {
        match args.get(i) {
            Some(a) => eval(a, row, aggs),
            None => Ok(Value::Null),
        }
    };
    let text = |i: usize| -> Result<Option<String>, SqlError> { Ok(arg(i)?.to_text(None)) };
    Ok(match f {
        Func::IsNull => {
            let v = arg(0)?;
            if v.is_null() { arg(1)? } else { v }
        }
        Func::Coalesce => {
            for a in args {
                let v = eval(a, row, aggs)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Func::Upper => text(0)?
            .map(|s| Value::String(s.to_uppercase()))
            .unwrap_or(Value::Null),
        Func::Lower => text(0)?
            .map(|s| Value::String(s.to_lowercase()))
            .unwrap_or(Value::Null),
        Func::LTrim => text(0)?
            .map(|s| Value::String(s.trim_start_matches(' ').to_string()))
            .unwrap_or(Value::Null),
        Func::RTrim => text(0)?
            .map(|s| Value::String(s.trim_end_matches(' ').to_string()))
            .unwrap_or(Value::Null),
        Func::Trim => text(0)?
            .map(|s| Value::String(s.trim_matches(' ').to_string()))
            .unwrap_or(Value::Null),
        Func::Len => text(0)?
            .map(|s| Value::Int(s.trim_end_matches(' ').chars().count() as i64))
            .unwrap_or(Value::Null),
        Func::DataLength => {
            let v = arg(0)?;
            let from = match args.get(1) {
                Some(BExpr::Cast(_, t, _)) => *t,
                _ => SqlType::NVarChar(None),
            };
            match v {
                Value::Null => Value::Null,
                Value::String(s) => Value::Int(match from {
                    SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text => s.chars().count(),
                    _ => s.encode_utf16().count() * 2,
                } as i64),
                Value::Binary(b) => Value::Int(b.len() as i64),
                other => {
                    let wt = crate::tds::wire_type::WireType::for_column(from, true);
                    let mut buf = Vec::new();
                    crate::tds::codec::encode_value(&wt, &other, &mut buf)
                        .map_err(|e| SqlError::new(8152, e.0))?;
                    Value::Int(buf.len().saturating_sub(1) as i64)
                }
            }
        }
        Func::Now(ty, utc) => {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let ticks_total = since.as_nanos() / 100;
            let per_day = u128::from(crate::types::temporal::TICKS_PER_DAY);
            // 1970-01-01 is day 719162.
            let days = (ticks_total / per_day) as i32 + 719_162;
            let ticks = (ticks_total % per_day) as u64;
            let _ = (utc, DAYS_TO_1900, TICKS_PER_SECOND);
            let v = Value::DateTime2 { days, ticks };
            convert(&v, None, ty, Target::Cast)?
        }
    })
}
