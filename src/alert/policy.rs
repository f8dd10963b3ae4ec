//! The alert policy: when a condition (an internet outage, a silent log)
//! becomes a WARNING, a CRITICAL, a reminder, and a RECOVERED message.
//!
//! Pure logic with the clock passed in, like the outage machine, so every rule
//! is tested as plain data.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

pub use crate::config::{Severity, Window};

/// What a message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// First alert at this level.
    Alert(Severity),
    /// Still going, at this level.
    Reminder(Severity),
    /// It ended; the highest level that was raised.
    Recovered(Severity),
}

/// The policy's settings (`[alerts]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// WARNING once a condition is this old.
    pub warn_after: Duration,
    /// CRITICAL once it is this old.
    pub critical_after: Duration,
    /// Reminder interval; zero is never.
    pub repeat_every: Duration,
    /// Windows in which alerts are held back.
    pub maintenance: Vec<Window>,
}

/// One alertable condition's progress; persisted (once an alert was raised) so that
/// a restart neither repeats an alert nor loses its recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerting {
    /// When the condition began.
    pub since: DateTime<Utc>,
    /// The highest level raised so far.
    pub raised: Option<Severity>,
    /// When the last alert or reminder was raised.
    pub last: Option<DateTime<Utc>>,
    /// What messages call the condition, e.g. `DISK_FULL:/srv`, so that a
    /// condition no longer configured still gets its recovery under its name.
    #[serde(default, rename = "label")]
    pub name: Option<String>,
    /// Whether an alert was held back by a maintenance window.
    pub held: bool,
}

impl Alerting {
    /// A condition that began at `since`, nothing raised yet.
    pub fn new(since: DateTime<Utc>) -> Alerting {
        Alerting {
            since,
            raised: None,
            last: None,
            name: None,
            held: false,
        }
    }
}

/// What the policy decides at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The message to send.
    pub kind: Kind,
    /// How long the condition has lasted.
    pub lasted: Duration,
}

impl Policy {
    /// Whether `local` (weekday, time of day) is inside a maintenance window.
    pub fn in_maintenance(&self, day: Weekday, t: NaiveTime) -> bool {
        self.maintenance.iter().any(|w| w.contains(day, t))
    }

    /// What to send now for a condition that is still going.
    /// `local` is `now` in local time, for the maintenance windows.
    #[cfg(test)]
    pub fn tick(
        &self,
        a: &mut Alerting,
        now: DateTime<Utc>,
        local: (Weekday, NaiveTime),
    ) -> Option<Decision> {
        self.tick_at(a, now, local, None)
    }

    /// As [`Policy::tick`]; a `level` given by the condition itself (a disk
    /// past its critical threshold) replaces the level its age would give.
    pub fn tick_at(
        &self,
        a: &mut Alerting,
        now: DateTime<Utc>,
        local: (Weekday, NaiveTime),
        level: Option<Severity>,
    ) -> Option<Decision> {
        let in_window = self.in_maintenance(local.0, local.1);
        let lasted = (now - a.since).to_std().unwrap_or_default();
        let due = match level {
            Some(l) => l,
            None if lasted >= self.critical_after => Severity::Critical,
            None if lasted >= self.warn_after => Severity::Warning,
            None => return None,
        };
        if in_window {
            a.held |= a.raised.is_none_or(|r| due > r);
            return None;
        }
        a.held = false;
        let kind = match a.raised {
            Some(r) if due > r => Kind::Alert(due),
            None => Kind::Alert(due),
            Some(r) => {
                let last = a.last.unwrap_or(a.since);
                let since_last = (now - last).to_std().unwrap_or_default();
                if self.repeat_every.is_zero() || since_last < self.repeat_every {
                    return None;
                }
                Kind::Reminder(r)
            }
        };
        if let Kind::Alert(level) = kind {
            a.raised = Some(level);
        }
        a.last = Some(now);
        Some(Decision { kind, lasted })
    }

    /// What to send when the condition ends at `end`: a recovery if and only if
    /// an alert was raised, whatever the maintenance windows say, so that every
    /// alert is paired.
    pub fn end(&self, a: &Alerting, end: DateTime<Utc>) -> Option<Decision> {
        let lasted = (end - a.since).to_std().unwrap_or_default();
        a.raised.map(|level| Decision {
            kind: Kind::Recovered(level),
            lasted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }
    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    const DAY: (Weekday, NaiveTime) = (Weekday::Mon, NaiveTime::MIN);

    fn policy() -> Policy {
        Policy {
            warn_after: Duration::from_secs(0),
            critical_after: Duration::from_secs(120),
            repeat_every: Duration::from_secs(1800),
            maintenance: Vec::new(),
        }
    }

    fn fresh() -> Alerting {
        Alerting::new(t(0))
    }

    /// Ticks every 10 s from `from` to `to` at local time `local`; returns the kinds with their second.
    fn run(
        p: &Policy,
        a: &mut Alerting,
        from: i64,
        to: i64,
        local: (Weekday, NaiveTime),
    ) -> Vec<(i64, Kind)> {
        (from..=to)
            .step_by(10)
            .filter_map(|s| p.tick(a, t(s), local).map(|d| (s, d.kind)))
            .collect()
    }

    #[test]
    fn warn_then_critical_then_reminders_then_recovery() {
        let p = policy();
        let mut a = fresh();
        let sent = run(&p, &mut a, 0, 3800, DAY);
        assert_eq!(
            sent,
            vec![
                (0, Kind::Alert(Severity::Warning)),
                (120, Kind::Alert(Severity::Critical)),
                (1920, Kind::Reminder(Severity::Critical)),
                (3720, Kind::Reminder(Severity::Critical)),
            ]
        );
        let d = p.end(&a, t(3805)).unwrap();
        assert_eq!(d.kind, Kind::Recovered(Severity::Critical));
        assert_eq!(d.lasted, Duration::from_secs(3805));
    }

    #[test]
    fn short_condition_under_warn_after_sends_nothing_and_no_recovery() {
        let p = Policy {
            warn_after: Duration::from_secs(60),
            ..policy()
        };
        let mut a = fresh();
        assert!(run(&p, &mut a, 0, 50, DAY).is_empty());
        assert_eq!(p.end(&a, t(55)), None);
    }

    #[test]
    fn no_reminders_when_repeat_every_is_zero() {
        let p = Policy {
            repeat_every: Duration::ZERO,
            ..policy()
        };
        let mut a = fresh();
        assert_eq!(run(&p, &mut a, 0, 10_000, DAY).len(), 2);
    }

    fn window() -> Window {
        Window {
            from: hm(3, 0),
            to: hm(3, 30),
            days: vec![Weekday::Sun],
        }
    }

    #[test]
    fn window_days_and_midnight_crossing() {
        let w = window();
        assert!(w.contains(Weekday::Sun, hm(3, 10)));
        assert!(!w.contains(Weekday::Mon, hm(3, 10)));
        assert!(
            !w.contains(Weekday::Sun, hm(3, 30)),
            "the end is not inside"
        );
        let night = Window {
            from: hm(23, 0),
            to: hm(1, 0),
            days: vec![Weekday::Sat],
        };
        assert!(night.contains(Weekday::Sat, hm(23, 30)));
        assert!(
            night.contains(Weekday::Sun, hm(0, 30)),
            "the morning after a Saturday start"
        );
        assert!(
            !night.contains(Weekday::Sat, hm(0, 30)),
            "Friday's night did not start a window"
        );
    }

    #[test]
    fn condition_inside_a_window_alerts_when_the_window_ends() {
        let p = Policy {
            maintenance: vec![window()],
            ..policy()
        };
        let mut a = fresh();
        let inside = (Weekday::Sun, hm(3, 10));
        assert!(run(&p, &mut a, 0, 300, inside).is_empty());
        assert!(a.held, "held back, not forgotten");
        let after = (Weekday::Sun, hm(3, 31));
        let sent = run(&p, &mut a, 310, 310, after);
        assert_eq!(sent, vec![(310, Kind::Alert(Severity::Critical))]);
        assert_eq!(
            p.end(&a, t(400)).unwrap().kind,
            Kind::Recovered(Severity::Critical)
        );
    }

    #[test]
    fn condition_begun_and_ended_inside_a_window_sends_nothing() {
        let p = Policy {
            maintenance: vec![window()],
            ..policy()
        };
        let mut a = fresh();
        assert!(run(&p, &mut a, 0, 600, (Weekday::Sun, hm(3, 5))).is_empty());
        assert_eq!(p.end(&a, t(610)), None);
    }

    #[test]
    fn alert_before_a_window_is_recovered_even_if_it_ends_inside() {
        let p = Policy {
            maintenance: vec![window()],
            ..policy()
        };
        let mut a = fresh();
        let sent = run(&p, &mut a, 0, 0, (Weekday::Sun, hm(2, 59)));
        assert_eq!(sent, vec![(0, Kind::Alert(Severity::Warning))]);
        // Inside the window: the escalation to CRITICAL is held back ...
        assert!(run(&p, &mut a, 10, 600, (Weekday::Sun, hm(3, 1))).is_empty());
        // ... and the recovery still pairs with the WARNING that was sent.
        assert_eq!(
            p.end(&a, t(610)).unwrap().kind,
            Kind::Recovered(Severity::Warning)
        );
    }
}
