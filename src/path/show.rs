//! A path as a person reads it (an mtr-like table) and as tools read it (a
//! `paths.jsonl` entry, which the report reads back).

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::Path;
use crate::timefmt::rfc3339_local;

/// The `schema_version` of a `paths.jsonl` entry (2: `failure_start`, and the
/// hops' `rate_limited`, `echo_sent`, `echo_received`, `unreachable`).
pub const ENTRY_SCHEMA: u32 = 2;

/// One `paths.jsonl` line: a trace, why it was taken, and for which failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's version.
    pub schema_version: u32,
    /// When it was written (RFC 3339, local time).
    pub time: String,
    /// Why it was taken: `outage WAN_DOWN`, `failed check WAN_DOWN, no outage`,
    /// `failing check WAN_DOWN, undecided at stop`, `baseline`, `route-change`, `discover`.
    pub trigger: String,
    /// The target's name.
    pub target: String,
    /// For a failure's trace, its first failing check: an outage's recorded
    /// start, as `started_at` in outage_log.csv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_start: Option<String>,
    /// The trace.
    pub path: Path,
}

impl Entry {
    /// An entry written now.
    pub fn new(
        path: Path,
        target: &str,
        trigger: &str,
        failure_start: Option<DateTime<Utc>>,
    ) -> Entry {
        Entry {
            schema_version: ENTRY_SCHEMA,
            time: rfc3339_local(Utc::now()),
            trigger: trigger.to_owned(),
            target: target.to_owned(),
            failure_start: failure_start.map(rfc3339_local),
            path,
        }
    }

    /// Whether it was taken for the outage that started at `start`.
    pub fn is_for_outage(&self, start: DateTime<FixedOffset>) -> bool {
        self.trigger.starts_with("outage ") && self.failure_start() == Some(start)
    }

    /// Its failure's first failing check, when it has one that reads.
    pub fn failure_start(&self) -> Option<DateTime<FixedOffset>> {
        self.failure_start
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    }

    /// The table under its header line, as `paths/<target>.log` holds it.
    pub fn table(&self) -> String {
        let why = match &self.failure_start {
            Some(s) if self.trigger.starts_with("outage ") => {
                format!("{} started {s}", self.trigger)
            }
            Some(s) => format!("{}, first failing check {s}", self.trigger),
            None => self.trigger.clone(),
        };
        table(&self.path, &self.target, &why)
    }
}

/// The table, under a header line naming the time, why it was taken, and the
/// target (its name, and its address when that differs):
///
/// ```text
/// === 2026-11-27T14:02:11+01:00 outage WAN_DOWN started 2026-11-27T14:02:10+01:00: one 10.0.0.1, not reached
/// HOST                          Loss%   Snt   Last    Avg   Best   Wrst  StDev
///   1. 10.1.1.1                   0.0%    10    0.1    0.1    0.1    0.2    0.0
///   2. 100.64.1.2 !N              0.0%    10    0.2    0.2    0.1    0.3    0.1  limited 6, echo 6/6
/// ```
pub fn table(p: &Path, name: &str, why: &str) -> String {
    let dest = p.dest.to_string();
    let target = if name == dest {
        dest
    } else {
        format!("{name} {dest}")
    };
    let mut out = format!(
        "=== {} {why}: {target}, {}\n",
        rfc3339_local(p.at),
        if p.reached { "reached" } else { "not reached" }
    );
    out.push_str(&format!(
        "{:<30}{:>6}{:>6}{:>7}{:>7}{:>7}{:>7}{:>7}\n",
        "HOST", "Loss%", "Snt", "Last", "Avg", "Best", "Wrst", "StDev"
    ));
    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.1}"));
    for h in &p.hops {
        let mut host = if h.addrs.is_empty() {
            "???".to_owned()
        } else {
            h.addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        if let Some(mark) = &h.unreachable {
            host = format!("{host} {mark}");
        }
        let mut notes = Vec::new();
        if h.rate_limited > 0 {
            notes.push(format!("limited {}", h.rate_limited));
        }
        if h.echo_sent > 0 {
            notes.push(format!("echo {}/{}", h.echo_received, h.echo_sent));
        }
        let line = format!(
            "{:>3}. {:<25}{:>5.1}%{:>6}{:>7}{:>7}{:>7}{:>7}{:>7}  {}",
            h.ttl,
            host,
            h.loss_pct,
            h.sent,
            ms(h.last_ms),
            ms(h.avg_ms),
            ms(h.best_ms),
            ms(h.worst_ms),
            ms(h.stdev_ms),
            notes.join(", ")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&legend(p));
    out
}

/// What the marks in the table mean, for those it uses.
fn legend(p: &Path) -> String {
    let mut out = String::new();
    if p.hops.iter().any(|h| h.rate_limited > 0) {
        out.push_str(
            "     limited N: probes the router left unanswered although later hops (or echoes to it) \
             answered: its ICMP rate limit, not loss; Loss% counts only loss the later hops share\n",
        );
    }
    if p.hops.iter().any(|h| h.echo_sent > 0) {
        out.push_str(
            "     echo A/S: of S echo requests sent to the router's own address with this TTL \
             when it left a probe unanswered, A were answered (echo replies are not rate-limited)\n",
        );
    }
    if let Some(mark) = p.hops.iter().find_map(|h| h.unreachable.as_deref()) {
        out.push_str(&format!(
            "     {mark}: the router answered \"{}\": the path ends there\n",
            super::hop::Unreachable::words_of(mark)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> Path {
        serde_json::from_str(
            r#"{"dest":"198.51.100.1","at":"2026-11-27T13:41:30Z","rounds":3,"reached":false,
            "hops":[{"ttl":1,"addrs":["10.0.1.1"],"sent":3,"received":3,"loss_pct":0.0,
            "last_ms":0.1,"avg_ms":0.1,"best_ms":0.1,"worst_ms":0.1,"stdev_ms":0.0},
            {"ttl":2,"addrs":["10.0.2.2"],"sent":3,"received":1,"loss_pct":0.0,"rate_limited":2,
            "echo_sent":2,"echo_received":2,"unreachable":"!N",
            "last_ms":0.2,"avg_ms":0.2,"best_ms":0.2,"worst_ms":0.2,"stdev_ms":0.0}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_table_marks_the_unreachable_router_its_limit_and_its_echoes() {
        let t = table(&path(), "one", "discover");
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].ends_with(" discover: one 198.51.100.1, not reached"),
            "{t}"
        );
        assert!(lines[3].starts_with("  2. 10.0.2.2 !N "), "{t}");
        assert!(lines[3].ends_with("  limited 2, echo 2/2"), "{t}");
        assert!(lines[4].contains("limited N: "), "{t}");
        assert!(
            lines[6].contains("!N: the router answered \"network unreachable\""),
            "{t}"
        );
    }

    #[test]
    fn a_target_named_by_its_address_is_named_once() {
        let t = table(&path(), "198.51.100.1", "discover");
        assert!(
            t.lines()
                .next()
                .unwrap()
                .ends_with(" discover: 198.51.100.1, not reached"),
            "{t}"
        );
    }

    #[test]
    fn an_entry_names_its_outage_and_belongs_to_it_alone() {
        let start: DateTime<Utc> = "2026-11-27T13:41:29Z".parse().unwrap();
        let e = Entry::new(path(), "one", "outage WAN_DOWN", Some(start));
        let line = serde_json::to_string(&e).unwrap();
        let back: Entry = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
        let fixed = start.fixed_offset();
        assert!(back.is_for_outage(fixed));
        assert!(!back.is_for_outage(fixed + chrono::Duration::seconds(1)));
        let head = back.table();
        let head = head.lines().next().unwrap();
        assert!(
            head.contains(&format!(
                " outage WAN_DOWN started {}: one ",
                rfc3339_local(start)
            )),
            "{head}"
        );
        let no = Entry::new(
            path(),
            "one",
            "failed check WAN_DOWN, no outage",
            Some(start),
        );
        assert!(!no.is_for_outage(fixed), "never attached");
        assert!(no
            .table()
            .contains("failed check WAN_DOWN, no outage, first failing check "));
    }
}
