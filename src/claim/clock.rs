//! The compensation clocks, as pure functions of local dates and times: the
//! provider's deadline from the day a fault was reported, and the days owed
//! after it, from when the ticket was open and when the line had total loss.
//!
//! - **uk-ofcom**: the provider has until the end of the second full working
//!   day after the day of the report, whatever the hour of the report (a day
//!   is a working day from Monday to Friday unless it is a holiday). Each later
//!   calendar day is paid at the daily amount.
//! - **de-tkg58**: the provider has the two calendar days after the day of the
//!   report (the day of the report itself is not counted). The days after the
//!   report are numbered from 1; days 3 and 4 are paid the larger of EUR 5 and
//!   10 % of the monthly fee, day 5 and later the larger of EUR 10 and 20 %.
//!
//! A calendar day after the deadline is owed when the ticket was open during
//! some of it and an outage against the ISP overlaps that part of it.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::config::{Money, Rule};

/// A span of local time, `[from, to)`.
pub type Local = (NaiveDateTime, NaiveDateTime);

/// The statutory floors of TKG § 58 (3), in cents: days 3 and 4, day 5 on.
const TKG_FLOOR: [Money; 2] = [Money(500), Money(1000)];
/// The shares of the monthly fee of TKG § 58 (3), percent: days 3 and 4, day 5 on.
const TKG_SHARE: [i64; 2] = [10, 20];

/// One calendar day owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    /// The local date.
    pub date: NaiveDate,
    /// Calendar days after the day of the report (the day after it is 1).
    pub day: u32,
    /// What it is worth under the rule.
    pub amount: Money,
}

/// Whether `d` is a working day: Monday to Friday, not among `holidays`.
pub fn working_day(d: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holidays.binary_search(&d).is_err()
}

/// The last day the provider has for a fault reported on `reported`: late
/// from the day after it. `None` under no rule.
pub fn deadline(rule: &Rule, holidays: &[NaiveDate], reported: NaiveDate) -> Option<NaiveDate> {
    match rule {
        Rule::None => None,
        Rule::DeTkg58 { .. } => reported.checked_add_signed(Duration::days(2)),
        Rule::UkOfcom { .. } => {
            let mut day = reported;
            let mut counted = 0;
            while counted < 2 {
                day = day.succ_opt()?;
                counted += u32::from(working_day(day, holidays));
            }
            Some(day)
        }
    }
}

/// What calendar day `day` after the report is worth under `rule`.
pub fn amount(rule: &Rule, day: u32) -> Money {
    match rule {
        Rule::None => Money::default(),
        Rule::UkOfcom { daily_amount, .. } => *daily_amount,
        Rule::DeTkg58 { monthly_fee } => {
            let tier = usize::from(day >= 5);
            TKG_FLOOR[tier].max(monthly_fee.percent(TKG_SHARE[tier]))
        }
    }
}

/// The days owed for a ticket reported at `reported` and fixed at `fixed`
/// (still open: `None`), given the spans of total loss `loss`.
pub fn owed(
    rule: &Rule,
    holidays: &[NaiveDate],
    reported: NaiveDateTime,
    fixed: Option<NaiveDateTime>,
    loss: &[Local],
) -> Vec<Owed> {
    let Some(last_day) = deadline(rule, holidays, reported.date()) else {
        return Vec::new();
    };
    // No day after the last loss, or after the fix, can be owed.
    let Some(loss_end) = loss.iter().map(|s| s.1).max() else {
        return Vec::new();
    };
    let end = fixed.map_or(loss_end, |f| f.min(loss_end));
    let mut out = Vec::new();
    let mut date = last_day;
    while let Some(next) = date.succ_opt().filter(|d| d.and_time(NaiveTime::MIN) < end) {
        date = next;
        let Some(open) = open_part(date, reported, fixed) else {
            continue;
        };
        if loss.iter().any(|l| overlaps(*l, open)) {
            let day = (date - reported.date()).num_days() as u32;
            out.push(Owed {
                date,
                day,
                amount: amount(rule, day),
            });
        }
    }
    out
}

/// The part of `date` during which a ticket reported at `reported` and fixed
/// at `fixed` was open; `None` if none of it.
fn open_part(
    date: NaiveDate,
    reported: NaiveDateTime,
    fixed: Option<NaiveDateTime>,
) -> Option<Local> {
    let start = date.and_time(NaiveTime::MIN).max(reported);
    let end = date.succ_opt()?.and_time(NaiveTime::MIN);
    let end = fixed.map_or(end, |f| f.min(end));
    (end > start).then_some((start, end))
}

/// Whether two spans share some time.
fn overlaps(a: Local, b: Local) -> bool {
    a.0.max(b.0) < a.1.min(b.1)
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
