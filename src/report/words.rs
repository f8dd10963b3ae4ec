//! The report's sentences: the summary at the top and "How it is counted".
//! Every figure they name is one of the report's own, so the words and the
//! tables cannot disagree.

use chrono::{DateTime, FixedOffset, Local};

use super::model::{Period, Report, Side};
use crate::timefmt::human;

/// The check interval for people: `10 s`, `1 min`, `300 ms`.
pub fn interval(seconds: f64) -> String {
    if seconds >= 1.0 {
        human(seconds)
    } else {
        format!("{:.0} ms", seconds * 1000.0)
    }
}

/// How the figures were counted, in one paragraph.
pub fn method(seconds: f64) -> String {
    let interval = interval(seconds);
    format!(
        "Every {interval} the monitor checked the gateway, the ISP's first routers and \
         several internet hosts, and recorded one verdict per check. An outage starts after \
         consecutive failing checks (its start is the first of them) and ends after \
         consecutive good ones (its end is the first good one). A check stands for the time \
         until the next one. The period is the monitored span: from the first check to one \
         interval after the last, within the dates asked for. Monitoring gaps (no check for \
         more than three intervals: the monitor stopped or the machine slept) are listed and \
         count neither as available nor as outage time. An outage's time is its end minus its \
         start, less the monitoring gaps inside it; where two recorded outages overlap, the \
         time they share is counted once. Availability is 100 % × (1 − outage time ÷ \
         monitored time), given against the ISP (ISP_DOWN, WAN_DOWN, IPV4_DOWN, IPV6_DOWN: \
         the headline figure), for your side (LAN_DOWN), for services (DNS_FAIL, HTTP_FAIL) \
         and over all of them. Outages in announced maintenance windows are counted like any \
         other, and marked; outages made on purpose by a test are left out. Latency figures \
         are nearest-rank percentiles of the round-trip times measured in each check; loss is \
         the mean of the per-check ICMP loss to the internet hosts. Loss is judged over a \
         window of the last {window} checks: a host that answered within it and lost every \
         echo of a check counts as 100 % loss for that check, a host silent for the whole \
         window is down, not lossy, and a DNS or web timeout is an outage only while the \
         window's loss is below the threshold (random loss makes DEGRADED checks, not \
         outages). A layer counts as up while anything beyond it answers: a gateway that does \
         not answer ping while the ISP's routers or the internet do is no outage of yours. \
         With IPv4 and IPv6 targets, each family's availability counts the outages that cut \
         it off: LAN_DOWN, ISP_DOWN, WAN_DOWN and its own IPV4_DOWN or IPV6_DOWN. Each outage \
         shows only the path traces taken for it, from its first failing check to its end, \
         found by its recorded start, never by time. In a path table, Loss% is the loss the \
         later hops share (mtr's reading): what a router left unanswered beyond that is its \
         ICMP rate limit, shown as `limited N`; `echo A/S` counts echo requests sent to the \
         router's own address with that hop's TTL; `!N` and the like mark the router that \
         answered \"unreachable\", where the path ends.",
        window = crate::monitor::LOSS_WINDOW_CHECKS
    )
}

/// A time as the logs wrote it, parsed.
fn parse(stamp: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(stamp).ok()
}

/// `p` as a person says it: "on Thursday 3 December 2026 from 10:00 to
/// 10:10", or "from Monday 2 November 2026, 00:00 to Tuesday 3 November
/// 2026, 06:00".
pub fn period(p: &Period) -> String {
    let (Some(from), Some(to)) = (parse(&p.from), parse(&p.to)) else {
        return format!("from {} to {}", p.from, p.to);
    };
    let day = |t: DateTime<FixedOffset>| t.format("%A %-d %B %Y");
    if from.date_naive() == to.date_naive() {
        format!(
            "on {} from {} to {}",
            day(from),
            from.format("%H:%M"),
            to.format("%H:%M")
        )
    } else {
        format!(
            "from {}, {} to {}, {}",
            day(from),
            from.format("%H:%M"),
            day(to),
            to.format("%H:%M")
        )
    }
}

/// `p` in a few words, for a title or a page header: "2 Nov 2026 00:00 – 3
/// Nov 2026 06:00", or "3 Dec 2026 10:00 – 10:10".
pub fn period_short(p: &Period) -> String {
    let (Some(from), Some(to)) = (parse(&p.from), parse(&p.to)) else {
        return format!("{} – {}", p.from, p.to);
    };
    let start = from.format("%-d %b %Y %H:%M");
    if from.date_naive() == to.date_naive() {
        format!("{start} – {}", to.format("%H:%M"))
    } else {
        format!("{start} – {}", to.format("%-d %b %Y %H:%M"))
    }
}

/// A time the logs wrote, for a table: `2026-11-02 03:00:00` (the zone is
/// named once, at the top).
pub fn when(stamp: &str) -> String {
    parse(stamp).map_or_else(
        || stamp.to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// An end beside its start: only the time when it is the same day.
pub fn until(start: &str, end: &str) -> String {
    match (parse(start), parse(end)) {
        (Some(s), Some(e)) if s.date_naive() == e.date_naive() => e.format("%H:%M:%S").to_string(),
        _ => when(end),
    }
}

/// The zone of the report's times: `Europe/Berlin (UTC+01:00)`, with every
/// offset the period's times carry; this machine's zone name only when it is
/// the zone they were written in.
pub fn zone(r: &Report) -> String {
    let mut times: Vec<DateTime<FixedOffset>> = Vec::new();
    if let Some(p) = &r.period {
        times.extend(parse(&p.from));
        times.extend(r.outage_list.iter().filter_map(|o| parse(&o.start)));
        times.extend(parse(&p.to));
    }
    let mut offsets: Vec<FixedOffset> = Vec::new();
    for t in &times {
        if !offsets.contains(t.offset()) {
            offsets.push(*t.offset());
        }
    }
    let utc = |o: &FixedOffset| {
        let s = o.local_minus_utc();
        let sign = if s < 0 { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", s.abs() / 3600, s.abs() % 3600 / 60)
    };
    let offsets = if offsets.is_empty() {
        utc(Local::now().offset())
    } else {
        offsets.iter().map(utc).collect::<Vec<_>>().join(", then ")
    };
    let local = times.iter().all(|t| crate::timefmt::is_local(*t));
    match crate::timefmt::zone_name().filter(|_| local) {
        Some(name) => format!("{name} ({offsets})"),
        None => offsets,
    }
}

/// "no outage{what}", "1 outage{what} for 5 min 0 s", "3 outages{what} for
/// 1 h 2 min 0 s in total".
fn outages(n: u32, what: &str, seconds: f64) -> String {
    match n {
        0 => format!("no outage{what}"),
        1 => format!("1 outage{what} for {}", human(seconds)),
        n => format!("{n} outages{what} for {} in total", human(seconds)),
    }
}

/// The claims in one sentence, if there is a ticket: " 1 fault ticket was
/// open during the period: GBP 49.90 owed under uk-ofcom (see Claims)."
fn claims(c: &super::model::Claims) -> String {
    let n = c.tickets.len();
    let tickets = match n {
        0 => return String::new(),
        1 => "1 fault ticket was".to_owned(),
        n => format!("{n} fault tickets were"),
    };
    match c.total_amount {
        Some(total) => format!(
            " {tickets} open during the period: {} owed under {} (see Claims).",
            super::claims::money(c.currency.as_deref(), total),
            c.rule
        ),
        None => format!(" {tickets} open during the period (no compensation rule is configured)."),
    }
}

/// One plain-language paragraph: the ISP figure first, and saying so.
pub fn summary(r: &Report) -> String {
    let Some(p) = &r.period else {
        return "No check was recorded in this period: there is nothing to report.".into();
    };
    let pct = |a: Option<f64>| a.map_or_else(|| "not measured".into(), |a| format!("{a:.2} %"));
    let isp = &r.sides.isp;
    let mut s = format!(
        "Against the ISP, the connection was {} available {} ({} monitored): {}.",
        pct(isp.availability_pct),
        period(p),
        human(r.monitored_s),
        outages(isp.count, " beyond your router", isp.downtime_s)
    );
    for side in [Side::Yours, Side::Services] {
        let f = r.sides.get(side);
        let who = match side {
            Side::Yours => "Your side (LAN)",
            _ => "Services (DNS, HTTP)",
        };
        s.push_str(&format!(" {who}: {}.", outages(f.count, "", f.downtime_s)));
    }
    s.push_str(&format!(
        " Over all sides: {} available.",
        pct(r.availability_pct)
    ));
    s.push_str(&claims(&r.claims));
    let in_maintenance = r.outage_list.iter().filter(|o| o.maintenance).count();
    match in_maintenance {
        0 => {}
        1 => s.push_str(" 1 outage fell in a maintenance window; it is counted."),
        n => s.push_str(&format!(
            " {n} outages fell in maintenance windows; they are counted."
        )),
    }
    s
}

/// `IPv4` or `IPv6` for a family's JSON key.
pub fn family(key: &str) -> &str {
    match key {
        "ipv4" => "IPv4",
        "ipv6" => "IPv6",
        other => other,
    }
}
