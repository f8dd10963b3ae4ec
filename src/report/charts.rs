//! The report's charts as inline SVG. Across, positions are percentages of
//! the chart's width and text keeps its size in pixels, so a chart fills a
//! phone or a page and its labels stay readable on both; up and down, the
//! sizes are pixels.

use chrono::{DateTime, FixedOffset, NaiveTime};
use maud::{html, Markup};

use super::model::{Day, Report, Side};
use crate::timefmt::human;

/// A percentage of the width, as an SVG length.
fn pc(v: f64) -> String {
    format!("{:.3}%", v.clamp(-100.0, 200.0))
}

/// Where a label at `x` % is anchored, so that none runs off either side.
fn anchor(x: f64) -> &'static str {
    if x < 6.0 {
        "start"
    } else if x > 94.0 {
        "end"
    } else {
        "middle"
    }
}

/// The class that colours an outage of `side` (`None`: a cause this version does not know).
pub fn side_class(side: Option<Side>) -> String {
    format!("side-{}", side.map_or("other", Side::key))
}

/// The period's ends, Unix seconds, with the offset its times are written in.
fn bounds(r: &Report) -> Option<(i64, i64, FixedOffset)> {
    let p = r.period.as_ref()?;
    let from = DateTime::parse_from_rfc3339(&p.from).ok()?;
    let to = DateTime::parse_from_rfc3339(&p.to).ok()?;
    Some((
        from.timestamp(),
        to.timestamp().max(from.timestamp() + 1),
        *from.offset(),
    ))
}

/// Ticks for a time axis from `from` to `to` (Unix seconds): at most about
/// seven, on round local times, each with its label.
fn ticks(from: i64, to: i64, offset: FixedOffset) -> Vec<(i64, String)> {
    const STEPS: [i64; 9] = [
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        2 * 86_400,
        7 * 86_400,
        14 * 86_400,
        30 * 86_400,
    ];
    let span = to - from;
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= 7)
        .unwrap_or(span / 7 + 1);
    let Some(start) = DateTime::from_timestamp(from, 0).map(|t| t.with_timezone(&offset)) else {
        return Vec::new();
    };
    // Counted from the first local midnight at or before the start.
    let midnight = start
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_local_timezone(offset)
        .single();
    let Some(midnight) = midnight.map(|m| m.timestamp()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut t = midnight + (from - midnight).div_euclid(step) * step;
    while t <= to {
        if t >= from {
            if let Some(at) = DateTime::from_timestamp(t, 0).map(|u| u.with_timezone(&offset)) {
                let daily = step % 86_400 == 0 || at.time() == NaiveTime::MIN;
                let label = if daily {
                    at.format("%-d %b")
                } else {
                    at.format("%H:%M")
                };
                out.push((t, label.to_string()));
            }
        }
        t += step;
    }
    out
}

/// One lane per side, the outages in their side's colour (maintenance ones
/// outlined), the monitoring gaps hatched and labelled across all lanes.
pub fn timeline(r: &Report) -> Markup {
    let Some((from, to, offset)) = bounds(r) else {
        return html! { p.note { "No check in this period: nothing to draw." } };
    };
    let x = |t: i64| (t - from) as f64 / (to - from) as f64 * 100.0;
    let at = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp());
    let lane_y = |side: Option<Side>| match side {
        Some(Side::Isp) => 22,
        Some(Side::Yours) => 46,
        _ => 70,
    };
    html! {
        svg.chart #timeline width="100%" height="122" role="img" aria-label="outages over the period, one lane per side, with the monitoring gaps" {
            defs { pattern #gap-hatch width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                rect width="6" height="6" fill="#fff" {} line x1="0" y1="0" x2="0" y2="6" stroke="#aaa" stroke-width="3" {} } }
            @for side in Side::ALL {
                rect.lane x="0" y=(lane_y(Some(side))) width="100%" height="20" {}
                text.lane-label x="4" y=(lane_y(Some(side)) + 14) { (side.label()) }
            }
            @for g in &r.gaps {
                @if let (Some(a), Some(b)) = (at(&g.from), at(&g.to)) {
                    rect.gap x=(pc(x(a))) y="18" width=(pc((x(b) - x(a)).max(0.3))) height="76" {
                        title { "monitoring gap: " (super::words::when(&g.from)) " to " (super::words::until(&g.from, &g.to)) " (" (human(g.seconds)) "), not monitored" }
                    }
                    @if x(b) - x(a) >= 6.0 || r.gaps.len() <= 6 {
                        text.gap-label x=(pc((x(a) + x(b)) / 2.0)) y="14" text-anchor=(anchor((x(a) + x(b)) / 2.0)) { "gap" }
                    }
                }
            }
            @for o in &r.outage_list {
                @if let (Some(a), Some(b)) = (at(&o.start), at(&o.end)) {
                    rect class=(format!("outage {}{}", side_class(o.side), if o.maintenance { " maintenance" } else { "" }))
                        x=(pc(x(a))) y=(lane_y(o.side)) width=(pc((x(b) - x(a)).max(0.4))) height="20" {
                        title { (o.cause) " " (super::words::when(&o.start)) ", " (human(o.duration_s)) @if o.maintenance { ", in a maintenance window" } }
                    }
                }
            }
            line.axis x1="0" y1="96" x2="100%" y2="96" {}
            @for (i, (t, label)) in ticks(from, to, offset).into_iter().enumerate() {
                line.axis x1=(pc(x(t))) y1="96" x2=(pc(x(t))) y2="101" {}
                text class=[(i % 2 == 1).then_some("minor")] x=(pc(x(t))) y="114" text-anchor=(anchor(x(t))) { (label) }
            }
        }
    }
}

/// The floor of the availability axis: 0 %, or a round value under the
/// lowest day when every day is high (then the axis is drawn cut).
fn floor(days: &[Day]) -> f64 {
    let lowest = days
        .iter()
        .filter_map(|d| d.availability_pct)
        .fold(100.0f64, f64::min);
    [99.0, 98.0, 95.0, 90.0, 80.0, 50.0]
        .into_iter()
        .find(|f| lowest - f >= 0.25 * (100.0 - f))
        .unwrap_or(0.0)
}

/// Labels under day slots: every k-th day, so that about eight fit.
fn day_labels(days: &[Day]) -> Markup {
    let n = days.len().max(1);
    let every = n.div_ceil(8);
    html! {
        @for (i, d) in days.iter().enumerate().filter(|(i, _)| i % every == 0) {
            @let x = (i as f64 + 0.5) / n as f64 * 100.0;
            @let label = chrono::NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").map_or(d.date.clone(), |t| t.format("%-d %b").to_string());
            text.date x=(pc(x)) y="0" dy="0" text-anchor=(anchor(x)) { (label) }
        }
    }
}

/// The parts of a day's bar from the floor up, each (class, from %, to %):
/// the available time, then each side's share of outage time.
fn stack(d: &Day) -> Vec<(String, f64, f64)> {
    let a = d.availability_pct.unwrap_or(100.0);
    let mut parts = vec![("available".to_owned(), 0.0, a)];
    let mut at = a;
    for side in Side::ALL {
        let share = if d.monitored_s > 0.0 {
            d.sides.get(side).downtime_s / d.monitored_s * 100.0
        } else {
            0.0
        };
        if share > 0.0 {
            parts.push((side_class(Some(side)), at, (at + share).min(100.0)));
            at += share;
        }
    }
    parts
}

/// One bar per day: available time in green from the axis floor, each
/// side's outage time stacked above it in its colour, up to 100 %.
pub fn days(r: &Report) -> Markup {
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 150.0;
    let floor = floor(&r.days);
    let scale = (BOTTOM - TOP) / (100.0 - floor);
    let y = |pct: f64| BOTTOM - (pct - floor).max(0.0) * scale;
    let n = r.days.len().max(1) as f64;
    html! {
        svg.chart #days width="100%" height="186" role="img" aria-label=(format!("availability per day, axis from {floor} %")) {
            line.grid x1="0" y1=(TOP) x2="100%" y2=(TOP) {}
            text x="2" y=(TOP - 4.0) { "100 %" }
            line.axis x1="0" y1=(BOTTOM) x2="100%" y2=(BOTTOM) {}
            @for (i, d) in r.days.iter().enumerate() {
                @let x = (i as f64 + 0.1) / n * 100.0;
                @let w = 0.8 / n * 100.0;
                g.day {
                    title { (d.date) ": " (pct(d.availability_pct)) " available (against the ISP " (pct(d.sides.isp.availability_pct)) "), " (human(d.downtime_s)) " of outage" }
                    @for (class, lo, hi) in stack(d) {
                        rect class=(class) x=(pc(x)) y=(format!("{:.1}", y(hi))) width=(pc(w)) height=(format!("{:.1}", (y(lo) - y(hi)).max(0.5))) {}
                    }
                }
            }
            @if floor > 0.0 {
                g.axis-break {
                    line.axis x1="2" y1=(BOTTOM + 5.0) x2="10" y2=(BOTTOM - 3.0) {}
                    line.axis x1="6" y1=(BOTTOM + 5.0) x2="14" y2=(BOTTOM - 3.0) {}
                    text x="18" y=(BOTTOM - 4.0) { (format!("{floor} % (axis cut)")) }
                }
            } @else {
                text x="2" y=(BOTTOM - 4.0) { "0 %" }
            }
            g transform="translate(0,172)" { (day_labels(&r.days)) }
        }
    }
}

/// A percentage for a label.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} %"))
}

/// Loss as SmokePing colours it by default (for 20 pings: none, 1, 2, 3,
/// 4 to 9, 10 to 18, 19 or 20 lost): a loss takes the first colour whose
/// bound (percent) it does not pass; with the legend's words.
pub const LOSS_COLOURS: [(f64, &str, &str); 7] = [
    (0.0, "#26ff00", "0 %"),
    (5.0, "#00b8ff", "up to 5 %"),
    (10.0, "#0059ff", "up to 10 %"),
    (15.0, "#5e00ff", "up to 15 %"),
    (49.99, "#7e00ff", "under 50 %"),
    (94.99, "#dd00ff", "under 95 %"),
    (100.0, "#ff0000", "95 % or more"),
];

/// The colour of `loss` percent; grey when it was not measured.
fn loss_colour(loss: Option<f64>) -> &'static str {
    let Some(l) = loss else { return "#bbb" };
    LOSS_COLOURS
        .iter()
        .find(|(bound, _, _)| l <= *bound)
        .map_or("#ff0000", |(_, colour, _)| colour)
}

/// A round ceiling for an axis of `max` ms.
fn nice(max: f64) -> f64 {
    // The largest power of ten not above `max` (at least 1), by multiplying:
    // exact for the powers, and no libm (`powf`, `log10`) linked for one axis.
    let mut magnitude = 1.0;
    while max.is_finite() && magnitude * 10.0 <= max {
        magnitude *= 10.0;
    }
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

/// Internet RTT per day, the median as a line and the band up to the 95th
/// percentile, with the day's loss as a strip in SmokePing's colours.
pub fn latency(r: &Report) -> Markup {
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 140.0;
    let top = nice(
        r.days
            .iter()
            .filter_map(|d| d.latency.internet_ms.p95)
            .fold(1.0, f64::max),
    );
    let y = |ms: f64| BOTTOM - ms.min(top) / top * (BOTTOM - TOP);
    let n = r.days.len().max(1) as f64;
    let mid = |i: usize| (i as f64 + 0.5) / n * 100.0;
    let medians: Vec<(usize, f64)> = r
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.latency.internet_ms.p50.map(|m| (i, m)))
        .collect();
    html! {
        svg.chart #latency width="100%" height="186" role="img" aria-label="internet latency and loss per day" {
            line.grid x1="0" y1=(TOP) x2="100%" y2=(TOP) {}
            text x="2" y=(TOP - 4.0) { (format!("{top} ms")) }
            line.axis x1="0" y1=(BOTTOM) x2="100%" y2=(BOTTOM) {}
            text x="2" y=(BOTTOM - 4.0) { "0 ms" }
            @for (i, d) in r.days.iter().enumerate() {
                @let x = (i as f64 + 0.1) / n * 100.0;
                @let w = 0.8 / n * 100.0;
                @if let (Some(p50), Some(p95)) = (d.latency.internet_ms.p50, d.latency.internet_ms.p95) {
                    rect.band x=(pc(x)) y=(format!("{:.1}", y(p95))) width=(pc(w)) height=(format!("{:.1}", (y(p50) - y(p95)).max(1.0))) {
                        title { (d.date) ": median " (format!("{p50:.1}")) " ms, 95th percentile " (format!("{p95:.1}")) " ms" }
                    }
                }
                rect.loss x=(pc(x)) y=(BOTTOM + 8.0) width=(pc(w)) height="12" fill=(loss_colour(d.latency.loss_pct)) {
                    title { (d.date) ": loss " (pct(d.latency.loss_pct)) }
                }
            }
            @if medians.len() == 1 {
                @let (i, m) = medians[0];
                line.median x1=(pc(mid(i) - 40.0 / n)) y1=(format!("{:.1}", y(m))) x2=(pc(mid(i) + 40.0 / n)) y2=(format!("{:.1}", y(m))) {}
            }
            @for w in medians.windows(2) {
                line.median x1=(pc(mid(w[0].0))) y1=(format!("{:.1}", y(w[0].1))) x2=(pc(mid(w[1].0))) y2=(format!("{:.1}", y(w[1].1))) {}
            }
            g transform="translate(0,178)" { (day_labels(&r.days)) }
        }
    }
}

/// Outage starts by local hour, each bar with its count.
pub fn hours(r: &Report) -> Markup {
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 140.0;
    let most = r.starts_by_hour.iter().copied().max().unwrap_or(0).max(1);
    html! {
        svg.chart #hours width="100%" height="162" role="img" aria-label="outage starts by hour of day, with counts" {
            line.axis x1="0" y1=(BOTTOM) x2="100%" y2=(BOTTOM) {}
            @for (h, c) in r.starts_by_hour.iter().enumerate() {
                @let height = f64::from(*c) / f64::from(most) * (BOTTOM - TOP);
                @let x = (h as f64 + 0.5) / 24.0 * 100.0;
                rect.hour x=(pc(h as f64 / 24.0 * 100.0 + 0.5)) y=(format!("{:.1}", BOTTOM - height)) width=(pc(100.0 / 24.0 - 1.0)) height=(format!("{:.1}", height.max(0.5))) {
                    title { (format!("{h:02}:00-{h:02}:59")) ": " (c) " outage starts" }
                }
                text.count x=(pc(x)) y=(format!("{:.1}", BOTTOM - height - 4.0)) text-anchor="middle" { (c) }
                text x=(pc(x)) y=(BOTTOM + 14.0) text-anchor="middle" { (format!("{h:02}")) }
            }
        }
    }
}

/// The key to the outage colours.
pub fn sides_legend() -> Markup {
    html! {
        ul.legend {
            @for side in Side::ALL {
                li { i class=(side_class(Some(side))) {} (side.label()) " (" (side.causes().join(", ")) ")" }
            }
            li { i.maintenance {} "in a maintenance window (counted)" }
            li { i.gap {} "monitoring gap (not monitored)" }
        }
    }
}

/// The key to the loss colours.
pub fn loss_legend() -> Markup {
    html! {
        ul.legend {
            li { "loss:" }
            @for (_, colour, words) in LOSS_COLOURS {
                li { i style={"background:" (colour)} {} (words) }
            }
            li { i style="background:#bbb" {} "not measured" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_takes_smokepings_colours_and_axes_round_up() {
        assert_eq!(loss_colour(Some(0.0)), "#26ff00");
        assert_eq!(loss_colour(Some(5.0)), "#00b8ff");
        assert_eq!(loss_colour(Some(7.0)), "#0059ff");
        assert_eq!(loss_colour(Some(20.0)), "#7e00ff");
        assert_eq!(loss_colour(Some(60.0)), "#dd00ff");
        assert_eq!(loss_colour(Some(100.0)), "#ff0000");
        assert_eq!(loss_colour(None), "#bbb");
        assert_eq!(nice(23.0), 25.0);
        assert_eq!(nice(101.0), 200.0);
        assert_eq!(nice(0.3), 1.0);
        assert_eq!(nice(1000.0), 1000.0);
        assert_eq!(nice(1001.0), 2000.0);
        assert_eq!(nice(f64::INFINITY), 10.0);
        let offset = FixedOffset::east_opt(3600).unwrap();
        let from = DateTime::parse_from_rfc3339("2026-11-02T00:00:00+01:00")
            .unwrap()
            .timestamp();
        let week = ticks(from, from + 7 * 86_400, offset);
        assert_eq!(week.first().map(|t| t.1.as_str()), Some("2 Nov"));
        assert!(week.len() <= 8, "{week:?}");
        let hours = ticks(from + 600, from + 6 * 3600, offset);
        assert_eq!(hours.first().map(|t| t.1.as_str()), Some("01:00"));
    }
}
