//! From rows to figures, streaming: checks are folded into per-day and
//! per-part-of-day sums and RTT histograms as they are read, so memory
//! follows the number of days, not the number of rows.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Span, FixedOffset, NaiveDate, NaiveTime, Timelike};

use super::histogram::{bucket, Bucket, Histogram};
use super::model::{
    CauseFigures, Day, Gap, Latency, Outage, OutageFigures, Part, PeakFigures, Period, Report,
};
use super::read;
use crate::sink::{ConnectionRow, OutageRow};

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

/// Sums for one part of time (a day, the peak, the rest).
#[derive(Default, Clone)]
struct Sums {
    checks: u64,
    monitored_s: f64,
    degraded_s: f64,
    loss_sum: f64,
    loss_n: u64,
    /// RTT histograms, by [`GATEWAY`], [`ISP`] and [`INTERNET`].
    rtt: [Option<Box<Histogram>>; 3],
}

/// The RTT series of a check, as they stand in [`Sums::rtt`] and [`Check::rtt`].
const GATEWAY: usize = 0;
const ISP: usize = 1;
const INTERNET: usize = 2;

/// What the figures need of one check, its RTTs already in their buckets.
#[derive(Clone, Copy)]
struct Check {
    at: DateTime<FixedOffset>,
    degraded: bool,
    loss: Option<f64>,
    /// By [`GATEWAY`], [`ISP`] and [`INTERNET`].
    rtt: [Option<Bucket>; 3],
}

impl Check {
    fn of(at: DateTime<FixedOffset>, r: &ConnectionRow<&str>) -> Check {
        Check {
            at,
            degraded: r.status == "DEGRADED",
            loss: r.loss_pct,
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

fn pct(h: &Option<Box<Histogram>>) -> super::model::Percentiles {
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
        for (h, b) in self.rtt.iter_mut().zip(c.rtt) {
            if let Some(b) = b {
                h.get_or_insert_with(Default::default).count(b);
            }
        }
    }

    /// Credits the time a check stands for.
    fn credit(&mut self, share_s: f64, degraded: bool) {
        self.monitored_s += share_s;
        if degraded {
            self.degraded_s += share_s;
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.checks += o.checks;
        self.monitored_s += o.monitored_s;
        self.degraded_s += o.degraded_s;
        self.loss_sum += o.loss_sum;
        self.loss_n += o.loss_n;
        for (a, b) in self.rtt.iter_mut().zip(&o.rtt) {
            if let Some(b) = b {
                a.get_or_insert_with(Default::default).merge(b);
            }
        }
    }

    fn latency(&self) -> Latency {
        Latency {
            gateway_ms: pct(&self.rtt[GATEWAY]),
            isp_ms: pct(&self.rtt[ISP]),
            internet_ms: pct(&self.rtt[INTERNET]),
            loss_pct: (self.loss_n > 0).then(|| round2(self.loss_sum / self.loss_n as f64)),
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn availability(monitored: f64, down: f64) -> Option<f64> {
    (monitored > 0.0).then(|| round2(100.0 * (1.0 - (down / monitored).min(1.0))))
}

/// The last check seen: its time, day, part of the day, and whether it was DEGRADED.
#[derive(Clone, Copy)]
struct Last {
    at: DateTime<FixedOffset>,
    day: NaiveDate,
    peak: bool,
    degraded: bool,
}

/// The state while checks stream by.
struct Checks {
    interval: Option<f64>,
    /// Checks held until the interval is known (when the config does not say).
    early: Vec<Check>,
    last: Option<Last>,
    first: Option<DateTime<FixedOffset>>,
    /// The day being read; checks come in time order, so it is put away in
    /// `days` only when the next day starts.
    today: Option<(NaiveDate, Sums)>,
    days: BTreeMap<NaiveDate, Sums>,
    peak: Sums,
    off_peak: Sums,
    gaps: Vec<Gap>,
    present: u64,
    peak_hours: (NaiveTime, NaiveTime),
}

/// How many checks are looked at to learn the interval when the config does not say.
const LEARN_FROM: usize = 64;

impl Checks {
    fn push(&mut self, c: Check) {
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
            let d = (c.at - last.at).num_milliseconds() as f64 / 1000.0;
            let share = if d > 3.0 * interval {
                self.gaps.push(Gap {
                    from: stamp(last.at + secs(interval)),
                    to: stamp(c.at),
                    seconds: round2(d - interval),
                });
                interval
            } else {
                d.max(0.0)
            };
            self.credit(last, share);
        }
        let day = c.at.date_naive();
        let peak = in_window(c.at.time(), self.peak_hours.0, self.peak_hours.1);
        self.day(day).check(&c);
        if peak {
            &mut self.peak
        } else {
            &mut self.off_peak
        }
        .check(&c);
        self.last = Some(Last {
            at: c.at,
            day,
            peak,
            degraded: c.degraded,
        });
    }

    fn credit(&mut self, last: Last, share: f64) {
        self.day(last.day).credit(share, last.degraded);
        if last.peak {
            &mut self.peak
        } else {
            &mut self.off_peak
        }
        .credit(share, last.degraded);
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

    fn finish(&mut self) {
        if self.interval.is_none() {
            self.learn();
        }
        if let Some(last) = self.last {
            self.credit(last, self.interval.unwrap_or(10.0));
        }
        self.put_away_today();
    }
}

fn in_window(t: NaiveTime, from: NaiveTime, to: NaiveTime) -> bool {
    if from <= to {
        t >= from && t < to
    } else {
        t >= from || t < to
    }
}

fn secs(s: f64) -> Span {
    Span::milliseconds((s * 1000.0).round() as i64)
}

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
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
    let mut checks = Checks {
        interval: o.interval.map(|d| d.as_secs_f64()),
        early: Vec::new(),
        last: None,
        first: None,
        today: None,
        days: BTreeMap::new(),
        peak: Sums::default(),
        off_peak: Sums::default(),
        gaps: Vec::new(),
        present: 0,
        peak_hours: o.peak,
    };
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
    let paths = super::paths::outage_tables(&o.log_dir);
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
            path: super::paths::nearest(&paths, r.start),
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
        if r.start >= r.end {
            *day_down.entry(r.start.date_naive()).or_default() += d;
        }
        let mut day = r.start.date_naive();
        while day <= r.end.date_naive() && r.start < r.end {
            let Some(ds) = day
                .and_time(NaiveTime::MIN)
                .and_local_timezone(*r.start.offset())
                .single()
            else {
                break;
            };
            let (s, e) = (ds.max(r.start), (ds + Span::days(1)).min(r.end));
            if e > s {
                *day_down.entry(day).or_default() +=
                    (e - s).num_milliseconds() as f64 / 1000.0 * scale;
            }
            day += Span::days(1);
        }
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

fn assemble(o: &Options, mut c: Checks, outages: Vec<Row>, warnings: Vec<String>) -> Report {
    let interval = c.interval.unwrap_or(10.0);
    let Tally {
        mut figures,
        list,
        starts_by_hour,
        starts_by_weekday,
        downtime,
        maintenance,
        day_down,
        peak_down,
    } = tally(o, &outages);
    let mut all = Sums::default();
    for s in c.days.values() {
        all.merge(s);
    }
    let monitored = all.monitored_s;
    if figures.count > 0 {
        figures.mean_time_between_s = Some(round2(
            (monitored - downtime).max(0.0) / f64::from(figures.count),
        ));
    }
    let days: Vec<Day> = c
        .days
        .iter()
        .map(|(date, s)| {
            let down = day_down.get(date).copied().unwrap_or(0.0);
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
    let part = |s: &Sums, down: f64| Part {
        monitored_s: round2(s.monitored_s),
        downtime_s: round2(down),
        availability_pct: availability(s.monitored_s, down),
        loss_pct: s.latency().loss_pct,
        internet_ms: pct(&s.rtt[INTERNET]),
    };
    let peak = PeakFigures {
        hours: format!("{}-{}", o.peak.0.format("%H:%M"), o.peak.1.format("%H:%M")),
        peak: part(&c.peak, peak_down),
        off_peak: part(&c.off_peak, (downtime - peak_down).max(0.0)),
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
        maintenance_s: round2(maintenance),
        availability_pct,
        degraded_s: round2(all.degraded_s),
        outages: figures,
        outage_list: list,
        starts_by_hour,
        starts_by_weekday,
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
