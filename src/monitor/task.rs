//! The monitor task: probe reports in, checks assembled, diagnosed and observed
//! by the outage machine, and one [`Update`] per check out to whoever listens.
//!
//! It knows nothing of its consumers: the CSV logs, the alert driver and the
//! live views all take what they need from the update stream.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::machine::At;
use super::update::{Annotation, CheckDone, Publisher, Update};
use super::{diagnose, Assembler, Check, Event, LossWindow, Machine, Rules, Thresholds};
use crate::config::Window;
use crate::probe::{Failure, Outcome, Plan, ProbeReport, ProbeResult, Role, Timing};
use crate::timefmt::{rfc3339_local, rfc3339_local_ms, whole_seconds};

/// What the monitor task needs to know; replaced whole on reload.
pub struct Settings {
    /// The probes, in plan order.
    pub plan: Arc<Plan>,
    /// The task id of each probe, in plan order.
    pub ids: Vec<u64>,
    /// Round timing, for deadlines.
    pub timing: Timing,
    /// DEGRADED thresholds.
    pub thresholds: Thresholds,
    /// Hysteresis.
    pub rules: Rules,
    /// Share of checks failed on purpose (`--sim-fail`).
    pub sim_fail: f64,
    /// Maintenance windows: an outage reaching into one is marked so.
    pub maintenance: Vec<Window>,
}

/// Runs until every probe task has stopped (the report queue closes), then
/// returns the machine. New settings may arrive on `reloads`; the machine and
/// its open outage carry on through them.
pub async fn run(
    mut settings: Settings,
    mut machine: Machine,
    mut reports: mpsc::Receiver<ProbeReport>,
    mut reloads: mpsc::Receiver<Settings>,
    mut annotations: mpsc::Receiver<Annotation>,
    out: Publisher,
) -> Machine {
    let mut assembler = Assembler::new(settings.ids.clone());
    let mut told = Told::default();
    let mut window = LossWindow::default();
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
            Some(a) = annotations.recv() => {
                machine.annotate(a.failure, &a.key, &a.text);
                Vec::new()
            }
            Some(new) = reloads.recv() => {
                // The round in progress was for the old plan; the next round starts clean.
                assembler = Assembler::new(new.ids.clone());
                assembler.skip_through(new.timing.round_at(Instant::now()));
                told.answered.retain(|id, _| new.ids.contains(id));
                machine.set_rules(new.rules);
                // The rounds skipped here are ours, not a monitoring gap.
                machine.excuse_pause(chrono::Utc::now());
                settings = new;
                Vec::new()
            }
        };
        for check in checks {
            let done = handle(&settings, &mut machine, &mut told, &mut window, check);
            out.publish(Update::Check(Box::new(done))).await;
        }
    }
    tracing::debug!("monitor stopped: every probe task has ended");
    machine
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

/// What the journal has been told already, so that it is told once.
#[derive(Default)]
struct Told {
    /// Whether each probe (by task id) answered at its last check.
    answered: HashMap<u64, bool>,
    /// Unverified hops already reported.
    unverified: HashSet<IpAddr>,
}

/// One check through the diagnosis and the machine.
fn handle(
    s: &Settings,
    machine: &mut Machine,
    told: &mut Told,
    window: &mut LossWindow,
    mut check: Check,
) -> CheckDone {
    if s.sim_fail > 0.0 && fastrand::f64() < s.sim_fail {
        check.simulated = true;
        for r in &mut check.results {
            *r = ProbeResult::new(Outcome::Down(Failure::Simulated));
        }
    }
    log_probe_changes(s, &mut told.answered, &check);
    let d = diagnose(
        &s.plan,
        &check,
        &s.thresholds,
        machine.state().known(),
        window,
    );
    if d.targets_up > 0 {
        for hop in &d.unverified_hops {
            if told.unverified.insert(*hop) {
                tracing::warn!("{}", unverified_hop(*hop));
            }
        }
    }
    let events = machine.observe(
        &d,
        At {
            wall: check.at,
            boot: check.boot,
        },
    );
    if in_maintenance(&s.maintenance, check.at) {
        machine.mark_maintenance();
    }
    tracing::debug!(verdict = %d.verdict, "check: {}", d.detail);
    events.iter().for_each(log_event);
    CheckDone {
        at: check.at,
        plan: Arc::clone(&s.plan),
        results: check.results,
        diagnosis: d,
        events,
        state: machine.state().clone(),
    }
}

/// Why a hop is not trusted, and what to do about it.
pub fn unverified_hop(hop: IpAddr) -> String {
    format!(
        "hop {hop} has never answered while the internet worked: check it with `discover`; until it answers it cannot make an outage ISP_DOWN"
    )
}

fn in_maintenance(windows: &[Window], at: DateTime<Utc>) -> bool {
    if windows.is_empty() {
        return false;
    }
    let (day, time) = crate::timefmt::local_weekday_time(at);
    windows.iter().any(|w| w.contains(day, time))
}

/// Logs each probe that stopped or started answering (and, at first sight, each
/// that does not answer), with `PROBE_TARGET` and `PROBE` fields for the journal.
fn log_probe_changes(s: &Settings, answered: &mut HashMap<u64, bool>, check: &Check) {
    for ((probe, id), r) in s.plan.probes.iter().zip(&s.ids).zip(&check.results) {
        // A host that refuses is there; a DNS or web service that refuses is not working.
        let now = match probe.role {
            Role::Dns { .. } | Role::Http(_) => matches!(r.outcome, Outcome::Up { .. }),
            _ => r.outcome.answered(),
        };
        let before = answered.insert(*id, now);
        // Formatted only for the lines written: most checks change nothing.
        let addr = || r.addr.map(|a| format!(" ({a})")).unwrap_or_default();
        match (before, now, &r.outcome) {
            (Some(true) | None, false, Outcome::Down(f)) => {
                tracing::info!(probe_target = %probe.role, probe = %probe.spec.kind(), failure = %f, "{}{} {}: no answer ({f})", probe.role, addr(), probe.spec.kind());
            }
            (Some(false), true, _) => {
                tracing::info!(probe_target = %probe.role, probe = %probe.spec.kind(), "{}{} {}: answers again", probe.role, addr(), probe.spec.kind());
            }
            _ => {}
        }
    }
}

fn log_event(e: &Event) {
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
            tracing::warn!(outage_cause = %cause, verdict = %cause.verdict(), "outage started at {} ({cause}): {detail}", rfc3339_local_ms(*start));
        }
        Event::CauseChanged { change, .. } => {
            tracing::warn!(outage_cause = %change.to, "outage cause changed {} → {}", change.from, change.to);
        }
        Event::OutageEnded(o) => {
            // Where it broke was said when it started; the row and the DETAIL field hold it all.
            tracing::warn!(
                outage_cause = %o.cause,
                duration_seconds = whole_seconds(o.observed),
                detail = %o.full_detail(),
                "outage ended: {} from {} to {} ({}s)",
                o.cause, rfc3339_local_ms(o.start), rfc3339_local_ms(o.end), whole_seconds(o.observed)
            );
        }
        Event::ClockStepped { at, by } => {
            tracing::warn!(
                "the wall clock stepped {} before the check at {}; the times already recorded moved with it (no outage time, no gap)",
                crate::timefmt::signed(*by),
                rfc3339_local(*at)
            );
        }
        Event::Gap(g) => {
            tracing::warn!(
                "monitoring gap from {} to {}: no checks ran (daemon stopped or machine suspended); not counted as outage time",
                rfc3339_local(g.from),
                rfc3339_local(g.to)
            );
        }
    }
}
