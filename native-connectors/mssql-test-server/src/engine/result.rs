//! A query result and its encoding as COLMETADATA + ROW/NBCROW tokens.
//!
//! Stored columns selected as they are copy their bytes; NBCROW is used for
//! every row that has a NULL.

use std::sync::Arc;

use super::catalog::{Column, RowRef, Span, Table, row_spans, stored_value};
use super::expr::{BExpr, StoredRow, eval};
use crate::error::SqlError;
use crate::tds::codec::encode_value;
use crate::tds::tokens::{self, ColumnMeta, FLAG_NULLABLE, FLAG_UPDATEABLE_UNKNOWN, token};
use crate::tds::wire_type::WireType;
use crate::types::convert::{Target, convert};
use crate::types::{SqlType, Value};

/// A result column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OutColumn {
    /// Name (empty for unnamed expressions).
    pub(crate) name: String,
    /// Type.
    pub(crate) ty: SqlType,
    /// Nullability.
    pub(crate) nullable: bool,
    /// TYPE_INFO.
    pub(crate) wire: WireType,
    /// Source table name (TEXT/NTEXT/IMAGE metadata).
    pub(crate) table: String,
}

impl OutColumn {
    /// A column of `ty` with SQL Server's TYPE_INFO for it.
    pub(crate) fn new(name: impl Into<String>, ty: SqlType, nullable: bool) -> OutColumn {
        OutColumn {
            name: name.into(),
            ty,
            nullable,
            wire: WireType::for_column(ty, nullable),
            table: String::new(),
        }
    }

    /// The column as a relation column (for derived tables).
    pub(crate) fn as_column(&self) -> Column {
        Column {
            name: self.name.clone(),
            ty: self.ty,
            nullable: self.nullable,
            wire: self.wire.clone(),
        }
    }
}

/// How one output column is produced from a stored row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Proj {
    /// Copy column `i` as stored.
    Copy(usize),
    /// Evaluate and convert to the output column's type.
    Eval(BExpr),
}

/// Which stored rows, in which order.
#[derive(Clone, Debug)]
pub(crate) enum Selection {
    /// Every row from `skip`, at most `take`.
    All {
        /// Rows to skip.
        skip: usize,
        /// Rows to return at most.
        take: Option<usize>,
    },
    /// These rows.
    Refs(Vec<RowRef>),
}

/// Rows of a result.
#[derive(Clone, Debug)]
pub(crate) enum RowSource {
    /// Values already in the output columns' types.
    Values(Vec<Vec<Value>>),
    /// Rows of a stored table, projected.
    Stored {
        /// The table (a snapshot).
        table: Arc<Table>,
        /// The rows.
        selection: Selection,
        /// One per output column.
        projection: Vec<Proj>,
    },
}

/// A result set.
#[derive(Clone, Debug)]
pub(crate) struct ResultSet {
    /// Columns.
    pub(crate) columns: Vec<OutColumn>,
    /// Rows.
    pub(crate) rows: RowSource,
}

impl ResultSet {
    /// Writes the COLMETADATA token.
    pub(crate) fn write_metadata(&self, out: &mut Vec<u8>) {
        let metas: Vec<ColumnMeta> = self
            .columns
            .iter()
            .map(|c| ColumnMeta {
                name: c.name.clone(),
                wire: c.wire.clone(),
                flags: FLAG_UPDATEABLE_UNKNOWN | if c.nullable { FLAG_NULLABLE } else { 0 },
                table: c.table.clone(),
            })
            .collect();
        tokens::col_metadata(out, &metas);
    }

    /// An encoder that writes the rows in pieces.
    pub(crate) fn encoder(&self) -> RowEncoder<'_> {
        let iter = match &self.rows {
            RowSource::Stored {
                table, selection, ..
            } => Some(selected(table, selection).peekable()),
            RowSource::Values(_) => None,
        };
        RowEncoder {
            rs: self,
            pos: 0,
            iter,
            spans: Vec::new(),
            values: Vec::new(),
            rows_written: 0,
        }
    }

    /// All rows as values of the output types (for derived tables and INSERT … SELECT).
    pub(crate) fn into_values(self) -> Result<Vec<Vec<Value>>, SqlError> {
        match self.rows {
            RowSource::Values(v) => Ok(v),
            RowSource::Stored {
                table,
                selection,
                projection,
            } => {
                let mut out = Vec::new();
                let mut spans = Vec::new();
                for r in selected(&table, &selection) {
                    let row = table.rows.row(r);
                    row_spans(&table.columns, row, &mut spans)?;
                    let mut values = Vec::with_capacity(projection.len());
                    for (p, c) in projection.iter().zip(&self.columns) {
                        values.push(project(p, c, &table.columns, row, &spans)?);
                    }
                    out.push(values);
                }
                Ok(out)
            }
        }
    }
}

fn selected<'a>(
    table: &'a Table,
    selection: &'a Selection,
) -> Box<dyn Iterator<Item = RowRef> + Send + 'a> {
    match selection {
        Selection::All { skip, take } => Box::new(
            table
                .rows
                .refs()
                .skip(*skip)
                .take(take.unwrap_or(usize::MAX)),
        ),
        Selection::Refs(refs) => Box::new(refs.iter().copied()),
    }
}

fn project(
    p: &Proj,
    out: &OutColumn,
    columns: &[Column],
    row: &[u8],
    spans: &[Span],
) -> Result<Value, SqlError> {
    match p {
        Proj::Copy(i) => stored_value(&columns[*i], row, spans[*i]),
        Proj::Eval(e) => {
            let v = eval(
                e,
                &StoredRow {
                    columns,
                    row,
                    spans,
                },
                &[],
            )?;
            convert(&v, None, out.ty, Target::Cast)
        }
    }
}

/// Writes ROW / NBCROW tokens of a result set a piece at a time.
pub(crate) struct RowEncoder<'a> {
    rs: &'a ResultSet,
    pos: usize,
    iter: Option<std::iter::Peekable<Box<dyn Iterator<Item = RowRef> + Send + 'a>>>,
    spans: Vec<Span>,
    values: Vec<Value>,
    rows_written: u64,
}

/// Rows encoded per call before returning to let the caller flush.
const ROWS_PER_STEP: usize = 4096;

impl RowEncoder<'_> {
    /// Rows written so far.
    pub(crate) fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Encodes up to a few thousand rows into `out`; `Ok(true)` when all are written.
    pub(crate) fn step(&mut self, out: &mut Vec<u8>) -> Result<bool, SqlError> {
        match &self.rs.rows {
            RowSource::Values(rows) => {
                let end = (self.pos + ROWS_PER_STEP).min(rows.len());
                for row in &rows[self.pos..end] {
                    write_value_row(&self.rs.columns, row, out)?;
                    self.rows_written += 1;
                }
                self.pos = end;
                Ok(self.pos >= rows.len())
            }
            RowSource::Stored {
                table, projection, ..
            } => {
                let Some(mut iter) = self.iter.take() else {
                    return Ok(true);
                };
                let mut n = 0;
                let result = loop {
                    if n >= ROWS_PER_STEP {
                        break Ok(iter.peek().is_none());
                    }
                    let Some(r) = iter.next() else {
                        break Ok(true);
                    };
                    let row = table.rows.row(r);
                    if let Err(e) = row_spans(&table.columns, row, &mut self.spans)
                        .and_then(|()| self.write_stored_row(table, projection, row, out))
                    {
                        break Err(e);
                    }
                    self.rows_written += 1;
                    n += 1;
                };
                self.iter = Some(iter);
                result
            }
        }
    }

    fn write_stored_row(
        &mut self,
        table: &Table,
        projection: &[Proj],
        row: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SqlError> {
        let all_copy = projection.iter().all(|p| matches!(p, Proj::Copy(_)));
        if all_copy {
            let any_null = projection.iter().any(|p| match p {
                Proj::Copy(i) => self.spans[*i].null,
                Proj::Eval(_) => false,
            });
            if !any_null {
                out.push(token::ROW);
                for p in projection {
                    if let Proj::Copy(i) = p {
                        let s = self.spans[*i];
                        out.extend_from_slice(&row[s.start as usize..s.end as usize]);
                    }
                }
                return Ok(());
            }
            out.push(token::NBCROW);
            let bitmap_at = out.len();
            out.resize(bitmap_at + projection.len().div_ceil(8), 0);
            for (k, p) in projection.iter().enumerate() {
                if let Proj::Copy(i) = p {
                    let s = self.spans[*i];
                    if s.null {
                        out[bitmap_at + k / 8] |= 1 << (k % 8);
                    } else {
                        out.extend_from_slice(&row[s.start as usize..s.end as usize]);
                    }
                }
            }
            return Ok(());
        }
        self.values.clear();
        for (p, c) in projection.iter().zip(&self.rs.columns) {
            let v = project(p, c, &table.columns, row, &self.spans)?;
            self.values.push(v);
        }
        let values = std::mem::take(&mut self.values);
        let result = write_value_row(&self.rs.columns, &values, out);
        self.values = values;
        result
    }
}

/// Writes one row of values (ROW, or NBCROW if any is NULL).
pub(crate) fn write_value_row(
    columns: &[OutColumn],
    row: &[Value],
    out: &mut Vec<u8>,
) -> Result<(), SqlError> {
    let any_null = row.iter().any(Value::is_null);
    if !any_null {
        out.push(token::ROW);
        for (c, v) in columns.iter().zip(row) {
            encode_value(&c.wire, v, out).map_err(|e| SqlError::new(8152, e.0))?;
        }
        return Ok(());
    }
    out.push(token::NBCROW);
    let bitmap_at = out.len();
    out.resize(bitmap_at + columns.len().div_ceil(8), 0);
    for (k, (c, v)) in columns.iter().zip(row).enumerate() {
        if v.is_null() {
            out[bitmap_at + k / 8] |= 1 << (k % 8);
        } else {
            encode_value(&c.wire, v, out).map_err(|e| SqlError::new(8152, e.0))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::catalog::{RowStore, encode_row};

    fn table() -> Arc<Table> {
        let columns = vec![
            Column::new("a", SqlType::Int, false),
            Column::new("b", SqlType::NVarChar(Some(5)), true),
        ];
        let mut rows = RowStore::default();
        for v in [Value::String("x".into()), Value::Null] {
            let mut buf = Vec::new();
            encode_row(&columns, &[Value::Int(1), v], &mut buf).unwrap();
            rows.push(&buf);
        }
        Arc::new(Table {
            schema: "dbo".into(),
            name: "t".into(),
            columns,
            rows,
            indexes: Vec::new(),
        })
    }

    #[test]
    fn rows_with_nulls_use_nbcrow() {
        let t = table();
        let rs = ResultSet {
            columns: t
                .columns
                .iter()
                .map(|c| OutColumn::new(c.name.clone(), c.ty, c.nullable))
                .collect(),
            rows: RowSource::Stored {
                table: t.clone(),
                selection: Selection::All {
                    skip: 0,
                    take: None,
                },
                projection: vec![Proj::Copy(0), Proj::Copy(1)],
            },
        };
        let mut out = Vec::new();
        assert!(rs.encoder().step(&mut out).unwrap());
        // Row 1: ROW, int (4 bytes), nvarchar len 2 + "x".
        assert_eq!(out[0], token::ROW);
        assert_eq!(&out[1..5], &1i32.to_le_bytes());
        assert_eq!(&out[5..9], &[2, 0, b'x', 0]);
        // Row 2: NBCROW, bitmap with column 2 NULL, then only the int.
        assert_eq!(&out[9..], &[token::NBCROW, 0b10, 1, 0, 0, 0]);

        let mut out = Vec::new();
        write_value_row(&rs.columns, &[Value::Null, Value::Null], &mut out).unwrap();
        assert_eq!(out, vec![token::NBCROW, 0b11]);
    }
}
