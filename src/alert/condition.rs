//! The progress of every alert condition: an internet outage, a silent log, a
//! host sensor's threshold, whatever can be said to "hold since a time".
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

/// What an observer saw of one condition at `now`, by the condition's id
/// and name.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Stable id, the key in `alerts.json`, e.g. `outage` or `log:nginx`.
    pub id: String,
    /// What messages call it, e.g. `WAN_DOWN` or `LOG_SILENT:nginx`.
    pub name: String,
    /// When it was seen.
    pub now: DateTime<Utc>,
    /// Holding or ended.
    pub state: ConditionState,
}

/// A condition holding, or ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionState {
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
    /// The progress saved in `state_dir`; a missing file is a fresh start. A
    /// file that cannot be read, is not valid, is larger than a real box's
    /// state, or holds conditions `known` does not recognise is set aside
    /// whole (kept, with a time stamp) and said once: the known conditions of
    /// a valid file are kept, and nothing is replayed one entry at a time.
    pub fn load(state_dir: PathBuf, known: impl Fn(&str) -> bool) -> Conditions {
        let path = state_dir.join(FILE);
        let (saved, rewrite) = match read_state(&path) {
            Ok(Some(all)) => {
                let (kept, unknown): (BTreeMap<_, _>, BTreeMap<_, _>) =
                    all.into_iter().partition(|(id, _)| known(id));
                if unknown.is_empty() {
                    (kept, false)
                } else {
                    let some: Vec<&str> = unknown.keys().take(3).map(String::as_str).collect();
                    set_aside(
                        &path,
                        &format!(
                            "holds {} conditions this version does not know (e.g. {})",
                            unknown.len(),
                            some.join(", ")
                        ),
                        &format!("the {} known ones", kept.len()),
                    );
                    (kept, true)
                }
            }
            Ok(None) => (BTreeMap::new(), false),
            Err(why) => {
                set_aside(&path, &why, "without it");
                (BTreeMap::new(), false)
            }
        };
        let mut c = Conditions {
            path_dir: state_dir,
            open: saved.clone(),
            saved: if rewrite { BTreeMap::new() } else { saved },
            failing: false,
        };
        c.save();
        c
    }

    /// Adopts progress kept elsewhere by an earlier version, unless known already.
    pub fn adopt(&mut self, id: &str, a: Alerting) {
        if !self.open.contains_key(id) {
            self.open.insert(id.to_owned(), a);
            self.save();
        }
    }

    /// The conditions that hold (or held when last saved): id and name.
    pub fn ids(&self) -> Vec<(String, Option<String>)> {
        self.open
            .iter()
            .map(|(id, a)| (id.clone(), a.name.clone()))
            .collect()
    }

    /// Whether `id` holds now.
    pub fn holds(&self, id: &str) -> bool {
        self.open.contains_key(id)
    }

    /// Applies `policy` to one observation; returns the message to send, if any.
    pub fn observe(&mut self, policy: &Policy, o: &Observation) -> Option<(Decision, Message)> {
        let (decision, since, detail) = match &o.state {
            ConditionState::Active {
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
                a.name = Some(o.name.clone());
                let d = policy.tick_at(a, o.now, local_weekday_time(o.now), *level);
                (d, a.since, detail)
            }
            ConditionState::Cleared { at, detail } => match self.open.remove(&o.id) {
                Some(a) => (policy.end(&a, *at), a.since, detail),
                None => (None, *at, detail),
            },
        };
        let d = decision?;
        let msg = Message::from_decision(d.kind, &o.name, since, d.lasted, o.now, detail);
        Some((d, msg))
    }

    /// What `alerts.json` should hold now, as bytes, if that differs from what
    /// it holds: the conditions with an alert raised. Written by [`write`],
    /// then told with [`Conditions::saved`], so the writing can run off the
    /// runtime thread.
    pub fn unsaved(&self) -> Option<Unsaved> {
        let raised: BTreeMap<String, Alerting> = self
            .open
            .iter()
            .filter(|(_, a)| a.raised.is_some())
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        if raised == self.saved {
            return None;
        }
        let bytes = serde_json::to_vec_pretty(&raised).expect("alert state serialises");
        Some(Unsaved {
            dir: self.path_dir.clone(),
            raised,
            bytes,
        })
    }

    /// Notes how writing `u` went; a failure is said once per run of failures.
    pub fn saved(&mut self, u: Unsaved, result: std::io::Result<()>) {
        let path = self.path_dir.join(FILE);
        match result {
            Ok(()) => {
                if self.failing {
                    tracing::info!("{} written again", path.display());
                }
                self.failing = false;
                self.saved = u.raised;
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        "cannot save {}: {e}; a restart now could repeat an alert or miss its recovery",
                        path.display()
                    );
                }
                self.failing = true;
            }
        }
    }

    /// Writes `alerts.json` here and now if what it should hold changed.
    pub fn save(&mut self) {
        if let Some(u) = self.unsaved() {
            let result = u.write();
            self.saved(u, result);
        }
    }
}

/// The state `alerts.json` should hold, ready to be written.
pub struct Unsaved {
    dir: PathBuf,
    raised: BTreeMap<String, Alerting>,
    bytes: Vec<u8>,
}

impl Unsaved {
    /// Writes it (blocking: a temporary file, fsync, rename).
    pub fn write(&self) -> std::io::Result<()> {
        write_atomic(&self.dir, FILE, &self.bytes)
    }
}

/// A state file larger than this is not read: a box has a handful of
/// conditions (a few hundred bytes each), and replaying a huge file would keep
/// the daemon busy at start.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The saved conditions: `None` when there is no file; `Err` says why it
/// cannot be used.
fn read_state(path: &std::path::Path) -> Result<Option<BTreeMap<String, Alerting>>, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if m.is_file() && m.len() > MAX_FILE_BYTES => {
            return Err(format!(
                "is {} bytes, more than the {MAX_FILE_BYTES} a real state holds",
                m.len()
            ))
        }
        _ => {}
    }
    let bytes = crate::util::read_regular(path).map_err(|e| format!("cannot be read ({e})"))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("is not valid ({e})"))
}

/// Moves the state file aside (never over an earlier copy) and says why, once.
fn set_aside(path: &std::path::Path, why: &str, starting: &str) {
    match crate::util::set_aside(path, "bad") {
        Ok(aside) => tracing::error!(
            "{} {why}; kept as {} and starting with {starting}",
            path.display(),
            aside.display()
        ),
        Err(e) => tracing::error!(
            "{} {why}, and it cannot be moved aside ({e}); starting with {starting}",
            path.display()
        ),
    }
}

/// The journal is the first channel: every decision is logged with `ALERT` and
/// `CONDITION` fields, once it is safe in the outbox.
pub fn journal(msg: &Message) {
    let MessageKind::Policy(kind) = msg.kind else {
        return;
    };
    let name = &msg.condition;
    let lasted = spelled(Duration::from_secs(msg.lasted_secs));
    // The detail goes in its own field: the line that opened the condition said it.
    let detail = &msg.detail;
    let id = &msg.id;
    match kind {
        Kind::Alert(s) => {
            tracing::warn!(alert = s.label(), condition = %name, detail = %detail, message_id = %id, "alert {}: {name} since {} ({lasted})", s.label(), rfc3339_local(msg.started));
        }
        Kind::Reminder(s) => {
            tracing::warn!(alert = s.label(), condition = %name, detail = %detail, message_id = %id, "alert {} reminder: {name} still down for {lasted}", s.label());
        }
        Kind::Recovered(s) => {
            tracing::info!(alert = "RECOVERED", condition = %name, detail = %detail, message_id = %id, "alert RECOVERED (was {}): {name} for {lasted}", s.label());
        }
    }
}

#[cfg(test)]
mod tests;
