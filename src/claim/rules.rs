//! Each rule in words, with its source: the line a claim opens with, how the
//! deadline is put, and what "How it is counted" says of claims. The words
//! name only what the clocks in [`super::clock`] compute.

use chrono::NaiveDate;

use super::clock;
use super::config::Rule;

/// Ofcom's page on the automatic compensation scheme.
pub const OFCOM_SOURCE: &str =
    "https://www.ofcom.org.uk/phones-and-broadband/saving-money/auto-comp-scheme/";
/// The German Telecommunications Act of 2021, section 58, as published by the federal government.
pub const TKG_SOURCE: &str = "https://www.gesetze-im-internet.de/tkg_2021/__58.html";

/// The rule, its amounts as configured, and its source, in one line.
pub fn line(rule: &Rule) -> String {
    match rule {
        Rule::None => "No compensation rule is configured ([claim] rules = \"none\"): the tickets are listed, nothing is counted as owed.".into(),
        Rule::UkOfcom { daily_amount, currency } => format!(
            "uk-ofcom, Ofcom's automatic compensation scheme (UK; voluntary, signed by most providers): \
             a total loss of service not fixed by the end of the second full working day after the day it \
             was reported is paid for each further calendar day until it is fixed; this report counts only \
             the days on which it recorded a total loss, {currency} {daily_amount} a day as configured (the amount is raised every April; check your provider's code). Source: {OFCOM_SOURCE}"
        ),
        Rule::DeTkg58 { monthly_fee } => format!(
            "de-tkg58, TKG (2021) § 58 (3), Germany: a fault not fixed within two calendar days after the \
             day it was reported is paid for each further day of complete outage, days 3 and 4 the larger of \
             EUR 5 and 10 % of the monthly fee, from day 5 the larger of EUR 10 and 20 %: with the monthly \
             fee of EUR {monthly_fee}, EUR {} and EUR {} a day. Source: {TKG_SOURCE}",
            clock::amount(rule, 3),
            clock::amount(rule, 5)
        ),
    }
}

/// The deadline for people: "end of Wednesday 2026-11-04 (the second full
/// working day after the report)".
pub fn deadline(rule: &Rule, day: NaiveDate) -> String {
    let which = match rule {
        Rule::UkOfcom { .. } => "the second full working day after the report",
        _ => "the second calendar day after the report",
    };
    format!("end of {} ({which})", day.format("%A %Y-%m-%d"))
}

/// What "How it is counted" says of claims.
pub fn method(rule: &Rule) -> String {
    let deadline = match rule {
        Rule::None => String::new(),
        Rule::UkOfcom { .. } => " The provider's deadline is the end of the second full working day (Monday to Friday, less the configured holidays) after the day of the report, whatever its hour.".into(),
        Rule::DeTkg58 { .. } => " The provider's deadline is the end of the second calendar day after the day of the report (the day of the report itself is not counted); the days are numbered from the day after the report, so the first day owed is day 3.".into(),
    };
    format!(
        "Claims: a fault ticket runs from its report to its fix as recorded in faults.csv (fault open, \
         fault close). A local calendar day, midnight to midnight, counts as a day of total loss when an \
         outage against the ISP that cut off both families (ISP_DOWN, WAN_DOWN) overlaps the part of that \
         day during which the ticket was open; one family down while the other works (IPV4_DOWN, \
         IPV6_DOWN), degradation (DEGRADED), outages on your side (LAN_DOWN) and failed services \
         (DNS_FAIL, HTTP_FAIL) do not count. The total-loss time of a ticket is the time of \
         those outages between its report and its fix, inside the monitored time.{deadline} Only days of \
         total loss after the deadline are owed; an outage still going on when the report is made counts \
         once it has ended."
    )
}
