//! The daemon's watch of the fault tickets. Every half minute it reads
//! `faults.csv` on a thread of its own (a hung disk holds that thread, never
//! the checks), tells the alert driver which open tickets are past their
//! deadline (condition `claim:REF`: one WARNING when the deadline passes, its
//! RECOVERED when the ticket is closed), and hands the open tickets to the
//! live view.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::faults::{Faults, Ticket};
use super::{rules, ClaimConfig};
use crate::alert::condition::ConditionState;
use crate::config::Severity;
use crate::monitor::update::TicketNote;
use crate::monitor::{LiveSender, Update};
use crate::sensor::{Condition, Report};
use crate::timefmt::rfc3339_local;
use crate::util::OneAtATime;

/// How often `faults.csv` is read.
const EVERY: Duration = Duration::from_secs(30);
/// How long one reading may take before this round is given up.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// What the alert driver should know at `now`: each open ticket past its
/// deadline holds; each ticket closed after its deadline ended then; and no
/// other ticket's condition holds (a ticket gone from the file, a rule changed).
pub fn observations(claim: &ClaimConfig, tickets: &[Ticket], now: DateTime<Utc>) -> Vec<Report> {
    let mut out = Vec::new();
    let mut holding = Vec::new();
    for t in tickets {
        let Some(passed) = t.deadline(claim).filter(|p| *p <= now) else {
            continue;
        };
        let condition = Condition::PastDeadline(t.reference.clone());
        let state = match t.fixed {
            None => {
                holding.push(condition.clone());
                ConditionState::Active {
                    since: passed,
                    detail: past_deadline(claim, t),
                    level: Some(Severity::Warning),
                }
            }
            Some(fixed) => ConditionState::Cleared {
                at: fixed.to_utc().max(passed),
                detail: format!(
                    "{} was closed at {} (fixed): `report` gives the days and the amount owed",
                    t.reference,
                    rfc3339_local(fixed.to_utc())
                ),
            },
        };
        out.push(Report::Seen {
            condition,
            now,
            state,
        });
    }
    out.push(Report::Watching {
        of: |c| matches!(c, Condition::PastDeadline(_)),
        watched: holding,
        now,
        why: "no open ticket past its deadline by that name".into(),
    });
    out
}

/// The alert's words when `t` is past its deadline.
fn past_deadline(claim: &ClaimConfig, t: &Ticket) -> String {
    let last_day = t.last_day(claim).map_or_else(String::new, |d| {
        format!(
            " ({} under {})",
            rules::deadline(&claim.rule, d),
            claim.rule.name()
        )
    });
    format!(
        "{} is past the provider's deadline{last_day}; compensation accrues from today, \
         for each day of total loss until it is fixed",
        t.reference
    )
}

/// The open tickets as the live view shows them.
pub fn notes(claim: &ClaimConfig, tickets: &[Ticket]) -> Vec<TicketNote> {
    tickets
        .iter()
        .filter(|t| t.fixed.is_none())
        .map(|t| TicketNote {
            reference: t.reference.clone(),
            reported: t.reported.to_utc(),
            note: t.note.clone(),
            rule: claim.rule.name(),
            deadline: t.deadline(claim),
        })
        .collect()
}

/// Runs until `token` is cancelled.
pub async fn run(
    claim: ClaimConfig,
    log_dir: PathBuf,
    out: mpsc::Sender<Report>,
    live: LiveSender,
    token: CancellationToken,
) {
    let mut reading = OneAtATime::new("faults-read");
    let mut said: Vec<String> = Vec::new();
    loop {
        let dir = log_dir.clone();
        match reading.call(READ_LIMIT, move || Faults::read(&dir)).await {
            Some(faults) => {
                // Each bad row is said once, not every round.
                for w in faults.warnings.iter().filter(|w| !said.contains(w)) {
                    tracing::warn!("fault tickets: {w}");
                }
                said = faults.warnings;
                for r in observations(&claim, &faults.tickets, Utc::now()) {
                    if out.send(r).await.is_err() {
                        return;
                    }
                }
                live.send(Update::Tickets(notes(&claim, &faults.tickets)));
            }
            None => tracing::warn!(
                "fault tickets: {} was not read within {}; trying again",
                log_dir.join(super::faults::FILE).display(),
                crate::timefmt::spelled(READ_LIMIT)
            ),
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::{Money, Rule};
    use chrono::{Local, NaiveTime, TimeZone};

    fn t(s: &str) -> DateTime<chrono::FixedOffset> {
        // A local time, so that the test holds in any zone.
        let day = chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap();
        let time = NaiveTime::parse_from_str(&s[11..], "%H:%M").unwrap();
        Local
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .unwrap()
            .fixed_offset()
    }

    fn ticket(r: &str, reported: &str, fixed: Option<&str>) -> Ticket {
        Ticket {
            reference: r.into(),
            reported: t(reported),
            fixed: fixed.map(t),
            note: String::new(),
            fix_note: String::new(),
        }
    }

    #[test]
    fn an_open_ticket_past_its_deadline_holds_and_a_closed_one_ends() {
        let claim = ClaimConfig {
            rule: Rule::UkOfcom {
                daily_amount: Money(998),
                currency: "GBP".into(),
            },
            holidays: Vec::new(),
        };
        // Reported Monday 2 November 2026: late from Thursday 5 November, 00:00.
        let tickets = [
            ticket("TKT-4711", "2026-11-02 22:30", None),
            ticket("TKT-1", "2026-11-02 09:00", Some("2026-11-06 12:00")),
            ticket("TKT-2", "2026-11-04 09:00", None),
        ];
        let now = t("2026-11-05 00:10").to_utc();
        let obs = observations(&claim, &tickets, now);
        assert_eq!(obs.len(), 3, "{obs:?}");
        let Report::Seen {
            condition,
            state:
                ConditionState::Active {
                    since,
                    detail,
                    level,
                },
            ..
        } = &obs[0]
        else {
            panic!("{obs:?}")
        };
        assert_eq!(*condition, Condition::PastDeadline("TKT-4711".into()));
        assert_eq!(*since, t("2026-11-05 00:00").to_utc());
        assert_eq!(*level, Some(Severity::Warning));
        assert!(
            detail.starts_with(
                "TKT-4711 is past the provider's deadline (end of Wednesday 2026-11-04"
            ) && detail.contains("compensation accrues from today"),
            "{detail}"
        );
        let Report::Seen {
            state: ConditionState::Cleared { at, .. },
            ..
        } = &obs[1]
        else {
            panic!("{obs:?}")
        };
        assert_eq!(*at, t("2026-11-06 12:00").to_utc());
        let Report::Watching { of, watched, .. } = &obs[2] else {
            panic!("{obs:?}")
        };
        assert_eq!(watched, &[Condition::PastDeadline("TKT-4711".into())]);
        assert!(of(&watched[0]) && !of(&Condition::LogSilent("TKT-4711".into())));
        // Before the deadline passes nothing holds; the open tickets are listed all the same.
        let before = observations(&claim, &tickets[..1], t("2026-11-04 23:59").to_utc());
        assert!(
            matches!(&before[..], [Report::Watching { watched, .. }] if watched.is_empty()),
            "{before:?}"
        );
        let listed = notes(&claim, &tickets);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].deadline, Some(t("2026-11-05 00:00").to_utc()));
        // Under no rule nothing is ever late.
        let none = observations(&ClaimConfig::default(), &tickets, now);
        assert!(
            matches!(&none[..], [Report::Watching { watched, .. }] if watched.is_empty()),
            "{none:?}"
        );
    }
}
