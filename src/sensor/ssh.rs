//! `[sensors.ssh]`: bursts of failed SSH logins, more than `max_failures`
//! within `window`.
//!
//! Read from the systemd journal or from a log file (`sensor/ssh_source.rs`),
//! one batch per read. Each batch is counted, observed and saved once, never
//! once per line, and saving (at most every few seconds) runs off the runtime
//! thread. The window is kept bounded whatever the flood (`ssh/window.rs`);
//! it is kept, with the journal cursor, in `state_dir/ssh.json`, so that a
//! burst straddling a restart is counted whole.

pub mod failure;
mod window;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use window::{Saved, Window};

use super::ssh_source::{self, Batch};
use super::{Reporter, Sensor, SensorCondition};
use crate::alert::Policy;
use crate::config::raw::{RawWindow, SpannedStr};
use crate::config::{Table, Validator, Window as Maintenance, SECOND_TO_DAY, UP_TO_30_DAYS};

const STATE_FILE: &str = "ssh.json";
/// ssh.json is written at most this often (and at the stop).
const SAVE_EVERY: Duration = Duration::from_secs(5);

/// `[sensors.ssh]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    max_failures: Option<toml::Spanned<i64>>,
    window: Option<SpannedStr>,
    repeat_every: Option<SpannedStr>,
    log_file: Option<String>,
    #[serde(default)]
    maintenance: Vec<RawWindow>,
}

/// `[sensors.ssh]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshSensor {
    /// More failed logins than this within `window` is an alert.
    pub max_failures: u32,
    /// The span failures are counted in.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub window: Duration,
    /// Reminder interval; `[alerts] repeat_every` when absent.
    #[serde(
        serialize_with = "crate::config::ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    /// Read this file instead of the journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    /// Its own maintenance windows, besides `[[alerts.maintenance]]`.
    pub maintenance: Vec<Maintenance>,
}

impl Table for SshSensor {
    type Raw = RawSsh;

    fn read(s: RawSsh, v: &mut Validator<'_>, key: &str) -> Option<SshSensor> {
        let key = |k: &str| format!("{key}.{k}");
        Some(SshSensor {
            max_failures: v
                .count(s.max_failures.as_ref(), &key("max_failures"), 100_000)
                .map_or(10, |n| n.get()),
            window: v
                .duration(s.window.as_ref(), &key("window"), SECOND_TO_DAY)
                .unwrap_or(Duration::from_secs(300)),
            repeat_every: v.duration(s.repeat_every.as_ref(), &key("repeat_every"), UP_TO_30_DAYS),
            log_file: s.log_file.map(PathBuf::from),
            maintenance: v.windows(s.maintenance, &key("maintenance")),
        })
    }
}

/// A burst of failed logins: the one condition of this sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst;

impl SensorCondition for Burst {
    fn id(&self) -> String {
        "ssh".into()
    }

    fn name(&self) -> String {
        "SSH_FAILURES".into()
    }

    fn parse(id: &str) -> Option<Burst> {
        (id == "ssh").then_some(Burst)
    }
}

impl Sensor for SshSensor {
    type Condition = Burst;

    fn describe(&self) -> String {
        let from = self
            .log_file
            .as_ref()
            .map_or_else(|| "the journal".to_owned(), |f| f.display().to_string());
        format!(
            "ssh sensor: more than {} failed logins in {} from {from}",
            self.max_failures,
            crate::timefmt::spelled(self.window)
        )
    }

    fn policy(&self, alerts: &Policy) -> Policy {
        super::policy(alerts, self.repeat_every, &self.maintenance)
    }

    async fn run(self, state_dir: PathBuf, report: Reporter<Burst>, token: CancellationToken) {
        run(self, state_dir, report, token).await;
    }

    fn now(&self, state_dir: &Path) -> (Value, Vec<String>) {
        let problems = problems(self, state_dir);
        let lines = problems.iter().map(|p| format!("ssh sensor: {p}")).collect();
        (json!({ "problems": problems }), lines)
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
    let mut out: Vec<String> = ssh_source::problem(cfg.log_file.as_deref())
        .into_iter()
        .collect();
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
async fn run(cfg: SshSensor, state_dir: PathBuf, report: Reporter<Burst>, token: CancellationToken) {
    let dir = state_dir.clone();
    let saved = tokio::task::spawn_blocking(move || load(&dir))
        .await
        .unwrap_or_default();
    let mut w = Window::new(cfg.clone(), saved);
    let (batches_tx, mut batches) = mpsc::channel::<Batch>(4);
    let reader = tokio::spawn(ssh_source::follow(
        (cfg.log_file.clone(), cfg.window),
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
        let now = Utc::now();
        if !report.seen(Burst, now, w.observe(now)).await {
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
