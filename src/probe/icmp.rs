//! ICMP echo probes (`icmp`), and what a probe's echoes add up to, as
//! ping(8) says it. The echoes themselves go out through the engine
//! (`echo.rs`), which the scheduler gives every ICMP probe at once.

use std::time::Duration;

use super::kinds::{HostKind, Kind};
use super::{echo, Failure, Host, IcmpStats, Outcome, ProbeResult, Prober, Rtt};
use crate::config::Family;

/// ICMP echo, `count` requests per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echo {
    /// Where to.
    pub host: Host,
    /// Echo requests per attempt.
    pub count: u32,
}

impl Kind for Echo {
    fn name(&self) -> String {
        "icmp".into()
    }

    fn host(&self) -> Option<Host> {
        Some(self.host)
    }

    fn family(&self) -> Option<Family> {
        Some(self.host.family())
    }

    fn global_ipv6(&self) -> bool {
        self.host.global_ipv6()
    }

    /// One round through an engine of its own (the scheduler runs every
    /// ICMP probe through one shared engine instead).
    async fn attempt(&self, _: &Prober, timeout: Duration) -> ProbeResult {
        let mut one = echo::one_round(&[(self.host, self.count)], timeout).await;
        one.pop()
            .unwrap_or_else(|| ProbeResult::new(Outcome::Down(Failure::Timeout)))
    }
}

impl HostKind for Echo {
    const FORM: &'static str = "\"icmp\"";
    const EXAMPLE: &'static str = "icmp";

    fn from_word(word: &str, host: Host, pings: u32) -> Option<Echo> {
        (word == "icmp").then_some(Echo { host, count: pings })
    }
}

/// The result of `sent` echoes of which `rtts` came back; `failure` says why
/// when none did.
pub fn summarise(sent: u32, rtts: &[Duration], failure: Failure) -> ProbeResult {
    let stats = stats(sent, rtts);
    let outcome = match stats.avg {
        Some(rtt) => Outcome::Up { rtt },
        None => Outcome::Down(failure),
    };
    ProbeResult {
        outcome,
        icmp: Some(stats),
        addr: None,
    }
}

/// min/avg/max/mdev as ping(8) computes them.
pub fn stats(sent: u32, rtts: &[Duration]) -> IcmpStats {
    let received = rtts.len() as u32;
    if rtts.is_empty() {
        return IcmpStats {
            sent,
            received,
            min: None,
            avg: None,
            max: None,
            mdev: None,
        };
    }
    let secs: Vec<f64> = rtts.iter().map(Duration::as_secs_f64).collect();
    let n = secs.len() as f64;
    let avg = secs.iter().sum::<f64>() / n;
    let sq = secs.iter().map(|s| s * s).sum::<f64>() / n;
    let mdev = (sq - avg * avg).max(0.0).sqrt();
    let rtt = |s: f64| Some(Rtt(Duration::from_secs_f64(s)));
    IcmpStats {
        sent,
        received,
        min: rtt(secs.iter().copied().fold(f64::INFINITY, f64::min)),
        avg: rtt(avg),
        max: rtt(secs.iter().copied().fold(0.0, f64::max)),
        mdev: rtt(mdev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_ping_formulas() {
        let ms = |m: u64| Duration::from_millis(m);
        let s = stats(4, &[ms(10), ms(20), ms(30)]);
        assert_eq!((s.sent, s.received), (4, 3));
        assert_eq!(s.min.unwrap().0, ms(10));
        assert_eq!(s.max.unwrap().0, ms(30));
        assert!((s.avg.unwrap().as_ms() - 20.0).abs() < 1e-9);
        // sqrt(mean(x^2) - mean(x)^2) = sqrt(466.67 - 400) = 8.165 ms
        assert!((s.mdev.unwrap().as_ms() - 8.164_965).abs() < 1e-3);
    }

    #[test]
    fn no_replies_means_no_rtt() {
        let s = stats(3, &[]);
        assert_eq!(s.received, 0);
        assert!(s.avg.is_none());
    }
}
