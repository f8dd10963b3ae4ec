//! ICMP echo for every ICMP probe at once, as fping does it: one socket per
//! family and one timer for all echoes, instead of a task, a timer and a
//! reply channel per probe. With a thousand targets that is a thousand fewer
//! tasks woken every interval and nothing allocated per echo.
//!
//! Each probe sends `count` echoes per round, [`ECHO_SPACING`] apart from its
//! place in the round (`offset`), and gives up on the unanswered ones at
//! nine tenths of the timeout, so that its report always reaches the monitor
//! before the round's deadline. Replies are matched by sequence number in a
//! ring of the echoes in flight.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::schedule::{boot_clock, ProbeReport, Timing};
use super::socket::{Answer, IcmpSocket, Reply};
use super::{icmp, resolve, Failure, Host, Outcome};
use crate::config::Family;

mod inflight;
mod once;
use inflight::{InFlight, Pending};
pub use once::one_round;

/// Gap between the echo requests of one probe, so they are not one burst.
pub const ECHO_SPACING: Duration = Duration::from_millis(20);

/// How far the engine moves what falls due so that one wake-up does many
/// things: with a thousand probes spread over half a second, a wake-up sends
/// a few dozen echoes instead of one. An echo may leave up to this much
/// early; a round gives up on its echoes up to this much late, never early.
/// Small beside a round and below [`ECHO_SPACING`], so one probe's echoes stay apart.
const SLACK: Duration = Duration::from_millis(10);

/// One ICMP probe the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoProbe {
    /// The probe task's id, as the monitor knows it.
    pub id: u64,
    /// Where to.
    pub host: Host,
    /// Echo requests per round.
    pub count: u32,
    /// Its place in every round, after the round's start.
    pub offset: Duration,
    /// The first round it takes part in.
    pub first_round: u64,
}

/// What the engine is told.
#[derive(Debug)]
pub enum Command {
    /// These probes from now on, on this timing: those already running keep
    /// their round in progress; new ones start at their first round.
    Set(Vec<EchoProbe>, Timing),
}

/// What happens next, by time: a probe's round starts, or its next echo goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Start,
    Echo(u32),
}

/// One probe's state.
struct Slot {
    probe: EchoProbe,
    /// The round in flight, if any.
    flight: Option<Flight>,
    /// The next round to start.
    next_round: u64,
}

/// One round of one probe in flight.
struct Flight {
    round: u64,
    started_at: chrono::DateTime<Utc>,
    started_boot: Option<Duration>,
    to: Option<SocketAddr>,
    sent: u32,
    rtts: icmp::Rtts,
    failure: Failure,
}

/// The engine's state.
pub struct Engine {
    timing: Timing,
    slots: Vec<Slot>,
    due: BinaryHeap<Reverse<(Instant, usize, Due)>>,
    /// When each round in flight gives up (its slot, its round): a round ends
    /// a fixed time after it starts, and rounds start in time order, so this
    /// is in time order too and needs no heap.
    ends: VecDeque<(Instant, usize, u64)>,
    in_flight: InFlight,
    sockets: [Option<IcmpSocket>; 2],
    seq: u16,
    /// Answers read and not yet taken, per socket.
    answers: [Vec<Answer>; 2],
}

impl Engine {
    /// An engine with no probes.
    pub fn new(timing: Timing) -> Engine {
        Engine {
            timing,
            slots: Vec::new(),
            due: BinaryHeap::new(),
            ends: VecDeque::new(),
            in_flight: InFlight::new(64),
            sockets: [None, None],
            seq: fastrand::u16(..),
            answers: [Vec::new(), Vec::new()],
        }
    }

    /// Opens the socket of `family` (for a probe that needs it), so that a
    /// missing permission shows at once.
    pub fn open(&mut self, family: Family) -> std::io::Result<()> {
        let slot = &mut self.sockets[family as usize];
        if slot.is_none() {
            *slot = Some(IcmpSocket::open(family == Family::V6)?);
        }
        Ok(())
    }

    /// Runs `probes` from now on (see [`Command::Set`]).
    pub fn set(&mut self, probes: Vec<EchoProbe>, timing: Timing) {
        let retimed = timing.epoch != self.timing.epoch || timing.interval != self.timing.interval;
        self.timing = timing;
        let mut old: HashMap<u64, Slot> = self.slots.drain(..).map(|s| (s.probe.id, s)).collect();
        for f in Family::ALL {
            if probes.iter().any(|p| p.host.family() == f) {
                if let Err(e) = self.open(f) {
                    tracing::error!("cannot open an {} ICMP socket: {e}", f.name());
                }
            }
        }
        let now = Instant::now();
        let echoes: usize = probes.iter().map(|p| p.count as usize).sum();
        if self.in_flight.capacity() < echoes * 2 {
            let ring = std::mem::replace(&mut self.in_flight, InFlight::new(0));
            self.in_flight = ring.grown(echoes * 2);
        }
        self.slots = probes
            .into_iter()
            .map(|probe| match old.remove(&probe.id) {
                Some(kept) if !retimed => kept,
                _ => Slot {
                    next_round: probe.first_round.max(self.timing.round_at(now)),
                    probe,
                    flight: None,
                },
            })
            .collect();
        self.due.clear();
        self.ends.clear();
        for i in 0..self.slots.len() {
            self.schedule_start(i, now);
            if let Some(f) = &self.slots[i].flight {
                let at = self.start_of(i, f.round) + self.deadline();
                self.ends.push_back((at, i, f.round));
            }
        }
        self.ends.make_contiguous().sort_unstable();
    }

    /// When probe `i`'s part of `round` starts.
    fn start_of(&self, i: usize, round: u64) -> Instant {
        self.timing.round_start(round) + self.slots[i].probe.offset
    }

    /// How long after its start a probe's round gives up on its echoes.
    fn deadline(&self) -> Duration {
        self.timing.timeout.mul_f64(0.9)
    }

    /// Schedules probe `i`'s next round; a round whose start is more than
    /// half an interval past (the box was busy, or asleep) is skipped, not run late.
    fn schedule_start(&mut self, i: usize, now: Instant) {
        let (timing, offset) = (self.timing, self.slots[i].probe.offset);
        let s = &mut self.slots[i];
        while timing.round_start(s.next_round) + offset + timing.interval / 2 < now {
            s.next_round += 1;
        }
        let at = timing.round_start(s.next_round) + offset;
        self.due.push(Reverse((at, i, Due::Start)));
    }

    /// When the engine should wake next, if anything is due: a round's end
    /// waits [`SLACK`] for the ends after it.
    pub fn next_due(&self) -> Option<Instant> {
        let next = self.due.peek().map(|Reverse((at, _, _))| *at);
        let end = self.ends.front().map(|(at, _, _)| *at + SLACK);
        next.into_iter().chain(end).min()
    }

    /// Does what is due by `now`, and the starts and echoes due within
    /// [`SLACK`] after it; finished rounds go to `out`.
    pub fn run_due(&mut self, now: Instant, out: &mut Vec<ProbeReport>) {
        let first = out.len();
        while let Some(&(at, i, round)) = self.ends.front() {
            if at > now {
                break;
            }
            self.ends.pop_front();
            // A round that a later start already ended has nothing left.
            if self.slots[i]
                .flight
                .as_ref()
                .is_some_and(|f| f.round == round)
            {
                out.extend(self.finish(i));
            }
        }
        while let Some(Reverse((at, i, what))) = self.due.peek().copied() {
            if at > now + SLACK {
                break;
            }
            self.due.pop();
            match what {
                Due::Start => {
                    // A round still in flight ends before the next one starts.
                    out.extend(self.finish(i));
                    self.start(i, now);
                }
                Due::Echo(_) => self.echo(i),
            }
        }
        say_why_ipv6_fails(&mut out[first..]);
    }

    /// Probe `i`'s round starts: its first echo goes out, the others are
    /// scheduled, and so are its deadline and its next round.
    fn start(&mut self, i: usize, now: Instant) {
        let deadline = self.deadline();
        let s = &mut self.slots[i];
        let round = s.next_round;
        s.next_round += 1;
        let to = resolve(s.probe.host).map(|(addr, scope)| match addr {
            IpAddr::V6(v6) if scope != 0 => SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, scope)),
            _ => SocketAddr::new(addr, 0),
        });
        s.flight = Some(Flight {
            round,
            started_at: Utc::now(),
            started_boot: boot_clock(),
            to,
            sent: 0,
            rtts: icmp::Rtts::default(),
            failure: if to.is_some() {
                Failure::Timeout
            } else {
                Failure::NoRoute
            },
        });
        let count = s.probe.count;
        // All echoes go out in the first half of the time, so each has time to come back.
        let spacing = ECHO_SPACING.min(deadline / (2 * count.max(1)));
        self.ends.push_back((now + deadline, i, round));
        self.schedule_start(i, now);
        for n in 1..count {
            self.due.push(Reverse((now + spacing * n, i, Due::Echo(n))));
        }
        self.echo(i);
    }

    /// Sends the next echo of probe `i`'s round in flight.
    fn echo(&mut self, i: usize) {
        let id = self.slots[i].probe.id;
        let Some(f) = self.slots[i].flight.as_mut() else {
            return;
        };
        let Some(to) = f.to else { return };
        let Some(sock) = &self.sockets[Family::of(to.ip()) as usize] else {
            f.failure = Failure::Io("no ICMP socket of this family".into());
            return;
        };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        f.sent += 1;
        // Timed from before the send, as ping does: on a fast link the reply
        // may arrive, and be stamped by the kernel, before the send returns.
        let at = Instant::now();
        match sock.send(to, seq) {
            Ok(None) => self.in_flight.put(Pending {
                slot: i,
                id,
                round: f.round,
                seq,
                at,
            }),
            Ok(Some(local)) => f.failure = Failure::of_io(&std::io::Error::from(local.0)),
            Err(e) => f.failure = Failure::of_io(&e),
        }
    }

    /// Probe `i`'s round in flight ends: its report.
    fn finish(&mut self, i: usize) -> Option<ProbeReport> {
        let s = &mut self.slots[i];
        let f = s.flight.take()?;
        let mut result = icmp::summarise(f.sent, &f.rtts, f.failure);
        result.addr = f.to.map(|a| a.ip());
        Some(ProbeReport {
            id: s.probe.id,
            round: f.round,
            started_at: f.started_at,
            started_boot: f.started_boot,
            result,
        })
    }

    /// Takes the answers that came: an echo reply is an RTT, an error from a
    /// router (unreachable) is why the probe fails.
    fn answered(&mut self) {
        let [mut v4, mut v6] = std::mem::take(&mut self.answers);
        for a in v4.drain(..).chain(v6.drain(..)) {
            let Some(p) = self.in_flight.take(a.seq) else {
                continue;
            };
            let same = |i: &usize| self.slots.get(*i).is_some_and(|s| s.probe.id == p.id);
            let Some(i) = Some(p.slot)
                .filter(same)
                .or_else(|| self.slots.iter().position(|s| s.probe.id == p.id))
            else {
                continue;
            };
            let Some(f) = self.slots[i].flight.as_mut().filter(|f| f.round == p.round) else {
                continue;
            };
            match a.reply {
                Reply::Echo if f.to.is_some_and(|to| to.ip() == a.from) => {
                    f.rtts.add(a.rtt_since(p.at));
                }
                Reply::Unreachable(u) => {
                    f.failure = Failure::Unreachable(format!("{}, said {}", u.words, a.from));
                }
                _ => {}
            }
        }
        // The buffers are kept for the next answers.
        self.answers = [v4, v6];
    }

    /// Waits for answers on either socket, or for `until`.
    async fn wait(&mut self, until: Option<Instant>) -> std::io::Result<()> {
        let [v4, v6] = &self.sockets;
        let [a4, a6] = &mut self.answers;
        tokio::select! {
            r = next(v4.as_ref(), a4) => r,
            r = next(v6.as_ref(), a6) => r,
            _ = sleep_until(until) => Ok(()),
        }
    }
}

/// An IPv6 echo to a global address that got no answer because this host has
/// no global IPv6 address or no IPv6 default route says so, in words (the
/// host is asked once for all such reports).
fn say_why_ipv6_fails(reports: &mut [ProbeReport]) {
    let mut why = None;
    for r in reports {
        let global_v6 = matches!(r.result.addr, Some(IpAddr::V6(a)) if !a.is_unicast_link_local() && !a.is_loopback());
        if !global_v6 || r.result.outcome.answered() {
            continue;
        }
        if let Some(words) = *why.get_or_insert_with(super::host_ipv6_missing) {
            r.result.outcome = Outcome::Down(Failure::Unreachable(words.into()));
        }
    }
}

async fn next(sock: Option<&IcmpSocket>, out: &mut Vec<Answer>) -> std::io::Result<()> {
    match sock {
        Some(s) => s.next_into(out).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Runs the engine until its commands end: reports go to `tx`, one per probe per round.
pub async fn run(
    mut engine: Engine,
    mut commands: mpsc::UnboundedReceiver<Command>,
    tx: mpsc::Sender<ProbeReport>,
) {
    let mut done = Vec::new();
    loop {
        engine.run_due(Instant::now(), &mut done);
        for report in done.drain(..) {
            if tx.send(report).await.is_err() {
                return;
            }
        }
        let until = engine.next_due();
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(Command::Set(probes, timing)) => engine.set(probes, timing),
                None => return,
            },
            r = engine.wait(until) => {
                if let Err(e) = r {
                    tracing::error!("ICMP socket: {e}; echoes go unanswered until it recovers");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                engine.answered();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(seq: u16) -> Pending {
        Pending {
            slot: 0,
            id: 7,
            round: 1,
            seq,
            at: Instant::now(),
        }
    }

    #[test]
    fn an_echo_in_flight_is_found_once_by_its_sequence_and_never_by_another() {
        let mut ring = InFlight::new(100);
        assert_eq!(ring.capacity(), 128);
        ring.put(pending(5));
        assert!(ring.take(5 + 128).is_none(), "same slot, other sequence");
        assert!(ring.take(5).is_some());
        assert!(ring.take(5).is_none(), "taken once");
        // Sequences wrap around the u16 range like the counter does.
        ring.put(pending(u16::MAX));
        assert!(ring.take(u16::MAX).is_some());
    }
}
