//! `faults.csv`: when the user reported a fault to the ISP (`open`) and when
//! it was fixed (`close`), one row per event, appended whole by the same
//! writer as the other logs. Read back from every file of it (logrotate
//! rotates it with the rest) into tickets; a record that would make the file
//! wrong is refused before anything is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{clock, ClaimConfig};
use crate::sink::fingerprint::FileRead;
use crate::sink::{neutralise, read, CsvError, CsvFile};
use crate::timefmt::rfc3339_local;

/// File name inside `log_dir`.
pub const FILE: &str = "faults.csv";

/// One `faults.csv` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRow {
    /// When, RFC 3339 with offset.
    pub at: String,
    /// `open` or `close`.
    pub event: Event,
    /// The provider's reference for the fault.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Free text.
    pub note: String,
}

impl FaultRow {
    /// The columns, in order.
    pub const HEADER: &'static [&'static str] = &["at", "event", "ref", "note"];
}

/// What a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The fault was reported to the ISP.
    Open,
    /// The ISP fixed it.
    Close,
}

/// A fault as reported and, once fixed, closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The provider's reference.
    pub reference: String,
    /// When it was reported.
    pub reported: DateTime<FixedOffset>,
    /// When it was fixed; `None` while open.
    pub fixed: Option<DateTime<FixedOffset>>,
    /// The note given when it was opened.
    pub note: String,
    /// The note given when it was closed.
    pub fix_note: String,
}

impl Ticket {
    /// The last day the provider has under `claim`, from the local date of
    /// the report; `None` under no rule.
    pub fn last_day(&self, claim: &ClaimConfig) -> Option<NaiveDate> {
        let reported = self.reported.with_timezone(&Local).date_naive();
        clock::deadline(&claim.rule, &claim.holidays, reported)
    }

    /// The moment the provider's deadline passes: local midnight after its
    /// last day; `None` under no rule.
    pub fn deadline(&self, claim: &ClaimConfig) -> Option<DateTime<Utc>> {
        let midnight = self.last_day(claim)?.succ_opt()?.and_time(NaiveTime::MIN);
        Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.to_utc())
    }
}

/// Why a fault cannot be recorded; each names the ref. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("{reference} is already open (reported {since}): close it first; nothing was written")]
    AlreadyOpen { reference: String, since: String },
    #[error("{reference} was closed at {closed}: it can be opened again only after that, not at {at}; nothing was written")]
    BeforeItsClose {
        reference: String,
        closed: String,
        at: String,
    },
    #[error("there is no ticket {reference} to close (`fault list` shows the tickets); nothing was written")]
    Unknown { reference: String },
    #[error("{reference} is not open: it was closed at {closed}; nothing was written")]
    NotOpen { reference: String, closed: String },
    #[error("{reference} was opened at {opened}: it cannot be closed before that, at {at}; nothing was written")]
    BeforeItsOpen {
        reference: String,
        opened: String,
        at: String,
    },
    #[error("{reference}: {at} is in the future (now {now}); nothing was written")]
    Future {
        reference: String,
        at: String,
        now: String,
    },
    #[error("{reference}: {source}")]
    Write { reference: String, source: CsvError },
}

/// Every ticket `faults.csv` holds, oldest report first, and what could not be read.
#[derive(Debug, Default)]
pub struct Faults {
    pub tickets: Vec<Ticket>,
    /// Rows that could not be taken, each with its file and line.
    pub warnings: Vec<String>,
    /// What was read of each file.
    pub files: Vec<FileRead>,
}

/// A time for messages, as the file writes it.
fn shown(t: DateTime<FixedOffset>) -> String {
    rfc3339_local(t.to_utc())
}

impl Faults {
    /// Reads every file of `faults.csv` in `log_dir`, oldest first. A row
    /// that would make a ticket wrong (a second open, a close with no open
    /// or before it) is named with its file and line and not taken. No file
    /// is no ticket.
    pub fn read(log_dir: &Path) -> Faults {
        let mut f = Faults::default();
        let mut open: HashMap<String, usize> = HashMap::new();
        for path in read::files(log_dir, FILE, &mut f.warnings) {
            let (tickets, mut warnings) = (&mut f.tickets, Vec::new());
            let done = read::records_fingerprinted(&path, &mut warnings, |record, headers| {
                let row: FaultRow = record
                    .deserialize(Some(headers))
                    .map_err(|e| read::reason(&e))?;
                let at = DateTime::parse_from_rfc3339(&row.at)
                    .map_err(|e| format!("at {:?} is not an RFC 3339 time: {e}", row.at))?;
                take(tickets, &mut open, row, at)
            });
            f.warnings.extend(warnings);
            f.files.push(done);
        }
        f.tickets.sort_by_key(|t| t.reported);
        f
    }

    /// The newest ticket of `reference`.
    fn latest(&self, reference: &str) -> Option<&Ticket> {
        self.tickets
            .iter()
            .filter(|t| t.reference == reference)
            .max_by_key(|t| t.reported)
    }

    /// The row recording that `reference` was reported at `at`, if the file allows it.
    pub fn open(
        &self,
        reference: &str,
        at: DateTime<FixedOffset>,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<FaultRow, FaultError> {
        not_future(reference, at, now)?;
        match self.latest(reference) {
            Some(t) if t.fixed.is_none() => Err(FaultError::AlreadyOpen {
                reference: reference.into(),
                since: shown(t.reported),
            }),
            Some(Ticket { fixed: Some(f), .. }) if at < *f => Err(FaultError::BeforeItsClose {
                reference: reference.into(),
                closed: shown(*f),
                at: shown(at),
            }),
            _ => Ok(row(at, Event::Open, reference, note)),
        }
    }

    /// The row recording that `reference` was fixed at `at`, if the file allows it.
    pub fn close(
        &self,
        reference: &str,
        at: DateTime<FixedOffset>,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<FaultRow, FaultError> {
        not_future(reference, at, now)?;
        match self.latest(reference) {
            None => Err(FaultError::Unknown {
                reference: reference.into(),
            }),
            Some(Ticket { fixed: Some(f), .. }) => Err(FaultError::NotOpen {
                reference: reference.into(),
                closed: shown(*f),
            }),
            Some(t) if at < t.reported => Err(FaultError::BeforeItsOpen {
                reference: reference.into(),
                opened: shown(t.reported),
                at: shown(at),
            }),
            Some(_) => Ok(row(at, Event::Close, reference, note)),
        }
    }
}

fn not_future(
    reference: &str,
    at: DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<(), FaultError> {
    if at.to_utc() > now {
        return Err(FaultError::Future {
            reference: reference.into(),
            at: shown(at),
            now: rfc3339_local(now),
        });
    }
    Ok(())
}

fn row(at: DateTime<FixedOffset>, event: Event, reference: &str, note: &str) -> FaultRow {
    FaultRow {
        at: shown(at),
        event,
        reference: reference.into(),
        note: neutralise(note),
    }
}

/// Takes one row into `tickets`; `open` holds the index of each open ticket by ref.
fn take(
    tickets: &mut Vec<Ticket>,
    open: &mut HashMap<String, usize>,
    row: FaultRow,
    at: DateTime<FixedOffset>,
) -> Result<(), String> {
    let r = row.reference;
    match (row.event, open.get(&r).copied()) {
        (Event::Open, Some(i)) => Err(format!(
            "{r} is already open (reported {})",
            shown(tickets[i].reported)
        )),
        (Event::Open, None) => {
            let closed = tickets
                .iter()
                .filter(|t| t.reference == r)
                .filter_map(|t| t.fixed)
                .max();
            if let Some(c) = closed.filter(|c| at < *c) {
                return Err(format!(
                    "{r} is opened again before its close at {}",
                    shown(c)
                ));
            }
            open.insert(r.clone(), tickets.len());
            tickets.push(Ticket {
                reference: r,
                reported: at,
                fixed: None,
                note: row.note,
                fix_note: String::new(),
            });
            Ok(())
        }
        (Event::Close, None) => Err(format!("{r} is closed, but not open")),
        (Event::Close, Some(i)) if at < tickets[i].reported => Err(format!(
            "{r} is closed before it was opened ({})",
            shown(tickets[i].reported)
        )),
        (Event::Close, Some(i)) => {
            open.remove(&r);
            tickets[i].fixed = Some(at);
            tickets[i].fix_note = row.note;
            Ok(())
        }
    }
}

/// Appends `row` to `log_dir/faults.csv`: whole, fsynced, the file created
/// with its header if missing, set aside if its header differs.
pub fn append(log_dir: &Path, row: FaultRow) -> Result<PathBuf, FaultError> {
    let path = log_dir.join(FILE);
    let file = CsvFile::<FaultRow>::new(path.clone(), FaultRow::HEADER, true, 1);
    let reference = row.reference.clone();
    file.write(&[row])
        .map_err(|source| FaultError::Write { reference, source })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    const NOW: &str = "2026-11-20T12:00:00+00:00";

    fn now() -> DateTime<Utc> {
        t(NOW).to_utc()
    }

    #[test]
    fn each_wrong_record_is_refused_naming_the_ref_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults::read(dir.path());
        assert!(faults.tickets.is_empty() && faults.warnings.is_empty());
        let e = faults
            .close("TKT-1", t("2026-11-02T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("there is no ticket TKT-1 to close"),
            "{e}"
        );
        let e = faults
            .open("TKT-1", t("2026-11-21T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(e.to_string().starts_with("TKT-1: "), "{e}");
        assert!(e.to_string().contains("is in the future"), "{e}");
        append(
            dir.path(),
            faults
                .open("TKT-1", t("2026-11-02T10:00:00+00:00"), now(), "=cmd")
                .unwrap(),
        )
        .unwrap();

        let faults = Faults::read(dir.path());
        let e = faults
            .open("TKT-1", t("2026-11-03T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(e.to_string().starts_with("TKT-1 is already open"), "{e}");
        let e = faults
            .close("TKT-1", t("2026-11-01T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(e.to_string().starts_with("TKT-1 was opened at"), "{e}");
        append(
            dir.path(),
            faults
                .close("TKT-1", t("2026-11-05T10:00:00+00:00"), now(), "fixed")
                .unwrap(),
        )
        .unwrap();

        let faults = Faults::read(dir.path());
        let e = faults
            .close("TKT-1", t("2026-11-06T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(e.to_string().starts_with("TKT-1 is not open"), "{e}");
        let e = faults
            .open("TKT-1", t("2026-11-04T10:00:00+00:00"), now(), "")
            .unwrap_err();
        assert!(e.to_string().starts_with("TKT-1 was closed at"), "{e}");
        assert!(
            faults
                .open("TKT-1", t("2026-11-07T10:00:00+00:00"), now(), "")
                .is_ok(),
            "open again after its close"
        );
        assert_eq!(faults.tickets.len(), 1);
        assert_eq!(faults.tickets[0].note, "'=cmd", "neutralised");
        assert_eq!(
            faults.tickets[0].fixed,
            Some(t("2026-11-05T10:00:00+00:00"))
        );
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.starts_with("at,event,ref,note\n"), "{text}");
    }

    #[test]
    fn rows_that_make_a_ticket_wrong_are_named_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            "at,event,ref,note\n\
             2026-11-02T10:00:00+00:00,open,A,\n\
             2026-11-02T11:00:00+00:00,open,A,twice\n\
             2026-11-02T12:00:00+00:00,close,B,\n\
             2026-11-01T12:00:00+00:00,close,A,\n\
             soon,open,C,\n\
             2026-11-02T13:00:00+00:00,reopen,A,\n\
             2026-11-03T12:00:00+00:00,close,A,done\n",
        )
        .unwrap();
        let f = Faults::read(dir.path());
        assert_eq!(f.tickets.len(), 1);
        assert_eq!(f.tickets[0].fix_note, "done");
        let w = f.warnings.join("\n");
        for (line, why) in [
            (3, "A is already open"),
            (4, "B is closed, but not open"),
            (5, "A is closed before it was opened"),
            (6, "at \"soon\" is not an RFC 3339 time"),
            (7, "unknown variant `reopen`"),
        ] {
            assert!(
                w.contains(&format!("faults.csv:{line}: row skipped: {why}")),
                "{line}: {w}"
            );
        }
        assert_eq!(f.files.len(), 1);
        assert_eq!(f.files[0].rows, 2);
    }
}
