//! SELECT: source, filter, aggregates, ORDER BY, OFFSET/FETCH/TOP, projection.

use std::cmp::Ordering;
use std::sync::Arc;

use super::catalog::{Column, RowRef, Table, row_spans, table_key};
use super::expr::{AggSpec, BExpr, Binder, Env, NoRow, RowAccess, StoredRow, Typed, eval, is_true};
use super::result::{OutColumn, Proj, ResultSet, RowSource, Selection};
use super::views;
use crate::error::SqlError;
use crate::sql::ast::{Aggregate, Expr, FromClause, ObjectName, Select, SelectItem};
use crate::types::compare::{compare, sort_order};
use crate::types::convert::{Target, convert};
use crate::types::{Decimal, SqlType, Value};

/// The rows a SELECT reads.
enum Source {
    /// No FROM: one empty row.
    Nothing,
    /// A stored table.
    Stored(Arc<Table>),
    /// Materialised rows (views, derived tables).
    Values {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
}

/// Resolves a table name against the workspace (views included).
fn resolve(name: &ObjectName, env: &Env<'_>) -> Result<Source, SqlError> {
    if name
        .schema
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("INFORMATION_SCHEMA"))
    {
        let view = views::information_schema(&name.name, env.ws, &env.globals.database)
            .ok_or_else(|| SqlError::invalid_object(&name.display()))?;
        return Ok(Source::Values {
            columns: view.columns,
            rows: view.rows,
        });
    }
    let schema = name.schema.as_deref().unwrap_or("dbo");
    env.ws
        .table(&table_key(schema, &name.name))
        .map(Source::Stored)
        .ok_or_else(|| SqlError::invalid_object(&name.display()))
}

/// Runs a SELECT. With `metadata_only` (SET FMTONLY ON) no rows are produced.
pub(crate) fn run_select(
    sel: &Select,
    env: &Env<'_>,
    metadata_only: bool,
) -> Result<ResultSet, SqlError> {
    let (source, qualifiers) = match &sel.from {
        None => (Source::Nothing, Vec::new()),
        Some(FromClause::Table { name, alias }) => {
            let mut q = vec![name.name.clone()];
            if let Some(a) = alias {
                q = vec![a.clone()];
            }
            (resolve(name, env)?, q)
        }
        Some(FromClause::Subquery { select, alias }) => {
            let inner = run_select(select, env, false)?;
            let columns: Vec<Column> = inner.columns.iter().map(OutColumn::as_column).collect();
            for (i, c) in columns.iter().enumerate() {
                if c.name.is_empty() {
                    return Err(SqlError::new(
                        8155,
                        format!(
                            "No column name was specified for column {} of '{alias}'.",
                            i + 1
                        ),
                    ));
                }
            }
            let rows = inner.into_values()?;
            (Source::Values { columns, rows }, vec![alias.clone()])
        }
    };
    let empty: Vec<Column> = Vec::new();
    let columns: &[Column] = match &source {
        Source::Nothing => &empty,
        Source::Stored(t) => &t.columns,
        Source::Values { columns, .. } => columns,
    };
    let table_name = match &source {
        Source::Stored(t) => t.name.clone(),
        _ => String::new(),
    };

    // Select list.
    let mut binder = Binder {
        columns,
        qualifiers: qualifiers.clone(),
        env,
        aggs: Some(Vec::new()),
        outer: None,
    };
    let mut items: Vec<(String, Typed)> = Vec::new();
    for item in &sel.items {
        match item {
            SelectItem::Star(q) => {
                if matches!(source, Source::Nothing) {
                    return Err(SqlError::new(263, "Must specify table to select from."));
                }
                if let Some(q) = q
                    && !qualifiers.iter().any(|x| x.eq_ignore_ascii_case(q))
                {
                    return Err(SqlError::new(
                        107,
                        format!(
                            "The column prefix '{q}' does not match with a table name or alias name used in the query."
                        ),
                    ));
                }
                for (i, c) in columns.iter().enumerate() {
                    items.push((
                        c.name.clone(),
                        Typed {
                            expr: BExpr::Col(i),
                            ty: c.ty,
                            nullable: c.nullable,
                        },
                    ));
                }
            }
            SelectItem::Expr { expr, alias } => {
                let t = binder.bind(expr)?;
                items.push((alias.clone().unwrap_or_else(|| expr.default_name()), t));
            }
        }
    }
    let aggs = binder.aggs.take().unwrap_or_default();

    let filter = match &sel.filter {
        Some(f) => Some(binder.bind(f)?.expr),
        None => None,
    };
    let top = limit_value(sel.top.as_ref(), &mut binder, "TOP")?;
    let offset = limit_value(sel.offset.as_ref(), &mut binder, "OFFSET")?.unwrap_or(0);
    let fetch = limit_value(sel.fetch.as_ref(), &mut binder, "FETCH")?;
    let take = match (top, fetch) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };

    let out_columns: Vec<OutColumn> = items
        .iter()
        .map(|(name, t)| {
            let mut c = match &t.expr {
                BExpr::Col(i) if columns[*i].ty == t.ty => {
                    let src = &columns[*i];
                    OutColumn {
                        name: name.clone(),
                        ty: src.ty,
                        nullable: src.nullable,
                        wire: src.wire.clone(),
                        table: String::new(),
                    }
                }
                _ => OutColumn::new(name.clone(), t.ty, t.nullable),
            };
            c.table = table_name.clone();
            c
        })
        .collect();

    if metadata_only {
        return Ok(ResultSet {
            columns: out_columns,
            rows: RowSource::Values(Vec::new()),
        });
    }

    // Aggregate query: one row.
    if !aggs.is_empty() {
        for (name, t) in &items {
            if let Some(col) = bare_column(&t.expr) {
                let cname = columns
                    .get(col)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| name.clone());
                return Err(SqlError::new(
                    8120,
                    format!(
                        "Column '{}.{cname}' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.",
                        qualifiers.first().cloned().unwrap_or_default()
                    ),
                ));
            }
        }
        let results = aggregate(&source, columns, filter.as_ref(), &aggs)?;
        let mut row = Vec::new();
        for ((_, t), c) in items.iter().zip(&out_columns) {
            let v = eval(&t.expr, &NoRow, &results)?;
            row.push(convert(&v, Some(t.ty), c.ty, Target::Cast)?);
        }
        let rows = if take == Some(0) || offset > 0 {
            Vec::new()
        } else {
            vec![row]
        };
        return Ok(ResultSet {
            columns: out_columns,
            rows: RowSource::Values(rows),
        });
    }

    // ORDER BY keys: select-list aliases and ordinals, else input columns.
    let mut order: Vec<(BExpr, bool)> = Vec::new();
    for o in &sel.order_by {
        let by_item = match &o.expr {
            Expr::Literal(Value::Int(n), _) => {
                let idx = usize::try_from(*n - 1).ok().filter(|i| *i < items.len());
                Some(idx.ok_or_else(|| {
                    SqlError::new(
                        108,
                        format!("The ORDER BY position number {n} is out of range of the number of items in the select list."),
                    )
                })?)
            }
            Expr::Column {
                qualifier: None,
                name,
            } => items.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)),
            _ => None,
        };
        let key = match by_item {
            Some(i) => items[i].1.expr.clone(),
            None => binder.bind(&o.expr)?.expr,
        };
        order.push((key, o.desc));
    }

    let projection_exprs: Vec<BExpr> = items.iter().map(|(_, t)| t.expr.clone()).collect();
    match source {
        Source::Stored(table) => {
            let projection: Vec<Proj> = projection_exprs
                .into_iter()
                .zip(&out_columns)
                .map(|(e, c)| match e {
                    BExpr::Col(i) if table.columns[i].wire == c.wire => Proj::Copy(i),
                    other => Proj::Eval(other),
                })
                .collect();
            let selection = if filter.is_none() && order.is_empty() {
                Selection::All { skip: offset, take }
            } else {
                let refs = filter_and_sort(&table, filter.as_ref(), &order)?;
                let end = take.map(|t| offset.saturating_add(t)).unwrap_or(usize::MAX);
                let refs = refs
                    .into_iter()
                    .skip(offset)
                    .take(end.saturating_sub(offset))
                    .collect();
                Selection::Refs(refs)
            };
            let rs = ResultSet {
                columns: out_columns,
                rows: RowSource::Stored {
                    table,
                    selection,
                    projection,
                },
            };
            if sel.distinct {
                let columns = rs.columns.clone();
                let rows = distinct(rs.into_values()?);
                return Ok(ResultSet {
                    columns,
                    rows: RowSource::Values(rows),
                });
            }
            Ok(rs)
        }
        Source::Nothing | Source::Values { .. } => {
            let rows: Vec<Vec<Value>> = match source {
                Source::Values { rows, .. } => rows,
                _ => vec![Vec::new()],
            };
            let mut keep: Vec<usize> = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                if let Some(f) = &filter
                    && !is_true(f, r, &[])?
                {
                    continue;
                }
                keep.push(i);
            }
            if !order.is_empty() {
                let keys = keep
                    .iter()
                    .map(|&i| {
                        order
                            .iter()
                            .map(|(e, _)| eval(e, &rows[i], &[]))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut idx: Vec<usize> = (0..keep.len()).collect();
                idx.sort_by(|&a, &b| compare_keys(&keys[a], &keys[b], &order));
                keep = idx.into_iter().map(|k| keep[k]).collect();
            }
            let end = take.map(|t| offset.saturating_add(t)).unwrap_or(usize::MAX);
            let mut out = Vec::new();
            for &i in keep.iter().skip(offset).take(end.saturating_sub(offset)) {
                let mut row = Vec::with_capacity(items.len());
                for ((_, t), c) in items.iter().zip(&out_columns) {
                    let v = eval(&t.expr, &rows[i], &[])?;
                    row.push(convert(&v, Some(t.ty), c.ty, Target::Cast)?);
                }
                out.push(row);
            }
            if sel.distinct {
                out = distinct(out);
            }
            Ok(ResultSet {
                columns: out_columns,
                rows: RowSource::Values(out),
            })
        }
    }
}

fn bare_column(e: &BExpr) -> Option<usize> {
    match e {
        BExpr::Col(i) => Some(*i),
        BExpr::Neg(a, _) | BExpr::Not(a) | BExpr::IsNull(a, _) | BExpr::Cast(a, _, _) => {
            bare_column(a)
        }
        BExpr::Logic(_, a, b) | BExpr::Arith(_, a, b, _) | BExpr::Like(a, b, _) => {
            bare_column(a).or_else(|| bare_column(b))
        }
        BExpr::InList(a, l, _) => bare_column(a).or_else(|| l.iter().find_map(bare_column)),
        BExpr::Between(a, b, c, _) => bare_column(a)
            .or_else(|| bare_column(b))
            .or_else(|| bare_column(c)),
        BExpr::Func(_, args) => args.iter().find_map(bare_column),
        BExpr::Const(_) | BExpr::Agg(_) | BExpr::Exists { .. } => None,
    }
}

fn limit_value(
    e: Option<&Expr>,
    binder: &mut Binder<'_>,
    what: &str,
) -> Result<Option<usize>, SqlError> {
    let Some(e) = e else { return Ok(None) };
    let t = binder.bind(e)?;
    let v = eval(&t.expr, &NoRow, &[])?;
    match convert(&v, Some(t.ty), SqlType::BigInt, Target::Cast)? {
        Value::Int(n) if n >= 0 => Ok(Some(n as usize)),
        _ => Err(SqlError::new(
            10_742,
            format!("The {what} value must be a non-negative integer."),
        )),
    }
}

fn compare_keys(a: &[Value], b: &[Value], order: &[(BExpr, bool)]) -> Ordering {
    for ((x, y), (_, desc)) in a.iter().zip(b).zip(order) {
        let o = sort_order(x, y);
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn filter_and_sort(
    table: &Table,
    filter: Option<&BExpr>,
    order: &[(BExpr, bool)],
) -> Result<Vec<RowRef>, SqlError> {
    let mut spans = Vec::new();
    let mut refs = Vec::new();
    let mut keys: Vec<Vec<Value>> = Vec::new();
    for r in table.rows.refs() {
        let row = table.rows.row(r);
        row_spans(&table.columns, row, &mut spans)?;
        let access = StoredRow {
            columns: &table.columns,
            row,
            spans: &spans,
        };
        if let Some(f) = filter
            && !is_true(f, &access, &[])?
        {
            continue;
        }
        if !order.is_empty() {
            keys.push(
                order
                    .iter()
                    .map(|(e, _)| eval(e, &access, &[]))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        refs.push(r);
    }
    if order.is_empty() {
        return Ok(refs);
    }
    let mut idx: Vec<usize> = (0..refs.len()).collect();
    idx.sort_by(|&a, &b| compare_keys(&keys[a], &keys[b], order));
    Ok(idx.into_iter().map(|i| refs[i]).collect())
}

fn distinct(rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = Vec::new();
    for row in rows {
        let dup = out.iter().any(|o| {
            o.iter()
                .zip(&row)
                .all(|(a, b)| sort_order(a, b) == Ordering::Equal)
        });
        if !dup {
            out.push(row);
        }
    }
    out
}

/// Running state of one aggregate.
struct Acc {
    count: u64,
    best: Value,
    sum_exact: Option<Decimal>,
    sum_float: f64,
}

fn aggregate(
    source: &Source,
    columns: &[Column],
    filter: Option<&BExpr>,
    aggs: &[AggSpec],
) -> Result<Vec<Value>, SqlError> {
    let mut accs: Vec<Acc> = aggs
        .iter()
        .map(|_| Acc {
            count: 0,
            best: Value::Null,
            sum_exact: None,
            sum_float: 0.0,
        })
        .collect();
    let mut visit = |row: &dyn RowAccess| -> Result<(), SqlError> {
        if let Some(f) = filter
            && !is_true(f, row, &[])?
        {
            return Ok(());
        }
        for (spec, acc) in aggs.iter().zip(accs.iter_mut()) {
            let v = match &spec.arg {
                None => {
                    acc.count += 1;
                    continue;
                }
                Some(a) => eval(&a.expr, row, &[])?,
            };
            if v.is_null() {
                continue;
            }
            acc.count += 1;
            match spec.kind {
                Aggregate::Count | Aggregate::CountBig => {}
                Aggregate::Min | Aggregate::Max => {
                    let better = acc.best.is_null()
                        || match compare(&v, &acc.best)? {
                            Some(Ordering::Less) => spec.kind == Aggregate::Min,
                            Some(Ordering::Greater) => spec.kind == Aggregate::Max,
                            _ => false,
                        };
                    if better {
                        acc.best = v;
                    }
                }
                Aggregate::Sum | Aggregate::Avg => match &v {
                    Value::Float(f) => acc.sum_float += f,
                    other => {
                        let d = match convert(
                            other,
                            None,
                            SqlType::Decimal {
                                precision: 38,
                                scale: 10,
                            },
                            Target::Cast,
                        )? {
                            Value::Decimal(d) => d,
                            _ => Decimal {
                                value: 0,
                                scale: 10,
                            },
                        };
                        let cur = acc.sum_exact.unwrap_or(Decimal {
                            value: 0,
                            scale: 10,
                        });
                        let value = cur.value.checked_add(d.value).ok_or_else(|| {
                            SqlError::overflow("expression", spec.ty.data_type_name())
                        })?;
                        acc.sum_exact = Some(Decimal { value, scale: 10 });
                    }
                },
            }
        }
        Ok(())
    };
    match source {
        Source::Nothing => visit(&NoRow)?,
        Source::Values { rows, .. } => {
            for r in rows {
                visit(r)?;
            }
        }
        Source::Stored(table) => {
            let mut spans = Vec::new();
            for r in table.rows.refs() {
                let row = table.rows.row(r);
                row_spans(columns, row, &mut spans)?;
                visit(&StoredRow {
                    columns,
                    row,
                    spans: &spans,
                })?;
            }
        }
    }
    let mut out = Vec::new();
    for (spec, acc) in aggs.iter().zip(accs) {
        let v = match spec.kind {
            Aggregate::Count | Aggregate::CountBig => Value::Int(acc.count as i64),
            Aggregate::Min | Aggregate::Max => acc.best,
            Aggregate::Sum | Aggregate::Avg if acc.count == 0 => Value::Null,
            Aggregate::Sum | Aggregate::Avg => {
                let is_float = matches!(spec.ty, SqlType::Float);
                let total = if is_float {
                    Value::Float(acc.sum_float + acc.sum_exact.map(Decimal::to_f64).unwrap_or(0.0))
                } else {
                    Value::Decimal(acc.sum_exact.unwrap_or(Decimal {
                        value: 0,
                        scale: 10,
                    }))
                };
                if spec.kind == Aggregate::Sum {
                    total
                } else {
                    match total {
                        Value::Float(f) => Value::Float(f / acc.count as f64),
                        Value::Decimal(d) => {
                            let scaled = d.rescale(d.scale + 6).unwrap_or(d);
                            let q = scaled.value / i128::from(acc.count);
                            let v = Value::Decimal(Decimal {
                                value: q,
                                scale: scaled.scale,
                            });
                            if matches!(spec.ty, SqlType::Int | SqlType::BigInt) {
                                // Integer AVG truncates.
                                let d = Decimal {
                                    value: q,
                                    scale: scaled.scale,
                                };
                                Value::Int((d.value / crate::types::pow10(d.scale)) as i64)
                            } else {
                                v
                            }
                        }
                        other => other,
                    }
                }
            }
        };
        let v = if matches!(spec.kind, Aggregate::Count | Aggregate::CountBig) {
            v
        } else {
            convert(&v, None, spec.ty, Target::Cast)?
        };
        out.push(v);
    }
    Ok(out)
}
