//! From rows to figures: the checks stream through [`Checks`] (memory follows
//! the number of days, not of rows), the outages are tallied, and both are
//! put together into the [`Report`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Span, FixedOffset, NaiveDate, NaiveTime, Timelike};

use super::checks::{round2, secs, stamp, Check, Checks, Sums};
use super::model::{CauseFigures, Day, Outage, OutageFigures, Part, PeakFigures, Period, Report};
use super::read;
use crate::sink::OutageRow;

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
}

fn availability(monitored: f64, down: f64) -> Option<f64> {
    (monitored > 0.0).then(|| round2(100.0 * (1.0 - (down / monitored).min(1.0))))
}

/// Seconds of [start, end) inside the daily window [from, to) (local time of `start`'s offset).
fn overlap_with_window(
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    from: NaiveTime,
    to: NaiveTime,
) -> f64 {
    let mut total = 0.0;
    let mut day = start.date_naive() - Span::days(1);
    while day <= end.date_naive() {
        let at = |t: NaiveTime| day.and_time(t).and_local_timezone(*start.offset()).single();
        let (Some(a), Some(mut b)) = (at(from), at(to)) else {
            break;
        };
        if to <= from {
            b += Span::days(1);
        }
        let s = a.max(start);
        let e = b.min(end);
        if e > s {
            total += (e - s).num_milliseconds() as f64 / 1000.0;
        }
        day += Span::days(1);
    }
    total
}

/// Reads the logs in `o.log_dir` and computes every figure.
pub fn build(o: &Options) -> Report {
    let mut warnings = Vec::new();
    let in_period = |t: &DateTime<FixedOffset>| {
        o.since.is_none_or(|s| *t >= s) && o.until.is_none_or(|u| *t < u)
    };
    let mut checks = Checks::new(o.interval.map(|d| d.as_secs_f64()), o.peak);
    let conn_files = read::files(&o.log_dir, crate::sink::connection::FILE);
    if conn_files.is_empty() {
        warnings.push(format!(
            "{}: not found",
            o.log_dir.join(crate::sink::connection::FILE).display()
        ));
    }
    let mut read_so_far = 0u64;
    for f in &conn_files {
        read_so_far += read::checks(f, &mut warnings, |at, r| {
            if in_period(&at) {
                checks.push(Check::of(at, &r));
            }
        });
        if let Some(p) = o.progress {
            p(read_so_far);
        }
    }
    checks.finish();
    let outages = read_outages(o, &mut warnings, &in_period);
    assemble(o, checks, outages, warnings)
}

/// An outage row with its times parsed.
struct Row {
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    row: OutageRow,
    maintenance: bool,
}

fn read_outages(
    o: &Options,
    warnings: &mut Vec<String>,
    in_period: &dyn Fn(&DateTime<FixedOffset>) -> bool,
) -> Vec<Row> {
    let files = read::files(&o.log_dir, crate::sink::recorder::FILE);
    if files.is_empty() {
        warnings.push(format!(
            "{}: not found",
            o.log_dir.join(crate::sink::recorder::FILE).display()
        ));
    }
    let mut out = Vec::new();
    for f in &files {
        read::rows::<OutageRow>(f, warnings, |r| {
            let (Ok(start), Ok(end)) = (
                DateTime::parse_from_rfc3339(&r.started_at),
                DateTime::parse_from_rfc3339(&r.ended_at),
            ) else {
                return;
            };
            if (r.simulated || r.detail.contains("simulated")) && !o.include_simulated {
                return;
            }
            if in_period(&start) {
                let maintenance = r.detail.contains("during a maintenance window");
                out.push(Row {
                    start,
                    end,
                    row: r,
                    maintenance,
                });
            }
        });
    }
    out.sort_by_key(|r| r.start);
    out
}

/// What the outage rows alone say: counts, causes, durations, starts, and their
/// share of each day and of the peak hours.
struct Tally {
    figures: OutageFigures,
    list: Vec<Outage>,
    starts_by_hour: [u32; 24],
    starts_by_weekday: [u32; 7],
    downtime: f64,
    maintenance: f64,
    day_down: BTreeMap<NaiveDate, f64>,
    peak_down: f64,
}

fn tally(o: &Options, outages: &[Row]) -> Tally {
    let mut figures = OutageFigures::default();
    let mut durations = Vec::new();
    let mut starts_by_hour = [0u32; 24];
    let mut starts_by_weekday = [0u32; 7];
    let (mut downtime, mut maintenance) = (0.0, 0.0);
    let mut day_down: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    let mut peak_down = 0.0;
    let paths = super::paths::OutageTraces::read(&o.log_dir);
    let mut list = Vec::new();
    for r in outages {
        let d = r.row.duration_seconds as f64;
        list.push(Outage {
            start: stamp(r.start),
            end: stamp(r.end),
            duration_s: d,
            cause: r.row.cause.clone(),
            detail: r.row.detail.clone(),
            maintenance: r.maintenance,
            path: paths.of(r.start),
        });
        if r.maintenance {
            maintenance += d;
            continue;
        }
        downtime += d;
        durations.push(d);
        figures.count += 1;
        let cause = figures
            .by_cause
            .entry(r.row.cause.clone())
            .or_insert_with(CauseFigures::default);
        cause.count += 1;
        cause.total_s += d;
        starts_by_hour[r.start.hour() as usize] += 1;
        starts_by_weekday[r.start.weekday().num_days_from_monday() as usize] += 1;
        // Spread over the days and the peak in proportion to the span (gaps inside are not outage time).
        let span = ((r.end - r.start).num_milliseconds() as f64 / 1000.0).max(1e-9);
        let scale = (d / span).min(1.0);
        spread_over_days(r, d, scale, &mut day_down);
        peak_down += overlap_with_window(r.start, r.end, o.peak.0, o.peak.1) * scale;
    }
    figures.total_s = downtime;
    durations.sort_by(f64::total_cmp);
    if !durations.is_empty() {
        let n = durations.len();
        figures.mean_s = Some(round2(downtime / n as f64));
        figures.median_s = Some(if n % 2 == 1 {
            durations[n / 2]
        } else {
            (durations[n / 2 - 1] + durations[n / 2]) / 2.0
        });
        figures.longest_s = durations.last().copied();
    }
    Tally {
        figures,
        list,
        starts_by_hour,
        starts_by_weekday,
        downtime,
        maintenance,
        day_down,
        peak_down,
    }
}

/// Adds outage `r`'s time to each day it covers, `scale` of the clock time
/// there (its observed `d` seconds if it has no span).
fn spread_over_days(r: &Row, d: f64, scale: f64, day_down: &mut BTreeMap<NaiveDate, f64>) {
    if r.start >= r.end {
        *day_down.entry(r.start.date_naive()).or_default() += d;
        return;
    }
    let mut day = r.start.date_naive();
    while day <= r.end.date_naive() {
        let Some(ds) = day
            .and_time(NaiveTime::MIN)
            .and_local_timezone(*r.start.offset())
            .single()
        else {
            break;
        };
        let (s, e) = (ds.max(r.start), (ds + Span::days(1)).min(r.end));
        if e > s {
            *day_down.entry(day).or_default() += (e - s).num_milliseconds() as f64 / 1000.0 * scale;
        }
        day += Span::days(1);
    }
}

fn assemble(o: &Options, mut c: Checks, outages: Vec<Row>, warnings: Vec<String>) -> Report {
    let interval = c.interval.unwrap_or(10.0);
    let mut t = tally(o, &outages);
    let downtime = t.downtime;
    let mut all = Sums::default();
    for s in c.days.values() {
        all.merge(s);
    }
    let monitored = all.monitored_s;
    if t.figures.count > 0 {
        t.figures.mean_time_between_s = Some(round2(
            (monitored - downtime).max(0.0) / f64::from(t.figures.count),
        ));
    }
    let days: Vec<Day> = c
        .days
        .iter()
        .map(|(date, s)| {
            let down = t.day_down.get(date).copied().unwrap_or(0.0);
            Day {
                date: date.to_string(),
                checks: s.checks,
                monitored_s: round2(s.monitored_s),
                downtime_s: round2(down),
                availability_pct: availability(s.monitored_s, down),
                degraded_s: round2(s.degraded_s),
                latency: s.latency(),
            }
        })
        .collect();
    let part = |s: &Sums, down: f64| {
        let latency = s.latency();
        Part {
            monitored_s: round2(s.monitored_s),
            downtime_s: round2(down),
            availability_pct: availability(s.monitored_s, down),
            loss_pct: latency.loss_pct,
            internet_ms: latency.internet_ms,
        }
    };
    let peak = PeakFigures {
        hours: format!("{}-{}", o.peak.0.format("%H:%M"), o.peak.1.format("%H:%M")),
        peak: part(&c.peak, t.peak_down),
        off_peak: part(&c.off_peak, (downtime - t.peak_down).max(0.0)),
    };
    let last_at = c.last.map(|l| l.at);
    let period = c.first.zip(last_at).map(|(f, l)| Period {
        from: stamp(o.since.unwrap_or(f)),
        to: stamp(o.until.unwrap_or(l + secs(interval))),
    });
    let expected = c.first.zip(last_at).map_or(0, |(f, l)| {
        ((l - f).num_milliseconds() as f64 / 1000.0 / interval).round() as u64 + 1
    });
    let availability_pct = availability(monitored, downtime);
    let mut report = Report {
        schema_version: 1,
        summary: String::new(),
        method: method(interval),
        period,
        interval_s: interval,
        checks_expected: expected,
        checks_present: c.present,
        monitored_s: round2(monitored),
        gaps: std::mem::take(&mut c.gaps),
        downtime_s: round2(downtime),
        maintenance_s: round2(t.maintenance),
        availability_pct,
        degraded_s: round2(all.degraded_s),
        outages: t.figures,
        outage_list: t.list,
        starts_by_hour: t.starts_by_hour,
        starts_by_weekday: t.starts_by_weekday,
        latency: all.latency(),
        peak,
        days,
        warnings,
    };
    report.summary = summary(&report);
    report
}

fn method(interval: f64) -> String {
    format!(
        "Every {interval} s the monitor checked the gateway, the ISP's first routers and \
         several internet hosts, and recorded one verdict per check. An outage starts after \
         consecutive failing checks (its start is the first of them) and ends after \
         consecutive good ones (its end is the first good one); its duration is end minus \
         start, less any span in which the monitor itself was not running. A check stands \
         for the time until the next one. Monitored time is the period less the monitoring \
         gaps (no check for more than three intervals: the monitor stopped or the machine \
         slept); gaps are listed and never counted as outage. Availability is 100 % × (1 − \
         outage time ÷ monitored time). Outages inside announced maintenance windows are \
         shown apart and not counted; outages made on purpose by a test are left out. \
         Latency figures are nearest-rank percentiles of the round-trip times measured in \
         each check; loss is the mean of the per-check ICMP loss to the internet hosts."
    )
}

fn summary(r: &Report) -> String {
    let Some(p) = &r.period else {
        return "No check was recorded in this period: there is nothing to report.".into();
    };
    let day = |s: &str| s.get(..10).unwrap_or(s).to_owned();
    let beyond: u32 = ["WAN_DOWN", "ISP_DOWN"]
        .iter()
        .filter_map(|c| r.outages.by_cause.get(*c))
        .map(|c| c.count)
        .sum();
    let avail = r.availability_pct.map_or_else(
        || "not measured".to_owned(),
        |a| format!("{a:.2} % available"),
    );
    let total = crate::timefmt::hms(r.downtime_s);
    match r.outages.count {
        0 => format!(
            "Between {} and {} the internet was never down ({avail}).",
            day(&p.from),
            day(&p.to)
        ),
        n => {
            format!(
            "Between {} and {} the internet was down {n} time{} for {total} in total ({avail}); \
             {beyond} of {them} beyond your router (WAN/ISP).",
            day(&p.from),
            day(&p.to),
            if n == 1 { "" } else { "s" },
            them = if beyond == 1 { "those was" } else { "those were" }
        )
        }
    }
}
