//! The per-check log, `connection_log.csv`: a durable consumer of the update stream.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{ConnectionRow, CsvFile};
use crate::monitor::Update;

/// File name inside `log_dir`.
pub const FILE: &str = "connection_log.csv";

/// The file in `log_dir`, opened (created with its header) now so that a
/// problem shows at start.
pub fn open(log_dir: &Path) -> CsvFile<ConnectionRow> {
    // About a day of 10 s checks is kept in memory while the disk refuses.
    let mut file = CsvFile::new(log_dir.join(FILE), ConnectionRow::HEADER, false, 10_000);
    file.open();
    file
}

/// Writes one row per check until the queue closes, then a last flush.
///
/// A blocking loop, run with `spawn_blocking`, so that a slow disk stalls
/// neither the probes' timers nor their RTTs. Rows that could not be written
/// are retried with each new row, that is every interval.
pub fn run(mut file: CsvFile<ConnectionRow>, mut rx: mpsc::Receiver<Arc<Update>>) {
    while let Some(update) = rx.blocking_recv() {
        if let Update::Check(c) = &*update {
            file.push(ConnectionRow::new(c.at, &c.diagnosis));
        }
    }
    if !file.flush() {
        tracing::error!(file = %file.path().display(), rows = file.pending(), "stopping with per-check rows unwritten");
    }
}
