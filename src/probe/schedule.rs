//! One independent task per probe, each on its own interval timer.
//!
//! All timers share one epoch so that the n-th tick of every probe belongs to
//! check round n. Starts are spread over a short span so that many targets do
//! not go out as one burst.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{echo, Plan, Probe, ProbeResult, Prober, Spec};

/// One probe's result for one round, sent to the monitor.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    /// The task's id; stable while the task runs, even across reloads.
    pub id: u64,
    /// Check round, counted in intervals from the epoch.
    pub round: u64,
    /// Wall-clock time the attempt started.
    pub started_at: DateTime<Utc>,
    /// The boot clock when it started (see [`boot_clock`]).
    pub started_boot: Option<Duration>,
    /// What it saw.
    pub result: ProbeResult,
}

/// The time since boot, counting suspend (`CLOCK_BOOTTIME`): a clock that
/// never steps, against which a step of the wall clock shows.
pub fn boot_clock() -> Option<Duration> {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .ok()
        .map(Duration::from)
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

    /// The round in progress at `now` (rounds not yet begun count as 0).
    pub fn round_at(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.epoch).as_secs_f64() / self.interval.as_secs_f64())
            as u64
    }

    /// By this time every probe of `round` has reported, unless a task is wedged.
    pub fn round_deadline(&self, round: u64) -> Instant {
        self.round_start(round) + self.spread + self.timeout + Duration::from_millis(250)
    }
}

/// The running probes: every ICMP probe in the one echo engine, every other
/// probe as a task of its own. A reload keeps every probe whose spec and
/// timing are unchanged, stops the ones no longer wanted and starts the new ones.
pub struct ProbeTasks {
    prober: Arc<Prober>,
    /// The runtime the tasks run on: detection's own, apart from the rest of the daemon.
    runtime: Handle,
    timing: Timing,
    /// The plan the tasks run; `running` lines up with its probes.
    plan: Arc<Plan>,
    running: Vec<Running>,
    tracker: TaskTracker,
    tx: mpsc::Sender<ProbeReport>,
    /// The echo engine's orders.
    echo: mpsc::UnboundedSender<echo::Command>,
    next_id: u64,
}

/// A running probe; what it probes is its place in the plan (kept once, not copied here).
struct Running {
    id: u64,
    /// Its place in the plan.
    index: usize,
    /// A task's stop; `None` for an ICMP probe, which the engine runs.
    token: Option<CancellationToken>,
    /// Its place in a round, and its first round.
    offset: Duration,
    first_round: u64,
}

impl ProbeTasks {
    /// Starts a task for every probe of `plan` on `runtime`; reports go to `tx`.
    pub fn start(
        plan: &Arc<Plan>,
        prober: Arc<Prober>,
        runtime: Handle,
        timing: Timing,
        tx: mpsc::Sender<ProbeReport>,
    ) -> ProbeTasks {
        let (echo, orders) = mpsc::unbounded_channel();
        let tracker = TaskTracker::new();
        tracker.spawn_on(
            echo::run(echo::Engine::new(timing), orders, tx.clone()),
            &runtime,
        );
        let mut tasks = ProbeTasks {
            prober,
            runtime,
            timing,
            plan: Arc::new(Plan::default()),
            running: Vec::new(),
            tracker,
            tx,
            echo,
            next_id: 0,
        };
        tasks.spawn_missing(plan, Vec::new(), 0);
        tasks
    }

    /// The timing the tasks run on.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The task ids of `plan`'s probes, in plan order.
    pub fn ids(&self) -> Vec<u64> {
        self.running.iter().map(|r| r.id).collect()
    }

    /// Makes the running tasks match `plan` and `timing`; returns (kept, started, stopped).
    pub fn apply(&mut self, plan: &Arc<Plan>, timing: Timing) -> (usize, usize, usize) {
        let retime =
            timing.interval != self.timing.interval || timing.timeout != self.timing.timeout;
        if retime {
            self.timing = timing;
        } else {
            self.timing.spread = timing.spread;
        }
        let old = std::mem::take(&mut self.running);
        // New tasks join at the next round: the monitor skips the one in progress.
        let first_round = if retime {
            0
        } else {
            self.timing.round_at(Instant::now()) + 1
        };
        self.spawn_missing(plan, old, first_round)
    }

    /// Keeps the tasks of `old` that `plan` still has, starts the others at
    /// `first_round`, stops the rest; returns (kept, started, stopped).
    fn spawn_missing(
        &mut self,
        plan: &Arc<Plan>,
        mut old: Vec<Running>,
        first_round: u64,
    ) -> (usize, usize, usize) {
        let retime = first_round == 0;
        let old_plan = std::mem::replace(&mut self.plan, Arc::clone(plan));
        let n = plan.probes.len();
        let (mut kept, mut started) = (0, 0);
        for (index, probe) in plan.probes.iter().enumerate() {
            let reuse = (!retime)
                .then(|| old.iter().position(|r| old_plan.probes[r.index] == *probe))
                .flatten();
            if let Some(i) = reuse {
                self.running.push(Running {
                    index,
                    ..old.swap_remove(i)
                });
                kept += 1;
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let offset = self.timing.offset(index, n);
            let token = (!matches!(probe.spec, Spec::Icmp(_))).then(|| {
                let token = CancellationToken::new();
                self.tracker.spawn_on(
                    run_probe(
                        id,
                        probe.clone(),
                        Arc::clone(&self.prober),
                        self.timing,
                        (offset, first_round),
                        self.tx.clone(),
                        token.clone(),
                    ),
                    &self.runtime,
                );
                token
            });
            self.running.push(Running {
                index,
                id,
                token,
                offset,
                first_round,
            });
            started += 1;
        }
        for r in &old {
            r.token.iter().for_each(CancellationToken::cancel);
        }
        self.order_echoes();
        (kept, started, old.len())
    }

    /// Tells the engine which ICMP probes run now.
    fn order_echoes(&self) {
        let probes = (self.running.iter())
            .filter_map(|r| match &self.plan.probes[r.index].spec {
                Spec::Icmp(e) => Some(echo::EchoProbe {
                    id: r.id,
                    host: e.host,
                    count: e.count,
                    offset: r.offset,
                    first_round: r.first_round,
                }),
                _ => None,
            })
            .collect();
        let _ = self.echo.send(echo::Command::Set(probes, self.timing));
    }

    /// Stops every task and the engine and waits for them; the report queue then closes.
    pub async fn stop(self) {
        for r in &self.running {
            r.token.iter().for_each(CancellationToken::cancel);
        }
        drop(self.echo);
        drop(self.tx);
        self.tracker.close();
        self.tracker.wait().await;
    }
}

async fn run_probe(
    id: u64,
    probe: Probe,
    prober: Arc<Prober>,
    timing: Timing,
    (offset, first_round): (Duration, u64),
    tx: mpsc::Sender<ProbeReport>,
    token: CancellationToken,
) {
    // Rounds count from the shared epoch, so a task started by a reload is in
    // step with the tasks already running.
    let base = timing.epoch + offset;
    let first = base + timing.interval.mul_f64(first_round as f64);
    let mut ticker = tokio::time::interval_at(first, timing.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let tick = tokio::select! {
            _ = token.cancelled() => return,
            t = ticker.tick() => t,
        };
        let since = tick.saturating_duration_since(base).as_secs_f64();
        let round = (since / timing.interval.as_secs_f64()).round() as u64;
        let started_at = Utc::now();
        let started_boot = boot_clock();
        let result = tokio::select! {
            _ = token.cancelled() => return,
            r = prober.run(&probe.spec, timing.timeout) => r,
        };
        tracing::trace!(probe = %probe.role, kind = %probe.spec.kind(), round, ?result.outcome, "probe done");
        let report = ProbeReport {
            id,
            round,
            started_at,
            started_boot,
            result,
        };
        if tx.send(report).await.is_err() {
            return;
        }
    }
}
