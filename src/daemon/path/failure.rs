//! Which failure a trace is for, and what became of it.
//!
//! A failure is named by its first failing check: the machine keeps that time
//! as its streak's start, and an outage that grows from the streak keeps it as
//! its recorded start (`started_at` in outage_log.csv). So a trace taken for a
//! failure carries the identity the report later finds its outage by.

use std::collections::VecDeque;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::monitor::update::CheckDone;
use crate::monitor::{Layer, MachineState};
use crate::probe::Role;

/// The failure in progress as a check left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Its first failing check.
    pub since: DateTime<Utc>,
    /// The layer this check failed at; `None` when it was good but the outage is still open.
    pub failing: Option<Layer>,
}

impl Failure {
    /// The failure `check` leaves open, if any: an outage, or failing checks not yet one.
    pub fn of(check: &CheckDone) -> Option<Failure> {
        let state = &check.state;
        let since = match (&state.outage, &state.streak) {
            (Some(o), _) => o.start,
            (None, Some(s)) => s.since,
            (None, None) => return None,
        };
        Some(Failure {
            since,
            failing: check.diagnosis.verdict.layer(),
        })
    }
}

/// What became of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It became an outage (its recorded start is the failure's first failing check).
    Outage,
    /// It ended before it was long enough to be one.
    NoOutage,
    /// Not known yet.
    Undecided,
}

/// Recent failures that became outages, and the one in progress.
#[derive(Debug, Default)]
pub struct Fates {
    outages: VecDeque<DateTime<Utc>>,
    current: Option<DateTime<Utc>>,
}

/// Outage starts remembered: far more than traces can be waiting for.
const REMEMBERED: usize = 64;

impl Fates {
    /// Learns from the machine's state after a check.
    pub fn observe(&mut self, state: &MachineState) {
        if let Some(o) = &state.outage {
            if !self.outages.contains(&o.start) {
                if self.outages.len() == REMEMBERED {
                    self.outages.pop_front();
                }
                self.outages.push_back(o.start);
            }
        }
        self.current = state
            .outage
            .as_ref()
            .map(|o| o.start)
            .or(state.streak.as_ref().map(|s| s.since));
    }

    /// What became of the failure that started at `since`.
    pub fn of(&self, since: DateTime<Utc>) -> Fate {
        if self.outages.contains(&since) {
            Fate::Outage
        } else if self.current == Some(since) {
            Fate::Undecided
        } else {
            Fate::NoOutage
        }
    }
}

/// The routers `check`'s own probes saw answering: the gateway and the ISP hops.
pub fn answering(check: &CheckDone) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for (probe, result) in check.plan.probes.iter().zip(&check.results) {
        let addr = match &probe.role {
            Role::Gateway => result.addr,
            Role::Hop(ip) => Some(*ip),
            _ => None,
        };
        if let Some(a) = addr.filter(|a| result.outcome.answered() && !out.contains(a)) {
            out.push(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: &str) -> MachineState {
        serde_json::from_str(json).unwrap()
    }

    const STREAK: &str = r#"{"last_check":null,"last_verdict":null,"outage":null,
        "streak":{"since":"2026-11-27T14:02:10Z","count":1,"lowest":"Wan","detail":"","simulated":false}}"#;
    const OUTAGE: &str = r#"{"last_check":null,"last_verdict":null,"streak":null,
        "outage":{"start":"2026-11-27T14:02:10Z","cause":"Wan","detail":"","cause_changes":[],
        "gaps":[],"good":null,"simulated":false}}"#;
    const QUIET: &str = r#"{"last_check":null,"last_verdict":null,"streak":null,"outage":null}"#;

    #[test]
    fn a_failure_is_an_outage_once_the_machine_says_so_and_stays_one() {
        let since: DateTime<Utc> = "2026-11-27T14:02:10Z".parse().unwrap();
        let mut f = Fates::default();
        f.observe(&state(STREAK));
        assert_eq!(f.of(since), Fate::Undecided);
        f.observe(&state(OUTAGE));
        assert_eq!(f.of(since), Fate::Outage);
        f.observe(&state(QUIET));
        assert_eq!(f.of(since), Fate::Outage, "after it ended too");
    }

    #[test]
    fn failing_checks_that_stop_short_of_an_outage_are_no_outage() {
        let since: DateTime<Utc> = "2026-11-27T14:02:10Z".parse().unwrap();
        let mut f = Fates::default();
        f.observe(&state(STREAK));
        f.observe(&state(QUIET));
        assert_eq!(f.of(since), Fate::NoOutage);
    }
}
