//! The live summary behind systemd's `STATUS=` line and the watchdog.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::update::{CheckDone, DeliveryNote};
use super::Event;
use super::{Layer, Verdict};
use crate::probe::Rtt;
use crate::timefmt::{largest_unit, local_hms};

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
    /// Channels whose last delivery attempt failed, with why.
    pub failing_channels: std::collections::BTreeMap<&'static str, String>,
    /// How long one check may take (interval + timeout) under the running
    /// config; the watchdog judges staleness by it, so it follows reloads.
    pub check_span: Duration,
}

impl Status {
    /// Notes a delivery attempt: a failing channel is named in the line until it delivers.
    pub fn delivery(&mut self, note: &DeliveryNote) {
        match &note.error {
            Some(e) => {
                self.failing_channels.insert(note.channel, e.clone());
            }
            None => {
                self.failing_channels.remove(note.channel);
            }
        }
    }

    /// Notes a finished check: its figures, and the outage it opened, kept or closed.
    pub fn update(&mut self, c: &CheckDone) {
        let d = &c.diagnosis;
        self.checks += 1;
        self.last_check = Some(c.at);
        self.verdict = Some(d.verdict);
        self.gateway_rtt = d.gateway_rtt;
        self.targets = (d.targets_up, d.targets_total);
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
                self.last_outage = Some((o.end, o.cause, o.observed));
            }
        }
        self.outage = c.state.outage.as_ref().map(|o| (o.start, o.cause));
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
        let mut s = self.verdict_part(now);
        if !self.failing_channels.is_empty() {
            let names: Vec<&str> = self.failing_channels.keys().copied().collect();
            s.push_str(&format!(" · notify failing: {}", names.join(", ")));
        }
        s
    }

    fn verdict_part(&self, now: DateTime<Utc>) -> String {
        let ago = |t: DateTime<Utc>| largest_unit((now - t).to_std().unwrap_or_default());
        if let Some((start, cause)) = self.outage {
            let local = local_hms(start);
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
                largest_unit(length)
            ));
        }
        s
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

    #[test]
    fn a_failing_channel_is_named_until_it_delivers() {
        let mut st = Status::default();
        let note = |error: Option<&str>| DeliveryNote {
            channel: "telegram",
            id: "x".into(),
            error: error.map(Into::into),
        };
        st.delivery(&note(Some("HTTP 500")));
        let now = Utc::now();
        assert!(
            st.summary(now).ends_with(" · notify failing: telegram"),
            "{}",
            st.summary(now)
        );
        st.delivery(&note(None));
        assert!(!st.summary(now).contains("failing"));
    }
}
