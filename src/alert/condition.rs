//! One driver for every alert condition: an internet outage, a silent log, and
//! whatever else can be said to "hold since a time" (host sensors, next).
//!
//! Observers say only what they see ([`Observation`]); the driver applies the
//! policy (escalate → remind → recover), builds the message, and keeps the
//! progress of every condition that has raised an alert in
//! `state_dir/alerts.json`, so that a restart neither repeats an alert already
//! sent nor loses the recovery that pairs it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::message::MessageKind;
use super::{Alerting, Decision, Kind, Message, Policy};
use crate::config::Severity;
use crate::timefmt::{local_weekday_time, rfc3339_local, spelled};
use crate::util::write_atomic;

/// File name inside `state_dir`.
pub const FILE: &str = "alerts.json";

/// What an observer saw of one condition at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Stable id, e.g. `outage` or `log:nginx`.
    pub id: String,
    /// What messages call it, e.g. `WAN_DOWN` or `LOG_SILENT:nginx`.
    pub label: String,
    /// When it was seen.
    pub now: DateTime<Utc>,
    /// Holding or ended.
    pub state: Seen,
}

/// Holding or ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// It holds, and has since `since`.
    Active {
        /// When it began.
        since: DateTime<Utc>,
        /// What a person should know, in words.
        detail: String,
        /// The level the condition itself says (a threshold crossed); `None`:
        /// the policy's, by how long it has lasted.
        level: Option<Severity>,
    },
    /// It ended at `at`.
    Cleared {
        /// When it ended.
        at: DateTime<Utc>,
        /// What a person should know, in words.
        detail: String,
    },
}

/// Every condition's progress.
pub struct Conditions {
    path_dir: PathBuf,
    open: BTreeMap<String, Alerting>,
    /// What `alerts.json` holds now (the conditions with an alert raised).
    saved: BTreeMap<String, Alerting>,
    /// Whether the last save failed (logged once per run of failures).
    failing: bool,
}

impl Conditions {
    /// The progress saved in `state_dir`; a missing file is a fresh start, an
    /// unreadable one is kept aside and logged.
    pub fn load(state_dir: PathBuf) -> Conditions {
        let path = state_dir.join(FILE);
        let read = crate::util::read_regular(&path);
        let set_aside = |why: String| {
            let aside = path.with_extension("json.bad");
            let _ = std::fs::rename(&path, &aside);
            tracing::error!(
                "{} {why}; kept as {} and starting without it",
                path.display(),
                aside.display()
            );
            BTreeMap::new()
        };
        let saved: BTreeMap<String, Alerting> = match read {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| set_aside(format!("is not valid ({e})"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => set_aside(format!("cannot be read ({e})")),
        };
        Conditions {
            path_dir: state_dir,
            open: saved.clone(),
            saved,
            failing: false,
        }
    }

    /// Adopts progress kept elsewhere by an earlier version, unless known already.
    pub fn adopt(&mut self, id: &str, a: Alerting) {
        if !self.open.contains_key(id) {
            self.open.insert(id.to_owned(), a);
            self.save();
        }
    }

    /// The conditions that hold (or held when last saved): id and label.
    pub fn ids(&self) -> Vec<(String, Option<String>)> {
        self.open
            .iter()
            .map(|(id, a)| (id.clone(), a.label.clone()))
            .collect()
    }

    /// Whether `id` holds now.
    pub fn holds(&self, id: &str) -> bool {
        self.open.contains_key(id)
    }

    /// Applies `policy` to one observation; returns the message to send, if any.
    pub fn observe(&mut self, policy: &Policy, o: &Observation) -> Option<(Decision, Message)> {
        let (decision, since, detail) = match &o.state {
            Seen::Active {
                since,
                detail,
                level,
            } => {
                let a = self
                    .open
                    .entry(o.id.clone())
                    .or_insert_with(|| Alerting::new(*since));
                // The observer's start is the record's (an outage's start moves
                // with a step of the wall clock): durations agree with the CSV.
                a.since = *since;
                a.label = Some(o.label.clone());
                let d = policy.tick_at(a, o.now, local_weekday_time(o.now), *level);
                (d, a.since, detail)
            }
            Seen::Cleared { at, detail } => match self.open.remove(&o.id) {
                Some(a) => (policy.end(&a, *at), a.since, detail),
                None => (None, *at, detail),
            },
        };
        self.save();
        let d = decision?;
        let msg = Message::from_decision(d.kind, &o.label, since, d.lasted, o.now, detail);
        Some((d, msg))
    }

    /// Writes `alerts.json` if what it should hold changed.
    fn save(&mut self) {
        let raised: BTreeMap<String, Alerting> = self
            .open
            .iter()
            .filter(|(_, a)| a.raised.is_some())
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        if raised == self.saved {
            return;
        }
        let bytes = serde_json::to_vec_pretty(&raised).expect("alert state serialises");
        match write_atomic(&self.path_dir, FILE, &bytes) {
            Ok(()) => {
                if self.failing {
                    tracing::info!("{} written again", self.path_dir.join(FILE).display());
                }
                self.failing = false;
                self.saved = raised;
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        "cannot save {}: {e}; a restart now could repeat an alert or miss its recovery",
                        self.path_dir.join(FILE).display()
                    );
                }
                self.failing = true;
            }
        }
    }
}

/// The journal is the first channel: every decision is logged with `ALERT` and
/// `CONDITION` fields, once it is safe in the outbox.
pub fn journal(msg: &Message) {
    let MessageKind::Policy(kind) = msg.kind else {
        return;
    };
    let label = &msg.condition;
    let lasted = spelled(Duration::from_secs(msg.lasted_secs));
    // The detail goes in its own field: the line that opened the condition said it.
    let detail = &msg.detail;
    let id = &msg.id;
    match kind {
        Kind::Alert(s) => {
            tracing::warn!(alert = s.label(), condition = %label, detail = %detail, message_id = %id, "alert {}: {label} since {} ({lasted})", s.label(), rfc3339_local(msg.started));
        }
        Kind::Reminder(s) => {
            tracing::warn!(alert = s.label(), condition = %label, detail = %detail, message_id = %id, "alert {} reminder: {label} still down for {lasted}", s.label());
        }
        Kind::Recovered(s) => {
            tracing::info!(alert = "RECOVERED", condition = %label, detail = %detail, message_id = %id, "alert RECOVERED (was {}): {label} for {lasted}", s.label());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn policy() -> Policy {
        Policy {
            warn_after: Duration::from_secs(10),
            critical_after: Duration::from_secs(100),
            repeat_every: Duration::ZERO,
            maintenance: Vec::new(),
        }
    }

    fn active(id: &str, now: i64) -> Observation {
        Observation {
            id: id.into(),
            label: id.to_uppercase(),
            now: t(now),
            state: Seen::Active {
                since: t(0),
                detail: "d".into(),
                level: None,
            },
        }
    }

    fn cleared(id: &str, now: i64) -> Observation {
        Observation {
            state: Seen::Cleared {
                at: t(now),
                detail: "d".into(),
            },
            ..active(id, now)
        }
    }

    fn kinds(c: &mut Conditions, obs: &[Observation]) -> Vec<Kind> {
        obs.iter()
            .filter_map(|o| c.observe(&policy(), o).map(|(d, _)| d.kind))
            .collect()
    }

    #[test]
    fn one_driver_escalates_and_recovers_each_condition_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Conditions::load(dir.path().into());
        let got = kinds(
            &mut c,
            &[
                active("a", 5),
                active("a", 10),
                active("b", 20),
                active("a", 100),
                cleared("a", 110),
                cleared("b", 120),
                cleared("c", 130),
            ],
        );
        use Severity::*;
        assert_eq!(
            got,
            vec![
                Kind::Alert(Warning),
                Kind::Alert(Warning),
                Kind::Alert(Critical),
                Kind::Recovered(Critical),
                Kind::Recovered(Warning),
            ]
        );
        assert!(c.ids().is_empty());
    }

    #[test]
    fn a_restart_neither_repeats_the_alert_nor_loses_its_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Conditions::load(dir.path().into());
        assert_eq!(kinds(&mut c, &[active("a", 10)]).len(), 1);
        drop(c);
        let mut c = Conditions::load(dir.path().into());
        assert!(c.holds("a"));
        assert!(
            kinds(&mut c, &[active("a", 20)]).is_empty(),
            "no second WARNING"
        );
        let (_, msg) = c.observe(&policy(), &cleared("a", 30)).unwrap();
        assert_eq!(msg.label(), "RECOVERED");
        assert_eq!(msg.lasted_secs, 30, "measured from the first start");
        drop(c);
        assert!(!Conditions::load(dir.path().into()).holds("a"));
    }

    #[test]
    fn a_condition_that_raised_nothing_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Conditions::load(dir.path().into());
        assert!(kinds(&mut c, &[active("a", 1)]).is_empty());
        assert!(!dir.path().join(FILE).exists());
    }
}
