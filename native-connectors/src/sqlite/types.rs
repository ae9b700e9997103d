//! How Arrow types map onto SQLite's five storage classes, both ways. SQLite keeps a value's
//! class, not a column's type, so hygge declares a type name it reads back:
//!
//! | Arrow | declared | stored as |
//! |---|---|---|
//! | Boolean | BOOLEAN | integer 0/1 |
//! | Int8–Int64, UInt8–UInt64 | INTEGER | integer (UInt64 above 2^63−1 is refused) |
//! | Float16–Float64 | REAL | real |
//! | Decimal(p,s) | DECIMAL TEXT(p,s) | text, exact (`-12.340`): `TEXT` in the declared type gives the column SQLite's text affinity, which keeps the digits |
//! | Utf8 (all string types) | TEXT | text |
//! | Binary (all binary types) | BLOB | blob |
//! | Date32/Date64 | DATE | text `YYYY-MM-DD` |
//! | Time32/Time64 | TIME | text `HH:MM:SS.ffffff` (`TIME(3)`, `TIME(9)` for ms, ns) |
//! | Timestamp without zone | TIMESTAMP | text, ISO 8601 (`2026-01-31T12:00:00.5`) |
//! | Timestamp with zone | TIMESTAMPTZ | text, ISO 8601 in UTC with `+00:00`, read as UTC |
//!
//! Timestamps of seconds, milliseconds and nanoseconds declare their digits
//! (`TIMESTAMP(0)`, `(3)`, `(9)`), so each unit reads back as written.
//!
//! Lists, structs, maps, intervals and durations have no SQLite type and are refused by
//! column name. Read back, a declared type gives the Arrow type above; any other declared
//! type follows SQLite's affinity rules (`…INT…` integer, `…CHAR…`/`…TEXT…` text, `…REAL…`,
//! `…FLOA…`, `…DOUB…` real); an expression with no declared type takes the class of its
//! first value.

use arrow_schema::{DataType, TimeUnit};

/// How a column's values are held while read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// 0/1.
    Boolean,
    /// 64-bit integers.
    Integer,
    /// 64-bit floats.
    Real,
    /// Text, parsed into (or formatted from) the column's Arrow type.
    Text(DataType),
    /// Bytes.
    Blob,
}

impl Stored {
    /// The Arrow type a column of this class reads as.
    pub fn arrow(&self) -> DataType {
        match self {
            Stored::Boolean => DataType::Boolean,
            Stored::Integer => DataType::Int64,
            Stored::Real => DataType::Float64,
            Stored::Text(ty) => ty.clone(),
            Stored::Blob => DataType::Binary,
        }
    }
}

/// The declared type and storage of an Arrow type, or `None` when SQLite cannot hold it.
pub fn for_arrow(ty: &DataType) -> Option<(String, Stored)> {
    use DataType::*;
    Some(match ty {
        Boolean => ("BOOLEAN".into(), Stored::Boolean),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
            ("INTEGER".into(), Stored::Integer)
        }
        Float16 | Float32 | Float64 => ("REAL".into(), Stored::Real),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) | Decimal256(p, s) => (
            format!("DECIMAL TEXT({p},{s})"),
            Stored::Text(decimal(*p, *s)),
        ),
        Utf8 | LargeUtf8 | Utf8View => ("TEXT".into(), Stored::Text(Utf8)),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => ("BLOB".into(), Stored::Blob),
        Date32 | Date64 => ("DATE".into(), Stored::Text(Date32)),
        Time32(unit) | Time64(unit) => {
            (format!("TIME{}", digits(*unit)), Stored::Text(time(*unit)))
        }
        Timestamp(unit, None) => (
            format!("TIMESTAMP{}", digits(*unit)),
            Stored::Text(Timestamp(*unit, None)),
        ),
        Timestamp(unit, Some(_)) => (
            format!("TIMESTAMPTZ{}", digits(*unit)),
            Stored::Text(Timestamp(*unit, Some(UTC.into()))),
        ),
        Dictionary(_, values) => return for_arrow(values),
        _ => return None,
    })
}

/// How a column declared `declared` reads, by hygge's own names first, then by SQLite's
/// affinity rules; `None` for no declared type (an expression).
pub fn for_declared(declared: Option<&str>) -> Option<Stored> {
    let declared = declared?.trim().to_uppercase();
    let (name, args) = match declared.split_once('(') {
        Some((name, args)) => (name.trim().to_string(), Some(args.trim_end_matches(')'))),
        None => (declared.clone(), None),
    };
    let unit = args.map_or(Some(TimeUnit::Microsecond), unit_of);
    let timestamp = |zone: Option<&str>| {
        unit.map(|unit| Stored::Text(DataType::Timestamp(unit, zone.map(Into::into))))
    };
    Some(match name.as_str() {
        "BOOLEAN" | "BOOL" => Stored::Boolean,
        "DATE" => Stored::Text(DataType::Date32),
        "TIME" => Stored::Text(time(unit?)),
        "TIMESTAMP" | "DATETIME" => timestamp(None)?,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => timestamp(Some(UTC))?,
        "DECIMAL TEXT" | "DECIMAL" | "NUMERIC" => match args.and_then(precision_scale) {
            Some((p, s)) => Stored::Text(decimal(p, s)),
            None => Stored::Real,
        },
        _ if name.contains("INT") => Stored::Integer,
        _ if name.contains("CHAR") || name.contains("CLOB") || name.contains("TEXT") => {
            Stored::Text(DataType::Utf8)
        }
        _ if name.contains("BLOB") || name.is_empty() => Stored::Blob,
        _ if name.contains("REAL") || name.contains("FLOA") || name.contains("DOUB") => {
            Stored::Real
        }
        _ => Stored::Text(DataType::Utf8),
    })
}

/// The zone of zoned timestamps read back: they are stored in UTC.
const UTC: &str = "UTC";

/// The decimal type of precision `p`: Decimal128 up to 38 digits, Decimal256 beyond.
fn decimal(p: u8, s: i8) -> DataType {
    if p <= 38 {
        DataType::Decimal128(p, s)
    } else {
        DataType::Decimal256(p, s)
    }
}

/// The Time type of `unit` (seconds and milliseconds are 32-bit in Arrow).
fn time(unit: TimeUnit) -> DataType {
    match unit {
        TimeUnit::Second | TimeUnit::Millisecond => DataType::Time32(unit),
        _ => DataType::Time64(unit),
    }
}

/// `(p)`, the fractional digits of `unit`, as a declared type writes them (none for
/// microseconds, the default).
fn digits(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "(0)",
        TimeUnit::Millisecond => "(3)",
        TimeUnit::Microsecond => "",
        TimeUnit::Nanosecond => "(9)",
    }
}

/// The unit of fractional `digits`.
fn unit_of(digits: &str) -> Option<TimeUnit> {
    Some(match digits.trim() {
        "0" => TimeUnit::Second,
        "3" => TimeUnit::Millisecond,
        "6" => TimeUnit::Microsecond,
        "9" => TimeUnit::Nanosecond,
        _ => return None,
    })
}

/// `p,s` of `DECIMAL(p,s)` (`s` 0 when left out), within what Arrow's decimals hold.
fn precision_scale(args: &str) -> Option<(u8, i8)> {
    let mut parts = args.split(',').map(str::trim);
    let p: u8 = parts.next()?.parse().ok()?;
    let s: i8 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    (1..=76).contains(&p).then_some((p, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_read_back_as_written_and_by_affinity() {
        for ty in [
            DataType::Boolean,
            DataType::Int64,
            DataType::Float64,
            DataType::Decimal128(18, 3),
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::Time64(TimeUnit::Microsecond),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            DataType::Time32(TimeUnit::Millisecond),
            DataType::Decimal256(50, 10),
        ] {
            let (declared, stored) = for_arrow(&ty).unwrap_or_else(|| panic!("{ty}"));
            assert_eq!(for_declared(Some(&declared)), Some(stored.clone()), "{ty}");
            assert_eq!(stored.arrow(), ty);
        }
        assert_eq!(for_declared(Some("bigint")), Some(Stored::Integer));
        assert_eq!(
            for_declared(Some("VARCHAR(20)")),
            Some(Stored::Text(DataType::Utf8))
        );
        assert_eq!(for_declared(Some("double precision")), Some(Stored::Real));
        assert_eq!(for_declared(None), None);
        assert!(for_arrow(&DataType::new_list(DataType::Int32, true)).is_none());
    }
}
