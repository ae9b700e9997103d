//! T-SQL text: quoted identifiers, two-part table names, and the column types hygge reads
//! and writes. Every identifier that reaches SQL text goes through [`quote`].

use std::fmt;

/// `[name]`, with `]` doubled: the only way identifiers enter SQL text.
pub fn quote(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// `N'text'`, with `'` doubled, for the few literals that cannot be parameters.
pub fn literal(text: &str) -> String {
    format!("N'{}'", text.replace('\'', "''"))
}

/// A table as `schema.table` (schema defaults to `dbo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    /// The schema.
    pub schema: String,
    /// The table.
    pub table: String,
}

impl TableName {
    /// Parses `table`, `schema.table`, `[schema].[table]`.
    ///
    /// # Errors
    /// A message when the name is empty or has more than two parts.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let parts = split_parts(raw.trim())?;
        match parts.as_slice() {
            [table] => Ok(TableName {
                schema: "dbo".into(),
                table: table.clone(),
            }),
            [schema, table] => Ok(TableName {
                schema: schema.clone(),
                table: table.clone(),
            }),
            _ => Err(format!("`{raw}` is not a table name")),
        }
    }

    /// A table beside this one, in the same schema.
    pub fn sibling(&self, table: String) -> TableName {
        TableName {
            schema: self.schema.clone(),
            table,
        }
    }

    /// `[schema].[table]`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }

    /// `schema.table` as an `N'…'` literal, for `sp_rename`.
    pub fn literal(&self) -> String {
        literal(&format!("{}.{}", quote(&self.schema), quote(&self.table)))
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

fn split_parts(raw: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = raw.chars().peekable();
    let mut bracketed = false;
    while let Some(c) = chars.next() {
        match c {
            '[' if current.is_empty() && !bracketed => bracketed = true,
            ']' if bracketed => {
                if chars.peek() == Some(&']') {
                    chars.next();
                    current.push(']');
                } else {
                    bracketed = false;
                }
            }
            '.' if !bracketed => parts.push(std::mem::take(&mut current)),
            c if !bracketed && (c.is_control() || "[];'\"".contains(c)) => {
                return Err(format!("`{raw}` has `{c}` outside brackets"));
            }
            c => current.push(c),
        }
    }
    if bracketed {
        return Err(format!("`{raw}` has an unclosed `[`"));
    }
    parts.push(current);
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err(format!("`{raw}` has an empty part"));
    }
    Ok(parts.into_iter().map(|p| p.trim().to_string()).collect())
}

/// Whether `text` has the shape of a type name with optional arguments (`NCHAR(2)`,
/// `DECIMAL(18, 2)`, `NVARCHAR(MAX)`) and nothing else, so it can be written into DDL.
pub fn is_plain_type_text(text: &str) -> bool {
    let text = text.trim();
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => match rest.strip_suffix(')') {
            Some(args) => (name.trim_end(), Some(args)),
            None => return false,
        },
        None => (text, None),
    };
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let args_ok = args.is_none_or(|args| {
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        parts.len() <= 2
            && parts.iter().all(|p| {
                p.eq_ignore_ascii_case("max")
                    || (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            })
    });
    name_ok && args_ok
}

/// A SQL Server column type with its parameters, as INFORMATION_SCHEMA or
/// `sp_describe_first_result_set` reports it and as DDL writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// BIT.
    Bit,
    /// TINYINT (0–255).
    TinyInt,
    /// SMALLINT.
    SmallInt,
    /// INT.
    Int,
    /// BIGINT.
    BigInt,
    /// REAL (float(24)).
    Real,
    /// FLOAT (float(53)).
    Float,
    /// DECIMAL / NUMERIC (precision, scale).
    Decimal(u8, u8),
    /// MONEY.
    Money,
    /// SMALLMONEY.
    SmallMoney,
    /// DATE.
    Date,
    /// TIME(scale).
    Time(u8),
    /// DATETIME.
    DateTime,
    /// SMALLDATETIME.
    SmallDateTime,
    /// DATETIME2(scale).
    DateTime2(u8),
    /// DATETIMEOFFSET(scale).
    DateTimeOffset(u8),
    /// CHAR / VARCHAR / TEXT: single-byte text; `None` length = MAX.
    VarChar(Option<u32>),
    /// NCHAR / NVARCHAR / NTEXT: Unicode text; `None` length = MAX.
    NVarChar(Option<u32>),
    /// XML.
    Xml,
    /// BINARY / VARBINARY / IMAGE; `None` length = MAX.
    VarBinary(Option<u32>),
    /// UNIQUEIDENTIFIER.
    UniqueIdentifier,
}

/// Longest NVARCHAR(n) before MAX.
pub const MAX_NVARCHAR: u32 = 4000;
/// Longest VARBINARY(n) / VARCHAR(n) before MAX.
pub const MAX_VARBINARY: u32 = 8000;

impl SqlType {
    /// Builds a type from INFORMATION_SCHEMA.COLUMNS-style parts (`data_type` lower-case;
    /// `max_length` in characters, -1 for MAX). `None` for a type hygge does not move.
    pub fn from_catalog(
        data_type: &str,
        max_length: Option<i64>,
        precision: Option<i64>,
        scale: Option<i64>,
        datetime_precision: Option<i64>,
    ) -> Option<SqlType> {
        let len = || match max_length {
            Some(n) if n > 0 => Some(n as u32),
            _ => None,
        };
        let fraction = || datetime_precision.unwrap_or(7).clamp(0, 7) as u8;
        Some(match data_type.to_ascii_lowercase().as_str() {
            "bit" => SqlType::Bit,
            "tinyint" => SqlType::TinyInt,
            "smallint" => SqlType::SmallInt,
            "int" => SqlType::Int,
            "bigint" => SqlType::BigInt,
            "real" => SqlType::Real,
            "float" => {
                if precision.is_some_and(|p| p <= 24) {
                    SqlType::Real
                } else {
                    SqlType::Float
                }
            }
            "decimal" | "numeric" => SqlType::Decimal(
                precision.unwrap_or(18).clamp(1, 38) as u8,
                scale.unwrap_or(0).clamp(0, 38) as u8,
            ),
            "money" => SqlType::Money,
            "smallmoney" => SqlType::SmallMoney,
            "date" => SqlType::Date,
            "time" => SqlType::Time(fraction()),
            "datetime" => SqlType::DateTime,
            "smalldatetime" => SqlType::SmallDateTime,
            "datetime2" => SqlType::DateTime2(fraction()),
            "datetimeoffset" => SqlType::DateTimeOffset(fraction()),
            "char" | "varchar" => SqlType::VarChar(len()),
            "text" => SqlType::VarChar(None),
            "nchar" | "nvarchar" => SqlType::NVarChar(len()),
            "ntext" | "sysname" => SqlType::NVarChar(if data_type == "sysname" {
                Some(128)
            } else {
                None
            }),
            "xml" => SqlType::Xml,
            "binary" | "varbinary" => SqlType::VarBinary(len()),
            "image" => SqlType::VarBinary(None),
            "uniqueidentifier" => SqlType::UniqueIdentifier,
            _ => return None,
        })
    }

    /// Parses a type as written in DDL or reported by `sp_describe_first_result_set`
    /// (`decimal(38,10)`, `nvarchar(max)`, `datetime2(7)`). `None` when unknown.
    pub fn parse(text: &str) -> Option<SqlType> {
        let text = text.trim().to_ascii_lowercase();
        let (name, args) = match text.split_once('(') {
            Some((name, rest)) => (name.trim(), rest.trim_end_matches(')').trim()),
            None => (text.as_str(), ""),
        };
        let mut numbers = args.split(',').map(str::trim);
        let first = numbers.next().filter(|a| !a.is_empty());
        let second = numbers.next();
        let as_int = |a: Option<&str>| a.and_then(|a| a.parse::<i64>().ok());
        let max_length = match first {
            Some("max") => Some(-1),
            other => as_int(other),
        };
        match name {
            "decimal" | "numeric" => SqlType::from_catalog(
                name,
                None,
                as_int(first).or(Some(18)),
                as_int(second).or(Some(0)),
                None,
            ),
            "float" => SqlType::from_catalog(name, None, as_int(first).or(Some(53)), None, None),
            "time" | "datetime2" | "datetimeoffset" => {
                SqlType::from_catalog(name, None, None, None, as_int(first).or(Some(7)))
            }
            "char" | "nchar" | "binary" if first.is_none() => {
                SqlType::from_catalog(name, Some(1), None, None, None)
            }
            _ => SqlType::from_catalog(name, max_length, None, None, None),
        }
    }

    /// DDL text, e.g. `NVARCHAR(40)`, `DATETIME2(7)`.
    pub fn ddl(self) -> String {
        let len = |n: Option<u32>| n.map_or_else(|| "MAX".to_string(), |n| n.to_string());
        match self {
            SqlType::Bit => "BIT".into(),
            SqlType::TinyInt => "TINYINT".into(),
            SqlType::SmallInt => "SMALLINT".into(),
            SqlType::Int => "INT".into(),
            SqlType::BigInt => "BIGINT".into(),
            SqlType::Real => "REAL".into(),
            SqlType::Float => "FLOAT".into(),
            SqlType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            SqlType::Money => "MONEY".into(),
            SqlType::SmallMoney => "SMALLMONEY".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time(s) => format!("TIME({s})"),
            SqlType::DateTime => "DATETIME".into(),
            SqlType::SmallDateTime => "SMALLDATETIME".into(),
            SqlType::DateTime2(s) => format!("DATETIME2({s})"),
            SqlType::DateTimeOffset(s) => format!("DATETIMEOFFSET({s})"),
            SqlType::VarChar(n) => format!("VARCHAR({})", len(n)),
            SqlType::NVarChar(n) => format!("NVARCHAR({})", len(n)),
            SqlType::Xml => "XML".into(),
            SqlType::VarBinary(n) => format!("VARBINARY({})", len(n)),
            SqlType::UniqueIdentifier => "UNIQUEIDENTIFIER".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_brackets_and_default_schema() {
        assert_eq!(TableName::parse("users").unwrap().quoted(), "[dbo].[users]");
        assert_eq!(
            TableName::parse("sales.orders").unwrap().quoted(),
            "[sales].[orders]"
        );
        let odd = TableName::parse("[my schema].[a.b]]c]").unwrap();
        assert_eq!(
            (odd.schema.as_str(), odd.table.as_str()),
            ("my schema", "a.b]c")
        );
        assert_eq!(odd.quoted(), "[my schema].[a.b]]c]");
        for bad in ["", "a.b.c", "a;drop table x", "[open", "a..b"] {
            assert!(TableName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_parse_and_print() {
        for (text, ty) in [
            ("decimal(38,10)", SqlType::Decimal(38, 10)),
            ("NVARCHAR(MAX)", SqlType::NVarChar(None)),
            ("nvarchar(40)", SqlType::NVarChar(Some(40))),
            ("datetime2(7)", SqlType::DateTime2(7)),
            ("datetime2", SqlType::DateTime2(7)),
            ("float", SqlType::Float),
            ("float(24)", SqlType::Real),
            ("varbinary(max)", SqlType::VarBinary(None)),
            ("money", SqlType::Money),
        ] {
            assert_eq!(SqlType::parse(text), Some(ty), "{text}");
            assert_eq!(SqlType::parse(&ty.ddl()), Some(ty), "{text}");
        }
        assert_eq!(SqlType::parse("geography"), None);
        assert!(is_plain_type_text("NCHAR(2)") && is_plain_type_text("decimal(18, 2)"));
        assert!(is_plain_type_text("NVARCHAR(MAX)") && is_plain_type_text("bit"));
        for bad in [
            "NVARCHAR(10); DROP TABLE x",
            "INT NULL",
            "NVARCHAR(10",
            "x(1,2,3)",
            "INT--",
        ] {
            assert!(!is_plain_type_text(bad), "{bad}");
        }
        assert_eq!(SqlType::parse("sql_variant"), None);
    }
}
