//! Bursts of failed SSH logins: more than `max_failures` within `window`.
//!
//! Read from the systemd journal through `journalctl -o json --after-cursor`
//! every two seconds (a child process: it reads only the new entries, survives
//! journal rotation, and keeps `unsafe` out of this crate), or from a log file
//! (`log_file`, e.g. /var/log/auth.log) followed across rotation. The failures
//! of the current window and the journal cursor are kept in
//! `state_dir/ssh.json`, so a burst that straddles a restart is counted whole.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::alert::condition::Seen;
use crate::alert::Observation;
use crate::config::SshSensor;

const STATE_FILE: &str = "ssh.json";

/// One failed login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub addr: String,
    pub user: String,
}

/// The failure a log line reports, if it reports one: `Failed password for
/// [invalid user ]USER from ADDR port …` (any method: password, publickey, …).
pub fn parse(line: &str, at: DateTime<Utc>) -> Option<Failure> {
    let rest = &line[line.find("Failed ")? + "Failed ".len()..];
    let (_, rest) = rest.split_once(" for ")?;
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let (user, rest) = rest.split_once(" from ")?;
    let addr = rest.split_whitespace().next()?;
    Some(Failure {
        at,
        addr: addr.to_owned(),
        user: user.to_owned(),
    })
}

/// What survives a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    cursor: Option<String>,
    failures: VecDeque<Failure>,
}

/// The failures of the window, and the condition they make.
struct Window {
    cfg: SshSensor,
    failures: VecDeque<Failure>,
    cursor: Option<String>,
    state_dir: PathBuf,
    dirty: bool,
}

impl Window {
    fn add(&mut self, f: Failure) {
        self.failures.push_back(f);
        self.dirty = true;
    }

    /// Drops what fell out of the window and says whether the burst holds.
    fn observe(&mut self, now: DateTime<Utc>) -> Observation {
        let window = chrono::Duration::from_std(self.cfg.window).unwrap_or_default();
        while self.failures.front().is_some_and(|f| now - f.at > window) {
            self.failures.pop_front();
            self.dirty = true;
        }
        let n = self.failures.len();
        let state = match self.failures.front() {
            Some(first) if n > self.cfg.max_failures as usize => Seen::Active {
                since: first.at,
                detail: self.describe(),
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
    fn describe(&self) -> String {
        let top = |key: fn(&Failure) -> &str| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &self.failures {
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
        format!(
            "{} failed SSH logins in {} (max {}): from {}; users {}",
            self.failures.len(),
            crate::timefmt::spelled(self.cfg.window),
            self.cfg.max_failures,
            top(|f| &f.addr),
            top(|f| &f.user)
        )
    }

    fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let saved = Saved {
            cursor: self.cursor.clone(),
            failures: self.failures.clone(),
        };
        let bytes = serde_json::to_vec(&saved).expect("ssh state serialises");
        match crate::util::write_atomic(&self.state_dir, STATE_FILE, &bytes) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::debug!("ssh sensor: cannot save {STATE_FILE}: {e}"),
        }
    }
}

/// Follows the journal (or the log file) until `token` is cancelled.
pub async fn run(
    cfg: SshSensor,
    state_dir: PathBuf,
    out: mpsc::Sender<Observation>,
    token: CancellationToken,
) {
    let saved: Saved = crate::util::read_regular(&state_dir.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut w = Window {
        cfg: cfg.clone(),
        failures: saved.failures,
        cursor: saved.cursor,
        state_dir,
        dirty: false,
    };
    let (lines_tx, mut lines) = mpsc::channel::<(Option<String>, Failure)>(256);
    let reader = tokio::spawn(match cfg.log_file.clone() {
        Some(file) => tokio::spawn(follow_file(file, lines_tx, token.clone())),
        None => tokio::spawn(follow_journal(
            w.cursor.clone(),
            cfg.window,
            lines_tx,
            token.clone(),
        )),
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            got = lines.recv() => {
                let Some((cursor, f)) = got else { break };
                if cursor.is_some() {
                    w.cursor = cursor;
                }
                w.add(f);
            }
            _ = tick.tick() => {}
        }
        let o = w.observe(Utc::now());
        if out.send(o).await.is_err() {
            break;
        }
        w.save();
    }
    w.save();
    reader.abort();
}

/// sshd's new journal entries every couple of seconds: `journalctl -o json
/// --after-cursor=…` reads only what came after the last entry seen (the last
/// `window` at the first start), never the whole journal, and exits, so there
/// is no output buffer to wait on and journal rotation is journalctl's affair.
async fn follow_journal(
    mut cursor: Option<String>,
    window: Duration,
    out: mpsc::Sender<(Option<String>, Failure)>,
    token: CancellationToken,
) {
    let mut said = false;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! { _ = token.cancelled() => return, _ = tick.tick() => {} }
        let mut cmd = tokio::process::Command::new("journalctl");
        cmd.args(["-o", "json", "--no-pager", "--quiet"]);
        match &cursor {
            Some(c) => cmd.arg(format!("--after-cursor={c}")),
            None => cmd.arg(format!("--since=-{}s", window.as_secs().max(1))),
        };
        cmd.args([
            "SYSLOG_IDENTIFIER=sshd",
            "SYSLOG_IDENTIFIER=sshd-session",
            "+",
            "_COMM=sshd",
            "_COMM=sshd-session",
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
        let output = tokio::select! {
            _ = token.cancelled() => return,
            o = tokio::time::timeout(Duration::from_secs(30), cmd.output()) => o,
        };
        let output = match output {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                if !said {
                    tracing::error!("ssh sensor: cannot run journalctl: {e}; set sensors.ssh.log_file to read a log file instead");
                    said = true;
                }
                continue;
            }
            Err(_) => continue,
        };
        if !output.status.success() && !said {
            tracing::error!(
                "ssh sensor: journalctl failed ({}): {} (the service needs SupplementaryGroups=systemd-journal)",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            said = true;
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let at = entry["__REALTIME_TIMESTAMP"]
                .as_str()
                .and_then(|us| us.parse::<i64>().ok())
                .and_then(DateTime::from_timestamp_micros)
                .unwrap_or_else(Utc::now);
            let c = entry["__CURSOR"].as_str().map(str::to_owned);
            if c.is_some() {
                cursor.clone_from(&c);
            }
            if let Some(f) = message(&entry["MESSAGE"]).and_then(|m| parse(&m, at)) {
                if out.send((c, f)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A journal MESSAGE: a string, or an array of bytes when it is not UTF-8.
fn message(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    }
}

/// Follows `file` from its end, across rename and copytruncate rotation.
async fn follow_file(
    file: PathBuf,
    out: mpsc::Sender<(Option<String>, Failure)>,
    token: CancellationToken,
) {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;
    let identity = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.ino(), m.len()));
    let mut at = identity(&file);
    if at.is_none() {
        tracing::error!(
            "ssh sensor: {} cannot be read; waiting for it",
            file.display()
        );
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! { _ = token.cancelled() => return, _ = tick.tick() => {} }
        let Some((ino, len)) = identity(&file) else {
            continue;
        };
        let offset = match at {
            Some((i, l)) if i == ino && l <= len => l,
            _ => 0,
        };
        at = Some((ino, len));
        if len <= offset {
            continue;
        }
        let mut text = String::new();
        let read = std::fs::File::open(&file).and_then(|mut f| {
            f.seek(SeekFrom::Start(offset))?;
            f.take(len - offset).read_to_string(&mut text)
        });
        if read.is_err() {
            continue;
        }
        for line in text.lines() {
            if let Some(f) = parse(line, Utc::now()) {
                if out.send((None, f)).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_are_read_from_sshd_s_words() {
        let at = Utc::now();
        let f = parse(
            "Failed password for invalid user admin from 198.51.100.7 port 50022 ssh2",
            at,
        )
        .unwrap();
        assert_eq!(
            (f.user.as_str(), f.addr.as_str()),
            ("admin", "198.51.100.7")
        );
        let f = parse(
            "Failed publickey for root from 2001:db8::7 port 22 ssh2: ED25519 SHA256:x",
            at,
        )
        .unwrap();
        assert_eq!((f.user.as_str(), f.addr.as_str()), ("root", "2001:db8::7"));
        assert!(parse(
            "Accepted publickey for root from 192.0.2.1 port 22 ssh2",
            at
        )
        .is_none());
        assert!(parse("Connection closed by 192.0.2.1 port 22", at).is_none());
    }
}
