//! Reading a log back: every file of it that logrotate or the writer made
//! (rotated, compressed, dated, renamed aside), regular files only, oldest
//! first, row by row with each row's size bounded; whatever cannot be read
//! is named with its file and line, and the rest is used.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use csv::StringRecord;

use super::fingerprint::{FileRead, Hashing, Sum};
use super::rows::{Row, Rows};
pub use super::split::MAX_ROW_BYTES;
use super::split::{Bounded, Next};

/// At most this many skipped rows are named per file; the rest are counted.
const WARNINGS_PER_FILE: usize = 5;

/// Which of a log's files a name is, oldest least: renamed aside by the
/// writer after a header change, then logrotate's dated or numbered copies
/// (a higher number is older), then the live file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Aside(String),
    Dated(NaiveDate),
    Numbered(std::cmp::Reverse<u64>),
    Live,
}

/// The [`Kind`] of `file` if it is one of log `name`'s files: `NAME`,
/// `NAME.N`, `NAME.N.gz`, `NAME-YYYYMMDD`, `NAME-YYYYMMDD.gz`, or
/// `NAME.old-STAMP`. Anything else (`NAME.bak`, `NAME~`, an editor's swap
/// file) is no part of the log.
fn kind(file: &str, name: &str) -> Option<Kind> {
    if file == name {
        return Some(Kind::Live);
    }
    let rest = file.strip_prefix(name)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = rest.strip_prefix('.') {
        if let Some(stamp) = rest.strip_prefix("old-") {
            let stamp_char = |c: char| c.is_ascii_digit() || "TZ+-:_.".contains(c);
            return (!stamp.is_empty() && stamp.chars().all(stamp_char))
                .then(|| Kind::Aside(stamp.to_owned()));
        }
        let n = rest.strip_suffix(".gz").unwrap_or(rest);
        return digits(n)
            .then(|| n.parse().ok())
            .flatten()
            .map(|n| Kind::Numbered(std::cmp::Reverse(n)));
    }
    let date = rest.strip_prefix('-')?;
    let date = date.strip_suffix(".gz").unwrap_or(date);
    (date.len() == 8 && digits(date))
        .then(|| NaiveDate::parse_from_str(date, "%Y%m%d").ok())
        .flatten()
        .map(Kind::Dated)
}

/// The files of log `name` in `dir`, oldest first: by the first time their
/// first row holds, then by what their names say. A file with a log's name
/// that is not a regular file (a FIFO, a folder) is named in `warnings` and
/// left alone: opening a FIFO would wait for ever.
pub fn files(dir: &Path, name: &str, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(Kind, PathBuf)> = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(kind) = path.file_name().and_then(|f| kind(f.to_str()?, name)) else {
            continue;
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => out.push((kind, path)),
            Ok(_) => warnings.push(format!("{}: not a regular file: not read", path.display())),
            Err(e) => warnings.push(format!("{}: cannot be read: {e}", path.display())),
        }
    }
    out.sort_by_cached_key(|(kind, p)| (first_time(p), kind.clone()));
    out.into_iter().map(|(_, p)| p).collect()
}

/// The first time the first row of `path` holds (the check's time in the
/// connection log, the start in the outage log), if it holds one.
fn first_time(path: &Path) -> Option<DateTime<FixedOffset>> {
    let mut reader = Bounded::new(open(path).ok()?);
    let mut rows = Rows::default();
    if !matches!(reader.read(&mut rows, 2, usize::MAX), Next::Full) {
        return None;
    }
    let time = rows
        .get(1)
        .iter()
        .find_map(|f| DateTime::parse_from_rfc3339(f).ok());
    time
}

/// Opens `path` if it is a regular file, decompressing a `.gz`. The open
/// does not wait: a FIFO put in the file's place after it was listed is
/// refused, not read.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    open_summed(path, None)
}

/// As [`open`]; every byte read from the file (before decompression) is also
/// added to `sum`.
pub fn open_summed(path: &Path, sum: Option<Sum>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let f: Box<dyn Read + Send> = match sum {
        Some(sum) => Box::new(Hashing::new(f, sum)),
        None => Box::new(f),
    };
    let f = BufReader::with_capacity(1 << 16, f);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(f)
    })
}

/// Hands every row of `path` with the file's header to `each`; a row `each`
/// refuses, or one that cannot be read, is counted and named with its line
/// (the first [`WARNINGS_PER_FILE`] of each file; then how many in all).
/// Returns the number of rows taken.
///
/// Reading and splitting the file (and unzipping it) runs on a thread of its
/// own, a batch of rows ahead of `each`: on a year of checks that is about
/// half the work, and the box has more than one core.
pub fn rows(
    path: &Path,
    warnings: &mut Vec<String>,
    each: impl FnMut(&Row, &StringRecord) -> Result<(), String>,
) -> u64 {
    rows_summed(path, None, warnings, each)
}

/// As [`rows`], and says what was read: the rows taken, the bytes and
/// their SHA-256.
pub fn rows_fingerprinted(
    path: &Path,
    warnings: &mut Vec<String>,
    each: impl FnMut(&Row, &StringRecord) -> Result<(), String>,
) -> FileRead {
    let sum = Sum::new();
    let rows = rows_summed(path, Some(sum.clone()), warnings, each);
    sum.file_read(path, rows)
}

/// As [`rows`], each row as a record (for serde, with its line as its position).
pub fn records(
    path: &Path,
    warnings: &mut Vec<String>,
    each: impl FnMut(&StringRecord, &StringRecord) -> Result<(), String>,
) -> u64 {
    rows(path, warnings, as_records(each))
}

/// As [`rows_fingerprinted`], each row as a record.
pub fn records_fingerprinted(
    path: &Path,
    warnings: &mut Vec<String>,
    each: impl FnMut(&StringRecord, &StringRecord) -> Result<(), String>,
) -> FileRead {
    rows_fingerprinted(path, warnings, as_records(each))
}

fn as_records(
    mut each: impl FnMut(&StringRecord, &StringRecord) -> Result<(), String>,
) -> impl FnMut(&Row, &StringRecord) -> Result<(), String> {
    let mut record = StringRecord::new();
    move |row, headers| {
        row.to_record(&mut record);
        each(&record, headers)
    }
}

fn rows_summed(
    path: &Path,
    sum: Option<Sum>,
    warnings: &mut Vec<String>,
    mut each: impl FnMut(&Row, &StringRecord) -> Result<(), String>,
) -> u64 {
    let unprepared = None::<fn(&Row, &StringRecord) -> Result<(), String>>;
    let mut read = 0;
    let mut consume = |batch: Done<()>, headers: &StringRecord, skip: &mut Skips| {
        for row in batch.0.iter() {
            match each(&row, headers) {
                Ok(()) => read += 1,
                Err(e) => skip.row(row.line(), &e),
            }
        }
        batch
    };
    drive(path, sum, warnings, unprepared, &mut consume);
    read
}

/// As [`rows`], each row made a `T` by a `prepare` (one per thread, as
/// `new_prepare` makes them), which is pure: the same
/// row always makes the same `T` or the same refusal. The reading thread
/// prepares the rows of a batch itself whenever the thread using them is
/// behind (its queue is full), and leaves them to that thread otherwise,
/// so the two share the work whichever has more of it; the `T`s reach
/// `each` in file order either way.
pub fn prepared<T, P>(
    path: &Path,
    sum: Option<Sum>,
    warnings: &mut Vec<String>,
    new_prepare: impl Fn() -> P,
    mut each: impl FnMut(T),
) -> u64
where
    T: Send,
    P: FnMut(&Row, &StringRecord) -> Result<T, String> + Send,
{
    let mut read = 0;
    let (ahead, mut prepare) = (Some(new_prepare()), new_prepare());
    let mut consume = |(rows, mut done): Done<T>, headers: &StringRecord, skip: &mut Skips| {
        let mut take = |row: Row, made: Result<T, String>| match made {
            Ok(t) => {
                each(t);
                read += 1;
            }
            Err(e) => skip.row(row.line(), &e),
        };
        if done.is_empty() {
            for row in rows.iter() {
                let made = prepare(&row, headers);
                take(row, made);
            }
        } else {
            for (row, made) in rows.iter().zip(done.drain(..)) {
                take(row, made);
            }
        }
        (rows, done)
    };
    drive(path, sum, warnings, ahead, &mut consume);
    read
}

/// A batch of rows and, if the reading thread prepared them, what each made.
type Done<T> = (Rows, Vec<Result<T, String>>);

/// What takes a batch (with the file's header) and gives it back for reuse.
type Consume<'a, T> = dyn FnMut(Done<T>, &StringRecord, &mut Skips) -> Done<T> + 'a;

/// Rows skipped in a file: the first [`WARNINGS_PER_FILE`] named.
struct Skips<'w> {
    shown: String,
    bad: usize,
    warnings: &'w mut Vec<String>,
}

impl Skips<'_> {
    fn row(&mut self, line: u64, why: &str) {
        self.bad += 1;
        if self.bad <= WARNINGS_PER_FILE {
            let shown = &self.shown;
            self.warnings
                .push(format!("{shown}:{line}: row skipped: {why}"));
        }
    }
}

/// Reads `path` on a thread of its own, batch by batch, handing each batch
/// (prepared there when the consumer is behind, if `ahead` is given) to
/// `consume` with the file's header, in file order.
fn drive<T: Send, P>(
    path: &Path,
    sum: Option<Sum>,
    warnings: &mut Vec<String>,
    ahead: Option<P>,
    consume: &mut Consume<T>,
) where
    P: FnMut(&Row, &StringRecord) -> Result<T, String> + Send,
{
    let shown = path.display().to_string();
    let mut reader = match open_summed(path, sum) {
        Ok(input) => Bounded::new(input),
        Err(e) => {
            warnings.push(format!("{shown}: cannot be read: {e}"));
            return;
        }
    };
    let mut first = Rows::default();
    if !matches!(reader.read(&mut first, 1, usize::MAX), Next::Full) {
        warnings.push(format!("{shown}: no header"));
        return;
    }
    let mut headers = StringRecord::new();
    first.get(0).to_record(&mut headers);
    let mut skip = Skips {
        shown,
        bad: 0,
        warnings,
    };
    let (tx, batches) = mpsc::sync_channel(2);
    let (recycle, spent) = mpsc::channel();
    std::thread::scope(|scope| {
        let headers = &headers;
        scope.spawn(move || read_ahead(reader, &tx, &spent, ahead, headers));
        for batch in batches {
            match batch {
                Batch::Rows(rows, done) => {
                    let spent = consume((rows, done), headers, &mut skip);
                    // The reader may have finished: then the batch is simply dropped.
                    let _ = recycle.send(spent);
                }
                Batch::Skipped(line, why) => skip.row(line, &why),
            }
        }
    });
    let (shown, bad) = (&skip.shown, skip.bad);
    if bad > WARNINGS_PER_FILE {
        skip.warnings.push(format!(
            "{shown}: {bad} rows skipped in all, the first {WARNINGS_PER_FILE} named above"
        ));
    }
}

/// Rows read ahead at a time, at most.
const BATCH: usize = 4096;
/// Bytes of rows read ahead at a time, about.
const BATCH_BYTES: usize = 1 << 18;
/// A batch that grew past this (around a long row) is not kept for reuse:
/// its room goes back.
const REUSE_BYTES: usize = 8 * BATCH_BYTES;

/// What the reading thread hands over, in file order.
enum Batch<T> {
    /// Rows, and what each made if they were prepared (else nothing).
    Rows(Rows, Vec<Result<T, String>>),
    /// A row that could not be read (its line, why); reading goes on after
    /// it where it can.
    Skipped(u64, String),
}

/// Reads `reader` to its end (or to an error it cannot read past) in
/// batches, reusing the batches the consumer is done with; a batch the
/// consumer has no room for yet is prepared here, if `ahead` is given,
/// while it catches up.
fn read_ahead<T, P>(
    mut reader: Bounded,
    tx: &mpsc::SyncSender<Batch<T>>,
    spent: &mpsc::Receiver<Done<T>>,
    mut ahead: Option<P>,
    headers: &StringRecord,
) where
    P: FnMut(&Row, &StringRecord) -> Result<T, String>,
{
    loop {
        let (mut rows, mut done) = spent
            .try_recv()
            .ok()
            .filter(|(rows, _)| rows.capacity() <= REUSE_BYTES)
            .unwrap_or_default();
        rows.clear();
        done.clear();
        let (stop, skipped) = match reader.read(&mut rows, BATCH, BATCH_BYTES) {
            Next::Full => (false, None),
            Next::TooLong(line) => (
                false,
                Some((line, format!("longer than {MAX_ROW_BYTES} bytes"))),
            ),
            Next::NotUtf8(line, field) => (
                false,
                Some((line, format!("field {field} is not UTF-8 text"))),
            ),
            Next::Failed(line, e) => (
                true,
                Some((line, format!("the file cannot be read on: {e}"))),
            ),
            Next::End => (true, None),
        };
        let batch = match (tx.try_send(Batch::Rows(rows, done)), &mut ahead) {
            (Ok(()), _) => None,
            (Err(mpsc::TrySendError::Full(Batch::Rows(rows, mut done))), Some(prepare)) => {
                done.extend(rows.iter().map(|row| prepare(&row, headers)));
                Some(Batch::Rows(rows, done))
            }
            (Err(mpsc::TrySendError::Full(batch)), _) => Some(batch),
            (Err(mpsc::TrySendError::Disconnected(_)), _) => return,
        };
        if batch.is_some_and(|batch| tx.send(batch).is_err()) {
            return;
        }
        if let Some((line, why)) = skipped {
            if tx.send(Batch::Skipped(line, why)).is_err() {
                return;
            }
        }
        if stop {
            return;
        }
    }
}

/// Why a row did not deserialize, without its content.
pub fn reason(e: &csv::Error) -> String {
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
#[path = "read_tests.rs"]
mod tests;
