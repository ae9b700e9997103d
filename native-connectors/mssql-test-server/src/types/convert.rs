//! Conversion of values to a column or CAST target type, with SQL Server's
//! errors: 8115 overflow, 2628 truncation, 245/241/8114/8169 bad text.

use super::temporal::{
    DAYS_TO_1900, MAX_DAYS, TICKS_PER_DAY, normalise, parse_datetime, round_ticks,
};
use super::value::{Decimal, parse_guid, pow10};
use super::{SqlType, Value, cp1252};
use crate::error::SqlError;

/// Where a converted value goes, for truncation errors.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// An assignment into `table.column`: too-long strings are an error (2628).
    Column {
        /// Table name as it appears in messages (`db.schema.table`).
        table: &'a str,
        /// Column name.
        column: &'a str,
    },
    /// A CAST / implicit conversion: too-long strings are cut, like SQL Server does.
    Cast,
}

/// Converts `value` (whose declared type is `from`, if known) to `to`.
pub(crate) fn convert(
    value: &Value,
    from: Option<SqlType>,
    to: SqlType,
    target: Target<'_>,
) -> Result<Value, SqlError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match to {
        SqlType::Bit => to_bit(value).map(Value::Bool),
        SqlType::TinyInt => to_int(value, to, 0, 255),
        SqlType::SmallInt => to_int(value, to, i64::from(i16::MIN), i64::from(i16::MAX)),
        SqlType::Int => to_int(value, to, i64::from(i32::MIN), i64::from(i32::MAX)),
        SqlType::BigInt => to_int(value, to, i64::MIN, i64::MAX),
        SqlType::Real => {
            let f = to_f64(value, to)?;
            if f.is_finite() && f.abs() > f64::from(f32::MAX) {
                return Err(SqlError::overflow(value.type_label(), "real"));
            }
            Ok(Value::Float(f64::from(f as f32)))
        }
        SqlType::Float => to_f64(value, to).map(Value::Float),
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            to_decimal(value, precision, scale, to).map(Value::Decimal)
        }
        SqlType::Money | SqlType::SmallMoney => to_money(value, to),
        SqlType::Date => {
            let (days, _) = to_datetime_parts(value, to)?;
            Ok(Value::Date(days))
        }
        SqlType::Time(scale) => match value {
            Value::Date(_) => Err(not_allowed(value, to)),
            _ => {
                let (_, ticks) = to_datetime_parts(value, to)?;
                Ok(Value::Time(round_ticks(ticks, scale) % TICKS_PER_DAY))
            }
        },
        SqlType::DateTime2(scale) => {
            let (days, ticks) = to_datetime_parts(value, to)?;
            let (days, ticks) = round_day_ticks(days, ticks, scale, to)?;
            Ok(Value::DateTime2 { days, ticks })
        }
        SqlType::DateTimeOffset(scale) => {
            let (days, ticks, offset) = match value {
                Value::DateTimeOffset {
                    days,
                    ticks,
                    offset,
                } => (*days, *ticks, *offset),
                Value::String(s) => {
                    let p = parse_datetime(s).ok_or_else(date_from_string_error)?;
                    (
                        p.days.unwrap_or(DAYS_TO_1900),
                        p.ticks.unwrap_or(0),
                        p.offset.unwrap_or(0),
                    )
                }
                other => {
                    let (days, ticks) = to_datetime_parts(other, to)?;
                    (days, ticks, 0)
                }
            };
            let (days, ticks) = round_day_ticks(days, ticks, scale, to)?;
            Ok(Value::DateTimeOffset {
                days,
                ticks,
                offset,
            })
        }
        SqlType::DateTime => {
            if let Value::DateTime { .. } = value {
                return Ok(value.clone());
            }
            let (days, ticks) = to_datetime_parts(value, to)?;
            let t300 = (ticks * 3 + 50_000) / 100_000;
            let (days, t300) = if t300 >= 300 * 86_400 {
                (days + 1, 0)
            } else {
                (days, t300)
            };
            let rel = days - DAYS_TO_1900;
            if rel < -53_690 || days > MAX_DAYS {
                return Err(out_of_range(value, "datetime"));
            }
            Ok(Value::DateTime {
                days: rel,
                t300: t300 as u32,
            })
        }
        SqlType::SmallDateTime => {
            let (days, ticks) = to_datetime_parts(value, to)?;
            let minutes = (ticks + 300_000_000) / 600_000_000;
            let (days, minutes) = if minutes >= 1440 {
                (days + 1, 0)
            } else {
                (days, minutes)
            };
            let rel = days - DAYS_TO_1900;
            if !(0..=65_535).contains(&rel) || (rel == 65_535 && minutes > 1439) {
                return Err(out_of_range(value, "smalldatetime"));
            }
            Ok(Value::SmallDateTime {
                days: rel as u16,
                minutes: minutes as u16,
            })
        }
        SqlType::Char(n) => to_char(value, from, Some(n), true, false, target),
        SqlType::VarChar(n) => to_char(value, from, n, false, false, target),
        SqlType::Text => to_char(value, from, None, false, false, target),
        SqlType::NChar(n) => to_char(value, from, Some(n), true, true, target),
        SqlType::NVarChar(n) => to_char(value, from, n, false, true, target),
        SqlType::NText | SqlType::Xml => to_char(value, from, None, false, true, target),
        SqlType::Binary(n) => to_binary(value, from, Some(n), true, target),
        SqlType::VarBinary(n) => to_binary(value, from, n, false, target),
        SqlType::Image => to_binary(value, from, None, false, target),
        SqlType::UniqueIdentifier => match value {
            Value::Guid(_) => Ok(value.clone()),
            Value::String(s) => parse_guid(s).map(Value::Guid).ok_or_else(|| {
                SqlError::new(
                    8169,
                    "Conversion failed when converting from a character string to uniqueidentifier.",
                )
            }),
            Value::Binary(b) if b.len() >= 16 => {
                let mut wire = [0u8; 16];
                wire.copy_from_slice(&b[..16]);
                Ok(Value::Guid(crate::tds::guid_from_wire(&wire)))
            }
            other => Err(not_allowed(other, to)),
        },
        SqlType::SqlVariant => Ok(value.clone()),
    }
}

fn not_allowed(value: &Value, to: SqlType) -> SqlError {
    SqlError::new(
        529,
        format!(
            "Explicit conversion from data type {} to {} is not allowed.",
            value.type_label(),
            to.data_type_name()
        ),
    )
}

fn out_of_range(value: &Value, to: &str) -> SqlError {
    SqlError::new(
        242,
        format!(
            "The conversion of a {} data type to a {to} data type resulted in an out-of-range value.",
            value.type_label()
        ),
    )
}

fn date_from_string_error() -> SqlError {
    SqlError::new(
        241,
        "Conversion failed when converting date and/or time from character string.",
    )
}

fn text_conversion_failed(text: &str, to: SqlType) -> SqlError {
    SqlError::new(
        245,
        format!(
            "Conversion failed when converting the nvarchar value '{text}' to data type {}.",
            to.data_type_name()
        ),
    )
}

fn to_bit(value: &Value) -> Result<bool, SqlError> {
    Ok(match value {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Decimal(d) => d.value != 0,
        Value::Money(m) => *m != 0,
        Value::String(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                true
            } else if t.eq_ignore_ascii_case("false") {
                false
            } else {
                t.parse::<i64>()
                    .map_err(|_| text_conversion_failed(s, SqlType::Bit))?
                    != 0
            }
        }
        other => return Err(not_allowed(other, SqlType::Bit)),
    })
}

fn to_int(value: &Value, to: SqlType, min: i64, max: i64) -> Result<Value, SqlError> {
    let overflow = || SqlError::overflow("expression", to.data_type_name());
    let i: i128 = match value {
        Value::Bool(b) => i128::from(*b),
        Value::Int(i) => i128::from(*i),
        Value::Float(f) => {
            if !f.is_finite() || f.abs() >= 9.3e18 {
                return Err(overflow());
            }
            f.trunc() as i128
        }
        Value::Decimal(d) => d.value / pow10(d.scale),
        Value::Money(m) => i128::from(*m / 10_000),
        Value::String(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| text_conversion_failed(s, to))?,
        other => return Err(not_allowed(other, to)),
    };
    if i < i128::from(min) || i > i128::from(max) {
        return Err(overflow());
    }
    Ok(Value::Int(i as i64))
}

fn to_f64(value: &Value, to: SqlType) -> Result<f64, SqlError> {
    Ok(match value {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Decimal(d) => d.to_f64(),
        Value::Money(m) => *m as f64 / 10_000.0,
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
            SqlError::new(
                8114,
                format!(
                    "Error converting data type nvarchar to {}.",
                    to.data_type_name()
                ),
            )
        })?,
        other => return Err(not_allowed(other, to)),
    })
}

fn to_exact(value: &Value, to: SqlType) -> Result<Decimal, SqlError> {
    Ok(match value {
        Value::Bool(b) => Decimal {
            value: i128::from(*b),
            scale: 0,
        },
        Value::Int(i) => Decimal {
            value: i128::from(*i),
            scale: 0,
        },
        Value::Decimal(d) => *d,
        Value::Money(m) => Decimal {
            value: i128::from(*m),
            scale: 4,
        },
        Value::Float(f) => {
            if !f.is_finite() || f.abs() >= 1e38 {
                return Err(SqlError::overflow("float", to.data_type_name()));
            }
            // 17 significant digits is what a double holds.
            let text = format!(
                "{:.*}",
                20usize.saturating_sub(f.abs().log10().max(0.0) as usize),
                f
            );
            Decimal::parse(&text).ok_or_else(|| SqlError::overflow("float", to.data_type_name()))?
        }
        Value::String(s) => Decimal::parse(s).ok_or_else(|| {
            SqlError::new(
                8114,
                format!(
                    "Error converting data type nvarchar to {}.",
                    to.data_type_name()
                ),
            )
        })?,
        other => return Err(not_allowed(other, to)),
    })
}

fn to_decimal(value: &Value, precision: u8, scale: u8, to: SqlType) -> Result<Decimal, SqlError> {
    let from = match value {
        Value::Int(_) | Value::Bool(_) => "int",
        Value::Float(_) => "float",
        Value::Money(_) => "money",
        Value::String(_) => "nvarchar",
        _ => "numeric",
    };
    let exact = to_exact(value, to)?;
    // SQL Server names both decimal and numeric "numeric" in this message.
    let overflow = || SqlError::overflow(from, "numeric");
    let d = exact.rescale(scale).ok_or_else(overflow)?;
    if d.value.unsigned_abs() >= pow10(precision).unsigned_abs() {
        return Err(overflow());
    }
    Ok(d)
}

fn to_money(value: &Value, to: SqlType) -> Result<Value, SqlError> {
    let exact = to_exact(value, to)?;
    let overflow = || SqlError::overflow(value.type_label(), to.data_type_name());
    let d = exact.rescale(4).ok_or_else(overflow)?;
    let (min, max) = if to == SqlType::SmallMoney {
        (i128::from(i32::MIN), i128::from(i32::MAX))
    } else {
        (i128::from(i64::MIN), i128::from(i64::MAX))
    };
    if d.value < min || d.value > max {
        return Err(overflow());
    }
    Ok(Value::Money(d.value as i64))
}

fn to_datetime_parts(value: &Value, to: SqlType) -> Result<(i32, u64), SqlError> {
    match value {
        Value::String(s) => {
            let p = parse_datetime(s).ok_or_else(date_from_string_error)?;
            Ok((p.days.unwrap_or(DAYS_TO_1900), p.ticks.unwrap_or(0)))
        }
        other => other
            .as_datetime_parts()
            .ok_or_else(|| not_allowed(other, to)),
    }
}

fn round_day_ticks(days: i32, ticks: u64, scale: u8, to: SqlType) -> Result<(i32, u64), SqlError> {
    let rounded = round_ticks(ticks, scale);
    let (days, ticks) = normalise(i64::from(days), rounded as i64);
    if days < 0 || days > i64::from(MAX_DAYS) {
        return Err(SqlError::new(
            242,
            format!(
                "The conversion to a {} data type resulted in an out-of-range value.",
                to.data_type_name()
            ),
        ));
    }
    Ok((days as i32, ticks))
}

fn to_char(
    value: &Value,
    from: Option<SqlType>,
    len: Option<u16>,
    pad: bool,
    unicode: bool,
    target: Target<'_>,
) -> Result<Value, SqlError> {
    let text = match value {
        Value::Binary(b) if !unicode => cp1252::decode(b),
        other => other.to_text(from).unwrap_or_default(),
    };
    let text = if unicode {
        text
    } else {
        cp1252::sanitize(&text)
    };
    let Some(max) = len.map(usize::from) else {
        return Ok(Value::String(text));
    };
    let units = if unicode {
        text.encode_utf16().count()
    } else {
        text.chars().count()
    };
    if units > max {
        let cut = cut_to_units(&text, max, unicode);
        return match target {
            Target::Column { table, column } => Err(SqlError::truncation(table, column, &cut)),
            Target::Cast => Ok(Value::String(cut)),
        };
    }
    if pad && units < max {
        let mut padded = text;
        padded.extend(std::iter::repeat_n(' ', max - units));
        return Ok(Value::String(padded));
    }
    Ok(Value::String(text))
}

fn cut_to_units(text: &str, max: usize, unicode: bool) -> String {
    let mut out = String::new();
    let mut units = 0;
    for c in text.chars() {
        let n = if unicode { c.len_utf16() } else { 1 };
        if units + n > max {
            break;
        }
        units += n;
        out.push(c);
    }
    out
}

fn to_binary(
    value: &Value,
    from: Option<SqlType>,
    len: Option<u16>,
    pad: bool,
    target: Target<'_>,
) -> Result<Value, SqlError> {
    let bytes = match value {
        Value::Binary(b) => b.clone(),
        Value::String(s) => {
            let unicode = matches!(
                from,
                Some(SqlType::NVarChar(_) | SqlType::NChar(_) | SqlType::NText | SqlType::Xml)
            );
            if unicode {
                s.encode_utf16().flat_map(u16::to_le_bytes).collect()
            } else {
                let mut out = Vec::new();
                cp1252::encode_into(s, &mut out);
                out
            }
        }
        Value::Int(i) => match from {
            Some(SqlType::BigInt) => i.to_be_bytes().to_vec(),
            Some(SqlType::SmallInt) => (*i as i16).to_be_bytes().to_vec(),
            Some(SqlType::TinyInt) => vec![*i as u8],
            _ => (*i as i32).to_be_bytes().to_vec(),
        },
        Value::Guid(g) => crate::tds::guid_to_wire(g).to_vec(),
        other => {
            return Err(not_allowed(other, SqlType::VarBinary(len)));
        }
    };
    let Some(max) = len.map(usize::from) else {
        return Ok(Value::Binary(bytes));
    };
    if bytes.len() > max {
        return match target {
            Target::Column { table, column } => Err(SqlError::truncation(table, column, "")),
            Target::Cast => Ok(Value::Binary(bytes[..max].to_vec())),
        };
    }
    if pad && bytes.len() < max {
        let mut padded = bytes;
        padded.resize(max, 0);
        return Ok(Value::Binary(padded));
    }
    Ok(Value::Binary(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::temporal::days_from_civil;

    const COL: Target<'static> = Target::Column {
        table: "db.dbo.t",
        column: "c",
    };

    #[test]
    fn string_to_datetime2_keeps_ticks() {
        let v = convert(
            &Value::String("2024-01-01 10:00:00.1234567".into()),
            None,
            SqlType::DateTime2(7),
            COL,
        )
        .unwrap();
        let days = days_from_civil(2024, 1, 1).unwrap();
        assert_eq!(
            v,
            Value::DateTime2 {
                days,
                ticks: 360_001_234_567
            }
        );
    }

    #[test]
    fn decimal_overflow_is_8115() {
        let err = convert(
            &Value::String("12345.6".into()),
            None,
            SqlType::Decimal {
                precision: 5,
                scale: 2,
            },
            COL,
        )
        .unwrap_err();
        assert_eq!(err.number, 8115);
    }

    #[test]
    fn long_string_into_column_is_2628_but_cast_truncates() {
        let v = Value::String("abcdef".into());
        let err = convert(&v, None, SqlType::NVarChar(Some(3)), COL).unwrap_err();
        assert_eq!(err.number, 2628);
        assert!(
            err.message.contains("Truncated value: 'abc'"),
            "{}",
            err.message
        );
        assert_eq!(
            convert(&v, None, SqlType::NVarChar(Some(3)), Target::Cast).unwrap(),
            Value::String("abc".into())
        );
        assert_eq!(
            convert(&v, None, SqlType::NChar(8), COL).unwrap(),
            Value::String("abcdef  ".into())
        );
    }

    #[test]
    fn int_range_and_text() {
        assert_eq!(
            convert(&Value::Int(300), None, SqlType::TinyInt, COL)
                .unwrap_err()
                .number,
            8115
        );
        assert_eq!(
            convert(&Value::String(" 42 ".into()), None, SqlType::Int, COL).unwrap(),
            Value::Int(42)
        );
        assert_eq!(
            convert(&Value::String("4.2".into()), None, SqlType::Int, COL)
                .unwrap_err()
                .number,
            245
        );
    }

    #[test]
    fn float_to_decimal_is_close() {
        let v = convert(
            &Value::Float(1.25),
            None,
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            COL,
        )
        .unwrap();
        assert_eq!(
            v,
            Value::Decimal(Decimal {
                value: 125,
                scale: 2
            })
        );
    }
}
