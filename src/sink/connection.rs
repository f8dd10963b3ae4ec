//! The per-check log, `connection_log.csv`.

use std::path::Path;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{connection_row, CsvFile, CONNECTION_HEADER};
use crate::monitor::Diagnosis;

/// File name inside `log_dir`.
pub const FILE: &str = "connection_log.csv";
/// The file in `log_dir`, opened (created with its header) now so that a
/// problem shows at start.
pub fn open(log_dir: &Path) -> CsvFile {
    // About a day of 10 s checks is kept in memory while the disk refuses.
    let mut file = CsvFile::new(log_dir.join(FILE), CONNECTION_HEADER, false, 10_000);
    file.open();
    file
}

/// Writes one row per check until the queue closes, then a last flush.
///
/// A blocking loop, run with `spawn_blocking`, so that a slow disk stalls
/// neither the probes' timers nor their RTTs. Rows that could not be written
/// are retried with each new row, that is every interval.
pub fn run(mut file: CsvFile, mut rx: mpsc::Receiver<(DateTime<Utc>, Diagnosis)>) {
    while let Some((at, d)) = rx.blocking_recv() {
        file.push(connection_row(at, &d));
    }
    if !file.flush() {
        tracing::error!(file = %file.path().display(), rows = file.pending(), "stopping with per-check rows unwritten");
    }
}
