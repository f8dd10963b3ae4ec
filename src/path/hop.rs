//! One hop of a trace: who answered at that distance, how often, how fast,
//! and how its silence is read.
//!
//! Routers limit the ICMP errors they send (Linux: a burst of 6 per
//! destination, then one a second), so a router that leaves a probe
//! unanswered has not necessarily lost it. As mtr's authors advise, loss
//! counts only where the later hops share it: a hop's loss is the least of
//! its own, that of the echo requests sent to its own address, and that of
//! every later hop. What it left unanswered beyond that is its rate limit.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::probe::socket::Unreachable;

/// One hop's figures over all rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// Its distance (TTL).
    pub ttl: u8,
    /// Every address that answered at this distance, in the order first seen.
    pub addrs: Vec<IpAddr>,
    /// The trace's echo requests sent with this TTL.
    pub sent: u32,
    /// Answers to them: Time Exceeded, Unreachable, or the destination's reply.
    pub received: u32,
    /// Loss the later hops share (see the module's doc), percent.
    pub loss_pct: f64,
    /// Probes it left unanswered that were not lost: its ICMP rate limit.
    #[serde(default)]
    pub rate_limited: u32,
    /// Echo requests sent to its own address with this TTL, in rounds it left
    /// the trace's probe unanswered (echo replies are not rate-limited).
    #[serde(default)]
    pub echo_sent: u32,
    /// Echo replies to them.
    #[serde(default)]
    pub echo_received: u32,
    /// The Destination Unreachable mark (`!N`, `!H`, …) of a router where the path ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// Last, mean, best and worst round-trip time of every answer, ms; `None` without answers.
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub best_ms: Option<f64>,
    pub worst_ms: Option<f64>,
    /// Standard deviation of the round-trip times, ms.
    pub stdev_ms: Option<f64>,
    #[serde(skip)]
    rtts: Vec<f64>,
}

impl Hop {
    /// A hop nothing has been sent to yet.
    pub fn new(ttl: u8) -> Hop {
        Hop {
            ttl,
            addrs: Vec::new(),
            sent: 0,
            received: 0,
            loss_pct: 0.0,
            rate_limited: 0,
            echo_sent: 0,
            echo_received: 0,
            unreachable: None,
            last_ms: None,
            avg_ms: None,
            best_ms: None,
            worst_ms: None,
            stdev_ms: None,
            rtts: Vec::new(),
        }
    }

    /// An answer to the trace's probe, after `rtt`.
    pub fn answer(&mut self, from: IpAddr, rtt: Duration) {
        self.seen(from, rtt);
        self.received += 1;
    }

    /// An echo reply from this hop's own address, after `rtt`.
    pub fn echo_answer(&mut self, from: IpAddr, rtt: Duration) {
        self.seen(from, rtt);
        self.echo_received += 1;
    }

    fn seen(&mut self, from: IpAddr, rtt: Duration) {
        if !self.addrs.contains(&from) {
            self.addrs.push(from);
        }
        self.rtts.push(rtt.as_secs_f64() * 1000.0);
    }

    /// Whether anything answered at this distance.
    pub fn answered(&self) -> bool {
        self.received > 0 || self.echo_received > 0
    }

    /// The share of its own evidence that went unanswered: the trace's probes
    /// and, where sent, the echoes to its address (whichever lost less).
    pub fn own_loss(&self) -> f64 {
        let share = |sent: u32, got: u32| {
            if sent == 0 {
                1.0
            } else {
                f64::from(sent - got.min(sent)) / f64::from(sent)
            }
        };
        let probes = share(self.sent, self.received);
        if self.echo_sent == 0 {
            probes
        } else {
            probes.min(share(self.echo_sent, self.echo_received))
        }
    }

    /// Fills in the figures; `shared` is the loss (0–1) the later hops share,
    /// `None` for the last hop shown.
    pub fn finish(&mut self, shared: Option<f64>) {
        let loss = shared.map_or(self.own_loss(), |s| s.min(self.own_loss()));
        self.loss_pct = (loss * 1000.0).round() / 10.0;
        let lost = (loss * f64::from(self.sent)).round() as u32;
        self.rate_limited = (self.sent - self.received.min(self.sent)).saturating_sub(lost);
        let n = self.rtts.len() as f64;
        self.last_ms = self.rtts.last().copied();
        self.best_ms = self.rtts.iter().copied().reduce(f64::min);
        self.worst_ms = self.rtts.iter().copied().reduce(f64::max);
        self.avg_ms = (n > 0.0).then(|| self.rtts.iter().sum::<f64>() / n);
        self.stdev_ms = self
            .avg_ms
            .map(|avg| (self.rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n).sqrt());
    }
}

/// Reads every hop's loss as the least loss of it and all later hops, last hop first.
pub fn finish_all(hops: &mut [Hop]) {
    let mut shared: Option<f64> = None;
    for h in hops.iter_mut().rev() {
        h.finish(shared);
        let mine = shared.map_or(h.own_loss(), |s| s.min(h.own_loss()));
        shared = Some(mine);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(ttl: u8, sent: u32, received: u32) -> Hop {
        let mut h = Hop::new(ttl);
        h.sent = sent;
        for _ in 0..received {
            h.answer("10.1.1.1".parse().unwrap(), Duration::from_millis(1));
        }
        h
    }

    #[test]
    fn hop_statistics_are_mtr_s() {
        let mut h = Hop::new(1);
        h.sent = 4;
        for ms in [1, 2, 3] {
            h.answer("10.1.1.1".parse().unwrap(), Duration::from_millis(ms));
        }
        h.finish(None);
        assert_eq!(h.loss_pct, 25.0);
        assert_eq!(
            (h.last_ms, h.best_ms, h.worst_ms),
            (Some(3.0), Some(1.0), Some(3.0))
        );
        assert_eq!(h.avg_ms, Some(2.0));
        assert!((h.stdev_ms.unwrap() - (2.0f64 / 3.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn loss_later_hops_do_not_share_is_the_router_s_rate_limit() {
        // Hops 1 and 2 answered 3 and 2 of 10; hop 3 lost 2 of 10, and the
        // destination (not rate-limited) the same.
        let mut hops = vec![hop(1, 10, 3), hop(2, 10, 2), hop(3, 10, 8), hop(4, 10, 8)];
        finish_all(&mut hops);
        let loss: Vec<f64> = hops.iter().map(|h| h.loss_pct).collect();
        let limited: Vec<u32> = hops.iter().map(|h| h.rate_limited).collect();
        assert_eq!(loss, [20.0, 20.0, 20.0, 20.0]);
        assert_eq!(limited, [5, 6, 0, 0]);
        // Loss that starts at hop 3 is not pushed back onto hops 1 and 2.
        let mut hops = vec![hop(1, 10, 10), hop(2, 10, 10), hop(3, 10, 8), hop(4, 10, 8)];
        finish_all(&mut hops);
        let loss: Vec<f64> = hops.iter().map(|h| h.loss_pct).collect();
        assert_eq!(loss, [0.0, 0.0, 20.0, 20.0]);
    }

    #[test]
    fn echoes_a_silent_last_router_answered_show_its_silence_was_its_limit() {
        let mut last = Hop::new(2);
        last.sent = 10;
        last.answer("10.0.2.2".parse().unwrap(), Duration::from_millis(1));
        last.echo_sent = 9;
        for _ in 0..9 {
            last.echo_answer("10.0.2.2".parse().unwrap(), Duration::from_millis(1));
        }
        let mut hops = vec![hop(1, 10, 10), last, hop(3, 10, 0)];
        finish_all(&mut hops);
        assert_eq!(hops[1].loss_pct, 0.0);
        assert_eq!(hops[1].rate_limited, 9);
        assert_eq!(hops[2].loss_pct, 100.0, "the silence after it is no answer");
        assert_eq!(hops[0].loss_pct, 0.0);
    }

    #[test]
    fn unreachable_codes_read_as_traceroute_marks_them() {
        assert_eq!(Unreachable::v4(0).mark, "!N");
        assert_eq!(Unreachable::v4(1).mark, "!H");
        assert_eq!(Unreachable::v4(13).mark, "!A");
        assert_eq!(Unreachable::v6(0).mark, "!N");
        assert_eq!(Unreachable::v6(3).mark, "!H");
        assert_eq!(Unreachable::words_of("!N"), "network unreachable");
    }
}
