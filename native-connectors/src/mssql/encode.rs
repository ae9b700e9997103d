//! Arrow columns into the values a bulk load sends, converted to each destination column's
//! SQL type. Strings and bytes are borrowed from the batch, not copied.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int64Type, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, TimeUnit};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::xml::XmlData;
use tiberius::{ColumnData, TokenRow, Uuid};

use super::sql::SqlType;
use super::types::{DATETIME_DAYS_TO_UNIX_EPOCH, DAYS_TO_UNIX_EPOCH, per_second};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// A value that cannot go into its destination column.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}` ({sql_type}): {message}")]
pub struct EncodeError {
    /// The column.
    pub column: String,
    /// Its SQL type.
    pub sql_type: String,
    /// What is wrong.
    pub message: String,
}

/// The columns of `batch` converted for `targets` (one SQL type per batch column), as rows.
///
/// # Errors
/// An [`EncodeError`] naming the column for a value out of range or an impossible conversion.
pub fn batch_rows<'b>(
    batch: &'b RecordBatch,
    normalized: &'b [ArrayRef],
    targets: &[SqlType],
) -> Result<Vec<TokenRow<'b>>, EncodeError> {
    let mut columns = Vec::with_capacity(targets.len());
    for (index, (array, ty)) in normalized.iter().zip(targets).enumerate() {
        let values = column_values(array, *ty).map_err(|message| EncodeError {
            column: batch.schema().field(index).name().clone(),
            sql_type: ty.ddl(),
            message,
        })?;
        columns.push(values.into_iter());
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    for _ in 0..batch.num_rows() {
        let mut row = TokenRow::with_capacity(columns.len());
        for column in &mut columns {
            if let Some(value) = column.next() {
                row.push(value);
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Casts each column to the Arrow type its SQL type is encoded from, so encoding reads one
/// array type per SQL type. Overflow is an error, never a silent NULL.
///
/// # Errors
/// An [`EncodeError`] naming the column when the cast fails.
pub fn normalize(batch: &RecordBatch, targets: &[SqlType]) -> Result<Vec<ArrayRef>, EncodeError> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    batch
        .columns()
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(index, (array, ty))| {
            let wanted = source_type(array.data_type(), *ty);
            if array.data_type() == &wanted {
                return Ok(array.clone());
            }
            cast_with_options(array, &wanted, &options).map_err(|e| EncodeError {
                column: batch.schema().field(index).name().clone(),
                sql_type: ty.ddl(),
                message: format!("cannot convert {} values: {e}", array.data_type()),
            })
        })
        .collect()
}

/// The Arrow type a column is cast to before encoding into `ty`.
fn source_type(actual: &DataType, ty: SqlType) -> DataType {
    match ty {
        SqlType::Bit => DataType::Boolean,
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => DataType::Int64,
        SqlType::Real => DataType::Float32,
        SqlType::Float => DataType::Float64,
        SqlType::Decimal(p, s) => DataType::Decimal128(p, s as i8),
        SqlType::Money => DataType::Decimal128(19, 4),
        SqlType::SmallMoney => DataType::Decimal128(10, 4),
        SqlType::Date => DataType::Date32,
        SqlType::Time(_) => DataType::Time64(TimeUnit::Nanosecond),
        SqlType::DateTime
        | SqlType::SmallDateTime
        | SqlType::DateTime2(_)
        | SqlType::DateTimeOffset(_) => match actual {
            // Timestamps keep their own unit: a cast to nanoseconds would overflow far dates.
            DataType::Timestamp(unit, tz) => DataType::Timestamp(*unit, tz.clone()),
            DataType::Date64 | DataType::Date32 => DataType::Timestamp(TimeUnit::Millisecond, None),
            _ => DataType::Timestamp(TimeUnit::Microsecond, None),
        },
        SqlType::VarChar(_) | SqlType::NVarChar(_) | SqlType::Xml | SqlType::UniqueIdentifier => {
            match actual {
                DataType::FixedSizeBinary(16) if ty == SqlType::UniqueIdentifier => actual.clone(),
                _ => DataType::Utf8,
            }
        }
        SqlType::VarBinary(_) => DataType::Binary,
    }
}

fn column_values(array: &ArrayRef, ty: SqlType) -> Result<Vec<ColumnData<'_>>, String> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! each {
        ($values:expr, $null:expr, |$v:ident| $convert:expr) => {{
            let values = $values;
            for i in 0..n {
                out.push(if values.is_null(i) {
                    $null
                } else {
                    let $v = values.value(i);
                    $convert
                });
            }
        }};
    }
    match ty {
        SqlType::Bit => each!(array.as_boolean(), ColumnData::Bit(None), |v| {
            ColumnData::Bit(Some(v))
        }),
        SqlType::TinyInt => each!(
            array.as_primitive::<Int64Type>(),
            ColumnData::U8(None),
            |v| {
                ColumnData::U8(Some(
                    u8::try_from(v).map_err(|_| out_of_range(v, "TINYINT (0 to 255)"))?,
                ))
            }
        ),
        SqlType::SmallInt => each!(
            array.as_primitive::<Int64Type>(),
            ColumnData::I16(None),
            |v| {
                ColumnData::I16(Some(
                    i16::try_from(v).map_err(|_| out_of_range(v, "SMALLINT"))?,
                ))
            }
        ),
        SqlType::Int => each!(
            array.as_primitive::<Int64Type>(),
            ColumnData::I32(None),
            |v| ColumnData::I32(Some(i32::try_from(v).map_err(|_| out_of_range(v, "INT"))?))
        ),
        SqlType::BigInt => each!(
            array.as_primitive::<Int64Type>(),
            ColumnData::I64(None),
            |v| ColumnData::I64(Some(v))
        ),
        SqlType::Real => each!(
            array.as_primitive::<Float32Type>(),
            ColumnData::F32(None),
            |v| ColumnData::F32(Some(v))
        ),
        SqlType::Float => each!(
            array.as_primitive::<Float64Type>(),
            ColumnData::F64(None),
            |v| ColumnData::F64(Some(v))
        ),
        SqlType::Decimal(_, s) => each!(
            array.as_primitive::<Decimal128Type>(),
            ColumnData::Numeric(None),
            |v| ColumnData::Numeric(Some(Numeric::new_with_scale(v, s)))
        ),
        SqlType::Money | SqlType::SmallMoney => each!(
            array.as_primitive::<Decimal128Type>(),
            ColumnData::Numeric(None),
            |v| ColumnData::Numeric(Some(Numeric::new_with_scale(v, 4)))
        ),
        SqlType::Date => each!(
            array.as_primitive::<Date32Type>(),
            ColumnData::Date(None),
            |v| ColumnData::Date(Some(date(i64::from(v))?))
        ),
        SqlType::Time(scale) => each!(
            array.as_primitive::<Time64NanosecondType>(),
            ColumnData::Time(None),
            |v| ColumnData::Time(Some(time(v, scale)))
        ),
        SqlType::DateTime2(scale) => timestamps(
            array,
            &mut out,
            ColumnData::DateTime2(None),
            |days, nanos| {
                Ok(ColumnData::DateTime2(Some(DateTime2::new(
                    date(days)?,
                    time(nanos, scale),
                ))))
            },
        )?,
        SqlType::DateTimeOffset(scale) => timestamps(
            array,
            &mut out,
            ColumnData::DateTimeOffset(None),
            |days, nanos| {
                let utc = DateTime2::new(date(days)?, time(nanos, scale));
                Ok(ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
                    utc, 0,
                ))))
            },
        )?,
        SqlType::DateTime => timestamps(
            array,
            &mut out,
            ColumnData::DateTime(None),
            |days, nanos| {
                // 1/300 s ticks, rounded as SQL Server rounds; .999 rolls into the next day.
                let ticks = (nanos * 3 + 5_000_000) / 10_000_000;
                let (days, ticks) = if ticks >= 300 * 86_400 {
                    (days + 1, ticks - 300 * 86_400)
                } else {
                    (days, ticks)
                };
                let days = i32::try_from(days + DATETIME_DAYS_TO_UNIX_EPOCH)
                    .map_err(|_| "date out of range for DATETIME".to_string())?;
                Ok(ColumnData::DateTime(Some(DateTime::new(
                    days,
                    ticks as u32,
                ))))
            },
        )?,
        SqlType::SmallDateTime => timestamps(
            array,
            &mut out,
            ColumnData::SmallDateTime(None),
            |days, nanos| {
                let days = u16::try_from(days + DATETIME_DAYS_TO_UNIX_EPOCH).map_err(|_| {
                    "date out of range for SMALLDATETIME (1900 to 2079)".to_string()
                })?;
                Ok(ColumnData::SmallDateTime(Some(SmallDateTime::new(
                    days,
                    (nanos / 60_000_000_000) as u16,
                ))))
            },
        )?,
        SqlType::VarChar(limit) | SqlType::NVarChar(limit) => {
            each!(array.as_string::<i32>(), ColumnData::String(None), |v| {
                if let Some(limit) = limit {
                    check_length(v, limit)?;
                }
                ColumnData::String(Some(Cow::Borrowed(v)))
            })
        }
        SqlType::Xml => each!(array.as_string::<i32>(), ColumnData::Xml(None), |v| {
            ColumnData::Xml(Some(Cow::Owned(XmlData::new(v))))
        }),
        SqlType::UniqueIdentifier => match array.data_type() {
            DataType::FixedSizeBinary(16) => {
                each!(array.as_fixed_size_binary(), ColumnData::Guid(None), |v| {
                    ColumnData::Guid(Some(Uuid::from_slice(v).map_err(|e| e.to_string())?))
                })
            }
            _ => each!(array.as_string::<i32>(), ColumnData::Guid(None), |v| {
                ColumnData::Guid(Some(
                    Uuid::parse_str(v)
                        .map_err(|e| format!("`{v}` is not a uniqueidentifier: {e}"))?,
                ))
            }),
        },
        SqlType::VarBinary(limit) => {
            each!(array.as_binary::<i32>(), ColumnData::Binary(None), |v| {
                if let Some(limit) = limit
                    && v.len() > limit as usize
                {
                    return Err(format!(
                        "a value of {} bytes does not fit VARBINARY({limit})",
                        v.len()
                    ));
                }
                ColumnData::Binary(Some(Cow::Borrowed(v)))
            })
        }
    }
    Ok(out)
}

fn out_of_range(value: i64, what: &str) -> String {
    format!("{value} does not fit {what}")
}

fn check_length(value: &str, limit: u32) -> Result<(), String> {
    // UTF-8 never has fewer bytes than UTF-16 has code units, so most values skip the count.
    if value.len() > limit as usize {
        let units = value.encode_utf16().count();
        if units > limit as usize {
            return Err(format!(
                "a value of {units} characters does not fit length {limit}; widen the column or use if_exists: replace"
            ));
        }
    }
    Ok(())
}

fn date(days_since_epoch: i64) -> Result<Date, String> {
    u32::try_from(days_since_epoch + DAYS_TO_UNIX_EPOCH)
        .ok()
        .filter(|d| *d < 3_652_059)
        .map(Date::new)
        .ok_or_else(|| "date out of SQL Server's range (0001-01-01 to 9999-12-31)".to_string())
}

fn time(nanos_of_day: i64, scale: u8) -> Time {
    let per_increment = 10i64.pow(9 - u32::from(scale.min(7)));
    Time::new((nanos_of_day / per_increment) as u64, scale.min(7))
}

/// Splits every timestamp into (days since the epoch, nanoseconds of the day) and converts.
fn timestamps<'b>(
    array: &'b ArrayRef,
    out: &mut Vec<ColumnData<'b>>,
    null: ColumnData<'b>,
    convert: impl Fn(i64, i64) -> Result<ColumnData<'b>, String>,
) -> Result<(), String> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Err(format!("expected timestamps, found {}", array.data_type()));
    };
    let per_second = per_second(*unit);
    let nanos_per_unit = 1_000_000_000 / per_second;
    let values: arrow_array::Int64Array = match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .reinterpret_cast(),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .reinterpret_cast(),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .reinterpret_cast(),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .reinterpret_cast(),
    };
    for i in 0..array.len() {
        if array.is_null(i) {
            out.push(null.clone());
            continue;
        }
        let v = values.value(i);
        let units_per_day = 86_400 * per_second;
        let days = v.div_euclid(units_per_day);
        let nanos = v.rem_euclid(units_per_day) * nanos_per_unit;
        debug_assert!(nanos < NANOS_PER_DAY);
        out.push(convert(days, nanos)?);
    }
    Ok(())
}
