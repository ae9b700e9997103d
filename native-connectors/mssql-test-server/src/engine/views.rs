//! INFORMATION_SCHEMA views with SQL Server's column types, built from the catalog.

use super::catalog::Column;
use super::database::Workspace;
use crate::types::{SqlType, Value};

/// A materialised view.
pub(crate) struct View {
    /// Columns.
    pub(crate) columns: Vec<Column>,
    /// Rows.
    pub(crate) rows: Vec<Vec<Value>>,
}

fn sysname(name: &str, nullable: bool) -> Column {
    Column::new(name, SqlType::NVarChar(Some(128)), nullable)
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

fn opt_int(v: Option<i64>) -> Value {
    v.map(Value::Int).unwrap_or(Value::Null)
}

/// The view `INFORMATION_SCHEMA.<name>`, if supported.
pub(crate) fn information_schema(name: &str, ws: &Workspace<'_>, database: &str) -> Option<View> {
    match name.to_ascii_uppercase().as_str() {
        "SCHEMATA" => Some(schemata(ws, database)),
        "TABLES" => Some(tables(ws, database)),
        "COLUMNS" => Some(columns(ws, database)),
        "VIEWS" => Some(View {
            columns: vec![
                sysname("TABLE_CATALOG", true),
                sysname("TABLE_SCHEMA", true),
                sysname("TABLE_NAME", false),
                Column::new("VIEW_DEFINITION", SqlType::NVarChar(Some(4000)), true),
                Column::new("CHECK_OPTION", SqlType::VarChar(Some(7)), true),
                Column::new("IS_UPDATABLE", SqlType::VarChar(Some(2)), true),
            ],
            rows: Vec::new(),
        }),
        _ => None,
    }
}

fn schemata(ws: &Workspace<'_>, database: &str) -> View {
    let rows = ws
        .schema_names()
        .into_iter()
        .map(|s| {
            vec![
                text(database),
                text(&s),
                text(
                    if s.eq_ignore_ascii_case("dbo") || s.eq_ignore_ascii_case("guest") {
                        &s
                    } else {
                        "dbo"
                    },
                ),
                Value::Null,
                Value::Null,
                text("iso_1"),
            ]
        })
        .collect();
    View {
        columns: vec![
            sysname("CATALOG_NAME", true),
            sysname("SCHEMA_NAME", false),
            sysname("SCHEMA_OWNER", true),
            Column::new(
                "DEFAULT_CHARACTER_SET_CATALOG",
                SqlType::VarChar(Some(6)),
                true,
            ),
            Column::new(
                "DEFAULT_CHARACTER_SET_SCHEMA",
                SqlType::VarChar(Some(3)),
                true,
            ),
            sysname("DEFAULT_CHARACTER_SET_NAME", true),
        ],
        rows,
    }
}

fn tables(ws: &Workspace<'_>, database: &str) -> View {
    let rows = ws
        .tables()
        .iter()
        .map(|t| {
            vec![
                text(database),
                text(&t.schema),
                text(&t.name),
                text("BASE TABLE"),
            ]
        })
        .collect();
    View {
        columns: vec![
            sysname("TABLE_CATALOG", true),
            sysname("TABLE_SCHEMA", true),
            sysname("TABLE_NAME", false),
            Column::new("TABLE_TYPE", SqlType::VarChar(Some(10)), true),
        ],
        rows,
    }
}

fn columns(ws: &Workspace<'_>, database: &str) -> View {
    let mut rows = Vec::new();
    for t in ws.tables() {
        for (i, c) in t.columns.iter().enumerate() {
            let ty = c.ty;
            let unicode = matches!(
                ty,
                SqlType::NChar(_) | SqlType::NVarChar(_) | SqlType::NText | SqlType::Xml
            );
            let octets = ty.character_maximum_length().map(|n| {
                if n > 0 && unicode && ty != SqlType::NText {
                    n * 2
                } else if ty == SqlType::NText {
                    2_147_483_646
                } else {
                    n
                }
            });
            let radix = match ty {
                SqlType::Real | SqlType::Float => Some(2),
                _ if ty.numeric_precision().is_some() => Some(10),
                _ => None,
            };
            let is_char = ty.is_string() && ty != SqlType::Xml;
            rows.push(vec![
                text(database),
                text(&t.schema),
                text(&t.name),
                text(&c.name),
                Value::Int(i as i64 + 1),
                Value::Null,
                text(if c.nullable { "YES" } else { "NO" }),
                text(ty.data_type_name()),
                opt_int(ty.character_maximum_length()),
                opt_int(octets),
                opt_int(ty.numeric_precision()),
                opt_int(radix),
                opt_int(ty.numeric_scale()),
                opt_int(ty.datetime_precision()),
                Value::Null,
                Value::Null,
                if is_char {
                    text(if unicode { "UNICODE" } else { "iso_1" })
                } else {
                    Value::Null
                },
                Value::Null,
                Value::Null,
                if is_char {
                    text("SQL_Latin1_General_CP1_CI_AS")
                } else {
                    Value::Null
                },
                Value::Null,
                Value::Null,
                Value::Null,
            ]);
        }
    }
    View {
        columns: vec![
            sysname("TABLE_CATALOG", true),
            sysname("TABLE_SCHEMA", true),
            sysname("TABLE_NAME", false),
            sysname("COLUMN_NAME", true),
            Column::new("ORDINAL_POSITION", SqlType::Int, true),
            Column::new("COLUMN_DEFAULT", SqlType::NVarChar(Some(4000)), true),
            Column::new("IS_NULLABLE", SqlType::VarChar(Some(3)), true),
            sysname("DATA_TYPE", true),
            Column::new("CHARACTER_MAXIMUM_LENGTH", SqlType::Int, true),
            Column::new("CHARACTER_OCTET_LENGTH", SqlType::Int, true),
            Column::new("NUMERIC_PRECISION", SqlType::TinyInt, true),
            Column::new("NUMERIC_PRECISION_RADIX", SqlType::SmallInt, true),
            Column::new("NUMERIC_SCALE", SqlType::Int, true),
            Column::new("DATETIME_PRECISION", SqlType::SmallInt, true),
            sysname("CHARACTER_SET_CATALOG", true),
            sysname("CHARACTER_SET_SCHEMA", true),
            sysname("CHARACTER_SET_NAME", true),
            sysname("COLLATION_CATALOG", true),
            sysname("COLLATION_SCHEMA", true),
            sysname("COLLATION_NAME", true),
            sysname("DOMAIN_CATALOG", true),
            sysname("DOMAIN_SCHEMA", true),
            sysname("DOMAIN_NAME", true),
        ],
        rows,
    }
}
