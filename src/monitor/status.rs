//! The live summary behind systemd's `STATUS=` line and the watchdog.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::diagnose::{Diagnosis, Layer, Verdict};
use crate::probe::Rtt;

/// What the daemon knows right now; updated after every check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Checks completed since start.
    pub checks: u64,
    /// The last check's time.
    pub last_check: Option<DateTime<Utc>>,
    /// The last check's verdict.
    pub verdict: Option<Verdict>,
    /// The last gateway RTT.
    pub gateway_rtt: Option<Rtt>,
    /// Targets up / total at the last check.
    pub targets: (usize, usize),
    /// The open outage: start and cause.
    pub outage: Option<(DateTime<Utc>, Layer)>,
    /// The last finished outage: end, cause, observed duration.
    pub last_outage: Option<(DateTime<Utc>, Layer, Duration)>,
    /// Why the last reload failed; shown until a reload succeeds.
    pub reload_error: Option<String>,
    /// How long one check may take (interval + timeout) under the running
    /// config; the watchdog judges staleness by it, so it follows reloads.
    pub check_span: Duration,
}

impl Status {
    /// Notes a check's diagnosis.
    pub fn update(&mut self, at: DateTime<Utc>, d: &Diagnosis) {
        self.checks += 1;
        self.last_check = Some(at);
        self.verdict = Some(d.verdict);
        self.gateway_rtt = d.gateway_rtt;
        self.targets = (d.targets_up, d.targets_total);
    }

    /// With no check completed for this long the pipeline is stalled: two
    /// checks' worth (interval + timeout each) plus a second of slack.
    pub fn stale_after(&self) -> Duration {
        self.check_span * 2 + Duration::from_secs(1)
    }

    /// One line, e.g. `OK · gw 0.6 ms · 3/3 targets · last outage 2h ago (WAN_DOWN, 4m)`.
    pub fn summary(&self, now: DateTime<Utc>) -> String {
        match &self.reload_error {
            Some(e) => format!("reload failed: {e} | {}", self.health(now)),
            None => self.health(now),
        }
    }

    fn health(&self, now: DateTime<Utc>) -> String {
        let ago = |t: DateTime<Utc>| short((now - t).to_std().unwrap_or_default());
        if let Some((start, cause)) = self.outage {
            let local = start.with_timezone(&chrono::Local).format("%H:%M:%S");
            return format!("{cause} since {local} ({})", ago(start));
        }
        let Some(verdict) = self.verdict else {
            return "starting: first check running".into();
        };
        let mut s = verdict.to_string();
        if let Some(rtt) = self.gateway_rtt {
            s.push_str(&format!(" · gw {rtt}"));
        }
        s.push_str(&format!(" · {}/{} targets", self.targets.0, self.targets.1));
        if let Some((end, cause, length)) = self.last_outage {
            s.push_str(&format!(
                " · last outage {} ago ({cause}, {})",
                ago(end),
                short(length)
            ));
        }
        s
    }
}

/// A duration rounded to its largest unit: `45s`, `4m`, `2h`, `3d`.
fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_follows_the_running_check_span() {
        // Regression: the watchdog kept the start-up span, so a reload to a
        // longer interval made it withhold pings and systemd restarted the daemon.
        let mut st = Status {
            check_span: Duration::from_secs(15),
            ..Status::default()
        };
        assert_eq!(st.stale_after(), Duration::from_secs(31));
        st.check_span = Duration::from_secs(65);
        assert_eq!(st.stale_after(), Duration::from_secs(131));
    }
}
