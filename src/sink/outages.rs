//! The one reader of `outage_log.csv`: every file of it (rotated, compressed,
//! renamed aside), each row with its times parsed and checked; a row that
//! cannot be read, or whose times do not parse or run backwards, is named
//! with its file and line and counted, never dropped in silence.
//!
//! It reads files, so a caller on an async runtime runs it in `spawn_blocking`.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{DateTime, FixedOffset};

use super::fingerprint::FileRead;
use super::read;
use super::recorder::FILE;
use super::OutageRow;

/// One row of the outage log, its times parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub row: OutageRow,
    /// `started_at`.
    pub start: DateTime<FixedOffset>,
    /// `ended_at`, never before `start`.
    pub end: DateTime<FixedOffset>,
    /// Where it stands, for messages: `FILE:LINE`.
    pub at: String,
}

/// Calls `each` with every row of the outage log in `log_dir` that ends
/// after `since` (all rows when `None`), file by file from the oldest, until
/// `each` breaks. Rows that cannot be taken are named in `warnings` (at most
/// five per file, then how many in all); a missing log is named too.
pub fn each(
    log_dir: &Path,
    since: Option<DateTime<FixedOffset>>,
    warnings: &mut Vec<String>,
    each: impl FnMut(Recorded) -> ControlFlow<()>,
) {
    walk(log_dir, since, warnings, None, each);
}

/// As [`each`]; with `files`, also what was read of each file.
fn walk(
    log_dir: &Path,
    since: Option<DateTime<FixedOffset>>,
    warnings: &mut Vec<String>,
    mut files_read: Option<&mut Vec<FileRead>>,
    mut each: impl FnMut(Recorded) -> ControlFlow<()>,
) {
    let files = read::files(log_dir, FILE, warnings);
    if files.is_empty() {
        warnings.push(format!("{}: not found", log_dir.join(FILE).display()));
    }
    let mut stopped = false;
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let take = |record: &csv::StringRecord, headers: &csv::StringRecord| {
            if stopped {
                return Ok(());
            }
            let row: OutageRow = record
                .deserialize(Some(headers))
                .map_err(|e| read::reason(&e))?;
            let time = |field: &str, value: &str| {
                DateTime::parse_from_rfc3339(value)
                    .map_err(|e| format!("{field} {value:?} is not an RFC 3339 time: {e}"))
            };
            let start = time("started_at", &row.started_at)?;
            let end = time("ended_at", &row.ended_at)?;
            if end < start {
                return Err(format!(
                    "it ends ({}) before it starts ({})",
                    row.ended_at, row.started_at
                ));
            }
            if since.is_none_or(|s| end > s) {
                let line = record.position().map_or(0, |p| p.line());
                let at = format!("{name}:{line}");
                stopped = each(Recorded {
                    row,
                    start,
                    end,
                    at,
                })
                .is_break();
            }
            Ok(())
        };
        match files_read.as_deref_mut() {
            Some(files) => files.push(read::records_fingerprinted(&path, warnings, take)),
            None => {
                read::records(&path, warnings, take);
            }
        }
        if stopped {
            return;
        }
    }
}

/// The outage log's rows that end after `since`, the newest `max_rows` of
/// them (oldest first), and what could not be read.
#[derive(Debug, Default)]
pub struct OutageLog {
    pub rows: Vec<Recorded>,
    /// Older rows left out to keep to `max_rows`.
    pub left_out: u64,
    pub warnings: Vec<String>,
    /// What was read of each file (rows, bytes, SHA-256), oldest first.
    pub files: Vec<FileRead>,
}

/// Reads the outage log in `log_dir` into an [`OutageLog`] of at most `max_rows` rows.
pub fn read(log_dir: &Path, since: Option<DateTime<FixedOffset>>, max_rows: usize) -> OutageLog {
    let mut log = OutageLog::default();
    let mut rows = VecDeque::new();
    let mut files = Vec::new();
    walk(log_dir, since, &mut log.warnings, Some(&mut files), |r| {
        rows.push_back(r);
        if rows.len() > max_rows {
            rows.pop_front();
            log.left_out += 1;
        }
        ControlFlow::Continue(())
    });
    log.files = files;
    log.rows = rows.into();
    log.rows.sort_by_key(|r| r.start);
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "date,start_time,end_time,duration_seconds,cause,started_at,ended_at,detail,simulated";

    fn row(start: &str, end: &str) -> String {
        format!("2026-11-02,00:00:00,00:00:00,5,WAN_DOWN,{start},{end},d,false\n")
    }

    /// Rotated and compressed files are read, oldest first; bad times and a
    /// row that ends before it starts are named with file and line; the cap
    /// keeps the newest rows and says how many it left out.
    #[test]
    fn every_file_is_read_and_bad_rows_are_named() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let t = |m: u32| format!("2026-11-02T10:{m:02}:00+01:00");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(format!("{HEADER}\n{}", row(&t(0), &t(1))).as_bytes())
            .unwrap();
        std::fs::write(dir.path().join("outage_log.csv.2.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(
            dir.path().join("outage_log.csv.1"),
            format!("{HEADER}\n{}{}", row(&t(10), &t(11)), row("soon", &t(12))),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("outage_log.csv"),
            format!("{HEADER}\n{}{}", row(&t(21), &t(20)), row(&t(30), &t(31))),
        )
        .unwrap();
        std::fs::write(dir.path().join("outage_log.csv.bak"), row(&t(40), &t(41))).unwrap();
        let log = read(dir.path(), None, 10);
        let starts: Vec<String> = log.rows.iter().map(|r| r.row.started_at.clone()).collect();
        assert_eq!(starts, [t(0), t(10), t(30)]);
        assert_eq!(log.rows[0].at, "outage_log.csv.2.gz:2");
        assert_eq!(log.warnings.len(), 2, "{:?}", log.warnings);
        assert!(
            log.warnings[0].contains(
                "outage_log.csv.1:3: row skipped: started_at \"soon\" is not an RFC 3339 time"
            ),
            "{:?}",
            log.warnings
        );
        assert!(
            log.warnings[1].ends_with(&format!(
                "outage_log.csv:2: row skipped: it ends ({}) before it starts ({})",
                t(20),
                t(21)
            )),
            "{:?}",
            log.warnings
        );
        let since = DateTime::parse_from_rfc3339(&t(5)).unwrap();
        let capped = read(dir.path(), Some(since), 1);
        assert_eq!(capped.rows.len(), 1);
        assert_eq!(capped.rows[0].row.started_at, t(30), "the newest kept");
        assert_eq!(
            capped.left_out, 1,
            "the row of 10:10; the one of 10:00 ends before since"
        );
    }
}
