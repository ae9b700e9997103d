//! What hygge asks the server about its tables: columns with exact types (for tables from
//! INFORMATION_SCHEMA, for custom queries from `sp_describe_first_result_set`), which
//! tables exist, and creating schemas.

use hygge_runtime::contract::ConnectorError;
use tiberius::{Query, Row};

use super::config::ConnectionSettings;
use super::pool::{Conn, sql_error};
use super::sql::{SqlType, TableName, quote};

/// A column as the server describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// Its type, or the server's type name when hygge does not move that type.
    pub sql_type: Result<SqlType, String>,
    /// Whether it accepts NULL.
    pub nullable: bool,
}

/// Runs a parameterised query and collects its first result set.
pub async fn query_rows(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    sql: &str,
    params: &[&str],
) -> Result<Vec<Row>, ConnectorError> {
    let mut query = Query::new(sql.to_string());
    for p in params {
        query.bind(p.to_string());
    }
    conn.busy = true;
    let stream = query
        .query(&mut conn.client)
        .await
        .map_err(|e| sql_error(settings, e))?;
    let rows = stream
        .into_first_result()
        .await
        .map_err(|e| sql_error(settings, e))?;
    conn.busy = false;
    Ok(rows)
}

/// Runs statements that return no rows (DDL, a publish transaction).
pub async fn execute(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    sql: &str,
) -> Result<(), ConnectorError> {
    conn.busy = true;
    let stream = conn
        .client
        .simple_query(sql)
        .await
        .map_err(|e| sql_error(settings, e))?;
    stream
        .into_results()
        .await
        .map_err(|e| sql_error(settings, e))?;
    conn.busy = false;
    Ok(())
}

/// The columns of a table in order, or `None` when it does not exist.
pub async fn table_columns(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    table: &TableName,
) -> Result<Option<Vec<ColumnInfo>>, ConnectorError> {
    let rows = query_rows(
        conn,
        settings,
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
         NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS \
         WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 ORDER BY ORDINAL_POSITION",
        &[&table.schema, &table.table],
    )
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let int = |row: &Row, i: usize| -> Option<i64> {
        row.try_get::<i32, _>(i)
            .ok()
            .flatten()
            .map(i64::from)
            .or_else(|| row.try_get::<u8, _>(i).ok().flatten().map(i64::from))
            .or_else(|| row.try_get::<i16, _>(i).ok().flatten().map(i64::from))
    };
    rows.iter()
        .map(|row| {
            let name: &str = row.try_get(0).ok().flatten().unwrap_or_default();
            let data_type: &str = row.try_get(1).ok().flatten().unwrap_or_default();
            let nullable: &str = row.try_get(6).ok().flatten().unwrap_or("YES");
            let sql_type = SqlType::from_catalog(
                data_type,
                int(row, 2),
                int(row, 3),
                int(row, 4),
                int(row, 5),
            )
            .ok_or_else(|| data_type.to_string());
            Ok(ColumnInfo {
                name: name.to_string(),
                sql_type,
                nullable: nullable.eq_ignore_ascii_case("YES"),
            })
        })
        .collect::<Result<Vec<_>, ConnectorError>>()
        .map(Some)
}

/// The columns a custom query returns, from `sp_describe_first_result_set`.
pub async fn query_columns(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    sql: &str,
) -> Result<Vec<ColumnInfo>, ConnectorError> {
    let rows = query_rows(
        conn,
        settings,
        "EXEC sp_describe_first_result_set @tsql = @P1",
        &[sql],
    )
    .await
    .map_err(|e| {
        e.with_context("the home's `query` could not be described; check that it is one SELECT")
    })?;
    let mut columns = Vec::new();
    for row in &rows {
        let hidden = row
            .try_get::<bool, _>("is_hidden")
            .ok()
            .flatten()
            .unwrap_or(false);
        if hidden {
            continue;
        }
        let name: &str = row.try_get("name").ok().flatten().unwrap_or_default();
        let type_name: &str = row
            .try_get("system_type_name")
            .ok()
            .flatten()
            .unwrap_or_default();
        let nullable = row
            .try_get::<bool, _>("is_nullable")
            .ok()
            .flatten()
            .unwrap_or(true);
        columns.push(ColumnInfo {
            name: name.to_string(),
            sql_type: SqlType::parse(type_name).ok_or_else(|| type_name.to_string()),
            nullable,
        });
    }
    Ok(columns)
}

async fn schema_exists(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    schema: &str,
) -> Result<bool, ConnectorError> {
    let rows = query_rows(
        conn,
        settings,
        "SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = @P1",
        &[schema],
    )
    .await?;
    Ok(!rows.is_empty())
}

/// Creates `schema` unless it exists.
pub async fn ensure_schema(
    conn: &mut Conn,
    settings: &ConnectionSettings,
    schema: &str,
) -> Result<(), ConnectorError> {
    if schema_exists(conn, settings, schema).await? {
        return Ok(());
    }
    match execute(conn, settings, &format!("CREATE SCHEMA {}", quote(schema))).await {
        // Another flow may have created it in the meantime: that is success too.
        Err(e) if !schema_exists(conn, settings, schema).await? => Err(e),
        _ => Ok(()),
    }
}
