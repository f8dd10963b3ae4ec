//! One check's results counted by group: the gateway, the ISP hops, the
//! internet targets, DNS servers and HTTP checks, with loss and RTTs.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::IpAddr;

use super::window::{Echoes, LossWindow};
use super::Check;
use crate::config::Family;
use crate::probe::{Failure, Outcome, Plan, ProbeResult, Role, Rtt, Spec};

/// One host (or service) of a group, over all its probes in this check.
pub struct Member<'a> {
    /// Borrowed from the plan: with many targets this runs for every probe of every check.
    pub name: Cow<'a, str>,
    /// The family its probes travel over; `None` for an HTTP check that may take either.
    pub family: Option<Family>,
    /// The address probed, when known (the gateway `auto` found).
    pub addr: Option<IpAddr>,
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
    fn add(&mut self, name: Cow<'a, str>, family: Option<Family>, r: &ProbeResult) {
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
                m.addr = m.addr.or(r.addr);
                if m.failure.is_none() {
                    m.failure = failure;
                }
            }
            None => self.members.push(Member {
                name,
                family,
                addr: r.addr,
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

    /// Members of `family`, and how many of them answered.
    pub fn of_family(&self, family: Family) -> (usize, usize) {
        let mine = self.members.iter().filter(|m| m.family == Some(family));
        mine.fold((0, 0), |(n, up), m| (n + 1, up + usize::from(m.answered)))
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

    /// "a timeout, b refused" for the services (DNS servers, HTTP checks)
    /// without a good answer: a refusal fails a service although its host is
    /// there.
    pub fn why_failing(&self) -> String {
        self.named(|m| m.rtt.is_none())
    }

    /// "a timeout, b unreachable" for the hosts `which` picks that did not
    /// answer at all (a refusal is an answer).
    pub fn why_down_of(&self, which: impl Fn(&Member) -> bool) -> String {
        self.named(|m| !m.answered && which(m))
    }

    /// The members `pick` picks, each with its failure: the first few by
    /// name and the rest counted, so a row stays small with any config.
    fn named(&self, pick: impl Fn(&Member) -> bool) -> String {
        const NAMED: usize = 5;
        let mut down = self.members.iter().filter(|m| pick(m));
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

/// What earlier checks proved, which the silence of a router or a family is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// Routers proven real: gateways seen answering, hops seen answering while the internet worked.
    pub routers: &'a BTreeSet<IpAddr>,
    /// Families whose internet targets have answered.
    pub families: &'a BTreeSet<Family>,
}

/// A check counted by group.
#[derive(Default)]
pub struct Tally<'a> {
    /// One member per family with a gateway probe.
    pub gateway: Group<'a>,
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
    /// Each of those probes' family and its echoes earlier in the window.
    echo_families: Vec<(Family, Echoes)>,
    /// The targets' RTTs with their family: ICMP's, and the other probes'.
    icmp_rtts: Vec<(Family, Rtt)>,
    other_rtts: Vec<(Family, Rtt)>,
}

impl<'a> Tally<'a> {
    /// Counts `check`'s results by the roles of `plan`, judging loss over
    /// `window` (the checks before this one).
    pub fn of(plan: &'a Plan, check: &Check, window: &LossWindow) -> Tally<'a> {
        let mut t = Tally::default();
        for (probe, r) in plan.probes.iter().zip(&check.results) {
            let family = probe.spec.family();
            match &probe.role {
                Role::Gateway => {
                    let name = family.map_or("gateway", Family::label);
                    t.gateway.add(Cow::Borrowed(name), family, r);
                }
                Role::Hop(ip) => {
                    let before = t.hops.members.len();
                    t.hops.add(Cow::Owned(ip.to_string()), family, r);
                    if t.hops.members.len() > before {
                        t.hop_ips.push(*ip);
                    }
                }
                Role::Target(name) => {
                    t.targets.add(Cow::Borrowed(&name.0), family, r);
                    t.target_figures(&probe.spec, r, window);
                }
                Role::Dns { server, .. } => {
                    t.dns.add(Cow::Owned(server.to_string()), family, r);
                }
                Role::Http(name) => t.http.add(Cow::Borrowed(name), family, r),
            }
        }
        t.loss_figures();
        t
    }

    fn target_figures(&mut self, spec: &Spec, r: &ProbeResult, window: &LossWindow) {
        let family = spec.family().unwrap_or(Family::V4);
        let Spec::Icmp(echo) = spec else {
            self.other_rtts.extend(r.outcome.rtt().map(|t| (family, t)));
            return;
        };
        let now = r.icmp.map_or(Echoes::default(), |s| Echoes {
            sent: s.sent,
            received: s.received,
        });
        let before = window.before(self.per_probe.len());
        self.per_probe.push(now);
        self.echo_families.push((echo.host.family(), before));
        self.icmp_rtts.extend(r.outcome.rtt().map(|t| (family, t)));
    }

    /// Loss measures the line while it carries traffic. A target silent for
    /// the whole window is down (its own fault, said in the detail), not
    /// lossy; and in a check where no target of a family answers, that family
    /// is down (an outage, not loss): its echoes count neither now nor later
    /// in the window.
    fn loss_figures(&mut self) {
        let carrying = Family::ALL.map(|f| self.targets.of_family(f).1 > 0);
        for (now, (family, before)) in self.per_probe.iter_mut().zip(&self.echo_families) {
            if !carrying[*family as usize] {
                *now = Echoes::default();
            } else if now.received > 0 || before.received > 0 {
                self.echoes.add(*now);
                self.window_echoes.add(*now);
                self.window_echoes.add(*before);
            }
        }
    }

    /// Routers proven real by this check: a gateway that answered (it
    /// answers ping, so its silence can mean a LAN failure), and hops that
    /// answered while the internet was reachable (they are on this line, and
    /// may now tell an ISP outage from a WAN one).
    pub fn routers_proven(&self) -> Vec<IpAddr> {
        let gateways = (self.gateway.members.iter())
            .filter(|m| m.answered)
            .filter_map(|m| m.addr);
        let hops = self
            .hop_ips
            .iter()
            .zip(&self.hops.members)
            .filter(|(_, m)| m.answered && self.targets.up() > 0)
            .map(|(ip, _)| *ip);
        gateways.chain(hops).collect()
    }

    /// The families with an internet target that answered in this check.
    pub fn families_proven(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|f| self.targets.of_family(*f).1 > 0)
            .collect()
    }

    /// Whether a gateway's silence says the LAN is down: it has answered
    /// before (so it answers ping), or this host itself reports no route or
    /// no link, in a family that has worked (a host that never had IPv6 has
    /// no IPv6 route either). Anything beyond a gateway answering proves the
    /// LAN up regardless.
    pub fn gateway_silence_counts(&self, known: &Known) -> bool {
        if self.gateway.is_empty() || self.gateway.up() > 0 || self.hops.up() > 0 {
            return false;
        }
        let single = self.gateway.members.len() == 1;
        self.gateway.members.iter().any(|m| {
            let local = m.failure.as_ref().is_some_and(Failure::is_local)
                && (single || m.family.is_some_and(|f| known.families.contains(&f)));
            local || m.addr.is_some_and(|a| known.routers.contains(&a))
        })
    }

    /// The family whose internet targets all fail while the other family's
    /// answer, if one does and it has worked before (a host that never had
    /// IPv6 gets no IPV6_DOWN for it).
    pub fn family_down(&self, known: &Known) -> Option<Family> {
        Family::ALL.into_iter().find(|f| {
            let (mine, mine_up) = self.targets.of_family(*f);
            let (_, other_up) = self.targets.of_family(f.other());
            mine > 0 && mine_up == 0 && other_up > 0 && known.families.contains(f)
        })
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

    /// The internet targets' RTTs of `family` (both when `None`): ICMP's if
    /// any, else the other probes'.
    fn rtts(&self, family: Option<Family>) -> Vec<Rtt> {
        let of = |v: &[(Family, Rtt)]| -> Vec<Rtt> {
            v.iter()
                .filter(|(f, _)| family.is_none_or(|want| *f == want))
                .map(|(_, r)| *r)
                .collect()
        };
        let icmp = of(&self.icmp_rtts);
        if icmp.is_empty() {
            of(&self.other_rtts)
        } else {
            icmp
        }
    }

    /// Highest RTT to the internet targets, of the same kind of probe as the median.
    pub fn max_rtt(&self) -> Option<Rtt> {
        self.rtts(None)
            .into_iter()
            .reduce(|a, b| if b.0 > a.0 { b } else { a })
    }

    /// Median RTT to the internet targets of `family`, or of both.
    pub fn median_rtt(&self, family: Option<Family>) -> Option<Rtt> {
        median(&self.rtts(family))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_service_is_named_with_its_failure_and_a_refusing_host_is_up() {
        let mut g = Group::default();
        let refused = ProbeResult::new(Outcome::Down(Failure::Refused));
        let timeout = ProbeResult::new(Outcome::Down(Failure::Timeout));
        g.add("198.51.100.53:53".into(), None, &refused);
        g.add("9.9.9.9:53".into(), None, &timeout);
        assert_eq!(
            g.why_failing(),
            "198.51.100.53:53 refused, 9.9.9.9:53 timeout"
        );
        assert_eq!(g.why_down_of(|_| true), "9.9.9.9:53 timeout");
    }
}
