//! Gathers the independent probe reports of each round into one [`Check`].
//!
//! A round is complete when every probe has reported, or at its deadline,
//! when a probe that has not reported counts as timed out. So one wedged
//! probe task can never hold back the verdict.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::diagnose::Check;
use crate::probe::{Failure, Outcome, ProbeReport, ProbeResult};

struct Partial {
    started_at: DateTime<Utc>,
    started_boot: Option<std::time::Duration>,
    results: Vec<Option<ProbeResult>>,
    received: usize,
}

/// Rounds in progress.
pub struct Assembler {
    /// Plan index of each probe task, by task id.
    index: HashMap<u64, usize>,
    probes: usize,
    rounds: BTreeMap<u64, Partial>,
    /// Rounds at or below this are done; late reports for them are dropped.
    done_through: Option<u64>,
}

impl Assembler {
    /// An assembler for a plan whose probes' tasks have these ids.
    pub fn new(ids: Vec<u64>) -> Assembler {
        Assembler {
            probes: ids.len(),
            index: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
            rounds: BTreeMap::new(),
            done_through: None,
        }
    }

    /// Ignores every round up to `round`: after a reload, the round in
    /// progress mixes old and new probes and is not a check of either plan.
    pub fn skip_through(&mut self, round: u64) {
        self.rounds.retain(|r, _| *r > round);
        self.done_through = Some(self.done_through.map_or(round, |d| d.max(round)));
    }

    /// Adds a report; returns the round's check if it is now complete.
    pub fn add(&mut self, report: ProbeReport) -> Option<Check> {
        // Reports from a task stopped by a reload are not part of this plan.
        let index = *self.index.get(&report.id)?;
        if self.done_through.is_some_and(|d| report.round <= d) {
            return None;
        }
        let n = self.probes;
        let partial = self.rounds.entry(report.round).or_insert_with(|| Partial {
            started_at: report.started_at,
            started_boot: report.started_boot,
            results: vec![None; n],
            received: 0,
        });
        if report.started_at < partial.started_at {
            // Both clocks of the same moment: the round's first attempt.
            partial.started_at = report.started_at;
            partial.started_boot = report.started_boot;
        }
        if partial.results[index].replace(report.result).is_none() {
            partial.received += 1;
        }
        if partial.received < n {
            return None;
        }
        self.finish(report.round)
    }

    /// The oldest round in progress, whose deadline the caller should wait for.
    pub fn oldest(&self) -> Option<u64> {
        self.rounds.keys().next().copied()
    }

    /// Closes every round whose deadline has passed, oldest first.
    pub fn expire(&mut self, now: Instant, deadline: impl Fn(u64) -> Instant) -> Vec<Check> {
        let due: Vec<u64> = self
            .rounds
            .keys()
            .copied()
            .take_while(|r| deadline(*r) <= now)
            .collect();
        due.into_iter().filter_map(|r| self.finish(r)).collect()
    }

    fn finish(&mut self, round: u64) -> Option<Check> {
        let partial = self.rounds.remove(&round)?;
        // Older rounds still open can only be less complete; they are dropped
        // rather than reported after a newer one.
        self.rounds.retain(|r, _| *r > round);
        self.done_through = Some(round);
        Some(Check {
            at: partial.started_at,
            boot: partial.started_boot,
            results: partial
                .results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| ProbeResult::new(Outcome::Down(Failure::Timeout))))
                .collect(),
            simulated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Rtt;
    use std::time::Duration;

    fn report(id: u64, round: u64) -> ProbeReport {
        ProbeReport {
            id,
            round,
            started_at: DateTime::from_timestamp(1_700_000_000 + round as i64 * 10, 0).unwrap(),
            started_boot: None,
            result: ProbeResult::new(Outcome::Up {
                rtt: Rtt(Duration::from_millis(1)),
            }),
        }
    }

    #[test]
    fn round_completes_when_every_probe_reported() {
        let mut a = Assembler::new(vec![0, 1]);
        assert!(a.add(report(0, 0)).is_none());
        let check = a.add(report(1, 0)).expect("complete");
        assert_eq!(check.results.len(), 2);
        assert!(check.results.iter().all(|r| r.outcome.answered()));
    }

    #[test]
    fn missing_probe_counts_as_timeout_at_deadline() {
        let mut a = Assembler::new(vec![0, 1]);
        let base = Instant::now();
        assert!(a.add(report(0, 0)).is_none());
        let deadline = |r: u64| base + Duration::from_secs(r * 10 + 5);
        assert!(a.expire(base, deadline).is_empty());
        let checks = a.expire(base + Duration::from_secs(6), deadline);
        assert_eq!(checks.len(), 1);
        assert_eq!(
            checks[0].results[1].outcome,
            Outcome::Down(Failure::Timeout)
        );
        // A late report for a closed round is dropped, not counted in a new one.
        assert!(a.add(report(1, 0)).is_none());
        assert!(a.oldest().is_none());
    }

    #[test]
    fn skipped_rounds_are_never_reported() {
        let mut a = Assembler::new(vec![0, 1]);
        assert!(a.add(report(0, 4)).is_none());
        a.skip_through(4);
        assert!(a.add(report(1, 4)).is_none(), "round 4 is skipped");
        assert!(a.oldest().is_none());
        assert!(a.add(report(0, 5)).is_none());
        assert!(a.add(report(1, 5)).is_some());
    }

    #[test]
    fn reports_from_tasks_outside_the_plan_are_ignored() {
        let mut a = Assembler::new(vec![7]);
        assert!(a.add(report(3, 0)).is_none());
        assert!(a.oldest().is_none());
        assert!(a.add(report(7, 0)).is_some());
    }
}
