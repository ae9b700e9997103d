//! Calendar arithmetic, parsing and formatting of date/time values.
//!
//! Days count from 0001-01-01 (proleptic Gregorian, day 0); times are 100 ns
//! ticks since midnight, the resolution of `datetime2(7)`.

/// 100 ns ticks in one day.
pub(crate) const TICKS_PER_DAY: u64 = 864_000_000_000;
/// 100 ns ticks in one second.
pub(crate) const TICKS_PER_SECOND: u64 = 10_000_000;
/// Days from 0001-01-01 to 1900-01-01 (the `datetime` epoch).
pub(crate) const DAYS_TO_1900: i32 = 693_595;
/// Days from 0001-01-01 to 9999-12-31, the last valid date.
pub(crate) const MAX_DAYS: i32 = 3_652_058;

/// Days since 0001-01-01 of a civil date, or `None` if the date does not exist.
pub(crate) fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i32> {
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    // Howard Hinnant's algorithm, shifted so that 0001-01-01 is day 0.
    let y = i64::from(if month <= 2 { year - 1 } else { year });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days_since_epoch_0000_03_01 = era * 146_097 + doe;
    // 0000-03-01 is 306 days before 0001-01-01.
    i32::try_from(days_since_epoch_0000_03_01 - 306).ok()
}

/// The civil date (year, month, day) of a day number.
pub(crate) fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 306;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y as i32, m as u32, d as u32)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

/// Rounds ticks to the precision of a fractional-second scale (0..=7), half up.
///
/// The result may equal [`TICKS_PER_DAY`] when rounding crosses midnight.
pub(crate) fn round_ticks(ticks: u64, scale: u8) -> u64 {
    let unit = 10u64.pow(u32::from(7u8.saturating_sub(scale.min(7))));
    (ticks + unit / 2) / unit * unit
}

/// The parts of a parsed date/time literal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ParsedDateTime {
    /// Day number, if the text had a date.
    pub(crate) days: Option<i32>,
    /// Ticks since midnight, if the text had a time.
    pub(crate) ticks: Option<u64>,
    /// Offset from UTC in minutes, if the text had one.
    pub(crate) offset: Option<i16>,
}

/// Parses the date/time string forms SQL Server accepts in the ISO and
/// `us_english` (mdy) styles: `2024-01-02`, `20240102`, `01/02/2024`,
/// `2024-01-02 03:04:05.1234567`, `2024-01-02T03:04:05Z`, `... +02:00`, `03:04`.
pub(crate) fn parse_datetime(text: &str) -> Option<ParsedDateTime> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let mut out = ParsedDateTime::default();
    let mut rest = s;
    // Date part.
    if let Some((days, after)) = parse_date_prefix(rest) {
        out.days = Some(days);
        rest = after;
        if let Some(stripped) = rest.strip_prefix('T') {
            rest = stripped;
        } else {
            rest = rest.trim_start();
        }
    }
    // Time part.
    if !rest.is_empty() && rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (ticks, after) = parse_time_prefix(rest)?;
        out.ticks = Some(ticks);
        rest = after.trim_start();
    }
    // Offset part.
    if !rest.is_empty() {
        if rest == "Z" || rest == "z" {
            out.offset = Some(0);
        } else {
            let (sign, digits) = match rest.as_bytes().first() {
                Some(b'+') => (1i16, &rest[1..]),
                Some(b'-') => (-1i16, &rest[1..]),
                _ => return None,
            };
            let (h, m) = digits.trim().split_once(':')?;
            let h: i16 = parse_digits(h, 1, 2)? as i16;
            let m: i16 = parse_digits(m, 2, 2)? as i16;
            if h > 14 || m > 59 || (h == 14 && m > 0) {
                return None;
            }
            out.offset = Some(sign * (h * 60 + m));
        }
    }
    if out.days.is_none() && out.ticks.is_none() {
        return None;
    }
    Some(out)
}

fn parse_digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn take_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

fn parse_date_prefix(s: &str) -> Option<(i32, &str)> {
    let (first, after_first) = take_digits(s);
    match (first.len(), after_first.as_bytes().first()) {
        (4, Some(sep @ (b'-' | b'/' | b'.'))) => {
            let (month, rest) = take_digits(&after_first[1..]);
            let rest = rest.strip_prefix(*sep as char)?;
            let (day, rest) = take_digits(rest);
            let days = days_from_civil(
                first.parse().ok()?,
                parse_digits(month, 1, 2)?,
                parse_digits(day, 1, 2)?,
            )?;
            Some((days, rest))
        }
        (8, next) if next.is_none_or(|b| *b == b' ' || *b == b'T') => {
            let days = days_from_civil(
                first[0..4].parse().ok()?,
                first[4..6].parse().ok()?,
                first[6..8].parse().ok()?,
            )?;
            Some((days, after_first))
        }
        (1 | 2, Some(sep @ (b'/' | b'-' | b'.'))) => {
            let (day, rest) = take_digits(&after_first[1..]);
            let rest = rest.strip_prefix(*sep as char)?;
            let (year, rest) = take_digits(rest);
            if year.len() != 4 {
                return None;
            }
            let days = days_from_civil(
                year.parse().ok()?,
                parse_digits(first, 1, 2)?,
                parse_digits(day, 1, 2)?,
            )?;
            Some((days, rest))
        }
        _ => None,
    }
}

fn parse_time_prefix(s: &str) -> Option<(u64, &str)> {
    let (h, rest) = take_digits(s);
    let rest = rest.strip_prefix(':')?;
    let (m, mut rest) = take_digits(rest);
    let mut hour = u64::from(parse_digits(h, 1, 2)?);
    let minute = u64::from(parse_digits(m, 1, 2)?);
    let mut second = 0u64;
    let mut frac_ticks = 0u64;
    if let Some(after) = rest.strip_prefix(':') {
        let (sec, after) = take_digits(after);
        second = u64::from(parse_digits(sec, 1, 2)?);
        rest = after;
        if let Some(after) = rest.strip_prefix('.') {
            let (frac, after) = take_digits(after);
            if frac.is_empty() || frac.len() > 7 {
                return None;
            }
            let padded = format!("{frac:0<7}");
            frac_ticks = padded.parse().ok()?;
            rest = after;
        }
    }
    let trimmed = rest.trim_start();
    let upper = trimmed.get(..2).map(str::to_ascii_uppercase);
    if let Some(ampm) = upper.as_deref().filter(|u| *u == "AM" || *u == "PM") {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour %= 12;
        if ampm == "PM" {
            hour += 12;
        }
        rest = &trimmed[2..];
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let ticks = ((hour * 60 + minute) * 60 + second) * TICKS_PER_SECOND + frac_ticks;
    Some((ticks, rest))
}

/// `YYYY-MM-DD`.
pub(crate) fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `hh:mm:ss[.fffffff]` with `scale` fractional digits.
pub(crate) fn format_time(ticks: u64, scale: u8) -> String {
    let secs = ticks / TICKS_PER_SECOND;
    let frac = ticks % TICKS_PER_SECOND;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = format!("{h:02}:{m:02}:{s:02}");
    if scale > 0 {
        let digits = format!("{frac:07}");
        out.push('.');
        out.push_str(&digits[..usize::from(scale.min(7))]);
    }
    out
}

/// `+hh:mm` / `-hh:mm`.
pub(crate) fn format_offset(offset: i16) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// Splits a possibly out-of-range (days, signed ticks) pair back into a
/// normalised day and time of day.
pub(crate) fn normalise(days: i64, ticks: i64) -> (i64, u64) {
    let per_day = TICKS_PER_DAY as i64;
    let day_carry = ticks.div_euclid(per_day);
    (days + day_carry, ticks.rem_euclid(per_day) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1, 1, 1), Some(0));
        assert_eq!(days_from_civil(1900, 1, 1), Some(DAYS_TO_1900));
        assert_eq!(days_from_civil(9999, 12, 31), Some(MAX_DAYS));
        assert_eq!(days_from_civil(2023, 2, 29), None);
        for days in [0, 59, 60, 365, 693_595, 738_000, MAX_DAYS] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
    }

    #[test]
    fn parses_iso_forms() {
        let p = parse_datetime("2024-01-01 10:00:00.1234567").unwrap();
        assert_eq!(p.days, days_from_civil(2024, 1, 1));
        assert_eq!(p.ticks, Some(10 * 3600 * TICKS_PER_SECOND + 1_234_567));
        let p = parse_datetime("2024-01-02 03:04:05.1234567 +02:00").unwrap();
        assert_eq!(p.offset, Some(120));
        let p = parse_datetime("2024-01-02T03:04:05-05:30").unwrap();
        assert_eq!(p.offset, Some(-330));
        assert!(parse_datetime("2024-13-01").is_none());
        assert!(parse_datetime("hello").is_none());
        assert_eq!(
            parse_datetime("20240102").unwrap().days,
            days_from_civil(2024, 1, 2)
        );
        assert_eq!(
            parse_datetime("01/02/2024").unwrap().days,
            days_from_civil(2024, 1, 2)
        );
        assert_eq!(
            parse_datetime("3:04PM").unwrap().ticks,
            Some((15 * 60 + 4) * 60 * TICKS_PER_SECOND)
        );
    }

    #[test]
    fn formats_and_rounds() {
        assert_eq!(format_time(1_234_567, 7), "00:00:00.1234567");
        assert_eq!(format_time(1_234_567, 3), "00:00:00.123");
        assert_eq!(round_ticks(1_234_567, 3), 1_230_000);
        assert_eq!(round_ticks(1_235_000, 3), 1_240_000);
        assert_eq!(format_offset(-330), "-05:30");
    }
}
