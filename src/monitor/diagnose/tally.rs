//! One check's results counted by group: the gateway, the ISP hops, the
//! internet targets, DNS servers and HTTP checks, with loss and RTTs.

use std::borrow::Cow;
use std::net::IpAddr;

use super::window::{Echoes, LossWindow};
use super::Check;
use crate::probe::{Failure, Outcome, Plan, ProbeResult, Role, Rtt, Spec};

/// One host (or service) of a group, over all its probes in this check.
pub struct Member<'a> {
    /// Borrowed from the plan: with many targets this runs for every probe of every check.
    pub name: Cow<'a, str>,
    /// Any probe answered.
    pub answered: bool,
    /// Best RTT of a good answer.
    pub rtt: Option<Rtt>,
    /// The first failure seen.
    pub failure: Option<Failure>,
}

/// The members of one role.
#[derive(Default)]
pub struct Group<'a> {
    pub members: Vec<Member<'a>>,
}

impl<'a> Group<'a> {
    fn add(&mut self, name: Cow<'a, str>, r: &ProbeResult) {
        let answered = r.outcome.answered();
        let rtt = r.outcome.rtt();
        let failure = match &r.outcome {
            Outcome::Down(f) => Some(f.clone()),
            Outcome::Up { .. } => None,
        };
        // The plan lists each host's probes together, so only the last member can match.
        match self.members.last_mut().filter(|m| m.name == name) {
            Some(m) => {
                m.answered |= answered;
                m.rtt = min_rtt(m.rtt, rtt);
                if m.failure.is_none() {
                    m.failure = failure;
                }
            }
            None => self.members.push(Member {
                name,
                answered,
                rtt,
                failure,
            }),
        }
    }

    /// Members that answered (a refusal counts: the host is there).
    pub fn up(&self) -> usize {
        self.members.iter().filter(|m| m.answered).count()
    }

    /// Members with a good answer (a refusal is not a working DNS or HTTP service).
    pub fn up_strict(&self) -> usize {
        self.members.iter().filter(|m| m.rtt.is_some()).count()
    }

    /// The best RTT of any member.
    pub fn best_rtt(&self) -> Option<Rtt> {
        self.members.iter().fold(None, |acc, m| min_rtt(acc, m.rtt))
    }

    /// No member configured.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// "a timeout, b refused" for the members that did not answer: the first
    /// few by name and the rest counted, so a row stays small with any config.
    pub fn why_down(&self) -> String {
        const NAMED: usize = 5;
        let mut down = self.members.iter().filter(|m| !m.answered);
        let mut parts: Vec<String> = down
            .by_ref()
            .take(NAMED)
            .map(|m| match &m.failure {
                Some(f) => format!("{} {f}", m.name),
                None => m.name.to_string(),
            })
            .collect();
        let rest = down.count();
        if rest > 0 {
            parts.push(format!("and {rest} more"));
        }
        parts.join(", ")
    }

    /// The first failure of any member, in words.
    pub fn first_failure(&self) -> String {
        self.members
            .iter()
            .find_map(|m| m.failure.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "no answer".into())
    }

    /// Whether every member without a good answer timed out (rather than
    /// being refused, or answering with an error).
    pub fn only_timeouts(&self) -> bool {
        self.members
            .iter()
            .filter(|m| m.rtt.is_none())
            .all(|m| matches!(m.failure, Some(Failure::Timeout)))
    }

    /// Whether any member works, for DNS and HTTP; `None` when none is configured.
    fn works(&self) -> Option<bool> {
        (!self.is_empty()).then(|| self.up_strict() > 0)
    }
}

/// A check counted by group.
#[derive(Default)]
pub struct Tally<'a> {
    pub gateway: Group<'a>,
    /// The gateway's address, when the route gave one.
    pub gateway_addr: Option<IpAddr>,
    pub hops: Group<'a>,
    /// Each hop's address, in the order of `hops.members`.
    pub hop_ips: Vec<IpAddr>,
    pub targets: Group<'a>,
    pub dns: Group<'a>,
    pub http: Group<'a>,
    /// This check's echoes to the targets that answered within the loss window.
    echoes: Echoes,
    /// The same targets' echoes over the whole window, this check included.
    window_echoes: Echoes,
    /// This check's echoes per ICMP target probe, in plan order, for the window.
    pub per_probe: Vec<Echoes>,
    icmp_rtts: Vec<Rtt>,
    other_rtts: Vec<Rtt>,
}

impl<'a> Tally<'a> {
    /// Counts `check`'s results by the roles of `plan`, judging loss over
    /// `window` (the checks before this one).
    pub fn of(plan: &'a Plan, check: &Check, window: &LossWindow) -> Tally<'a> {
        let mut t = Tally::default();
        for (probe, r) in plan.probes.iter().zip(&check.results) {
            match &probe.role {
                Role::Gateway => {
                    t.gateway_addr = t.gateway_addr.or(r.addr);
                    t.gateway.add(Cow::Borrowed("gateway"), r);
                }
                Role::Hop(ip) => {
                    let before = t.hops.members.len();
                    t.hops.add(Cow::Owned(ip.to_string()), r);
                    if t.hops.members.len() > before {
                        t.hop_ips.push(*ip);
                    }
                }
                Role::Target(name) => {
                    t.targets.add(Cow::Borrowed(&name.0), r);
                    t.target_figures(&probe.spec, r, window);
                }
                Role::Dns { server, .. } => t.dns.add(Cow::Owned(server.to_string()), r),
                Role::Http(name) => t.http.add(Cow::Borrowed(name), r),
            }
        }
        t
    }

    fn target_figures(&mut self, spec: &Spec, r: &ProbeResult, window: &LossWindow) {
        let Spec::Icmp { .. } = spec else {
            self.other_rtts.extend(r.outcome.rtt());
            return;
        };
        let now = r.icmp.map_or(Echoes::default(), |s| Echoes {
            sent: s.sent,
            received: s.received,
        });
        let before = window.before(self.per_probe.len());
        self.per_probe.push(now);
        // Loss measures the line: a target silent for the whole window is
        // down (its own fault, said in the detail), not lossy.
        if now.received > 0 || before.received > 0 {
            self.echoes.add(now);
            self.window_echoes.add(now);
            self.window_echoes.add(before);
        }
        self.icmp_rtts.extend(r.outcome.rtt());
    }

    /// Routers proven real by this check: a gateway that answered (it
    /// answers ping, so its silence can mean a LAN failure), and hops that
    /// answered while the internet was reachable (they are on this line, and
    /// may now tell an ISP outage from a WAN one).
    pub fn routers_proven(&self) -> Vec<IpAddr> {
        let gateway = self.gateway_addr.filter(|_| self.gateway.up() > 0);
        let hops = self
            .hop_ips
            .iter()
            .zip(&self.hops.members)
            .filter(|(_, m)| m.answered && self.targets.up() > 0)
            .map(|(ip, _)| *ip);
        gateway.into_iter().chain(hops).collect()
    }

    /// Whether the gateway's silence says the LAN is down: it has answered
    /// before (so it answers ping), or this host itself reports no route or
    /// no link. Anything beyond it answering proves the LAN up regardless.
    pub fn gateway_silence_counts(&self, verified: &std::collections::BTreeSet<IpAddr>) -> bool {
        if self.gateway.is_empty() || self.gateway.up() > 0 || self.hops.up() > 0 {
            return false;
        }
        let local = self
            .gateway
            .members
            .iter()
            .any(|m| m.failure.as_ref().is_some_and(Failure::is_local));
        local || self.gateway_addr.is_some_and(|a| verified.contains(&a))
    }

    /// Whether any DNS query succeeded; `None` if DNS is not checked.
    pub fn dns_ok(&self) -> Option<bool> {
        self.dns.works()
    }

    /// Whether any HTTP check succeeded; `None` if none is configured.
    pub fn http_ok(&self) -> Option<bool> {
        self.http.works()
    }

    /// This check's ICMP loss to the internet targets, percent (targets
    /// silent for the whole window left out).
    pub fn loss_pct(&self) -> Option<f64> {
        self.echoes.loss_pct()
    }

    /// The same over the loss window: what excuses a DNS or HTTP timeout.
    pub fn window_loss_pct(&self) -> Option<f64> {
        self.window_echoes.loss_pct()
    }

    /// Highest RTT to the internet targets, of the same kind of probe as the median.
    pub fn max_rtt(&self) -> Option<Rtt> {
        let rtts = if self.icmp_rtts.is_empty() {
            &self.other_rtts
        } else {
            &self.icmp_rtts
        };
        rtts.iter()
            .copied()
            .reduce(|a, b| if b.0 > a.0 { b } else { a })
    }

    /// Median RTT to the internet targets: ICMP's if any, else the other probes'.
    pub fn median_rtt(&self) -> Option<Rtt> {
        median(if self.icmp_rtts.is_empty() {
            &self.other_rtts
        } else {
            &self.icmp_rtts
        })
    }
}

fn min_rtt(a: Option<Rtt>, b: Option<Rtt>) -> Option<Rtt> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y < x { y } else { x }),
        (x, y) => x.or(y),
    }
}

fn median(v: &[Rtt]) -> Option<Rtt> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by_key(|r| r.0);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        Rtt((v[mid - 1].0 + v[mid].0) / 2)
    })
}
