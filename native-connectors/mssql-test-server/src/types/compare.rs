//! Comparison with SQL Server's implicit conversions and its default
//! case-insensitive, trailing-space-insensitive collation.

use std::cmp::Ordering;

use super::convert::{Target, convert};
use super::value::Decimal;
use super::{SqlType, Value};
use crate::error::SqlError;

/// Compares two non-NULL values; `Ok(None)` if either is NULL.
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>, SqlError> {
    if a.is_null() || b.is_null() {
        return Ok(None);
    }
    // A string meets a non-string: the string converts to the other type.
    match (a, b) {
        (Value::String(_), Value::String(_)) => {}
        (Value::String(_), other) => {
            let converted = convert(a, None, comparison_type(other), Target::Cast)?;
            return compare_same_family(&converted, other);
        }
        (other, Value::String(_)) => {
            let converted = convert(b, None, comparison_type(other), Target::Cast)?;
            return compare_same_family(other, &converted);
        }
        _ => {}
    }
    compare_same_family(a, b)
}

/// The type a string is converted to when compared with `other`.
fn comparison_type(other: &Value) -> SqlType {
    match other {
        Value::Decimal(_) => SqlType::Decimal {
            precision: 38,
            scale: 10,
        },
        Value::Int(_) => SqlType::BigInt,
        Value::DateTimeOffset { .. } => SqlType::DateTimeOffset(7),
        Value::DateTime { .. } | Value::SmallDateTime { .. } => SqlType::DateTime2(7),
        other => other.natural_type(),
    }
}

fn family(v: &Value) -> u8 {
    match v {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Decimal(_) | Value::Money(_) => 1,
        Value::Date(_)
        | Value::Time(_)
        | Value::DateTime2 { .. }
        | Value::DateTimeOffset { .. }
        | Value::DateTime { .. }
        | Value::SmallDateTime { .. } => 2,
        Value::String(_) => 3,
        Value::Binary(_) => 4,
        Value::Guid(_) => 5,
        Value::Null => 0,
    }
}

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Bool(b) => Some(Decimal {
            value: i128::from(*b),
            scale: 0,
        }),
        Value::Int(i) => Some(Decimal {
            value: i128::from(*i),
            scale: 0,
        }),
        Value::Decimal(d) => Some(*d),
        Value::Money(m) => Some(Decimal {
            value: i128::from(*m),
            scale: 4,
        }),
        _ => None,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        other => as_decimal(other).map(Decimal::to_f64).unwrap_or(f64::NAN),
    }
}

fn compare_same_family(a: &Value, b: &Value) -> Result<Option<Ordering>, SqlError> {
    let (fa, fb) = (family(a), family(b));
    if fa != fb {
        return Err(SqlError::new(
            206,
            format!(
                "Operand type clash: {} is incompatible with {}",
                a.type_label(),
                b.type_label()
            ),
        ));
    }
    Ok(match (a, b) {
        (Value::String(x), Value::String(y)) => Some(compare_text(x, y)),
        (Value::Binary(x), Value::Binary(y)) => Some(x.cmp(y)),
        (Value::Guid(x), Value::Guid(y)) => Some(guid_order(x).cmp(&guid_order(y))),
        _ if fa == 1 => match (as_decimal(a), as_decimal(b)) {
            (Some(x), Some(y)) => {
                let scale = x.scale.max(y.scale);
                match (x.rescale(scale), y.rescale(scale)) {
                    (Some(x), Some(y)) => Some(x.value.cmp(&y.value)),
                    _ => as_f64(a).partial_cmp(&as_f64(b)),
                }
            }
            _ => as_f64(a).partial_cmp(&as_f64(b)),
        },
        _ if fa == 2 => {
            if matches!(a, Value::DateTimeOffset { .. })
                || matches!(b, Value::DateTimeOffset { .. })
            {
                a.as_utc_instant()
                    .zip(b.as_utc_instant())
                    .map(|(x, y)| x.cmp(&y))
            } else {
                a.as_datetime_parts()
                    .zip(b.as_datetime_parts())
                    .map(|(x, y)| x.cmp(&y))
            }
        }
        _ => None,
    })
}

/// Case-insensitive comparison that ignores trailing spaces.
pub(crate) fn compare_text(a: &str, b: &str) -> Ordering {
    let a = a.trim_end_matches(' ');
    let b = b.trim_end_matches(' ');
    let la = a.chars().flat_map(char::to_lowercase);
    let lb = b.chars().flat_map(char::to_lowercase);
    la.cmp(lb)
}

/// SQL Server orders uniqueidentifiers by bytes 10..16, then 8..10, 6..8, 4..6, 0..4.
fn guid_order(g: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..6].copy_from_slice(&g[10..16]);
    out[6..8].copy_from_slice(&g[8..10]);
    out[8..10].copy_from_slice(&g[6..8]);
    out[10..12].copy_from_slice(&g[4..6]);
    out[12..16].copy_from_slice(&g[0..4]);
    out
}

/// Total order for ORDER BY: NULLs first, incomparable values equal.
pub(crate) fn sort_order(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare(a, b).ok().flatten().unwrap_or(Ordering::Equal),
    }
}

/// SQL `LIKE` with `%`, `_` and `[...]`, case-insensitive.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    like_at(&t, &p)
}

fn like_at(t: &[char], p: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('%') => (0..=t.len()).any(|i| like_at(&t[i..], &p[1..])),
        Some('_') => !t.is_empty() && like_at(&t[1..], &p[1..]),
        Some('[') => {
            let Some(close) = p.iter().position(|&c| c == ']') else {
                return t.first() == Some(&'[') && like_at(&t[1..], &p[1..]);
            };
            let Some(&c) = t.first() else {
                return false;
            };
            let set = &p[1..close];
            let (negate, set) = match set.first() {
                Some('^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && like_at(&t[1..], &p[close + 1..])
        }
        Some(&c) => t.first() == Some(&c) && like_at(&t[1..], &p[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::temporal::days_from_civil;

    #[test]
    fn cross_type_comparisons() {
        let days = days_from_civil(2024, 1, 1).unwrap();
        let dt2 = Value::DateTime2 {
            days,
            ticks: 360_001_234_567,
        };
        let s = Value::String("2024-01-01 10:00:00.1234567".into());
        assert_eq!(compare(&dt2, &s).unwrap(), Some(Ordering::Equal));
        assert_eq!(
            compare(
                &Value::Int(2),
                &Value::Decimal(Decimal {
                    value: 15,
                    scale: 1
                })
            )
            .unwrap(),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(&Value::String("ABC ".into()), &Value::String("abc".into())).unwrap(),
            Some(Ordering::Equal)
        );
        assert_eq!(compare(&Value::Null, &Value::Int(1)).unwrap(), None);
        assert_eq!(
            compare(&Value::String("x".into()), &Value::Int(1))
                .unwrap_err()
                .number,
            245
        );
    }

    #[test]
    fn like_patterns() {
        assert!(like("Hello", "h%o"));
        assert!(like("Hello", "_ello"));
        assert!(!like("Hello", "h_o"));
        assert!(like("b1", "[a-c]1"));
        assert!(!like("d1", "[a-c]1"));
    }
}
