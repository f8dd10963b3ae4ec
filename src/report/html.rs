//! The report as one self-contained HTML page: no script, no font, no style
//! sheet from elsewhere, so it opens from a mail attachment with no network;
//! charts are inline SVG, readable when printed to PDF.

use chrono::DateTime;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::model::{Percentiles, Report, Side};
use crate::timefmt::hms;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.15em .8em;text-align:right;border-bottom:1px solid #eee}
td:first-child,th:first-child{text-align:left}.summary{font-size:1.1em;background:#f4f6f8;padding:.8em;border-radius:4px}
svg{width:100%;height:auto;background:#fafafa;border:1px solid #ddd}pre{font-size:11px;background:#f4f4f4;padding:.5em;overflow-x:auto}
.LAN_DOWN{fill:#8e44ad}.ISP_DOWN{fill:#c0392b}.WAN_DOWN{fill:#e67e22}.DNS_FAIL{fill:#2980b9}.HTTP_FAIL{fill:#16a085}.maintenance{fill:#aaa}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
@media print{body{margin:0;max-width:none}svg{break-inside:avoid}}
";

const CAUSES: [(&str, &str); 6] = [
    ("LAN_DOWN", "#8e44ad"),
    ("ISP_DOWN", "#c0392b"),
    ("WAN_DOWN", "#e67e22"),
    ("DNS_FAIL", "#2980b9"),
    ("HTTP_FAIL", "#16a085"),
    ("maintenance", "#aaa"),
];

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// Renders `r`.
pub fn render(r: &Report) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Connectivity report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Connectivity report" }
                p.summary #summary { (r.summary) }
                (figures(r))
                h2 { "Outages over the period" }
                (legend())
                (timeline(r))
                h2 { "Availability per day" }
                (day_bars(r))
                h2 { "Internet latency per day" }
                p { "Median round-trip time (line), the band up to the 95th percentile, and loss as colour: light none, dark much; black marks a day with no answer at all (100 % loss)." }
                (latency(r))
                h2 { "Outage starts by hour of day" }
                (hours(r))
                h2 { "Latency and loss" }
                (latency_table(r))
                h2 { "Outages" }
                (outage_table(r))
                @if !r.gaps.is_empty() {
                    h2 { "Monitoring gaps (not counted)" }
                    table { tr { th { "from" } th { "to" } th { "length" } }
                        @for g in &r.gaps { tr { td { (g.from) } td { (g.to) } td { (hms(g.seconds)) } } } }
                }
                h2 { "How it is counted" }
                p #method { (r.method) }
                @if !r.warnings.is_empty() {
                    h2 { "Warnings" }
                    ul { @for w in &r.warnings { li { (w) } } }
                }
            }
        }
    };
    page.into_string()
}

fn figures(r: &Report) -> Markup {
    let f = &r.outages;
    html! {
        table #figures {
            @if let Some(p) = &r.period { tr { td { "Period" } td { (p.from) " to " (p.to) } } }
            @for side in Side::ALL {
                @let f = r.sides.get(side);
                tr { td { "Availability " (side.label()) } td data-figure={"sides." (side.key()) ".availability_pct"} { (num(f.availability_pct)) } }
            }
            tr { td { "Availability, all sides" } td data-figure="availability_pct" { (num(r.availability_pct)) } }
            tr { td { "Outages" } td data-figure="outages.count" { (f.count) } }
            tr { td { "Outage time (s)" } td data-figure="downtime_s" { (r.downtime_s) } }
            tr { td { "In maintenance windows, counted (s)" } td data-figure="maintenance_s" { (r.maintenance_s) } }
            tr { td { "Monitored time (s)" } td data-figure="monitored_s" { (r.monitored_s) } }
            tr { td { "Checks expected / present" } td { span data-figure="checks_expected" { (r.checks_expected) } " / " span data-figure="checks_present" { (r.checks_present) } } }
            tr { td { "Monitoring gaps" } td data-figure="gaps" { (r.gaps.len()) } }
            tr { td { "Time DEGRADED (s)" } td data-figure="degraded_s" { (r.degraded_s) } }
            tr { td { "Mean / median / longest outage (s)" } td { (num(f.mean_s)) " / " (num(f.median_s)) " / " (num(f.longest_s)) } }
            @for (cause, c) in &f.by_cause {
                tr { td { (cause) } td data-figure={"outages.by_cause." (cause) ".count"} { (c.count) } }
            }
        }
    }
}

fn legend() -> Markup {
    html! { p.legend { @for (c, colour) in CAUSES { span { i style={"background:" (colour)} {} (c) } } } }
}

/// Seconds since the period's start, for x positions.
fn period_bounds(r: &Report) -> Option<(i64, i64)> {
    let p = r.period.as_ref()?;
    let from = DateTime::parse_from_rfc3339(&p.from).ok()?.timestamp();
    let to = DateTime::parse_from_rfc3339(&p.to).ok()?.timestamp();
    Some((from, to.max(from + 1)))
}

fn timeline(r: &Report) -> Markup {
    const W: f64 = 1000.0;
    let (from, to) = period_bounds(r).unwrap_or((0, 1));
    let x = |t: i64| (t - from) as f64 / (to - from) as f64 * W;
    html! {
        svg #timeline viewBox="0 0 1000 60" role="img" aria-label="outages over the period" {
            rect x="0" y="20" width="1000" height="20" fill="#dfe8df" {}
            @for o in &r.outage_list {
                @if let (Ok(s), Ok(e)) = (DateTime::parse_from_rfc3339(&o.start), DateTime::parse_from_rfc3339(&o.end)) {
                    rect class=(format!("outage {}", if o.maintenance { "maintenance" } else { o.cause.as_str() }))
                        x=(format!("{:.2}", x(s.timestamp()))) y="14" height="32"
                        width=(format!("{:.2}", (x(e.timestamp()) - x(s.timestamp())).max(1.5))) {
                        title { (o.cause) " " (o.start) " (" (hms(o.duration_s)) ")" }
                    }
                }
            }
            text x="0" y="58" font-size="10" { (r.period.as_ref().map_or("", |p| p.from.as_str())) }
            text x="1000" y="58" font-size="10" text-anchor="end" { (r.period.as_ref().map_or("", |p| p.to.as_str())) }
        }
    }
}

fn day_bars(r: &Report) -> Markup {
    let n = r.days.len().max(1) as f64;
    let lowest = r
        .days
        .iter()
        .filter_map(|d| d.availability_pct)
        .fold(100.0f64, f64::min);
    let floor = (lowest - 1.0).floor().clamp(0.0, 99.0);
    let h = |a: f64| (a - floor) / (100.0 - floor) * 150.0;
    html! {
        svg #days viewBox="0 0 1000 180" role="img" aria-label="availability per day" {
            text x="2" y="12" font-size="10" { "100 %" }
            text x="2" y="168" font-size="10" { (floor) " %" }
            @for (i, d) in r.days.iter().enumerate() {
                @let a = d.availability_pct.unwrap_or(100.0);
                rect.day x=(format!("{:.2}", 40.0 + i as f64 * 960.0 / n)) y=(format!("{:.2}", 160.0 - h(a)))
                    width=(format!("{:.2}", (960.0 / n * 0.8).max(0.5))) height=(format!("{:.2}", h(a).max(0.5)))
                    fill=(if a >= 99.9 { "#27ae60" } else if a >= 99.0 { "#f1c40f" } else { "#c0392b" }) {
                    title { (d.date) ": " (num(d.availability_pct)) " %" }
                }
            }
        }
    }
}

fn loss_colour(loss: Option<f64>, answered: bool) -> &'static str {
    if !answered {
        return "#000";
    }
    match loss.unwrap_or(0.0) {
        l if l < 1.0 => "#cfe3f5",
        l if l < 5.0 => "#7fb2e0",
        l if l < 20.0 => "#2e6fad",
        _ => "#123a63",
    }
}

fn latency(r: &Report) -> Markup {
    let n = r.days.len().max(1) as f64;
    let top = r
        .days
        .iter()
        .filter_map(|d| d.latency.internet_ms.p95)
        .fold(1.0f64, f64::max);
    let y = |ms: f64| 150.0 - ms / top * 140.0;
    let xs = |i: usize| 40.0 + (i as f64 + 0.5) * 960.0 / n;
    // One point per day that has the chosen percentile.
    let points = |pick: fn(&Percentiles) -> Option<f64>| -> Vec<String> {
        r.days
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                pick(&d.latency.internet_ms).map(|m| format!("{:.1},{:.1}", xs(i), y(m)))
            })
            .collect()
    };
    let median = points(|p| p.p50);
    let band_top = points(|p| p.p95);
    let band_bottom: Vec<String> = median.iter().rev().cloned().collect();
    html! {
        svg #latency viewBox="0 0 1000 180" role="img" aria-label="internet latency per day" {
            text x="2" y="14" font-size="10" { (format!("{top:.1} ms")) }
            text x="2" y="152" font-size="10" { "0" }
            polygon.band points=(band_top.iter().chain(&band_bottom).cloned().collect::<Vec<_>>().join(" ")) fill="#e3ecf7" {}
            polyline.median points=(median.join(" ")) fill="none" stroke="#2c3e50" stroke-width="1.5" {}
            @for (i, d) in r.days.iter().enumerate() {
                rect.loss x=(format!("{:.2}", xs(i) - 960.0 / n * 0.4)) y="160" width=(format!("{:.2}", (960.0 / n * 0.8).max(0.5))) height="14"
                    fill=(loss_colour(d.latency.loss_pct, d.latency.internet_ms.p50.is_some())) {
                    title { (d.date) ": loss " (num(d.latency.loss_pct)) " %" }
                }
            }
        }
    }
}

fn hours(r: &Report) -> Markup {
    let top = r.starts_by_hour.iter().copied().max().unwrap_or(0).max(1) as f64;
    html! {
        svg #hours viewBox="0 0 1000 170" role="img" aria-label="outage starts by hour of day" {
            @for (h, c) in r.starts_by_hour.iter().enumerate() {
                @let height = f64::from(*c) / top * 130.0;
                rect.hour x=(format!("{:.1}", 10.0 + h as f64 * 41.0)) y=(format!("{:.1}", 140.0 - height)) width="35" height=(format!("{:.1}", height.max(0.5))) fill="#e67e22" {
                    title { (format!("{h:02}:00")) ": " (c) }
                }
                text x=(format!("{:.1}", 27.5 + h as f64 * 41.0)) y="158" font-size="11" text-anchor="middle" { (h) }
            }
        }
    }
}

fn pct_cells(p: &Percentiles) -> Markup {
    html! { td { (num(p.p50)) } td { (num(p.p95)) } td { (num(p.p99)) } }
}

fn latency_table(r: &Report) -> Markup {
    let l = &r.latency;
    html! {
        table #latency-figures {
            tr { th { "ms" } th { "p50" } th { "p95" } th { "p99" } }
            tr { td { "gateway" } (pct_cells(&l.gateway_ms)) }
            tr { td { "ISP hops" } (pct_cells(&l.isp_ms)) }
            tr { td { "internet" } (pct_cells(&l.internet_ms)) }
        }
        p { "Mean loss: " span data-figure="latency.loss_pct" { (num(l.loss_pct)) } " %" }
        table #peak {
            tr { th { "" } th { "availability %" } th { "loss %" } th { "internet p50" } th { "p95" } th { "p99" } }
            @for (k, p) in [(format!("peak {}", r.peak.hours), &r.peak.peak), ("off-peak".to_owned(), &r.peak.off_peak)] {
                tr { td { (k) } td { (num(p.availability_pct)) } td { (num(p.loss_pct)) } (pct_cells(&p.internet_ms)) }
            }
        }
    }
}

fn outage_table(r: &Report) -> Markup {
    html! {
        table #outages {
            tr { th { "start" } th { "end" } th { "duration" } th { "cause" } }
            @for o in &r.outage_list {
                tr.outage-row {
                    td { (o.start) } td { (o.end) } td { (hms(o.duration_s)) }
                    td { (o.cause) " (" (o.side.map_or("overall only", Side::label)) ")" @if o.maintenance { ", in a maintenance window (counted)" } }
                }
                tr { td colspan="4" style="text-align:left;color:#555" { (o.detail)
                    @if let Some(p) = &o.path { pre.path { (p) } } } }
            }
        }
    }
}
