//! The path traces the daemon took for each outage, to show beside it.
//!
//! A trace belongs to an outage by identity, not by time: `paths.jsonl`
//! records for each failure's trace the failure's first failing check, which
//! is the outage's recorded start (`started_at`). Traces of failing checks
//! that never became an outage, baselines, and entries written before that
//! field existed are never attached.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::path::Entry;
use crate::sink::fingerprint::{FileRead, Sum};

/// The tables of every outage's traces in `log_dir/paths.jsonl`, by outage start.
#[derive(Debug, Default)]
pub struct OutageTraces {
    by_start: HashMap<DateTime<FixedOffset>, Vec<String>>,
    /// What was read of `paths.jsonl` (its lines as rows), when there is one.
    pub file: Option<FileRead>,
}

impl OutageTraces {
    /// Reads `log_dir/paths.jsonl` (none there, or no regular file: no
    /// traces); a line that does not read as an entry is skipped.
    pub fn read(log_dir: &Path) -> OutageTraces {
        let mut by_start: HashMap<_, Vec<String>> = HashMap::new();
        let path = log_dir.join("paths.jsonl");
        let sum = Sum::new();
        let Ok(file) = crate::sink::read::open_summed(&path, Some(sum.clone())) else {
            return OutageTraces::default();
        };
        let mut lines = 0;
        for line in file.lines().map_while(Result::ok) {
            lines += 1;
            // Cheap test first: most lines are baselines.
            if !line.contains("\"outage ") {
                continue;
            }
            let Ok(e) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            if let Some(start) = e.failure_start().filter(|s| e.is_for_outage(*s)) {
                by_start.entry(start).or_default().push(e.table());
            }
        }
        OutageTraces {
            by_start,
            file: Some(sum.file_read(&path, lines)),
        }
    }

    /// The tables taken for the outage that started at `start`, joined.
    pub fn of(&self, start: DateTime<FixedOffset>) -> Option<String> {
        self.by_start.get(&start).map(|tables| {
            tables
                .iter()
                .map(|t| t.trim_end())
                .collect::<Vec<_>>()
                .join("\n\n")
        })
    }
}
