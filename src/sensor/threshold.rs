//! What the threshold sensors share: a percentage against its WARNING and
//! CRITICAL levels, with hysteresis; the rule that the one lies below the
//! other; the bound on one look; sizes as people write them.

use chrono::{DateTime, Utc};
use toml::Spanned;

use crate::alert::condition::ConditionState;
use crate::config::{Severity, Validator};

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
    /// The state `value` makes at `now`, with what it says in words.
    pub fn observe(
        &mut self,
        value: f64,
        (warn, critical): (u8, u8),
        now: DateTime<Utc>,
        detail: String,
    ) -> ConditionState {
        let active = match self.since {
            None => value >= f64::from(warn),
            Some(_) => value >= f64::from(warn) - HYSTERESIS_POINTS,
        };
        if !active {
            self.since = None;
            return ConditionState::Cleared { at: now, detail };
        }
        let level = if value >= f64::from(critical) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        ConditionState::Active {
            since: *self.since.get_or_insert(now),
            detail,
            level: Some(level),
        }
    }
}

/// The `warn_used_pct` and `critical_used_pct` of the section at `key`
/// (`defaults` when absent), the first below the second.
pub fn levels(
    v: &mut Validator<'_>,
    key: &str,
    (warn, critical): (Option<&Spanned<i64>>, Option<&Spanned<i64>>),
    defaults: (u8, u8),
) -> (u8, u8) {
    let w = v.pct(warn, &format!("{key}.warn_used_pct"), defaults.0);
    let c = v.pct(critical, &format!("{key}.critical_used_pct"), defaults.1);
    if w >= c {
        v.problem(
            warn.map(Spanned::span),
            &format!("{key}.warn_used_pct"),
            &w.to_string(),
            &format!("must be below {key}.critical_used_pct ({c})"),
        );
    }
    (w, c)
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

    fn active(s: &ConditionState) -> Option<Option<Severity>> {
        match s {
            ConditionState::Active { level, .. } => Some(*level),
            ConditionState::Cleared { .. } => None,
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
            .map(|(i, v)| active(&th.observe(*v, (85, 95), t(i as i64), String::new())))
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
