//! A trace's bookkeeping, apart from its socket: what is in flight, what
//! answered at each distance, where the path ends, which silent hops to ask
//! directly, and the path so far. Plain data, so every rule is tested as such.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::hop::{finish_all, Hop, Unreachable};
use super::reading::Path;
use super::trace::{Hints, TraceSpec};
use crate::probe::socket::{Answer, LocalError, Reply};

/// Consecutive silent hops after the last answer that are still shown.
const SILENT_SHOWN: u8 = 5;

/// What an echo request in flight was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The trace's probe towards the destination.
    Trace,
    /// To the hop's own address, known from its earlier answers.
    Echo(IpAddr),
    /// To a router whose distance is sought.
    Place(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    ttl: u8,
    sent_at: Instant,
    phase: u32,
    kind: Kind,
}

/// A trace in progress, without its socket.
#[derive(Debug)]
pub struct Progress {
    dest: IpAddr,
    timeout: Duration,
    hints: Hints,
    hops: Vec<Hop>,
    waiting: HashMap<u16, Pending>,
    /// Sending a round's probes, or its echoes, is one phase.
    phase: u32,
    /// Hops that answered in the current round.
    answered_now: Vec<bool>,
    dest_ttl: Option<u8>,
    /// Every Destination Unreachable: at which TTL, from whom.
    unreachable: Vec<(u8, IpAddr, Unreachable)>,
    /// Routers that answered an echo sent to find their distance, this round.
    placed_now: Vec<(IpAddr, u8, Duration)>,
    local_error: Option<LocalError>,
}

impl Progress {
    /// Nothing sent yet.
    pub fn new(spec: &TraceSpec) -> Progress {
        Progress {
            dest: spec.dest,
            timeout: spec.timeout,
            hints: spec.hints.clone(),
            hops: (1..=spec.max_hops).map(Hop::new).collect(),
            waiting: HashMap::new(),
            phase: 0,
            answered_now: vec![false; usize::from(spec.max_hops)],
            dest_ttl: None,
            unreachable: Vec::new(),
            placed_now: Vec::new(),
            local_error: None,
        }
    }

    /// A new round: nothing has answered in it yet; requests older than the timeout are given up.
    pub fn begin_round(&mut self, now: Instant) {
        self.phase += 1;
        self.answered_now.fill(false);
        let timeout = self.timeout;
        self.waiting.retain(|_, p| p.sent_at + timeout > now);
    }

    /// The round's echoes to silent hops: where to send them, and why.
    pub fn begin_echoes(&mut self) -> Vec<(IpAddr, u8, Kind)> {
        self.phase += 1;
        let mut out = Vec::new();
        for ttl in 1..=self.shown() {
            let i = usize::from(ttl - 1);
            if self.answered_now[i] || Some(ttl) == self.dest_ttl {
                continue;
            }
            match self.hops[i].addrs.first() {
                Some(&own) => out.push((own, ttl, Kind::Echo(own))),
                None => out.extend(
                    self.unplaced(ttl)
                        .into_iter()
                        .map(|r| (r, ttl, Kind::Place(r))),
                ),
            }
        }
        out
    }

    /// Echo request `seq` went to `ttl` for `kind` at `at`, or could not leave this host.
    pub fn sent(&mut self, seq: u16, ttl: u8, kind: Kind, at: Instant, local: Option<LocalError>) {
        let h = &mut self.hops[usize::from(ttl - 1)];
        match kind {
            Kind::Trace => h.sent += 1,
            Kind::Echo(_) => h.echo_sent += 1,
            // Counted where it is found (see `settle_placements`).
            Kind::Place(_) => {}
        }
        match local {
            Some(e) => self.local_error = Some(e),
            None => {
                let phase = self.phase;
                self.waiting.insert(
                    seq,
                    Pending {
                        ttl,
                        sent_at: at,
                        phase,
                        kind,
                    },
                );
            }
        }
    }

    /// Whether an echo request of the current phase is still unanswered.
    pub fn phase_open(&self) -> bool {
        self.waiting.values().any(|p| p.phase == self.phase)
    }

    /// Matches an answer to its request.
    pub fn take(&mut self, a: Answer) {
        let Some(p) = self.waiting.remove(&a.seq) else {
            return;
        };
        let rtt = a.rtt_since(p.sent_at);
        let i = usize::from(p.ttl - 1);
        match (p.kind, a.reply) {
            (Kind::Trace, reply) => {
                self.hops[i].answer(a.from, rtt);
                self.answered_now[i] = true;
                if let Reply::Unreachable(u) = reply {
                    self.unreachable.push((p.ttl, a.from, u));
                }
                let last_word = matches!(reply, Reply::Echo | Reply::Unreachable(_));
                if last_word && a.from == self.dest {
                    self.dest_ttl = Some(self.dest_ttl.map_or(p.ttl, |d| d.min(p.ttl)));
                }
            }
            (Kind::Echo(to), Reply::Echo) if a.from == to => {
                self.hops[i].echo_answer(to, rtt);
                self.answered_now[i] = true;
            }
            (Kind::Place(to), Reply::Echo) if a.from == to => {
                self.placed_now.push((to, p.ttl, rtt));
                self.answered_now[i] = true;
            }
            // A router short of the one asked: it says nothing about this hop.
            _ => {}
        }
    }

    /// Routers that may be at the never-answered distance `ttl`: the one the
    /// last good route had there, those known to answer whose distance is
    /// unknown, and a router that said unreachable further out (a router
    /// without a route says so to every TTL from its own distance on).
    fn unplaced(&self, ttl: u8) -> Vec<IpAddr> {
        let first_seen = |a: &IpAddr| {
            self.hops
                .iter()
                .find(|h| h.addrs.contains(a))
                .map(|h| h.ttl)
        };
        let hints = &self.hints;
        let in_route = |a: &IpAddr| hints.route.iter().flatten().any(|r| r == a);
        let remembered = hints.route.get(usize::from(ttl - 1)).copied().flatten();
        let mut out: Vec<IpAddr> = remembered
            .into_iter()
            .chain(hints.routers.iter().copied().filter(|r| !in_route(r)))
            .filter(|r| first_seen(r).is_none())
            .collect();
        out.extend(
            self.unreachable
                .iter()
                .map(|&(_, from, _)| from)
                .filter(|r| first_seen(r).is_some_and(|seen| seen > ttl)),
        );
        out.retain(|a| *a != self.dest);
        out.sort();
        out.dedup();
        out
    }

    /// Gives each router that answered a placing echo the least distance it
    /// answered at, where nothing else answered.
    pub fn settle_placements(&mut self) {
        let mut found = std::mem::take(&mut self.placed_now);
        found.sort_by_key(|(_, ttl, _)| *ttl);
        for (router, ttl, rtt) in found {
            let taken = !self.hops[usize::from(ttl - 1)].addrs.is_empty();
            let nearer = self.hops[..usize::from(ttl)]
                .iter()
                .any(|h| h.addrs.contains(&router));
            if taken || nearer {
                continue;
            }
            let h = &mut self.hops[usize::from(ttl - 1)];
            h.echo_sent += 1;
            h.echo_answer(router, rtt);
        }
    }

    /// Where the path ends, if known: the destination, or the nearest router
    /// that said unreachable (at the least distance it answered at).
    pub fn end(&self) -> Option<(u8, Option<Unreachable>)> {
        if let Some(d) = self.dest_ttl {
            return Some((d, None));
        }
        self.unreachable
            .iter()
            .map(|&(ttl, from, u)| {
                let first = self.hops.iter().find(|h| h.addrs.contains(&from));
                (first.map_or(ttl, |h| h.ttl.min(ttl)), Some(u))
            })
            .min_by_key(|(ttl, _)| *ttl)
    }

    /// The highest TTL worth sending to.
    pub fn top(&self) -> u8 {
        self.end().map_or(self.hops.len() as u8, |(ttl, _)| ttl)
    }

    /// The hops shown: up to the end, or a few silent ones past the last answer.
    fn shown(&self) -> u8 {
        match self.end() {
            Some((ttl, _)) => ttl,
            None => {
                let answered = self
                    .hops
                    .iter()
                    .rposition(Hop::answered)
                    .map_or(0, |i| i + 1);
                (answered as u8)
                    .saturating_add(SILENT_SHOWN)
                    .min(self.hops.len() as u8)
            }
        }
    }

    /// The path so far.
    pub fn summary(&self, at: DateTime<Utc>, rounds: u32) -> Path {
        let mut hops: Vec<Hop> = self.hops[..usize::from(self.shown())].to_vec();
        if let (Some((ttl, Some(u))), None) = (self.end(), self.dest_ttl) {
            hops[usize::from(ttl - 1)].unreachable = Some(u.mark.to_owned());
        }
        finish_all(&mut hops);
        Path {
            dest: self.dest,
            at,
            rounds,
            reached: self.dest_ttl.is_some(),
            hops,
            local_error: self
                .local_error
                .map(|LocalError(e)| local_words(e).to_owned()),
        }
    }
}

/// Why this host could not send, in words.
fn local_words(e: nix::errno::Errno) -> &'static str {
    use nix::errno::Errno::*;
    match e {
        ENETUNREACH => "no route",
        ENETDOWN => "link down",
        EHOSTUNREACH | EHOSTDOWN | ENOBUFS => "the next hop does not answer on the local network",
        EAGAIN => "send buffer full",
        _ => "network error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEST: &str = "198.51.100.1";

    fn ip(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    fn progress(hints: Hints) -> Progress {
        Progress::new(&TraceSpec {
            dest: ip(DEST),
            rounds: 3,
            max_hops: 30,
            timeout: Duration::from_secs(1),
            hints,
        })
    }

    /// Sends TTL 1 to `top` as one round and answers them as `answers` says:
    /// (ttl, from, reply).
    fn round(p: &mut Progress, seq: &mut u16, top: u8, answers: &[(u8, &str, Reply)]) {
        let now = Instant::now();
        p.begin_round(now);
        let mut sent = HashMap::new();
        for ttl in 1..=top {
            *seq += 1;
            p.sent(*seq, ttl, Kind::Trace, now, None);
            sent.insert(ttl, *seq);
        }
        for &(ttl, from, reply) in answers {
            p.take(Answer {
                seq: sent[&ttl],
                from: ip(from),
                at: now,
                waited: Duration::ZERO,
                reply,
            });
        }
    }

    /// Sends the round's echoes and answers those to `answering`.
    fn echoes(p: &mut Progress, seq: &mut u16, answering: &[&str]) -> Vec<(IpAddr, u8, Kind)> {
        let now = Instant::now();
        let asked = p.begin_echoes();
        for &(to, ttl, kind) in &asked {
            *seq += 1;
            p.sent(*seq, ttl, kind, now, None);
            if answering.contains(&to.to_string().as_str()) {
                p.take(Answer {
                    seq: *seq,
                    from: to,
                    at: now,
                    waited: Duration::ZERO,
                    reply: Reply::Echo,
                });
            }
        }
        p.settle_placements();
        asked
    }

    const NO_ROUTE: Reply = Reply::Unreachable(Unreachable {
        mark: "!N",
        words: "network unreachable",
    });

    #[test]
    fn the_router_without_a_route_ends_the_path_once_at_its_own_distance() {
        let mut p = progress(Hints::default());
        let mut seq = 0;
        // Its answer to TTL 2 was held back by its limit; TTL 5's came through.
        round(
            &mut p,
            &mut seq,
            30,
            &[
                (1, "10.0.1.1", Reply::TimeExceeded),
                (5, "10.0.2.2", NO_ROUTE),
            ],
        );
        assert_eq!(p.end().map(|(t, _)| t), Some(5), "as far as known");
        let asked = echoes(&mut p, &mut seq, &["10.0.2.2"]);
        assert!(
            asked.contains(&(ip("10.0.2.2"), 2, Kind::Place(ip("10.0.2.2")))),
            "{asked:?}"
        );
        let path = p.summary(Utc::now(), 1);
        assert_eq!(path.hops.len(), 2, "{path:#?}");
        assert_eq!(path.hops[1].addrs, [ip("10.0.2.2")]);
        assert_eq!(path.hops[1].unreachable.as_deref(), Some("!N"));
        assert_eq!(
            path.where_broke("one", &[]),
            "path to one: last answer hop 2 10.0.2.2, network unreachable (!N)"
        );
        assert_eq!(p.top(), 2, "no probe beyond it next round");
    }

    #[test]
    fn a_silent_hop_the_last_good_route_knows_is_asked_directly_and_counts_as_an_answer() {
        let route = vec![Some(ip("10.0.1.1")), Some(ip("10.0.2.2")), Some(ip(DEST))];
        let mut p = progress(Hints {
            route,
            routers: vec![ip("10.0.1.1"), ip("10.0.2.2")],
        });
        let mut seq = 0;
        for _ in 0..3 {
            round(
                &mut p,
                &mut seq,
                30,
                &[(1, "10.0.1.1", Reply::TimeExceeded)],
            );
            echoes(&mut p, &mut seq, &["10.0.2.2"]);
        }
        let path = p.summary(Utc::now(), 3);
        let hop2 = &path.hops[1];
        assert_eq!(hop2.addrs, [ip("10.0.2.2")]);
        assert_eq!((hop2.echo_sent, hop2.echo_received), (3, 3), "{hop2:#?}");
        assert_eq!((hop2.loss_pct, hop2.rate_limited), (0.0, 3));
        assert!(path.hops[2..].iter().all(|h| !h.answered()), "{path:#?}");
        assert_eq!(
            path.where_broke("one", &[ip("10.0.1.1"), ip("10.0.2.2")]),
            "path to one: last answer hop 2 10.0.2.2, silent from hop 3"
        );
    }

    #[test]
    fn a_hop_that_answered_before_is_asked_at_its_own_address_when_silent() {
        let mut p = progress(Hints::default());
        let mut seq = 0;
        let all = [
            (1, "10.0.1.1", Reply::TimeExceeded),
            (2, "10.0.2.2", Reply::TimeExceeded),
            (3, DEST, Reply::Echo),
        ];
        round(&mut p, &mut seq, 30, &all);
        assert!(echoes(&mut p, &mut seq, &[]).is_empty(), "all answered");
        assert_eq!(p.top(), 3, "the destination is at 3");
        round(&mut p, &mut seq, 3, &all[1..]);
        let asked = echoes(&mut p, &mut seq, &["10.0.1.1"]);
        assert_eq!(asked, [(ip("10.0.1.1"), 1, Kind::Echo(ip("10.0.1.1")))]);
        let path = p.summary(Utc::now(), 2);
        assert!(path.reached);
        assert_eq!(path.hops[0].loss_pct, 0.0);
        assert_eq!(path.hops[0].rate_limited, 1);
    }
}
