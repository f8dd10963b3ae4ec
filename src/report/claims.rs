//! The CLAIMS section: each fault ticket open during the period, with the
//! provider's deadline and the days owed under the configured rule, judged on
//! the outages against the ISP exactly as the report counted them (inside the
//! monitored time, each moment once).

use chrono::{DateTime, FixedOffset, Local};

use super::checks::round2;
use super::model::{Claim, ClaimDay, Claims};
use super::spans::{ms, Ms, Spans};
use crate::claim::{clock, rules, ClaimConfig, Money, Rule, Ticket};
use crate::timefmt::rfc3339_local;

/// The monitored span of the report, and the span asked for.
pub struct Bounds {
    pub period: Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)>,
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
}

/// The section for `tickets`, given the spans of total loss (see `claim::total_loss`).
pub fn build(claim: &ClaimConfig, tickets: &[Ticket], loss: &Spans, b: &Bounds) -> Claims {
    let tickets: Vec<Claim> = tickets
        .iter()
        .filter(|t| b.until.is_none_or(|u| t.reported < u))
        .filter(|t| b.since.is_none_or(|s| t.fixed.is_none_or(|f| f > s)))
        .map(|t| one(claim, t, loss, b))
        .collect();
    let owed = !matches!(claim.rule, Rule::None);
    let total: f64 = tickets.iter().filter_map(|t| t.amount).sum();
    Claims {
        rule: claim.rule.name(),
        rule_text: rules::line(&claim.rule),
        currency: claim.rule.currency().map(str::to_owned),
        tickets,
        total_amount: owed.then_some(round2(total)),
        terms: claim.rule.clone(),
    }
}

/// `t` in local time, as the calendar days of a claim are judged.
fn local(t: DateTime<FixedOffset>) -> chrono::NaiveDateTime {
    t.with_timezone(&Local).naive_local()
}

fn one(claim: &ClaimConfig, t: &Ticket, loss: &Spans, b: &Bounds) -> Claim {
    let open = Spans::one(ms(t.reported), t.fixed.map_or(Ms::MAX, ms));
    let loss = b
        .period
        .map(|(from, to)| loss.and(&open).and(&Spans::one(ms(from), ms(to))))
        .unwrap_or_default();
    let at =
        |m: Ms| DateTime::from_timestamp_millis(m).map(|u| u.with_timezone(&Local).naive_local());
    let spans: Vec<clock::Local> = loss
        .iter()
        .filter_map(|(a, z)| Some((at(a)?, at(z)?)))
        .collect();
    let owed = clock::owed(
        &claim.rule,
        &claim.holidays,
        local(t.reported),
        t.fixed.map(local),
        &spans,
    );
    let amount = owed.iter().fold(Money::default(), |sum, o| sum + o.amount);
    Claim {
        reference: t.reference.clone(),
        note: t.note.clone(),
        fix_note: t.fix_note.clone(),
        reported: rfc3339_local(t.reported.to_utc()),
        fixed: t.fixed.map(|f| rfc3339_local(f.to_utc())),
        total_loss_s: round2(loss.seconds()),
        deadline_day: t.last_day(claim).map(|d| d.to_string()),
        deadline: t.deadline(claim).map(rfc3339_local),
        days: owed
            .iter()
            .map(|o| ClaimDay {
                date: o.date.to_string(),
                day: o.day,
                amount: o.amount.as_f64(),
            })
            .collect(),
        amount: (!matches!(claim.rule, Rule::None)).then_some(amount.as_f64()),
        coverage: coverage(t, b),
    }
}

/// Why the period does not cover `t` from its report to its fix, if it does not.
fn coverage(t: &Ticket, b: &Bounds) -> Option<String> {
    let Some((from, to)) = b.period else {
        return Some(
            "no check was recorded in this report's period: nothing could be judged".into(),
        );
    };
    let whole = format!(
        "`report --since {}` covers the whole ticket",
        local(t.reported).date()
    );
    if t.reported >= to {
        return Some(format!(
            "reported after this report's period ends, at {}: nothing of it is judged; {whole}",
            when(to)
        ));
    }
    if from > t.reported {
        return Some(format!(
            "this report's period starts after the report, at {}: the time before it is not judged; {whole}",
            when(from)
        ));
    }
    match t.fixed {
        Some(f) if f > to => Some(format!(
            "this report's period ends before the fix, at {}: the time after it is not judged; {whole}",
            when(to)
        )),
        _ => None,
    }
}

/// A time for a sentence: `2026-11-02 10:00:00`.
fn when(t: DateTime<FixedOffset>) -> String {
    crate::timefmt::local_datetime(t.to_utc())
}

/// An amount for people: `GBP 49.90`.
pub fn money(currency: Option<&str>, amount: f64) -> String {
    format!("{} {amount:.2}", currency.unwrap_or_default())
}

/// A ticket as (label, value) lines, the same in text and HTML.
pub fn lines(c: &Claim, claims: &Claims) -> Vec<(&'static str, String)> {
    let rule = &claims.terms;
    let when = |s: &str| super::words::when(s);
    let currency = claims.currency.as_deref();
    let mut out = vec![
        ("reported", when(&c.reported)),
        (
            "fixed",
            c.fixed.as_deref().map_or_else(
                || "still open (counted to the end of the period)".into(),
                when,
            ),
        ),
        (
            "total loss after the report",
            crate::timefmt::human(c.total_loss_s),
        ),
    ];
    if let Some(day) = c.deadline_day.as_deref().and_then(|d| d.parse().ok()) {
        out.push(("provider's deadline", rules::deadline(rule, day)));
        let count = match c.days.len() {
            0 => "none".to_owned(),
            n => n.to_string(),
        };
        out.push(("days of total loss owed", count));
        for d in &c.days {
            let amount = money(currency, d.amount);
            out.push(("", format!("{} (day {}) {amount}", d.date, d.day)));
        }
    }
    if let Some(amount) = c.amount {
        out.push(("amount owed", money(currency, amount)));
    }
    for (label, note) in [("note", &c.note), ("note on the fix", &c.fix_note)] {
        if !note.is_empty() {
            out.push((label, note.clone()));
        }
    }
    if let Some(why) = &c.coverage {
        out.push(("not covered", why.clone()));
    }
    out
}
