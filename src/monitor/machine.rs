//! The outage state machine: pure, `observe(diagnosis, now) -> events`.
//!
//! No clock, no I/O, no tokio, so that every rule about when an
//! outage starts and ends is tested as plain data (see `tests/scenarios/`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::diagnose::{Diagnosis, Known, Layer, Verdict};
use crate::config::Family;
use crate::timefmt::{rfc3339_local, spelled};

/// The hysteresis rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Consecutive failing checks before an outage starts.
    pub down_after: u32,
    /// Consecutive good checks before it ends.
    pub up_after: u32,
    /// Time between checks; a silence of more than 3 of these is a monitoring gap.
    pub interval: Duration,
}

impl Rules {
    /// The rules `config` sets.
    pub fn of(config: &crate::config::Core) -> Rules {
        Rules {
            down_after: config.monitor.down_after.get(),
            up_after: config.monitor.up_after.get(),
            interval: config.monitor.interval,
        }
    }
}

/// A span the monitor did not observe (stopped, crashed, suspended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// When the missed check was due.
    pub from: DateTime<Utc>,
    /// When checks resumed.
    pub to: DateTime<Utc>,
}

impl Gap {
    /// Its length.
    pub fn length(&self) -> Duration {
        (self.to - self.from).to_std().unwrap_or_default()
    }
}

/// A change of an open outage's cause to a lower layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseChange {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// The cause before.
    pub from: Layer,
    /// The cause after.
    pub to: Layer,
}

/// Consecutive failing checks not yet long enough to be an outage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Streak {
    /// The first failing check.
    pub since: DateTime<Utc>,
    /// How many in a row.
    pub count: u32,
    /// The lowest layer seen.
    pub lowest: Layer,
    /// The detail of the check that showed it.
    pub detail: String,
    /// Whether any of the checks was simulated.
    pub simulated: bool,
}

/// Consecutive good checks during an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodStreak {
    /// The first good check: the outage's end if the streak lasts.
    pub since: DateTime<Utc>,
    /// How many in a row.
    pub count: u32,
}

/// An outage that has started and not yet ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenOutage {
    /// The first failing check.
    pub start: DateTime<Utc>,
    /// The lowest layer seen so far.
    pub cause: Layer,
    /// Where the path broke, from the check that set the cause.
    pub detail: String,
    /// Every change of cause.
    pub cause_changes: Vec<CauseChange>,
    /// Spans not observed; not counted as outage time.
    pub gaps: Vec<Gap>,
    /// Good checks so far, if the last check was good.
    pub good: Option<GoodStreak>,
    /// Whether any of its checks was simulated.
    pub simulated: bool,
    /// Whether any of it fell in a maintenance window (its alerts were held back).
    #[serde(default)]
    pub maintenance: bool,
}

impl OpenOutage {
    /// An outage that starts at `start` with `cause`: no changes, gaps or good checks yet.
    pub fn new(start: DateTime<Utc>, cause: Layer, detail: String, simulated: bool) -> OpenOutage {
        OpenOutage {
            start,
            cause,
            detail,
            cause_changes: Vec::new(),
            gaps: Vec::new(),
            good: None,
            simulated,
            maintenance: false,
        }
    }
}

/// A finished outage, as recorded in `outage_log.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageRecord {
    /// The first failing check.
    pub start: DateTime<Utc>,
    /// The first of the good checks that ended it.
    pub end: DateTime<Utc>,
    /// The lowest layer seen.
    pub cause: Layer,
    /// Observed outage time: end − start, less monitoring gaps.
    pub observed: Duration,
    /// Where the path broke.
    pub detail: String,
    /// Every change of cause.
    pub cause_changes: Vec<CauseChange>,
    /// Spans not observed.
    pub gaps: Vec<Gap>,
    /// Whether any of its checks was simulated.
    pub simulated: bool,
    /// Whether any of it fell in a maintenance window.
    #[serde(default)]
    pub maintenance: bool,
}

impl OutageRecord {
    /// Everything a person needs beside the times: where it broke, maintenance,
    /// cause changes, monitoring gaps, simulation. The `detail` column of its row.
    pub fn full_detail(&self) -> String {
        let mut parts = vec![self.detail.clone()];
        if self.maintenance {
            parts.push("during a maintenance window (alerts held back)".into());
        }
        for c in &self.cause_changes {
            parts.push(format!(
                "cause {}→{} at {}",
                c.from,
                c.to,
                rfc3339_local(c.at)
            ));
        }
        for g in &self.gaps {
            parts.push(format!(
                "monitoring gap from {} to {} ({}) not counted",
                rfc3339_local(g.from),
                rfc3339_local(g.to),
                spelled(g.length())
            ));
        }
        if self.simulated && !self.detail.contains("simulated") {
            parts.push("simulated".into());
        }
        parts.join("; ")
    }
}

/// What the machine tells the rest of the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The verdict differs from the previous check's.
    VerdictChanged {
        /// The check's time.
        at: DateTime<Utc>,
        /// The previous verdict, if any.
        from: Option<Verdict>,
        /// The new verdict.
        to: Verdict,
    },
    /// An outage has started (after `down_after` failing checks).
    OutageStarted {
        /// Its recorded start: the first failing check.
        start: DateTime<Utc>,
        /// The lowest layer seen so far.
        cause: Layer,
        /// Where the path broke.
        detail: String,
    },
    /// An open outage's cause moved to a lower layer.
    CauseChanged {
        /// The outage's start.
        start: DateTime<Utc>,
        /// The change.
        change: CauseChange,
    },
    /// An outage has ended (after `up_after` good checks).
    OutageEnded(OutageRecord),
    /// Checks resumed after a span not observed.
    Gap(Gap),
    /// The wall clock stepped (NTP, an RTC reset, a state file from the
    /// future): the times already recorded were moved with it, so that every
    /// length still agrees with the clock that never steps.
    ClockStepped {
        /// The check that saw it.
        at: DateTime<Utc>,
        /// How far the wall clock moved, forward or back.
        by: chrono::Duration,
    },
}

/// When a check ran, on two clocks: the wall clock, which the records show,
/// and the boot clock (`CLOCK_BOOTTIME`), which never steps and counts the
/// time the machine slept. Comparing the two tells a clock step (the wall
/// clock moved, the boot clock did not) from a gap (both moved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// The wall clock.
    pub wall: DateTime<Utc>,
    /// The boot clock, when known.
    pub boot: Option<Duration>,
}

impl From<DateTime<Utc>> for At {
    fn from(wall: DateTime<Utc>) -> At {
        At { wall, boot: None }
    }
}

/// Two clocks disagreeing by less than this is jitter, not a step.
const STEP_TOLERANCE: chrono::Duration = chrono::Duration::seconds(1);

/// The machine's whole state; persisted so that a restart resumes an open outage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MachineState {
    /// The previous check's time.
    pub last_check: Option<DateTime<Utc>>,
    /// The previous check's verdict.
    pub last_verdict: Option<Verdict>,
    /// Failing checks not yet an outage.
    pub streak: Option<Streak>,
    /// The open outage.
    pub outage: Option<OpenOutage>,
    /// Routers proven real: a gateway seen answering, ISP hops seen
    /// answering while the internet worked (see `diagnose`).
    #[serde(default, alias = "verified_hops")]
    pub verified_routers: BTreeSet<IpAddr>,
    /// Families whose internet targets have answered: only a family that has
    /// worked can fail (a host that never had IPv6 has no IPv6 outage).
    #[serde(default)]
    pub families_working: BTreeSet<Family>,
}

impl MachineState {
    /// What earlier checks proved, for the diagnosis of the next.
    pub fn known(&self) -> Known<'_> {
        Known {
            routers: &self.verified_routers,
            families: &self.families_working,
        }
    }

    /// Whether anything would be lost if this state were forgotten.
    pub fn is_quiet(&self) -> bool {
        self.streak.is_none() && self.outage.is_none()
    }
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    rules: Rules,
    state: MachineState,
    /// The last check on both clocks. Never persisted: a boot clock reading
    /// means nothing to another run.
    last: Option<(Duration, DateTime<Utc>)>,
}

impl Machine {
    /// A machine resuming from `state` (use `Default` for a fresh start).
    pub fn new(rules: Rules, state: MachineState) -> Machine {
        Machine {
            rules,
            state,
            last: None,
        }
    }

    /// Its state, for persisting.
    pub fn state(&self) -> &MachineState {
        &self.state
    }

    /// Replaces the rules (on reload); the state is kept.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Notes that the open outage (if any) reaches into a maintenance window.
    pub fn mark_maintenance(&mut self) {
        if let Some(o) = &mut self.state.outage {
            o.maintenance = true;
        }
    }

    /// Feeds one check's diagnosis, taken at `at`.
    pub fn observe(&mut self, d: &Diagnosis, at: impl Into<At>) -> Vec<Event> {
        let at = at.into();
        let now = at.wall;
        let mut events = Vec::new();
        self.note_clock_step(at, &mut events);
        self.note_gap(now, &mut events);
        self.state.last_check = Some(now);
        self.state.verified_routers.extend(&d.routers_proven);
        self.state.families_working.extend(&d.families_proven);
        if self.state.last_verdict != Some(d.verdict) {
            events.push(Event::VerdictChanged {
                at: now,
                from: self.state.last_verdict,
                to: d.verdict,
            });
            self.state.last_verdict = Some(d.verdict);
        }
        match (d.verdict.layer(), self.state.outage.is_some()) {
            (Some(layer), false) => self.failing_without_outage(layer, d, now, &mut events),
            (Some(layer), true) => self.failing_in_outage(layer, d, now, &mut events),
            (None, false) => self.state.streak = None,
            (None, true) => self.good_in_outage(now, &mut events),
        }
        events
    }

    /// Adds what was learned outside the checks (where the path broke) to the
    /// failure in progress: the streak (so the outage starts with it) or the
    /// open outage; a part starting with the same `key` is replaced.
    /// Only the failure whose first failing check was at `failure` takes it:
    /// words about one failure never land in another's row.
    pub fn annotate(&mut self, failure: DateTime<Utc>, key: &str, text: &str) {
        let detail = match (&mut self.state.streak, &mut self.state.outage) {
            (_, Some(o)) if o.start == failure => &mut o.detail,
            (Some(s), None) if s.since == failure => &mut s.detail,
            _ => return,
        };
        let mut parts: Vec<&str> = detail.split("; ").filter(|p| !p.starts_with(key)).collect();
        parts.push(text);
        *detail = parts.join("; ");
    }

    /// Lets the next check follow a pause of the daemon's own making (a reload
    /// restarting probes) without calling it a monitoring gap.
    pub fn excuse_pause(&mut self, now: DateTime<Utc>) {
        let interval = chrono::Duration::from_std(self.rules.interval).unwrap_or_default();
        if let Some(last) = &mut self.state.last_check {
            // As if a check had run one interval ago: the next one is on time.
            *last = (*last).max(now - interval);
        }
    }

    /// A step of the wall clock between two checks (the boot clock says how
    /// much time really passed) moves every time recorded before it by the
    /// same amount: a step is not outage time, nor a gap, and every start,
    /// end and length keeps agreeing with the others. Without a boot clock
    /// reading (the first check after a start), times ahead of `now` are
    /// clamped to it.
    fn note_clock_step(&mut self, at: At, events: &mut Vec<Event>) {
        let last = self.last.replace((at.boot.unwrap_or_default(), at.wall));
        let (Some(boot), Some((last_boot, last_wall))) = (at.boot, last) else {
            self.last = at.boot.map(|b| (b, at.wall));
            return self.clamp_ahead(at.wall, events);
        };
        let on_boot =
            chrono::Duration::from_std(boot.saturating_sub(last_boot)).unwrap_or_default();
        let by = (at.wall - last_wall) - on_boot;
        if by.abs() <= STEP_TOLERANCE {
            return;
        }
        events.push(Event::ClockStepped { at: at.wall, by });
        self.shift(by);
    }

    /// Moves every recorded time by `by`, with a note on the open outage.
    fn shift(&mut self, by: chrono::Duration) {
        let s = &mut self.state;
        let moved = |t: &mut DateTime<Utc>| *t = t.checked_add_signed(by).unwrap_or(*t);
        s.last_check.iter_mut().for_each(moved);
        if let Some(streak) = &mut s.streak {
            moved(&mut streak.since);
        }
        if let Some(o) = &mut s.outage {
            moved(&mut o.start);
            o.good.iter_mut().for_each(|g| moved(&mut g.since));
            o.cause_changes.iter_mut().for_each(|c| moved(&mut c.at));
            for g in &mut o.gaps {
                moved(&mut g.from);
                moved(&mut g.to);
            }
            o.detail.push_str(&format!(
                "; the wall clock stepped {} during it: its times are given on the stepped clock",
                crate::timefmt::signed(by)
            ));
        }
    }

    /// Time that runs backwards with nothing to measure it by (a state file
    /// from the future): whatever was recorded ahead of `now` is brought back
    /// to it, with a note, so that no outage ends before it starts and no
    /// duration is negative.
    fn clamp_ahead(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        let ahead = [
            self.state.last_check,
            self.state.streak.as_ref().map(|s| s.since),
            self.state.outage.as_ref().map(|o| o.start),
            self.state
                .outage
                .as_ref()
                .and_then(|o| o.good.map(|g| g.since)),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .max();
        let Some(from) = ahead else {
            return;
        };
        events.push(Event::ClockStepped {
            at: now,
            by: now - from,
        });
        self.state.last_check = self.state.last_check.map(|t| t.min(now));
        if let Some(s) = &mut self.state.streak {
            s.since = s.since.min(now);
        }
        if let Some(o) = &mut self.state.outage {
            if o.start > now {
                o.detail.push_str(&format!(
                    "; start clamped from {} (the clock stepped back)",
                    crate::timefmt::rfc3339_local(o.start)
                ));
                o.start = now;
            }
            if let Some(g) = &mut o.good {
                g.since = g.since.min(now);
            }
        }
    }

    /// A silence of more than 3 intervals since the last check is a gap: it breaks
    /// any streak, and an open outage notes it so it is not counted as outage time.
    fn note_gap(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        let Some(last) = self.state.last_check else {
            return;
        };
        let interval = chrono::Duration::from_std(self.rules.interval).unwrap_or_default();
        if now - last <= interval * 3 {
            return;
        }
        let gap = Gap {
            from: last + interval,
            to: now,
        };
        events.push(Event::Gap(gap));
        self.state.streak = None;
        if let Some(o) = &mut self.state.outage {
            o.gaps.push(gap);
            o.good = None;
        }
    }

    fn failing_without_outage(
        &mut self,
        layer: Layer,
        d: &Diagnosis,
        now: DateTime<Utc>,
        events: &mut Vec<Event>,
    ) {
        let streak = self.state.streak.get_or_insert_with(|| Streak {
            since: now,
            count: 0,
            lowest: layer,
            detail: d.detail.clone(),
            simulated: false,
        });
        streak.count += 1;
        streak.simulated |= d.simulated;
        if layer < streak.lowest {
            streak.lowest = layer;
            streak.detail = d.detail.clone();
        }
        if streak.count < self.rules.down_after {
            return;
        }
        let streak = self.state.streak.take().expect("streak was just set");
        events.push(Event::OutageStarted {
            start: streak.since,
            cause: streak.lowest,
            detail: streak.detail.clone(),
        });
        self.state.outage = Some(OpenOutage::new(
            streak.since,
            streak.lowest,
            streak.detail,
            streak.simulated,
        ));
    }

    fn failing_in_outage(
        &mut self,
        layer: Layer,
        d: &Diagnosis,
        now: DateTime<Utc>,
        events: &mut Vec<Event>,
    ) {
        let o = self.state.outage.as_mut().expect("caller checked");
        o.good = None;
        o.simulated |= d.simulated;
        if layer < o.cause {
            let change = CauseChange {
                at: now,
                from: o.cause,
                to: layer,
            };
            o.cause = layer;
            o.detail = d.detail.clone();
            o.cause_changes.push(change);
            events.push(Event::CauseChanged {
                start: o.start,
                change,
            });
        }
    }

    fn good_in_outage(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        let o = self.state.outage.as_mut().expect("caller checked");
        let good = o.good.get_or_insert(GoodStreak {
            since: now,
            count: 0,
        });
        good.count += 1;
        if good.count < self.rules.up_after {
            return;
        }
        let good_since = good.since;
        let o = self.state.outage.take().expect("caller checked");
        // Never before its start, whatever the clock did.
        let end = good_since.max(o.start);
        let unobserved: Duration = o.gaps.iter().filter(|g| g.to <= end).map(Gap::length).sum();
        let span = (end - o.start).to_std().unwrap_or_default();
        events.push(Event::OutageEnded(OutageRecord {
            start: o.start,
            end,
            cause: o.cause,
            observed: span.saturating_sub(unobserved),
            detail: o.detail,
            cause_changes: o.cause_changes,
            gaps: o.gaps,
            simulated: o.simulated,
            maintenance: o.maintenance,
        }));
    }
}
