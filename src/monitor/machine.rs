//! The outage state machine: pure, `observe(diagnosis, now) -> events`.
//!
//! No clock, no I/O, no tokio, so that every rule about when an
//! outage starts and ends is tested as plain data (see `tests/scenarios/`).

use std::time::Duration;

use chrono::{DateTime, Utc};

mod state;

pub use state::{
    At, CauseChange, Event, Gap, GoodStreak, MachineState, OpenOutage, OutageRecord, Streak,
};

use super::diagnose::{Diagnosis, Layer};

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

/// Two clocks disagreeing by less than this is jitter, not a step.
const STEP_TOLERANCE: chrono::Duration = chrono::Duration::seconds(1);

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
