//! Bursts of failed SSH logins: more than `max_failures` within `window`.
//!
//! Read from the systemd journal or from a log file (`sensors/ssh_source.rs`),
//! one batch per read. Each batch is counted, observed and saved once, never
//! once per line, and saving (at most every few seconds) runs off the runtime
//! thread. The window is kept bounded whatever the flood: exact counts per
//! slice of the window, and only the newest failures one by one for the
//! sources and users named. Both, with the journal cursor, are kept in
//! `state_dir/ssh.json`, so that a burst straddling a restart is counted whole.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ssh_source::{self, Batch};
use crate::alert::condition::Seen;
use crate::alert::{Observation, Report};
use crate::config::SshSensor;

const STATE_FILE: &str = "ssh.json";
/// The window is counted in this many slices: counts are exact, and a failure
/// leaves the count at most one slice (a second, for a five-minute window) late.
const SLICES: u32 = 300;
/// The newest failures kept one by one, for the sources and users the alert names.
const KEEP: usize = 1_000;
/// A user name longer than this (bytes) is cut: sshd takes up to 1,024.
const MAX_USER: usize = 64;
/// ssh.json is written at most this often (and at the stop).
const SAVE_EVERY: Duration = Duration::from_secs(5);

/// One failed login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: DateTime<Utc>,
    /// The source sshd appended, as an address.
    pub addr: String,
    /// The user name tried, neutralised (see [`neutral`]).
    pub user: String,
}

/// The failure a log line reports, if it reports one: `Failed METHOD for
/// [invalid user ]USER from ADDR port N …`. The user name is the attacker's
/// to choose and may itself hold ` from 10.9.9.9 port 1`: sshd appends the
/// real source last, so the source is taken from the last ` from `, and
/// everything before it is the user name. Bytes, not text: a name that is not
/// UTF-8 is still a failure.
pub fn parse(line: &[u8], at: DateTime<Utc>) -> Option<Failure> {
    let rest = after(line, b"Failed ")?;
    let rest = after(rest, b" for ")?;
    let rest = rest.strip_prefix(b"invalid user ").unwrap_or(rest);
    let from = rfind(rest, b" from ")?;
    let mut words = rest[from + b" from ".len()..].split(|b| *b == b' ');
    let addr = std::str::from_utf8(words.next()?).ok()?;
    let addr = addr.split('%').next()?.parse::<IpAddr>().ok()?;
    if words.next()? != b"port" {
        return None;
    }
    std::str::from_utf8(words.next()?)
        .ok()?
        .parse::<u16>()
        .ok()?;
    Some(Failure {
        at,
        addr: addr.to_string(),
        user: neutral(&rest[..from]),
    })
}

/// A user name fit for every channel's format (Teams markdown, Telegram,
/// email, the journal): letters, digits, `-` and `_` as they are; every other
/// byte as `\xNN`, so that no name can be read as a link, markup or a line
/// of its own; cut at [`MAX_USER`] bytes with `…`.
pub fn neutral(user: &[u8]) -> String {
    let mut out = String::with_capacity(user.len().min(MAX_USER));
    for &b in user.iter().take(MAX_USER) {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if user.len() > MAX_USER {
        out.push('…');
    }
    out
}

fn after<'a>(hay: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let i = hay.windows(needle.len()).position(|w| w == needle)?;
    Some(&hay[i + needle.len()..])
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Failures within one slice of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Slice {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
}

/// What survives a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    cursor: Option<String>,
    /// The newest failures, oldest first.
    #[serde(default)]
    failures: VecDeque<Failure>,
    /// Counts per slice, oldest first (absent in files of earlier versions).
    #[serde(default)]
    slices: VecDeque<Slice>,
}

/// The failures of the window, bounded, and the condition they make.
struct Window {
    cfg: SshSensor,
    slice: chrono::Duration,
    slices: VecDeque<Slice>,
    recent: VecDeque<Failure>,
    cursor: Option<String>,
    dirty: bool,
}

impl Window {
    fn new(cfg: SshSensor, saved: Saved) -> Window {
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
    fn add(&mut self, batch: Batch) {
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
    fn observe(&mut self, now: DateTime<Utc>) -> Observation {
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
        let state = match self.slices.front() {
            Some(first) if n > u64::from(self.cfg.max_failures) => Seen::Active {
                since: first.first,
                detail: self.describe(n),
                level: None,
            },
            _ => Seen::Cleared {
                at: now,
                detail: format!(
                    "{n} failed SSH logins in the last {}",
                    crate::timefmt::spelled(self.cfg.window)
                ),
            },
        };
        Observation {
            id: "ssh".into(),
            label: "SSH_FAILURES".into(),
            now,
            state,
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

    fn saved(&self) -> Saved {
        Saved {
            cursor: self.cursor.clone(),
            failures: self.recent.clone(),
            slices: self.slices.clone(),
        }
    }
}

/// The saved window in `state_dir`: nothing when there is none; a file that
/// is not valid is set aside (kept, time-stamped) and said once.
fn load(state_dir: &Path) -> Saved {
    let path = state_dir.join(STATE_FILE);
    let why = match crate::util::read_regular(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(saved) => return saved,
            Err(e) => format!("is not valid ({e})"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Saved::default(),
        Err(e) => format!("cannot be read ({e})"),
    };
    match crate::util::set_aside(&path, "bad") {
        Ok(aside) => tracing::error!(
            "ssh sensor: {} {why}; kept as {} and counting afresh",
            path.display(),
            aside.display()
        ),
        Err(e) => tracing::error!(
            "ssh sensor: {} {why}, and cannot be moved aside ({e}); counting afresh",
            path.display()
        ),
    }
    Saved::default()
}

/// What is wrong with the sensor's sources or state, in words, for `once`:
/// the journal (or log file) it cannot read and why, a state file not valid.
pub fn problems(cfg: &SshSensor, state_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = ssh_source::problem(cfg).into_iter().collect();
    let path = state_dir.join(STATE_FILE);
    match crate::util::read_regular(&path) {
        Ok(bytes) => {
            if let Err(e) = serde_json::from_slice::<Saved>(&bytes) {
                out.push(format!(
                    "{} is not valid ({e}); the daemon sets it aside",
                    path.display()
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => out.push(format!("{} cannot be read ({e})", path.display())),
    }
    out
}

/// Follows the journal (or the log file) until `token` is cancelled.
pub async fn run(
    cfg: SshSensor,
    state_dir: PathBuf,
    out: mpsc::Sender<Report>,
    token: CancellationToken,
) {
    let dir = state_dir.clone();
    let saved = tokio::task::spawn_blocking(move || load(&dir))
        .await
        .unwrap_or_default();
    let mut w = Window::new(cfg.clone(), saved);
    let (batches_tx, mut batches) = mpsc::channel::<Batch>(4);
    let reader = tokio::spawn(ssh_source::follow(
        cfg,
        w.cursor.clone(),
        batches_tx,
        token.clone(),
    ));
    let mut saver = Saver::new(state_dir);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            got = batches.recv() => match got {
                Some(b) => w.add(b),
                None => break,
            },
            _ = tick.tick() => {}
        }
        let o = w.observe(Utc::now());
        if out.send(o.into()).await.is_err() {
            break;
        }
        saver.maybe(&mut w, false).await;
    }
    reader.abort();
    saver.maybe(&mut w, true).await;
}

/// Writes ssh.json off the runtime thread, at most every [`SAVE_EVERY`].
struct Saver {
    dir: PathBuf,
    last: Option<Instant>,
    failing: bool,
}

impl Saver {
    fn new(dir: PathBuf) -> Saver {
        Saver {
            dir,
            last: None,
            failing: false,
        }
    }

    async fn maybe(&mut self, w: &mut Window, now: bool) {
        let due = self.last.is_none_or(|t| t.elapsed() >= SAVE_EVERY);
        if !w.dirty || !(due || now) {
            return;
        }
        let bytes = serde_json::to_vec(&w.saved()).expect("ssh state serialises");
        let dir = self.dir.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::util::write_atomic(&dir, STATE_FILE, &bytes)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
        self.last = Some(Instant::now());
        match written {
            Ok(()) => {
                w.dirty = false;
                self.failing = false;
            }
            Err(e) if !self.failing => {
                tracing::error!(
                    "ssh sensor: cannot save {}: {e}; a restart now would count the window afresh",
                    self.dir.join(STATE_FILE).display()
                );
                self.failing = true;
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
