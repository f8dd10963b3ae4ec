//! ICMP echo probes (`icmp`), and what a probe's echoes add up to, as
//! ping(8) says it. The echoes themselves go out through the engine
//! (`echo.rs`), which the scheduler gives every ICMP probe at once.

use std::time::Duration;

use super::kinds::{HostKind, Kind};
use super::{echo, Failure, Host, IcmpStats, Outcome, ProbeResult, Prober, Rtt};

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
pub fn summarise(sent: u32, rtts: &Rtts, failure: Failure) -> ProbeResult {
    let stats = rtts.stats(sent);
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

/// One round's RTTs as running sums, which is all ping(8)'s figures need:
/// a round keeps no list of them, and adding one allocates nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rtts {
    received: u32,
    /// Seconds: the least, the most, the sum and the sum of squares.
    min: f64,
    max: f64,
    sum: f64,
    squares: f64,
}

impl Rtts {
    /// One more echo came back after `rtt`.
    pub fn add(&mut self, rtt: Duration) {
        let s = rtt.as_secs_f64();
        self.min = if self.received == 0 {
            s
        } else {
            self.min.min(s)
        };
        self.max = self.max.max(s);
        self.sum += s;
        self.squares += s * s;
        self.received += 1;
    }

    /// min/avg/max/mdev as ping(8) computes them, of `sent` echoes.
    pub fn stats(&self, sent: u32) -> IcmpStats {
        let received = self.received;
        if received == 0 {
            return IcmpStats {
                sent,
                received,
                min: None,
                avg: None,
                max: None,
                mdev: None,
            };
        }
        let n = f64::from(received);
        let avg = self.sum / n;
        let mdev = (self.squares / n - avg * avg).max(0.0).sqrt();
        let rtt = |s: f64| Some(Rtt(Duration::from_secs_f64(s)));
        IcmpStats {
            sent,
            received,
            min: rtt(self.min),
            avg: rtt(avg),
            max: rtt(self.max),
            mdev: rtt(mdev),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_ping_formulas() {
        let ms = |m: u64| Duration::from_millis(m);
        let mut rtts = Rtts::default();
        [ms(20), ms(10), ms(30)]
            .into_iter()
            .for_each(|d| rtts.add(d));
        let s = rtts.stats(4);
        assert_eq!((s.sent, s.received), (4, 3));
        assert_eq!(s.min.unwrap().0, ms(10));
        assert_eq!(s.max.unwrap().0, ms(30));
        assert!((s.avg.unwrap().as_ms() - 20.0).abs() < 1e-9);
        // sqrt(mean(x^2) - mean(x)^2) = sqrt(466.67 - 400) = 8.165 ms
        assert!((s.mdev.unwrap().as_ms() - 8.164_965).abs() < 1e-3);
    }

    #[test]
    fn no_replies_means_no_rtt() {
        let s = Rtts::default().stats(3);
        assert_eq!(s.received, 0);
        assert!(s.avg.is_none());
    }
}
