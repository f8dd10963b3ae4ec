//! One verdict per check, by the rules in DESIGN.md.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::{Failure, Outcome, Plan, ProbeResult, Role, Rtt, Spec};

/// The results of every probe for one round, in plan order.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Wall-clock time the round started.
    pub at: DateTime<Utc>,
    /// One result per probe of the plan.
    pub results: Vec<ProbeResult>,
    /// Failed on purpose by `--sim-fail`.
    pub simulated: bool,
}

/// The layer where the path broke; ordered from the bottom up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Layer {
    /// The local network up to the gateway.
    Lan,
    /// The ISP's routers.
    Isp,
    /// The wider internet.
    Wan,
    /// Name resolution.
    Dns,
    /// Web services.
    Http,
}

impl Layer {
    /// The verdict an outage of this layer is recorded as.
    pub fn verdict(self) -> Verdict {
        match self {
            Layer::Lan => Verdict::LanDown,
            Layer::Isp => Verdict::IspDown,
            Layer::Wan => Verdict::WanDown,
            Layer::Dns => Verdict::DnsFail,
            Layer::Http => Verdict::HttpFail,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.verdict().fmt(f)
    }
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Everything answers.
    Ok,
    /// Reachable, but lossy or slow. Not an outage.
    Degraded,
    /// Internet reachable by IP, no DNS server answers any name.
    DnsFail,
    /// Internet and DNS fine, every HTTP check fails.
    HttpFail,
    /// No target answers; the gateway (and ISP hops) do.
    WanDown,
    /// No target answers; the gateway does; every ISP hop fails.
    IspDown,
    /// No target answers and the gateway fails, or there is no default route.
    LanDown,
}

impl Verdict {
    /// The failing layer, or `None` for OK and DEGRADED.
    pub fn layer(self) -> Option<Layer> {
        match self {
            Verdict::Ok | Verdict::Degraded => None,
            Verdict::DnsFail => Some(Layer::Dns),
            Verdict::HttpFail => Some(Layer::Http),
            Verdict::WanDown => Some(Layer::Wan),
            Verdict::IspDown => Some(Layer::Isp),
            Verdict::LanDown => Some(Layer::Lan),
        }
    }

    /// The name written to logs and CSV, e.g. `WAN_DOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Degraded => "DEGRADED",
            Verdict::DnsFail => "DNS_FAIL",
            Verdict::HttpFail => "HTTP_FAIL",
            Verdict::WanDown => "WAN_DOWN",
            Verdict::IspDown => "ISP_DOWN",
            Verdict::LanDown => "LAN_DOWN",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The DEGRADED thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Loss at or above this percentage is DEGRADED.
    pub loss_pct: f64,
    /// Median internet RTT at or above this is DEGRADED.
    pub rtt: Duration,
}

/// A check's verdict and the figures behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// Best gateway RTT, if it answered.
    pub gateway_rtt: Option<Rtt>,
    /// Best ISP hop RTT, if any answered.
    pub isp_rtt: Option<Rtt>,
    /// Targets that answered at least one probe.
    pub targets_up: usize,
    /// Targets configured.
    pub targets_total: usize,
    /// Whether any DNS query succeeded; `None` if DNS is not checked.
    pub dns_ok: Option<bool>,
    /// Whether any HTTP check succeeded; `None` if none is configured.
    pub http_ok: Option<bool>,
    /// ICMP loss to internet targets, percent.
    pub loss_pct: Option<f64>,
    /// Median RTT to internet targets.
    pub median_rtt: Option<Rtt>,
    /// Where the path broke, in words.
    pub detail: String,
    /// The check was failed on purpose.
    pub simulated: bool,
}

/// One host (or service) of a group, over all its probes in this check.
struct Member<'a> {
    /// Borrowed from the plan: with many targets this runs for every probe of every check.
    name: Cow<'a, str>,
    /// Any probe answered.
    answered: bool,
    /// Best RTT of a good answer.
    rtt: Option<Rtt>,
    /// The first failure seen.
    failure: Option<Failure>,
}

#[derive(Default)]
struct Group<'a> {
    members: Vec<Member<'a>>,
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
    fn up(&self) -> usize {
        self.members.iter().filter(|m| m.answered).count()
    }
    fn best_rtt(&self) -> Option<Rtt> {
        self.members.iter().fold(None, |acc, m| min_rtt(acc, m.rtt))
    }
    fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    /// "a timeout, b refused" for the members that did not answer.
    fn why_down(&self) -> String {
        let down: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.answered)
            .map(|m| match &m.failure {
                Some(f) => format!("{} {f}", m.name),
                None => m.name.to_string(),
            })
            .collect();
        down.join(", ")
    }
}

fn min_rtt(a: Option<Rtt>, b: Option<Rtt>) -> Option<Rtt> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y < x { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// Applies the verdict rules to one check.
pub fn diagnose(plan: &Plan, check: &Check, t: &Thresholds) -> Diagnosis {
    let mut gateway = Group::default();
    let mut hops = Group::default();
    let mut targets = Group::default();
    let mut dns = Group::default();
    let mut http = Group::default();
    let mut gateway_addr: Option<IpAddr> = None;
    let (mut sent, mut received) = (0u32, 0u32);
    let mut icmp_rtts = Vec::new();
    let mut other_rtts = Vec::new();
    for (probe, r) in plan.probes.iter().zip(&check.results) {
        match &probe.role {
            Role::Gateway => {
                gateway_addr = gateway_addr.or(r.addr);
                gateway.add(Cow::Borrowed("gateway"), r);
            }
            Role::Hop(ip) => hops.add(Cow::Owned(ip.to_string()), r),
            Role::Target(name) => {
                targets.add(Cow::Borrowed(&name.0), r);
                match (&probe.spec, &r.icmp) {
                    // Loss measures the line, so a target that is wholly silent
                    // (its own fault, reported in the detail) does not count.
                    (Spec::Icmp { .. }, Some(s)) if s.received > 0 => {
                        sent += s.sent;
                        received += s.received;
                        icmp_rtts.extend(r.outcome.rtt());
                    }
                    (Spec::Icmp { .. }, _) => {}
                    _ => other_rtts.extend(r.outcome.rtt()),
                }
            }
            Role::Dns { server, .. } => dns.add(Cow::Owned(server.to_string()), r),
            Role::Http(name) => http.add(Cow::Borrowed(name), r),
        }
    }
    let internet_up = targets.up() > 0;
    let gateway_up = gateway.up() > 0;
    let every_hop_fails = !hops.is_empty() && hops.up() == 0;
    let dns_ok = (!dns.is_empty()).then(|| dns.up_strict() > 0);
    let http_ok = (!http.is_empty()).then(|| http.up_strict() > 0);
    let loss_pct = (sent > 0).then(|| f64::from(sent - received) * 100.0 / f64::from(sent));
    let median_rtt = median(if icmp_rtts.is_empty() {
        other_rtts
    } else {
        icmp_rtts
    });

    let verdict = if internet_up {
        if dns_ok == Some(false) {
            Verdict::DnsFail
        } else if http_ok == Some(false) {
            Verdict::HttpFail
        } else if loss_pct.is_some_and(|l| l >= t.loss_pct)
            || median_rtt.is_some_and(|r| r.0 >= t.rtt)
        {
            Verdict::Degraded
        } else {
            Verdict::Ok
        }
    } else if !gateway_up {
        Verdict::LanDown
    } else if every_hop_fails {
        Verdict::IspDown
    } else {
        Verdict::WanDown
    };

    let mut parts = Vec::new();
    let gw_name = gateway_addr.map_or_else(|| "gateway".to_owned(), |a| format!("gateway {a}"));
    if gateway.is_empty() {
        // no gateway probe configured
    } else if gateway_up {
        parts.push(format!("{gw_name} answers"));
    } else {
        parts.push(format!("{gw_name} silent ({})", first_failure(&gateway)));
    }
    for hop in &hops.members {
        let name = &hop.name;
        if hop.answered {
            parts.push(format!("hop {name} answers"));
        } else {
            let why = hop
                .failure
                .as_ref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            parts.push(format!("hop {name} silent{why}"));
        }
    }
    let mut targets_part = format!("{}/{} targets", targets.up(), targets.members.len());
    if targets.up() < targets.members.len() {
        targets_part.push_str(&format!(" (down: {})", targets.why_down()));
    }
    parts.push(targets_part);
    if let Some(ok) = dns_ok {
        if ok {
            parts.push(format!(
                "dns {}/{} servers",
                dns.up_strict(),
                dns.members.len()
            ));
        } else {
            parts.push(format!("dns failing: {}", dns.why_down()));
        }
    }
    if let Some(ok) = http_ok {
        if ok {
            parts.push(format!("http {}/{}", http.up_strict(), http.members.len()));
        } else {
            parts.push(format!("http failing: {}", http.why_down()));
        }
    }
    if let Some(l) = loss_pct {
        if l > 0.0 {
            parts.push(format!("loss {l:.0}%"));
        }
    }
    if check.simulated {
        parts.push("simulated".into());
    }
    Diagnosis {
        verdict,
        gateway_rtt: gateway.best_rtt(),
        isp_rtt: hops.best_rtt(),
        targets_up: targets.up(),
        targets_total: targets.members.len(),
        dns_ok,
        http_ok,
        loss_pct,
        median_rtt,
        detail: parts.join("; "),
        simulated: check.simulated,
    }
}

impl Group<'_> {
    /// Members with a good answer (a refusal is not a working DNS or HTTP service).
    fn up_strict(&self) -> usize {
        self.members.iter().filter(|m| m.rtt.is_some()).count()
    }
}

fn first_failure(g: &Group) -> String {
    g.members
        .iter()
        .find_map(|m| m.failure.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| "no answer".into())
}

fn median(mut v: Vec<Rtt>) -> Option<Rtt> {
    if v.is_empty() {
        return None;
    }
    v.sort_by_key(|r| r.0);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        Rtt((v[mid - 1].0 + v[mid].0) / 2)
    })
}
