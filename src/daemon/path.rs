//! Path capture: a live consumer of the update stream that traces the path to
//! every target when a check first fails (and when the failing layer drops),
//! and as a baseline every `baseline_every`. Each trace is appended to
//! `log_dir/paths/<target>.log` (an mtr-like table) and `log_dir/paths.jsonl`;
//! a baseline whose route differs from the last is logged as a route change.
//! After the first round of a failure's trace, the sentence saying where the
//! path broke goes back to the monitor, which adds it to the outage's detail.
//!
//! Never in the way of detection: traces run in their own tasks, at most one
//! per target, each bounded by rounds × timeout; a lagging update stream only
//! delays a trigger.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Background, Part, PartFuture};
use crate::config::{Config, PathConfig};
use crate::monitor::update::Annotation;
use crate::monitor::{Layer, Live, Update};
use crate::path::{self, Path, TraceSpec};

/// The least time between two rounds of one trace (routers rate-limit Time Exceeded).
const ROUND_INTERVAL: Duration = Duration::from_secs(1);
/// Traces running at once; the others wait their turn. With a thousand targets
/// a failure must not open a thousand sockets and tasks at once.
const CONCURRENT_TRACES: usize = 4;

/// What the capture task needs; replaced whole on reload.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    path: PathConfig,
    targets: Vec<(String, IpAddr)>,
    timeout: Duration,
    log_dir: PathBuf,
}

impl Settings {
    fn of(c: &Config) -> Settings {
        Settings {
            path: c.path.clone(),
            targets: c
                .targets
                .iter()
                .map(|t| (t.name.0.clone(), t.address))
                .collect(),
            timeout: c.monitor.timeout,
            log_dir: c.monitor.log_dir.clone(),
        }
    }
}

/// The running path capture.
pub struct PathCapture {
    settings: watch::Sender<Settings>,
    task: Background,
}

impl PathCapture {
    /// Follows `live`; tells the monitor where paths broke through `notes`.
    pub fn start(config: &Config, live: Live, notes: mpsc::Sender<Annotation>) -> PathCapture {
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

/// Why a trace ran.
#[derive(Debug, Clone, PartialEq)]
enum Trigger {
    Outage(Layer),
    Baseline,
}

struct Done {
    name: String,
    trigger: Trigger,
    result: std::io::Result<Path>,
}

/// The capture task's state.
struct Capture {
    running: JoinSet<Done>,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    busy: HashSet<String>,
    /// The last recorded route per target (baselines only).
    routes: HashMap<String, Vec<Option<IpAddr>>>,
    unchanged: u64,
    /// Traces cannot run here (no ICMP socket): said once, then off.
    broken: bool,
    notes: mpsc::Sender<Annotation>,
}

impl Capture {
    /// A trace to every target that has none running.
    fn start(&mut self, trigger: &Trigger, s: &Settings) {
        if self.broken || !s.path.enabled {
            return;
        }
        for (name, dest) in &s.targets {
            if !self.busy.insert(name.clone()) {
                tracing::debug!("path to {name}: a trace is already running; not starting another");
                continue;
            }
            let spec = TraceSpec {
                dest: *dest,
                rounds: s.path.rounds.get(),
                max_hops: s.path.max_hops,
                timeout: s.timeout,
                interval: ROUND_INTERVAL,
            };
            let notes = self.notes.clone();
            let slots = std::sync::Arc::clone(&self.slots);
            let (name, trigger) = (name.clone(), trigger.clone());
            self.running.spawn(async move {
                let _slot = slots.acquire_owned().await;
                run_one(name, spec, trigger, notes).await
            });
        }
    }

    fn finished(&mut self, done: Done, s: &Settings) {
        self.busy.remove(&done.name);
        match done.result {
            Ok(p) => record(
                s,
                &done.name,
                &done.trigger,
                &p,
                &mut self.routes,
                &mut self.unchanged,
            ),
            Err(e) => {
                // Said once; monitoring goes on without paths.
                tracing::error!(
                    "{}; path capture is off until the next start",
                    path::setup_error(&e)
                );
                self.broken = true;
            }
        }
    }
}

async fn capture(
    mut settings: watch::Receiver<Settings>,
    mut live: Live,
    notes: mpsc::Sender<Annotation>,
    token: CancellationToken,
) {
    let mut c = Capture {
        running: JoinSet::new(),
        slots: std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_TRACES)),
        busy: HashSet::new(),
        routes: HashMap::new(),
        unchanged: 0,
        broken: false,
        notes,
    };
    let mut failing: Option<Layer> = None;
    let mut baseline = baseline_timer(&settings.borrow());
    loop {
        let s = settings.borrow().clone();
        tokio::select! {
            _ = token.cancelled() => return,
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
                baseline = baseline_timer(&settings.borrow());
            }
            _ = tick(&mut baseline) => c.start(&Trigger::Baseline, &s),
            update = live.recv() => {
                let Some(update) = update else { return };
                let Update::Check(check) = &*update else { continue };
                let layer = check.diagnosis.verdict.layer();
                // A trace when the failure starts, and again when it goes lower.
                if let Some(l) = layer.filter(|l| failing.is_none_or(|f| l < &f)) {
                    c.start(&Trigger::Outage(l), &s);
                }
                failing = layer;
            }
            Some(done) = c.running.join_next() => {
                if let Ok(done) = done {
                    c.finished(done, &s);
                }
            }
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

/// One trace; after its first round, a failure's trace tells the monitor where it broke.
async fn run_one(
    name: String,
    spec: TraceSpec,
    trigger: Trigger,
    notes: mpsc::Sender<Annotation>,
) -> Done {
    let outage = matches!(trigger, Trigger::Outage(_));
    let result = path::trace(spec, |so_far| {
        if outage && so_far.rounds == 1 && !so_far.reached {
            let _ = notes.try_send(Annotation {
                key: format!("path to {name}:"),
                text: so_far.where_broke(&name),
            });
        }
    })
    .await;
    Done {
        name,
        trigger,
        result,
    }
}

/// Writes a finished trace, or counts it when it is a baseline on the same route.
fn record(
    s: &Settings,
    name: &str,
    trigger: &Trigger,
    p: &Path,
    routes: &mut HashMap<String, Vec<Option<IpAddr>>>,
    unchanged: &mut u64,
) {
    let label = match trigger {
        Trigger::Outage(l) => format!("outage {l}"),
        Trigger::Baseline => match routes.get(name) {
            None => "baseline".to_owned(),
            Some(last) if p.differs_from(last) => {
                tracing::warn!(
                    route_changed = name,
                    "ROUTE_CHANGED: the path to {name} is now {}",
                    route_words(p)
                );
                "route-change".to_owned()
            }
            Some(_) => {
                *unchanged += 1;
                tracing::debug!(
                    "path to {name} unchanged ({unchanged} unchanged baselines so far)"
                );
                return;
            }
        },
    };
    if *trigger == Trigger::Baseline {
        routes.insert(name.to_owned(), p.route());
    }
    write(s, name, &label, p);
}

fn route_words(p: &Path) -> String {
    p.route()
        .iter()
        .map(|a| a.map_or_else(|| "???".to_owned(), |a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Appends the table to the target's file and the JSON line to `paths.jsonl`,
/// each whole or not at all.
fn write(s: &Settings, name: &str, trigger: &str, p: &Path) {
    let dir = s.log_dir.join("paths");
    let file_name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let table = path::table(p, name, trigger);
    let json = path::entry_json(p, name, trigger, Utc::now()).to_string() + "\n";
    for (file, text) in [
        (dir.join(format!("{file_name}.log")), table + "\n"),
        (s.log_dir.join("paths.jsonl"), json),
    ] {
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
            })
            .and_then(|mut f| crate::util::append_whole(&mut f, text.as_bytes(), false));
        if let Err(e) = written {
            tracing::error!("cannot write {}: {e}", file.display());
        }
    }
}
