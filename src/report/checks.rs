//! Checks as they stream by, folded into sums per day and per part of the
//! day (the evening peak, the rest): time monitored and DEGRADED, loss, and
//! RTT histograms; silences of more than three intervals become gaps.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration as Span, FixedOffset, NaiveDate, NaiveTime};

use super::histogram::{bucket, Bucket, Histogram};
use super::model::{Gap, Latency, Percentiles};
use super::spans::{ms, Spans};
use crate::sink::ConnectionRow;

/// Sums for one part of time (a day, the peak, the rest).
#[derive(Default, Clone)]
pub struct Sums {
    pub checks: u64,
    pub monitored_s: f64,
    pub degraded_s: f64,
    loss_sum: f64,
    loss_n: u64,
    /// RTT histograms, by [`GATEWAY`], [`ISP`] and [`INTERNET`].
    rtt: [Option<Box<Histogram>>; 3],
    /// Per family (IPv4, IPv6): the time of the checks that had targets of it.
    pub family_s: [f64; 2],
    /// Per family: the median RTTs of its targets.
    family_rtt: [Option<Box<Histogram>>; 2],
}

/// The RTT series of a check, as they stand in [`Sums::rtt`] and [`Check::rtt`].
const GATEWAY: usize = 0;
const ISP: usize = 1;
const INTERNET: usize = 2;

/// What the figures need of one check, its RTTs already in their buckets.
#[derive(Clone, Copy)]
pub struct Check {
    pub at: DateTime<FixedOffset>,
    /// `at` in Unix seconds when it is a whole second, as the writer
    /// writes times: the time between two such is their difference, with
    /// none of chrono's date arithmetic (and no leap second to mind).
    whole_s: Option<i64>,
    /// `at`'s local date and time of day, worked out where the row is read.
    day: NaiveDate,
    time: NaiveTime,
    degraded: bool,
    loss: Option<f64>,
    /// By [`GATEWAY`], [`ISP`] and [`INTERNET`].
    rtt: [Option<Bucket>; 3],
    /// Whether it had targets of each family (IPv4, IPv6).
    families: [bool; 2],
    /// Each family's median RTT.
    family_rtt: [Option<Bucket>; 2],
}

impl Check {
    pub fn of(at: DateTime<FixedOffset>, r: ConnectionRow<&str>) -> Check {
        // Logs written before the family columns had IPv4 targets only.
        let v4 = r.targets_total_v4 > 0 || r.targets_total_v6 == 0;
        // The offset added once for both the date and the time of day.
        let local = at.naive_local();
        Check {
            at,
            whole_s: (at.timestamp_subsec_nanos() == 0).then(|| at.timestamp()),
            day: local.date(),
            time: local.time(),
            degraded: r.status == "DEGRADED",
            loss: r.loss_pct,
            families: [v4, r.targets_total_v6 > 0],
            family_rtt: [
                r.internet_rtt_v4_ms
                    .or(r.internet_rtt_ms.filter(|_| r.targets_total_v6 == 0)),
                r.internet_rtt_v6_ms,
            ]
            .map(|ms| ms.map(bucket)),
            rtt: {
                let mut rtt = [None; 3];
                rtt[GATEWAY] = r.gateway_rtt_ms.map(bucket);
                rtt[ISP] = r.isp_rtt_ms.map(bucket);
                rtt[INTERNET] = r.internet_rtt_ms.map(bucket);
                rtt
            },
        }
    }
}

fn pct(h: &Option<Box<Histogram>>) -> Percentiles {
    h.as_ref().map(|h| h.percentiles()).unwrap_or_default()
}

impl Sums {
    /// Counts a check's figures.
    fn check(&mut self, c: &Check) {
        self.checks += 1;
        if let Some(l) = c.loss {
            self.loss_sum += l;
            self.loss_n += 1;
        }
        // Two plain loops: a chain of the two costs more than the counting.
        for (h, b) in self.rtt.iter_mut().zip(&c.rtt) {
            if let Some(b) = b {
                h.get_or_insert_with(Default::default).count(*b);
            }
        }
        for (h, b) in self.family_rtt.iter_mut().zip(&c.family_rtt) {
            if let Some(b) = b {
                h.get_or_insert_with(Default::default).count(*b);
            }
        }
    }

    /// Credits the time a check stands for, to each family it had targets of.
    fn credit(&mut self, share_s: f64, degraded: bool, families: [bool; 2]) {
        self.monitored_s += share_s;
        if degraded {
            self.degraded_s += share_s;
        }
        for (s, had) in self.family_s.iter_mut().zip(families) {
            if had {
                *s += share_s;
            }
        }
    }

    /// The median RTT percentiles of family `f` (0: IPv4, 1: IPv6).
    pub fn family_latency(&self, f: usize) -> Percentiles {
        pct(&self.family_rtt[f])
    }

    pub fn merge(&mut self, o: &Sums) {
        self.checks += o.checks;
        self.monitored_s += o.monitored_s;
        self.degraded_s += o.degraded_s;
        self.loss_sum += o.loss_sum;
        self.loss_n += o.loss_n;
        for (a, b) in self
            .rtt
            .iter_mut()
            .chain(&mut self.family_rtt)
            .zip(o.rtt.iter().chain(&o.family_rtt))
        {
            if let Some(b) = b {
                a.get_or_insert_with(Default::default).merge(b);
            }
        }
        for (a, b) in self.family_s.iter_mut().zip(o.family_s) {
            *a += b;
        }
    }

    pub fn latency(&self) -> Latency {
        Latency {
            gateway_ms: pct(&self.rtt[GATEWAY]),
            isp_ms: pct(&self.rtt[ISP]),
            internet_ms: pct(&self.rtt[INTERNET]),
            loss_pct: (self.loss_n > 0).then(|| round2(self.loss_sum / self.loss_n as f64)),
        }
    }
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The last check seen: its time, day, part of the day, whether it was
/// DEGRADED, and the families it had targets of.
#[derive(Clone, Copy)]
pub struct Last {
    pub at: DateTime<FixedOffset>,
    whole_s: Option<i64>,
    day: NaiveDate,
    peak: bool,
    degraded: bool,
    families: [bool; 2],
}

/// The state while checks stream by.
pub struct Checks {
    pub interval: Option<f64>,
    /// Checks held until the interval is known (when the config does not say).
    early: Vec<Check>,
    pub last: Option<Last>,
    pub first: Option<DateTime<FixedOffset>>,
    /// The day being read; checks come in time order, so it is put away in
    /// `days` only when the next day starts.
    today: Option<(NaiveDate, Sums)>,
    pub days: BTreeMap<NaiveDate, Sums>,
    pub peak: Sums,
    pub off_peak: Sums,
    pub gaps: Vec<Gap>,
    /// The gaps as spans.
    unmonitored: Spans,
    pub present: u64,
    peak_hours: (NaiveTime, NaiveTime),
    /// The end of the period asked for: the last check stands for no time past it.
    until: Option<DateTime<FixedOffset>>,
}

/// How many checks are looked at to learn the interval when the config does not say.
const LEARN_FROM: usize = 64;

impl Checks {
    /// Nothing seen yet; `interval` is learnt from the first checks if `None`.
    pub fn new(
        interval: Option<f64>,
        peak_hours: (NaiveTime, NaiveTime),
        until: Option<DateTime<FixedOffset>>,
    ) -> Checks {
        Checks {
            interval,
            early: Vec::new(),
            last: None,
            first: None,
            today: None,
            days: BTreeMap::new(),
            peak: Sums::default(),
            off_peak: Sums::default(),
            gaps: Vec::new(),
            unmonitored: Spans::default(),
            present: 0,
            peak_hours,
            until,
        }
    }

    pub fn push(&mut self, c: Check) {
        match self.interval {
            Some(_) => self.take(c),
            None => {
                self.early.push(c);
                if self.early.len() >= LEARN_FROM {
                    self.learn();
                }
            }
        }
    }

    /// The interval as the median spacing of the first checks.
    fn learn(&mut self) {
        let mut deltas: Vec<f64> = self
            .early
            .windows(2)
            .map(|w| (w[1].at - w[0].at).num_milliseconds() as f64 / 1000.0)
            .filter(|d| *d > 0.0)
            .collect();
        deltas.sort_by(f64::total_cmp);
        self.interval = Some(deltas.get(deltas.len() / 2).copied().unwrap_or(10.0));
        for c in std::mem::take(&mut self.early) {
            self.take(c);
        }
    }

    /// A check stands for the time until the next one, one interval at most
    /// before a gap; that share is credited to its own day and part of the day.
    fn take(&mut self, c: Check) {
        let interval = self.interval.unwrap_or(10.0);
        self.present += 1;
        self.first.get_or_insert(c.at);
        if let Some(last) = self.last {
            let d = ms_between((last.at, last.whole_s), (c.at, c.whole_s)) as f64 / 1000.0;
            let share = if d > 3.0 * interval {
                let from = last.at + secs(interval);
                self.gaps.push(Gap {
                    from: stamp(from),
                    to: stamp(c.at),
                    seconds: round2(d - interval),
                });
                self.unmonitored.add(ms(from), ms(c.at));
                interval
            } else {
                d.max(0.0)
            };
            self.credit(last, share);
        }
        let day = c.day;
        let peak = in_window(c.time, self.peak_hours.0, self.peak_hours.1);
        self.day(day).check(&c);
        if peak {
            &mut self.peak
        } else {
            &mut self.off_peak
        }
        .check(&c);
        self.last = Some(Last {
            at: c.at,
            whole_s: c.whole_s,
            day,
            peak,
            degraded: c.degraded,
            families: c.families,
        });
    }

    fn credit(&mut self, last: Last, share: f64) {
        self.day(last.day)
            .credit(share, last.degraded, last.families);
        if last.peak {
            &mut self.peak
        } else {
            &mut self.off_peak
        }
        .credit(share, last.degraded, last.families);
    }

    /// The sums of `day`, putting away those of the day before.
    fn day(&mut self, day: NaiveDate) -> &mut Sums {
        if self.today.as_ref().is_some_and(|(d, _)| *d != day) {
            self.put_away_today();
        }
        &mut self.today.get_or_insert_with(|| (day, Sums::default())).1
    }

    fn put_away_today(&mut self) {
        if let Some((d, s)) = self.today.take() {
            self.days.entry(d).or_default().merge(&s);
        }
    }

    pub fn finish(&mut self) {
        if self.interval.is_none() {
            self.learn();
        }
        if let Some(last) = self.last {
            let share = self.end().map_or(0.0, |end| {
                (end - last.at).num_milliseconds().max(0) as f64 / 1000.0
            });
            self.credit(last, share);
        }
        self.put_away_today();
    }

    /// Where the monitored span ends: one interval after the last check, or
    /// at the end of the period asked for if that comes first.
    pub fn end(&self) -> Option<DateTime<FixedOffset>> {
        let last = self.last?.at + secs(self.interval.unwrap_or(10.0));
        Some(self.until.map_or(last, |u| last.min(u)))
    }

    /// The time the checks stand for: the first check to [`Checks::end`], less the gaps.
    pub fn monitored(&self) -> Spans {
        match (self.first, self.end()) {
            (Some(f), Some(e)) => Spans::one(ms(f), ms(e)).minus(&self.unmonitored),
            _ => Spans::default(),
        }
    }
}

/// The milliseconds from `a` to `b` (each a time and, if it is a whole
/// second, its Unix seconds), as chrono counts them.
fn ms_between(
    a: (DateTime<FixedOffset>, Option<i64>),
    b: (DateTime<FixedOffset>, Option<i64>),
) -> i64 {
    match (a.1, b.1) {
        (Some(a), Some(b)) => (b - a) * 1000,
        _ => (b.0 - a.0).num_milliseconds(),
    }
}

fn in_window(t: NaiveTime, from: NaiveTime, to: NaiveTime) -> bool {
    if from <= to {
        t >= from && t < to
    } else {
        t >= from || t < to
    }
}

pub fn secs(s: f64) -> Span {
    Span::milliseconds((s * 1000.0).round() as i64)
}

pub fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole seconds or not, on either side of midnight, in any offset:
    /// the time between two checks is chrono's.
    #[test]
    fn the_time_between_checks_is_chronos() {
        let mut rng = fastrand::Rng::with_seed(5);
        let at = |rng: &mut fastrand::Rng| {
            let offset = FixedOffset::east_opt(rng.i32(-50_400..50_400)).unwrap();
            let nanos = [0, 0, 1, 999_999, 1_000_000, 500_000_000][rng.usize(..6)];
            let t = DateTime::from_timestamp(rng.i64(1_700_000_000..1_700_200_000), nanos);
            let t = t.unwrap().with_timezone(&offset);
            let whole = (t.timestamp_subsec_nanos() == 0).then(|| t.timestamp());
            (t, whole)
        };
        for _ in 0..100_000 {
            let (a, b) = (at(&mut rng), at(&mut rng));
            assert_eq!(
                ms_between(a, b),
                (b.0 - a.0).num_milliseconds(),
                "{a:?} {b:?}"
            );
        }
    }
}
