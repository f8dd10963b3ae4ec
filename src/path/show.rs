//! A path as a person reads it (an mtr-like table) and as tools read it (JSON).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::Path;
use crate::timefmt::rfc3339_local;

/// The table, under a header line naming the time and what triggered it:
///
/// ```text
/// === 2026-11-27T14:02:11+01:00 outage WAN_DOWN: one 198.51.100.1, not reached
/// HOST                          Loss%   Snt   Last    Avg   Best   Wrst  StDev
///   1. 10.1.1.1                   0.0%    10    0.1    0.1    0.1    0.2    0.0
///   4. ???                      100.0%    10
/// ```
pub fn table(p: &Path, name: &str, trigger: &str) -> String {
    let mut out = format!(
        "=== {} {trigger}: {name} {}, {}\n",
        rfc3339_local(p.at),
        p.dest,
        if p.reached { "reached" } else { "not reached" }
    );
    out.push_str(&format!(
        "{:<30}{:>6}{:>6}{:>7}{:>7}{:>7}{:>7}{:>7}\n",
        "HOST", "Loss%", "Snt", "Last", "Avg", "Best", "Wrst", "StDev"
    ));
    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.1}"));
    for h in &p.hops {
        let host = if h.addrs.is_empty() {
            "???".to_owned()
        } else {
            h.addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let line = format!(
            "{:>3}. {:<25}{:>5.1}%{:>6}{:>7}{:>7}{:>7}{:>7}{:>7}",
            h.ttl,
            host,
            h.loss_pct,
            h.sent,
            ms(h.last_ms),
            ms(h.avg_ms),
            ms(h.best_ms),
            ms(h.worst_ms),
            ms(h.stdev_ms)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One `paths.jsonl` entry.
pub fn entry_json(p: &Path, name: &str, trigger: &str, written: DateTime<Utc>) -> Value {
    json!({
        "schema_version": 1,
        "time": rfc3339_local(written),
        "trigger": trigger,
        "target": name,
        "path": p,
    })
}
