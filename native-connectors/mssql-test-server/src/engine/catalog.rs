//! The catalog: schemas, tables, typed columns, and compactly stored rows.
//!
//! A row is stored exactly as its ROW token payload would be on the wire for
//! the columns' TYPE_INFOs, so `SELECT` of stored columns copies bytes and a
//! bulk load whose client TYPE_INFO matches copies bytes the other way.
//! Rows live in chunks shared by `Arc`, so a transaction's working copy of a
//! table costs a vector of pointers, not a copy of the data.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::SqlError;
use crate::tds::codec::{decode_value, encode_value, skip_value};
use crate::tds::reader::Reader;
use crate::tds::wire_type::WireType;
use crate::types::{SqlType, Value};

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Column {
    /// Name.
    pub(crate) name: String,
    /// Type.
    pub(crate) ty: SqlType,
    /// Whether NULL is allowed.
    pub(crate) nullable: bool,
    /// TYPE_INFO of the stored (and selected) values.
    pub(crate) wire: WireType,
}

impl Column {
    /// A column with the wire type SQL Server would use for it.
    pub(crate) fn new(name: impl Into<String>, ty: SqlType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            ty,
            nullable,
            wire: WireType::for_column(ty, nullable),
        }
    }
}

/// Rows per chunk before a new chunk starts.
const CHUNK_ROWS: usize = 65_536;
/// Bytes per chunk before a new chunk starts.
const CHUNK_BYTES: usize = 8 << 20;

/// A run of rows: concatenated row bytes and the end offset of each row.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chunk {
    data: Vec<u8>,
    ends: Vec<u32>,
}

impl Chunk {
    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of row `i`.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.data[start..self.ends[i] as usize]
    }

    fn is_full(&self) -> bool {
        self.ends.len() >= CHUNK_ROWS || self.data.len() >= CHUNK_BYTES
    }
}

/// All rows of a table.
#[derive(Clone, Debug, Default)]
pub(crate) struct RowStore {
    chunks: Vec<Arc<Chunk>>,
    len: usize,
}

/// Where a row is: chunk and index in it.
pub(crate) type RowRef = (u32, u32);

impl RowStore {
    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends one encoded row.
    pub(crate) fn push(&mut self, row: &[u8]) {
        let needs_new = match self.chunks.last_mut() {
            None => true,
            Some(last) => last.is_full() || Arc::get_mut(last).is_none(),
        };
        if needs_new {
            self.chunks.push(Arc::new(Chunk {
                data: Vec::with_capacity(row.len().max(64 * 1024)),
                ends: Vec::with_capacity(1024),
            }));
        }
        if let Some(chunk) = self.chunks.last_mut().and_then(Arc::get_mut) {
            // A single row over 4 GiB cannot be stored; SQL Server's limit is 2 GiB per value.
            chunk.data.extend_from_slice(row);
            chunk.ends.push(chunk.data.len() as u32);
            self.len += 1;
        }
    }

    /// Moves all rows of `other` after these.
    pub(crate) fn append(&mut self, other: RowStore) {
        self.len += other.len;
        self.chunks.extend(other.chunks);
    }

    /// Removes all rows.
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Bytes of a row.
    #[inline]
    pub(crate) fn row(&self, r: RowRef) -> &[u8] {
        self.chunks[r.0 as usize].row(r.1 as usize)
    }

    /// All row positions in order.
    pub(crate) fn refs(&self) -> impl Iterator<Item = RowRef> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .flat_map(|(c, chunk)| (0..chunk.len()).map(move |i| (c as u32, i as u32)))
    }
}

/// Byte range and NULL-ness of one value inside a stored row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    /// Start offset in the row.
    pub(crate) start: u32,
    /// End offset in the row.
    pub(crate) end: u32,
    /// Whether the value is NULL.
    pub(crate) null: bool,
}

/// Computes the span of every column in a stored row.
#[inline]
pub(crate) fn row_spans(
    columns: &[Column],
    row: &[u8],
    spans: &mut Vec<Span>,
) -> Result<(), SqlError> {
    spans.clear();
    let mut r = Reader::new(row);
    for c in columns {
        let start = r.pos();
        let null = skip_value(&c.wire, &mut r).map_err(|e| corrupt(&e.to_string()))?;
        spans.push(Span {
            start: start as u32,
            end: r.pos() as u32,
            null,
        });
    }
    Ok(())
}

/// Decodes the value of column `i` of a stored row.
pub(crate) fn stored_value(column: &Column, row: &[u8], span: Span) -> Result<Value, SqlError> {
    if span.null {
        return Ok(Value::Null);
    }
    let mut r = Reader::new(&row[span.start as usize..span.end as usize]);
    decode_value(&column.wire, &mut r).map_err(|e| corrupt(&e.to_string()))
}

fn corrupt(what: &str) -> SqlError {
    SqlError::new(824, format!("Stored row is unreadable: {what}")).with_class(24, 2)
}

/// Encodes canonical values (see `types::convert`) as a stored row.
pub(crate) fn encode_row(
    columns: &[Column],
    values: &[Value],
    out: &mut Vec<u8>,
) -> Result<(), SqlError> {
    for (c, v) in columns.iter().zip(values) {
        encode_value(&c.wire, v, out).map_err(|e| SqlError::new(8152, e.0))?;
    }
    Ok(())
}

/// A table.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    /// Schema name as created.
    pub(crate) schema: String,
    /// Table name as created.
    pub(crate) name: String,
    /// Columns in ordinal order.
    pub(crate) columns: Vec<Column>,
    /// Rows.
    pub(crate) rows: RowStore,
    /// Indexes created on it (`name` and kind).
    pub(crate) indexes: Vec<(String, String)>,
}

impl Table {
    /// Index of a column by case-insensitive name.
    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        column_index(&self.columns, name)
    }
}

/// Index of a column by case-insensitive name.
pub(crate) fn column_index(columns: &[Column], name: &str) -> Option<usize> {
    columns.iter().position(|c| {
        c.name.eq_ignore_ascii_case(name) || c.name.to_lowercase() == name.to_lowercase()
    })
}

/// Catalog key of a table: lower-case `schema.table`.
pub(crate) fn table_key(schema: &str, name: &str) -> String {
    format!("{}.{}", schema.to_lowercase(), name.to_lowercase())
}

/// The committed state of all schemas and tables.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    /// Lower-case schema name → name as created.
    pub(crate) schemas: BTreeMap<String, String>,
    /// [`table_key`] → table.
    pub(crate) tables: BTreeMap<String, Arc<Table>>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        let mut schemas = BTreeMap::new();
        for s in ["dbo", "guest", "INFORMATION_SCHEMA", "sys"] {
            schemas.insert(s.to_lowercase(), s.to_string());
        }
        Catalog {
            schemas,
            tables: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_storage() {
        let columns = vec![
            Column::new("a", SqlType::Int, false),
            Column::new("b", SqlType::NVarChar(Some(10)), true),
        ];
        let mut store = RowStore::default();
        for i in 0..3 {
            let mut buf = Vec::new();
            let b = if i == 1 {
                Value::Null
            } else {
                Value::String(format!("r{i}"))
            };
            encode_row(&columns, &[Value::Int(i), b], &mut buf).unwrap();
            store.push(&buf);
        }
        assert_eq!(store.len(), 3);
        let mut spans = Vec::new();
        let refs: Vec<RowRef> = store.refs().collect();
        let row = store.row(refs[1]);
        row_spans(&columns, row, &mut spans).unwrap();
        assert!(spans[1].null);
        assert_eq!(
            stored_value(&columns[0], row, spans[0]).unwrap(),
            Value::Int(1)
        );
        let row = store.row(refs[2]);
        row_spans(&columns, row, &mut spans).unwrap();
        assert_eq!(
            stored_value(&columns[1], row, spans[1]).unwrap(),
            Value::String("r2".into())
        );
    }

    #[test]
    fn shared_chunks_are_not_written_through() {
        let columns = vec![Column::new("a", SqlType::Int, false)];
        let mut a = RowStore::default();
        let mut buf = Vec::new();
        encode_row(&columns, &[Value::Int(1)], &mut buf).unwrap();
        a.push(&buf);
        let snapshot = a.clone();
        a.push(&buf);
        assert_eq!(snapshot.len(), 1);
        assert_eq!(a.len(), 2);
        assert_eq!(snapshot.refs().count(), 1);
    }
}
