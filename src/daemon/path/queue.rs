//! The traces waiting and the one running: one at a time, paced, a failure's
//! before any baseline.
//!
//! One at a time because the routers near the monitor (the gateway, the ISP's
//! first routers) are on every target's path and answer only about one probe
//! a second: traces side by side would share that and read each other's
//! share as loss.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::monitor::update::Annotation;
use crate::monitor::Layer;
use crate::path::{self, Pacer, Path, TraceSpec};

/// Why a trace runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// For the failure whose first failing check was at `since`, failing at `layer`.
    Failure {
        /// The failure's first failing check.
        since: DateTime<Utc>,
        /// The lowest layer failing when the trace was asked for.
        layer: Layer,
    },
    /// The path while it works.
    Baseline,
}

/// One trace to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The target's name.
    pub name: String,
    /// Why.
    pub purpose: Purpose,
    /// How.
    pub spec: TraceSpec,
}

/// A finished trace.
pub struct Done {
    /// What it was.
    pub job: Job,
    /// The path, or why no trace could run (the monitor's own fault).
    pub result: std::io::Result<Path>,
}

struct Running {
    purpose: Purpose,
    task: JoinHandle<Done>,
    /// Cancelled when its failure has ended: it stops after the round in progress.
    stop: CancellationToken,
}

/// The queue and the running trace.
pub struct Queue {
    waiting: VecDeque<Job>,
    running: Option<Running>,
    pacer: Pacer,
    notes: mpsc::Sender<Annotation>,
}

impl Queue {
    /// An empty queue whose traces keep rounds `interval` apart and tell the
    /// monitor through `notes` where a failure's path broke.
    pub fn new(interval: std::time::Duration, notes: mpsc::Sender<Annotation>) -> Queue {
        Queue {
            waiting: VecDeque::new(),
            running: None,
            pacer: Pacer::new(interval),
            notes,
        }
    }

    /// Asks for `job`; a failure's job for a target already waiting for the
    /// same failure replaces that one (the layer went lower).
    pub fn push(&mut self, job: Job) {
        let same = |w: &Job| w.name == job.name && same_failure(&w.purpose, &job.purpose);
        match self.waiting.iter_mut().find(|w| same(w)) {
            Some(w) => *w = job,
            None => self.waiting.push_back(job),
        }
    }

    /// Whether a job is waiting for or running.
    pub fn idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_none()
    }

    /// Keeps only the traces for the failure that started at `current` and
    /// is failing now: others waiting are dropped, one running stops after its
    /// round, and a baseline running while a check fails is abandoned.
    /// Returns whether a baseline was dropped.
    pub fn keep_only(&mut self, current: Option<DateTime<Utc>>) -> bool {
        let keep = |p: &Purpose| match (p, current) {
            (Purpose::Failure { since, .. }, Some(c)) => *since == c,
            (Purpose::Baseline, None) => true,
            _ => false,
        };
        let mut dropped = self
            .waiting
            .iter()
            .any(|j| j.purpose == Purpose::Baseline && !keep(&j.purpose));
        self.waiting.retain(|j| keep(&j.purpose));
        if let Some(r) = &self.running {
            if !keep(&r.purpose) {
                if r.purpose == Purpose::Baseline {
                    // Not taken while the path worked: worthless as a baseline.
                    r.task.abort();
                    dropped = true;
                } else {
                    r.stop.cancel();
                }
            }
        }
        dropped
    }

    /// Drops everything; a running trace is abandoned.
    pub fn clear(&mut self) {
        self.waiting.clear();
        if let Some(r) = self.running.take() {
            r.task.abort();
        }
    }

    /// On the way out: drops what waits and lets a failure's running trace
    /// finish its round (within `grace`) so that it is not lost.
    pub async fn wind_down(&mut self, grace: Duration) -> Option<Done> {
        self.waiting.clear();
        let r = self.running.take()?;
        if r.purpose == Purpose::Baseline {
            r.task.abort();
            return None;
        }
        r.stop.cancel();
        let abort = r.task.abort_handle();
        match tokio::time::timeout(grace, r.task).await {
            Ok(done) => done.ok(),
            Err(_) => {
                abort.abort();
                None
            }
        }
    }

    /// Starts the first waiting job if none is running and `ready` allows it
    /// (else it waits); `answering` are the routers the last check saw answering.
    pub fn start_next(&mut self, answering: &[IpAddr], ready: impl Fn(&Job) -> bool) {
        if self.running.is_some() {
            return;
        }
        if !self.waiting.front().is_some_and(&ready) {
            return;
        }
        let Some(mut job) = self.waiting.pop_front() else {
            return;
        };
        job.spec.hints.routers = answering.to_vec();
        let stop = CancellationToken::new();
        let purpose = job.purpose;
        let task = tokio::spawn(run(
            job,
            self.pacer.clone(),
            stop.clone(),
            self.notes.clone(),
        ));
        self.running = Some(Running {
            purpose,
            task,
            stop,
        });
    }

    /// The running trace's end; `None` when it was abandoned. Never resolves while none runs.
    pub async fn finished(&mut self) -> Option<Done> {
        let Some(r) = &mut self.running else {
            return std::future::pending().await;
        };
        let done = (&mut r.task).await;
        self.running = None;
        done.ok()
    }
}

fn same_failure(a: &Purpose, b: &Purpose) -> bool {
    matches!((a, b), (Purpose::Failure { since: x, .. }, Purpose::Failure { since: y, .. }) if x == y)
}

/// One trace. After every round of a failure's trace, the monitor learns where
/// the path broke (a newer sentence replaces the older one in the detail).
async fn run(
    job: Job,
    pacer: Pacer,
    stop: CancellationToken,
    notes: mpsc::Sender<Annotation>,
) -> Done {
    let failure = match job.purpose {
        Purpose::Failure { since, .. } => Some(since),
        _ => None,
    };
    let name = job.name.clone();
    let answering = job.spec.hints.routers.clone();
    let result = path::trace(job.spec.clone(), &pacer, &stop, |so_far| {
        if let Some(failure) = failure.filter(|_| !so_far.reached && !stop.is_cancelled()) {
            let _ = notes.try_send(Annotation {
                failure,
                key: format!("path to {name}:"),
                text: so_far.where_broke(&name, &answering),
            });
        }
    })
    .await;
    Done { job, result }
}
