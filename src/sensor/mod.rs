//! Host sensors: the box itself, beside its line. Each sensor is an observer
//! of the one alert-condition driver (same policy, windows, channels, outbox):
//! it says what it measures, the driver decides what to send.
//!
//! - `disk`: used space and inodes per filesystem (statvfs, /proc/self/mountinfo);
//! - `memory`: used memory from MemAvailable, with swap;
//! - `ssh`: bursts of failed SSH logins, from the journal or a log file.
//!
//! Every blocking call (statvfs, a file read, a state write) runs off the
//! runtime thread, bounded in time: a hung filesystem or a log flood never
//! delays a check.
//!
//! A new sensor is one more module here sending [`Observation`]s, and its
//! config section and policy in `daemon/alerts.rs`.

pub mod disk;
pub mod memory;
pub mod ssh;
pub mod ssh_source;
pub mod statfs;

use chrono::{DateTime, Utc};

use crate::alert::condition::Seen;
use crate::alert::Observation;
use crate::config::Severity;

/// How long one look of a sensor (statvfs, a read) may take before it is
/// reported as hung; checks never wait on it.
pub const LOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A value must fall this many points below the warning threshold before the
/// condition recovers, so one hovering at the threshold does not flap.
pub const HYSTERESIS_POINTS: f64 = 3.0;

/// A percentage against its thresholds, with hysteresis: active from `warn`,
/// critical from `critical`, and cleared only below `warn − 3`.
#[derive(Debug, Default)]
pub struct Threshold {
    since: Option<DateTime<Utc>>,
}

impl Threshold {
    /// The observation for `value` at `now`, given what it says in words.
    pub fn observe(
        &mut self,
        id: &str,
        label: &str,
        value: f64,
        (warn, critical): (u8, u8),
        now: DateTime<Utc>,
        detail: String,
    ) -> Observation {
        let active = match self.since {
            None => value >= f64::from(warn),
            Some(_) => value >= f64::from(warn) - HYSTERESIS_POINTS,
        };
        let state = if active {
            let since = *self.since.get_or_insert(now);
            let level = if value >= f64::from(critical) {
                Severity::Critical
            } else {
                Severity::Warning
            };
            Seen::Active {
                since,
                detail,
                level: Some(level),
            }
        } else {
            self.since = None;
            Seen::Cleared { at: now, detail }
        };
        Observation {
            id: id.to_owned(),
            label: label.to_owned(),
            now,
            state,
        }
    }
}

/// Bytes as a person reads them: `8.2 GiB`.
pub fn bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn active(o: &Observation) -> Option<Option<Severity>> {
        match o.state {
            Seen::Active { level, .. } => Some(level),
            Seen::Cleared { .. } => None,
        }
    }

    #[test]
    fn a_value_hovering_at_the_threshold_does_not_flap() {
        let mut th = Threshold::default();
        let seq = [
            84.0, 85.0, 84.5, 83.0, 84.9, 85.1, 96.0, 90.0, 82.5, 81.9, 85.0,
        ];
        let states: Vec<_> = seq
            .iter()
            .enumerate()
            .map(|(i, v)| {
                active(&th.observe(
                    "disk:/",
                    "DISK_FULL:/",
                    *v,
                    (85, 95),
                    t(i as i64),
                    String::new(),
                ))
            })
            .collect();
        use Severity::*;
        assert_eq!(
            states,
            [
                None,
                Some(Some(Warning)),
                Some(Some(Warning)),
                Some(Some(Warning)),
                Some(Some(Warning)),
                Some(Some(Warning)),
                Some(Some(Critical)),
                Some(Some(Warning)),
                Some(Some(Warning)),
                None,
                Some(Some(Warning)),
            ],
            "active from 85, cleared only below 82"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(8_804_682_956), "8.2 GiB");
    }
}
