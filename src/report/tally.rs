//! What the outage rows say, counted once: each row's span less the monitoring
//! gaps and less what an earlier row already covers, then summed overall, per
//! side, per day and per part of the day.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration as Span, FixedOffset, NaiveDate, NaiveTime, Timelike};

use super::checks::{round2, stamp};
use super::model::{Outage, OutageFigures, Side, Sides};
use super::spans::{ms, Ms, Spans};
use crate::sink::outages::Recorded;

/// The words the daemon adds to an outage's detail when it fell in a
/// maintenance window; one of the `; `-separated parts, on its own.
const MAINTENANCE_MARK: &str = "during a maintenance window (alerts held back)";

/// Whether the daemon marked `r` as in a maintenance window.
fn in_maintenance(r: &Recorded) -> bool {
    r.row.detail.split("; ").any(|p| p == MAINTENANCE_MARK)
}

/// Outage seconds overall and per side.
#[derive(Debug, Clone, Default)]
pub struct Down {
    pub all: f64,
    pub sides: Sides<f64>,
}

impl Down {
    fn add(&mut self, side: Option<Side>, s: f64) {
        self.all += s;
        if let Some(side) = side {
            *self.sides.get_mut(side) += s;
        }
    }
}

/// The causes that cut a family off: the whole path's, and the family's own.
pub fn cuts_family(cause: &str, family: usize) -> bool {
    match cause {
        "LAN_DOWN" | "ISP_DOWN" | "WAN_DOWN" => true,
        "IPV4_DOWN" => family == 0,
        "IPV6_DOWN" => family == 1,
        _ => false,
    }
}

/// The outages of the period, counted.
pub struct Tally {
    pub figures: OutageFigures,
    pub list: Vec<Outage>,
    pub starts_by_hour: [u32; 24],
    pub starts_by_weekday: [u32; 7],
    pub down: Down,
    pub counts: Sides<u32>,
    pub maintenance: f64,
    pub day_down: BTreeMap<NaiveDate, Down>,
    pub peak_down: Down,
    /// Per family (IPv4, IPv6): the outage seconds that cut it off.
    pub family_down: [f64; 2],
    /// The time counted of the outages of total loss (against the ISP, both
    /// families cut off): what claims are judged on.
    pub total_loss: Spans,
}

/// Counts `rows` (oldest first) inside the `monitored` spans; the peak is the
/// daily window `peak`. Recordeds that overlap, or cannot be counted at all, are
/// named in `warnings`.
pub fn tally(
    rows: Vec<Recorded>,
    monitored: &Spans,
    peak: (NaiveTime, NaiveTime),
    paths: &super::paths::OutageTraces,
    warnings: &mut Vec<String>,
) -> Tally {
    let mut t = Tally {
        figures: OutageFigures::default(),
        list: Vec::new(),
        starts_by_hour: [0; 24],
        starts_by_weekday: [0; 7],
        down: Down::default(),
        counts: Sides::default(),
        maintenance: 0.0,
        day_down: BTreeMap::new(),
        peak_down: Down::default(),
        family_down: [0.0; 2],
        total_loss: Spans::default(),
    };
    let mut durations = Vec::new();
    let mut reach = Reach::default();
    for r in rows {
        let Some(spans) = reach.counted(&r, monitored, warnings) else {
            continue;
        };
        durations.push(t.count(&r, &spans, peak, paths, warnings));
    }
    t.figures.total_s = round2(t.down.all);
    figures_of_durations(&mut t.figures, durations);
    t
}

/// How far the rows read so far reach, and which row reaches that far.
#[derive(Default)]
struct Reach {
    end: Option<(Ms, String)>,
}

impl Reach {
    /// The spans of `r` to count: inside the monitored time, and not already
    /// covered by an earlier row (rows come by start, so what earlier rows
    /// cover of `r` is its start up to the furthest end so far). `None`, and a
    /// warning, when nothing is left.
    fn counted(
        &mut self,
        r: &Recorded,
        monitored: &Spans,
        warnings: &mut Vec<String>,
    ) -> Option<Spans> {
        let (a, b) = (ms(r.start), ms(r.end));
        let what = |r: &Recorded| {
            format!(
                "{}: the {} outage from {} to {}",
                r.at, r.row.cause, r.row.started_at, r.row.ended_at
            )
        };
        let mut spans = Spans::one(a, b).and(monitored);
        let earlier = self.end.as_ref().filter(|(end, _)| *end > a).cloned();
        if self.end.as_ref().is_none_or(|(end, _)| b > *end) {
            self.end = Some((b, r.at.clone()));
        }
        if let Some((end, earlier)) = earlier {
            if end >= b {
                warnings.push(format!(
                    "{} lies within the outage of {earlier}: not counted a second time",
                    what(r)
                ));
                return None;
            }
            let common = Spans::one(a, end);
            warnings.push(format!(
                "{} overlaps the outage of {earlier}: their {} s in common are counted once",
                what(r),
                round2(common.seconds())
            ));
            spans = spans.minus(&common);
        }
        if spans.is_empty() {
            warnings.push(format!(
                "{} lies in a monitoring gap or outside the monitored period: not counted",
                what(r)
            ));
            return None;
        }
        Some(spans)
    }
}

impl Tally {
    /// Counts outage `r` for its `spans`; returns the seconds counted.
    fn count(
        &mut self,
        r: &Recorded,
        spans: &Spans,
        peak: (NaiveTime, NaiveTime),
        paths: &super::paths::OutageTraces,
        warnings: &mut Vec<String>,
    ) -> f64 {
        let d = round2(spans.seconds());
        let side = Side::of(&r.row.cause);
        if side.is_none() {
            warnings.push(format!(
                "{}: cause {:?} is not one this version knows: counted in the overall figures only",
                r.at, r.row.cause
            ));
        }
        let maintenance = in_maintenance(r);
        self.list.push(Outage {
            start: stamp(r.start),
            end: stamp(r.end),
            duration_s: d,
            cause: r.row.cause.clone(),
            side,
            detail: r.row.detail.clone(),
            maintenance,
            path: paths.of(r.start),
        });
        if maintenance {
            self.maintenance += d;
        }
        self.down.add(side, d);
        for (f, down) in self.family_down.iter_mut().enumerate() {
            if cuts_family(&r.row.cause, f) {
                *down += d;
            }
        }
        if let Some(side) = side {
            *self.counts.get_mut(side) += 1;
        }
        self.figures.count += 1;
        let cause = self
            .figures
            .by_cause
            .entry(r.row.cause.clone())
            .or_default();
        cause.count += 1;
        cause.total_s += d;
        self.starts_by_hour[r.start.hour() as usize] += 1;
        self.starts_by_weekday[r.start.weekday().num_days_from_monday() as usize] += 1;
        let local =
            |m: Ms| DateTime::from_timestamp_millis(m).map(|u| u.with_timezone(r.start.offset()));
        for (a, b) in spans.iter() {
            if crate::claim::total_loss(&r.row.cause) {
                self.total_loss.add(a, b);
            }
            if let (Some(s), Some(e)) = (local(a), local(b)) {
                spread_over_days(s, e, side, &mut self.day_down);
                self.peak_down
                    .add(side, overlap_with_window(s, e, peak.0, peak.1));
            }
        }
        d
    }
}

/// Mean, median and longest.
fn figures_of_durations(f: &mut OutageFigures, mut durations: Vec<f64>) {
    durations.sort_by(f64::total_cmp);
    let n = durations.len();
    if n == 0 {
        return;
    }
    f.mean_s = Some(round2(durations.iter().sum::<f64>() / n as f64));
    f.median_s = Some(if n % 2 == 1 {
        durations[n / 2]
    } else {
        round2((durations[n / 2 - 1] + durations[n / 2]) / 2.0)
    });
    f.longest_s = durations.last().copied();
}

/// Adds `[start, end)` to each local day (of `start`'s offset) it covers.
fn spread_over_days(
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    side: Option<Side>,
    day_down: &mut BTreeMap<NaiveDate, Down>,
) {
    let mut day = start.date_naive();
    while day <= end.date_naive() {
        let Some(ds) = day
            .and_time(NaiveTime::MIN)
            .and_local_timezone(*start.offset())
            .single()
        else {
            break;
        };
        let (s, e) = (ds.max(start), (ds + Span::days(1)).min(end));
        if e > s {
            let secs = (e - s).num_milliseconds() as f64 / 1000.0;
            day_down.entry(day).or_default().add(side, secs);
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
}

/// Seconds of [start, end) inside the daily window [from, to) (local time of `start`'s offset).
pub fn overlap_with_window(
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    from: NaiveTime,
    to: NaiveTime,
) -> f64 {
    let mut total = 0.0;
    let Some(mut day) = start.date_naive().pred_opt() else {
        return 0.0;
    };
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
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    total
}
