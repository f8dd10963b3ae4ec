//! `[[log_watch]]`: a log that stops growing means a service is up but no
//! traffic reaches it. Its silence is an alert condition like an outage,
//! under the same policy, windows and channels.
//!
//! Rotation is not silence: a renamed-and-recreated file (a new inode) or a
//! truncated one (copytruncate) is followed, and only new data resets the clock.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Condition, Report};
use crate::alert::condition::ConditionState;
use crate::alert::Policy;
use crate::config::raw::{RawWindow, SpannedStr};
use crate::config::{quoted, Table, Validator, Window, SECOND_TO_30_DAYS, UP_TO_30_DAYS};
use crate::timefmt::rfc3339_local;
use crate::util::OneAtATime;

/// One `[[log_watch]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogWatch {
    path: String,
    service: SpannedStr,
    idle_after: SpannedStr,
    critical_after: Option<SpannedStr>,
    repeat_every: Option<SpannedStr>,
    #[serde(default)]
    maintenance: Vec<RawWindow>,
}

/// One `[[log_watch]]`: a log that going quiet means a service gets no traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogWatchConfig {
    /// The file.
    pub path: PathBuf,
    /// The service it belongs to, named in alerts.
    pub service: String,
    /// No new data for this long: WARNING.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub idle_after: Duration,
    /// No new data for this long: CRITICAL; never when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::config::ser_opt_duration"
    )]
    pub critical_after: Option<Duration>,
    /// Reminder interval; `[alerts] repeat_every` when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::config::ser_opt_duration"
    )]
    pub repeat_every: Option<Duration>,
    /// Its own maintenance windows, besides `[[alerts.maintenance]]`.
    pub maintenance: Vec<Window>,
}

impl Table for LogWatchConfig {
    type Raw = RawLogWatch;

    fn read(w: RawLogWatch, v: &mut Validator<'_>, entry: &str) -> Option<LogWatchConfig> {
        let key = |k: &str| format!("{entry}.{k}");
        let idle_after = v.duration(Some(&w.idle_after), &key("idle_after"), SECOND_TO_30_DAYS);
        let critical_after = w
            .critical_after
            .as_ref()
            .and_then(|d| v.duration(Some(d), &key("critical_after"), UP_TO_30_DAYS));
        let repeat_every = w
            .repeat_every
            .as_ref()
            .and_then(|d| v.duration(Some(d), &key("repeat_every"), UP_TO_30_DAYS));
        if idle_after.is_some_and(|d| d.is_zero()) {
            let value = quoted(Some(&w.idle_after));
            let rule = "must be greater than zero";
            v.problem(Some(w.idle_after.span()), &key("idle_after"), &value, rule);
        }
        if let (Some(idle), Some(crit), Some(c)) = (idle_after, critical_after, &w.critical_after) {
            if crit < idle {
                let rule = "must not be shorter than idle_after";
                v.problem(
                    Some(c.span()),
                    &key("critical_after"),
                    &quoted(Some(c)),
                    rule,
                );
            }
        }
        v.plain_name(&w.service, &key("service"));
        let maintenance = v.windows(w.maintenance, &key("maintenance"));
        Some(LogWatchConfig {
            path: PathBuf::from(&w.path),
            service: w.service.get_ref().trim().to_owned(),
            idle_after: idle_after?,
            critical_after,
            repeat_every,
            maintenance,
        })
    }
}

/// How long one stat of a watched log may take before it is said to hang.
const STAT_TIMEOUT: Duration = Duration::from_secs(5);

/// A file's identity and size, or nothing when it is missing.
pub type Snapshot = Option<(u64, u64)>;

/// What one look at the file showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New data arrived.
    Data,
    /// Nothing new.
    Quiet,
    /// The file is gone (first look that finds it missing).
    Missing,
    /// The file was replaced or truncated, with nothing in it yet.
    Rotated,
}

/// Follows one file across rotations; pure, fed with snapshots.
#[derive(Debug, Clone)]
pub struct Tracker {
    inode: Option<u64>,
    size: u64,
    missing: bool,
    /// When data last arrived.
    pub last_data: DateTime<Utc>,
}

impl Tracker {
    /// Starts from the file as it is; its last data is its modification time if known.
    pub fn new(snap: Snapshot, last_data: DateTime<Utc>) -> Tracker {
        Tracker {
            inode: snap.map(|s| s.0),
            size: snap.map_or(0, |s| s.1),
            missing: snap.is_none(),
            last_data,
        }
    }

    /// Notes a new snapshot taken at `now`.
    pub fn observe(&mut self, snap: Snapshot, now: DateTime<Utc>) -> Change {
        let Some((inode, size)) = snap else {
            let first = !self.missing;
            self.missing = true;
            return if first {
                Change::Missing
            } else {
                Change::Quiet
            };
        };
        self.missing = false;
        let replaced = self.inode != Some(inode);
        let truncated = !replaced && size < self.size;
        let grew = if replaced || truncated {
            size > 0
        } else {
            size > self.size
        };
        self.inode = Some(inode);
        self.size = size;
        if grew {
            self.last_data = now;
            Change::Data
        } else if replaced || truncated {
            Change::Rotated
        } else {
            Change::Quiet
        }
    }
}

fn snapshot(path: &Path) -> (Snapshot, Option<DateTime<Utc>>) {
    match std::fs::metadata(path) {
        Ok(m) => (
            Some((m.ino(), m.len())),
            m.modified().ok().map(DateTime::<Utc>::from),
        ),
        Err(_) => (None, None),
    }
}

/// The policy of one watch: WARNING at `idle_after`, CRITICAL at `critical_after` if given.
pub fn policy(w: &LogWatchConfig, alerts: &Policy) -> Policy {
    Policy {
        warn_after: w.idle_after,
        critical_after: w.critical_after.unwrap_or(Duration::MAX),
        repeat_every: w.repeat_every.unwrap_or(alerts.repeat_every),
        maintenance: alerts
            .maintenance
            .iter()
            .chain(&w.maintenance)
            .cloned()
            .collect(),
    }
}

/// One stat of the watched file, off the runtime thread; `None` while it
/// hangs (said once, until it answers).
async fn look(
    w: &LogWatchConfig,
    looks: &mut OneAtATime<(Snapshot, Option<DateTime<Utc>>)>,
    hung: &mut bool,
) -> Option<Snapshot> {
    let path = w.path.clone();
    let Some((snap, _)) = looks.call(STAT_TIMEOUT, move || snapshot(&path)).await else {
        if !*hung {
            tracing::error!(service = %w.service, "log watch {}: stat of {} has not answered within {}; skipped until it does", w.service, w.path.display(), crate::timefmt::spelled(STAT_TIMEOUT));
            *hung = true;
        }
        return None;
    };
    *hung = false;
    Some(snap)
}

/// Watches `w.path` until `token` is cancelled, telling the condition driver
/// what it sees at every look.
pub async fn run(w: LogWatchConfig, out: mpsc::Sender<Report>, token: CancellationToken) {
    let poll = (w.idle_after / 10).clamp(Duration::from_millis(200), Duration::from_secs(5));
    // stat runs on a thread of its own, bounded: a log on a hung network
    // filesystem is said once and holds one thread, never the runtime.
    let mut looks = OneAtATime::new("log watch");
    let mut hung = false;
    let path = w.path.clone();
    let (snap, mtime) = looks
        .call(STAT_TIMEOUT, move || snapshot(&path))
        .await
        .unwrap_or((None, None));
    let mut tracker = Tracker::new(snap, mtime.unwrap_or_else(Utc::now));
    if snap.is_none() {
        tracing::warn!(service = %w.service, "log watch {}: {} is missing; waiting for it", w.service, w.path.display());
    }
    let seen = |now, state| Report::Seen {
        condition: Condition::LogSilent(w.service.clone()),
        now,
        state,
    };
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(poll) => {}
        }
        let Some(snap) = look(&w, &mut looks, &mut hung).await else {
            continue;
        };
        let now = Utc::now();
        let silent_since = tracker.last_data;
        let mut obs = Vec::with_capacity(2);
        match tracker.observe(snap, now) {
            Change::Missing => {
                tracing::warn!(service = %w.service, "log watch {}: {} is missing", w.service, w.path.display())
            }
            Change::Rotated => {
                tracing::debug!(service = %w.service, "log watch {}: {} rotated", w.service, w.path.display())
            }
            Change::Data => obs.push(seen(
                now,
                ConditionState::Cleared {
                    at: now,
                    detail: format!(
                        "{} has new data again (silent since {})",
                        w.path.display(),
                        rfc3339_local(silent_since)
                    ),
                },
            )),
            Change::Quiet => {}
        }
        obs.push(seen(
            now,
            ConditionState::Active {
                level: None,
                since: tracker.last_data,
                detail: format!(
                    "no new data in {} since {}",
                    w.path.display(),
                    rfc3339_local(tracker.last_data)
                ),
            },
        ));
        for o in obs {
            if out.send(o).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn growth_is_data_and_stillness_is_quiet() {
        let mut tr = Tracker::new(Some((1, 100)), t(0));
        assert_eq!(tr.observe(Some((1, 100)), t(1)), Change::Quiet);
        assert_eq!(tr.observe(Some((1, 150)), t(2)), Change::Data);
        assert_eq!(tr.last_data, t(2));
    }

    #[test]
    fn rename_rotation_follows_the_new_file_without_calling_it_data() {
        let mut tr = Tracker::new(Some((1, 100)), t(0));
        assert_eq!(tr.observe(Some((2, 0)), t(1)), Change::Rotated);
        assert_eq!(tr.last_data, t(0), "an empty new file is not traffic");
        assert_eq!(tr.observe(Some((2, 40)), t(2)), Change::Data);
    }

    #[test]
    fn copytruncate_is_followed() {
        let mut tr = Tracker::new(Some((1, 100)), t(0));
        assert_eq!(tr.observe(Some((1, 0)), t(1)), Change::Rotated);
        assert_eq!(
            tr.observe(Some((1, 10)), t(2)),
            Change::Data,
            "growth after the truncation is data"
        );
        // Truncated and already rewritten past nothing in one look: still data.
        assert_eq!(tr.observe(Some((1, 5)), t(3)), Change::Data);
    }

    #[test]
    fn missing_file_is_reported_once_then_followed_when_it_returns() {
        let mut tr = Tracker::new(Some((1, 10)), t(0));
        assert_eq!(tr.observe(None, t(1)), Change::Missing);
        assert_eq!(tr.observe(None, t(2)), Change::Quiet);
        assert_eq!(tr.observe(Some((3, 7)), t(3)), Change::Data);
    }
}
