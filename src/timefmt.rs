//! How times and durations are written wherever a person reads them: logs,
//! CSV cells, messages, the status line and the report; and how a person
//! writes a point in time for `report --since` or `/api/outages?since=`.
//! One rule each, in one place.

use std::time::Duration;

use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    SecondsFormat, TimeZone, Utc, Weekday,
};

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

/// A step of the clock, signed, as the journal and a detail say it: `+2h`, `-1h 5s`.
pub fn signed(by: chrono::Duration) -> String {
    let sign = if by < chrono::Duration::zero() {
        '-'
    } else {
        '+'
    };
    format!("{sign}{}", spelled(by.abs().to_std().unwrap_or_default()))
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

/// Seconds as a person reads them in a report, the two largest units that
/// matter, rounded to the second: `42 s`, `12 min 5 s`, `1 h 30 min`, `2 d 3 h`.
pub fn human(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let two = |a: u64, ua: &str, b: u64, ub: &str| {
        if b == 0 {
            format!("{a} {ua}")
        } else {
            format!("{a} {ua} {b} {ub}")
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => two(m, "min", s, "s"),
        (0, _, _) => two(h, "h", m, "min"),
        _ => two(d, "d", h, "h"),
    }
}

/// The zone this machine keeps local time in, as the IANA database names it
/// (`Europe/Berlin`), if it can tell.
pub fn zone_name() -> Option<String> {
    iana_time_zone::get_timezone().ok()
}

/// Whether this machine's local time had offset `t.offset()` at `t`: then
/// [`zone_name`] is the zone `t` was written in.
pub fn is_local(t: DateTime<FixedOffset>) -> bool {
    Local.offset_from_utc_datetime(&t.naive_utc()).fix() == *t.offset()
}

/// A point in time as a person writes it: a date (local midnight), a local
/// date-time, RFC 3339, or a span back from `now` (`30d`, `12h`). Every
/// computation is checked: no input can overflow, whatever its size.
pub fn parse_when(s: &str, now: DateTime<Local>) -> Result<DateTime<FixedOffset>, String> {
    let local = |n: NaiveDateTime| {
        Local
            .from_local_datetime(&n)
            .earliest()
            .map(|t| t.fixed_offset())
            .ok_or_else(|| format!("{s:?} does not exist in local time"))
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local(d.and_time(NaiveTime::MIN));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return local(n);
        }
    }
    if let Ok(span) = humantime::parse_duration(s) {
        return chrono::Duration::from_std(span)
            .ok()
            .and_then(|span| now.checked_sub_signed(span))
            .map(|t| t.fixed_offset())
            .ok_or_else(|| format!("{s:?} reaches back before any date this program can write"));
    }
    Err(format!(
        "{s:?} is not a date (2026-11-01), a date-time (2026-11-01T18:00), RFC 3339, or a span (30d, 12h)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_takes_each_form_and_no_span_overflows() {
        let now = Local.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let day = parse_when("30d", now).unwrap();
        assert_eq!((now.fixed_offset() - day).num_days(), 30);
        assert_eq!(
            parse_when("2026-11-01T18:00:00+01:00", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T18:00:00+01:00"
        );
        assert!(parse_when("2026-11-01", now).is_ok());
        assert!(parse_when("2026-11-01 18:00", now).is_ok());
        for huge in ["300000y", "9999999999999y", "18446744073709551615s"] {
            let e = parse_when(huge, now).unwrap_err();
            assert!(e.contains(huge), "{e}");
        }
        assert!(parse_when("yesterday", now)
            .unwrap_err()
            .contains("is not a date"));
    }

    #[test]
    fn durations_for_people_name_two_units_at_most() {
        assert_eq!(human(0.4), "0 s");
        assert_eq!(human(42.0), "42 s");
        assert_eq!(human(600.0), "10 min");
        assert_eq!(human(725.2), "12 min 5 s");
        assert_eq!(human(5400.0), "1 h 30 min");
        assert_eq!(human(7259.0), "2 h");
        assert_eq!(human(104_400.0), "1 d 5 h");
        assert_eq!(human(2.0 * 86_400.0 + 59.0), "2 d");
    }

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
