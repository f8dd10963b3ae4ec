//! The clocks on hand-counted calendars (November and December 2026:
//! 2 November is a Monday, 25 December a Friday).

use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn uk() -> Rule {
    Rule::UkOfcom {
        daily_amount: Money(998),
        currency: "GBP".into(),
    }
}

fn de(fee: i64) -> Rule {
    Rule::DeTkg58 {
        monthly_fee: Money(fee),
    }
}

/// The dates and amounts owed, as text: `2026-11-05 9.98`.
fn owed_text(
    rule: &Rule,
    holidays: &[NaiveDate],
    reported: &str,
    fixed: Option<&str>,
    loss: &[(&str, &str)],
) -> Vec<String> {
    let loss: Vec<Local> = loss.iter().map(|(a, b)| (at(a), at(b))).collect();
    owed(rule, holidays, at(reported), fixed.map(at), &loss)
        .iter()
        .map(|o| format!("{} day {} {}", o.date, o.day, o.amount))
        .collect()
}

#[test]
fn a_report_after_working_hours_counts_from_the_next_day_like_any_other() {
    // Monday morning and Monday night alike: Tuesday and Wednesday are the two
    // full working days, late from Thursday.
    for hour in ["08:00", "22:30", "23:59"] {
        let reported = at(&format!("2026-11-02 {hour}"));
        assert_eq!(
            deadline(&uk(), &[], reported.date()),
            Some(day("2026-11-04")),
            "{hour}"
        );
    }
    // Half an hour after midnight is Tuesday: Wednesday and Thursday.
    assert_eq!(
        deadline(&uk(), &[], day("2026-11-03")),
        Some(day("2026-11-05"))
    );
}

#[test]
fn a_report_on_a_friday_or_a_weekend_waits_for_monday_and_tuesday() {
    for reported in ["2026-11-06", "2026-11-07", "2026-11-08"] {
        assert_eq!(
            deadline(&uk(), &[], day(reported)),
            Some(day("2026-11-10")),
            "{reported}"
        );
    }
    // The German clock counts calendar days: Friday's report is late from Monday.
    assert_eq!(
        deadline(&de(3999), &[], day("2026-11-06")),
        Some(day("2026-11-08"))
    );
    assert_eq!(deadline(&Rule::None, &[], day("2026-11-06")), None);
}

#[test]
fn a_bank_holiday_from_the_config_is_no_working_day() {
    // Reported Thursday 24 December; Friday 25 and Monday 28 (the substitute
    // for Boxing Day on a Saturday) are holidays: Tuesday 29, Wednesday 30.
    let holidays = [day("2026-12-25"), day("2026-12-28")];
    assert_eq!(
        deadline(&uk(), &holidays, day("2026-12-24")),
        Some(day("2026-12-30"))
    );
    assert_eq!(
        deadline(&uk(), &[], day("2026-12-24")),
        Some(day("2026-12-28")),
        "without them"
    );
    assert!(!working_day(day("2026-12-25"), &holidays));
    assert!(working_day(day("2026-12-24"), &holidays));
    // Every day of the outage after the deadline is paid, holiday or not.
    let owed = owed_text(
        &uk(),
        &holidays,
        "2026-12-24 10:00",
        Some("2027-01-01 12:00"),
        &[("2026-12-24 09:00", "2027-01-01 12:00")],
    );
    assert_eq!(owed, ["2026-12-31 day 7 9.98", "2027-01-01 day 8 9.98"]);
}

#[test]
fn a_fault_fixed_on_the_deadline_day_owes_nothing() {
    let loss = [("2026-11-02 09:00", "2026-11-04 23:59")];
    assert!(owed_text(
        &uk(),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-04 23:59"),
        &loss
    )
    .is_empty());
    assert!(owed_text(
        &de(3999),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-04 23:59"),
        &loss
    )
    .is_empty());
    // Fixed at midnight, the first minute of Thursday: still nothing.
    let loss = [("2026-11-02 09:00", "2026-11-05 00:00")];
    assert!(owed_text(
        &uk(),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-05 00:00"),
        &loss
    )
    .is_empty());
    // A minute later, Thursday is owed.
    let loss = [("2026-11-02 09:00", "2026-11-05 00:01")];
    assert_eq!(
        owed_text(
            &uk(),
            &[],
            "2026-11-02 10:00",
            Some("2026-11-05 00:01"),
            &loss
        ),
        ["2026-11-05 day 3 9.98"]
    );
}

/// The line fails on Monday and comes back on Thursday at noon, fails again
/// from Saturday 20:00 to Sunday 02:00 and from Monday 23:00 until the fix on
/// Tuesday 09:00. Friday had no total loss.
const STOP_AND_START: [(&str, &str); 3] = [
    ("2026-11-02 09:00", "2026-11-05 12:00"),
    ("2026-11-07 20:00", "2026-11-08 02:00"),
    ("2026-11-09 23:00", "2026-11-10 09:00"),
];

#[test]
fn an_outage_that_stops_and_starts_again_owes_the_days_with_total_loss() {
    let uk_owed = owed_text(
        &uk(),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-10 09:00"),
        &STOP_AND_START,
    );
    assert_eq!(
        uk_owed,
        [
            "2026-11-05 day 3 9.98",
            "2026-11-07 day 5 9.98",
            "2026-11-08 day 6 9.98",
            "2026-11-09 day 7 9.98",
            "2026-11-10 day 8 9.98",
        ]
    );
    // Days 3 and 4 the larger of 5 EUR and 10 % of 39.99 (4.00); from day 5
    // the larger of 10 EUR and 20 % (8.00). Day 4, a Friday without loss, is not owed,
    // and day 5 is paid as day 5 all the same.
    let de_owed = owed_text(
        &de(3999),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-10 09:00"),
        &STOP_AND_START,
    );
    assert_eq!(
        de_owed,
        [
            "2026-11-05 day 3 5.00",
            "2026-11-07 day 5 10.00",
            "2026-11-08 day 6 10.00",
            "2026-11-09 day 7 10.00",
            "2026-11-10 day 8 10.00",
        ]
    );
    // A monthly fee of 60 EUR: 10 % is 6.00, 20 % is 12.00, both above the floors.
    let de_60 = owed_text(
        &de(6000),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-10 09:00"),
        &STOP_AND_START,
    );
    assert_eq!(de_60[0], "2026-11-05 day 3 6.00");
    assert_eq!(de_60[1], "2026-11-07 day 5 12.00");
}

#[test]
fn a_ticket_with_no_total_loss_after_the_report_owes_nothing() {
    // The line was down before the report and came back an hour later; the
    // ticket stayed open for a week.
    let before = [("2026-11-02 06:00", "2026-11-02 11:00")];
    assert!(owed_text(
        &uk(),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-09 12:00"),
        &before
    )
    .is_empty());
    assert!(owed_text(&de(3999), &[], "2026-11-02 10:00", None, &before).is_empty());
    assert!(owed_text(&uk(), &[], "2026-11-02 10:00", None, &[]).is_empty());
}

#[test]
fn loss_outside_the_open_part_of_a_day_is_not_counted() {
    // Fixed Thursday 09:00; a new outage Thursday 20:00 is not this ticket's.
    let loss = [
        ("2026-11-02 09:00", "2026-11-04 23:00"),
        ("2026-11-05 20:00", "2026-11-05 21:00"),
    ];
    assert!(owed_text(
        &uk(),
        &[],
        "2026-11-02 10:00",
        Some("2026-11-05 09:00"),
        &loss
    )
    .is_empty());
    // An outage that ends at midnight does not reach the next day.
    let loss = [("2026-11-04 12:00", "2026-11-05 00:00")];
    assert!(owed_text(&uk(), &[], "2026-11-02 10:00", None, &loss).is_empty());
    // Still open: counted up to the last loss the logs hold.
    let loss = [("2026-11-02 09:00", "2026-11-06 08:00")];
    assert_eq!(
        owed_text(&uk(), &[], "2026-11-02 10:00", None, &loss),
        ["2026-11-05 day 3 9.98", "2026-11-06 day 4 9.98"]
    );
    assert!(owed_text(&Rule::None, &[], "2026-11-02 10:00", None, &loss).is_empty());
}
