//! The trace itself: rounds of echo requests with TTL 1, 2, 3 … towards a
//! destination, each answer matched to its hop, MTR-style statistics per hop.
//!
//! Routers limit how many ICMP errors they send each host (Linux: a burst of
//! 6, then one a second), and the monitor's own probes spend that allowance
//! during an outage. So a trace is careful with it:
//! - rounds of every trace sharing a [`Pacer`] start at least its interval
//!   apart, so each router sees at most one probe of ours a second;
//! - within a round, TTLs go out in order, a few milliseconds apart while the
//!   end of the path is not known, and none beyond it once it is: the router
//!   that says unreachable is asked once per round, not once per TTL;
//! - a hop left silent in a round is asked again directly: an echo request to
//!   its own address (or to a router known to answer: the route last seen
//!   while the path worked, the gateway, the ISP hops) with that same TTL. A
//!   router at that distance receives it and answers with an echo reply,
//!   which is not rate-limited. Such answers are counted apart (`echo_sent`,
//!   `echo_received`).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::progress::{Kind, Progress};
use super::reading::Path;
use crate::probe::socket::IcmpSocket;

/// How one trace runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSpec {
    /// Where to.
    pub dest: IpAddr,
    /// Rounds of probes (one echo per hop per round).
    pub rounds: u32,
    /// The highest TTL tried.
    pub max_hops: u8,
    /// How long an answer may take.
    pub timeout: Duration,
    /// Routers known before the trace starts.
    pub hints: Hints,
}

/// Routers the trace may ask directly when their hop is silent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// The route last seen while the path worked: the address at each TTL from 1.
    pub route: Vec<Option<IpAddr>>,
    /// Routers known to answer (the gateway, the ISP hops), distance unknown.
    pub routers: Vec<IpAddr>,
}

/// Spaces the rounds of the traces that share it.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// The earliest start of the next round. Shared by the clones handed to
    /// successive traces (each in its own task), so that the spacing holds
    /// across traces, not only within one; held only to read and advance it.
    next: Arc<Mutex<Instant>>,
    interval: Duration,
}

impl Pacer {
    /// Rounds at least `interval` apart.
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            next: Arc::new(Mutex::new(Instant::now())),
            interval: interval.max(Duration::from_millis(1)),
        }
    }

    /// Waits for the next round's turn.
    async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The gap between two TTLs of a round while the end of the path is unknown.
const PROBE_GAP: Duration = Duration::from_millis(5);

/// Runs `spec` at `pacer`'s pace; `round_done` sees the path so far after
/// every round. Once `stop` is cancelled the trace ends after the round in
/// progress (it always runs one). An error is the monitor's own fault (no
/// socket), never a silent path.
pub async fn trace(
    spec: TraceSpec,
    pacer: &Pacer,
    stop: &CancellationToken,
    mut round_done: impl FnMut(&Path),
) -> std::io::Result<Path> {
    let at = Utc::now();
    let wait = spec.timeout.min(pacer.interval / 2);
    let mut t = Tracer::new(spec)?;
    let mut rounds = 0;
    while rounds < t.spec.rounds {
        if rounds == 0 {
            pacer.turn().await;
        } else {
            tokio::select! {
                () = pacer.turn() => {}
                () = stop.cancelled() => break,
            }
        }
        rounds += 1;
        t.send_round().await?;
        t.pump(Instant::now() + wait, true).await?;
        if t.send_echoes()? > 0 {
            t.pump(Instant::now() + wait, true).await?;
        }
        t.p.settle_placements();
        round_done(&t.p.summary(at, rounds));
    }
    Ok(t.p.summary(at, rounds))
}

/// A trace in progress: its socket and its bookkeeping.
struct Tracer {
    sock: IcmpSocket,
    spec: TraceSpec,
    p: Progress,
    seq: u16,
}

impl Tracer {
    fn new(spec: TraceSpec) -> std::io::Result<Tracer> {
        Ok(Tracer {
            sock: IcmpSocket::open(spec.dest.is_ipv6())?,
            p: Progress::new(&spec),
            spec,
            seq: fastrand::u16(..),
        })
    }

    /// Sends one round's probes, lowest TTL first, none beyond the end once it is known.
    async fn send_round(&mut self) -> std::io::Result<()> {
        self.p.begin_round(Instant::now());
        let mut ttl = 1;
        while ttl <= self.p.top() {
            self.send(self.spec.dest, ttl, Kind::Trace)?;
            if self.p.end().is_none() {
                self.pump(Instant::now() + PROBE_GAP, false).await?;
            }
            ttl += 1;
        }
        Ok(())
    }

    /// Asks the hops left silent this round directly; returns how many echoes went out.
    fn send_echoes(&mut self) -> std::io::Result<usize> {
        let asked = self.p.begin_echoes();
        for &(to, ttl, kind) in &asked {
            self.send(to, ttl, kind)?;
        }
        Ok(asked.len())
    }

    fn send(&mut self, to: IpAddr, ttl: u8, kind: Kind) -> std::io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        // Timed from before the send: the answer may come (and be stamped by
        // the kernel) before the send returns.
        let at = Instant::now();
        let local = self.sock.send_ttl(to, self.seq, ttl)?;
        self.p.sent(self.seq, ttl, kind, at, local);
        Ok(())
    }

    /// Takes answers until `until`; with `phase_only`, stops as soon as every
    /// echo request of the current phase is answered.
    async fn pump(&mut self, until: Instant, phase_only: bool) -> std::io::Result<()> {
        loop {
            if phase_only && !self.p.phase_open() {
                return Ok(());
            }
            let got = tokio::select! {
                got = self.sock.next() => Some(got?),
                _ = tokio::time::sleep_until(until) => None,
            };
            let Some(answers) = got else { return Ok(()) };
            for a in answers {
                self.p.take(a);
            }
        }
    }
}
