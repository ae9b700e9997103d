//! Range partitions of a read. The partition column's MIN and MAX are placed on an integer
//! axis, the span is cut into N equal ranges, and each cut goes back to a bound parameter of
//! the column's own kind, so the range predicates stay index-friendly and exact.

use hygge_runtime::database::partition::split_range;
use tiberius::ColumnData;
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, Time};

use super::sql::SqlType;

/// 100-nanosecond ticks in a day: the axis unit of DATETIME2 and DATETIMEOFFSET.
const TICKS_PER_DAY: i128 = 86_400 * 10_000_000;
/// DATETIME's 1/300-second fragments in a day.
const FRAGMENTS_PER_DAY: i128 = 86_400 * 300;

/// What a partition column is, as far as splitting its range goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KeyKind {
    /// TINYINT to BIGINT: the values themselves.
    Integer,
    /// DECIMAL / NUMERIC at this scale: the unscaled value.
    Decimal(u8),
    /// DATE: days since 0001-01-01.
    Date,
    /// DATETIME: 1/300 s fragments since 1900-01-01.
    DateTime,
    /// DATETIME2: 100 ns ticks since 0001-01-01.
    DateTime2,
    /// DATETIMEOFFSET: 100 ns ticks since 0001-01-01, in UTC.
    DateTimeOffset,
}

/// One range of a partitioned read: `from <= key < to`. The first range has no `from` and
/// also takes the rows whose key is NULL; the last has no `to`. So the ranges cover every
/// row once even when a row's key lies outside the MIN and MAX read beforehand.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct KeyRange {
    pub from: Option<ColumnData<'static>>,
    pub to: Option<ColumnData<'static>>,
}

impl KeyKind {
    /// The kind of a column of `ty`, or `None` when its range cannot be split.
    pub fn of(ty: SqlType) -> Option<KeyKind> {
        match ty {
            SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
                Some(KeyKind::Integer)
            }
            SqlType::Decimal(_, scale) => Some(KeyKind::Decimal(scale)),
            SqlType::Date => Some(KeyKind::Date),
            SqlType::DateTime => Some(KeyKind::DateTime),
            SqlType::DateTime2(_) => Some(KeyKind::DateTime2),
            SqlType::DateTimeOffset(_) => Some(KeyKind::DateTimeOffset),
            _ => None,
        }
    }

    /// The SELECT list that returns the column's MIN and MAX (`quoted` is its quoted name).
    pub fn bounds_select(self, quoted: &str) -> String {
        match self {
            // One type for every integer width, so the bounds decode the same way.
            KeyKind::Integer => {
                format!("CAST(MIN({quoted}) AS BIGINT) AS lo, CAST(MAX({quoted}) AS BIGINT) AS hi")
            }
            _ => format!("MIN({quoted}) AS lo, MAX({quoted}) AS hi"),
        }
    }

    /// Cuts `[lo, hi]` into at most `partitions` equal ranges; `Ok(None)` when a bound is
    /// NULL (an empty table, or only NULL keys).
    ///
    /// # Errors
    /// When a bound is not a value of this kind.
    pub fn split(
        self,
        lo: &ColumnData<'_>,
        hi: &ColumnData<'_>,
        partitions: usize,
    ) -> Result<Option<Vec<KeyRange>>, String> {
        let (Some(lo), Some(hi)) = (self.to_axis(lo)?, self.to_axis(hi)?) else {
            return Ok(None);
        };
        Ok(Some(
            split_range(lo, hi, partitions)
                .into_iter()
                .map(|range| {
                    let range = range.map(|axis| self.at_axis(axis));
                    KeyRange {
                        from: range.from,
                        to: range.to,
                    }
                })
                .collect(),
        ))
    }

    /// A value's place on the axis; `None` for NULL.
    fn to_axis(self, value: &ColumnData<'_>) -> Result<Option<i128>, String> {
        let axis = match (self, value) {
            (KeyKind::Integer, ColumnData::I64(v)) => v.map(i128::from),
            (KeyKind::Integer, ColumnData::I32(v)) => v.map(i128::from),
            (KeyKind::Integer, ColumnData::I16(v)) => v.map(i128::from),
            (KeyKind::Integer, ColumnData::U8(v)) => v.map(i128::from),
            (KeyKind::Decimal(scale), ColumnData::Numeric(Some(n))) => {
                // MIN/MAX keep the column's scale; rescale in case a server does not.
                let shift = i32::from(scale) - i32::from(n.scale());
                let factor = 10i128
                    .checked_pow(shift.unsigned_abs())
                    .ok_or("a decimal bound out of range")?;
                Some(if shift >= 0 {
                    n.value()
                        .checked_mul(factor)
                        .ok_or("a decimal bound out of range")?
                } else {
                    n.value() / factor
                })
            }
            (KeyKind::Decimal(_), ColumnData::Numeric(None)) => None,
            (KeyKind::Date, ColumnData::Date(v)) => v.map(|d| i128::from(d.days())),
            (KeyKind::DateTime, ColumnData::DateTime(v)) => v.map(|d| {
                i128::from(d.days()) * FRAGMENTS_PER_DAY + i128::from(d.seconds_fragments())
            }),
            (KeyKind::DateTime2, ColumnData::DateTime2(v)) => v.map(ticks),
            (KeyKind::DateTimeOffset, ColumnData::DateTimeOffset(v)) => {
                v.map(|d| ticks(d.datetime2()))
            }
            (kind, other) => {
                return Err(format!(
                    "the bounds of a {kind:?} partition column came back as {other:?}"
                ));
            }
        };
        Ok(axis)
    }

    /// The bound parameter for a place on the axis.
    fn at_axis(self, axis: i128) -> ColumnData<'static> {
        match self {
            // Cuts lie between MIN and MAX, so they fit the column's own type.
            KeyKind::Integer => ColumnData::I64(Some(axis as i64)),
            KeyKind::Decimal(scale) => {
                ColumnData::Numeric(Some(Numeric::new_with_scale(axis, scale)))
            }
            KeyKind::Date => ColumnData::Date(Some(Date::new(axis as u32))),
            KeyKind::DateTime => ColumnData::DateTime(Some(DateTime::new(
                axis.div_euclid(FRAGMENTS_PER_DAY) as i32,
                axis.rem_euclid(FRAGMENTS_PER_DAY) as u32,
            ))),
            KeyKind::DateTime2 => ColumnData::DateTime2(Some(datetime2(axis))),
            KeyKind::DateTimeOffset => {
                ColumnData::DateTimeOffset(Some(DateTimeOffset::new(datetime2(axis), 0)))
            }
        }
    }
}

/// 100 ns ticks since 0001-01-01 of a DATETIME2 of any scale.
fn ticks(value: DateTime2) -> i128 {
    let time = value.time();
    let per_increment = 10i128.pow(7 - u32::from(time.scale().min(7)));
    i128::from(value.date().days()) * TICKS_PER_DAY + i128::from(time.increments()) * per_increment
}

/// The DATETIME2(7) `ticks` after 0001-01-01.
fn datetime2(ticks: i128) -> DateTime2 {
    DateTime2::new(
        Date::new((ticks / TICKS_PER_DAY) as u32),
        Time::new((ticks % TICKS_PER_DAY) as u64, 7),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(kind: KeyKind, ranges: &[KeyRange]) -> Vec<(Option<i128>, Option<i128>)> {
        let at =
            |v: &Option<ColumnData<'static>>| v.as_ref().map(|v| kind.to_axis(v).unwrap().unwrap());
        ranges.iter().map(|r| (at(&r.from), at(&r.to))).collect()
    }

    #[test]
    fn ranges_cover_everything_once_with_open_ends() {
        let ranges = KeyKind::Integer
            .split(&ColumnData::I32(Some(-5)), &ColumnData::I32(Some(5)), 3)
            .unwrap()
            .unwrap();
        assert_eq!(
            axis(KeyKind::Integer, &ranges),
            vec![(None, Some(-1)), (Some(-1), Some(3)), (Some(3), None)]
        );
        // More partitions than values: one range a value.
        let ranges = KeyKind::Integer
            .split(&ColumnData::I64(Some(1)), &ColumnData::I64(Some(2)), 8)
            .unwrap()
            .unwrap();
        assert_eq!(
            axis(KeyKind::Integer, &ranges),
            vec![(None, Some(2)), (Some(2), None)]
        );
        // One partition: one range, no bounds.
        let ranges = KeyKind::Integer
            .split(&ColumnData::I64(Some(1)), &ColumnData::I64(Some(9)), 1)
            .unwrap()
            .unwrap();
        assert_eq!(axis(KeyKind::Integer, &ranges), vec![(None, None)]);
    }

    #[test]
    fn a_null_bound_means_no_split_and_a_bound_of_another_kind_is_an_error() {
        let none = KeyKind::Date.split(&ColumnData::Date(None), &ColumnData::Date(None), 4);
        assert_eq!(none, Ok(None));
        let wrong = KeyKind::Date.split(&ColumnData::I32(Some(1)), &ColumnData::I32(Some(2)), 4);
        assert!(wrong.unwrap_err().contains("Date partition column"));
    }

    #[test]
    fn datetime2_cuts_are_exact_ticks_at_any_column_scale() {
        let day = Date::new(738_000);
        let lo = DateTime2::new(day, Time::new(0, 3));
        let hi = DateTime2::new(Date::new(738_001), Time::new(1, 3)); // + 1 ms
        let ranges = KeyKind::DateTime2
            .split(
                &ColumnData::DateTime2(Some(lo)),
                &ColumnData::DateTime2(Some(hi)),
                2,
            )
            .unwrap()
            .unwrap();
        let start = 738_000 * TICKS_PER_DAY;
        let end = 738_001 * TICKS_PER_DAY + 10_000;
        let cut = start + (end - start + 2) / 2;
        assert_eq!(
            axis(KeyKind::DateTime2, &ranges),
            vec![(None, Some(cut)), (Some(cut), None)]
        );
    }

    #[test]
    fn decimals_split_on_their_unscaled_values() {
        let lo = Numeric::new_with_scale(-1_000, 2); // -10.00
        let hi = Numeric::new_with_scale(1_000, 2); // 10.00
        let ranges = KeyKind::Decimal(2)
            .split(
                &ColumnData::Numeric(Some(lo)),
                &ColumnData::Numeric(Some(hi)),
                2,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            ranges[1].from.clone().unwrap(),
            ColumnData::Numeric(Some(Numeric::new_with_scale(1, 2)))
        );
    }

    #[test]
    fn datetime_and_datetimeoffset_round_trip_through_the_axis() {
        let dt = ColumnData::DateTime(Some(DateTime::new(45_000, 12_345)));
        let k = KeyKind::DateTime;
        assert_eq!(k.at_axis(k.to_axis(&dt).unwrap().unwrap()), dt);
        let utc = DateTime2::new(Date::new(738_000), Time::new(123_456_789, 7));
        let k = KeyKind::DateTimeOffset;
        let value = ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 120)));
        assert_eq!(
            k.at_axis(k.to_axis(&value).unwrap().unwrap()),
            ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 0)))
        );
        assert_eq!(KeyKind::of(SqlType::NVarChar(Some(10))), None);
    }
}
