//! The monitor task: reports in, checks assembled, diagnosed, observed, and
//! events out to the sinks and the live status.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{diagnose, Assembler, Check, Diagnosis, Event, Machine, Status, Thresholds};
use crate::probe::schedule::Timing;
use crate::probe::{Failure, Outcome, Plan, ProbeReport, ProbeResult};
use crate::sink::recorder::Record;

/// What the monitor task needs to know.
pub struct Settings {
    /// The probes, in the order their results arrive.
    pub plan: Arc<Plan>,
    /// Round timing, for deadlines.
    pub timing: Timing,
    /// DEGRADED thresholds.
    pub thresholds: Thresholds,
    /// Share of checks failed on purpose (`--sim-fail`).
    pub sim_fail: f64,
}

/// Where the monitor task sends what it learns.
pub struct Outputs {
    /// One diagnosis per check, for `connection_log.csv`.
    pub connection: mpsc::Sender<(DateTime<Utc>, Diagnosis)>,
    /// Finished outages and state, for `outage_log.csv` and `state.json`.
    pub recorder: mpsc::Sender<Record>,
    /// The live summary.
    pub status: watch::Sender<Status>,
}

/// Runs until every probe task has stopped (the report queue closes), then returns.
pub async fn run(
    settings: Settings,
    machine: &mut Machine,
    mut reports: mpsc::Receiver<ProbeReport>,
    out: Outputs,
) {
    let mut assembler = Assembler::new(settings.plan.probes.len());
    // Announce the resumed state, so the first save is not the only record of it.
    let _ = out
        .recorder
        .send(Record::State(machine.state().clone()))
        .await;
    loop {
        let deadline = assembler
            .oldest()
            .map(|r| settings.timing.round_deadline(r));
        let checks = tokio::select! {
            report = reports.recv() => match report {
                Some(r) => assembler.add(r).into_iter().collect(),
                None => break,
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                assembler.expire(Instant::now(), |r| settings.timing.round_deadline(r))
            }
        };
        for check in checks {
            handle(&settings, machine, check, &out).await;
        }
    }
    tracing::debug!("monitor stopped: every probe task has ended");
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

async fn handle(s: &Settings, machine: &mut Machine, mut check: Check, out: &Outputs) {
    if s.sim_fail > 0.0 && fastrand::f64() < s.sim_fail {
        check.simulated = true;
        for r in &mut check.results {
            *r = ProbeResult::new(Outcome::Down(Failure::Simulated));
        }
    }
    for (probe, r) in s.plan.probes.iter().zip(&check.results) {
        if let Outcome::Down(f) = &r.outcome {
            tracing::debug!(probe = %probe.spec.kind(), target = %probe.role, failure = %f, "probe failed");
        }
    }
    let d = diagnose(&s.plan, &check, &s.thresholds);
    let events = machine.observe(&d, check.at);
    tracing::debug!(verdict = %d.verdict, "check: {}", d.detail);
    out.status.send_modify(|st| st.update(check.at, &d));
    for e in &events {
        log_event(e);
        match e {
            Event::OutageStarted { start, cause, .. } => {
                out.status
                    .send_modify(|st| st.outage = Some((*start, *cause)));
            }
            Event::CauseChanged { start, change } => {
                out.status
                    .send_modify(|st| st.outage = Some((*start, change.to)));
            }
            Event::OutageEnded(o) => {
                out.status.send_modify(|st| {
                    st.outage = None;
                    st.last_outage = Some((o.end, o.cause, o.observed));
                });
                let _ = out.recorder.send(Record::Ended(o.clone())).await;
            }
            Event::VerdictChanged { .. } | Event::Gap(_) => {}
        }
    }
    let _ = out.connection.send((check.at, d)).await;
    let _ = out
        .recorder
        .send(Record::State(machine.state().clone()))
        .await;
}

fn log_event(e: &Event) {
    use crate::sink::{local_hms, outage_detail};
    match e {
        Event::VerdictChanged { from, to, .. } => {
            let from = from.map_or_else(|| "start".to_owned(), |v| v.to_string());
            tracing::info!(verdict = %to, "verdict {from} → {to}");
        }
        Event::OutageStarted {
            start,
            cause,
            detail,
        } => {
            tracing::warn!(outage_cause = %cause, verdict = %cause.verdict(), "outage started at {} ({cause}): {detail}", local_hms(*start));
        }
        Event::CauseChanged { change, .. } => {
            tracing::warn!(outage_cause = %change.to, "outage cause changed {} → {}", change.from, change.to);
        }
        Event::OutageEnded(o) => {
            tracing::warn!(
                outage_cause = %o.cause,
                duration_seconds = crate::sink::seconds(o.observed),
                "outage ended: {} {}–{} ({}s): {}",
                o.cause, local_hms(o.start), local_hms(o.end), crate::sink::seconds(o.observed), outage_detail(o)
            );
        }
        Event::Gap(g) => {
            tracing::warn!(
                "monitoring gap {}–{}: no checks ran (daemon stopped or machine suspended); not counted as outage time",
                local_hms(g.from),
                local_hms(g.to)
            );
        }
    }
}
