//! Sequence sets (RFC 3501 §9 `sequence-set`, RFC 9051): `1:3,6:*`.
//!
//! Kept as ranges: `1:4294967295` is two numbers, never four billion.
//! Iteration is lazy.

use std::fmt;
use std::str::FromStr;

/// One end of a range: a number or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqBound {
    /// A sequence number or UID (non-zero).
    Num(u32),
    /// `*`.
    Star,
}

impl SeqBound {
    fn resolve(self, star: u32) -> u32 {
        match self {
            SeqBound::Num(n) => n,
            SeqBound::Star => star,
        }
    }
}

impl fmt::Display for SeqBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqBound::Num(n) => write!(f, "{n}"),
            SeqBound::Star => f.write_str("*"),
        }
    }
}

/// A range `a:b` (or a single number when both ends are equal), as written;
/// `6:2` means the same as `2:6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub start: SeqBound,
    /// Second end as written (equal to `start` for a single number).
    pub end: SeqBound,
}

impl SeqRange {
    /// The range's bounds, lowest first, with `*` standing for `star`.
    pub fn bounds(&self, star: u32) -> (u32, u32) {
        let a = self.start.resolve(star);
        let b = self.end.resolve(star);
        (a.min(b), a.max(b))
    }
}

/// A sequence set: ranges in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SequenceSet {
    ranges: Vec<SeqRange>,
}

/// Why a sequence set could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqSetError(pub String);

impl fmt::Display for SeqSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid sequence set: {}", self.0)
    }
}

impl std::error::Error for SeqSetError {}

fn bound(s: &[u8]) -> Result<SeqBound, SeqSetError> {
    if s == b"*" {
        return Ok(SeqBound::Star);
    }
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return Err(SeqSetError(String::from_utf8_lossy(s).into_owned()));
    }
    let v: u64 = s.iter().fold(0, |a, &d| a * 10 + u64::from(d - b'0'));
    match u32::try_from(v) {
        Ok(n) if n > 0 => Ok(SeqBound::Num(n)),
        _ => Err(SeqSetError(String::from_utf8_lossy(s).into_owned())),
    }
}

impl SequenceSet {
    /// Parses `1:3,6:*` (also the RFC 5182 `$` is refused: it is not a set).
    pub fn parse(s: &[u8]) -> Result<SequenceSet, SeqSetError> {
        if s.is_empty() {
            return Err(SeqSetError("empty".into()));
        }
        let mut ranges = Vec::new();
        for part in s.split(|&b| b == b',') {
            let mut ends = part.splitn(2, |&b| b == b':');
            let start = bound(ends.next().unwrap_or_default())?;
            let end = match ends.next() {
                Some(e) => bound(e)?,
                None => start,
            };
            ranges.push(SeqRange { start, end });
        }
        Ok(SequenceSet { ranges })
    }

    /// A set of one range.
    pub fn range(start: u32, end: u32) -> SequenceSet {
        SequenceSet {
            ranges: vec![SeqRange {
                start: SeqBound::Num(start),
                end: SeqBound::Num(end),
            }],
        }
    }

    /// A set of single numbers, compressed into ranges where consecutive.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> SequenceSet {
        let mut ranges: Vec<SeqRange> = Vec::new();
        for n in numbers {
            if let Some(SeqRange {
                end: SeqBound::Num(e),
                ..
            }) = ranges.last_mut()
            {
                if e.checked_add(1) == Some(n) {
                    *e = n;
                    continue;
                }
            }
            ranges.push(SeqRange {
                start: SeqBound::Num(n),
                end: SeqBound::Num(n),
            });
        }
        SequenceSet { ranges }
    }

    /// The ranges as written.
    pub fn ranges(&self) -> &[SeqRange] {
        &self.ranges
    }

    /// True for a set with no range.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True if `n` is in the set (`*` standing for `star`).
    pub fn contains(&self, n: u32, star: u32) -> bool {
        self.ranges.iter().any(|r| {
            let (a, b) = r.bounds(star);
            (a..=b).contains(&n)
        })
    }

    /// How many numbers the set names (counting repeats), `*` standing for
    /// `star`; computed without expanding.
    pub fn count(&self, star: u32) -> u64 {
        self.ranges
            .iter()
            .map(|r| {
                let (a, b) = r.bounds(star);
                u64::from(b - a) + 1
            })
            .sum()
    }

    /// Iterates the numbers lazily, range by range in the order written,
    /// each range ascending; `*` stands for `star`.
    pub fn iter(&self, star: u32) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(move |r| {
            let (a, b) = r.bounds(star);
            a..=b
        })
    }

    /// Iterates a set without `*` (a `*` counts as `u32::MAX`).
    pub fn iter_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.iter(u32::MAX)
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start == r.end {
                write!(f, "{}", r.start)?;
            } else {
                write!(f, "{}:{}", r.start, r.end)?;
            }
        }
        Ok(())
    }
}

impl FromStr for SequenceSet {
    type Err = SeqSetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SequenceSet::parse(s.as_bytes())
    }
}

/// A PARTIAL range (RFC 9394): which results of a SEARCH or FETCH to
/// return, counted from the first result (`1:100`) or, with `from_end`,
/// from the last one (`-1:-100` is the last hundred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialRange {
    /// Counted from the end (negative on the wire).
    pub from_end: bool,
    /// The lower position (1 is the first, or with `from_end` the last,
    /// result).
    pub low: u32,
    /// The higher position, at least `low`.
    pub high: u32,
}

impl PartialRange {
    /// Positions `low..=high` counted from the first result (either order
    /// accepted; zero refused).
    pub fn first(low: u32, high: u32) -> Result<PartialRange, SeqSetError> {
        Self::make(false, low, high)
    }

    /// Positions `low..=high` counted back from the last result.
    pub fn last(low: u32, high: u32) -> Result<PartialRange, SeqSetError> {
        Self::make(true, low, high)
    }

    /// Page `index` (0-based) of `size` results, from the start or, with
    /// `from_end`, from the end. `None` when `size` is 0 or the page lies
    /// beyond the 32-bit positions IMAP can name.
    pub fn page(index: u32, size: u32, from_end: bool) -> Option<PartialRange> {
        let low = u64::from(index) * u64::from(size) + 1;
        let high = low + u64::from(size) - 1;
        if size == 0 || high > u64::from(u32::MAX) {
            return None;
        }
        Some(PartialRange {
            from_end,
            low: low as u32,
            high: high as u32,
        })
    }

    fn make(from_end: bool, a: u32, b: u32) -> Result<PartialRange, SeqSetError> {
        if a == 0 || b == 0 {
            return Err(SeqSetError("a PARTIAL position starts at 1".into()));
        }
        Ok(PartialRange {
            from_end,
            low: a.min(b),
            high: a.max(b),
        })
    }

    /// Parses `1:100` or `-1:-100`.
    pub fn parse(s: &[u8]) -> Result<PartialRange, SeqSetError> {
        let bad = || SeqSetError(String::from_utf8_lossy(s).into_owned());
        let mut ends = s.splitn(2, |&b| b == b':');
        let (a, b) = (ends.next().ok_or_else(bad)?, ends.next().ok_or_else(bad)?);
        let from_end = a.first() == Some(&b'-');
        if from_end != (b.first() == Some(&b'-')) {
            return Err(bad());
        }
        let skip = usize::from(from_end);
        let number = |v: &[u8]| match bound(&v[skip..]) {
            Ok(SeqBound::Num(n)) => Ok(n),
            _ => Err(bad()),
        };
        Self::make(from_end, number(a)?, number(b)?)
    }

    /// How many positions the range covers.
    pub fn len(&self) -> u32 {
        self.high - self.low + 1
    }

    /// Always false: a range covers at least one position.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for PartialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from_end {
            write!(f, "-{}:-{}", self.low, self.high)
        } else {
            write!(f, "{}:{}", self.low, self.high)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_print_iterate() {
        let s: SequenceSet = "1:3,6:*,9".parse().unwrap();
        assert_eq!(s.to_string(), "1:3,6:*,9");
        assert_eq!(s.iter(8).collect::<Vec<_>>(), [1, 2, 3, 6, 7, 8, 9]);
        assert!(s.contains(7, 8));
        assert!(!s.contains(4, 8));
        let rev: SequenceSet = "5:2".parse().unwrap();
        assert_eq!(rev.iter_numbers().collect::<Vec<_>>(), [2, 3, 4, 5]);
    }

    #[test]
    fn huge_ranges_stay_small() {
        let s: SequenceSet = "1:4294967295".parse().unwrap();
        assert_eq!(s.count(0), 4_294_967_295);
        assert_eq!(s.iter_numbers().take(3).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            std::mem::size_of_val(s.ranges()),
            std::mem::size_of::<SeqRange>()
        );
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "0",
            "1:",
            ":2",
            "a",
            "1,,2",
            "4294967296",
            "1:2:3x",
            "$",
        ] {
            assert!(SequenceSet::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_numbers_compresses() {
        assert_eq!(
            SequenceSet::from_numbers([1, 2, 3, 5, 7, 8]).to_string(),
            "1:3,5,7:8"
        );
    }

    #[test]
    fn partial_ranges() {
        let r = PartialRange::parse(b"-1:-100").unwrap();
        assert_eq!((r.from_end, r.low, r.high, r.len()), (true, 1, 100, 100));
        assert_eq!(r.to_string(), "-1:-100");
        assert_eq!(
            PartialRange::parse(b"200:101").unwrap().to_string(),
            "101:200"
        );
        for bad in [
            &b"0:5"[..],
            b"1:-5",
            b"-1:5",
            b"1",
            b"a:b",
            b"1:99999999999",
            b"",
        ] {
            assert!(PartialRange::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            PartialRange::page(2, 50, false).unwrap().to_string(),
            "101:150"
        );
        assert_eq!(
            PartialRange::page(0, 10, true).unwrap().to_string(),
            "-1:-10"
        );
        assert!(PartialRange::page(0, 0, false).is_none());
        assert!(PartialRange::page(u32::MAX, 2, false).is_none());
        assert!(PartialRange::first(0, 3).is_err());
    }
}
