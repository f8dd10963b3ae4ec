//! The failures of the window, bounded whatever the flood: exact counts
//! per slice of the window, and only the newest failures one by one, for the
//! sources and users an alert names; and the burst they make.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::SshSensor;
use crate::alert::condition::ConditionState;
use crate::sensor::ssh_source::Batch;

/// The window is counted in this many slices: counts are exact, and a failure
/// leaves the count at most one slice (a second, for a five-minute window) late.
const SLICES: u32 = 300;
/// The newest failures kept one by one, for the sources and users the alert names.
const KEEP: usize = 1_000;

/// Failures within one slice of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Slice {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
}

/// What survives a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Saved {
    pub(super) cursor: Option<String>,
    /// The newest failures, oldest first.
    #[serde(default)]
    pub(super) failures: VecDeque<Failure>,
    /// Counts per slice, oldest first (absent in files of earlier versions).
    #[serde(default)]
    slices: VecDeque<Slice>,
}

/// The failures of the window, bounded, and the condition they make.
pub(super) struct Window {
    cfg: SshSensor,
    slice: chrono::Duration,
    pub(super) slices: VecDeque<Slice>,
    pub(super) recent: VecDeque<Failure>,
    pub(super) cursor: Option<String>,
    pub(super) dirty: bool,
}

impl Window {
    pub(super) fn new(cfg: SshSensor, saved: Saved) -> Window {
        let window = chrono::Duration::from_std(cfg.window).unwrap_or(chrono::Duration::MAX);
        let slice = (window / SLICES as i32).max(chrono::Duration::seconds(1));
        let mut w = Window {
            cfg,
            slice,
            slices: saved.slices,
            recent: VecDeque::new(),
            cursor: saved.cursor,
            dirty: false,
        };
        let rebuild = w.slices.is_empty();
        for f in saved.failures {
            if rebuild {
                w.count(f.at);
            }
            w.keep(f);
        }
        w
    }

    /// Adds one read's failures and its cursor.
    pub(super) fn add(&mut self, batch: Batch) {
        if batch.cursor.is_some() {
            self.cursor = batch.cursor;
            self.dirty = true;
        }
        for f in batch.failures {
            self.count(f.at);
            self.keep(f);
            self.dirty = true;
        }
    }

    fn count(&mut self, at: DateTime<Utc>) {
        match self.slices.back_mut() {
            Some(s) if at >= s.first && at - s.first < self.slice => {
                s.count += 1;
                s.last = s.last.max(at);
            }
            _ => self.slices.push_back(Slice {
                first: at,
                last: at,
                count: 1,
            }),
        }
    }

    fn keep(&mut self, f: Failure) {
        self.recent.push_back(f);
        while self.recent.len() > KEEP {
            self.recent.pop_front();
        }
    }

    fn total(&self) -> u64 {
        self.slices.iter().map(|s| s.count).sum()
    }

    /// Drops what fell out of the window and says whether the burst holds.
    pub(super) fn observe(&mut self, now: DateTime<Utc>) -> ConditionState {
        let window = chrono::Duration::from_std(self.cfg.window).unwrap_or(chrono::Duration::MAX);
        while self.slices.front().is_some_and(|s| now - s.last > window) {
            self.slices.pop_front();
            self.dirty = true;
        }
        while self.recent.front().is_some_and(|f| now - f.at > window) {
            self.recent.pop_front();
            self.dirty = true;
        }
        let n = self.total();
        match self.slices.front() {
            Some(first) if n > u64::from(self.cfg.max_failures) => ConditionState::Active {
                since: first.first,
                detail: self.describe(n),
                level: None,
            },
            _ => ConditionState::Cleared {
                at: now,
                detail: format!(
                    "{n} failed SSH logins in the last {}",
                    crate::timefmt::spelled(self.cfg.window)
                ),
            },
        }
    }

    /// `12 failed SSH logins in 5m (max 10): from 198.51.100.7 ×9, 192.0.2.3 ×3; users root ×8, admin ×4`.
    fn describe(&self, n: u64) -> String {
        let top = |key: fn(&Failure) -> &str| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &self.recent {
                *counts.entry(key(f)).or_default() += 1;
            }
            let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            v.iter()
                .take(5)
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let of = if n > self.recent.len() as u64 {
            format!(" (of the last {})", self.recent.len())
        } else {
            String::new()
        };
        format!(
            "{n} failed SSH logins in {} (max {}): from {}; users {}{of}",
            crate::timefmt::spelled(self.cfg.window),
            self.cfg.max_failures,
            top(|f| &f.addr),
            top(|f| &f.user)
        )
    }

    pub(super) fn saved(&self) -> Saved {
        Saved {
            cursor: self.cursor.clone(),
            failures: self.recent.clone(),
            slices: self.slices.clone(),
        }
    }
}
