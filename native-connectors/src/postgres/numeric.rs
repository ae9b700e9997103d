//! PostgreSQL's binary `numeric`: base-10000 digits with a weight (the power of 10000 of
//! the first digit), a sign, and a display scale. Read into exact decimals or text, and
//! written from Arrow decimals.

use std::fmt;

use arrow_buffer::i256;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// A decoded `numeric`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumericValue {
    /// NaN or ±Infinity, named.
    Special(&'static str),
    /// A finite number.
    Number {
        /// Below zero.
        negative: bool,
        /// The power of 10000 of the first digit.
        weight: i16,
        /// Decimal digits after the point, as the value shows them.
        scale: u16,
        /// Base-10000 digits, most significant first.
        digits: Vec<u16>,
    },
}

/// Reads a binary `numeric`.
///
/// # Errors
/// What is malformed.
pub fn parse_numeric(bytes: &[u8]) -> Result<NumericValue, String> {
    if bytes.len() < 8 {
        return Err("a numeric value too short to read".into());
    }
    let word = |i: usize| u16::from_be_bytes([bytes[2 * i], bytes[2 * i + 1]]);
    let count = usize::from(word(0));
    let weight = word(1) as i16;
    let sign = word(2);
    let scale = word(3);
    if bytes.len() != 8 + 2 * count {
        return Err("a numeric value of the wrong length".into());
    }
    let negative = match sign {
        NUMERIC_POS => false,
        NUMERIC_NEG => true,
        NUMERIC_NAN => return Ok(NumericValue::Special("NaN")),
        NUMERIC_PINF => return Ok(NumericValue::Special("Infinity")),
        NUMERIC_NINF => return Ok(NumericValue::Special("-Infinity")),
        _ => return Err("a numeric value with an unknown sign".into()),
    };
    let digits: Vec<u16> = (4..4 + count).map(word).collect();
    if digits.iter().any(|d| *d >= 10_000) {
        return Err("a numeric digit out of range".into());
    }
    Ok(NumericValue::Number {
        negative,
        weight,
        scale,
        digits,
    })
}

impl NumericValue {
    /// The value × 10^`scale` as an integer, or `None` when it does not fit (or has more
    /// fraction digits than `scale`, which a column's own scale never has).
    pub fn to_i128(&self, scale: i8) -> Option<i128> {
        self.scaled(
            scale,
            0i128,
            |acc, d| acc.checked_mul(10_000)?.checked_add(i128::from(d)),
            |acc, p| acc.checked_mul(10i128.checked_pow(p)?),
            |acc, p| {
                let factor = 10i128.checked_pow(p)?;
                (acc % factor == 0).then(|| acc / factor)
            },
            |acc| acc.checked_neg(),
        )
        // The digits may hold more fraction digits than `scale` on the way (a fraction is
        // padded to whole base-10000 digits) and overflow 128 bits there: 256 bits then.
        .or_else(|| self.to_i256(scale)?.to_i128())
    }

    /// As [`NumericValue::to_i128`], for decimal256.
    pub fn to_i256(&self, scale: i8) -> Option<i256> {
        let ten = i256::from_i128(10);
        self.scaled(
            scale,
            i256::ZERO,
            |acc, d| {
                acc.checked_mul(i256::from_i128(10_000))?
                    .checked_add(i256::from_i128(i128::from(d)))
            },
            |acc, p| acc.checked_mul(ten.checked_pow(p)?),
            |acc, p| {
                let factor = ten.checked_pow(p)?;
                (acc.checked_rem(factor)? == i256::ZERO).then(|| acc.checked_div(factor))?
            },
            |acc| acc.checked_neg(),
        )
    }

    fn scaled<T: Copy>(
        &self,
        scale: i8,
        zero: T,
        push_digit: impl Fn(T, u16) -> Option<T>,
        shift_up: impl Fn(T, u32) -> Option<T>,
        shift_down: impl Fn(T, u32) -> Option<T>,
        negate: impl Fn(T) -> Option<T>,
    ) -> Option<T> {
        let NumericValue::Number {
            negative,
            weight,
            digits,
            ..
        } = self
        else {
            return None;
        };
        let mut acc = zero;
        for d in digits {
            acc = push_digit(acc, *d)?;
        }
        // `acc` is the value × 10^(4 × (digits − 1 − weight)).
        let held = 4 * (digits.len() as i64 - 1 - i64::from(*weight));
        let wanted = i64::from(scale);
        let acc = if digits.is_empty() {
            acc
        } else if wanted >= held {
            shift_up(acc, u32::try_from(wanted - held).ok()?)?
        } else {
            shift_down(acc, u32::try_from(held - wanted).ok()?)?
        };
        if *negative { negate(acc) } else { Some(acc) }
    }
}

impl fmt::Display for NumericValue {
    /// As PostgreSQL prints it: every digit of the display scale, no exponent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let NumericValue::Number {
            negative,
            weight,
            scale,
            digits,
        } = self
        else {
            let NumericValue::Special(name) = self else {
                unreachable!("two variants")
            };
            return f.write_str(name);
        };
        let mut text = String::new();
        if *negative {
            text.push('-');
        }
        let digit = |i: i64| -> u16 {
            usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i).copied())
                .unwrap_or(0)
        };
        let weight = i64::from(*weight);
        if weight < 0 {
            text.push('0');
        } else {
            for i in 0..=weight {
                let d = digit(i);
                if i == 0 {
                    text.push_str(&d.to_string());
                } else {
                    text.push_str(&format!("{d:04}"));
                }
            }
        }
        if *scale > 0 {
            text.push('.');
            let mut fraction = String::new();
            let mut i = weight + 1;
            while fraction.len() < usize::from(*scale) {
                fraction.push_str(&format!("{:04}", digit(i)));
                i += 1;
            }
            fraction.truncate(usize::from(*scale));
            text.push_str(&fraction);
        }
        f.write_str(&text)
    }
}

/// Appends the binary `numeric` of `unscaled` × 10^−`scale` to `out`.
pub fn write_numeric_i128(out: &mut Vec<u8>, unscaled: i128, scale: i8) {
    if !write_numeric_fast(out, unscaled, scale) {
        write_numeric_digits(
            out,
            unscaled < 0,
            &unscaled.unsigned_abs().to_string(),
            scale,
        );
    }
}

/// [`write_numeric_i128`] by arithmetic, for the usual case (a scale of 0 to 38 and a
/// value whose fraction, padded to whole base-10000 digits, fits 128 bits); `false` when
/// it does not apply.
fn write_numeric_fast(out: &mut Vec<u8>, unscaled: i128, scale: i8) -> bool {
    let Ok(scale) = u32::try_from(scale) else {
        return false;
    };
    let pad = (4 - scale % 4) % 4;
    let Some(mut value) = unscaled.unsigned_abs().checked_mul(10u128.pow(pad)) else {
        return false;
    };
    let fraction_groups = ((scale + pad) / 4) as i32;
    // Base-10000 digits, least significant first; 128 bits hold at most 10.
    let mut groups = [0u16; 10];
    let mut count = 0;
    while value > 0 {
        groups[count] = (value % 10_000) as u16;
        value /= 10_000;
        count += 1;
    }
    let weight = count as i32 - fraction_groups - 1;
    let mut low = 0;
    while low < count && groups[low] == 0 {
        low += 1;
    }
    let kept = &groups[low..count];
    let (weight, sign) = match (kept.is_empty(), unscaled < 0) {
        (true, _) => (0, NUMERIC_POS),
        (false, true) => (weight, NUMERIC_NEG),
        (false, false) => (weight, NUMERIC_POS),
    };
    out.extend_from_slice(&((8 + 2 * kept.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(kept.len() as u16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for group in kept.iter().rev() {
        out.extend_from_slice(&group.to_be_bytes());
    }
    true
}

/// As [`write_numeric_i128`], for decimal256.
pub fn write_numeric_i256(out: &mut Vec<u8>, unscaled: i256, scale: i8) {
    let text = unscaled.to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    write_numeric_digits(out, negative, digits, scale);
}

/// Appends the binary `numeric` of decimal text (`-12.50`, `3`, `1e5` is not accepted).
///
/// # Errors
/// When `text` is not a plain decimal number.
pub fn write_numeric_text(out: &mut Vec<u8>, text: &str) -> Result<(), String> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
        return Err(format!("`{text}` is not a decimal number"));
    }
    let scale =
        i8::try_from(fraction.len()).map_err(|_| format!("`{text}` has too many digits"))?;
    write_numeric_digits(out, negative, &format!("{whole}{fraction}"), scale);
    Ok(())
}

/// `digits` (decimal, no sign) × 10^−`scale`, as base-10000 groups aligned on the point.
fn write_numeric_digits(out: &mut Vec<u8>, negative: bool, digits: &str, scale: i8) {
    let digits = digits.trim_start_matches('0');
    // Negative scales multiply out: the value is an integer.
    let (digits, scale): (String, i64) = if scale < 0 {
        let zeros = "0".repeat(usize::from(scale.unsigned_abs()));
        (format!("{digits}{zeros}"), 0)
    } else {
        (digits.to_string(), i64::from(scale))
    };
    let display_scale = scale as u16;
    let len = digits.len() as i64;
    // Pad so the point falls on a group boundary: whole digits to a multiple of 4 on the
    // left, fraction digits to a multiple of 4 on the right.
    let whole = (len - scale).max(0);
    let left_pad = (4 - whole % 4) % 4;
    let fraction_pad = (4 - scale % 4) % 4;
    let lead_zeros = if len < scale { scale - len } else { 0 };
    let mut padded = String::with_capacity((left_pad + lead_zeros + len + fraction_pad) as usize);
    padded.extend(std::iter::repeat_n('0', left_pad as usize));
    padded.extend(std::iter::repeat_n('0', lead_zeros as usize));
    padded.push_str(&digits);
    padded.extend(std::iter::repeat_n('0', fraction_pad as usize));
    let groups: Vec<u16> = padded
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0')))
        .collect();
    let whole_groups = (whole + left_pad) / 4;
    let mut weight = whole_groups - 1;
    let mut first = 0;
    while first < groups.len() && groups[first] == 0 {
        first += 1;
        weight -= 1;
    }
    let mut last = groups.len();
    while last > first && groups[last - 1] == 0 {
        last -= 1;
    }
    let kept = &groups[first..last];
    if kept.is_empty() {
        weight = 0;
    }
    let sign = if negative && !kept.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    out.extend_from_slice(&((8 + 2 * kept.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(kept.len() as u16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&display_scale.to_be_bytes());
    for group in kept {
        out.extend_from_slice(&group.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(unscaled: i128, scale: i8) -> (i128, String) {
        let mut out = Vec::new();
        write_numeric_i128(&mut out, unscaled, scale);
        let value = parse_numeric(&out[4..]).unwrap_or_else(|e| panic!("{e}"));
        (
            value.to_i128(scale.max(0)).unwrap_or(i128::MIN),
            value.to_string(),
        )
    }

    #[test]
    fn decimals_round_trip_through_base_10000() {
        assert_eq!(round_trip(12_345, 2), (12_345, "123.45".into()));
        assert_eq!(round_trip(-5, 3), (-5, "-0.005".into()));
        assert_eq!(round_trip(0, 2), (0, "0.00".into()));
        assert_eq!(
            round_trip(100_000_000, 0),
            (100_000_000, "100000000".into())
        );
        assert_eq!(
            round_trip(123_456_789, 4),
            (123_456_789, "12345.6789".into())
        );
        let max = 10i128.pow(38) - 1;
        assert_eq!(round_trip(max, 10).0, max);
        assert_eq!(round_trip(-max, 0).0, -max);
        // A negative scale multiplies out.
        assert_eq!(round_trip(12, -3), (12_000, "12000".into()));
    }

    #[test]
    fn text_and_wider_targets() {
        let mut out = Vec::new();
        write_numeric_text(&mut out, "-1234567.000100").unwrap_or_else(|e| panic!("{e}"));
        let value = parse_numeric(&out[4..]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value.to_string(), "-1234567.000100");
        assert_eq!(value.to_i128(6), Some(-1_234_567_000_100));
        assert_eq!(value.to_i128(8), Some(-123_456_700_010_000));
        assert_eq!(value.to_i256(4), Some(i256::from_i128(-12_345_670_001)));
        // Dropping a non-zero fraction digit is refused, not rounded.
        assert_eq!(value.to_i128(3), None);
        assert!(write_numeric_text(&mut out, "1e5").is_err());
    }

    /// The arithmetic path writes exactly what the digit-string path writes.
    #[test]
    fn the_fast_path_agrees_with_the_digit_path() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000 {
            let digits = round % 39;
            let magnitude =
                (i128::from(next()) << 64 | i128::from(next())) % 10i128.pow(digits.max(1));
            let value = if round % 3 == 0 {
                -magnitude
            } else {
                magnitude
            };
            let scale = (next() % 39) as i8;
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            if write_numeric_fast(&mut fast, value, scale) {
                write_numeric_digits(
                    &mut slow,
                    value < 0,
                    &value.unsigned_abs().to_string(),
                    scale,
                );
                assert_eq!(fast, slow, "{value} at scale {scale}");
            }
        }
    }

    #[test]
    fn special_values_are_named() {
        let nan = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        assert_eq!(parse_numeric(&nan), Ok(NumericValue::Special("NaN")));
    }
}
