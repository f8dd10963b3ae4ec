//! What the outage machine records and keeps: the gaps it did not observe,
//! the failing and good streaks, the open outage and the record of a
//! finished one, the events it emits, and its whole (persisted) state.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Family;
use crate::monitor::diagnose::{Known, Layer, Verdict};
use crate::timefmt::{rfc3339_local, spelled};

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
