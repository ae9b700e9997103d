//! Bulk load: turning the client's bulk rows into stored rows of the target table.
//!
//! A column whose client TYPE_INFO equals the stored one is copied byte for
//! byte after a cheap check; any other column is decoded, converted to the
//! column type (with SQL Server's errors) and re-encoded.

use super::catalog::{Column, RowStore, column_index};
use crate::error::SqlError;
use crate::tds::bulk::{BulkColumn, ValueSpan};
use crate::tds::codec::{copyable, decode_value, encode_value};
use crate::tds::reader::Reader;
use crate::types::Value;
use crate::types::convert::{Target, convert};

/// The target of an `INSERT BULK` statement.
#[derive(Debug, Clone)]
pub(crate) struct BulkTarget {
    /// Catalog key of the table.
    pub(crate) key: String,
    /// `db.schema.table` for messages.
    pub(crate) message_name: String,
    /// The table's columns when INSERT BULK ran.
    pub(crate) columns: Vec<Column>,
    /// Column names from the INSERT BULK column list (empty = all).
    pub(crate) listed: Vec<String>,
}

/// Accumulates the rows of one bulk load.
#[derive(Debug)]
pub(crate) struct BulkLoader {
    target: BulkTarget,
    client: Vec<BulkColumn>,
    /// For each table column, the client column that carries it.
    source: Vec<Option<usize>>,
    /// For each client column, whether its bytes can be copied.
    same_wire: Vec<bool>,
    staging: RowStore,
    row: Vec<u8>,
    rows: u64,
}

impl BulkLoader {
    /// Matches the client's COLMETADATA against the table.
    pub(crate) fn new(target: BulkTarget, client: Vec<BulkColumn>) -> Result<BulkLoader, SqlError> {
        let mut source = vec![None; target.columns.len()];
        let mut same_wire = Vec::with_capacity(client.len());
        for (i, c) in client.iter().enumerate() {
            let name = if c.name.is_empty() {
                target.listed.get(i).cloned().unwrap_or_default()
            } else {
                c.name.clone()
            };
            let t = column_index(&target.columns, &name)
                .ok_or_else(|| SqlError::invalid_column(&name))?;
            source[t] = Some(i);
            same_wire.push(target.columns[t].wire == c.wire);
        }
        Ok(BulkLoader {
            target,
            client,
            source,
            same_wire,
            staging: RowStore::default(),
            row: Vec::with_capacity(256),
            rows: 0,
        })
    }

    /// Rows received so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds one row whose values are at `spans` in `buf`.
    #[inline]
    pub(crate) fn add_row(&mut self, buf: &[u8], spans: &[ValueSpan]) -> Result<(), SqlError> {
        self.row.clear();
        for (t, col) in self.target.columns.iter().enumerate() {
            let Some(i) = self.source[t] else {
                if !col.nullable {
                    return Err(SqlError::null_not_allowed(
                        &col.name,
                        &self.target.message_name,
                    ));
                }
                encode_value(&col.wire, &Value::Null, &mut self.row)
                    .map_err(|e| SqlError::new(4815, e.0))?;
                continue;
            };
            let span = spans[i];
            if span.null {
                if !col.nullable {
                    return Err(SqlError::null_not_allowed(
                        &col.name,
                        &self.target.message_name,
                    ));
                }
                encode_value(&col.wire, &Value::Null, &mut self.row)
                    .map_err(|e| SqlError::new(4815, e.0))?;
                continue;
            }
            let bytes = &buf[span.start..span.end];
            if self.same_wire[i] && copyable(&col.wire, bytes, false) {
                self.row.extend_from_slice(bytes);
                continue;
            }
            let client = &self.client[i];
            let mut r = Reader::new(bytes);
            let v = decode_value(&client.wire, &mut r).map_err(|e| {
                SqlError::new(
                    4815,
                    format!(
                        "Received an invalid column length from the bcp client for colid {}. ({e})",
                        i + 1
                    ),
                )
            })?;
            let v = convert(
                &v,
                client.wire.sql_type(),
                col.ty,
                Target::Column {
                    table: &self.target.message_name,
                    column: &col.name,
                },
            )?;
            if v.is_null() && !col.nullable {
                return Err(SqlError::null_not_allowed(
                    &col.name,
                    &self.target.message_name,
                ));
            }
            encode_value(&col.wire, &v, &mut self.row).map_err(|e| SqlError::new(4815, e.0))?;
        }
        self.staging.push(&self.row);
        self.rows += 1;
        Ok(())
    }

    /// The loaded rows, to append to the table.
    pub(crate) fn finish(self) -> (BulkTarget, RowStore) {
        (self.target, self.staging)
    }
}
