//! Arrow columns into the rows a bulk load sends, converted to each destination column's
//! SQL type one row at a time (a batch is never materialised a second time as values).
//! Strings and bytes are borrowed from the batch, not copied.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray,
    Float32Array, Float64Array, Int64Array, RecordBatch, StringArray, Time64NanosecondArray,
};
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

/// A batch ready to be sent row by row, each value converted to its destination column's
/// SQL type as its row is built.
pub struct RowEncoder<'b> {
    batch: &'b RecordBatch,
    columns: Vec<Column<'b>>,
}

/// One column: its values (cast by [`normalize`]) and its destination type.
struct Column<'b> {
    array: &'b ArrayRef,
    values: Values<'b>,
    ty: SqlType,
}

/// A column's values, typed once per batch so each value is one array read.
enum Values<'b> {
    Bool(&'b BooleanArray),
    Int(&'b Int64Array),
    F32(&'b Float32Array),
    F64(&'b Float64Array),
    Decimal(&'b Decimal128Array),
    Date(&'b Date32Array),
    Time(&'b Time64NanosecondArray),
    /// Timestamps in any unit, as raw numbers of `per_second` units.
    Timestamp {
        raw: Int64Array,
        per_second: i64,
    },
    Text(&'b StringArray),
    Uuid(&'b FixedSizeBinaryArray),
    Bytes(&'b BinaryArray),
}

impl<'b> RowEncoder<'b> {
    /// The rows of `batch`, whose columns [`normalize`] cast into `normalized`, for a table
    /// whose columns have the SQL types `targets`.
    ///
    /// # Errors
    /// An [`EncodeError`] naming the column when its array is not of the type `normalize`
    /// makes for its SQL type.
    pub fn new(
        batch: &'b RecordBatch,
        normalized: &'b [ArrayRef],
        targets: &[SqlType],
    ) -> Result<RowEncoder<'b>, EncodeError> {
        let columns = normalized
            .iter()
            .zip(targets)
            .enumerate()
            .map(|(index, (array, ty))| {
                Ok(Column {
                    array,
                    values: Values::of(array, *ty).ok_or_else(|| {
                        error(
                            batch,
                            index,
                            *ty,
                            format!("cannot encode {} values", array.data_type()),
                        )
                    })?,
                    ty: *ty,
                })
            })
            .collect::<Result<_, EncodeError>>()?;
        Ok(RowEncoder { batch, columns })
    }

    /// Row `index`.
    ///
    /// # Errors
    /// An [`EncodeError`] naming the column of a value that does not fit it.
    pub fn row(&self, index: usize) -> Result<TokenRow<'b>, EncodeError> {
        let mut row = TokenRow::with_capacity(self.columns.len());
        for (position, column) in self.columns.iter().enumerate() {
            let value = column
                .value(index)
                .map_err(|message| error(self.batch, position, column.ty, message))?;
            row.push(value);
        }
        Ok(row)
    }
}

fn error(batch: &RecordBatch, index: usize, ty: SqlType, message: String) -> EncodeError {
    EncodeError {
        column: batch.schema().field(index).name().clone(),
        sql_type: ty.ddl(),
        message,
    }
}

impl<'b> Values<'b> {
    /// The values of `array` as [`normalize`] casts them for `ty`; `None` when it did not.
    fn of(array: &'b ArrayRef, ty: SqlType) -> Option<Values<'b>> {
        Some(match ty {
            SqlType::Bit => Values::Bool(array.as_boolean_opt()?),
            SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
                Values::Int(array.as_primitive_opt()?)
            }
            SqlType::Real => Values::F32(array.as_primitive_opt()?),
            SqlType::Float => Values::F64(array.as_primitive_opt()?),
            SqlType::Decimal(..) | SqlType::Money | SqlType::SmallMoney => {
                Values::Decimal(array.as_primitive_opt()?)
            }
            SqlType::Date => Values::Date(array.as_primitive_opt()?),
            SqlType::Time(_) => Values::Time(array.as_primitive_opt()?),
            SqlType::DateTime
            | SqlType::SmallDateTime
            | SqlType::DateTime2(_)
            | SqlType::DateTimeOffset(_) => {
                let DataType::Timestamp(unit, _) = array.data_type() else {
                    return None;
                };
                let raw = match unit {
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
                Values::Timestamp {
                    raw,
                    per_second: per_second(*unit),
                }
            }
            SqlType::UniqueIdentifier if array.data_type() == &DataType::FixedSizeBinary(16) => {
                Values::Uuid(array.as_fixed_size_binary_opt()?)
            }
            SqlType::VarChar(_)
            | SqlType::NVarChar(_)
            | SqlType::Xml
            | SqlType::UniqueIdentifier => Values::Text(array.as_string_opt()?),
            SqlType::VarBinary(_) => Values::Bytes(array.as_binary_opt()?),
        })
    }
}

impl<'b> Column<'b> {
    /// Value `i` as the SQL type of the column; a NULL stays NULL of that type.
    fn value(&self, i: usize) -> Result<ColumnData<'b>, String> {
        let null = self.array.is_null(i);
        // `Some(converted)` for a value, `None` for NULL.
        macro_rules! convert {
            ($convert:expr) => {
                if null { None } else { Some($convert) }
            };
        }
        Ok(match (&self.values, self.ty) {
            (Values::Bool(a), _) => ColumnData::Bit(convert!(a.value(i))),
            (Values::Int(a), SqlType::TinyInt) => ColumnData::U8(convert!({
                let v = a.value(i);
                u8::try_from(v).map_err(|_| out_of_range(v, "TINYINT (0 to 255)"))?
            })),
            (Values::Int(a), SqlType::SmallInt) => ColumnData::I16(convert!({
                let v = a.value(i);
                i16::try_from(v).map_err(|_| out_of_range(v, "SMALLINT"))?
            })),
            (Values::Int(a), SqlType::Int) => ColumnData::I32(convert!({
                let v = a.value(i);
                i32::try_from(v).map_err(|_| out_of_range(v, "INT"))?
            })),
            (Values::Int(a), _) => ColumnData::I64(convert!(a.value(i))),
            (Values::F32(a), _) => ColumnData::F32(convert!(a.value(i))),
            (Values::F64(a), _) => ColumnData::F64(convert!(a.value(i))),
            (Values::Decimal(a), SqlType::Decimal(_, scale)) => {
                ColumnData::Numeric(convert!(Numeric::new_with_scale(a.value(i), scale)))
            }
            (Values::Decimal(a), _) => {
                ColumnData::Numeric(convert!(Numeric::new_with_scale(a.value(i), 4)))
            }
            (Values::Date(a), _) => ColumnData::Date(convert!(date(i64::from(a.value(i)))?)),
            (Values::Time(a), SqlType::Time(scale)) => {
                ColumnData::Time(convert!(time(a.value(i), scale)))
            }
            (Values::Time(a), _) => ColumnData::Time(convert!(time(a.value(i), 7))),
            (Values::Timestamp { raw, per_second }, ty) => {
                if null {
                    timestamp_null(ty)
                } else {
                    let units_per_day = 86_400 * per_second;
                    let v = raw.value(i);
                    let days = v.div_euclid(units_per_day);
                    let nanos = v.rem_euclid(units_per_day) * (1_000_000_000 / per_second);
                    debug_assert!(nanos < NANOS_PER_DAY);
                    timestamp(ty, days, nanos)?
                }
            }
            (Values::Text(a), SqlType::Xml) => {
                ColumnData::Xml(convert!(Cow::Owned(XmlData::new(a.value(i)))))
            }
            (Values::Text(a), SqlType::UniqueIdentifier) => ColumnData::Guid(convert!({
                let v = a.value(i);
                Uuid::parse_str(v).map_err(|e| format!("`{v}` is not a uniqueidentifier: {e}"))?
            })),
            (Values::Text(a), ty) => ColumnData::String(convert!({
                let v = a.value(i);
                if let SqlType::VarChar(Some(limit)) | SqlType::NVarChar(Some(limit)) = ty {
                    check_length(v, limit)?;
                }
                Cow::Borrowed(v)
            })),
            (Values::Uuid(a), _) => ColumnData::Guid(convert!({
                Uuid::from_slice(a.value(i)).map_err(|e| e.to_string())?
            })),
            (Values::Bytes(a), ty) => ColumnData::Binary(convert!({
                let v = a.value(i);
                if let SqlType::VarBinary(Some(limit)) = ty
                    && v.len() > limit as usize
                {
                    return Err(format!(
                        "a value of {} bytes does not fit VARBINARY({limit})",
                        v.len()
                    ));
                }
                Cow::Borrowed(v)
            })),
        })
    }
}

/// A NULL of the date-time type `ty`.
fn timestamp_null(ty: SqlType) -> ColumnData<'static> {
    match ty {
        SqlType::DateTimeOffset(_) => ColumnData::DateTimeOffset(None),
        SqlType::DateTime => ColumnData::DateTime(None),
        SqlType::SmallDateTime => ColumnData::SmallDateTime(None),
        _ => ColumnData::DateTime2(None),
    }
}

/// A timestamp (days since the Unix epoch, nanoseconds of the day) as the date-time type `ty`.
fn timestamp(ty: SqlType, days: i64, nanos: i64) -> Result<ColumnData<'static>, String> {
    Ok(match ty {
        SqlType::DateTimeOffset(scale) => {
            let utc = DateTime2::new(date(days)?, time(nanos, scale));
            ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 0)))
        }
        SqlType::DateTime => {
            // 1/300 s ticks, rounded as SQL Server rounds; .999 rolls into the next day.
            let ticks = (nanos * 3 + 5_000_000) / 10_000_000;
            let (days, ticks) = if ticks >= 300 * 86_400 {
                (days + 1, ticks - 300 * 86_400)
            } else {
                (days, ticks)
            };
            let days = i32::try_from(days + DATETIME_DAYS_TO_UNIX_EPOCH)
                .map_err(|_| "date out of range for DATETIME".to_string())?;
            ColumnData::DateTime(Some(DateTime::new(days, ticks as u32)))
        }
        SqlType::SmallDateTime => {
            let days = u16::try_from(days + DATETIME_DAYS_TO_UNIX_EPOCH)
                .map_err(|_| "date out of range for SMALLDATETIME (1900 to 2079)".to_string())?;
            ColumnData::SmallDateTime(Some(SmallDateTime::new(
                days,
                (nanos / 60_000_000_000) as u16,
            )))
        }
        SqlType::DateTime2(scale) => {
            ColumnData::DateTime2(Some(DateTime2::new(date(days)?, time(nanos, scale))))
        }
        _ => ColumnData::DateTime2(Some(DateTime2::new(date(days)?, time(nanos, 7)))),
    })
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
