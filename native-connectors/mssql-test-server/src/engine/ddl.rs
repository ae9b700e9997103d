//! Schema changes: CREATE SCHEMA/TABLE/INDEX, DROP, ALTER TABLE ADD,
//! TRUNCATE, sp_rename.

use super::catalog::{Column, RowStore, Table, encode_row, row_spans, stored_value, table_key};
use super::database::Workspace;
use crate::error::SqlError;
use crate::sql::ast::{ColumnSpec, ObjectName};
use crate::tds::codec::encode_value;
use crate::types::convert::{Target, convert};

/// The schema of a name (default `dbo`).
pub(crate) fn schema_of(name: &ObjectName) -> &str {
    name.schema.as_deref().unwrap_or("dbo")
}

/// The catalog key of a name.
pub(crate) fn key_of(name: &ObjectName) -> String {
    table_key(schema_of(name), &name.name)
}

/// CREATE SCHEMA.
pub(crate) fn create_schema(ws: &mut Workspace<'_>, name: &str) -> Result<(), SqlError> {
    if ws.schema(&name.to_lowercase()).is_some() {
        return Err(SqlError::already_exists(name));
    }
    ws.put_schema(name);
    Ok(())
}

fn check_unique_columns(columns: &[Column], table: &str) -> Result<(), SqlError> {
    for (i, c) in columns.iter().enumerate() {
        if columns[..i]
            .iter()
            .any(|o| o.name.to_lowercase() == c.name.to_lowercase())
        {
            return Err(SqlError::new(
                2705,
                format!(
                    "Column names in each table must be unique. Column name '{}' in table '{table}' is specified more than once.",
                    c.name
                ),
            ));
        }
    }
    Ok(())
}

/// CREATE TABLE.
pub(crate) fn create_table(
    ws: &mut Workspace<'_>,
    name: &ObjectName,
    specs: &[ColumnSpec],
) -> Result<(), SqlError> {
    let schema = ws.schema(&schema_of(name).to_lowercase()).ok_or_else(|| {
        SqlError::new(
            2760,
            format!(
                "The specified schema name \"{}\" either does not exist or you do not have permission to use it.",
                schema_of(name)
            ),
        )
    })?;
    let key = key_of(name);
    if ws.table(&key).is_some() {
        return Err(SqlError::already_exists(&name.name));
    }
    let columns: Vec<Column> = specs
        .iter()
        .map(|s| Column::new(s.name.clone(), s.ty, s.nullable))
        .collect();
    check_unique_columns(&columns, &name.name)?;
    ws.put_table(
        &key,
        Table {
            schema,
            name: name.name.clone(),
            columns,
            rows: RowStore::default(),
            indexes: Vec::new(),
        },
    );
    Ok(())
}

/// CREATE … INDEX: recorded on the table, no effect on data.
pub(crate) fn create_index(
    ws: &mut Workspace<'_>,
    index: &str,
    kind: &str,
    name: &ObjectName,
) -> Result<(), SqlError> {
    let key = key_of(name);
    let table = ws
        .table_mut(&key)
        .ok_or_else(|| SqlError::cannot_find_object(1088, &name.display()))?;
    if table
        .indexes
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(index))
    {
        return Err(SqlError::new(
            1913,
            format!(
                "The operation failed because an index or statistics with name '{index}' already exists on table '{}'.",
                name.display()
            ),
        ));
    }
    table.indexes.push((index.to_string(), kind.to_string()));
    Ok(())
}

/// DROP TABLE [IF EXISTS].
pub(crate) fn drop_tables(
    ws: &mut Workspace<'_>,
    names: &[ObjectName],
    if_exists: bool,
) -> Result<(), SqlError> {
    for name in names {
        let key = key_of(name);
        if ws.table(&key).is_some() {
            ws.remove_table(&key);
        } else if !if_exists {
            return Err(SqlError::cannot_drop(&name.display()));
        }
    }
    Ok(())
}

/// ALTER TABLE … ADD.
pub(crate) fn alter_add(
    ws: &mut Workspace<'_>,
    name: &ObjectName,
    specs: &[ColumnSpec],
) -> Result<(), SqlError> {
    let key = key_of(name);
    let table = ws
        .table_mut(&key)
        .ok_or_else(|| SqlError::cannot_find_object(4902, &name.display()))?;
    let new: Vec<Column> = specs
        .iter()
        .map(|s| Column::new(s.name.clone(), s.ty, s.nullable))
        .collect();
    let mut all = table.columns.clone();
    all.extend(new.iter().cloned());
    check_unique_columns(&all, &table.name)?;
    if table.rows.len() > 0 {
        if let Some(c) = new.iter().find(|c| !c.nullable) {
            return Err(SqlError::new(
                4901,
                format!(
                    "ALTER TABLE only allows columns to be added that can contain nulls, or have a DEFAULT definition specified, or the column being added is an identity or timestamp column, or alternatively if none of the previous conditions are satisfied the table must be empty to allow addition of this column. Column '{}' cannot be added to non-empty table '{}' because it does not satisfy these conditions.",
                    c.name, table.name
                ),
            ));
        }
        let mut nulls = Vec::new();
        for c in &new {
            encode_value(&c.wire, &crate::types::Value::Null, &mut nulls)
                .map_err(|e| SqlError::new(8152, e.0))?;
        }
        let mut rebuilt = RowStore::default();
        let mut buf = Vec::new();
        for r in table.rows.refs() {
            buf.clear();
            buf.extend_from_slice(table.rows.row(r));
            buf.extend_from_slice(&nulls);
            rebuilt.push(&buf);
        }
        table.rows = rebuilt;
    }
    table.columns = all;
    Ok(())
}

/// ALTER TABLE … ALTER COLUMN: converts every stored value to the new type.
pub(crate) fn alter_column(
    ws: &mut Workspace<'_>,
    name: &ObjectName,
    spec: &ColumnSpec,
    database: &str,
) -> Result<(), SqlError> {
    let key = key_of(name);
    let table = ws
        .table_mut(&key)
        .ok_or_else(|| SqlError::cannot_find_object(4902, &name.display()))?;
    let i = table.column_index(&spec.name).ok_or_else(|| {
        SqlError::new(
            4924,
            format!(
                "ALTER TABLE ALTER COLUMN failed because column '{}' does not exist in table '{}'.",
                spec.name, table.name
            ),
        )
    })?;
    let old = table.columns[i].clone();
    let new = Column::new(old.name.clone(), spec.ty, spec.nullable);
    let message_name = format!("{database}.{}.{}", table.schema, table.name);
    let mut columns = table.columns.clone();
    columns[i] = new.clone();
    let mut rebuilt = RowStore::default();
    let mut spans = Vec::new();
    let mut values = Vec::new();
    let mut buf = Vec::new();
    for r in table.rows.refs() {
        let row = table.rows.row(r);
        row_spans(&table.columns, row, &mut spans)?;
        values.clear();
        for (c, s) in table.columns.iter().zip(&spans) {
            values.push(stored_value(c, row, *s)?);
        }
        let converted = convert(
            &values[i],
            Some(old.ty),
            new.ty,
            Target::Column {
                table: &message_name,
                column: &new.name,
            },
        )?;
        if converted.is_null() && !new.nullable {
            return Err(SqlError::new(
                515,
                format!(
                    "Cannot insert the value NULL into column '{}', table '{message_name}'; column does not allow nulls. UPDATE fails.",
                    new.name
                ),
            )
            .with_class(16, 2));
        }
        values[i] = converted;
        buf.clear();
        encode_row(&columns, &values, &mut buf)?;
        rebuilt.push(&buf);
    }
    table.columns = columns;
    table.rows = rebuilt;
    Ok(())
}

/// TRUNCATE TABLE.
pub(crate) fn truncate(ws: &mut Workspace<'_>, name: &ObjectName) -> Result<(), SqlError> {
    let key = key_of(name);
    let table = ws
        .table_mut(&key)
        .ok_or_else(|| SqlError::cannot_find_object(4701, &name.display()))?;
    table.rows.clear();
    Ok(())
}

/// Splits `s.t`, `[s].[t]`, `t` (and `s.t.c` for columns) into parts.
pub(crate) fn split_name(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut in_bracket = false;
    while let Some(c) = chars.next() {
        match c {
            '[' if !in_bracket => in_bracket = true,
            ']' if in_bracket => {
                if chars.peek() == Some(&']') {
                    cur.push(']');
                    chars.next();
                } else {
                    in_bracket = false;
                }
            }
            '.' if !in_bracket => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// Locks a rename needs: the old and the new key.
pub(crate) fn rename_keys(objname: &str, newname: &str) -> Vec<String> {
    let parts = split_name(objname);
    match parts.as_slice() {
        [t] => vec![table_key("dbo", t), table_key("dbo", newname)],
        [s, t] => vec![table_key(s, t), table_key(s, newname)],
        [s, t, _] => vec![table_key(s, t)],
        _ => Vec::new(),
    }
}

/// sp_rename of a table (or, with `@objtype = 'COLUMN'`, of a column).
pub(crate) fn rename(
    ws: &mut Workspace<'_>,
    objname: &str,
    newname: &str,
    objtype: Option<&str>,
) -> Result<(), SqlError> {
    let parts = split_name(objname);
    let new_parts = split_name(newname);
    let new_last = new_parts.last().cloned().unwrap_or_default();
    if objtype.is_some_and(|t| t.eq_ignore_ascii_case("COLUMN")) {
        let (schema, table, column) = match parts.as_slice() {
            [t, c] => ("dbo".to_string(), t.clone(), c.clone()),
            [s, t, c] => (s.clone(), t.clone(), c.clone()),
            _ => return Err(SqlError::rename_missing()),
        };
        let key = table_key(&schema, &table);
        let t = ws.table_mut(&key).ok_or_else(SqlError::rename_missing)?;
        let i = t
            .column_index(&column)
            .ok_or_else(SqlError::rename_missing)?;
        if t.column_index(&new_last).is_some() {
            return Err(SqlError::new(
                15335,
                format!("Error: The new name '{new_last}' is already in use as a COLUMN name and would cause a duplicate that is not permitted."),
            ).with_class(11, 1));
        }
        t.columns[i].name = new_last;
        return Ok(());
    }
    let (schema, table) = match parts.as_slice() {
        [t] => ("dbo".to_string(), t.clone()),
        [s, t] => (s.clone(), t.clone()),
        _ => return Err(SqlError::rename_missing()),
    };
    let old_key = table_key(&schema, &table);
    let existing = ws.table(&old_key).ok_or_else(SqlError::rename_missing)?;
    let new_key = table_key(&schema, &new_last);
    if new_key != old_key && ws.table(&new_key).is_some() {
        return Err(SqlError::new(
            15335,
            format!("Error: The new name '{new_last}' is already in use as a object name and would cause a duplicate that is not permitted."),
        ).with_class(11, 1));
    }
    let mut renamed = Table::clone(&existing);
    renamed.name = new_last;
    ws.remove_table(&old_key);
    ws.put_table(&new_key, renamed);
    Ok(())
}

/// The 15477 caution SQL Server prints after sp_rename.
pub(crate) fn rename_caution() -> SqlError {
    SqlError::new(
        15477,
        "Caution: Changing any part of an object name could break scripts and stored procedures.",
    )
    .with_class(10, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_bracketed_names() {
        assert_eq!(split_name("[s].[a]]b]"), vec!["s", "a]b"]);
        assert_eq!(split_name("dbo.t"), vec!["dbo", "t"]);
        assert_eq!(split_name("t"), vec!["t"]);
    }
}
