//! An append-only CSV file that is never mixed, never torn, and retried when
//! its folder cannot be written.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Errors writing a CSV file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct CsvError {
    path: PathBuf,
    source: std::io::Error,
}

/// One CSV log file with a fixed header and the rows waiting to be written.
pub struct CsvFile<R> {
    path: PathBuf,
    header: &'static [&'static str],
    /// fsync after each write (outage rows), or only flush (per-check rows).
    durable: bool,
    pending: Vec<R>,
    /// Rows kept while the file cannot be written; older ones are dropped past this, with an error.
    max_pending: usize,
    /// The current run of failed writes: logged when it starts and, with how
    /// long it lasted and how many rows were dropped, when it ends.
    failing: Option<Failing>,
}

#[derive(Debug, Clone, Copy)]
struct Failing {
    since: std::time::Instant,
    dropped: u64,
}

impl<R: serde::Serialize> CsvFile<R> {
    /// A file at `path` with `header`.
    pub fn new(
        path: PathBuf,
        header: &'static [&'static str],
        durable: bool,
        max_pending: usize,
    ) -> CsvFile<R> {
        CsvFile {
            path,
            header,
            durable,
            pending: Vec::new(),
            max_pending,
            failing: None,
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows not yet written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Creates the file (with its header) if needed, so problems show at start.
    pub fn open(&mut self) -> bool {
        self.write_now(&[])
    }

    /// Queues `row` and tries to write everything queued.
    pub fn push(&mut self, row: R) {
        if self.pending.len() >= self.max_pending {
            self.pending.remove(0);
            let run = self.failing.get_or_insert(Failing {
                since: std::time::Instant::now(),
                dropped: 0,
            });
            if run.dropped == 0 {
                tracing::error!(file = %self.path.display(), "{} rows are waiting: dropping the oldest from now on, until the file can be written", self.max_pending);
            }
            run.dropped += 1;
        }
        self.pending.push(row);
        self.flush();
    }

    /// Tries to write every queued row; on failure logs once and keeps them for the next try.
    pub fn flush(&mut self) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let rows = std::mem::take(&mut self.pending);
        let ok = self.write_now(&rows);
        if !ok {
            self.pending = rows;
        }
        ok
    }

    /// Writes `rows` in one write, all or none; logs the first failure of a streak and the recovery.
    pub fn write_now(&mut self, rows: &[R]) -> bool {
        match self.write(rows) {
            Ok(()) => {
                if let Some(run) = self.failing.take() {
                    tracing::info!(
                        file = %self.path.display(),
                        "log file writable again after {}: {} queued rows written, {} dropped",
                        crate::timefmt::spelled(run.since.elapsed()),
                        rows.len(),
                        run.dropped
                    );
                }
                true
            }
            Err(e) => {
                if self.failing.is_none() {
                    tracing::error!("{e}; rows are kept and retried");
                    self.failing = Some(Failing {
                        since: std::time::Instant::now(),
                        dropped: 0,
                    });
                }
                false
            }
        }
    }

    /// Writes `rows` in one write, all or none, and says why not: for a
    /// command that must tell its user, where the daemon keeps and retries.
    pub fn write(&self, rows: &[R]) -> Result<(), CsvError> {
        let err = |source| CsvError {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = self.open_checked().map_err(err)?;
        // Build every byte first, then write once: a row is never half there.
        let mut buf = Vec::new();
        {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut buf);
            for row in rows {
                w.serialize(row).map_err(|e| err(e.into()))?;
            }
            w.flush().map_err(err)?;
        }
        crate::util::append_whole(&mut file, &buf, self.durable).map_err(err)?;
        Ok(())
    }

    /// Opens for appending. A missing or empty file gets the header; a file with
    /// another header is renamed aside; a torn last line is ended first.
    fn open_checked(&self) -> std::io::Result<File> {
        let header_line = self.header.join(",");
        if let Ok(mut existing) = File::open(&self.path) {
            let mut first = String::new();
            let mut head = [0u8; 4096];
            let n = existing.read(&mut head)?;
            first.push_str(&String::from_utf8_lossy(&head[..n]));
            let first = first.lines().next().unwrap_or("");
            if n > 0 && first.trim_end_matches('\r') != header_line {
                let aside = crate::util::set_aside(&self.path, "old")?;
                tracing::warn!(file = %self.path.display(), moved_to = %aside.display(), "log file had another header; renamed aside");
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)?;
        let len = file.metadata()?.len();
        let ending = if len == 0 {
            format!("{header_line}\n")
        } else {
            file.seek(SeekFrom::Start(len - 1))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last)?;
            if last[0] == b'\n' {
                return Ok(file);
            }
            "\n".to_owned()
        };
        // A header or line end cut short by a full disk would be read as another
        // header (and the file renamed aside) or as a torn row: all or nothing.
        if let Err(e) = file.write_all(ending.as_bytes()) {
            file.set_len(len)?;
            return Err(e);
        }
        Ok(file)
    }
}

/// Neutralises spreadsheet formula injection: text starting with `= + - @`,
/// tab or carriage return gets a leading apostrophe.
pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[&str] = &["a", "b"];

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn creates_header_then_appends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.csv");
        let mut f = CsvFile::<Vec<String>>::new(p.clone(), HEADER, true, 10);
        f.push(vec!["1".into(), "two, with comma".into()]);
        f.push(vec!["3".into(), "4".into()]);
        assert_eq!(read(&p), "a,b\n1,\"two, with comma\"\n3,4\n");
    }

    #[test]
    fn other_header_is_renamed_aside_not_mixed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "old,header\n1,2\n").unwrap();
        let mut f = CsvFile::<Vec<String>>::new(p.clone(), HEADER, false, 10);
        f.push(vec!["5".into(), "6".into()]);
        assert_eq!(read(&p), "a,b\n5,6\n");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("x.csv.old-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(read(&dir.path().join(&aside[0])), "old,header\n1,2\n");
    }

    #[test]
    fn torn_last_row_is_ended_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "a,b\n1,par").unwrap();
        let mut f = CsvFile::<Vec<String>>::new(p.clone(), HEADER, false, 10);
        f.push(vec!["2".into(), "3".into()]);
        assert_eq!(read(&p), "a,b\n1,par\n2,3\n");
    }

    #[test]
    fn unwritable_folder_keeps_rows_and_retries() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("logs");
        std::fs::write(&blocker, "a file where the folder should be").unwrap();
        let p = blocker.join("x.csv");
        let mut f = CsvFile::<Vec<String>>::new(p.clone(), HEADER, true, 10);
        f.push(vec!["1".into(), "2".into()]);
        assert_eq!(f.pending(), 1);
        std::fs::remove_file(&blocker).unwrap();
        assert!(f.flush());
        assert_eq!(f.pending(), 0);
        assert_eq!(read(&p), "a,b\n1,2\n");
    }

    #[test]
    fn formula_injection_is_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-1+1"), "'-1+1");
        assert_eq!(neutralise("gateway answers"), "gateway answers");
    }
}
