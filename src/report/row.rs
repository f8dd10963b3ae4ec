//! A connection log row read the cheap way, and the same as serde and
//! chrono read it: its fields by position, each parsed as its type, and its
//! time worked out from the row before's when they share the day and
//! offset. Anything out of the ordinary (a field that does not read, a
//! short row, a time of another shape) is left to serde and chrono, so the
//! figures and the words for a bad row are theirs.

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, ParseResult, TimeDelta, Timelike,
};

use std::num::ParseFloatError;

use crate::sink::rows::Row;
use crate::sink::ConnectionRow;

/// The row, its fields in the writer's order, as csv's serde would read it
/// without headers; `None` if serde might not read it so (serde then says
/// why, naming the field).
pub fn by_position<'a>(row: &Row<'a>) -> Option<ConnectionRow<&'a str>> {
    let mut f = row.iter();
    // Fields in struct literals are evaluated in the order written, which
    // is the order of the columns. The first ten have no default: a row
    // without them is serde's to refuse.
    Some(ConnectionRow {
        timestamp: f.next()?,
        status: f.next()?,
        gateway_rtt_ms: float(f.next()?)?,
        isp_rtt_ms: float(f.next()?)?,
        targets_up: count(f.next()?)?,
        targets_total: count(f.next()?)?,
        dns_ok: flag(f.next()?)?,
        http_ok: flag(f.next()?)?,
        loss_pct: float(f.next()?)?,
        detail: f.next()?,
        internet_rtt_ms: f.next().map_or(Some(None), float)?,
        internet_rtt_max_ms: f.next().map_or(Some(None), float)?,
        targets_up_v4: f.next().map_or(Some(0), count)?,
        targets_total_v4: f.next().map_or(Some(0), count)?,
        targets_up_v6: f.next().map_or(Some(0), count)?,
        targets_total_v6: f.next().map_or(Some(0), count)?,
        internet_rtt_v4_ms: f.next().map_or(Some(None), float)?,
        internet_rtt_v6_ms: f.next().map_or(Some(None), float)?,
    })
}

/// An optional number: empty is none.
fn float(field: &str) -> Option<Option<f64>> {
    match field {
        "" => Some(None),
        _ => decimal(field).ok().map(Some),
    }
}

/// `field` as [`f64::from_str`] reads it. A plain decimal of at most 15
/// digits (every number the writer writes) is its digits, as an integer,
/// over a power of ten: both are exact in an f64, so the one division is
/// rounded correctly, which is the value the standard parser returns (this
/// is its own first fast path, without the general parsing before it).
/// Anything else is the standard parser's.
fn decimal(field: &str) -> Result<f64, ParseFloatError> {
    const TEN_TO: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let b = field.as_bytes();
    // Checked once here rather than at every digit: more than 16 bytes is
    // more than 15 digits.
    if b.len() > 16 {
        return field.parse();
    }
    let (mut value, mut point) = (0u64, None);
    for (i, &c) in b.iter().enumerate() {
        let digit = c.wrapping_sub(b'0');
        if digit < 10 {
            value = value * 10 + u64::from(digit);
        } else if c == b'.' && point.is_none() && i > 0 {
            point = Some(i);
        } else {
            return field.parse();
        }
    }
    let digits = b.len() - usize::from(point.is_some());
    let decimals = point.map_or(0, |at| b.len() - at - 1);
    match (digits, point, decimals) {
        (0, _, _) | (16.., _, _) | (_, Some(_), 0) => field.parse(),
        _ => Ok(value as f64 / TEN_TO[decimals]),
    }
}

/// A count; csv also reads `0x` as hexadecimal, which is left to it.
fn count(field: &str) -> Option<usize> {
    match field.starts_with("0x") {
        true => None,
        false => field.parse().ok(),
    }
}

/// An optional flag: empty is none.
fn flag(field: &str) -> Option<Option<bool>> {
    match field {
        "" => Some(None),
        "true" => Some(Some(true)),
        "false" => Some(Some(false)),
        _ => None,
    }
}

/// Reads RFC 3339 times as chrono does, remembering the last day read:
/// consecutive checks share their date and offset, and a time of the same
/// day is that day's midnight and its seconds.
#[derive(Default, Clone)]
pub struct Stamps {
    day: Option<Day>,
}

/// A time chrono read, in the writer's shape ([`writers_shape`]), and its day's
/// midnight (the time at 00:00:00) in UTC: a date, the day after, and the
/// seconds into the first.
#[derive(Clone)]
struct Day {
    seen: String,
    dates: [NaiveDate; 2],
    midnight_s: u32,
    offset: FixedOffset,
}

impl Stamps {
    /// `text` as [`DateTime::parse_from_rfc3339`] reads it.
    pub fn parse(&mut self, text: &str) -> ParseResult<DateTime<FixedOffset>> {
        let b = text.as_bytes();
        if let Some(day) = &self.day {
            let seen = day.seen.as_bytes();
            // Everything but the time of day is as in a time chrono read.
            if seen.len() == b.len() && seen[..11] == b[..11] && seen[19..] == b[19..] {
                if let Some(at) = time_of_day(b).and_then(|s| day.at(s)) {
                    return Ok(at);
                }
            }
        }
        let at = DateTime::parse_from_rfc3339(text)?;
        if let Some(s) = time_of_day(b).filter(|_| writers_shape(b)) {
            let midnight = (at - TimeDelta::seconds(s.into())).naive_utc();
            self.day = midnight.date().succ_opt().map(|next| Day {
                seen: text.to_owned(),
                dates: [midnight.date(), next],
                midnight_s: midnight.time().num_seconds_from_midnight(),
                offset: *at.offset(),
            });
        }
        Ok(at)
    }
}

impl Day {
    /// The time `s` seconds after this day's midnight.
    fn at(&self, s: u32) -> Option<DateTime<FixedOffset>> {
        let utc_s = self.midnight_s + s;
        let (date, utc_s) = match utc_s.checked_sub(86_400) {
            Some(next_day_s) => (self.dates[1], next_day_s),
            None => (self.dates[0], utc_s),
        };
        let time = NaiveTime::from_num_seconds_from_midnight_opt(utc_s, 0)?;
        let utc = NaiveDateTime::new(date, time);
        Some(DateTime::from_naive_utc_and_offset(utc, self.offset))
    }
}

/// Whether `b` is written `YYYY-MM-DDTHH:MM:SS` and then `Z` or `±HH:MM`,
/// as the writer writes times.
fn writers_shape(b: &[u8]) -> bool {
    let digits = |at: &[usize]| at.iter().all(|&i| b[i].is_ascii_digit());
    let offset = match b.len() {
        20 => b[19] == b'Z',
        25 => matches!(b[19], b'+' | b'-') && b[22] == b':' && digits(&[20, 21, 23, 24]),
        _ => false,
    };
    offset
        && (b[4], b[7], b[10], b[13], b[16]) == (b'-', b'-', b'T', b':', b':')
        && digits(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
}

/// The seconds into the day of the `HH:MM:SS` at bytes 11 to 18 of `b` (at
/// least 19 bytes); `None` if they are not a time of day, or are a leap
/// second (chrono's to handle).
fn time_of_day(b: &[u8]) -> Option<u32> {
    let two = |i: usize| {
        let (tens, ones) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (tens < 10 && ones < 10).then(|| u32::from(tens) * 10 + u32::from(ones))
    };
    if b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, s) = (two(11)?, two(14)?, two(17)?);
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
