//! `outage_log.csv` and the persisted state, written in order by one task.
//!
//! A finished outage's row is written (and fsynced) before the state that no
//! longer holds the outage is saved. A row that cannot be written stays in the
//! saved state and is retried, across restarts too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{CsvFile, OutageRow};
use crate::monitor::persist::{self, Persisted};
use crate::monitor::{Event, Update};
use crate::timefmt::spelled;

/// File name inside `log_dir`.
pub const FILE: &str = "outage_log.csv";
/// While nothing is at stake, the state is saved at most this often (saves SD cards).
const QUIET_SAVE_EVERY: Duration = Duration::from_secs(300);

/// `outage_log.csv` in `log_dir`, opened (created with its header) now.
pub fn open(log_dir: &std::path::Path) -> CsvFile<OutageRow> {
    let mut csv = CsvFile::new(log_dir.join(FILE), OutageRow::HEADER, true, usize::MAX);
    csv.open();
    csv
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
    }
    rec.write_rows();
    rec.save(true);
    rec.failing.is_none()
}

struct Recorder {
    state_dir: PathBuf,
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
