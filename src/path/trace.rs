//! The trace itself: rounds of echo requests with TTL 1, 2, 3 … towards a
//! destination, each answer matched to its hop, MTR-style statistics per hop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::time::Instant;

use super::socket::TraceSocket;

/// How one trace runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceSpec {
    /// Where to.
    pub dest: IpAddr,
    /// Rounds of probes (one echo per hop per round).
    pub rounds: u32,
    /// The highest TTL tried.
    pub max_hops: u8,
    /// How long a round waits for its answers.
    pub timeout: Duration,
    /// The least time between the starts of two rounds: routers rate-limit
    /// their Time Exceeded messages (Linux: about one a second after a burst).
    pub interval: Duration,
}

/// One hop's figures over all rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// Its distance (TTL).
    pub ttl: u8,
    /// Every address that answered at this distance, in the order first seen.
    pub addrs: Vec<IpAddr>,
    /// Echo requests sent at this distance.
    pub sent: u32,
    /// Answers received.
    pub received: u32,
    /// Loss, percent.
    pub loss_pct: f64,
    /// Last, mean, best and worst round-trip time, ms; `None` without answers.
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
    fn new(ttl: u8) -> Hop {
        Hop {
            ttl,
            addrs: Vec::new(),
            sent: 0,
            received: 0,
            loss_pct: 0.0,
            last_ms: None,
            avg_ms: None,
            best_ms: None,
            worst_ms: None,
            stdev_ms: None,
            rtts: Vec::new(),
        }
    }

    fn answer(&mut self, from: IpAddr, rtt: Duration) {
        if !self.addrs.contains(&from) {
            self.addrs.push(from);
        }
        self.received += 1;
        self.rtts.push(rtt.as_secs_f64() * 1000.0);
    }

    fn finish(&mut self) {
        self.loss_pct = if self.sent == 0 {
            0.0
        } else {
            f64::from(self.sent - self.received.min(self.sent)) * 100.0 / f64::from(self.sent)
        };
        let n = self.rtts.len() as f64;
        self.last_ms = self.rtts.last().copied();
        self.best_ms = self.rtts.iter().copied().reduce(f64::min);
        self.worst_ms = self.rtts.iter().copied().reduce(f64::max);
        self.avg_ms = (n > 0.0).then(|| self.rtts.iter().sum::<f64>() / n);
        self.stdev_ms = self
            .avg_ms
            .map(|avg| (self.rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n).sqrt());
    }

    /// Whether anything answered at this distance.
    pub fn answered(&self) -> bool {
        self.received > 0
    }
}

/// A finished trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Path {
    /// The destination.
    pub dest: IpAddr,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Rounds run.
    pub rounds: u32,
    /// Whether the destination answered.
    pub reached: bool,
    /// Hop by hop, from 1.
    pub hops: Vec<Hop>,
}

/// Consecutive silent hops after the last answer that are still shown.
const SILENT_SHOWN: u8 = 5;

/// Runs `spec`; `round_done` sees the path so far after every round. An error
/// is the monitor's own fault (no socket), never a silent path.
pub async fn trace(spec: TraceSpec, mut round_done: impl FnMut(&Path)) -> std::io::Result<Path> {
    let sock = TraceSocket::open(spec.dest)?;
    let at = Utc::now();
    let mut hops: Vec<Hop> = (1..=spec.max_hops).map(Hop::new).collect();
    let mut dest_ttl: Option<u8> = None;
    let mut seq = fastrand::u16(..);
    for round in 0..spec.rounds {
        let top = dest_ttl.unwrap_or(spec.max_hops);
        let start = Instant::now();
        let mut waiting: HashMap<u16, (u8, Instant)> = HashMap::new();
        for ttl in 1..=top {
            seq = seq.wrapping_add(1);
            sock.send(seq, ttl)?;
            waiting.insert(seq, (ttl, Instant::now()));
            hops[usize::from(ttl - 1)].sent += 1;
        }
        let deadline = start + spec.timeout;
        let next_round = start + spec.interval.max(Duration::from_millis(1));
        loop {
            let until = if waiting.is_empty() {
                next_round
            } else {
                deadline
            };
            tokio::select! {
                answers = sock.next() => {
                    for a in answers? {
                        let Some((ttl, sent_at)) = waiting.remove(&a.seq) else { continue };
                        hops[usize::from(ttl - 1)].answer(a.from, a.at - sent_at);
                        if a.reached {
                            dest_ttl = Some(dest_ttl.map_or(ttl, |d| d.min(ttl)));
                        }
                    }
                }
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        round_done(&summary(&hops, dest_ttl, spec.dest, at, round + 1));
    }
    Ok(summary(&hops, dest_ttl, spec.dest, at, spec.rounds))
}

/// The path as far as it is known: up to the destination, or up to a few
/// silent hops past the last answer.
fn summary(
    hops: &[Hop],
    dest_ttl: Option<u8>,
    dest: IpAddr,
    at: DateTime<Utc>,
    rounds: u32,
) -> Path {
    let last = match dest_ttl {
        Some(d) => d,
        None => {
            let answered = hops.iter().rposition(Hop::answered).map_or(0, |i| i + 1);
            (answered as u8)
                .saturating_add(SILENT_SHOWN)
                .min(hops.len() as u8)
        }
    };
    let mut shown: Vec<Hop> = hops[..usize::from(last)].to_vec();
    for h in &mut shown {
        h.finish();
    }
    Path {
        dest,
        at,
        rounds,
        reached: dest_ttl.is_some(),
        hops: shown,
    }
}

impl Path {
    /// The route as the addresses answering at each distance (`None`: silent).
    pub fn route(&self) -> Vec<Option<IpAddr>> {
        self.hops.iter().map(|h| h.addrs.first().copied()).collect()
    }

    /// Whether `other` is another route: a different length, or a different
    /// address where both answered (a silent hop says nothing either way).
    pub fn differs_from(&self, other: &[Option<IpAddr>]) -> bool {
        let mine = self.route();
        mine.len() != other.len()
            || mine
                .iter()
                .zip(other)
                .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b))
    }

    /// Where it broke, in words a person can read to their ISP, e.g.
    /// `path to one: last answer hop 3 100.64.2.2, silent from hop 4`.
    pub fn where_broke(&self, name: &str) -> String {
        if self.reached {
            return format!("path to {name}: reached in {} hops", self.hops.len());
        }
        match self.hops.iter().rposition(Hop::answered) {
            Some(i) => {
                let h = &self.hops[i];
                let addr = h.addrs.first().map(ToString::to_string).unwrap_or_default();
                format!(
                    "path to {name}: last answer hop {} {addr}, silent from hop {}",
                    h.ttl,
                    h.ttl + 1
                )
            }
            None => format!("path to {name}: no hop answers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(route: &[Option<&str>], reached: bool) -> Path {
        Path {
            dest: "198.51.100.1".parse().unwrap(),
            at: Utc::now(),
            rounds: 1,
            reached,
            hops: route
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let mut h = Hop::new(i as u8 + 1);
                    h.sent = 1;
                    if let Some(a) = a {
                        h.answer(a.parse().unwrap(), Duration::from_millis(2));
                    }
                    h.finish();
                    h
                })
                .collect(),
        }
    }

    #[test]
    fn where_it_broke_names_the_last_answer_and_the_first_silence() {
        let p = path(
            &[
                Some("10.1.1.1"),
                Some("100.64.1.2"),
                Some("100.64.2.2"),
                None,
                None,
            ],
            false,
        );
        assert_eq!(
            p.where_broke("one"),
            "path to one: last answer hop 3 100.64.2.2, silent from hop 4"
        );
        assert_eq!(
            path(&[None, None], false).where_broke("x"),
            "path to x: no hop answers"
        );
        assert_eq!(
            path(&[Some("10.1.1.1"), Some("198.51.100.1")], true).where_broke("x"),
            "path to x: reached in 2 hops"
        );
    }

    #[test]
    fn a_silent_hop_is_no_route_change_but_another_router_is() {
        let a = path(
            &[Some("10.1.1.1"), Some("100.64.1.2"), Some("203.0.113.2")],
            true,
        );
        let silent = path(&[Some("10.1.1.1"), None, Some("203.0.113.2")], true);
        let other = path(
            &[Some("10.1.1.1"), Some("100.64.1.2"), Some("203.0.113.9")],
            true,
        );
        let longer = path(
            &[
                Some("10.1.1.1"),
                Some("100.64.1.2"),
                Some("203.0.113.2"),
                None,
            ],
            true,
        );
        assert!(!silent.differs_from(&a.route()));
        assert!(other.differs_from(&a.route()));
        assert!(longer.differs_from(&a.route()));
    }

    #[test]
    fn hop_statistics_are_mtr_s() {
        let mut h = Hop::new(1);
        h.sent = 4;
        for ms in [1, 2, 3] {
            h.answer("10.1.1.1".parse().unwrap(), Duration::from_millis(ms));
        }
        h.finish();
        assert_eq!(h.loss_pct, 25.0);
        assert_eq!(
            (h.last_ms, h.best_ms, h.worst_ms),
            (Some(3.0), Some(1.0), Some(3.0))
        );
        assert_eq!(h.avg_ms, Some(2.0));
        assert!((h.stdev_ms.unwrap() - (2.0f64 / 3.0).sqrt()).abs() < 1e-9);
    }
}
