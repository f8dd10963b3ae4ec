//! How times and durations are written wherever a person reads them: logs,
//! CSV cells, messages, the status line and the report. One rule each, in one place.

use std::time::Duration;

use chrono::{DateTime, Datelike, Local, NaiveTime, SecondsFormat, Utc, Weekday};

/// RFC 3339 in local time with its offset, to the second.
pub fn rfc3339_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// RFC 3339 in local time with its offset, to the millisecond (log lines that
/// benchmarks time).
pub fn rfc3339_local_ms(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// `HH:MM:SS` in local time.
pub fn local_hms(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// `YYYY-MM-DD` in local time.
pub fn local_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DD HH:MM:SS` in local time.
pub fn local_datetime(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `t` as (weekday, time of day) in local time, as maintenance windows are written.
pub fn local_weekday_time(t: DateTime<Utc>) -> (Weekday, NaiveTime) {
    let l = t.with_timezone(&Local);
    (l.weekday(), l.time())
}

/// Whole seconds, rounded (starts and ends are sub-second times).
pub fn whole_seconds(d: Duration) -> u64 {
    d.as_secs_f64().round() as u64
}

/// A duration in whole seconds, rounded as the outage log rounds, in
/// humantime's words: `1h 2m 3s`.
pub fn spelled(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(whole_seconds(d))).to_string()
}

/// A duration in rounded whole seconds without spaces: `7m29s`.
pub fn compact(d: Duration) -> String {
    spelled(d).replace(' ', "")
}

/// A duration rounded down to its largest unit: `45s`, `4m`, `2h`, `3d`.
pub fn largest_unit(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Seconds as hours, minutes and seconds, spelled out for a report a person
/// reads: `3 h 12 min 5 s`.
pub fn hms(s: f64) -> String {
    let s = s.round() as u64;
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duration_form() {
        let d = Duration::from_millis(449_600);
        assert_eq!(whole_seconds(d), 450);
        assert_eq!(spelled(d), "7m 30s", "rounded, as the CSV rounds");
        assert_eq!(compact(d), "7m30s");
        assert_eq!(largest_unit(d), "7m");
        assert_eq!(largest_unit(Duration::from_secs(3 * 86_400 + 5)), "3d");
    }
}
