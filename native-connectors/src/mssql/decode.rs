//! Rows from tiberius into Arrow arrays: one builder per column, chosen from the column's
//! SQL type, so every value lands exactly (no float detours for decimals, no truncated
//! datetime2 ticks).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64NanosecondBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder, UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{SchemaRef, TimeUnit};
use tiberius::ColumnData;
use tiberius::time::{DateTime2, Time};

use super::sql::SqlType;
use super::types::{DATETIME_DAYS_TO_UNIX_EPOCH, DAYS_TO_UNIX_EPOCH, unit_for_scale};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// A value that does not fit its Arrow column, or arrived with an unexpected type.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}`: {message}")]
pub struct DecodeError {
    /// The column.
    pub column: String,
    /// What went wrong.
    pub message: String,
}

/// Builds record batches of a fixed schema from rows.
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

impl BatchBuilder {
    /// A builder for `schema`, whose fields come from `types` in order.
    pub fn new(schema: SchemaRef, types: &[SqlType], capacity: usize) -> Self {
        let columns = types
            .iter()
            .map(|ty| ColumnBuilder::new(*ty, capacity))
            .collect();
        BatchBuilder {
            schema,
            columns,
            rows: 0,
        }
    }

    /// Rows appended since the last [`BatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row's cells, in column order.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the column when a value does not fit.
    pub fn append<'a>(
        &mut self,
        cells: impl Iterator<Item = &'a ColumnData<'static>>,
    ) -> Result<(), DecodeError> {
        for (index, cell) in cells.enumerate() {
            let Some(column) = self.columns.get_mut(index) else {
                break;
            };
            column.append(cell).map_err(|message| DecodeError {
                column: self.schema.field(index).name().clone(),
                message,
            })?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The pending rows as a batch; the builder starts over.
    ///
    /// # Errors
    /// When Arrow rejects the arrays (a bug: the builders match the schema).
    pub fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
    }
}

enum ColumnBuilder {
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal(Decimal128Builder, u8),
    Date(Date32Builder),
    Time(Time64NanosecondBuilder),
    Millis(TimestampMillisecondBuilder, Option<Arc<str>>),
    Micros(TimestampMicrosecondBuilder, Option<Arc<str>>),
    Nanos(TimestampNanosecondBuilder, Option<Arc<str>>),
    Text(StringBuilder),
    Bytes(BinaryBuilder),
}

impl ColumnBuilder {
    fn new(ty: SqlType, capacity: usize) -> Self {
        let timestamp = |unit: TimeUnit, tz: Option<Arc<str>>| match unit {
            TimeUnit::Millisecond => ColumnBuilder::Millis(
                TimestampMillisecondBuilder::with_capacity(capacity).with_timezone_opt(tz.clone()),
                tz,
            ),
            TimeUnit::Microsecond => ColumnBuilder::Micros(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone_opt(tz.clone()),
                tz,
            ),
            _ => ColumnBuilder::Nanos(
                TimestampNanosecondBuilder::with_capacity(capacity).with_timezone_opt(tz.clone()),
                tz,
            ),
        };
        let decimal = |p: u8, s: u8| {
            ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(p, s as i8)
                    .unwrap_or_else(|_| Decimal128Builder::with_capacity(capacity)),
                s,
            )
        };
        match ty {
            SqlType::Bit => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            SqlType::TinyInt => ColumnBuilder::U8(UInt8Builder::with_capacity(capacity)),
            SqlType::SmallInt => ColumnBuilder::I16(Int16Builder::with_capacity(capacity)),
            SqlType::Int => ColumnBuilder::I32(Int32Builder::with_capacity(capacity)),
            SqlType::BigInt => ColumnBuilder::I64(Int64Builder::with_capacity(capacity)),
            SqlType::Real => ColumnBuilder::F32(Float32Builder::with_capacity(capacity)),
            SqlType::Float => ColumnBuilder::F64(Float64Builder::with_capacity(capacity)),
            SqlType::Decimal(p, s) => decimal(p, s),
            SqlType::Money => decimal(19, 4),
            SqlType::SmallMoney => decimal(10, 4),
            SqlType::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            SqlType::Time(_) => {
                ColumnBuilder::Time(Time64NanosecondBuilder::with_capacity(capacity))
            }
            SqlType::DateTime | SqlType::SmallDateTime => timestamp(TimeUnit::Millisecond, None),
            SqlType::DateTime2(s) => timestamp(unit_for_scale(s), None),
            SqlType::DateTimeOffset(s) => timestamp(unit_for_scale(s), Some("UTC".into())),
            SqlType::VarChar(_)
            | SqlType::NVarChar(_)
            | SqlType::Xml
            | SqlType::UniqueIdentifier => {
                ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            SqlType::VarBinary(_) => {
                ColumnBuilder::Bytes(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
        }
    }

    fn append(&mut self, cell: &ColumnData<'static>) -> Result<(), String> {
        use ColumnData as C;
        match (self, cell) {
            (ColumnBuilder::Bool(b), C::Bit(v)) => b.append_option(*v),
            (ColumnBuilder::U8(b), C::U8(v)) => b.append_option(*v),
            (ColumnBuilder::I16(b), C::I16(v)) => b.append_option(*v),
            (ColumnBuilder::I32(b), C::I32(v)) => b.append_option(*v),
            (ColumnBuilder::I64(b), C::I64(v)) => b.append_option(*v),
            (ColumnBuilder::F32(b), C::F32(v)) => b.append_option(*v),
            (ColumnBuilder::F64(b), C::F64(v)) => b.append_option(*v),
            (ColumnBuilder::F64(b), C::F32(v)) => b.append_option(v.map(f64::from)),
            (ColumnBuilder::Decimal(b, scale), C::Numeric(v)) => match v {
                None => b.append_null(),
                Some(n) => b.append_value(rescale(n.value(), n.scale(), *scale)?),
            },
            (ColumnBuilder::Decimal(b, scale), C::F64(v)) => match v {
                // money arrives as f64 only when the SELECT did not CAST it; exact below 2^53.
                None => b.append_null(),
                Some(x) => b.append_value((x * 10f64.powi(i32::from(*scale))).round() as i128),
            },
            (ColumnBuilder::Date(b), C::Date(v)) => {
                b.append_option(v.map(|d| (i64::from(d.days()) - DAYS_TO_UNIX_EPOCH) as i32))
            }
            (ColumnBuilder::Time(b), C::Time(v)) => b.append_option(v.map(time_nanos)),
            (ColumnBuilder::Millis(b, _), C::DateTime(v)) => {
                b.append_option(v.map(|d| datetime_millis(d.days(), d.seconds_fragments())))
            }
            (ColumnBuilder::Millis(b, _), C::SmallDateTime(v)) => b.append_option(v.map(|d| {
                (i64::from(d.days()) - DATETIME_DAYS_TO_UNIX_EPOCH) * 86_400_000
                    + i64::from(d.seconds_fragments()) * 60_000
            })),
            (ColumnBuilder::Millis(b, _), C::DateTime2(v)) => {
                b.append_option(v.map(|d| datetime2_in(d, 1_000_000)).transpose()?)
            }
            (ColumnBuilder::Micros(b, _), C::DateTime2(v)) => {
                b.append_option(v.map(|d| datetime2_in(d, 1_000)).transpose()?)
            }
            (ColumnBuilder::Nanos(b, _), C::DateTime2(v)) => {
                b.append_option(v.map(|d| datetime2_in(d, 1)).transpose()?)
            }
            (ColumnBuilder::Millis(b, _), C::DateTimeOffset(v)) => b.append_option(
                v.map(|d| datetime2_in(d.datetime2(), 1_000_000))
                    .transpose()?,
            ),
            (ColumnBuilder::Micros(b, _), C::DateTimeOffset(v)) => {
                b.append_option(v.map(|d| datetime2_in(d.datetime2(), 1_000)).transpose()?)
            }
            (ColumnBuilder::Nanos(b, _), C::DateTimeOffset(v)) => {
                b.append_option(v.map(|d| datetime2_in(d.datetime2(), 1)).transpose()?)
            }
            (ColumnBuilder::Text(b), C::String(v)) => b.append_option(v.as_deref()),
            (ColumnBuilder::Text(b), C::Xml(v)) => {
                b.append_option(v.as_deref().map(|x| x.as_ref()))
            }
            (ColumnBuilder::Text(b), C::Guid(v)) => {
                b.append_option(v.map(|g| g.hyphenated().to_string().to_ascii_uppercase()))
            }
            (ColumnBuilder::Bytes(b), C::Binary(v)) => b.append_option(v.as_deref()),
            (_, other) => {
                return Err(format!(
                    "the server sent {other:?}, which does not match the column's declared type"
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::U8(b) => Arc::new(b.finish()),
            ColumnBuilder::I16(b) => Arc::new(b.finish()),
            ColumnBuilder::I32(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::F32(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Millis(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
            ColumnBuilder::Micros(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
            ColumnBuilder::Nanos(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Bytes(b) => Arc::new(b.finish()),
        }
    }
}

/// A decimal mantissa at `from` scale, at `to` scale.
fn rescale(value: i128, from: u8, to: u8) -> Result<i128, String> {
    use std::cmp::Ordering;
    match from.cmp(&to) {
        Ordering::Equal => Ok(value),
        Ordering::Less => value
            .checked_mul(10i128.pow(u32::from(to - from)))
            .ok_or_else(|| format!("decimal value overflows scale {to}")),
        Ordering::Greater => Ok(value / 10i128.pow(u32::from(from - to))),
    }
}

/// Nanoseconds since midnight.
pub fn time_nanos(time: Time) -> i64 {
    time.increments() as i64 * 10i64.pow(9 - u32::from(time.scale()))
}

/// `datetime` (days since 1900, 1/300 s ticks) in milliseconds since the Unix epoch,
/// rounded as SQL Server rounds it (.000, .003, .007).
pub fn datetime_millis(days: i32, ticks: u32) -> i64 {
    (i64::from(days) - DATETIME_DAYS_TO_UNIX_EPOCH) * 86_400_000 + (i64::from(ticks) * 10 + 1) / 3
}

/// A datetime2 in `nanos_per_unit` units since the Unix epoch.
fn datetime2_in(value: DateTime2, nanos_per_unit: i64) -> Result<i64, String> {
    let days = i64::from(value.date().days()) - DAYS_TO_UNIX_EPOCH;
    let nanos_of_day = time_nanos(value.time());
    let units_per_day = NANOS_PER_DAY / nanos_per_unit;
    days.checked_mul(units_per_day)
        .and_then(|d| d.checked_add(nanos_of_day / nanos_per_unit))
        .ok_or_else(|| {
            format!(
                "{} is outside what nanosecond timestamps hold (1677-09-21 to 2262-04-11)",
                describe_date(days)
            )
        })
}

fn describe_date(days_since_epoch: i64) -> String {
    let years = days_since_epoch as f64 / 365.2425 + 1970.0;
    format!("a value around year {}", years.floor())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiberius::time::Date;

    #[test]
    fn datetime_rounds_like_sql_server() {
        // 1900-01-01 + 1 tick (1/300 s) = .003; 2 ticks = .007.
        assert_eq!(datetime_millis(25_567, 1), 3);
        assert_eq!(datetime_millis(25_567, 2), 7);
        assert_eq!(datetime_millis(25_567, 300), 1000);
        assert_eq!(datetime_millis(0, 0), -25_567 * 86_400_000);
    }

    #[test]
    fn datetime2_keeps_every_tick_and_reports_overflow() {
        // 2024-01-02 03:04:05.1234567
        let date = Date::new((DAYS_TO_UNIX_EPOCH + 19_724) as u32);
        let time = Time::new((3 * 3600 + 4 * 60 + 5) * 10_000_000 + 1_234_567, 7);
        let nanos = datetime2_in(DateTime2::new(date, time), 1).unwrap();
        assert_eq!(nanos, 1_704_164_645_123_456_700);
        let far = DateTime2::new(Date::new(0), Time::new(0, 7));
        assert!(datetime2_in(far, 1).unwrap_err().contains("outside"));
        assert!(datetime2_in(far, 1_000).is_ok());
    }

    #[test]
    fn decimals_rescale_exactly() {
        assert_eq!(rescale(12_345, 2, 4), Ok(1_234_500));
        assert_eq!(rescale(1_234_500, 4, 2), Ok(12_345));
        assert!(rescale(i128::MAX / 2, 0, 10).is_err());
    }
}
