//! The report as aligned text that fits 100 columns.

use std::fmt::Write;

use super::model::{Percentiles, Report, Side};
use crate::timefmt::hms;

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}{unit}"))
}

fn pcts(p: &Percentiles) -> String {
    format!(
        "{:>9} {:>9} {:>9}",
        opt(p.p50, ""),
        opt(p.p95, ""),
        opt(p.p99, "")
    )
}

/// Renders `r`.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    headline(&mut o, r);
    figures(&mut o, r);
    distribution(&mut o, r);
    listing(&mut o, r);
    o
}

/// The title, the summary and the headline figures.
fn headline(w: &mut String, r: &Report) {
    let _ = writeln!(w, "CONNECTIVITY REPORT\n");
    for line in textwrap(&r.summary, 98) {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(w);
    if let Some(p) = &r.period {
        let _ = writeln!(w, "{:<30}{} to {}", "Period", p.from, p.to);
    }
    let mut rows: Vec<(String, String)> = vec![
        ("Check interval".into(), format!("{} s", r.interval_s)),
        (
            "Checks expected / present".into(),
            format!("{} / {}", r.checks_expected, r.checks_present),
        ),
        ("Monitored time".into(), hms(r.monitored_s)),
    ];
    for side in Side::ALL {
        let f = r.sides.get(side);
        rows.push((
            match side {
                Side::Isp => "Availability against the ISP".into(),
                _ => format!("Availability, {}", side.label()),
            },
            format!(
                "{:<10}{} outage{}, {}",
                opt(f.availability_pct, " %"),
                f.count,
                if f.count == 1 { "" } else { "s" },
                hms(f.downtime_s)
            ),
        ));
    }
    rows.extend([
        (
            "Availability, all sides".into(),
            opt(r.availability_pct, " %"),
        ),
        ("Outage time".into(), hms(r.downtime_s)),
        ("Outages".into(), r.outages.count.to_string()),
        ("In maintenance (counted)".into(), hms(r.maintenance_s)),
        ("Time DEGRADED".into(), hms(r.degraded_s)),
        (
            "Monitoring gaps".into(),
            format!(
                "{} ({} not monitored)",
                r.gaps.len(),
                hms(r.gaps.iter().map(|g| g.seconds).sum())
            ),
        ),
    ]);
    for (k, v) in rows {
        let _ = writeln!(w, "{k:<30}{v}");
    }
    let f = &r.outages;
    let _ = writeln!(
        w,
        "{:<30}mean {}, median {}, longest {}",
        "Outage durations",
        f.mean_s.map_or("-".into(), hms),
        f.median_s.map_or("-".into(), hms),
        f.longest_s.map_or("-".into(), hms),
    );
    let _ = writeln!(
        w,
        "{:<30}{}",
        "Mean time between outages",
        f.mean_time_between_s.map_or("-".into(), hms)
    );
}

/// Outages by cause, latency percentiles and peak against off-peak.
fn figures(w: &mut String, r: &Report) {
    let _ = writeln!(
        w,
        "\nBY CAUSE\n{:<12}{:<18}{:>8}{:>20}",
        "cause", "counts", "count", "total"
    );
    for (cause, c) in &r.outages.by_cause {
        let side = Side::of(cause).map_or("overall only", Side::label);
        let _ = writeln!(
            w,
            "{cause:<12}{side:<18}{:>8}{:>20}",
            c.count,
            hms(c.total_s)
        );
    }
    let _ = writeln!(
        w,
        "\nLATENCY (ms)                    p50       p95       p99"
    );
    let l = &r.latency;
    for (k, p) in [
        ("gateway", &l.gateway_ms),
        ("ISP hops", &l.isp_ms),
        ("internet", &l.internet_ms),
    ] {
        let _ = writeln!(w, "{k:<28}{}", pcts(p));
    }
    let _ = writeln!(w, "{:<28}{}", "loss (mean)", opt(l.loss_pct, " %"));
    let _ = writeln!(
        w,
        "\nPEAK ({}) vs OFF-PEAK   ISP avail.  all avail.      loss   internet p50/p95/p99 ms",
        r.peak.hours
    );
    for (k, p) in [("peak", &r.peak.peak), ("off-peak", &r.peak.off_peak)] {
        let _ = writeln!(
            w,
            "{k:<22}{:>12}{:>12}{:>10}   {}",
            opt(p.sides.isp.availability_pct, " %"),
            opt(p.availability_pct, " %"),
            opt(p.loss_pct, " %"),
            pcts(&p.internet_ms)
        );
    }
}

/// Outage starts by hour and weekday, and one line per day.
fn distribution(w: &mut String, r: &Report) {
    let _ = writeln!(w, "\nOUTAGE STARTS BY HOUR (local)");
    let _ = writeln!(
        w,
        "{}",
        (0..24).map(|h| format!("{h:>4}")).collect::<String>()
    );
    let _ = writeln!(
        w,
        "{}",
        r.starts_by_hour
            .iter()
            .map(|c| format!("{c:>4}"))
            .collect::<String>()
    );
    let _ = writeln!(
        w,
        "\nOUTAGE STARTS BY WEEKDAY\n     Mon  Tue  Wed  Thu  Fri  Sat  Sun"
    );
    let _ = writeln!(
        w,
        "   {}",
        r.starts_by_weekday
            .iter()
            .map(|c| format!("{c:>5}"))
            .collect::<String>()
    );
    let _ = writeln!(
        w,
        "\nDAYS\n{:<12}{:>8}{:>12}{:>12}{:>16}{:>10}{:>14}",
        "date", "checks", "ISP avail.", "all avail.", "outage", "loss", "internet p50"
    );
    for d in &r.days {
        let _ = writeln!(
            w,
            "{:<12}{:>8}{:>12}{:>12}{:>16}{:>10}{:>14}",
            d.date,
            d.checks,
            opt(d.sides.isp.availability_pct, " %"),
            opt(d.availability_pct, " %"),
            hms(d.downtime_s),
            opt(d.latency.loss_pct, " %"),
            opt(d.latency.internet_ms.p50, "")
        );
    }
}

/// Every outage and gap, how it is counted, and the warnings.
fn listing(w: &mut String, r: &Report) {
    let _ = writeln!(w, "\nOUTAGES");
    for o in &r.outage_list {
        let side = o.side.map_or("overall only", |s| s.label());
        let _ = writeln!(
            w,
            "{} to {} {:>13} {} ({side})",
            o.start,
            o.end,
            hms(o.duration_s),
            o.cause
        );
        if o.maintenance {
            let _ = writeln!(w, "    in a maintenance window: counted, and marked");
        }
        for line in textwrap(&o.detail, 94) {
            let _ = writeln!(w, "    {line}");
        }
    }
    if !r.gaps.is_empty() {
        let _ = writeln!(w, "\nMONITORING GAPS (not counted)");
        for g in &r.gaps {
            let _ = writeln!(w, "{} to {}  {}", g.from, g.to, hms(g.seconds));
        }
    }
    let _ = writeln!(w, "\nHOW IT IS COUNTED");
    for line in textwrap(&r.method, 98) {
        let _ = writeln!(w, "{line}");
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(w, "\nWARNINGS");
        for x in &r.warnings {
            let _ = writeln!(w, "{x}");
        }
    }
}

/// Words wrapped at `width` columns.
fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
