//! The monitor task: reports in, checks assembled, diagnosed, observed, and
//! events out to the sinks and the live status.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{diagnose, Assembler, Check, Diagnosis, Event, Machine, Rules, Status, Thresholds};
use crate::alert::{self, Alerting, Decision, Kind, Level, Message, Notifier, Policy};
use crate::monitor::Layer;
use crate::probe::{Failure, Outcome, Plan, ProbeReport, ProbeResult, Timing};
use crate::sink::recorder::Record;
use crate::sink::{local_hms, local_hms_ms, outage_detail, seconds};

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
    /// When an outage becomes an alert.
    pub policy: Policy,
    /// Where alerts go besides the journal.
    pub notifier: Arc<Notifier>,
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

/// Runs until every probe task has stopped (the report queue closes), then
/// returns the machine. New settings may arrive on `updates` (reload); the
/// machine and its open outage carry on through them.
pub async fn run(
    mut settings: Settings,
    (mut machine, mut alerting): (Machine, Option<Alerting>),
    mut reports: mpsc::Receiver<ProbeReport>,
    mut updates: mpsc::Receiver<Settings>,
    out: Outputs,
) -> Machine {
    let mut assembler = Assembler::new(settings.ids.clone());
    let mut answered: HashMap<u64, bool> = HashMap::new();
    // Announce the resumed state, so the first save is not the only record of it.
    let _ = out
        .recorder
        .send(Record::State(machine.state().clone(), alerting.clone()))
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
            Some(new) = updates.recv() => {
                // The round in progress was for the old plan; the next round starts clean.
                assembler = Assembler::new(new.ids.clone());
                assembler.skip_through(new.timing.round_at(Instant::now()));
                answered.retain(|id, _| new.ids.contains(id));
                machine.set_rules(new.rules);
                settings = new;
                Vec::new()
            }
        };
        for check in checks {
            handle(
                &settings,
                &mut machine,
                &mut alerting,
                &mut answered,
                check,
                &out,
            )
            .await;
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

async fn handle(
    s: &Settings,
    machine: &mut Machine,
    alerting: &mut Option<Alerting>,
    answered: &mut HashMap<u64, bool>,
    mut check: Check,
    out: &Outputs,
) {
    if s.sim_fail > 0.0 && fastrand::f64() < s.sim_fail {
        check.simulated = true;
        for r in &mut check.results {
            *r = ProbeResult::new(Outcome::Down(Failure::Simulated));
        }
    }
    log_probe_changes(s, answered, &check);
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
                let mut o = o.clone();
                if let Some(a) = alerting.take() {
                    if a.in_window {
                        o.detail
                            .push_str("; during a maintenance window (alerts held back)");
                    }
                    if let Some(d) = s.policy.end(&a, o.end) {
                        alert(s, &d, o.cause, o.start, check.at, &outage_detail(&o));
                    }
                }
                let _ = out.recorder.send(Record::Ended(o)).await;
            }
            Event::VerdictChanged { .. } | Event::Gap(_) => {}
        }
    }
    // An open outage is an alertable condition (also one resumed after a restart).
    if let Some(o) = &machine.state().outage {
        let a = alerting.get_or_insert_with(|| Alerting::new(o.start));
        if let Some(dec) = s.policy.tick(a, check.at, alert::local(check.at)) {
            alert(s, &dec, o.cause, o.start, check.at, &o.detail);
        }
    }
    let _ = out.connection.send((check.at, d)).await;
    let _ = out
        .recorder
        .send(Record::State(machine.state().clone(), alerting.clone()))
        .await;
}

/// Puts a decision in the outbox (on disk), then logs it.
fn alert(
    s: &Settings,
    d: &Decision,
    cause: Layer,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    detail: &str,
) {
    let msg = Message::from_decision(
        d.kind,
        cause.verdict().as_str(),
        start,
        d.lasted,
        now,
        detail,
    );
    s.notifier.notify(&msg);
    log_alert(d, cause, start, detail);
}

/// The journal is the first channel: every alert decision is logged with an `ALERT` field.
fn log_alert(d: &Decision, cause: Layer, start: DateTime<Utc>, detail: &str) {
    let lasted = humantime::format_duration(Duration::from_secs(d.lasted.as_secs()));
    match d.kind {
        Kind::Alert(level) => {
            tracing::warn!(alert = level_name(level), outage_cause = %cause, "alert {}: {cause} since {} ({lasted}): {detail}", level_name(level), local_hms(start));
        }
        Kind::Reminder(level) => {
            tracing::warn!(alert = level_name(level), outage_cause = %cause, "alert {} reminder: {cause} still down for {lasted}", level_name(level));
        }
        Kind::Recovered(level) => {
            tracing::info!(alert = "RECOVERED", outage_cause = %cause, "alert RECOVERED (was {}): {cause} for {lasted}: {detail}", level_name(level));
        }
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Warning => "WARNING",
        Level::Critical => "CRITICAL",
    }
}

/// Logs each probe that stopped or started answering (and, at first sight, each
/// that does not answer), with `TARGET` and `PROBE` fields for the journal.
fn log_probe_changes(s: &Settings, answered: &mut HashMap<u64, bool>, check: &Check) {
    for ((probe, id), r) in s.plan.probes.iter().zip(&s.ids).zip(&check.results) {
        let now = r.outcome.answered();
        let before = answered.insert(*id, now);
        let addr = r.addr.map(|a| format!(" ({a})")).unwrap_or_default();
        match (before, now, &r.outcome) {
            (Some(true) | None, false, Outcome::Down(f)) => {
                tracing::info!(target = %probe.role, probe = %probe.spec.kind(), failure = %f, "{}{addr} {}: no answer ({f})", probe.role, probe.spec.kind());
            }
            (Some(false), true, _) => {
                tracing::info!(target = %probe.role, probe = %probe.spec.kind(), "{}{addr} {}: answers again", probe.role, probe.spec.kind());
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
            tracing::warn!(outage_cause = %cause, verdict = %cause.verdict(), "outage started at {} ({cause}): {detail}", local_hms_ms(*start));
        }
        Event::CauseChanged { change, .. } => {
            tracing::warn!(outage_cause = %change.to, "outage cause changed {} → {}", change.from, change.to);
        }
        Event::OutageEnded(o) => {
            tracing::warn!(
                outage_cause = %o.cause,
                duration_seconds = seconds(o.observed),
                "outage ended: {} {}–{} ({}s): {}",
                o.cause, local_hms_ms(o.start), local_hms_ms(o.end), seconds(o.observed), outage_detail(o)
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
