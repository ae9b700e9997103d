//! The SQL Server column types the catalog knows, with their parameters.

use std::fmt;

/// A SQL Server data type with its length / precision / scale.
///
/// Lengths of character types are in characters (bytes for the single-byte
/// `char`/`varchar`), `None` meaning `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal { precision: u8, scale: u8 },
    Numeric { precision: u8, scale: u8 },
    Money,
    SmallMoney,
    Date,
    Time(u8),
    DateTime2(u8),
    DateTimeOffset(u8),
    DateTime,
    SmallDateTime,
    Char(u16),
    VarChar(Option<u16>),
    NChar(u16),
    NVarChar(Option<u16>),
    Text,
    NText,
    Binary(u16),
    VarBinary(Option<u16>),
    Image,
    Xml,
    UniqueIdentifier,
    SqlVariant,
}

/// One argument in a type's parentheses: a number or `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeArg {
    Number(u32),
    Max,
}

impl SqlType {
    /// Builds a type from its name and arguments (`nvarchar`, `[Number(40)]`).
    ///
    /// The error is the text of the offending part, for an error message.
    pub(crate) fn from_name(name: &str, args: &[TypeArg]) -> Result<SqlType, String> {
        let lower = name.to_ascii_lowercase();
        let num = |i: usize| -> Option<u32> {
            match args.get(i) {
                Some(TypeArg::Number(n)) => Some(*n),
                _ => None,
            }
        };
        let no_args = |t: SqlType| -> Result<SqlType, String> {
            if args.is_empty() {
                Ok(t)
            } else {
                Err(name.to_string())
            }
        };
        let scale_arg = |default: u8| -> Result<u8, String> {
            match args {
                [] => Ok(default),
                [TypeArg::Number(n)] if *n <= 7 => Ok(*n as u8),
                _ => Err(name.to_string()),
            }
        };
        let char_len = |max: u32, allow_max: bool| -> Result<Option<u16>, String> {
            match args {
                [] => Ok(Some(1)),
                [TypeArg::Number(n)] if *n >= 1 && *n <= max => Ok(Some(*n as u16)),
                [TypeArg::Max] if allow_max => Ok(None),
                _ => Err(name.to_string()),
            }
        };
        let fixed_len = |max: u32| -> Result<u16, String> {
            match char_len(max, false)? {
                Some(n) => Ok(n),
                None => Err(name.to_string()),
            }
        };
        match lower.as_str() {
            "bit" => no_args(SqlType::Bit),
            "tinyint" => no_args(SqlType::TinyInt),
            "smallint" => no_args(SqlType::SmallInt),
            "int" | "integer" => no_args(SqlType::Int),
            "bigint" => no_args(SqlType::BigInt),
            "real" => no_args(SqlType::Real),
            "float" => match args {
                [] => Ok(SqlType::Float),
                [TypeArg::Number(n)] if (1..=24).contains(n) => Ok(SqlType::Real),
                [TypeArg::Number(n)] if (25..=53).contains(n) => Ok(SqlType::Float),
                _ => Err(name.to_string()),
            },
            "decimal" | "dec" | "numeric" => {
                let precision = num(0).unwrap_or(18);
                let scale = num(1).unwrap_or(0);
                if args.len() > 2
                    || args.contains(&TypeArg::Max)
                    || !(1..=38).contains(&precision)
                    || scale > precision
                {
                    return Err(name.to_string());
                }
                let (precision, scale) = (precision as u8, scale as u8);
                if lower == "numeric" {
                    Ok(SqlType::Numeric { precision, scale })
                } else {
                    Ok(SqlType::Decimal { precision, scale })
                }
            }
            "money" => no_args(SqlType::Money),
            "smallmoney" => no_args(SqlType::SmallMoney),
            "date" => no_args(SqlType::Date),
            "time" => Ok(SqlType::Time(scale_arg(7)?)),
            "datetime2" => Ok(SqlType::DateTime2(scale_arg(7)?)),
            "datetimeoffset" => Ok(SqlType::DateTimeOffset(scale_arg(7)?)),
            "datetime" => no_args(SqlType::DateTime),
            "smalldatetime" => no_args(SqlType::SmallDateTime),
            "char" | "character" => Ok(SqlType::Char(fixed_len(8000)?)),
            "varchar" => Ok(SqlType::VarChar(char_len(8000, true)?)),
            "nchar" => Ok(SqlType::NChar(fixed_len(4000)?)),
            "nvarchar" => Ok(SqlType::NVarChar(char_len(4000, true)?)),
            "sysname" => no_args(SqlType::NVarChar(Some(128))),
            "text" => no_args(SqlType::Text),
            "ntext" => no_args(SqlType::NText),
            "binary" => Ok(SqlType::Binary(fixed_len(8000)?)),
            "varbinary" => Ok(SqlType::VarBinary(char_len(8000, true)?)),
            "image" => no_args(SqlType::Image),
            "xml" => no_args(SqlType::Xml),
            "uniqueidentifier" => no_args(SqlType::UniqueIdentifier),
            "sql_variant" => no_args(SqlType::SqlVariant),
            _ => Err(name.to_string()),
        }
    }

    /// The lower-case base name, as `INFORMATION_SCHEMA.COLUMNS.DATA_TYPE` shows it.
    pub(crate) fn data_type_name(&self) -> &'static str {
        match self {
            SqlType::Bit => "bit",
            SqlType::TinyInt => "tinyint",
            SqlType::SmallInt => "smallint",
            SqlType::Int => "int",
            SqlType::BigInt => "bigint",
            SqlType::Real => "real",
            SqlType::Float => "float",
            SqlType::Decimal { .. } => "decimal",
            SqlType::Numeric { .. } => "numeric",
            SqlType::Money => "money",
            SqlType::SmallMoney => "smallmoney",
            SqlType::Date => "date",
            SqlType::Time(_) => "time",
            SqlType::DateTime2(_) => "datetime2",
            SqlType::DateTimeOffset(_) => "datetimeoffset",
            SqlType::DateTime => "datetime",
            SqlType::SmallDateTime => "smalldatetime",
            SqlType::Char(_) => "char",
            SqlType::VarChar(_) => "varchar",
            SqlType::NChar(_) => "nchar",
            SqlType::NVarChar(_) => "nvarchar",
            SqlType::Text => "text",
            SqlType::NText => "ntext",
            SqlType::Binary(_) => "binary",
            SqlType::VarBinary(_) => "varbinary",
            SqlType::Image => "image",
            SqlType::Xml => "xml",
            SqlType::UniqueIdentifier => "uniqueidentifier",
            SqlType::SqlVariant => "sql_variant",
        }
    }

    /// `CHARACTER_MAXIMUM_LENGTH`: characters (bytes for binary), -1 for MAX.
    pub(crate) fn character_maximum_length(&self) -> Option<i64> {
        let max_or = |n: &Option<u16>| n.map(i64::from).unwrap_or(-1);
        match self {
            SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => Some(i64::from(*n)),
            SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => Some(max_or(n)),
            SqlType::Text | SqlType::Image => Some(2_147_483_647),
            SqlType::NText => Some(1_073_741_823),
            SqlType::Xml => Some(-1),
            _ => None,
        }
    }

    /// `NUMERIC_PRECISION`.
    pub(crate) fn numeric_precision(&self) -> Option<i64> {
        match self {
            SqlType::TinyInt => Some(3),
            SqlType::SmallInt => Some(5),
            SqlType::Int => Some(10),
            SqlType::BigInt => Some(19),
            SqlType::Real => Some(24),
            SqlType::Float => Some(53),
            SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. } => {
                Some(i64::from(*precision))
            }
            SqlType::Money => Some(19),
            SqlType::SmallMoney => Some(10),
            _ => None,
        }
    }

    /// `NUMERIC_SCALE`.
    pub(crate) fn numeric_scale(&self) -> Option<i64> {
        match self {
            SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => Some(0),
            SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => {
                Some(i64::from(*scale))
            }
            SqlType::Money | SqlType::SmallMoney => Some(4),
            _ => None,
        }
    }

    /// `DATETIME_PRECISION`.
    pub(crate) fn datetime_precision(&self) -> Option<i64> {
        match self {
            SqlType::Date | SqlType::SmallDateTime => Some(0),
            SqlType::DateTime => Some(3),
            SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => {
                Some(i64::from(*s))
            }
            _ => None,
        }
    }

    /// Whether values of the type are character strings.
    pub(crate) fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::Char(_)
                | SqlType::VarChar(_)
                | SqlType::NChar(_)
                | SqlType::NVarChar(_)
                | SqlType::Text
                | SqlType::NText
                | SqlType::Xml
        )
    }

    /// Whether a value of this type may be compared / sorted (not text, ntext, image, xml).
    pub(crate) fn is_comparable(&self) -> bool {
        !matches!(
            self,
            SqlType::Text | SqlType::NText | SqlType::Image | SqlType::Xml
        )
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.data_type_name();
        let len = |f: &mut fmt::Formatter<'_>, n: &Option<u16>| match n {
            Some(n) => write!(f, "{name}({n})"),
            None => write!(f, "{name}(max)"),
        };
        match self {
            SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
                write!(f, "{name}({precision},{scale})")
            }
            SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => {
                write!(f, "{name}({s})")
            }
            SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => write!(f, "{name}({n})"),
            SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => len(f, n),
            _ => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_type_names() {
        assert_eq!(
            SqlType::from_name("NVARCHAR", &[TypeArg::Max]),
            Ok(SqlType::NVarChar(None))
        );
        assert_eq!(
            SqlType::from_name("decimal", &[TypeArg::Number(38), TypeArg::Number(10)]),
            Ok(SqlType::Decimal {
                precision: 38,
                scale: 10
            })
        );
        assert_eq!(
            SqlType::from_name("datetime2", &[]),
            Ok(SqlType::DateTime2(7))
        );
        assert!(SqlType::from_name("nvarchar", &[TypeArg::Number(4001)]).is_err());
        assert!(SqlType::from_name("geography", &[]).is_err());
        assert_eq!(SqlType::NVarChar(Some(40)).to_string(), "nvarchar(40)");
        assert_eq!(SqlType::VarBinary(None).to_string(), "varbinary(max)");
    }
}
