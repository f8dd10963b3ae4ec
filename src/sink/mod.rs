//! Sinks: where events go. Each runs in its own task behind a bounded queue,
//! so a slow disk never delays detection (STYLE 6).
//!
//! - [`connection`]: one `connection_log.csv` row per check.
//! - [`recorder`]: `outage_log.csv` rows and the persisted state, in one task
//!   so that a row is on disk before the state that forgets its outage is.

pub mod connection;
mod csvfile;
pub mod recorder;

use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::monitor::{Diagnosis, OutageRecord};

pub use csvfile::{neutralise, CsvFile};

/// `outage_log.csv` columns.
pub const OUTAGE_HEADER: &[&str] = &[
    "date",
    "start_time",
    "end_time",
    "duration_seconds",
    "cause",
    "started_at",
    "ended_at",
    "detail",
];

/// `connection_log.csv` columns.
pub const CONNECTION_HEADER: &[&str] = &[
    "timestamp",
    "status",
    "gateway_rtt_ms",
    "isp_rtt_ms",
    "targets_up",
    "targets_total",
    "dns_ok",
    "http_ok",
    "loss_pct",
    "detail",
];

/// RFC 3339 in local time with its offset, to the second.
pub fn rfc3339_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `HH:MM:SS` in local time.
pub fn local_hms(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// `HH:MM:SS.mmm` in local time, for log lines that benchmarks time.
pub fn local_hms_ms(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S%.3f").to_string()
}

/// The `detail` column of an outage row: where it broke, cause changes, gaps, simulation.
pub fn outage_detail(r: &OutageRecord) -> String {
    let mut parts = vec![r.detail.clone()];
    for c in &r.cause_changes {
        parts.push(format!("cause {}→{} at {}", c.from, c.to, local_hms(c.at)));
    }
    for g in &r.gaps {
        parts.push(format!(
            "monitoring gap {}–{} ({}) not counted",
            local_hms(g.from),
            local_hms(g.to),
            humantime::format_duration(std::time::Duration::from_secs(g.length().as_secs()))
        ));
    }
    if r.simulated && !r.detail.contains("simulated") {
        parts.push("simulated".into());
    }
    parts.join("; ")
}

/// Whole seconds, rounded (start and end are sub-second times).
pub fn seconds(d: std::time::Duration) -> u64 {
    d.as_secs_f64().round() as u64
}

/// One `outage_log.csv` row.
pub fn outage_row(r: &OutageRecord) -> Vec<String> {
    let start = r.start.with_timezone(&Local);
    vec![
        start.format("%Y-%m-%d").to_string(),
        local_hms(r.start),
        local_hms(r.end),
        seconds(r.observed).to_string(),
        r.cause.verdict().as_str().to_owned(),
        rfc3339_local(r.start),
        rfc3339_local(r.end),
        neutralise(&outage_detail(r)),
    ]
}

/// One `connection_log.csv` row.
pub fn connection_row(at: DateTime<Utc>, d: &Diagnosis) -> Vec<String> {
    let ms =
        |r: Option<crate::probe::Rtt>| r.map(|r| format!("{:.3}", r.as_ms())).unwrap_or_default();
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    vec![
        rfc3339_local(at),
        d.verdict.as_str().to_owned(),
        ms(d.gateway_rtt),
        ms(d.isp_rtt),
        d.targets_up.to_string(),
        d.targets_total.to_string(),
        flag(d.dns_ok),
        flag(d.http_ok),
        d.loss_pct.map(|l| format!("{l:.1}")).unwrap_or_default(),
        neutralise(&d.detail),
    ]
}
