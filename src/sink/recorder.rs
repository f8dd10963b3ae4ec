//! `outage_log.csv` and the persisted state, written in order by one task.
//!
//! A finished outage's row is written (and fsynced) before the state that no
//! longer holds the outage is saved. A row that cannot be written stays in the
//! saved state and is retried, across restarts too.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{CsvFile, OutageRow};
use crate::monitor::persist::{self, Persisted};
use crate::monitor::{Event, Update};
use crate::timefmt::{rfc3339_local, spelled};

/// File name inside `log_dir`.
pub const FILE: &str = "outage_log.csv";
/// While nothing is at stake, the state is saved at most this often (saves SD cards).
const QUIET_SAVE_EVERY: Duration = Duration::from_secs(300);

/// `outage_log.csv` in `log_dir`, opened (created with its header) now.
pub fn open(log_dir: &Path) -> CsvFile<OutageRow> {
    let mut csv = CsvFile::new(log_dir.join(FILE), OutageRow::HEADER, true, usize::MAX);
    csv.open();
    csv
}

/// Forgets, in a state just loaded, the outages whose row `outage_log.csv`
/// already holds: the row was written and the state save that should have
/// forgotten them failed (a full disk, a crash between the two). Without this
/// the next start would close such an outage a second time: two rows for one.
pub fn reconcile(log_dir: &Path, state: &mut Persisted) {
    let open = state.machine.outage.as_ref().map(|o| o.start);
    if open.is_none() && state.unwritten.is_empty() {
        return;
    }
    let recorded = recorded_starts(log_dir);
    if let Some(start) = open.filter(|s| recorded.contains(&s.timestamp())) {
        tracing::warn!(
            "the saved open outage that started at {} already has its row in {FILE} (the state save after it failed): not resuming it",
            rfc3339_local(start)
        );
        state.machine.outage = None;
    }
    state
        .unwritten
        .retain(|o| !recorded.contains(&o.start.timestamp()));
}

/// The start (Unix seconds) of every row of the outage log in `log_dir`,
/// rotated files too; rows that cannot be read are logged.
fn recorded_starts(log_dir: &Path) -> HashSet<i64> {
    let mut starts = HashSet::new();
    let mut warnings = Vec::new();
    super::outages::each(log_dir, None, &mut warnings, |r| {
        starts.insert(r.start.timestamp());
        std::ops::ControlFlow::Continue(())
    });
    for w in warnings.iter().filter(|w| !w.ends_with(": not found")) {
        tracing::warn!("{w}");
    }
    starts
}

/// Runs until the queue closes; then writes what it can and saves the state.
/// Returns whether that last save succeeded.
///
/// A blocking loop, run with `spawn_blocking` (see `connection::run`). Rows
/// not yet written are retried with every message, that is every interval.
pub fn run(
    state_dir: PathBuf,
    csv: CsvFile<OutageRow>,
    initial: Persisted,
    mut rx: mpsc::Receiver<Arc<Update>>,
) -> bool {
    let mut rec = Recorder::new(state_dir, csv, initial);
    rec.write_rows();
    // Announce the resumed state, so the first save is not the only record of it.
    rec.save(true);
    while let Some(update) = rx.blocking_recv() {
        let Update::Check(check) = &*update else {
            continue;
        };
        let mut ended = false;
        for e in &check.events {
            if let Event::OutageEnded(o) = e {
                rec.state.unwritten.push(o.clone());
                ended = true;
            }
        }
        rec.state.machine = check.state.clone();
        rec.write_rows();
        rec.save(ended);
        rec.share_routers();
    }
    rec.write_rows();
    rec.save(true);
    rec.failing.is_none()
}

struct Recorder {
    state_dir: PathBuf,
    /// How many proven routers `routers.json` was last given.
    routers_shared: usize,
    csv: CsvFile<OutageRow>,
    state: Persisted,
    saved: Option<(Instant, Persisted)>,
    /// Since when, and how many times, saving has failed (logged once per run of failures).
    failing: Option<(Instant, u64)>,
}

impl Recorder {
    fn new(state_dir: PathBuf, csv: CsvFile<OutageRow>, state: Persisted) -> Recorder {
        Recorder {
            state_dir,
            routers_shared: 0,
            csv,
            state,
            saved: None,
            failing: None,
        }
    }

    /// Writes every unwritten row in one write; if that fails they all stay unwritten.
    fn write_rows(&mut self) {
        if self.state.unwritten.is_empty() {
            return;
        }
        let rows: Vec<OutageRow> = self.state.unwritten.iter().map(OutageRow::from).collect();
        if self.csv.write_now(&rows) {
            self.state.unwritten.clear();
        }
    }

    /// Gives `once` the routers proven since it was last told (the set only grows).
    fn share_routers(&mut self) {
        let routers = &self.state.machine.verified_routers;
        if routers.len() == self.routers_shared {
            return;
        }
        match persist::add_routers(&self.state_dir, routers) {
            Ok(()) => self.routers_shared = routers.len(),
            Err(e) => tracing::debug!("cannot share the proven routers: {e}"),
        }
    }

    /// Saves the state if it changed; `now` forces it past the quiet throttle.
    fn save(&mut self, now: bool) {
        if let Some((at, last)) = &self.saved {
            if *last == self.state {
                return;
            }
            let quiet = self.state.machine.is_quiet()
                && last.machine.is_quiet()
                && self.state.unwritten.is_empty()
                && last.unwritten.is_empty();
            if quiet && !now && at.elapsed() < QUIET_SAVE_EVERY {
                return;
            }
        }
        match persist::save(&self.state_dir, &self.state) {
            Ok(()) => {
                let m = &self.state.machine;
                let what = match (&m.outage, &m.streak) {
                    (Some(_), _) => "outage open",
                    (None, Some(_)) => "failing streak",
                    (None, None) => "quiet",
                };
                tracing::debug!(
                    "state saved: {what}, {} unwritten rows",
                    self.state.unwritten.len()
                );
                self.saved = Some((Instant::now(), self.state.clone()));
                if let Some((since, failures)) = self.failing.take() {
                    tracing::info!(
                        "state saved again after {failures} failed saves over {}",
                        spelled(since.elapsed())
                    );
                }
            }
            Err(e) => match &mut self.failing {
                Some((_, failures)) => *failures += 1,
                None => {
                    tracing::error!(
                        "{e}; an open outage would not survive a restart until this is fixed (logged once until a save succeeds)"
                    );
                    self.failing = Some((Instant::now(), 1));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Layer, OpenOutage, OutageRecord};

    fn record(start: i64) -> OutageRecord {
        let t = |s| chrono::DateTime::from_timestamp(1_700_000_000 + s, 500_000_000).unwrap();
        OutageRecord {
            start: t(start),
            end: t(start + 30),
            cause: Layer::Wan,
            observed: std::time::Duration::from_secs(30),
            detail: "d".into(),
            cause_changes: Vec::new(),
            gaps: Vec::new(),
            simulated: false,
            maintenance: false,
        }
    }

    /// A state as a failed save leaves it: the outage still open (or still
    /// unwritten) although its row is on disk.
    fn state_with(open: Option<i64>, unwritten: &[i64]) -> Persisted {
        let mut p = Persisted::default();
        p.machine.outage =
            open.map(|s| OpenOutage::new(record(s).start, Layer::Wan, "d".into(), false));
        p.unwritten = unwritten.iter().map(|s| record(*s)).collect();
        p
    }

    #[test]
    fn state_save_failing_after_the_row_does_not_write_it_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = open(dir.path());
        assert!(csv.write_now(&[OutageRow::from(&record(0)), OutageRow::from(&record(100))]));
        // The open outage of the failed save ended as row 2; one unwritten row is also row 1.
        let mut p = state_with(Some(100), &[0, 200]);
        reconcile(dir.path(), &mut p);
        assert!(p.machine.outage.is_none(), "not resumed: its row is there");
        let left: Vec<i64> = p
            .unwritten
            .iter()
            .map(|o| o.start.timestamp() - 1_700_000_000)
            .collect();
        assert_eq!(
            left,
            vec![200],
            "only the row not in the file is still to write"
        );
        // With nothing recorded, a real open outage is resumed as before.
        let other = tempfile::tempdir().unwrap();
        let mut p = state_with(Some(100), &[]);
        reconcile(other.path(), &mut p);
        assert!(p.machine.outage.is_some());
    }
}
