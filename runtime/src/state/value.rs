//! One watermark value: typed as the column it was taken from, kept as text in state.
//!
//! The text is Arrow's own rendering (`arrow-cast` display) and is read back with Arrow's
//! cast from text, so every type Arrow can compare (integers, decimals, dates, timestamps
//! of any unit with or without a zone, strings) round-trips without hand-written parsing.

use std::fmt;
use std::sync::Arc;

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
        let Some(kind) = WatermarkKind::of(data_type) else {
            return Err(format!(
                "a column of type {data_type} cannot be a watermark; use an integer, decimal, \
                 date, timestamp or text column"
            ));
        };
        // Text is compared as it is; everything else may carry stray spaces.
        let text_in = if kind == WatermarkKind::Text {
            text
        } else {
            text.trim()
        };
        let input = StringArray::from(vec![text_in]);
        let options = CastOptions {
            safe: false,
            ..CastOptions::default()
        };
        // A zone name (`UTC`, `Europe/Oslo`) needs a zone database arrow-cast is built
        // without; the instant is the same read as UTC and tagged with the column's zone.
        let via = utc_tagged(data_type).unwrap_or_else(|| data_type.clone());
        let array = cast_with_options(&input, &via, &options)
            .map_err(|e| format!("`{text}` is not a {data_type} value: {e}"))?;
        if array.is_null(0) {
            return Err(format!("`{text}` is not a {data_type} value"));
        }
        Ok(WatermarkValue {
            array: retag(&array, data_type)?,
        })
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
        WatermarkValue::parse(&self.to_text()?, data_type)
    }

    /// The value as state keeps it: Arrow's rendering (instants in UTC, ending in `Z`), which
    /// [`WatermarkValue::parse`] reads back to the same value.
    ///
    /// # Errors
    /// A message when Arrow cannot render it; such a value is never committed.
    pub fn to_text(&self) -> Result<String, String> {
        let shown = match utc_tagged(self.data_type()) {
            Some(utc) => retag(&self.array, &utc)?,
            None => self.array.clone(),
        };
        ArrayFormatter::try_new(shown.as_ref(), &FormatOptions::default())
            .map(|f| f.value(0).to_string())
            .map_err(|e| format!("cannot render a {} value: {e}", self.data_type()))
    }

    /// This value moved back by `lookback`: a number for numeric columns, a duration such
    /// as `2h` or `3 days` for dates and timestamps. A result below the type's range is
    /// its least value.
    ///
    /// # Errors
    /// A message when `lookback` means nothing for this column.
    pub fn minus(&self, lookback: &str) -> Result<WatermarkValue, String> {
        let data_type = self.data_type().clone();
        let kind = WatermarkKind::of(&data_type).ok_or("not a watermark type")?;
        match kind {
            WatermarkKind::Integer => {
                let back: i128 = lookback.trim().parse().map_err(|_| {
                    format!(
                        "`{lookback}` is not a whole number to subtract from an integer watermark"
                    )
                })?;
                let value: i128 = self.to_text()?.parse().map_err(|_| "not an integer")?;
                let shifted = (value - back).max(integer_min(&data_type));
                WatermarkValue::parse(&shifted.to_string(), &data_type)
            }
            WatermarkKind::Decimal => {
                let wide = decimal_wide(&data_type).ok_or_else(|| {
                    format!("a lookback on a {data_type} watermark is not supported")
                })?;
                let value = raw_i128(&self.to_type(&wide)?)?;
                let back = raw_i128(
                    &WatermarkValue::parse(lookback, &wide)
                        .map_err(|_| format!("`{lookback}` is not a number"))?,
                )?;
                let shifted = arrow_array::Decimal128Array::from(vec![value.saturating_sub(back)])
                    .with_data_type(wide);
                WatermarkValue {
                    array: Arc::new(shifted),
                }
                .to_type(&data_type)
            }
            WatermarkKind::Float => {
                let back: f64 = lookback
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{lookback}` is not a number"))?;
                let value: f64 = self.to_text()?.parse().map_err(|_| "not a number")?;
                WatermarkValue::parse(&format!("{:.17e}", value - back), &data_type)
            }
            WatermarkKind::Date => {
                let micros = parse_duration_micros(lookback)?;
                let days = (micros + 86_399_999_999) / 86_400_000_000;
                let day = raw_i64(&self.array, &DataType::Date32)?;
                let shifted = arrow_array::Int32Array::from(vec![
                    i32::try_from(day.saturating_sub(days)).unwrap_or(i32::MIN),
                ]);
                let date = cast_with_options(&shifted, &DataType::Date32, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                WatermarkValue { array: date }.to_type(&data_type)
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
                let raw = raw_i64(&self.array, &DataType::Int64)?;
                let shifted = arrow_array::Int64Array::from(vec![raw.saturating_sub(back)]);
                let plain = DataType::Timestamp(*unit, None);
                let array = cast_with_options(&shifted, &plain, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                Ok(WatermarkValue {
                    array: retag(&array, &data_type)?,
                })
            }
            WatermarkKind::Text => Err(
                "a text watermark has no lookback; remove `lookback` or use a numeric or time \
                 column"
                    .into(),
            ),
        }
    }
}

/// For a timestamp with a zone, the same type tagged `+00:00` (the instant's text in UTC);
/// `None` for other types.
fn utc_tagged(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Timestamp(unit, Some(_)) => {
            Some(DataType::Timestamp(*unit, Some(Arc::from("+00:00"))))
        }
        _ => None,
    }
}

/// The same values under another type of the same layout (a timestamp's zone tag).
fn retag(array: &ArrayRef, data_type: &DataType) -> Result<ArrayRef, String> {
    if array.data_type() == data_type {
        return Ok(array.clone());
    }
    let data = array
        .to_data()
        .into_builder()
        .data_type(data_type.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok(arrow_array::make_array(data))
}

/// The one value of `array`, as the integer `as_type` (Int64 or Date32) stores.
fn raw_i64(array: &ArrayRef, as_type: &DataType) -> Result<i64, String> {
    let plain = match array.data_type() {
        DataType::Timestamp(unit, Some(_)) => retag(array, &DataType::Timestamp(*unit, None))?,
        _ => array.clone(),
    };
    let typed =
        cast_with_options(&plain, as_type, &CastOptions::default()).map_err(|e| e.to_string())?;
    let wide = cast_with_options(&typed, &DataType::Int64, &CastOptions::default())
        .map_err(|e| e.to_string())?;
    wide.as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .filter(|a| a.is_valid(0))
        .map(|a| a.value(0))
        .ok_or_else(|| "not an integer value".to_string())
}

/// A decimal type wide enough to subtract in: Decimal128 of the same scale.
fn decimal_wide(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal128(_, s) => {
            Some(DataType::Decimal128(38, *s))
        }
        _ => None,
    }
}

/// The scaled integer of a Decimal128 value.
fn raw_i128(value: &WatermarkValue) -> Result<i128, String> {
    value
        .array
        .as_any()
        .downcast_ref::<arrow_array::Decimal128Array>()
        .map(|a| a.value(0))
        .ok_or_else(|| "not a decimal".to_string())
}

/// The least value of an integer type.
fn integer_min(data_type: &DataType) -> i128 {
    match data_type {
        DataType::Int8 => i128::from(i8::MIN),
        DataType::Int16 => i128::from(i16::MIN),
        DataType::Int32 => i128::from(i32::MIN),
        DataType::Int64 => i128::from(i64::MIN),
        _ => 0,
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
        let again = WatermarkValue::parse(&value.to_text().unwrap(), &data_type).unwrap();
        assert_eq!(value.array().as_ref(), again.array().as_ref(), "{text}");
        value.to_text().unwrap()
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
        // Text keeps its spaces: ` b` and `b` are different watermarks.
        assert_eq!(round_trip(" b ", DataType::Utf8), " b ");
    }

    #[test]
    fn instants_in_a_named_zone_round_trip_as_utc() {
        for zone in ["UTC", "Europe/Oslo"] {
            let data_type = DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(zone)));
            let value = WatermarkValue::parse("2024-01-31T10:11:12+02:00", &data_type).unwrap();
            assert_eq!(value.data_type(), &data_type);
            assert_eq!(value.to_text().unwrap(), "2024-01-31T08:11:12Z");
            assert_eq!(
                round_trip("2024-01-31T08:11:12Z", data_type.clone()),
                "2024-01-31T08:11:12Z"
            );
            let earlier = value.minus("1h").unwrap();
            assert_eq!(earlier.to_text().unwrap(), "2024-01-31T07:11:12Z");
            assert_eq!(earlier.data_type(), &data_type);
        }
    }

    #[test]
    fn decimal_and_integer_lookbacks_stay_exact_and_in_range() {
        let big =
            WatermarkValue::parse("1234567890123456789.25", &DataType::Decimal128(38, 2)).unwrap();
        assert_eq!(
            big.minus("0.5").unwrap().to_text().unwrap(),
            "1234567890123456788.75"
        );
        let small = WatermarkValue::parse("5", &DataType::UInt32).unwrap();
        assert_eq!(small.minus("10").unwrap().to_text().unwrap(), "0");
        let tiny = WatermarkValue::parse("-120", &DataType::Int8).unwrap();
        assert_eq!(tiny.minus("100").unwrap().to_text().unwrap(), "-128");
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
        assert_eq!(int.minus("7").unwrap().to_text().unwrap(), "93");
        let date = WatermarkValue::parse("2024-03-01", &DataType::Date32).unwrap();
        assert_eq!(
            date.minus("2 days").unwrap().to_text().unwrap(),
            "2024-02-28"
        );
        let ts = WatermarkValue::parse(
            "2024-03-01T00:30:00",
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
        )
        .unwrap();
        assert_eq!(
            ts.minus("1h").unwrap().to_text().unwrap(),
            "2024-02-29T23:30:00"
        );
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
