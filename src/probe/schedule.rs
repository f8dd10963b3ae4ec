//! One independent task per probe, each on its own interval timer.
//!
//! All timers share one epoch so that the n-th tick of every probe belongs to
//! check round n. Starts are spread over a short span so that many targets do
//! not go out as one burst.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Plan, Probe, ProbeResult, Prober};

/// One probe's result for one round, sent to the monitor.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    /// Index of the probe in the plan.
    pub index: usize,
    /// Check round, counted in intervals from the epoch.
    pub round: u64,
    /// Wall-clock time the attempt started.
    pub started_at: DateTime<Utc>,
    /// What it saw.
    pub result: ProbeResult,
}

/// The shared timing of all probe tasks.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Round 0 starts here.
    pub epoch: Instant,
    /// Time between rounds.
    pub interval: Duration,
    /// Bound on each attempt.
    pub timeout: Duration,
    /// Probe starts are spread over this span after each round's start.
    pub spread: Duration,
}

impl Timing {
    /// Timing for `n` probes: starts spread over at most 500 ms, never past `interval - timeout`.
    pub fn new(epoch: Instant, interval: Duration, timeout: Duration, n: usize) -> Timing {
        let spread = if n > 1 {
            interval
                .saturating_sub(timeout)
                .min(Duration::from_millis(500))
        } else {
            Duration::ZERO
        };
        Timing {
            epoch,
            interval,
            timeout,
            spread,
        }
    }

    /// When probe `index` of `n` starts in round 0.
    pub fn offset(&self, index: usize, n: usize) -> Duration {
        if n <= 1 {
            Duration::ZERO
        } else {
            self.spread.mul_f64(index as f64 / n as f64)
        }
    }

    /// The start of `round`.
    pub fn round_start(&self, round: u64) -> Instant {
        self.epoch + self.interval.mul_f64(round as f64)
    }

    /// By this time every probe of `round` has reported, unless a task is wedged.
    pub fn round_deadline(&self, round: u64) -> Instant {
        self.round_start(round) + self.spread + self.timeout + Duration::from_millis(250)
    }
}

/// Spawns one task per probe of `plan` on `tracker`; they stop when `token` is cancelled.
pub fn spawn_all(
    plan: &Plan,
    prober: &Arc<Prober>,
    timing: Timing,
    tx: &mpsc::Sender<ProbeReport>,
    tracker: &TaskTracker,
    token: &CancellationToken,
) {
    let n = plan.probes.len();
    for (index, probe) in plan.probes.iter().enumerate() {
        tracker.spawn(run_probe(
            index,
            probe.clone(),
            Arc::clone(prober),
            timing,
            timing.offset(index, n),
            tx.clone(),
            token.clone(),
        ));
    }
}

async fn run_probe(
    index: usize,
    probe: Probe,
    prober: Arc<Prober>,
    timing: Timing,
    offset: Duration,
    tx: mpsc::Sender<ProbeReport>,
    token: CancellationToken,
) {
    let first = timing.epoch + offset;
    let mut ticker = tokio::time::interval_at(first, timing.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let tick = tokio::select! {
            _ = token.cancelled() => return,
            t = ticker.tick() => t,
        };
        let since = tick.saturating_duration_since(first).as_secs_f64();
        let round = (since / timing.interval.as_secs_f64()).round() as u64;
        let started_at = Utc::now();
        let result = tokio::select! {
            _ = token.cancelled() => return,
            r = prober.run(&probe.spec, timing.timeout) => r,
        };
        tracing::trace!(probe = %probe.role, kind = %probe.spec.kind(), round, ?result.outcome, "probe done");
        let report = ProbeReport {
            index,
            round,
            started_at,
            result,
        };
        if tx.send(report).await.is_err() {
            return;
        }
    }
}
