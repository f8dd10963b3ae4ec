//! Reading the connection log: every file of it through [`crate::sink::read`],
//! each row borrowed as the writer's row struct with its time parsed.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use csv::StringRecord;

use super::checks::Check;
use super::row::{self, Stamps};
use crate::sink::fingerprint::{FileRead, Sum};
use crate::sink::read::{self as log, reason};
use crate::sink::rows::Row;
use crate::sink::ConnectionRow;

/// The files of the connection log in `log_dir`, oldest first; a missing log
/// (or one that is no regular file) is named in `warnings`.
pub fn check_files(log_dir: &Path, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let files = log::files(log_dir, crate::sink::connection::FILE, warnings);
    if files.is_empty() {
        warnings.push(format!(
            "{}: not found",
            log_dir.join(crate::sink::connection::FILE).display()
        ));
    }
    files
}

/// Reads every row of a connection log with its time, borrowing its text from
/// the reader's buffer: a year of checks is millions of rows, and copying out
/// each one's timestamp, verdict and detail would cost more than the figures.
pub fn checks(
    path: &Path,
    warnings: &mut Vec<String>,
    each: impl FnMut(DateTime<FixedOffset>, ConnectionRow<&str>),
) -> u64 {
    log::rows(path, warnings, by_row(each))
}

/// Every check of a connection log with what the figures need of it,
/// handed to `each` in file order; what was read of the file (rows, bytes,
/// SHA-256) too if `fingerprint`. The rows are read into [`Check`]s partly
/// on the reading thread (see [`log::prepared`]): reading them is about
/// half of the work, and the counting the other half.
pub fn check_figures(
    path: &Path,
    fingerprint: bool,
    warnings: &mut Vec<String>,
    each: impl FnMut(Check),
) -> (u64, Option<FileRead>) {
    let sum = fingerprint.then(Sum::new);
    let rows = log::prepared(path, sum.clone(), warnings, || by_row(Check::of), each);
    (rows, sum.map(|sum| sum.file_read(path, rows)))
}

/// Each row of a connection log with its time, handed to `each`; what it
/// makes of them is returned.
fn by_row<T>(
    mut each: impl FnMut(DateTime<FixedOffset>, ConnectionRow<&str>) -> T,
) -> impl FnMut(&Row, &StringRecord) -> Result<T, String> {
    // A file with the writer's columns, or an older file with the first of
    // them, is read by position: matching every field's name on every row
    // costs as much as reading it.
    let mut by_position = None;
    let mut record = StringRecord::new();
    let mut stamps = Stamps::default();
    move |fields, headers| {
        let by_position = *by_position.get_or_insert_with(|| {
            headers.len() <= ConnectionRow::HEADER.len()
                && headers
                    .iter()
                    .zip(ConnectionRow::HEADER)
                    .all(|(h, c)| h == *c)
        });
        let row = match by_position.then(|| row::by_position(fields)).flatten() {
            Some(row) => row,
            None => {
                fields.to_record(&mut record);
                record
                    .deserialize((!by_position).then_some(headers))
                    .map_err(|e| reason(&e))?
            }
        };
        let at = stamps
            .parse(row.timestamp)
            .map_err(|e| format!("field 1 is not an RFC 3339 time: {e}"))?;
        Ok(each(at, row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check with a bad time is named with its line; the rest arrive.
    #[test]
    fn a_check_with_a_bad_time_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connection_log.csv");
        let row = |stamp: &str| format!("{stamp},OK,1.0,,3,3,true,true,0.0,fine,10.0,12.0\n");
        let text = format!(
            "{}\n{}{}{}",
            ConnectionRow::HEADER.join(","),
            row("2026-11-02T00:00:00+00:00"),
            row("yesterday"),
            row("2026-11-02T00:00:10+00:00")
        );
        std::fs::write(&path, text).unwrap();
        let mut warnings = Vec::new();
        let mut seen = Vec::new();
        let n = checks(&path, &mut warnings, |at, r| {
            assert_eq!(r.internet_rtt_max_ms, Some(12.0));
            seen.push(at.timestamp());
        });
        assert_eq!((n, seen.len()), (2, 2));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .contains("connection_log.csv:3: row skipped: field 1 is not an RFC 3339 time"),
            "{warnings:?}"
        );
    }
}
