//! The report as aligned text that fits 100 columns.

use std::fmt::Write;

use super::model::{Percentiles, Report, Side};
use super::words;
use crate::claim::Rule;
use crate::timefmt::human;

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
    claims(&mut o, r);
    files(&mut o, r);
    closing(&mut o, r);
    o
}

/// Each fault ticket of the period and what it is owed.
fn claims(w: &mut String, r: &Report) {
    let c = &r.claims;
    if c.tickets.is_empty() && matches!(c.terms, Rule::None) {
        return;
    }
    let _ = writeln!(w, "\nCLAIMS");
    for line in textwrap(&c.rule_text, 98) {
        let _ = writeln!(w, "{line}");
    }
    if c.tickets.is_empty() {
        let _ = writeln!(
            w,
            "No fault ticket was open during the period (`fault open` records one)."
        );
    }
    for t in &c.tickets {
        let _ = writeln!(w, "\n{}", t.reference);
        for (label, value) in super::claims::lines(t, c) {
            for (i, line) in textwrap(&value, 66).iter().enumerate() {
                let label = if i == 0 { label } else { "" };
                let _ = writeln!(w, "    {label:<30}{line}");
            }
        }
    }
    if let Some(total) = c.total_amount {
        let _ = writeln!(
            w,
            "\n{:<34}{}",
            "Total owed",
            super::claims::money(c.currency.as_deref(), total)
        );
    }
}

/// Each file read, so that a copy can be checked.
fn files(w: &mut String, r: &Report) {
    if r.files_read.is_empty() {
        return;
    }
    let _ = writeln!(w, "\nFILES READ");
    let _ = writeln!(
        w,
        "Check a copy with: sha256sum FILE; a log that has grown since, on its first bytes:"
    );
    let _ = writeln!(w, "head -c BYTES FILE | sha256sum");
    for f in &r.files_read {
        let _ = writeln!(w, "{}  {} rows, {} bytes", f.file, f.rows, f.bytes);
        let _ = writeln!(w, "    SHA-256 {}", f.sha256);
    }
}

/// The title, the summary and the headline figures.
fn headline(w: &mut String, r: &Report) {
    let _ = writeln!(w, "CONNECTIVITY REPORT · {}", r.host);
    let _ = writeln!(w, "Times in {}.\n", r.time_zone);
    for line in textwrap(&r.summary, 98) {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(w);
    if let Some(p) = &r.period {
        let _ = writeln!(w, "{:<30}{}", "Period", words::period_short(p));
    }
    for (k, v) in key_rows(r) {
        let _ = writeln!(w, "{k:<30}{v}");
    }
    let f = &r.outages;
    let _ = writeln!(
        w,
        "{:<30}mean {}, median {}, longest {}",
        "Outage durations",
        f.mean_s.map_or("-".into(), human),
        f.median_s.map_or("-".into(), human),
        f.longest_s.map_or("-".into(), human),
    );
    let _ = writeln!(
        w,
        "{:<30}{}",
        "Mean time between outages",
        f.mean_time_between_s.map_or("-".into(), human)
    );
}

/// The key figures, each (label, value), the one against the ISP first.
fn key_rows(r: &Report) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = vec![
        ("Check interval".into(), words::interval(r.interval_s)),
        (
            "Checks expected / present".into(),
            format!("{} / {}", r.checks_expected, r.checks_present),
        ),
        ("Monitored time".into(), human(r.monitored_s)),
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
                human(f.downtime_s)
            ),
        ));
    }
    // With both families, each one's own figure: an IPv6 outage is not an IPv4 one.
    if r.families.len() > 1 {
        for (family, f) in &r.families {
            rows.push((
                format!("Availability, {}", words::family(family)),
                format!(
                    "{:<10}{} cut off, internet median {}",
                    opt(f.availability_pct, " %"),
                    human(f.downtime_s),
                    opt(f.internet_ms.p50, " ms")
                ),
            ));
        }
    }
    rows.extend([
        (
            "Availability, all sides".into(),
            opt(r.availability_pct, " %"),
        ),
        ("Outage time".into(), human(r.downtime_s)),
        ("Outages".into(), r.outages.count.to_string()),
        ("In maintenance (counted)".into(), human(r.maintenance_s)),
        ("Time DEGRADED".into(), human(r.degraded_s)),
        (
            "Monitoring gaps".into(),
            format!(
                "{} ({} not monitored)",
                r.gaps.len(),
                human(r.gaps.iter().map(|g| g.seconds).sum())
            ),
        ),
    ]);
    rows
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
            human(c.total_s)
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
            human(d.downtime_s),
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
            "{} to {:<19} {:>12}  {} ({side})",
            words::when(&o.start),
            words::until(&o.start, &o.end),
            human(o.duration_s),
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
            let _ = writeln!(
                w,
                "{} to {}  {}",
                words::when(&g.from),
                words::until(&g.from, &g.to),
                human(g.seconds)
            );
        }
    }
}

/// How it is counted, and the warnings.
fn closing(w: &mut String, r: &Report) {
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

/// The words of `text`, each number kept with the unit after it ("15 min",
/// "98.93 %"), so that a line never breaks between them.
fn words_with_units(text: &str) -> Vec<String> {
    const UNITS: [&str; 6] = ["%", "s", "min", "h", "d", "ms"];
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let unit = UNITS.contains(&word.trim_end_matches([',', '.', ';', ':', ')']));
        match out.last_mut() {
            Some(last) if unit && last.ends_with(|c: char| c.is_ascii_digit()) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_owned()),
        }
    }
    out
}

/// Words wrapped at `width` columns.
fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in words_with_units(text) {
        let line = lines.last_mut().expect("one line");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word);
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_never_breaks_between_a_number_and_its_unit() {
        let lines = textwrap("down for 1 h 56 min in total, 98.93 % available", 12);
        assert_eq!(
            lines,
            [
                "down for 1 h",
                "56 min in",
                "total,",
                "98.93 %",
                "available"
            ]
        );
    }
}
