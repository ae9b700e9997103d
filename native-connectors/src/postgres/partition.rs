//! Range partitions of a read: the key's MIN and MAX are read as integers on an axis
//! (the value itself, a numeric's unscaled value, days, or microseconds since 1970), cut
//! into equal ranges by the runtime, and each cut goes back into SQL as a constant of the
//! key's own type, so the range predicates stay index-friendly and exact.

use hygge_runtime::database::partition::{KeyRange, split_range};

use super::types::PgType;

/// What a partition key is, as far as splitting its range goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// smallint, integer, bigint.
    Integer,
    /// numeric at this scale: the unscaled value.
    Numeric(i8),
    /// date: days since 1970-01-01.
    Date,
    /// timestamp: microseconds since 1970-01-01.
    Timestamp,
    /// timestamptz: microseconds since 1970-01-01 UTC.
    TimestampTz,
}

impl KeyKind {
    /// The kind of a key of `ty`, or `None` when its range cannot be split.
    pub fn of(ty: &PgType) -> Option<KeyKind> {
        match ty {
            PgType::Int2 | PgType::Int4 | PgType::Int8 => Some(KeyKind::Integer),
            PgType::Numeric(Some((_, scale))) => Some(KeyKind::Numeric(*scale)),
            PgType::Date => Some(KeyKind::Date),
            PgType::Timestamp => Some(KeyKind::Timestamp),
            PgType::TimestampTz => Some(KeyKind::TimestampTz),
            _ => None,
        }
    }

    /// The key (`quoted`) on the axis, as SQL.
    pub fn axis(self, quoted: &str) -> String {
        match self {
            KeyKind::Integer => quoted.to_string(),
            KeyKind::Numeric(scale) => {
                format!("trunc({quoted} * power(10::numeric, {scale}))")
            }
            KeyKind::Date => format!("({quoted} - DATE '1970-01-01')"),
            KeyKind::Timestamp | KeyKind::TimestampTz => {
                format!("trunc(extract(epoch FROM {quoted}) * 1000000)")
            }
        }
    }

    /// A place on the axis as a constant of the key's type.
    pub fn constant(self, axis: i128) -> String {
        match self {
            KeyKind::Integer => axis.to_string(),
            KeyKind::Numeric(scale) => format!("({axis} / power(10::numeric, {scale}))"),
            KeyKind::Date => format!("(DATE '1970-01-01' + {axis})"),
            KeyKind::Timestamp => {
                format!("(TIMESTAMP '1970-01-01' + {axis} * INTERVAL '1 microsecond')")
            }
            KeyKind::TimestampTz => {
                format!(
                    "(TIMESTAMPTZ '1970-01-01 00:00:00+00' + {axis} * INTERVAL '1 microsecond')"
                )
            }
        }
    }

    /// The predicates of `partitions` ranges between axis bounds `lo` and `hi`: the first
    /// takes the NULL keys, the last is open above.
    pub fn predicates(
        self,
        quoted: &str,
        lo: i128,
        hi: i128,
        partitions: usize,
    ) -> Vec<Option<String>> {
        split_range(lo, hi, partitions)
            .into_iter()
            .map(|range: KeyRange<i128>| {
                let mut conditions = Vec::new();
                if let Some(from) = range.from {
                    conditions.push(format!("{quoted} >= {}", self.constant(from)));
                }
                if let Some(to) = range.to {
                    conditions.push(format!("{quoted} < {}", self.constant(to)));
                }
                match (conditions.is_empty(), range.from.is_none()) {
                    (true, _) => None,
                    (false, true) => Some(format!(
                        "({quoted} IS NULL OR {})",
                        conditions.join(" AND ")
                    )),
                    (false, false) => Some(conditions.join(" AND ")),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_constants_of_the_key_type_and_the_first_takes_nulls() {
        let p = KeyKind::Date.predicates("\"d\"", 0, 9, 2);
        assert_eq!(
            p,
            vec![
                Some("(\"d\" IS NULL OR \"d\" < (DATE '1970-01-01' + 5))".into()),
                Some("\"d\" >= (DATE '1970-01-01' + 5)".into()),
            ]
        );
        assert_eq!(KeyKind::Integer.predicates("\"k\"", 3, 3, 4), vec![None]);
        assert_eq!(KeyKind::of(&PgType::Text(None)), None);
    }
}
