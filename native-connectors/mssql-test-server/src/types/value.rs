//! Values held by the catalog and computed by queries, at full precision.

use super::SqlType;
use super::temporal::{
    DAYS_TO_1900, TICKS_PER_DAY, format_date, format_offset, format_time, normalise,
};

/// An exact decimal: `value / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    /// The unscaled integer.
    pub(crate) value: i128,
    /// Digits after the decimal point.
    pub(crate) scale: u8,
}

/// 10^n for n <= 38.
pub(crate) fn pow10(n: u8) -> i128 {
    10i128.pow(u32::from(n.min(38)))
}

/// Number of decimal digits of |v| (0 has one digit).
pub(crate) fn digit_count(v: i128) -> u8 {
    let mut v = v.unsigned_abs();
    let mut n = 1u8;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

impl Decimal {
    /// Rescales, rounding half away from zero; `None` on i128 overflow.
    pub(crate) fn rescale(self, scale: u8) -> Option<Decimal> {
        if scale >= self.scale {
            let factor = pow10(scale - self.scale);
            self.value
                .checked_mul(factor)
                .map(|value| Decimal { value, scale })
        } else {
            let factor = pow10(self.scale - scale);
            let q = self.value / factor;
            let r = self.value % factor;
            let q = if r.unsigned_abs() * 2 >= factor.unsigned_abs() {
                q + self.value.signum()
            } else {
                q
            };
            Some(Decimal { value: q, scale })
        }
    }

    /// The value as a float.
    pub(crate) fn to_f64(self) -> f64 {
        self.value as f64 / 10f64.powi(i32::from(self.scale))
    }

    /// Integer digits + scale needed to hold the value.
    pub(crate) fn precision(self) -> u8 {
        let int_digits = digit_count(self.value / pow10(self.scale).max(1));
        let int_digits = if self.value.unsigned_abs() < pow10(self.scale).unsigned_abs() {
            1
        } else {
            int_digits
        };
        (int_digits + self.scale).min(38)
    }

    /// Exact text form (`-12.3400`).
    pub(crate) fn to_text(self) -> String {
        let digits = self.value.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        let sign = if self.value < 0 { "-" } else { "" };
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{sign}{int}.{frac}")
    }

    /// Parses `[-+]digits[.digits]`.
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let s = text.trim();
        let (neg, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac = if frac.len() > 38 { &frac[..38] } else { frac };
        let int = int.trim_start_matches('0');
        if int.len() + frac.len() > 38 {
            return None;
        }
        let digits = format!("{int}{frac}");
        let value: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(Decimal {
            value: if neg { -value } else { value },
            scale: frac.len() as u8,
        })
    }
}

/// A value of any supported type; `Null` is the SQL NULL of every type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(Decimal),
    /// Money in 1/10000 units.
    Money(i64),
    /// Days since 0001-01-01.
    Date(i32),
    /// 100 ns ticks since midnight.
    Time(u64),
    DateTime2 {
        days: i32,
        ticks: u64,
    },
    /// Local date and time plus the offset from UTC in minutes.
    DateTimeOffset {
        days: i32,
        ticks: u64,
        offset: i16,
    },
    /// `datetime`: days since 1900-01-01 and 1/300 s since midnight.
    DateTime {
        days: i32,
        t300: u32,
    },
    /// `smalldatetime`: days since 1900-01-01 and minutes since midnight.
    SmallDateTime {
        days: u16,
        minutes: u16,
    },
    String(String),
    Binary(Vec<u8>),
    /// A GUID in its textual (big-endian) byte order.
    Guid([u8; 16]),
}

impl Value {
    /// Whether this is SQL NULL.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type a literal of this value has in SQL Server.
    pub(crate) fn natural_type(&self) -> SqlType {
        match self {
            Value::Null => SqlType::Int,
            Value::Bool(_) => SqlType::Bit,
            Value::Int(i) if i32::try_from(*i).is_ok() => SqlType::Int,
            Value::Int(_) => SqlType::BigInt,
            Value::Float(_) => SqlType::Float,
            Value::Decimal(d) => SqlType::Numeric {
                precision: d.precision().max(d.scale).max(1),
                scale: d.scale,
            },
            Value::Money(_) => SqlType::Money,
            Value::Date(_) => SqlType::Date,
            Value::Time(_) => SqlType::Time(7),
            Value::DateTime2 { .. } => SqlType::DateTime2(7),
            Value::DateTimeOffset { .. } => SqlType::DateTimeOffset(7),
            Value::DateTime { .. } => SqlType::DateTime,
            Value::SmallDateTime { .. } => SqlType::SmallDateTime,
            Value::String(s) => {
                let n = s.encode_utf16().count();
                if n > 4000 {
                    SqlType::NVarChar(None)
                } else {
                    SqlType::NVarChar(Some(n.max(1) as u16))
                }
            }
            Value::Binary(b) => {
                if b.len() > 8000 {
                    SqlType::VarBinary(None)
                } else {
                    SqlType::VarBinary(Some(b.len().max(1) as u16))
                }
            }
            Value::Guid(_) => SqlType::UniqueIdentifier,
        }
    }

    /// The name of the value's natural type for conversion error messages.
    pub(crate) fn type_label(&self) -> &'static str {
        match self {
            Value::String(_) => "nvarchar",
            Value::Decimal(_) => "numeric",
            other => other.natural_type().data_type_name(),
        }
    }

    /// Date and time-of-day as (days since 0001-01-01, ticks), for any
    /// date/time value (a date is midnight; a time is on 1900-01-01).
    pub(crate) fn as_datetime_parts(&self) -> Option<(i32, u64)> {
        match self {
            Value::Date(d) => Some((*d, 0)),
            Value::Time(t) => Some((DAYS_TO_1900, *t)),
            Value::DateTime2 { days, ticks } => Some((*days, *ticks)),
            Value::DateTimeOffset { days, ticks, .. } => Some((*days, *ticks)),
            Value::DateTime { days, t300 } => {
                let ticks = u64::from(*t300) * 100_000 / 3;
                Some((DAYS_TO_1900 + days, ticks.min(TICKS_PER_DAY - 1)))
            }
            Value::SmallDateTime { days, minutes } => Some((
                DAYS_TO_1900 + i32::from(*days),
                u64::from(*minutes) * 60 * 10_000_000,
            )),
            _ => None,
        }
    }

    /// A point in time in UTC as (days, ticks) for comparisons; local values
    /// without an offset are taken as UTC.
    pub(crate) fn as_utc_instant(&self) -> Option<(i64, u64)> {
        let (days, ticks) = self.as_datetime_parts()?;
        let offset = match self {
            Value::DateTimeOffset { offset, .. } => i64::from(*offset),
            _ => 0,
        };
        Some(normalise(
            i64::from(days),
            ticks as i64 - offset * 60 * 10_000_000,
        ))
    }

    /// Text form as `CAST(x AS nvarchar)` gives it (ISO styles for dates).
    pub(crate) fn to_text(&self, source_type: Option<SqlType>) -> Option<String> {
        let scale = |default: u8| match source_type {
            Some(SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s)) => s,
            _ => default,
        };
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Decimal(d) => d.to_text(),
            Value::Money(m) => Decimal {
                value: i128::from(*m),
                scale: 4,
            }
            .rescale(2)
            .map(Decimal::to_text)
            .unwrap_or_default(),
            Value::Date(d) => format_date(*d),
            Value::Time(t) => format_time(*t, scale(7)),
            Value::DateTime2 { days, ticks } => {
                format!("{} {}", format_date(*days), format_time(*ticks, scale(7)))
            }
            Value::DateTimeOffset {
                days,
                ticks,
                offset,
            } => format!(
                "{} {} {}",
                format_date(*days),
                format_time(*ticks, scale(7)),
                format_offset(*offset)
            ),
            Value::DateTime { .. } | Value::SmallDateTime { .. } => {
                let (days, ticks) = self.as_datetime_parts()?;
                let digits = if matches!(self, Value::DateTime { .. }) {
                    3
                } else {
                    0
                };
                format!("{} {}", format_date(days), format_time(ticks, digits))
            }
            Value::String(s) => s.clone(),
            Value::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Guid(g) => format_guid(g),
        })
    }
}

/// Shortest round-trip text of a float, like SQL Server's `CAST(f AS varchar)`.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, upper case, like SQL Server.
pub(crate) fn format_guid(g: &[u8; 16]) -> String {
    let hex: Vec<String> = g.iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex[0..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..16].concat()
    )
}

/// Parses a GUID in `8-4-4-4-12` form, with or without braces.
pub(crate) fn parse_guid(text: &str) -> Option<[u8; 16]> {
    let s = text.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(s);
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != 5 || groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_round_trip() {
        let d = Decimal::parse("-12.3400").unwrap();
        assert_eq!(
            d,
            Decimal {
                value: -123_400,
                scale: 4
            }
        );
        assert_eq!(d.to_text(), "-12.3400");
        assert_eq!(Decimal { value: 5, scale: 3 }.to_text(), "0.005");
        assert_eq!(
            Decimal {
                value: 15,
                scale: 1
            }
            .rescale(0)
            .unwrap()
            .value,
            2
        );
        assert_eq!(
            Decimal {
                value: -15,
                scale: 1
            }
            .rescale(0)
            .unwrap()
            .value,
            -2
        );
        assert_eq!(
            Decimal {
                value: 12345,
                scale: 2
            }
            .precision(),
            5
        );
        assert_eq!(Decimal { value: 5, scale: 3 }.precision(), 4);
        assert!(Decimal::parse("1e5").is_none());
    }

    #[test]
    fn guid_text_round_trip() {
        let g = parse_guid("{01020304-0506-0708-090A-0B0C0D0E0F10}").unwrap();
        assert_eq!(g[0], 1);
        assert_eq!(format_guid(&g), "01020304-0506-0708-090A-0B0C0D0E0F10");
    }
}
