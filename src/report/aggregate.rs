//! From rows to figures: the checks stream through [`Checks`] (memory follows
//! the number of days, not of rows), the outages are tallied inside the time
//! the checks stand for, and both are put together into the [`Report`].

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveTime};

use super::checks::{round2, stamp, Check, Checks, Sums};
use std::collections::BTreeMap;

use super::claims::Bounds;
use super::model::{
    Claims, Day, FamilyFigures, FileRead, Part, PeakFigures, Period, Report, Share, Side,
    SideFigures, Sides,
};
use super::read;
use super::tally::{tally, Down, Tally};
use crate::claim::Faults;
use crate::sink::outages::Recorded;

/// What to report on.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the logs are.
    pub log_dir: PathBuf,
    /// Only what happened at or after this.
    pub since: Option<DateTime<FixedOffset>>,
    /// Only what happened before this.
    pub until: Option<DateTime<FixedOffset>>,
    /// Count outages made by `--sim-fail` too.
    pub include_simulated: bool,
    /// The evening peak, local time of day, `from` inclusive, `to` exclusive.
    pub peak: (NaiveTime, NaiveTime),
    /// The check interval, if known from the config.
    pub interval: Option<Duration>,
    /// Called now and then with the rows read so far (progress on a terminal).
    pub progress: Option<fn(u64)>,
    /// The rule the fault tickets' claims are counted under.
    pub claim: crate::claim::ClaimConfig,
    /// List each file read with its rows, bytes and SHA-256 (the hashing
    /// costs a pass over every byte: for a report a person hands on).
    pub fingerprint: bool,
}

pub fn availability(monitored: f64, down: f64) -> Option<f64> {
    (monitored > 0.0).then(|| round2(100.0 * (1.0 - (down / monitored).min(1.0))))
}

/// Reads the logs in `o.log_dir` and computes every figure.
pub fn build(o: &Options) -> Report {
    let mut warnings = Vec::new();
    let in_period = |t: &DateTime<FixedOffset>| {
        o.since.is_none_or(|s| *t >= s) && o.until.is_none_or(|u| *t < u)
    };
    let mut checks = Checks::new(o.interval.map(|d| d.as_secs_f64()), o.peak, o.until);
    let conn_files = read::check_files(&o.log_dir, &mut warnings);
    let mut files = Vec::new();
    let mut read_so_far = 0u64;
    for f in &conn_files {
        let each = |c: Check| {
            if in_period(&c.at) {
                checks.push(c);
            }
        };
        let (rows, done) = read::check_figures(f, o.fingerprint, &mut warnings, each);
        read_so_far += rows;
        files.extend(done);
        if let Some(p) = o.progress {
            p(read_so_far);
        }
    }
    checks.finish();
    let (rows, outage_files) = read_outages(o, &mut warnings);
    let paths = super::paths::OutageTraces::read(&o.log_dir);
    let t = tally(rows, &checks.monitored(), o.peak, &paths, &mut warnings);
    let faults = Faults::read(&o.log_dir);
    warnings.extend(faults.warnings);
    let bounds = Bounds {
        period: checks.first.zip(checks.end()),
        since: o.since,
        until: o.until,
    };
    let claims = super::claims::build(&o.claim, &faults.tickets, &t.total_loss, &bounds);
    if o.fingerprint {
        files.extend(outage_files);
        files.extend(faults.files);
        files.extend(paths.file.clone());
    }
    assemble(o, checks, t, warnings, (claims, files))
}

/// The outage rows that reach into the period asked for, oldest first;
/// simulated ones (by their column) only when asked for; and what was read
/// of each file.
fn read_outages(o: &Options, warnings: &mut Vec<String>) -> (Vec<Recorded>, Vec<FileRead>) {
    let log = crate::sink::outages::read(&o.log_dir, o.since, usize::MAX);
    warnings.extend(log.warnings);
    let rows = log
        .rows
        .into_iter()
        .filter(|r| !r.row.simulated || o.include_simulated)
        .filter(|r| o.until.is_none_or(|u| r.start < u))
        .collect();
    (rows, log.files)
}

/// Availability of `down` seconds out of the time `s` stands for.
fn share(s: &Sums, down: f64) -> Share {
    Share {
        downtime_s: round2(down),
        availability_pct: availability(s.monitored_s, down),
    }
}

/// Each side's share of `down` in the time `s` stands for.
fn shares(s: &Sums, down: &Down) -> Sides<Share> {
    Sides {
        isp: share(s, down.sides.isp),
        your_side: share(s, down.sides.your_side),
        services: share(s, down.sides.services),
    }
}

fn days(c: &Checks, t: &Tally) -> Vec<Day> {
    c.days
        .iter()
        .map(|(date, s)| {
            let down = t.day_down.get(date).cloned().unwrap_or_default();
            Day {
                date: date.to_string(),
                checks: s.checks,
                monitored_s: round2(s.monitored_s),
                downtime_s: round2(down.all),
                availability_pct: availability(s.monitored_s, down.all),
                sides: shares(s, &down),
                degraded_s: round2(s.degraded_s),
                latency: s.latency(),
            }
        })
        .collect()
}

fn peak(o: &Options, c: &Checks, t: &Tally) -> PeakFigures {
    let part = |s: &Sums, down: &Down| {
        let latency = s.latency();
        Part {
            monitored_s: round2(s.monitored_s),
            downtime_s: round2(down.all),
            availability_pct: availability(s.monitored_s, down.all),
            sides: shares(s, down),
            loss_pct: latency.loss_pct,
            internet_ms: latency.internet_ms,
        }
    };
    let rest = |all: f64, peak: f64| (all - peak).max(0.0);
    let off = Down {
        all: rest(t.down.all, t.peak_down.all),
        sides: Sides {
            isp: rest(t.down.sides.isp, t.peak_down.sides.isp),
            your_side: rest(t.down.sides.your_side, t.peak_down.sides.your_side),
            services: rest(t.down.sides.services, t.peak_down.sides.services),
        },
    };
    PeakFigures {
        hours: format!("{}-{}", o.peak.0.format("%H:%M"), o.peak.1.format("%H:%M")),
        peak: part(&c.peak, &t.peak_down),
        off_peak: part(&c.off_peak, &off),
    }
}

fn sides(monitored: f64, t: &Tally) -> Sides<SideFigures> {
    let side = |side: Side| SideFigures {
        causes: side.causes().iter().map(|c| (*c).to_owned()).collect(),
        count: *t.counts.get(side),
        downtime_s: round2(*t.down.sides.get(side)),
        availability_pct: availability(monitored, *t.down.sides.get(side)),
    };
    Sides {
        isp: side(Side::Isp),
        your_side: side(Side::Yours),
        services: side(Side::Services),
    }
}

/// Each family the checks had targets of.
fn families(all: &Sums, t: &Tally) -> BTreeMap<String, FamilyFigures> {
    crate::config::Family::ALL
        .into_iter()
        .enumerate()
        .filter(|(f, _)| all.family_s[*f] > 0.0)
        .map(|(f, family)| {
            let monitored = all.family_s[f];
            let figures = FamilyFigures {
                monitored_s: round2(monitored),
                downtime_s: round2(t.family_down[f]),
                availability_pct: availability(monitored, t.family_down[f]),
                internet_ms: all.family_latency(f),
            };
            (family.label().to_owned(), figures)
        })
        .collect()
}

fn assemble(
    o: &Options,
    mut c: Checks,
    mut t: Tally,
    warnings: Vec<String>,
    (claims, files_read): (Claims, Vec<FileRead>),
) -> Report {
    let interval = c.interval.unwrap_or(10.0);
    let mut all = Sums::default();
    for s in c.days.values() {
        all.merge(s);
    }
    let monitored = all.monitored_s;
    let downtime = t.down.all;
    if t.figures.count > 0 {
        t.figures.mean_time_between_s = Some(round2(
            (monitored - downtime).max(0.0) / f64::from(t.figures.count),
        ));
    }
    let period = c.first.zip(c.end()).map(|(f, e)| Period {
        from: stamp(f),
        to: stamp(e),
    });
    let expected = c.first.zip(c.last).map_or(0, |(f, l)| {
        ((l.at - f).num_milliseconds() as f64 / 1000.0 / interval).round() as u64 + 1
    });
    let mut report = Report {
        schema_version: 2,
        host: crate::util::hostname(),
        time_zone: String::new(),
        summary: String::new(),
        method: super::words::method(interval),
        period,
        interval_s: interval,
        checks_expected: expected,
        checks_present: c.present,
        monitored_s: round2(monitored),
        gaps: std::mem::take(&mut c.gaps),
        downtime_s: round2(downtime),
        availability_pct: availability(monitored, downtime),
        sides: sides(monitored, &t),
        families: families(&all, &t),
        maintenance_s: round2(t.maintenance),
        degraded_s: round2(all.degraded_s),
        days: days(&c, &t),
        peak: peak(o, &c, &t),
        outages: t.figures,
        outage_list: t.list,
        starts_by_hour: t.starts_by_hour,
        starts_by_weekday: t.starts_by_weekday,
        latency: all.latency(),
        claims,
        files_read,
        warnings,
    };
    if !report.claims.tickets.is_empty() || !matches!(o.claim.rule, crate::claim::Rule::None) {
        report.method.push(' ');
        report
            .method
            .push_str(&crate::claim::rules::method(&o.claim.rule));
    }
    if !report.files_read.is_empty() {
        report.method.push_str(
            " Each file read is listed with the rows read from it, its size in bytes and the \
             SHA-256 of exactly those bytes, so that a copy handed on can be checked.",
        );
    }
    report.time_zone = super::words::zone(&report);
    report.summary = super::words::summary(&report);
    report
}
