//! The PostgreSQL types hygge moves, and their Arrow types, both ways.
//!
//! One [`PgType`] names how a column's values travel in binary COPY. The home takes it from
//! the server's description of its columns, the store from the Arrow schema (or from the
//! target table and `schema_overrides`); [`PgType::arrow`] is the Arrow type either side
//! holds the values in.
//!
//! The mapping, documented in the README:
//! - `numeric(p,s)`: decimal128(p,s) up to 38 digits, decimal256(p,s) up to 76; a larger or
//!   unconstrained `numeric` is read as exact text (cast it to `numeric(p,s)` in a `query:`
//!   to get a decimal). NaN and ±Infinity are a data error naming the column.
//! - `timestamptz` is UTC; times and timestamps are microseconds; ±infinity dates and
//!   timestamps are a data error naming the column.
//! - uuid, json, jsonb, enums and `"char"` are text; domains are their base type;
//!   one-dimensional arrays of any of these are lists.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit};
use tokio_postgres::types::{Kind, Type};

/// Decimal digits `decimal128` holds.
const DECIMAL128_DIGITS: u8 = 38;
/// Decimal digits `decimal256` holds.
const DECIMAL256_DIGITS: u8 = 76;

/// How a column's values travel in binary COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    /// `boolean`.
    Bool,
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `oid` (read as bigint).
    Oid,
    /// `real`.
    Float4,
    /// `double precision`.
    Float8,
    /// `numeric(p,s)`, or unconstrained.
    Numeric(Option<(u8, i8)>),
    /// `text`, `varchar(n)`, `char(n)`, `name`, enums: UTF-8 bytes. The declared type is
    /// kept for the DDL of columns the store creates.
    Text(Option<String>),
    /// `"char"`: one byte.
    Char,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time` (without zone).
    Time,
    /// `timestamp` (without zone).
    Timestamp,
    /// `timestamptz`, as UTC.
    TimestampTz,
    /// `interval`.
    Interval,
    /// `uuid`, as text.
    Uuid,
    /// `json`, as text.
    Json,
    /// `jsonb`, as text.
    Jsonb,
    /// A one-dimensional array.
    Array(Box<PgType>),
}

impl PgType {
    /// The type of a column the server described (`modifier` is its typmod), or the name of
    /// the type hygge cannot read.
    ///
    /// # Errors
    /// The server's name of the type.
    pub fn from_server(ty: &Type, modifier: i32) -> Result<PgType, String> {
        Ok(match *ty {
            Type::BOOL => PgType::Bool,
            Type::INT2 => PgType::Int2,
            Type::INT4 => PgType::Int4,
            Type::INT8 => PgType::Int8,
            Type::OID => PgType::Oid,
            Type::FLOAT4 => PgType::Float4,
            Type::FLOAT8 => PgType::Float8,
            Type::NUMERIC => PgType::Numeric(numeric_modifier(modifier)),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::XML => {
                PgType::Text(None)
            }
            Type::CHAR => PgType::Char,
            Type::BYTEA => PgType::Bytea,
            Type::DATE => PgType::Date,
            Type::TIME => PgType::Time,
            Type::TIMESTAMP => PgType::Timestamp,
            Type::TIMESTAMPTZ => PgType::TimestampTz,
            Type::INTERVAL => PgType::Interval,
            Type::UUID => PgType::Uuid,
            Type::JSON => PgType::Json,
            Type::JSONB => PgType::Jsonb,
            _ => match ty.kind() {
                Kind::Enum(_) => PgType::Text(None),
                Kind::Domain(base) => PgType::from_server(base, modifier)?,
                Kind::Array(element) => {
                    let element = PgType::from_server(element, modifier)?;
                    if matches!(element, PgType::Array(_)) {
                        return Err(ty.name().to_string());
                    }
                    PgType::Array(Box::new(element))
                }
                _ => return Err(ty.name().to_string()),
            },
        })
    }

    /// The type a store gives a new column holding Arrow `data_type`, or `None` when
    /// PostgreSQL has no column for it.
    pub fn for_arrow(data_type: &DataType) -> Option<PgType> {
        Some(match data_type {
            DataType::Boolean => PgType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => PgType::Int2,
            DataType::Int32 | DataType::UInt16 => PgType::Int4,
            DataType::Int64 | DataType::UInt32 => PgType::Int8,
            DataType::UInt64 => PgType::Numeric(Some((20, 0))),
            DataType::Float16 | DataType::Float32 => PgType::Float4,
            DataType::Float64 => PgType::Float8,
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s) => PgType::Numeric(Some((*p, *s))),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                PgType::Text(None)
            }
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => PgType::Bytea,
            DataType::Date32 | DataType::Date64 => PgType::Date,
            DataType::Time32(_) | DataType::Time64(_) => PgType::Time,
            DataType::Timestamp(_, None) => PgType::Timestamp,
            DataType::Timestamp(_, Some(_)) => PgType::TimestampTz,
            DataType::Interval(_) | DataType::Duration(_) => PgType::Interval,
            DataType::Dictionary(_, value) => PgType::for_arrow(value)?,
            DataType::List(f)
            | DataType::LargeList(f)
            | DataType::ListView(f)
            | DataType::LargeListView(f)
            | DataType::FixedSizeList(f, _) => match PgType::for_arrow(f.data_type())? {
                PgType::Array(_) => return None,
                element => PgType::Array(Box::new(element)),
            },
            _ => return None,
        })
    }

    /// A type as `format_type()` or a user writes it (`integer`, `character varying(20)`,
    /// `numeric(18,2)`, `timestamp with time zone`, `text[]` …), or `None` when hygge does
    /// not load that type.
    pub fn parse(text: &str) -> Option<PgType> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(element) = text.strip_suffix("[]") {
            return match PgType::parse(element)? {
                PgType::Array(_) => None,
                element => Some(PgType::Array(Box::new(element))),
            };
        }
        let (name, args) = match text.split_once('(') {
            Some((name, rest)) => {
                let (args, after) = rest.split_once(')')?;
                // `timestamp(3) with time zone`
                (format!("{}{}", name.trim(), after.trim_end()), Some(args))
            }
            None => (text.clone(), None),
        };
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(match name.as_str() {
            "boolean" | "bool" => PgType::Bool,
            "smallint" | "int2" => PgType::Int2,
            "integer" | "int" | "int4" => PgType::Int4,
            "bigint" | "int8" => PgType::Int8,
            "real" | "float4" => PgType::Float4,
            "double precision" | "float8" | "float" => PgType::Float8,
            "numeric" | "decimal" => PgType::Numeric(match args {
                None => None,
                Some(args) => {
                    let mut parts = args.split(',').map(str::trim);
                    let precision: u8 = parts.next()?.parse().ok()?;
                    let scale: i8 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
                    if precision == 0 || parts.next().is_some() {
                        return None;
                    }
                    Some((precision, scale))
                }
            }),
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name" => {
                PgType::Text(Some(text.clone()))
            }
            "\"char\"" => PgType::Char,
            "bytea" => PgType::Bytea,
            "date" => PgType::Date,
            "time" | "time without time zone" => PgType::Time,
            "timestamp" | "timestamp without time zone" => PgType::Timestamp,
            "timestamptz" | "timestamp with time zone" => PgType::TimestampTz,
            "interval" => PgType::Interval,
            "uuid" => PgType::Uuid,
            "json" => PgType::Json,
            "jsonb" => PgType::Jsonb,
            _ => return None,
        })
    }

    /// The Arrow type the values are held in.
    pub fn arrow(&self) -> DataType {
        match self {
            PgType::Bool => DataType::Boolean,
            PgType::Int2 => DataType::Int16,
            PgType::Int4 => DataType::Int32,
            PgType::Int8 | PgType::Oid => DataType::Int64,
            PgType::Float4 => DataType::Float32,
            PgType::Float8 => DataType::Float64,
            PgType::Numeric(Some((p, s))) if *p <= DECIMAL128_DIGITS && valid_scale(*p, *s) => {
                DataType::Decimal128(*p, *s)
            }
            PgType::Numeric(Some((p, s))) if *p <= DECIMAL256_DIGITS && valid_scale(*p, *s) => {
                DataType::Decimal256(*p, *s)
            }
            PgType::Numeric(_)
            | PgType::Text(_)
            | PgType::Char
            | PgType::Uuid
            | PgType::Json
            | PgType::Jsonb => DataType::Utf8,
            PgType::Bytea => DataType::Binary,
            PgType::Date => DataType::Date32,
            PgType::Time => DataType::Time64(TimeUnit::Microsecond),
            PgType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            PgType::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            PgType::Array(element) => {
                DataType::List(Arc::new(Field::new("item", element.arrow(), true)))
            }
        }
    }

    /// The column type in DDL.
    pub fn ddl(&self) -> String {
        match self {
            PgType::Bool => "boolean".into(),
            PgType::Int2 => "smallint".into(),
            PgType::Int4 => "integer".into(),
            PgType::Int8 => "bigint".into(),
            PgType::Oid => "oid".into(),
            PgType::Float4 => "real".into(),
            PgType::Float8 => "double precision".into(),
            PgType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            PgType::Numeric(None) => "numeric".into(),
            PgType::Text(declared) => declared.clone().unwrap_or_else(|| "text".into()),
            PgType::Char => "\"char\"".into(),
            PgType::Bytea => "bytea".into(),
            PgType::Date => "date".into(),
            PgType::Time => "time".into(),
            PgType::Timestamp => "timestamp".into(),
            PgType::TimestampTz => "timestamptz".into(),
            PgType::Interval => "interval".into(),
            PgType::Uuid => "uuid".into(),
            PgType::Json => "json".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Array(element) => format!("{}[]", element.ddl()),
        }
    }

    /// Whether a watermark on this type may be a `WHERE` on the server: numbers and times
    /// order there as in the flow; text orders by collation there and by bytes in the flow.
    pub fn orders_like_arrow(&self) -> bool {
        matches!(
            self,
            PgType::Int2
                | PgType::Int4
                | PgType::Int8
                | PgType::Oid
                | PgType::Float4
                | PgType::Float8
                | PgType::Date
                | PgType::Time
                | PgType::Timestamp
                | PgType::TimestampTz
        ) || matches!(self, PgType::Numeric(_)) && self.arrow() != DataType::Utf8
    }
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ddl())
    }
}

/// Arrow takes a decimal whose scale is at most its precision.
fn valid_scale(precision: u8, scale: i8) -> bool {
    i16::from(scale) <= i16::from(precision)
}

/// The precision and scale in a `numeric` typmod (scale may be negative since PostgreSQL
/// 15); `None` when unconstrained.
fn numeric_modifier(modifier: i32) -> Option<(u8, i8)> {
    if modifier < 4 {
        return None;
    }
    let packed = modifier - 4;
    let precision = u8::try_from((packed >> 16) & 0xffff).ok()?;
    let raw = packed & 0x7ff;
    let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
    Some((precision, i8::try_from(scale).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmods_decode_with_negative_scales() {
        assert_eq!(numeric_modifier(-1), None);
        assert_eq!(numeric_modifier(((18 << 16) | 2) + 4), Some((18, 2)));
        assert_eq!(numeric_modifier(((5 << 16) | 0x7fe) + 4), Some((5, -2)));
    }

    #[test]
    fn declared_types_parse_as_format_type_writes_them() {
        assert_eq!(
            PgType::parse("character varying(20)"),
            Some(PgType::Text(Some("character varying(20)".into())))
        );
        assert_eq!(
            PgType::parse("numeric(18,2)"),
            Some(PgType::Numeric(Some((18, 2))))
        );
        assert_eq!(
            PgType::parse("timestamp(3) with time zone"),
            Some(PgType::TimestampTz)
        );
        assert_eq!(
            PgType::parse("integer[]"),
            Some(PgType::Array(Box::new(PgType::Int4)))
        );
        assert_eq!(PgType::parse("point"), None);
        assert_eq!(PgType::parse("integer[][]"), None);
    }

    #[test]
    fn decimals_by_precision_and_unconstrained_numeric_as_text() {
        assert_eq!(
            PgType::Numeric(Some((38, 4))).arrow(),
            DataType::Decimal128(38, 4)
        );
        assert_eq!(
            PgType::Numeric(Some((60, 4))).arrow(),
            DataType::Decimal256(60, 4)
        );
        assert_eq!(PgType::Numeric(None).arrow(), DataType::Utf8);
        assert_eq!(PgType::Numeric(Some((100, 4))).arrow(), DataType::Utf8);
    }
}
