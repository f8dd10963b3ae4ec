//! The path tables the daemon captured when outages started, to show beside them.

use std::path::Path;

use chrono::{DateTime, FixedOffset};

/// Every `outage` table in `log_dir/paths/*.log`, with its time.
pub fn outage_tables(log_dir: &Path) -> Vec<(DateTime<FixedOffset>, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(log_dir.join("paths")) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        for table in text.split("=== ").filter(|t| !t.trim().is_empty()) {
            let mut words = table.split_whitespace();
            let (Some(time), Some("outage")) = (words.next(), words.next()) else {
                continue;
            };
            if let Ok(at) = DateTime::parse_from_rfc3339(time) {
                out.push((at, format!("=== {}", table.trim_end())));
            }
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// The tables captured within ten minutes after `start` (or a minute before), joined.
pub fn nearest(
    tables: &[(DateTime<FixedOffset>, String)],
    start: DateTime<FixedOffset>,
) -> Option<String> {
    let near: Vec<&str> = tables
        .iter()
        .filter(|(at, _)| {
            let d = (*at - start).num_seconds();
            (-60..=600).contains(&d)
        })
        .map(|(_, t)| t.as_str())
        .collect();
    (!near.is_empty()).then(|| near.join("\n\n"))
}
