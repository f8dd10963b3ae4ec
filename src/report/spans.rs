//! Sets of time spans, so that outage time is counted once and only where the
//! monitor was watching: an outage's span less the monitoring gaps, less the
//! time an earlier row already covers.

use chrono::{DateTime, FixedOffset};

/// Milliseconds since the Unix epoch.
pub type Ms = i64;

/// The milliseconds of `t`.
pub fn ms(t: DateTime<FixedOffset>) -> Ms {
    t.timestamp_millis()
}

/// Disjoint half-open spans `[from, to)`, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spans(Vec<(Ms, Ms)>);

impl Spans {
    /// The one span `[from, to)`, or nothing when it is empty.
    pub fn one(from: Ms, to: Ms) -> Spans {
        Spans(if to > from { vec![(from, to)] } else { vec![] })
    }

    /// Adds `[from, to)`, merging what it touches.
    pub fn add(&mut self, from: Ms, to: Ms) {
        if to <= from {
            return;
        }
        let (mut from, mut to) = (from, to);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for &(a, b) in &self.0 {
            if b < from || a > to {
                kept.push((a, b));
            } else {
                from = from.min(a);
                to = to.max(b);
            }
        }
        kept.push((from, to));
        kept.sort_unstable();
        self.0 = kept;
    }

    /// What is in `self` and not in `other`.
    pub fn minus(&self, other: &Spans) -> Spans {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut at = a;
            for &(c, d) in other.0.iter().filter(|(c, d)| *d > a && *c < b) {
                if c > at {
                    out.push((at, c));
                }
                at = at.max(d);
            }
            if at < b {
                out.push((at, b));
            }
        }
        Spans(out)
    }

    /// What is in both.
    pub fn and(&self, other: &Spans) -> Spans {
        self.minus(&self.minus(other))
    }

    /// Whether nothing is in it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The spans, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (Ms, Ms)> + '_ {
        self.0.iter().copied()
    }

    /// Total length, seconds.
    pub fn seconds(&self) -> f64 {
        // From +0.0: an empty sum of floats is -0.0, which JSON would show.
        self.0
            .iter()
            .fold(0.0, |sum, (a, b)| sum + (b - a) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn add_merges_minus_cuts_and_and_keeps_the_common_part() {
        let mut s = Spans::default();
        s.add(10, 20);
        s.add(30, 40);
        s.add(15, 32);
        assert_eq!(s, Spans(vec![(10, 40)]));
        s.add(50, 60);
        let cut = s.minus(&Spans(vec![(0, 12), (20, 25), (55, 70)]));
        assert_eq!(cut, Spans(vec![(12, 20), (25, 40), (50, 55)]));
        assert_eq!(s.and(&Spans::one(35, 52)), Spans(vec![(35, 40), (50, 52)]));
        assert_eq!(cut.seconds(), 0.028);
        assert!(Spans::one(5, 5).is_empty());
    }

    proptest! {
        /// Whatever is added and taken away, the spans stay disjoint and sorted,
        /// and `a` splits into `a ∧ b` and `a − b` with nothing lost or doubled.
        #[test]
        fn a_splits_into_its_common_part_and_the_rest(
            xs in proptest::collection::vec((0i64..1000, 0i64..100), 0..12),
            ys in proptest::collection::vec((0i64..1000, 0i64..100), 0..12),
        ) {
            let build = |v: &[(i64, i64)]| {
                let mut s = Spans::default();
                for (a, len) in v {
                    s.add(*a, a + len);
                }
                s
            };
            let (a, b) = (build(&xs), build(&ys));
            for s in [&a, &a.minus(&b), &a.and(&b)] {
                prop_assert!(s.0.iter().all(|(x, y)| x < y));
                prop_assert!(s.0.windows(2).all(|w| w[0].1 < w[1].0));
            }
            let total = a.and(&b).seconds() + a.minus(&b).seconds();
            prop_assert!((total - a.seconds()).abs() < 1e-9);
            prop_assert!(a.minus(&b).and(&b).is_empty());
        }
    }
}
