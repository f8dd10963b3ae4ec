//! One verdict per check: the lowest layer that fails (LAN, ISP, WAN, DNS,
//! HTTP), DEGRADED when reachable but lossy or slow, else OK.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::{Plan, ProbeResult, Rtt};

mod describe;
mod tally;
mod window;

#[cfg(test)]
pub use describe::MAX_DETAIL;

use crate::config::Family;
pub use tally::Known;
use tally::Tally;
pub use window::{LossWindow, CHECKS as LOSS_WINDOW_CHECKS};

/// The results of every probe for one round, in plan order.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Wall-clock time the round started.
    pub at: DateTime<Utc>,
    /// The boot clock at the same moment, when known (a step of the wall clock shows against it).
    pub boot: Option<std::time::Duration>,
    /// One result per probe of the plan.
    pub results: Vec<ProbeResult>,
    /// Failed on purpose by `--sim-fail`.
    pub simulated: bool,
}

/// The layer where the path broke; ordered from the bottom up.
///
/// Stored under the documented cause names (`WAN_DOWN`); the Rust variant
/// names that state files of earlier versions hold (`Wan`) are still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Layer {
    /// The local network up to the gateway.
    #[serde(rename = "LAN_DOWN", alias = "Lan")]
    Lan,
    /// The ISP's routers.
    #[serde(rename = "ISP_DOWN", alias = "Isp")]
    Isp,
    /// The wider internet.
    #[serde(rename = "WAN_DOWN", alias = "Wan")]
    Wan,
    /// One family's internet, while the other family's works.
    #[serde(rename = "IPV4_DOWN")]
    Ipv4,
    /// The same, for IPv6.
    #[serde(rename = "IPV6_DOWN")]
    Ipv6,
    /// Name resolution.
    #[serde(rename = "DNS_FAIL", alias = "Dns")]
    Dns,
    /// Web services.
    #[serde(rename = "HTTP_FAIL", alias = "Http")]
    Http,
}

impl Layer {
    /// The verdict an outage of this layer is recorded as.
    pub fn verdict(self) -> Verdict {
        match self {
            Layer::Lan => Verdict::LanDown,
            Layer::Isp => Verdict::IspDown,
            Layer::Wan => Verdict::WanDown,
            Layer::Ipv4 => Verdict::Ipv4Down,
            Layer::Ipv6 => Verdict::Ipv6Down,
            Layer::Dns => Verdict::DnsFail,
            Layer::Http => Verdict::HttpFail,
        }
    }
}

/// Whom an outage counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The ISP: the line, its routers, the internet beyond (ISP_DOWN,
    /// WAN_DOWN, IPV4_DOWN, IPV6_DOWN).
    Isp,
    /// Your side: the LAN up to your router (LAN_DOWN).
    Yours,
    /// Services: DNS and the web checks (DNS_FAIL, HTTP_FAIL).
    Services,
}

impl Layer {
    /// Whom an outage of this layer counts against.
    pub fn side(self) -> Side {
        match self {
            Layer::Isp | Layer::Wan | Layer::Ipv4 | Layer::Ipv6 => Side::Isp,
            Layer::Lan => Side::Yours,
            Layer::Dns | Layer::Http => Side::Services,
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
    /// Every IPv4 target fails while IPv6 ones answer.
    #[serde(rename = "IPV4_DOWN")]
    Ipv4Down,
    /// Every IPv6 target fails while IPv4 ones answer.
    #[serde(rename = "IPV6_DOWN")]
    Ipv6Down,
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
            Verdict::Ipv4Down => Some(Layer::Ipv4),
            Verdict::Ipv6Down => Some(Layer::Ipv6),
        }
    }

    /// Every verdict, best first.
    pub const ALL: [Verdict; 9] = [
        Verdict::Ok,
        Verdict::Degraded,
        Verdict::DnsFail,
        Verdict::HttpFail,
        Verdict::Ipv4Down,
        Verdict::Ipv6Down,
        Verdict::WanDown,
        Verdict::IspDown,
        Verdict::LanDown,
    ];

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
            Verdict::Ipv4Down => "IPV4_DOWN",
            Verdict::Ipv6Down => "IPV6_DOWN",
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

impl Thresholds {
    /// The thresholds `config` sets.
    pub fn of(config: &crate::config::Core) -> Thresholds {
        Thresholds {
            loss_pct: f64::from(config.monitor.degraded_loss_pct),
            rtt: config.monitor.degraded_rtt,
        }
    }
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
    /// This check's ICMP loss to the internet targets that answered within
    /// the loss window, percent.
    pub loss_pct: Option<f64>,
    /// The same targets' loss over the whole window.
    #[serde(default)]
    pub window_loss_pct: Option<f64>,
    /// Median RTT to internet targets.
    pub median_rtt: Option<Rtt>,
    /// Highest RTT to internet targets.
    #[serde(default)]
    pub max_rtt: Option<Rtt>,
    /// Median RTT to the internet targets per family (IPv4, IPv6).
    #[serde(default)]
    pub median_rtt_by_family: [Option<Rtt>; 2],
    /// Where the path broke, in words.
    pub detail: String,
    /// The check was failed on purpose.
    pub simulated: bool,
    /// Routers this check proved real: the gateway if it answered, hops that
    /// answered while the internet was reachable.
    #[serde(skip)]
    pub routers_proven: Vec<IpAddr>,
    /// Families whose internet targets answered in this check.
    #[serde(skip)]
    pub families_proven: Vec<Family>,
    /// Internet targets up and configured, per family (IPv4, IPv6).
    #[serde(default)]
    pub targets_by_family: [(usize, usize); 2],
    /// Configured hops that have never answered while the internet worked.
    #[serde(default)]
    pub unverified_hops: Vec<IpAddr>,
}

/// Applies the verdict rules to one check. `known` holds what earlier checks
/// proved: only a silent ISP hop among the proven routers can make ISP_DOWN, a
/// silent gateway counts only if it is among them or this host reports no
/// route or no link, and a family's failure is IPV4_DOWN or IPV6_DOWN only if
/// that family has worked. `window` holds the echoes of the checks before this
/// one; this check's are added to it.
pub fn diagnose(
    plan: &Plan,
    check: &Check,
    t: &Thresholds,
    known: Known,
    window: &mut LossWindow,
) -> Diagnosis {
    let tally = Tally::of(plan, check, window);
    window.record(&tally.per_probe);
    let proven = tally.routers_proven();
    let unverified_hops: Vec<IpAddr> = tally
        .hop_ips
        .iter()
        .filter(|ip| !known.routers.contains(ip) && !proven.contains(ip))
        .copied()
        .collect();
    let isp_can_fail = tally.hop_ips.len() > unverified_hops.len();
    let lan_can_fail = tally.gateway_silence_counts(&known);
    let family_down = tally.family_down(&known);
    let verdict = verdict(&tally, t, isp_can_fail, lan_can_fail, family_down);
    Diagnosis {
        verdict,
        gateway_rtt: tally.gateway.best_rtt(),
        isp_rtt: tally.hops.best_rtt(),
        targets_up: tally.targets.up(),
        targets_total: tally.targets.members.len(),
        dns_ok: tally.dns_ok(),
        http_ok: tally.http_ok(),
        loss_pct: tally.loss_pct(),
        window_loss_pct: tally.window_loss_pct(),
        median_rtt: tally.median_rtt(None),
        max_rtt: tally.max_rtt(),
        median_rtt_by_family: Family::ALL.map(|f| tally.median_rtt(Some(f))),
        detail: describe::sentence(
            &tally,
            check.simulated,
            &unverified_hops,
            &known,
            (verdict, t.loss_pct),
        ),
        simulated: check.simulated,
        routers_proven: proven,
        families_proven: tally.families_proven(),
        targets_by_family: Family::ALL.map(|f| {
            let (n, up) = tally.targets.of_family(f);
            (up, n)
        }),
        unverified_hops,
    }
}

/// The rules, from the bottom layer up: no target answering is an outage of
/// the lowest layer that fails; with the internet reachable, DNS then HTTP
/// failures, then loss or slowness (DEGRADED).
///
/// A layer is up if anything beyond it answers. A hop that has never answered
/// while the internet worked may be a wrong address, and a gateway that has
/// never answered may ignore ping: their silence says nothing, so it cannot
/// make ISP_DOWN or LAN_DOWN (`isp_can_fail`, `lan_can_fail`).
///
/// With both families configured, one family failing while the other works is
/// IPV4_DOWN or IPV6_DOWN, below DNS and HTTP (a DNS server reached over the
/// failing family fails with it); both failing is judged as one path.
fn verdict(
    tally: &Tally,
    t: &Thresholds,
    isp_can_fail: bool,
    lan_can_fail: bool,
    family_down: Option<Family>,
) -> Verdict {
    if tally.targets.up() == 0 {
        return if lan_can_fail {
            Verdict::LanDown
        } else if isp_can_fail && tally.hops.up() == 0 {
            Verdict::IspDown
        } else {
            Verdict::WanDown
        };
    }
    match family_down {
        Some(Family::V4) => return Verdict::Ipv4Down,
        Some(Family::V6) => return Verdict::Ipv6Down,
        None => {}
    }
    // Loss is not a service outage: a DNS or HTTP exchange needs several
    // packets, so on a lossy line it times out while every target answers.
    // Timeouts on a line lossy over the window are DEGRADED; a refusal, an
    // error status, SERVFAIL or NXDOMAIN still fail at once.
    let lossy = tally.window_loss_pct().is_some_and(|l| l >= t.loss_pct);
    let (dns_down, http_down) = (
        tally.dns_ok() == Some(false),
        tally.http_ok() == Some(false),
    );
    if dns_down && !(lossy && tally.dns.only_timeouts()) {
        Verdict::DnsFail
    } else if http_down && !(lossy && tally.http.only_timeouts()) {
        Verdict::HttpFail
    } else if dns_down
        || http_down
        || tally.loss_pct().is_some_and(|l| l >= t.loss_pct)
        || tally.median_rtt(None).is_some_and(|r| r.0 >= t.rtt)
    {
        Verdict::Degraded
    } else {
        Verdict::Ok
    }
}
