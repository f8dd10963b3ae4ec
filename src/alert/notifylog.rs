//! `notifications.log`: one line per delivery attempt, never a secret.
//!
//! Lines are queued like the CSV rows: when `log_dir` cannot be written (full,
//! read-only) they are kept in memory, in order, said once, and written at the
//! next attempt or retry; only past [`MAX_HELD`] lines are the oldest dropped,
//! counted and said.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;

use super::Message;
use crate::timefmt::spelled;

/// Lines kept while the log cannot be written (about 1.5 MB).
pub const MAX_HELD: usize = 10_000;

/// `notifications.log` in `log_dir`, shared by every delivery task.
#[derive(Debug, Clone)]
pub struct NotifyLog {
    path: PathBuf,
    /// Lines not yet written; one lock so that lines keep their order.
    held: Arc<Mutex<Held>>,
}

#[derive(Debug, Default)]
struct Held {
    lines: VecDeque<String>,
    /// Since when writes fail, and how many lines were dropped meanwhile.
    failing: Option<(Instant, u64)>,
}

impl NotifyLog {
    /// The log in `log_dir`.
    pub fn new(log_dir: &Path) -> NotifyLog {
        NotifyLog {
            path: log_dir.join("notifications.log"),
            held: Arc::default(),
        }
    }

    /// Queues one attempt's line and writes what is queued.
    pub fn attempt(&self, channel: &str, msg: &Message, result: Result<(), &str>, what: &str) {
        let mut line = format!(
            "{} channel={channel} id={} kind={} result={what}",
            crate::timefmt::rfc3339_local(Utc::now()),
            msg.id,
            msg.label()
        );
        if let Err(e) = result {
            line.push_str(&format!(" error={:?}", e));
        }
        line.push('\n');
        let mut held = self.held.lock().expect("notify log lock");
        if held.lines.len() >= MAX_HELD {
            held.lines.pop_front();
            let run = held.failing.get_or_insert((Instant::now(), 0));
            if run.1 == 0 {
                tracing::error!(
                    "{} lines for {} are waiting: dropping the oldest from now on, until it can be written",
                    MAX_HELD,
                    self.path.display()
                );
            }
            run.1 += 1;
        }
        held.lines.push_back(line);
        self.write(&mut held);
    }

    /// Writes the lines kept while the log could not be written; says whether none is left.
    pub fn flush(&self) -> bool {
        let mut held = self.held.lock().expect("notify log lock");
        self.write(&mut held)
    }

    /// Appends every held line in one write, all or none; the first failure of
    /// a run and its end are said.
    fn write(&self, held: &mut Held) -> bool {
        if held.lines.is_empty() {
            return true;
        }
        let text: String = held.lines.iter().map(String::as_str).collect();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
            })
            .and_then(|mut f| crate::util::append_whole(&mut f, text.as_bytes(), false));
        match written {
            Ok(()) => {
                if let Some((since, dropped)) = held.failing.take() {
                    tracing::info!(
                        "{} writable again after {}: {} queued lines written, {dropped} dropped",
                        self.path.display(),
                        spelled(since.elapsed()),
                        held.lines.len()
                    );
                }
                held.lines.clear();
                true
            }
            Err(e) => {
                if held.failing.is_none() {
                    tracing::error!(
                        "cannot write {}: {e}; its lines are kept and retried",
                        self.path.display()
                    );
                    held.failing = Some((Instant::now(), 0));
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_cannot_be_written_are_kept_and_written_in_order_later() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder should be: nothing can be written under it.
        let blocked = dir.path().join("logs");
        std::fs::write(&blocked, b"").unwrap();
        let log = NotifyLog::new(&blocked);
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut msg = Message::test(t);
        for id in ["first", "second"] {
            msg.id = id.into();
            log.attempt("teams", &msg, Err("HTTP 500"), "failed");
        }
        assert!(!log.flush(), "still blocked");
        std::fs::remove_file(&blocked).unwrap();
        msg.id = "third".into();
        log.attempt("teams", &msg, Ok(()), "ok");
        let text = std::fs::read_to_string(blocked.join("notifications.log")).unwrap();
        let ids: Vec<&str> = text
            .lines()
            .map(|l| l.split(" id=").nth(1).unwrap().split(' ').next().unwrap())
            .collect();
        assert_eq!(ids, ["first", "second", "third"], "{text}");
        assert!(text.lines().nth(1).unwrap().contains("error=\"HTTP 500\""));
    }
}
