//! "Availability today" for `/api/status` and Home Assistant, by the report's
//! rule: seeded at start from the day's logs by `report::build` (its headline
//! figure), then kept current as checks and ended outages arrive.
//!
//! The rule, as the report counts: a check stands for the time until the next
//! one (one interval across a gap of more than three), the last one for one
//! interval; downtime is the time of the outages against the ISP that started
//! today and have ended, from their recorded start and end, maintenance
//! included, simulated ones left out. An outage counts once it has ended.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveTime, Timelike, Utc};

use crate::monitor::{Layer, OutageRecord, Side};

/// What the logs say about today before the daemon's start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seed {
    /// The local day it counts.
    pub day: Option<NaiveDate>,
    /// Monitored seconds, the last check credited one interval.
    pub monitored_s: f64,
    /// Seconds of downtime.
    pub down_s: f64,
    /// The last check (Unix seconds), whose interval credit the next check replaces.
    pub last_check: Option<i64>,
    /// Starts (Unix seconds) of the outages already counted.
    pub outages: HashSet<i64>,
}

/// Today's figure as checks arrive.
#[derive(Debug, Clone)]
pub struct Today {
    interval: f64,
    day: Option<NaiveDate>,
    /// `None` while the logs are being read.
    seed: Option<Seed>,
    /// Checks before this belong to the seed.
    cutoff: i64,
    first_live: Option<i64>,
    last_live: Option<i64>,
    /// Seconds credited between live checks.
    monitored_s: f64,
    /// Outages ended since the start: (start, seconds).
    ended: Vec<(i64, f64)>,
}

/// Whether an outage of `cause` counts against the ISP (the report's headline).
fn against_isp(cause: Layer) -> bool {
    cause.side() == Side::Isp
}

fn local_day(unix: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(unix, 0).map(|t| t.with_timezone(&Local).date_naive())
}

impl Today {
    /// Nothing counted yet; checks from `cutoff` on are counted live.
    pub fn new(interval: Duration, cutoff: DateTime<Utc>) -> Today {
        Today {
            interval: interval.as_secs_f64(),
            day: None,
            seed: None,
            cutoff: cutoff.timestamp(),
            first_live: None,
            last_live: None,
            monitored_s: 0.0,
            ended: Vec::new(),
        }
    }

    /// A new check interval (a reload).
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval.as_secs_f64();
    }

    /// What the logs said; a seed of another day counts nothing.
    pub fn seed(&mut self, seed: Seed) {
        let today = self.day.or_else(|| local_day(self.cutoff));
        self.seed = Some(if seed.day == today {
            seed
        } else {
            Seed::default()
        });
    }

    /// The time a check at `from` stands for when the next one came at `to`.
    fn share(&self, from: i64, to: i64) -> f64 {
        let d = (to - from) as f64;
        if d > 3.0 * self.interval {
            self.interval
        } else {
            d.max(0.0)
        }
    }

    /// A check at `at` (its time as the connection log writes it, whole seconds).
    pub fn check(&mut self, at: DateTime<Utc>) {
        let at = at.timestamp();
        if at < self.cutoff {
            return;
        }
        let day = local_day(at);
        if self.day.is_some_and(|d| Some(d) != day) {
            // A new day: nothing of it was in the logs before now.
            self.seed = Some(Seed::default());
            self.first_live = None;
            self.last_live = None;
            self.monitored_s = 0.0;
            self.ended.clear();
        }
        self.day = day;
        if let Some(last) = self.last_live {
            self.monitored_s += self.share(last, at);
        }
        self.first_live.get_or_insert(at);
        self.last_live = Some(at);
    }

    /// An outage ended.
    pub fn outage_ended(&mut self, o: &OutageRecord) {
        let start = o.start.timestamp();
        if o.simulated || !against_isp(o.cause) || local_day(start) != self.day {
            return;
        }
        let seconds = (o.end.timestamp() - start).max(0) as f64;
        self.ended.push((start, seconds));
    }

    /// Percent, rounded as the report rounds; `None` before the logs were read
    /// or before anything was monitored.
    pub fn pct(&self) -> Option<f64> {
        let seed = self.seed.as_ref()?;
        let mut monitored = seed.monitored_s;
        if let (Some(last), Some(first)) = (seed.last_check, self.first_live) {
            // The report credits the last logged check up to the next one;
            // the seed credited it up to the cutoff at most.
            let seeded = self.interval.min((self.cutoff - last).max(0) as f64);
            monitored += self.share(last, first) - seeded;
        }
        if self.last_live.is_some() {
            monitored += self.monitored_s + self.interval;
        }
        let live_down: f64 = self
            .ended
            .iter()
            .filter(|(start, _)| !seed.outages.contains(start))
            .map(|(_, s)| s)
            .sum();
        let down = seed.down_s + live_down;
        (monitored > 0.0)
            .then(|| ((100.0 * (1.0 - (down / monitored).min(1.0))) * 100.0).round() / 100.0)
    }
}

/// Reads today's logs in `log_dir` up to `cutoff` with the report's own
/// reader and rule. Blocking: run it off the runtime thread.
pub fn seed_from_logs(log_dir: &Path, interval: Duration, cutoff: DateTime<Utc>) -> Seed {
    let cutoff = cutoff.with_timezone(&Local);
    let day = cutoff.date_naive();
    let Some(midnight) = day
        .and_time(NaiveTime::MIN)
        .and_local_timezone(Local)
        .earliest()
    else {
        return Seed::default();
    };
    // Whole seconds, as the logs write times and as `Today` counts them.
    let until = cutoff.with_nanosecond(0).unwrap_or(cutoff);
    let (since, until) = (midnight.fixed_offset(), until.fixed_offset());
    let report = crate::report::build(&crate::report::Options {
        log_dir: log_dir.to_owned(),
        since: Some(since),
        until: Some(until),
        include_simulated: false,
        peak: (NaiveTime::MIN, NaiveTime::MIN),
        interval: Some(interval),
        progress: None,
        claim: Default::default(),
        fingerprint: false,
    });
    let (monitored_s, down_s) = headline(&report);
    let outages = report
        .outage_list
        .iter()
        .filter_map(|o| DateTime::parse_from_rfc3339(&o.start).ok())
        .map(|t| t.timestamp())
        .collect();
    Seed {
        day: Some(day),
        monitored_s,
        down_s,
        last_check: last_check(log_dir, since, until),
        outages,
    }
}

/// The monitored time and the downtime behind the report's headline figure
/// (availability against the ISP).
fn headline(r: &crate::report::model::Report) -> (f64, f64) {
    (r.monitored_s, r.sides.isp.downtime_s)
}

/// The last check logged in [since, until), as Unix seconds.
fn last_check(
    log_dir: &Path,
    since: DateTime<FixedOffset>,
    until: DateTime<FixedOffset>,
) -> Option<i64> {
    let mut warnings = Vec::new();
    let files = crate::sink::read::files(log_dir, crate::sink::connection::FILE, &mut warnings);
    for f in files.iter().rev() {
        let mut last = None;
        crate::report::read::checks(f, &mut warnings, |at, _| {
            if at >= since && at < until {
                last = Some(at.timestamp());
            }
        });
        if last.is_some() {
            return last;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        // Noon, local time, on a fixed day: no midnight within the test.
        let noon = NaiveDate::from_ymd_opt(2026, 3, 10)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_local_timezone(Local)
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        noon + chrono::Duration::seconds(s)
    }

    fn outage(start: i64, end: i64, cause: Layer) -> OutageRecord {
        OutageRecord {
            start: at(start),
            end: at(end),
            cause,
            observed: Duration::from_secs((end - start) as u64),
            detail: String::new(),
            cause_changes: Vec::new(),
            gaps: Vec::new(),
            simulated: false,
            maintenance: false,
        }
    }

    #[test]
    fn a_restart_continues_the_logged_day_as_the_report_would() {
        let mut t = Today::new(Duration::from_secs(1), at(100));
        t.check(at(102));
        assert_eq!(t.pct(), None, "unknown until the logs are read");
        // Logged: checks from 0 to 99 (monitored 99 + 1), 10 s of WAN_DOWN at 20.
        t.seed(Seed {
            day: Some(at(0).with_timezone(&Local).date_naive()),
            monitored_s: 100.0,
            down_s: 10.0,
            last_check: Some(at(99).timestamp()),
            outages: HashSet::from([at(20).timestamp()]),
        });
        for s in 103..=110 {
            t.check(at(s));
        }
        // The report: 0..=99 then 102..=110: 99 + 3 (99 → 102) + 8 + 1 = 111 s monitored.
        assert_eq!(
            t.pct(),
            Some(((1.0 - 10.0 / 111.0) * 10000.0_f64).round() / 100.0)
        );
        t.outage_ended(&outage(20, 30, Layer::Wan));
        t.outage_ended(&outage(104, 108, Layer::Lan));
        assert_eq!(
            t.pct(),
            Some(90.99),
            "an outage the logs counted is not counted twice; LAN_DOWN is not against the ISP"
        );
        t.outage_ended(&outage(105, 109, Layer::Isp));
        assert_eq!(t.pct(), Some(87.39));
    }

    #[test]
    fn a_gap_longer_than_three_intervals_counts_one_interval() {
        let mut t = Today::new(Duration::from_secs(10), at(0));
        t.seed(Seed {
            day: Some(at(0).with_timezone(&Local).date_naive()),
            ..Seed::default()
        });
        t.check(at(0));
        t.check(at(10));
        t.check(at(100));
        t.outage_ended(&outage(0, 3, Layer::Wan));
        // 10 + 10 (gap) + 10 (the last) = 30 s monitored, 3 down.
        assert_eq!(t.pct(), Some(90.0));
    }
}
