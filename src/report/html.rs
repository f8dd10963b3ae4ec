//! The report as one self-contained HTML page: no script, no font, no style
//! sheet from elsewhere, so it opens from a mail attachment with no network.
//! It reads on a phone (tables turn into stacked rows, charts keep their
//! labels' size) and prints on A4 with the host and period on every page.
//! Figures are shown in units for people; each keeps its exact JSON value in
//! `data-value`, so a script (or a test) can still check it.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::charts;
use super::model::{Percentiles, Report, Side};
use super::words;
use crate::claim::Rule;
use crate::timefmt::human;

const STYLE: &str = include_str!("report.css");

/// A percentage for people.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} %"))
}

/// Milliseconds for people.
fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}

/// `text` with every number kept beside its unit: a line never breaks
/// between "15" and "min".
fn unbroken(text: &str) -> String {
    const UNITS: [&str; 6] = ["%", "s", "min", "h", "d", "ms"];
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = String::with_capacity(text.len());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let number_before = words[i - 1].ends_with(|c: char| c.is_ascii_digit());
            let unit = UNITS.contains(&w.trim_end_matches([',', '.', ';', ':', ')']));
            out.push(if number_before && unit { '\u{a0}' } else { ' ' });
        }
        out.push_str(w);
    }
    out
}

/// `text` as the contents of a CSS string.
fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' | '<' | '>' | '&' => out.push_str(&format!("\\{:x} ", c as u32)),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The running head of every printed page: the host, and the period.
fn page_head(r: &Report) -> String {
    let period = r
        .period
        .as_ref()
        .map_or_else(String::new, words::period_short);
    format!(
        "@page{{@top-left{{content:{};font:9pt system-ui,sans-serif;color:#444}}@top-right{{content:{};font:9pt system-ui,sans-serif;color:#444}}@bottom-right{{content:\"page \" counter(page) \" of \" counter(pages);font:9pt system-ui,sans-serif;color:#444}}}}",
        css_string(&format!("Connectivity report · {}", r.host)),
        css_string(&period)
    )
}

/// Renders `r`.
pub fn render(r: &Report) -> String {
    let period = r.period.as_ref().map(words::period_short);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Connectivity report · " (r.host) @if let Some(p) = &period { " · " (p) } }
                style { (PreEscaped(STYLE)) }
                style { (PreEscaped(page_head(r))) }
            }
            body {
                header {
                    h1 { "Connectivity report" }
                    p.meta {
                        span #host { (r.host) }
                        @if let Some(p) = &period { " · " span #period { (p) } }
                        " · times in " span #zone { (r.time_zone) }
                    }
                }
                p.summary #summary { (unbroken(&r.summary)) }
                section { h2 { "Key figures" } (figures(r)) }
                section.chart-section {
                    h2 { "Outages over the period" }
                    (charts::sides_legend())
                    (charts::timeline(r))
                }
                section.chart-section {
                    h2 { "Availability per day" }
                    p.note { "Each bar is a day: available time in green from the axis floor, and above it the outage time of each side in its colour, up to 100 %." }
                    (charts::days(r))
                }
                section.chart-section {
                    h2 { "Internet latency and loss per day" }
                    p.note { "The line is the median round-trip time, the band reaches the 95th percentile; the strip below is the day's mean loss, coloured as SmokePing does." }
                    (charts::latency(r))
                    (charts::loss_legend())
                }
                section.chart-section {
                    h2 { "Outage starts by hour of day" }
                    (charts::hours(r))
                }
                section { h2 { "Latency and loss" } (latency_tables(r)) }
                section.new-page { h2 { "Outages" } (outage_table(r)) }
                @if !r.gaps.is_empty() {
                    section { h2 { "Monitoring gaps (not counted)" } (gap_table(r)) }
                }
                @if !r.claims.tickets.is_empty() || !matches!(r.claims.terms, Rule::None) {
                    section.new-page #claims { h2 { "Claims" } (claims(r)) }
                }
                @if !r.files_read.is_empty() {
                    section { h2 { "Files read" } (files(r)) }
                }
                section { h2 { "How it is counted" } p #method { (unbroken(&r.method)) } }
                @if !r.warnings.is_empty() {
                    section { h2 { "Warnings" } ul #warnings { @for w in &r.warnings { li { (w) } } } }
                }
            }
        }
    };
    page.into_string()
}

/// One row of the key figures: a label, a figure for people, and its JSON
/// name and exact value.
fn figure(label: &str, name: &str, value: impl std::fmt::Display, shown: &str) -> Markup {
    html! { tr { td { (label) } td.num data-figure=(name) data-value=(value.to_string()) { (shown) } } }
}

fn figures(r: &Report) -> Markup {
    let f = &r.outages;
    let gap_s: f64 = r.gaps.iter().map(|g| g.seconds).sum();
    let or_dash = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), human);
    html! {
        table.figures #figures {
            @for side in Side::ALL {
                @let s = r.sides.get(side);
                tr class=[(side == Side::Isp).then_some("headline")] {
                    td { (if side == Side::Isp { "Availability against the ISP".to_owned() } else { format!("Availability, {}", side.label()) }) }
                    td.num data-figure={"sides." (side.key()) ".availability_pct"} data-value=(s.availability_pct.map_or("null".into(), |v| v.to_string())) {
                        (pct(s.availability_pct)) " · " (s.count) (if s.count == 1 { " outage, " } else { " outages, " }) (human(s.downtime_s))
                    }
                }
            }
            @if r.families.len() > 1 {
                @for (family, v) in &r.families {
                    (figure(&format!("Availability, {}", words::family(family)), &format!("families.{family}.availability_pct"), v.availability_pct.map_or("null".into(), |a| a.to_string()), &format!("{} · {} cut off · internet median {}", pct(v.availability_pct), human(v.downtime_s), ms(v.internet_ms.p50))))
                }
            }
            (figure("Availability, all sides", "availability_pct", r.availability_pct.map_or("null".into(), |v| v.to_string()), &pct(r.availability_pct)))
            (figure("Outages, all sides", "outages.count", f.count, &f.count.to_string()))
            (figure("Outage time, all sides", "downtime_s", r.downtime_s, &human(r.downtime_s)))
            (figure("Of which in maintenance windows (counted)", "maintenance_s", r.maintenance_s, &human(r.maintenance_s)))
            (figure("Monitored time", "monitored_s", r.monitored_s, &human(r.monitored_s)))
            (figure("Checks present", "checks_present", r.checks_present, &format!("{} of {} expected", r.checks_present, r.checks_expected)))
            (figure("Monitoring gaps", "gaps", r.gaps.len(), &format!("{} ({} not monitored)", r.gaps.len(), human(gap_s))))
            (figure("Time DEGRADED", "degraded_s", r.degraded_s, &human(r.degraded_s)))
            tr { td { "Outage length: mean, median, longest" } td.num { (or_dash(f.mean_s)) ", " (or_dash(f.median_s)) ", " (or_dash(f.longest_s)) } }
            tr { td { "Mean time between outages" } td.num { (or_dash(f.mean_time_between_s)) } }
            @for (cause, c) in &f.by_cause {
                tr { td { (cause) } td.num data-figure={"outages.by_cause." (cause) ".count"} data-value=(c.count) { (c.count) " · " (human(c.total_s)) } }
            }
        }
    }
}

fn pct_cells(p: &Percentiles) -> Markup {
    html! { td.num data-label="median" { (ms(p.p50)) } td.num data-label="95th" { (ms(p.p95)) } td.num data-label="99th" { (ms(p.p99)) } }
}

fn latency_tables(r: &Report) -> Markup {
    let l = &r.latency;
    html! {
        table.stack #latency-figures {
            thead { tr { th { "round-trip time" } th.num { "median" } th.num { "95th percentile" } th.num { "99th percentile" } } }
            tbody {
                tr { td data-label="to" { "gateway" } (pct_cells(&l.gateway_ms)) }
                tr { td data-label="to" { "ISP hops" } (pct_cells(&l.isp_ms)) }
                tr { td data-label="to" { "internet" } (pct_cells(&l.internet_ms)) }
            }
        }
        p { "Mean loss to the internet hosts: " span data-figure="latency.loss_pct" data-value=(l.loss_pct.map_or("null".into(), |v| v.to_string())) { (pct(l.loss_pct)) } }
        table.stack #peak {
            thead { tr { th { "part of the day" } th.num { "against the ISP" } th.num { "all sides" } th.num { "loss" } th.num { "internet median" } th.num { "95th" } } }
            tbody {
                @for (k, p) in [(format!("evening peak {}", r.peak.hours), &r.peak.peak), ("rest of the day".to_owned(), &r.peak.off_peak)] {
                    tr {
                        td data-label="part" { (k) }
                        td.num data-label="against the ISP" { (pct(p.sides.isp.availability_pct)) }
                        td.num data-label="all sides" { (pct(p.availability_pct)) }
                        td.num data-label="loss" { (pct(p.loss_pct)) }
                        td.num data-label="median" { (ms(p.internet_ms.p50)) }
                        td.num data-label="95th" { (ms(p.internet_ms.p95)) }
                    }
                }
            }
        }
    }
}

fn outage_table(r: &Report) -> Markup {
    html! {
        @if r.outage_list.is_empty() { p { "No outage in this period." } }
        @else {
            table.stack #outages {
                thead { tr { th { "start" } th { "end" } th.num { "duration" } th { "cause" } th { "where it broke" } } }
                tbody {
                    @for o in &r.outage_list {
                        tr.outage-row {
                            td.start data-label="start" { (words::when(&o.start)) }
                            td.end data-label="end" { (words::until(&o.start, &o.end)) }
                            td.num.duration data-label="duration" data-value=(o.duration_s) { (unbroken(&human(o.duration_s))) }
                            td.cause data-label="cause" {
                                i class=(format!("dot {}", charts::side_class(o.side))) {}
                                (o.cause) " · " (o.side.map_or("overall only", Side::label))
                                @if o.maintenance { span.mark { "maintenance window, counted" } }
                            }
                            td.detail data-label="where" {
                                (o.detail)
                                @if let Some(p) = &o.path { pre.path { (p) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Each ticket of the period, as the text report says it.
fn claims(r: &Report) -> Markup {
    let c = &r.claims;
    let null = |v: Option<f64>| v.map_or("null".into(), |v| v.to_string());
    html! {
        p.note #claim-rule { (unbroken(&c.rule_text)) }
        @if c.tickets.is_empty() { p { "No fault ticket was open during the period." } }
        @for t in &c.tickets {
            h3 { (t.reference) }
            table.figures.claim data-ref=(t.reference) data-amount=(null(t.amount)) data-total-loss-s=(t.total_loss_s) {
                @for (label, value) in super::claims::lines(t, c) {
                    tr { td { (label) } td { (unbroken(&value)) } }
                }
            }
        }
        @if let Some(total) = c.total_amount {
            p.total { "Total owed: " span data-figure="claims.total_amount" data-value=(total) { (super::claims::money(c.currency.as_deref(), total)) } }
        }
    }
}

/// Each file read, with what checks a copy of it.
fn files(r: &Report) -> Markup {
    html! {
        p.note { "A copy handed on is checked with " code { "sha256sum FILE" } "; a log that has grown since, on its first bytes: " code { "head -c BYTES FILE | sha256sum" } "." }
        table.stack #files {
            thead { tr { th { "file" } th.num { "rows" } th.num { "bytes" } th { "SHA-256" } } }
            tbody {
                @for f in &r.files_read {
                    tr {
                        td data-label="file" { (f.file) }
                        td.num data-label="rows" { (f.rows) }
                        td.num data-label="bytes" { (f.bytes) }
                        td.sha data-label="SHA-256" { (f.sha256) }
                    }
                }
            }
        }
    }
}

fn gap_table(r: &Report) -> Markup {
    html! {
        table.stack #gaps {
            thead { tr { th { "from" } th { "to" } th.num { "length" } } }
            tbody {
                @for g in &r.gaps {
                    tr {
                        td data-label="from" { (words::when(&g.from)) }
                        td data-label="to" { (words::until(&g.from, &g.to)) }
                        td.num data-label="length" data-value=(g.seconds) { (unbroken(&human(g.seconds))) }
                    }
                }
            }
        }
    }
}
