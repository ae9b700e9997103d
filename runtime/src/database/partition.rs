//! Range partitions of a database read, shared by the database homes: a key column's MIN
//! and MAX, placed on an integer axis, are cut into equal ranges. The first range is open
//! below (and the home gives it the NULL keys), the last open above, so the ranges cover
//! every row exactly once even when a row's key lies outside the MIN and MAX read first.

/// One range of a partitioned read: `from <= key < to`; `None` is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange<T> {
    /// The lower bound (inclusive); `None` for the first range.
    pub from: Option<T>,
    /// The upper bound (exclusive); `None` for the last range.
    pub to: Option<T>,
}

impl<T> KeyRange<T> {
    /// The same range with its bounds mapped (to a database's own values).
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> KeyRange<U> {
        KeyRange {
            from: self.from.map(&mut f),
            to: self.to.map(f),
        }
    }
}

/// Cuts `[lo, hi]` into at most `partitions` ranges of equal width on the axis.
pub fn split_range(lo: i128, hi: i128, partitions: usize) -> Vec<KeyRange<i128>> {
    let n = partitions.max(1) as i128;
    let step = ((hi.saturating_sub(lo).saturating_add(1) + n - 1) / n).max(1);
    let mut cuts = Vec::new();
    let mut cut = lo.saturating_add(step);
    while cut <= hi {
        cuts.push(cut);
        cut = cut.saturating_add(step);
        if cut == i128::MAX {
            break;
        }
    }
    let froms = std::iter::once(None).chain(cuts.iter().copied().map(Some));
    let tos = cuts.iter().copied().map(Some).chain(std::iter::once(None));
    froms
        .zip(tos)
        .map(|(from, to)| KeyRange { from, to })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_once_with_open_ends() {
        let pairs =
            |r: Vec<KeyRange<i128>>| r.into_iter().map(|r| (r.from, r.to)).collect::<Vec<_>>();
        assert_eq!(
            pairs(split_range(-5, 5, 3)),
            vec![(None, Some(-1)), (Some(-1), Some(3)), (Some(3), None)]
        );
        // More partitions than values: one range a value.
        assert_eq!(
            pairs(split_range(1, 2, 8)),
            vec![(None, Some(2)), (Some(2), None)]
        );
        assert_eq!(pairs(split_range(1, 9, 1)), vec![(None, None)]);
    }
}
