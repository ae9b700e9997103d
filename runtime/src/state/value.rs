//! One watermark value: typed as the column it was taken from, kept as text in state.
//!
//! The text is Arrow's own rendering (`arrow-cast` display) and is read back with Arrow's
//! cast from text, so every type Arrow can compare (integers, decimals, dates, timestamps
//! of any unit with or without a zone, strings) round-trips without hand-written parsing.

use std::fmt;

use arrow_array::{Array, ArrayRef, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, TimeUnit};

/// The kinds of column a watermark may be taken from. Two columns of one kind compare
/// with each other (a timestamp in µs with one in ns); across kinds they do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatermarkKind {
    /// Signed and unsigned integers.
    Integer,
    /// Decimals of any precision.
    Decimal,
    /// Floating-point numbers.
    Float,
    /// Calendar dates.
    Date,
    /// Timestamps without a time zone (wall-clock time).
    Timestamp,
    /// Timestamps with a time zone (instants).
    TimestampTz,
    /// Text, compared byte by byte.
    Text,
}

impl WatermarkKind {
    /// The kind of a column type, or `None` when such a column cannot be a watermark.
    pub fn of(data_type: &DataType) -> Option<WatermarkKind> {
        use DataType::*;
        Some(match data_type {
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
                WatermarkKind::Integer
            }
            Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => {
                WatermarkKind::Decimal
            }
            Float16 | Float32 | Float64 => WatermarkKind::Float,
            Date32 | Date64 => WatermarkKind::Date,
            Timestamp(_, None) => WatermarkKind::Timestamp,
            Timestamp(_, Some(_)) => WatermarkKind::TimestampTz,
            Utf8 | LargeUtf8 | Utf8View => WatermarkKind::Text,
            _ => return None,
        })
    }

    /// The kind's name in state and messages.
    pub fn name(self) -> &'static str {
        match self {
            WatermarkKind::Integer => "integer",
            WatermarkKind::Decimal => "decimal",
            WatermarkKind::Float => "float",
            WatermarkKind::Date => "date",
            WatermarkKind::Timestamp => "timestamp",
            WatermarkKind::TimestampTz => "timestamp with time zone",
            WatermarkKind::Text => "text",
        }
    }

    /// The kind named `name` (as [`WatermarkKind::name`] writes it).
    pub fn from_name(name: &str) -> Option<WatermarkKind> {
        [
            WatermarkKind::Integer,
            WatermarkKind::Decimal,
            WatermarkKind::Float,
            WatermarkKind::Date,
            WatermarkKind::Timestamp,
            WatermarkKind::TimestampTz,
            WatermarkKind::Text,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

impl fmt::Display for WatermarkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A single non-null value of a watermark column, as a one-row Arrow array of the column's
/// exact type, ready to compare against batches.
#[derive(Debug, Clone)]
pub struct WatermarkValue {
    array: ArrayRef,
}

impl WatermarkValue {
    /// Wraps row `index` of `column`; `None` when that row is null.
    pub fn from_row(column: &ArrayRef, index: usize) -> Option<WatermarkValue> {
        column.is_valid(index).then(|| WatermarkValue {
            array: column.slice(index, 1),
        })
    }

    /// Reads `text` as a value of `data_type`.
    ///
    /// # Errors
    /// A message saying why the text is not such a value.
    pub fn parse(text: &str, data_type: &DataType) -> Result<WatermarkValue, String> {
        if WatermarkKind::of(data_type).is_none() {
            return Err(format!(
                "a column of type {data_type} cannot be a watermark; use an integer, decimal, \
                 date, timestamp or text column"
            ));
        }
        let input = StringArray::from(vec![text.trim()]);
        let options = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        let array = cast_with_options(&input, data_type, &options)
            .map_err(|e| format!("`{text}` is not a {data_type} value: {e}"))?;
        if array.is_null(0) {
            return Err(format!("`{text}` is not a {data_type} value"));
        }
        Ok(WatermarkValue { array })
    }

    /// The value as a one-row array of its column's type.
    pub fn array(&self) -> &ArrayRef {
        &self.array
    }

    /// The column type.
    pub fn data_type(&self) -> &DataType {
        self.array.data_type()
    }

    /// The same value as a value of `data_type` (a column of the same kind, in another
    /// unit or width), through its text.
    ///
    /// # Errors
    /// A message when the value does not fit `data_type`.
    pub fn to_type(&self, data_type: &DataType) -> Result<WatermarkValue, String> {
        if self.data_type() == data_type {
            return Ok(self.clone());
        }
        WatermarkValue::parse(&self.to_text(), data_type)
    }

    /// The value as state keeps it: Arrow's rendering, which [`WatermarkValue::parse`]
    /// reads back to the same value.
    pub fn to_text(&self) -> String {
        let options = FormatOptions::default();
        match ArrayFormatter::try_new(self.array.as_ref(), &options) {
            Ok(formatter) => formatter.value(0).to_string(),
            Err(e) => format!("<unprintable: {e}>"),
        }
    }

    /// This value moved back by `lookback`: a number for numeric columns, a duration such
    /// as `2h` or `3 days` for dates and timestamps.
    ///
    /// # Errors
    /// A message when `lookback` means nothing for this column.
    pub fn minus(&self, lookback: &str) -> Result<WatermarkValue, String> {
        let data_type = self.data_type().clone();
        let kind = WatermarkKind::of(&data_type).ok_or("not a watermark type")?;
        let shifted = match kind {
            WatermarkKind::Integer => {
                let back: i128 = lookback.trim().parse().map_err(|_| {
                    format!(
                        "`{lookback}` is not a whole number to subtract from an integer watermark"
                    )
                })?;
                let value: i128 = self.to_text().parse().map_err(|_| "not an integer")?;
                (value - back).to_string()
            }
            WatermarkKind::Float | WatermarkKind::Decimal => {
                let back: f64 = lookback
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{lookback}` is not a number"))?;
                let value: f64 = self.to_text().parse().map_err(|_| "not a number")?;
                format_number(value - back)
            }
            WatermarkKind::Date => {
                let micros = parse_duration_micros(lookback)?;
                let days = (micros + 86_399_999_999) / 86_400_000_000;
                let as_days = cast_with_options(
                    self.array.as_ref(),
                    &DataType::Date32,
                    &CastOptions::default(),
                )
                .map_err(|e| e.to_string())?;
                let day = cast_with_options(&as_days, &DataType::Int32, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                let day = ArrayFormatter::try_new(day.as_ref(), &FormatOptions::default())
                    .map_err(|e| e.to_string())?
                    .value(0)
                    .to_string()
                    .parse::<i64>()
                    .map_err(|e| e.to_string())?;
                let shifted = arrow_array::Int32Array::from(vec![(day - days) as i32]);
                let date = cast_with_options(&shifted, &DataType::Date32, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                let value = WatermarkValue { array: date };
                return value.to_type(&data_type);
            }
            WatermarkKind::Timestamp | WatermarkKind::TimestampTz => {
                let DataType::Timestamp(unit, _) = &data_type else {
                    return Err("not a timestamp".into());
                };
                let micros = parse_duration_micros(lookback)?;
                let back = match unit {
                    TimeUnit::Second => micros / 1_000_000,
                    TimeUnit::Millisecond => micros / 1_000,
                    TimeUnit::Microsecond => micros,
                    TimeUnit::Nanosecond => micros.saturating_mul(1_000),
                };
                let raw = cast_with_options(
                    self.array.as_ref(),
                    &DataType::Int64,
                    &CastOptions::default(),
                )
                .map_err(|e| e.to_string())?;
                let raw = raw
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .ok_or("not a timestamp")?
                    .value(0);
                let shifted = arrow_array::Int64Array::from(vec![raw.saturating_sub(back)]);
                let array = cast_with_options(&shifted, &data_type, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                return Ok(WatermarkValue { array });
            }
            WatermarkKind::Text => {
                return Err(
                    "a text watermark has no lookback; remove `lookback` or use a numeric or \
                     time column"
                        .into(),
                );
            }
        };
        WatermarkValue::parse(&shifted, &data_type)
    }
}

fn format_number(value: f64) -> String {
    let text = format!("{value}");
    if text.contains('e') {
        format!("{value:.10}")
    } else {
        text
    }
}

/// A duration such as `90s`, `15 minutes`, `2h`, `3 days` or `1w`, in microseconds.
///
/// # Errors
/// A message naming the accepted units.
pub fn parse_duration_micros(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let bad = || {
        format!(
            "`{text}` is not a duration; write a whole number and a unit, such as `90s`, \
             `15m`, `2h`, `3 days` or `1w`"
        )
    };
    let number: i64 = number.parse().map_err(|_| bad())?;
    let seconds: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds)
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn round_trip(text: &str, data_type: DataType) -> String {
        let value = WatermarkValue::parse(text, &data_type).unwrap();
        let again = WatermarkValue::parse(&value.to_text(), &data_type).unwrap();
        assert_eq!(value.array().as_ref(), again.array().as_ref(), "{text}");
        value.to_text()
    }

    #[test]
    fn values_round_trip_through_their_text() {
        assert_eq!(round_trip("42", DataType::Int64), "42");
        assert_eq!(round_trip("12.50", DataType::Decimal128(10, 2)), "12.50");
        assert_eq!(round_trip("2024-01-31", DataType::Date32), "2024-01-31");
        round_trip(
            "2024-01-31T10:11:12.123456",
            DataType::Timestamp(TimeUnit::Microsecond, None),
        );
        round_trip(
            "2024-01-31T10:11:12.123456789",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
        );
        round_trip(
            "2024-01-31T10:11:12+02:00",
            DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("+00:00"))),
        );
        assert_eq!(round_trip("b-42", DataType::Utf8), "b-42");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_with_its_text() {
        let err = WatermarkValue::parse("yesterday", &DataType::Date32).unwrap_err();
        assert!(err.contains("`yesterday`"), "{err}");
        let err = WatermarkValue::parse("1", &DataType::Boolean).unwrap_err();
        assert!(err.contains("cannot be a watermark"), "{err}");
    }

    #[test]
    fn lookback_moves_the_value_back_by_its_kind() {
        let int = WatermarkValue::parse("100", &DataType::Int32).unwrap();
        assert_eq!(int.minus("7").unwrap().to_text(), "93");
        let date = WatermarkValue::parse("2024-03-01", &DataType::Date32).unwrap();
        assert_eq!(date.minus("2 days").unwrap().to_text(), "2024-02-28");
        let ts = WatermarkValue::parse(
            "2024-03-01T00:30:00",
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
        )
        .unwrap();
        assert_eq!(ts.minus("1h").unwrap().to_text(), "2024-02-29T23:30:00");
        let text = WatermarkValue::parse("b", &DataType::Utf8).unwrap();
        assert!(text.minus("1").is_err());
        assert!(int.minus("1h").is_err());
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration_micros("90s").unwrap(), 90_000_000);
        assert_eq!(parse_duration_micros("2 hours").unwrap(), 7_200_000_000);
        assert!(parse_duration_micros("90").is_err());
        assert!(parse_duration_micros("soon").is_err());
    }
}
