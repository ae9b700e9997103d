//! A Parquet file's Delta Lake statistics (`numRecords`, `nullCount`, `minValues`,
//! `maxValues`), taken from the row group statistics the writer just wrote, so that Delta
//! readers can skip files. A bound is only given where it is exact: truncated string
//! bounds and decimals (whose JSON numbers would round) are left out, which readers treat
//! as "unknown", never as "no match".

use std::collections::BTreeMap;

use arrow_schema::{DataType, Schema, TimeUnit};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use serde_json::{Value, json};

/// A running bound of one column.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i64),
    Float(f64),
    Text(String),
}

/// The `stats` JSON of a file of `rows` rows with `schema` (the file's columns), written as
/// `groups`.
pub fn delta_stats(schema: &Schema, groups: &[RowGroupMetaData], rows: u64) -> String {
    let mut nulls = BTreeMap::new();
    let mut mins = BTreeMap::new();
    let mut maxes = BTreeMap::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let Some(leaf) = single_leaf(groups, index, field.name()) else {
            continue;
        };
        let mut null_count = Some(0u64);
        let (mut low, mut high): (Option<Bound>, Option<Bound>) = (None, None);
        let mut exact = true;
        for group in groups {
            let stats = group.column(leaf).statistics();
            null_count = match (null_count, stats.and_then(Statistics::null_count_opt)) {
                (Some(total), Some(n)) => Some(total + n),
                _ => None,
            };
            let Some(stats) = stats else {
                exact = false;
                continue;
            };
            match bounds(stats, field.data_type()) {
                Some((min, max)) => {
                    if low.as_ref().is_none_or(|l| min < *l) {
                        low = Some(min);
                    }
                    if high.as_ref().is_none_or(|h| max > *h) {
                        high = Some(max);
                    }
                }
                // A group of only nulls has no bounds; any other gap makes them unknown.
                None if stats.null_count_opt() == Some(group.num_rows() as u64) => {}
                None => exact = false,
            }
        }
        if let Some(n) = null_count {
            nulls.insert(field.name().clone(), json!(n));
        }
        if exact && let (Some(low), Some(high)) = (low, high) {
            mins.insert(field.name().clone(), render(low, field.data_type()));
            maxes.insert(field.name().clone(), render(high, field.data_type()));
        }
    }
    json!({
        "numRecords": rows,
        "minValues": mins,
        "maxValues": maxes,
        "nullCount": nulls,
    })
    .to_string()
}

/// The leaf column of top-level field `index` when it has exactly one (a primitive).
fn single_leaf(groups: &[RowGroupMetaData], index: usize, name: &str) -> Option<usize> {
    let descriptor = groups.first()?.schema_descr();
    let leaves: Vec<usize> = (0..descriptor.num_columns())
        .filter(|&leaf| descriptor.get_column_root_idx(leaf) == index)
        .collect();
    match leaves.as_slice() {
        [leaf] if descriptor.column(*leaf).path().parts() == [name.to_string()] => Some(*leaf),
        _ => None,
    }
}

/// A row group's exact min and max of a column of `data_type`, where hygge can state them.
fn bounds(stats: &Statistics, data_type: &DataType) -> Option<(Bound, Bound)> {
    use DataType as T;
    match (stats, data_type) {
        (
            Statistics::Int32(s),
            T::Int8 | T::Int16 | T::Int32 | T::UInt8 | T::UInt16 | T::Date32,
        ) => Some((
            Bound::Int(i64::from(*s.min_opt()?)),
            Bound::Int(i64::from(*s.max_opt()?)),
        )),
        (Statistics::Int64(s), T::Int64 | T::UInt32 | T::Timestamp(_, _) | T::Date64) => {
            Some((Bound::Int(*s.min_opt()?), Bound::Int(*s.max_opt()?)))
        }
        (Statistics::Float(s), T::Float32) if !s.min_opt()?.is_nan() && !s.max_opt()?.is_nan() => {
            Some((
                Bound::Float(f64::from(*s.min_opt()?)),
                Bound::Float(f64::from(*s.max_opt()?)),
            ))
        }
        (Statistics::Double(s), T::Float64) if !s.min_opt()?.is_nan() && !s.max_opt()?.is_nan() => {
            Some((Bound::Float(*s.min_opt()?), Bound::Float(*s.max_opt()?)))
        }
        (Statistics::ByteArray(s), T::Utf8 | T::LargeUtf8 | T::Utf8View)
            if s.min_is_exact() && s.max_is_exact() =>
        {
            Some((
                Bound::Text(s.min_opt()?.as_utf8().ok()?.to_string()),
                Bound::Text(s.max_opt()?.as_utf8().ok()?.to_string()),
            ))
        }
        _ => None,
    }
}

/// A bound as Delta writes it: numbers as numbers, dates as `YYYY-MM-DD`, timestamps as
/// ISO 8601 (with `Z` when zoned).
fn render(bound: Bound, data_type: &DataType) -> Value {
    match (bound, data_type) {
        (Bound::Int(days), DataType::Date32) => json!(civil(days)),
        (Bound::Int(millis), DataType::Date64) => json!(civil(millis.div_euclid(86_400_000))),
        (Bound::Int(value), DataType::Timestamp(unit, zone)) => {
            let per_second: i64 = match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            };
            let seconds = value.div_euclid(per_second);
            let micros = value.rem_euclid(per_second) * 1_000_000 / per_second;
            let date = civil(seconds.div_euclid(86_400));
            let second_of_day = seconds.rem_euclid(86_400);
            json!(format!(
                "{date}T{:02}:{:02}:{:02}.{micros:06}{}",
                second_of_day / 3600,
                second_of_day / 60 % 60,
                second_of_day % 60,
                if zone.is_some() { "Z" } else { "" }
            ))
        }
        (Bound::Int(n), _) => json!(n),
        (Bound::Float(x), _) => json!(x),
        (Bound::Text(s), _) => json!(s),
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn civil(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_render_as_delta_writes_them() {
        assert_eq!(
            render(Bound::Int(0), &DataType::Date32),
            json!("1970-01-01")
        );
        assert_eq!(
            render(Bound::Int(20_422), &DataType::Date32),
            json!("2025-11-30")
        );
        let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(
            render(Bound::Int(86_400_000_001), &zoned),
            json!("1970-01-02T00:00:00.000001Z")
        );
        let local = DataType::Timestamp(TimeUnit::Millisecond, None);
        assert_eq!(
            render(Bound::Int(-1), &local),
            json!("1969-12-31T23:59:59.999000")
        );
    }
}
