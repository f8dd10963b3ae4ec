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

/// The tables of every outage's traces in `log_dir/paths.jsonl`, by outage start.
#[derive(Debug, Default)]
pub struct OutageTraces {
    by_start: HashMap<DateTime<FixedOffset>, Vec<String>>,
}

impl OutageTraces {
    /// Reads `log_dir/paths.jsonl` (none there: no traces); a line that does
    /// not read as an entry is skipped.
    pub fn read(log_dir: &Path) -> OutageTraces {
        let mut by_start: HashMap<_, Vec<String>> = HashMap::new();
        let Ok(file) = std::fs::File::open(log_dir.join("paths.jsonl")) else {
            return OutageTraces::default();
        };
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
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
        OutageTraces { by_start }
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
