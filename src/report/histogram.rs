//! RTT distributions in constant memory: counts in fixed buckets, exact to
//! 0.01 ms below 10 ms, 0.1 ms below 100 ms, 1 ms below 1 s and 10 ms above,
//! so a year of checks takes no more room than a day.

use super::model::Percentiles;

/// Bucket widths in hundredths of a millisecond, and where each range ends.
const RANGES: [(u64, u64); 4] = [(1, 1_000), (10, 10_000), (100, 100_000), (1_000, 1_000_000)];
const BUCKETS: usize = 1_000 + 900 + 900 + 900 + 1;
const _: () = assert!(
    BUCKETS <= u16::MAX as usize,
    "a bucket's number fits in a u16"
);

/// Counts of RTTs by bucket.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u32]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
        }
    }
}

/// Where an RTT is counted: worked out once per value, however many
/// histograms (its day, its part of the day) count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket(u16);

/// The bucket of an RTT of `ms` milliseconds.
pub fn bucket(ms: f64) -> Bucket {
    // Hundredths of a millisecond, to the nearest (the value is never negative here).
    bucket_of((ms.max(0.0) * 100.0 + 0.5) as u64)
}

/// The bucket of `h` hundredths of a millisecond: [`RANGES`] written out,
/// so that each width divides as a constant (a division by a width read
/// from the table is several times dearer, for four RTTs of every check).
fn bucket_of(h: u64) -> Bucket {
    let i = match h {
        0..1_000 => h,
        1_000..10_000 => 1_000 + (h - 1_000) / 10,
        10_000..100_000 => 1_900 + (h - 10_000) / 100,
        100_000..1_000_000 => 2_800 + (h - 100_000) / 1_000,
        _ => BUCKETS as u64 - 1,
    };
    Bucket(i as u16)
}

/// The smallest value of bucket `i`, ms.
fn value(i: usize) -> f64 {
    let mut base = 0;
    let mut from = 0u64;
    for (width, to) in RANGES {
        let n = ((to - from) / width) as usize;
        if i < base + n {
            return (from + (i - base) as u64 * width) as f64 / 100.0;
        }
        base += n;
        from = to;
    }
    from as f64 / 100.0
}

impl Histogram {
    /// Counts one RTT, placed in its bucket.
    pub fn count(&mut self, b: Bucket) {
        self.counts[usize::from(b.0)] += 1;
        self.total += 1;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The nearest-rank percentile `p` (0–100]: the smallest value with at
    /// least `p` % of the samples at or below it.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Some(value(i));
            }
        }
        None
    }

    /// p50, p95 and p99.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.percentile(50.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket as [`RANGES`] says, for every value up to past the last.
    #[test]
    fn buckets_are_the_ranges_written_out() {
        let by_table = |h: u64| {
            let (mut base, mut from) = (0, 0);
            for (width, to) in RANGES {
                if h < to {
                    return (base + (h - from) / width) as u16;
                }
                base += (to - from) / width;
                from = to;
            }
            (BUCKETS - 1) as u16
        };
        for h in 0..1_100_000 {
            assert_eq!(bucket_of(h).0, by_table(h), "{h}");
        }
    }

    #[test]
    fn nearest_rank_percentiles_exact_at_the_bucket_resolution() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.count(bucket(f64::from(ms)));
        }
        assert_eq!(h.percentile(50.0), Some(50.0));
        assert_eq!(h.percentile(95.0), Some(95.0));
        assert_eq!(h.percentile(99.0), Some(99.0));
        let mut small = Histogram::default();
        for ms in [0.25, 0.5, 0.75, 12.3, 456.0, 2_345.0] {
            small.count(bucket(ms));
        }
        assert_eq!(small.percentile(50.0), Some(0.75));
        assert_eq!(small.percentile(80.0), Some(456.0));
        assert_eq!(
            small.percentile(100.0),
            Some(2_340.0),
            "10 ms buckets above 1 s"
        );
        assert_eq!(Histogram::default().percentile(50.0), None);
    }
}
