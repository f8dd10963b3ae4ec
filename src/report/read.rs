//! Reading the logs: every file of a log (rotated, compressed, renamed aside),
//! oldest first, row by row through the writers' own row structs; whatever
//! cannot be read is named, with its file and line, and the rest is used.

use std::cmp::Reverse;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;

use crate::sink::ConnectionRow;

/// At most this many warnings per file; the rest are counted.
const WARNINGS_PER_FILE: usize = 5;

/// The files of log `name` in `dir` (`NAME`, logrotate's `NAME.1` and
/// `NAME.N.gz`, `NAME.old-*` renamed aside after a header change), oldest
/// first: by the time their first row starts with (files with none, such as
/// the outage log, first), then by what their names say.
pub fn files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(NameAge, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| Some((name_age(p.file_name()?.to_str()?, name)?, p)))
        .collect();
    out.sort_by_cached_key(|(age, p)| (first_time(p), age.clone()));
    out.into_iter().map(|(_, p)| p).collect()
}

/// How old a file's name says it is, oldest least: renamed aside, then
/// logrotate's numbers from the highest, then the live file.
type NameAge = (u8, Reverse<u64>, String);

/// The [`NameAge`] of `file` if it is one of log `name`'s files.
fn name_age(file: &str, name: &str) -> Option<NameAge> {
    if file == name {
        return Some((2, Reverse(0), String::new()));
    }
    let rest = file.strip_prefix(name)?.strip_prefix('.')?;
    Some(if rest.starts_with("old-") {
        (0, Reverse(0), rest.to_owned())
    } else {
        let n = rest.split('.').next().and_then(|n| n.parse().ok());
        (1, Reverse(n.unwrap_or(0)), rest.to_owned())
    })
}

/// The time the first row of `path` starts with, if it starts with one.
fn first_time(path: &Path) -> Option<DateTime<FixedOffset>> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(open(path).ok()?);
    let mut record = csv::StringRecord::new();
    csv.read_record(&mut record).ok()?;
    DateTime::parse_from_rfc3339(record.get(0)?).ok()
}

/// Opens `path`, decompressing a `.gz`.
fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let f = BufReader::with_capacity(1 << 16, File::open(path)?);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// Reads every row of `path` as `R`, calling `each` with it and its line;
/// problems go to `warnings`. Returns the number of rows read.
pub fn rows<R: DeserializeOwned>(
    path: &Path,
    warnings: &mut Vec<String>,
    mut each: impl FnMut(R, u64),
) -> u64 {
    records(path, warnings, |record, headers| {
        let line = record.position().map_or(0, |p| p.line());
        each(
            record.deserialize(Some(headers)).map_err(|e| reason(&e))?,
            line,
        );
        Ok(())
    })
}

/// Reads every row of a connection log with its time, borrowing its text from
/// the reader's buffer: a year of checks is millions of rows, and copying out
/// each one's timestamp, verdict and detail would cost more than the figures.
pub fn checks(
    path: &Path,
    warnings: &mut Vec<String>,
    mut each: impl FnMut(DateTime<FixedOffset>, ConnectionRow<&str>),
) -> u64 {
    // A file with the writer's columns, or an older file with the first of
    // them, is read by position: matching every field's name on every row
    // costs as much as reading it.
    let mut by_position = None;
    records(path, warnings, |record, headers| {
        let by_position = *by_position.get_or_insert_with(|| {
            headers.len() <= ConnectionRow::HEADER.len()
                && headers
                    .iter()
                    .zip(ConnectionRow::HEADER)
                    .all(|(h, c)| h == *c)
        });
        let row: ConnectionRow<&str> = record
            .deserialize((!by_position).then_some(headers))
            .map_err(|e| reason(&e))?;
        let at = DateTime::parse_from_rfc3339(row.timestamp)
            .map_err(|e| format!("field 1 is not an RFC 3339 time: {e}"))?;
        each(at, row);
        Ok(())
    })
}

/// Hands every record of `path` with its header to `each`; a record it cannot
/// take, or one that cannot be read, is counted and named with its line.
///
/// Reading and splitting the file (and unzipping it) runs on a thread of its
/// own, a batch of records ahead of `each`: on a year of checks that is about
/// half the work, and the box has more than one core.
fn records(
    path: &Path,
    warnings: &mut Vec<String>,
    mut each: impl FnMut(&csv::StringRecord, &csv::StringRecord) -> Result<(), String>,
) -> u64 {
    let shown = path.display();
    let reader = match open(path) {
        Ok(r) => r,
        Err(e) => {
            warnings.push(format!("{shown}: cannot be read: {e}"));
            return 0;
        }
    };
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = match csv.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            warnings.push(format!("{shown}: no header: {e}"));
            return 0;
        }
    };
    let mut bad = 0usize;
    let mut read = 0;
    let (tx, batches) = mpsc::sync_channel(2);
    let (recycle, spent) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(move || read_ahead(csv, &tx, &spent));
        for batch in batches {
            match batch {
                Batch::Records(records, n) => {
                    for record in &records[..n] {
                        match each(record, &headers) {
                            Ok(()) => read += 1,
                            Err(e) => {
                                bad += 1;
                                if bad <= WARNINGS_PER_FILE {
                                    let line = record.position().map_or(0, |p| p.line());
                                    warnings.push(format!("{shown}:{line}: row skipped: {e}"));
                                }
                            }
                        }
                    }
                    // The reader may have finished: then the batch is simply dropped.
                    let _ = recycle.send(records);
                }
                Batch::Unreadable(e) => {
                    bad += 1;
                    if bad <= WARNINGS_PER_FILE {
                        let line = e.position().map_or(0, |p| p.line());
                        warnings.push(format!("{shown}:{line}: unreadable: {e}"));
                    }
                }
            }
        }
    });
    if bad > WARNINGS_PER_FILE {
        warnings.push(format!(
            "{shown}: {} more rows skipped",
            bad - WARNINGS_PER_FILE
        ));
    }
    read
}

/// Records read ahead at a time.
const BATCH: usize = 1024;

/// What the reading thread hands over, in file order.
enum Batch {
    /// The first `n` records of the batch.
    Records(Vec<csv::StringRecord>, usize),
    /// A stretch that is not CSV; reading goes on after it where it can.
    Unreadable(csv::Error),
}

/// Reads `csv` to its end (or to an error it cannot read past) in batches,
/// reusing the batches the consumer is done with.
fn read_ahead(
    mut csv: csv::Reader<Box<dyn Read + Send>>,
    tx: &mpsc::SyncSender<Batch>,
    spent: &mpsc::Receiver<Vec<csv::StringRecord>>,
) {
    loop {
        let mut records = spent
            .try_recv()
            .unwrap_or_else(|_| vec![csv::StringRecord::new(); BATCH]);
        let (mut n, mut ended, mut failed) = (0, false, None);
        while n < BATCH && !ended && failed.is_none() {
            match csv.read_record(&mut records[n]) {
                Ok(true) => n += 1,
                Ok(false) => ended = true,
                Err(e) => failed = Some(e),
            }
        }
        if tx.send(Batch::Records(records, n)).is_err() || ended {
            return;
        }
        if let Some(e) = failed {
            let go_on = matches!(
                e.kind(),
                csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
            );
            if tx.send(Batch::Unreadable(e)).is_err() || !go_on {
                return;
            }
        }
    }
}

fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err
                .field()
                .map(|f| format!("field {} ", f + 1))
                .unwrap_or_default();
            format!("{field}{}", err.kind())
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows over several read-ahead batches, with a stretch of bytes that is
    /// not UTF-8 and a row with a bad time: every other row arrives, in file
    /// order, and both bad ones are named with their lines.
    #[test]
    fn every_row_arrives_in_order_across_batches_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connection_log.csv");
        let mut text = ConnectionRow::HEADER.join(",").into_bytes();
        text.push(b'\n');
        let rows = 3 * BATCH + 7;
        for i in 0..rows {
            let stamp = if i == 2 * BATCH + 3 {
                "yesterday".to_owned()
            } else {
                format!(
                    "2026-11-02T{:02}:{:02}:{:02}+00:00",
                    i / 3600,
                    i / 60 % 60,
                    i % 60
                )
            };
            text.extend_from_slice(format!("{stamp},OK,1.0,,3,3,true,true,0.0,").as_bytes());
            if i == BATCH + 1 {
                text.extend_from_slice(b"\xff\xfe");
            }
            text.extend_from_slice(b"fine,10.0,12.0\n");
        }
        std::fs::write(&path, text).unwrap();
        let mut warnings = Vec::new();
        let mut seen = Vec::new();
        let n = checks(&path, &mut warnings, |at, r| {
            assert_eq!(r.internet_rtt_max_ms, Some(12.0));
            seen.push(at);
        });
        assert_eq!(n as usize, rows - 2);
        assert_eq!(seen.len(), rows - 2);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let shown = path.display();
        // Line 1 is the header, so row i is on line i + 2.
        assert!(
            warnings[0].starts_with(&format!("{shown}:{}: unreadable", BATCH + 3)),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with(&format!("{shown}:{}: row skipped: field 1", 2 * BATCH + 5)),
            "{warnings:?}"
        );
    }
}
