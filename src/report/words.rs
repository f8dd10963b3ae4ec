//! The report's sentences: the summary at the top and "How it is counted".
//! Every figure they name is one of the report's own, so the words and the
//! tables cannot disagree.

use chrono::DateTime;

use super::model::{Period, Report, Side};
use crate::timefmt::hms;

/// How the figures were counted, in one paragraph.
pub fn method(interval: f64) -> String {
    format!(
        "Every {interval} s the monitor checked the gateway, the ISP's first routers and \
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
         the mean of the per-check ICMP loss to the internet hosts."
    )
}

/// `p` as a person says it: "on 2026-12-03 from 10:00 to 10:10", or
/// "from 2026-11-02 00:00 to 2026-11-03 06:00".
pub fn period(p: &Period) -> String {
    let (Ok(from), Ok(to)) = (
        DateTime::parse_from_rfc3339(&p.from),
        DateTime::parse_from_rfc3339(&p.to),
    ) else {
        return format!("from {} to {}", p.from, p.to);
    };
    if from.date_naive() == to.date_naive() {
        format!(
            "on {} from {} to {}",
            from.format("%Y-%m-%d"),
            from.format("%H:%M"),
            to.format("%H:%M")
        )
    } else {
        format!(
            "from {} to {}",
            from.format("%Y-%m-%d %H:%M"),
            to.format("%Y-%m-%d %H:%M")
        )
    }
}

/// "no outage{what}", "1 outage{what} for 5 min 0 s", "3 outages{what} for
/// 1 h 2 min 0 s in total".
fn outages(n: u32, what: &str, seconds: f64) -> String {
    match n {
        0 => format!("no outage{what}"),
        1 => format!("1 outage{what} for {}", hms(seconds)),
        n => format!("{n} outages{what} for {} in total", hms(seconds)),
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
        hms(r.monitored_s),
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
