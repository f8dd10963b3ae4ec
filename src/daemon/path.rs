//! Path capture: a live consumer of the update stream that traces the path to
//! every target for each failure (from its first failing check, and again
//! when the failing layer drops) and as a baseline every `baseline_every`.
//! Each trace is appended to `log_dir/paths/<target>.log` (an mtr-like table)
//! and `log_dir/paths.jsonl`.
//!
//! - A failure's trace is named by the failure's first failing check, which
//!   an outage keeps as its recorded start: the report attaches traces to
//!   outages by it. It is written once its fate is known: `outage LAYER`, or
//!   `failed check LAYER, no outage`. It stops after the round in progress
//!   at the first good check.
//! - After every round of a failure's trace, the sentence saying where the
//!   path broke goes back to the monitor, which adds it to the detail.
//! - Baselines run only while checks pass; a failing check abandons one.
//!   A baseline whose route differs from the last one is a route change.
//!
//! Never in the way of detection: traces run in their own task, one at a
//! time (`path/queue.rs`); a lagging update stream only delays a trigger.

mod failure;
mod queue;
mod record;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::part::{Background, Part, PartFuture};
use crate::config::PathConfig;
use crate::monitor::update::{Annotation, CheckDone};
use crate::monitor::{Layer, LiveReceiver, Update};
use crate::path::{self, Hints, TraceSpec};
use failure::{Failure, Fate, Fates};
use queue::{Done, Job, Purpose, Queue};
use record::Recorder;

/// The least time between two rounds of traces (routers rate-limit their ICMP errors).
const ROUND_INTERVAL: Duration = Duration::from_secs(1);

/// How long a stop waits for a failure's trace to finish its round.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the capture task needs; replaced whole on reload.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    path: PathConfig,
    targets: Vec<(String, IpAddr)>,
    timeout: Duration,
    log_dir: PathBuf,
}

impl Settings {
    /// What `c` asks of the capture. Shared, not copied, by the task at each
    /// update; the targets only when traces are on.
    fn of(c: &Config) -> Arc<Settings> {
        let targets = c.targets.iter().filter(|_| c.path.enabled);
        Arc::new(Settings {
            path: c.path.clone(),
            targets: targets.map(|t| (t.name.0.clone(), t.address)).collect(),
            timeout: c.monitor.timeout,
            log_dir: c.monitor.log_dir.clone(),
        })
    }
}

/// The running path capture.
pub struct PathCapture {
    settings: watch::Sender<Arc<Settings>>,
    task: Background,
}

impl PathCapture {
    /// Follows `live`; tells the monitor where paths broke through `notes`.
    pub fn start(
        config: &Config,
        live: LiveReceiver,
        notes: mpsc::Sender<Annotation>,
    ) -> PathCapture {
        let (settings, rx) = watch::channel(Settings::of(config));
        let task = Background::spawn(|token| capture(rx, live, notes, token));
        PathCapture { settings, task }
    }
}

impl Part for PathCapture {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        self.settings.send_if_modified(|s| {
            let new = Settings::of(new);
            let changed = *s != new;
            *s = new;
            changed
        });
        Box::pin(async { None })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

/// The capture task's state.
struct Capture {
    queue: Queue,
    fates: Fates,
    recorder: Recorder,
    /// What the last check said: `None` before the first one.
    last: Option<Option<Failure>>,
    /// Routers the last check saw answering.
    answering: Vec<IpAddr>,
    /// The failure traced, and the lowest layer traced for it.
    traced: Option<(chrono::DateTime<chrono::Utc>, Layer)>,
    /// Failures' traces waiting for their fate.
    pending: Vec<Done>,
    baseline_due: bool,
    /// Traces cannot run here (no ICMP socket): said once, then off.
    broken: bool,
}

async fn capture(
    mut settings: watch::Receiver<Arc<Settings>>,
    mut live: LiveReceiver,
    notes: mpsc::Sender<Annotation>,
    token: CancellationToken,
) {
    let mut c = Capture {
        queue: Queue::new(ROUND_INTERVAL, notes),
        fates: Fates::default(),
        recorder: Recorder::default(),
        last: None,
        answering: Vec::new(),
        traced: None,
        pending: Vec::new(),
        baseline_due: false,
        broken: false,
    };
    let mut baseline = baseline_timer(&settings.borrow());
    loop {
        let s = Arc::clone(&settings.borrow());
        tokio::select! {
            _ = token.cancelled() => {
                c.stop(&s).await;
                return;
            }
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
                baseline = baseline_timer(&settings.borrow());
            }
            _ = tick(&mut baseline) => c.baseline_due = true,
            update = live.recv() => {
                let Some(update) = update else { return };
                let Update::Check(check) = &*update else { continue };
                c.checked(check, &s);
            }
            Some(done) = c.queue.finished() => c.finished(done, &s),
        }
        c.next(&s);
    }
}

impl Capture {
    /// Learns from a check: a failure to trace, one that has ended, a fate known.
    fn checked(&mut self, check: &CheckDone, s: &Settings) {
        self.fates.observe(&check.state);
        self.answering = failure::answering(check);
        let now = Failure::of(check);
        self.last = Some(now);
        // A good check ends a failure's tracing, even while its outage waits
        // for more good checks to end: later rounds would trace a working path.
        let failing = now.filter(|f| f.failing.is_some()).map(|f| f.since);
        if self.queue.keep_only(failing) {
            tracing::debug!(
                "baseline abandoned: a check failed; it runs again once the path works"
            );
            self.baseline_due = true;
        }
        if let Some((f, layer)) = now.and_then(|f| f.failing.map(|l| (f, l))) {
            let new_layer = match self.traced {
                Some((since, lowest)) if since == f.since => (layer < lowest).then_some(layer),
                _ => Some(layer),
            };
            if let Some(layer) = new_layer.filter(|_| !self.broken && s.path.enabled) {
                self.traced = Some((f.since, layer));
                for (name, dest) in &s.targets {
                    let purpose = Purpose::Failure {
                        since: f.since,
                        layer,
                    };
                    self.queue.push(self.job(s, name, *dest, purpose));
                }
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for done in pending {
            self.write(done, s, false);
        }
    }

    /// Starts the next trace when its time has come, and baselines when due.
    fn next(&mut self, s: &Settings) {
        if self.broken || !s.path.enabled {
            return;
        }
        let Some(last) = self.last else { return };
        let path_works = last.is_none();
        if self.baseline_due && path_works && self.queue.idle() {
            self.baseline_due = false;
            for (name, dest) in &s.targets {
                self.queue.push(self.job(s, name, *dest, Purpose::Baseline));
            }
        }
        // A baseline only runs while the path works.
        self.queue.start_next(&self.answering, |j| match j.purpose {
            Purpose::Failure { .. } => true,
            Purpose::Baseline => path_works,
        });
    }

    fn job(&self, s: &Settings, name: &str, dest: IpAddr, purpose: Purpose) -> Job {
        Job {
            name: name.to_owned(),
            purpose,
            spec: TraceSpec {
                dest,
                rounds: s.path.rounds.get(),
                max_hops: s.path.max_hops,
                timeout: s.timeout,
                hints: Hints {
                    route: self.recorder.route(name),
                    routers: Vec::new(),
                },
            },
        }
    }

    fn finished(&mut self, done: Done, s: &Settings) {
        if let Err(e) = &done.result {
            // Said once; monitoring goes on without paths.
            tracing::error!(
                "{}; path capture is off until the next start",
                path::setup_error(e)
            );
            self.broken = true;
            self.queue.clear();
            return;
        }
        self.write(done, s, false);
    }

    /// Writes a finished trace, or keeps a failure's until its fate is known
    /// (`stopping`: written as undecided).
    fn write(&mut self, done: Done, s: &Settings, stopping: bool) {
        let Ok(p) = done.result else { return };
        match done.job.purpose {
            Purpose::Baseline => self.recorder.baseline(&s.log_dir, &done.job.name, p),
            Purpose::Failure { since, layer } => match self.fates.of(since) {
                Fate::Undecided if !stopping => self.pending.push(Done {
                    job: done.job,
                    result: Ok(p),
                }),
                fate => self
                    .recorder
                    .failure(&s.log_dir, &done.job.name, (since, layer), fate, p),
            },
        }
    }

    /// On the way out: a failure's trace in progress ends its round, and
    /// nothing finished is lost.
    async fn stop(&mut self, s: &Settings) {
        if let Some(done) = self.queue.wind_down(STOP_GRACE).await {
            self.pending.push(done);
        }
        for done in std::mem::take(&mut self.pending) {
            self.write(done, s, true);
        }
    }
}

fn baseline_timer(s: &Settings) -> Option<tokio::time::Interval> {
    (s.path.enabled && !s.path.baseline_every.is_zero())
        .then(|| tokio::time::interval(s.path.baseline_every))
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}
