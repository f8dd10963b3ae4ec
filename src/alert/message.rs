//! A notification as it is queued, sent and logged: what happened, in plain words.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::config::Severity;
use crate::timefmt::{compact, local_datetime, local_hms, whole_seconds};

/// One notification; every channel gets the same one, with the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable id, shown in every message so duplicates can be recognised.
    pub id: String,
    /// When it was queued.
    pub created: DateTime<Utc>,
    /// Alert, reminder, recovery, or a test.
    pub kind: MessageKind,
    /// The machine this runs on.
    pub host: String,
    /// What is wrong, e.g. `WAN_DOWN`.
    pub condition: String,
    /// When it began.
    pub started: DateTime<Utc>,
    /// When it ended, for a recovery.
    pub ended: Option<DateTime<Utc>>,
    /// How long it has lasted, in seconds.
    pub lasted_secs: u64,
    /// Where it broke.
    pub detail: String,
}

/// What a message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageKind {
    /// A policy decision.
    Policy(Kind),
    /// `notify-test`.
    Test,
}

impl Message {
    /// The message for a policy decision about a condition.
    pub fn from_decision(
        kind: Kind,
        condition: &str,
        started: DateTime<Utc>,
        lasted: Duration,
        now: DateTime<Utc>,
        detail: &str,
    ) -> Message {
        let tag = match kind {
            Kind::Alert(Severity::Warning) => "warning".to_owned(),
            Kind::Alert(Severity::Critical) => "critical".to_owned(),
            Kind::Reminder(_) => format!("reminder-{}", whole_seconds(lasted)),
            Kind::Recovered(_) => "recovered".to_owned(),
        };
        Message {
            id: format!("{}-{}-{tag}", condition.to_lowercase(), started.timestamp()),
            created: now,
            kind: MessageKind::Policy(kind),
            host: crate::util::hostname(),
            condition: condition.to_owned(),
            started,
            ended: matches!(kind, Kind::Recovered(_))
                .then(|| started + chrono::Duration::from_std(lasted).unwrap_or_default()),
            // The outage log's rule: whole seconds, rounded.
            lasted_secs: whole_seconds(lasted),
            detail: detail.to_owned(),
        }
    }

    /// A clearly labelled test message.
    pub fn test(now: DateTime<Utc>) -> Message {
        Message {
            id: format!("test-{}", now.timestamp()),
            created: now,
            kind: MessageKind::Test,
            host: crate::util::hostname(),
            condition: "TEST".into(),
            started: now,
            ended: None,
            lasted_secs: 0,
            detail:
                "This is a test message from connectivity-monitor notify-test. Nothing is wrong."
                    .into(),
        }
    }

    /// Whether a channel with `min` gets it: alerts and reminders at or above
    /// `min`; a recovery if its alert reached `min` (so recoveries stay paired).
    pub fn passes(&self, min: Severity) -> bool {
        let level = match self.kind {
            MessageKind::Test => return true,
            MessageKind::Policy(Kind::Alert(l) | Kind::Reminder(l) | Kind::Recovered(l)) => l,
        };
        level >= min
    }

    /// WARNING, CRITICAL, RECOVERED or TEST.
    pub fn label(&self) -> &'static str {
        match self.kind {
            MessageKind::Test => "TEST",
            MessageKind::Policy(Kind::Alert(s) | Kind::Reminder(s)) => s.label(),
            MessageKind::Policy(Kind::Recovered(_)) => "RECOVERED",
        }
    }

    /// The one-line summary, e.g. `[connectivity-monitor] WAN_DOWN on pi: 7m29s`.
    pub fn subject(&self) -> String {
        let lasted = compact(Duration::from_secs(self.lasted_secs));
        match self.kind {
            MessageKind::Test => format!("[connectivity-monitor] test message from {}", self.host),
            MessageKind::Policy(Kind::Recovered(_)) => {
                format!(
                    "[connectivity-monitor] RECOVERED: {} on {} after {lasted}",
                    self.condition, self.host
                )
            }
            MessageKind::Policy(Kind::Reminder(_)) => {
                format!(
                    "[connectivity-monitor] {} on {}: still down for {lasted}",
                    self.condition, self.host
                )
            }
            MessageKind::Policy(Kind::Alert(_)) => {
                format!(
                    "[connectivity-monitor] {} {} on {}: {lasted}",
                    self.label(),
                    self.condition,
                    self.host
                )
            }
        }
    }

    /// The plain-text body: what, when, how long, where it broke, and the id.
    pub fn text(&self) -> String {
        let mut lines = vec![self.subject(), String::new()];
        match (self.kind, self.ended) {
            (MessageKind::Test, _) => {}
            (_, Some(end)) => lines.push(format!(
                "{} {}–{} ({})",
                self.condition,
                local_datetime(self.started),
                local_hms(end),
                compact(Duration::from_secs(self.lasted_secs))
            )),
            (_, None) => lines.push(format!(
                "{} since {} ({})",
                self.condition,
                local_datetime(self.started),
                compact(Duration::from_secs(self.lasted_secs))
            )),
        }
        lines.push(self.detail.clone());
        lines.push(String::new());
        lines.push(format!("host: {} · id: {}", self.host, self.id));
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn recovery_says_cause_span_duration_and_where() {
        let m = Message::from_decision(
            Kind::Recovered(Severity::Warning),
            "WAN_DOWN",
            t(0),
            Duration::from_secs(449),
            t(449),
            "hop 100.64.0.1 silent",
        );
        assert_eq!(m.id, "wan_down-1700000000-recovered");
        assert!(
            m.subject().contains("RECOVERED: WAN_DOWN on") && m.subject().ends_with("after 7m29s"),
            "{}",
            m.subject()
        );
        let text = m.text();
        assert!(
            text.contains("hop 100.64.0.1 silent")
                && text.contains("(7m29s)")
                && text.contains("id: wan_down-1700000000-recovered"),
            "{text}"
        );
    }

    #[test]
    fn min_severity_keeps_recoveries_paired() {
        let warn = Message::from_decision(
            Kind::Alert(Severity::Warning),
            "WAN_DOWN",
            t(0),
            Duration::ZERO,
            t(0),
            "",
        );
        let rec_of_warn = Message::from_decision(
            Kind::Recovered(Severity::Warning),
            "WAN_DOWN",
            t(0),
            Duration::ZERO,
            t(0),
            "",
        );
        let rec_of_crit = Message::from_decision(
            Kind::Recovered(Severity::Critical),
            "WAN_DOWN",
            t(0),
            Duration::ZERO,
            t(0),
            "",
        );
        assert!(warn.passes(Severity::Warning));
        assert!(!warn.passes(Severity::Critical));
        assert!(
            !rec_of_warn.passes(Severity::Critical),
            "no recovery for an alert the channel never got"
        );
        assert!(rec_of_crit.passes(Severity::Critical));
        assert!(Message::test(t(0)).passes(Severity::Critical));
    }

    #[test]
    fn durations_follow_the_outage_log_rule_whole_seconds_rounded() {
        // Regression: the CSV said 16 s (rounded) while the alert said 15 s
        // (truncated), and a 1.6-second-old WARNING said "(1s)".
        let lasted = Duration::from_millis(15_600);
        let row_seconds = crate::timefmt::whole_seconds(lasted);
        assert_eq!(row_seconds, 16);
        let rec = Message::from_decision(
            Kind::Recovered(Severity::Warning),
            "WAN_DOWN",
            t(0),
            lasted,
            t(20),
            "d",
        );
        assert_eq!(rec.lasted_secs, row_seconds);
        assert!(rec.subject().ends_with("after 16s"), "{}", rec.subject());
        assert!(rec.text().contains("(16s)"), "{}", rec.text());
        let warn = Message::from_decision(
            Kind::Alert(Severity::Warning),
            "WAN_DOWN",
            t(0),
            Duration::from_millis(1_600),
            t(2),
            "d",
        );
        assert!(warn.subject().ends_with(": 2s"), "{}", warn.subject());
        assert_eq!(crate::timefmt::spelled(Duration::from_millis(1_600)), "2s");
    }
}
