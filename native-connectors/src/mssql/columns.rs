//! The staging table's columns: their types from the source schema (and the target's, when
//! rows are added to an existing table), `schema_overrides`, and string and binary columns
//! sized from the longest value seen.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::{DataType, SchemaRef};
use hygge_runtime::contract::{ConnectorError, ConnectorResult, OnSchemaChange, SchemaAdapter};
use hygge_runtime::publish::target_schema_policy;
use tracing::warn;

use super::catalog::ColumnInfo;
use super::sql::{SqlType, TableName, quote};
use super::store::StorePlan;
use super::types::{sized, sql_type_for};

/// A column type fixed in `schema_overrides`: the type hygge encodes for, and the DDL as
/// the user wrote it (so `NCHAR(2)` stays NCHAR, not the NVARCHAR it is encoded like).
#[derive(Debug, Clone)]
pub struct ColumnOverride {
    /// The type values are encoded for.
    pub sql_type: SqlType,
    /// The DDL text, upper-cased.
    pub declared: String,
}

/// One column of the staging table.
#[derive(Debug, Clone)]
pub(super) struct StagedColumn {
    pub(super) name: String,
    pub(super) sql_type: SqlType,
    pub(super) nullable: bool,
    /// A new string/binary column sized from the data (no override, not in the target).
    pub(super) sized_from_data: bool,
    /// Longest value seen (UTF-16 units for text, bytes for binary).
    pub(super) longest: usize,
    /// Not in the existing target: added when publishing.
    pub(super) new_in_target: bool,
    /// The user's DDL from `schema_overrides`.
    pub(super) declared: Option<String>,
}

impl StagedColumn {
    /// The type a data-sized column needs for the longest value seen, with `factor` headroom.
    pub(super) fn fitted(&self, factor: f64) -> SqlType {
        let unsized_type = match self.sql_type {
            SqlType::NVarChar(_) => SqlType::NVarChar(None),
            _ => SqlType::VarBinary(None),
        };
        sized(unsized_type, self.longest, factor)
    }

    /// The column's definition in `CREATE TABLE` / `ALTER TABLE`.
    pub(super) fn ddl(&self) -> String {
        format!(
            "{} {} {}",
            quote(&self.name),
            self.declared.clone().unwrap_or_else(|| self.sql_type.ddl()),
            if self.nullable { "NULL" } else { "NOT NULL" }
        )
    }
}

/// The source's columns against the existing table's, under `on_schema_change` (see
/// [`target_schema_policy`]).
pub(super) fn schema_policy(
    schema: &SchemaRef,
    target: &[ColumnInfo],
    policy: OnSchemaChange,
    table: &TableName,
) -> ConnectorResult<Option<SchemaAdapter>> {
    let names: Vec<&str> = target.iter().map(|c| c.name.as_str()).collect();
    target_schema_policy(schema, &names, policy, table)
}

/// The staging table's columns: the target's own types for columns it has, the
/// override or the Arrow-derived type for the rest; checks drift against the target.
pub(super) fn plan_columns(
    schema: &SchemaRef,
    target: Option<&[ColumnInfo]>,
    plan: &StorePlan,
    table: &TableName,
) -> ConnectorResult<Vec<StagedColumn>> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name();
        if let Some(existing) = target.and_then(|t| t.iter().find(|c| &c.name == name)) {
            let sql_type = match existing.sql_type.clone() {
                // tiberius mis-encodes an empty XML value in a bulk load; XML is staged as
                // text and converted by the server in the publishing INSERT … SELECT.
                Ok(SqlType::Xml) => SqlType::NVarChar(None),
                Ok(ty) => ty,
                Err(server_type) => {
                    return Err(ConnectorError::config(format!(
                        "column `{name}` of {table} has type {server_type}, which hygge cannot load"
                    )));
                }
            };
            columns.push(StagedColumn {
                name: name.clone(),
                sql_type,
                nullable: true,
                sized_from_data: false,
                longest: 0,
                new_in_target: false,
                declared: None,
            });
            continue;
        }
        let declared = plan.schema_overrides.get(name).map(|o| o.declared.clone());
        let (sql_type, sized_from_data) = match plan.schema_overrides.get(name) {
            Some(o) => (o.sql_type, false),
            None => {
                let ty = sql_type_for(field).map_err(|why| {
                    ConnectorError::config(format!("column `{name}`: {why}")).with_context(
                        "give it a type in `schema_overrides`, or leave it out with `columns:`",
                    )
                })?;
                (
                    ty,
                    matches!(ty, SqlType::NVarChar(None) | SqlType::VarBinary(None)),
                )
            }
        };
        let new_in_target = target.is_some();
        if new_in_target {
            warn!(table = %table, column = %name, "adding new column as nullable {}", sql_type.ddl());
        }
        columns.push(StagedColumn {
            name: name.clone(),
            sql_type,
            // Columns added to an existing table must be nullable: its old rows have no value.
            nullable: field.is_nullable() || new_in_target,
            sized_from_data,
            longest: 0,
            new_in_target,
            declared,
        });
    }
    if let Some(target) = target {
        let missing: Vec<&str> = target
            .iter()
            .filter(|c| !c.nullable && !schema.fields().iter().any(|f| f.name() == &c.name))
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ConnectorError::data(format!(
                "{table} has NOT NULL column(s) {} that the data does not have",
                missing.join(", ")
            ))
            .with_context("add them to the data, make them nullable, or use if_exists: replace"));
        }
    }
    if let Some(unknown) = plan
        .schema_overrides
        .keys()
        .find(|k| !schema.fields().iter().any(|f| f.name() == *k))
    {
        return Err(ConnectorError::config(format!(
            "schema_overrides names `{unknown}`, which is not a column of the data"
        )));
    }
    Ok(columns)
}

/// Whether `a` holds longer values than `b` (both variable-length types).
pub(super) fn wider(a: SqlType, b: SqlType) -> bool {
    let length = |t: SqlType| match t {
        SqlType::NVarChar(n) | SqlType::VarBinary(n) | SqlType::VarChar(n) => n.unwrap_or(u32::MAX),
        _ => 0,
    };
    length(a) > length(b)
}

/// The longest value of a text (UTF-16 units) or binary (bytes) column.
pub(super) fn longest_value(array: &dyn Array) -> usize {
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .flatten()
            .map(utf16_len)
            .max()
            .unwrap_or(0),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .flatten()
            .map(utf16_len)
            .max()
            .unwrap_or(0),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .flatten()
            .map(utf16_len)
            .max()
            .unwrap_or(0),
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .flatten()
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0),
        DataType::LargeBinary => array
            .as_binary::<i64>()
            .iter()
            .flatten()
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0),
        DataType::BinaryView => array
            .as_binary_view()
            .iter()
            .flatten()
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0),
        DataType::FixedSizeBinary(n) => *n as usize,
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            longest_value(dict.values().as_ref())
        }
        _ => 0,
    }
}

fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}
