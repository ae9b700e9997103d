//! The type map between SQL Server and Arrow, both ways. Reading keeps every value exact
//! (decimal precision, datetime2(7) ticks, time zones); writing picks the SQL type a new
//! column gets.

use arrow_schema::{DataType, Field, TimeUnit};

use super::sql::{MAX_NVARCHAR, MAX_VARBINARY, SqlType};

/// Days from 0001-01-01 (SQL Server's `date` zero) to 1970-01-01.
pub const DAYS_TO_UNIX_EPOCH: i64 = 719_162;
/// Days from 1900-01-01 (`datetime`'s zero) to 1970-01-01.
pub const DATETIME_DAYS_TO_UNIX_EPOCH: i64 = 25_567;

/// The Arrow type a SQL Server column is read as.
pub fn arrow_type(sql: SqlType) -> DataType {
    match sql {
        SqlType::Bit => DataType::Boolean,
        SqlType::TinyInt => DataType::UInt8,
        SqlType::SmallInt => DataType::Int16,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Real => DataType::Float32,
        SqlType::Float => DataType::Float64,
        SqlType::Decimal(p, s) => DataType::Decimal128(p, s as i8),
        SqlType::Money => DataType::Decimal128(19, 4),
        SqlType::SmallMoney => DataType::Decimal128(10, 4),
        SqlType::Date => DataType::Date32,
        SqlType::Time(_) => DataType::Time64(TimeUnit::Nanosecond),
        SqlType::DateTime | SqlType::SmallDateTime => {
            DataType::Timestamp(TimeUnit::Millisecond, None)
        }
        SqlType::DateTime2(scale) => DataType::Timestamp(unit_for_scale(scale), None),
        SqlType::DateTimeOffset(scale) => {
            DataType::Timestamp(unit_for_scale(scale), Some("UTC".into()))
        }
        SqlType::VarChar(_) | SqlType::NVarChar(_) | SqlType::Xml | SqlType::UniqueIdentifier => {
            DataType::Utf8
        }
        SqlType::VarBinary(_) => DataType::Binary,
    }
}

/// The coarsest unit that holds every fraction of a `datetime2(scale)` exactly.
pub fn unit_for_scale(scale: u8) -> TimeUnit {
    match scale {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// Units per second of an Arrow time unit.
pub fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// The SQL type a new column gets for an Arrow field, before string/binary sizing (those
/// come back with `None` length and are sized from the data).
///
/// # Errors
/// A message naming the Arrow type when SQL Server has no column for it.
pub fn sql_type_for(field: &Field) -> Result<SqlType, String> {
    sql_type_for_data_type(field.data_type())
}

fn sql_type_for_data_type(data_type: &DataType) -> Result<SqlType, String> {
    Ok(match data_type {
        DataType::Boolean => SqlType::Bit,
        DataType::Int8 | DataType::Int16 => SqlType::SmallInt,
        DataType::UInt8 => SqlType::TinyInt,
        DataType::UInt16 | DataType::Int32 => SqlType::Int,
        DataType::UInt32 | DataType::Int64 => SqlType::BigInt,
        DataType::UInt64 => SqlType::Decimal(20, 0),
        DataType::Float16 | DataType::Float32 => SqlType::Real,
        DataType::Float64 => SqlType::Float,
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s)
            if *s >= 0 =>
        {
            SqlType::Decimal(*p, *s as u8)
        }
        DataType::Decimal256(p, s) if *p <= 38 && *s >= 0 => SqlType::Decimal(*p, *s as u8),
        DataType::Date32 | DataType::Date64 => SqlType::Date,
        DataType::Time32(unit) | DataType::Time64(unit) => SqlType::Time(match unit {
            TimeUnit::Second => 0,
            TimeUnit::Millisecond => 3,
            TimeUnit::Microsecond => 6,
            TimeUnit::Nanosecond => 7,
        }),
        DataType::Timestamp(_, None) => SqlType::DateTime2(7),
        DataType::Timestamp(_, Some(_)) => SqlType::DateTimeOffset(7),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            SqlType::NVarChar(None)
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => SqlType::VarBinary(None),
        DataType::Dictionary(_, value) => sql_type_for_data_type(value)?,
        other => {
            return Err(format!("SQL Server has no column type for Arrow {other}"));
        }
    })
}

/// Sizes a string or binary column from the longest value seen: `longest × factor`, rounded
/// up, at least 1; MAX beyond SQL Server's in-row limits. Other types pass through.
pub fn sized(sql: SqlType, longest: usize, factor: f64) -> SqlType {
    let want = ((longest as f64) * factor).ceil().max(1.0);
    match sql {
        SqlType::NVarChar(None) if want <= f64::from(MAX_NVARCHAR) => {
            SqlType::NVarChar(Some(want as u32))
        }
        SqlType::VarBinary(None) if want <= f64::from(MAX_VARBINARY) => {
            SqlType::VarBinary(Some(want as u32))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_keeps_precision() {
        assert_eq!(
            arrow_type(SqlType::Decimal(38, 10)),
            DataType::Decimal128(38, 10)
        );
        assert_eq!(arrow_type(SqlType::Money), DataType::Decimal128(19, 4));
        assert_eq!(
            arrow_type(SqlType::DateTime2(7)),
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        );
        assert_eq!(
            arrow_type(SqlType::DateTimeOffset(3)),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        assert_eq!(arrow_type(SqlType::TinyInt), DataType::UInt8);
    }

    #[test]
    fn writing_picks_types_that_hold_every_value() {
        let ty = |d: DataType| sql_type_for(&Field::new("c", d, true));
        assert_eq!(ty(DataType::Int8), Ok(SqlType::SmallInt));
        assert_eq!(ty(DataType::UInt64), Ok(SqlType::Decimal(20, 0)));
        assert_eq!(
            ty(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("+02:00".into())
            )),
            Ok(SqlType::DateTimeOffset(7))
        );
        assert!(
            ty(DataType::List(
                Field::new("x", DataType::Int32, true).into()
            ))
            .is_err()
        );
    }

    #[test]
    fn strings_are_sized_with_the_buffer_and_capped() {
        assert_eq!(
            sized(SqlType::NVarChar(None), 20, 2.0),
            SqlType::NVarChar(Some(40))
        );
        assert_eq!(
            sized(SqlType::NVarChar(None), 7, 1.5),
            SqlType::NVarChar(Some(11))
        );
        assert_eq!(
            sized(SqlType::NVarChar(None), 0, 2.0),
            SqlType::NVarChar(Some(1))
        );
        assert_eq!(
            sized(SqlType::NVarChar(None), 2001, 2.0),
            SqlType::NVarChar(None)
        );
        assert_eq!(
            sized(SqlType::VarBinary(None), 4000, 2.0),
            SqlType::VarBinary(Some(8000))
        );
        assert_eq!(sized(SqlType::Int, 10, 2.0), SqlType::Int);
    }
}
