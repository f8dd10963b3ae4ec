//! Probes: what is probed (the [`Plan`]), how one attempt runs, and the
//! independent tasks that run each probe once per interval.
//!
//! A failed probe is data ([`Outcome::Down`]), never an `Err` (STYLE 5).

mod dns;
mod http;
mod icmp;
pub mod route;
pub mod schedule;
mod tcp;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, GatewayAddress, ProbeKind, TargetName};

pub use http::{client as http_client, error_chain, proxy_in_use};
pub use schedule::{ProbeReport, ProbeTasks, Timing};

/// A round-trip time; serialised as milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rtt(pub Duration);

impl Serialize for Rtt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_ms())
    }
}

impl<'de> Deserialize<'de> for Rtt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rtt, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1000.0)
            .map(Rtt)
            .map_err(serde::de::Error::custom)
    }
}

impl Rtt {
    /// Milliseconds with fractions, as written to the CSV.
    pub fn as_ms(self) -> f64 {
        self.0.as_secs_f64() * 1000.0
    }
}

impl fmt::Display for Rtt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_ms();
        if ms < 1.0 {
            write!(f, "{ms:.3} ms")
        } else {
            write!(f, "{ms:.1} ms")
        }
    }
}

/// Why a probe got no good answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// The host answered with a refusal (TCP RST, ICMP port unreachable).
    Refused,
    /// The network said the host cannot be reached.
    Unreachable(String),
    /// There is no default route, so no gateway to probe.
    NoRoute,
    /// The DNS server answered SERVFAIL.
    DnsServFail,
    /// The DNS server answered NXDOMAIN.
    DnsNxDomain,
    /// The DNS server answered REFUSED.
    DnsRefused,
    /// Another DNS response code or a malformed answer.
    DnsOther(String),
    /// An HTTP status not in `expect_status`.
    HttpStatus(u16),
    /// An HTTP request that failed before a status (TLS, connect, protocol).
    Http(String),
    /// A local error sending the probe.
    Io(String),
    /// Failed on purpose by `--sim-fail`.
    Simulated,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timeout"),
            Failure::Refused => f.write_str("refused"),
            Failure::Unreachable(why) => write!(f, "unreachable ({why})"),
            Failure::NoRoute => f.write_str("no default route"),
            Failure::DnsServFail => f.write_str("SERVFAIL"),
            Failure::DnsNxDomain => f.write_str("NXDOMAIN"),
            Failure::DnsRefused => f.write_str("REFUSED"),
            Failure::DnsOther(why) => write!(f, "DNS error ({why})"),
            Failure::HttpStatus(code) => write!(f, "HTTP {code}"),
            Failure::Http(why) => write!(f, "HTTP error ({why})"),
            Failure::Io(why) => write!(f, "error ({why})"),
            Failure::Simulated => f.write_str("simulated failure"),
        }
    }
}

/// What one probe attempt saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// A good answer, after this long.
    Up {
        /// Round-trip time (ICMP: the average of the echoes answered).
        rtt: Rtt,
    },
    /// No good answer.
    Down(Failure),
}

impl Outcome {
    /// Whether the probed host itself answered: a good answer, or a refusal,
    /// which proves the path to it works.
    pub fn answered(&self) -> bool {
        matches!(self, Outcome::Up { .. } | Outcome::Down(Failure::Refused))
    }

    /// The RTT of a good answer.
    pub fn rtt(&self) -> Option<Rtt> {
        match self {
            Outcome::Up { rtt } => Some(*rtt),
            Outcome::Down(_) => None,
        }
    }
}

/// Echo statistics of one ICMP probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IcmpStats {
    /// Echo requests sent.
    pub sent: u32,
    /// Echo replies received.
    pub received: u32,
    /// Fastest reply.
    pub min: Option<Rtt>,
    /// Mean of replies.
    pub avg: Option<Rtt>,
    /// Slowest reply.
    pub max: Option<Rtt>,
    /// Mean deviation of replies, as ping(8) prints it.
    pub mdev: Option<Rtt>,
}

/// One probe's result in one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Up or down, and why.
    pub outcome: Outcome,
    /// Echo statistics, for ICMP probes that sent anything.
    pub icmp: Option<IcmpStats>,
    /// The address actually probed (the gateway found by `auto`).
    pub addr: Option<IpAddr>,
}

impl ProbeResult {
    /// A result with no address or statistics.
    pub fn new(outcome: Outcome) -> ProbeResult {
        ProbeResult {
            outcome,
            icmp: None,
            addr: None,
        }
    }
}

/// What part of the path a probe looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The LAN gateway.
    Gateway,
    /// An ISP hop.
    Hop(IpAddr),
    /// An internet target.
    Target(TargetName),
    /// A DNS server asked for a name.
    Dns {
        /// The server asked.
        server: SocketAddr,
        /// The name asked for.
        name: String,
    },
    /// An HTTP check, by name.
    Http(String),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Gateway => f.write_str("gateway"),
            Role::Hop(ip) => write!(f, "hop {ip}"),
            Role::Target(name) => write!(f, "target {name}"),
            Role::Dns { server, name } => write!(f, "dns {server} {name}"),
            Role::Http(name) => write!(f, "http {name}"),
        }
    }
}

/// Where a host probe is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// A fixed address.
    Ip(IpAddr),
    /// The default route's gateway, looked up at each attempt.
    DefaultGateway,
}

/// How one probe is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// ICMP echo, `count` requests.
    Icmp {
        /// Where to.
        host: Host,
        /// Echo requests per attempt.
        count: u32,
    },
    /// TCP connect.
    Tcp {
        /// Where to.
        host: Host,
        /// Which port.
        port: u16,
    },
    /// A DNS A query sent straight to a server.
    Dns {
        /// The server.
        server: SocketAddr,
        /// The name.
        name: String,
    },
    /// An HTTP GET.
    Http {
        /// The URL.
        url: url::Url,
        /// Statuses that count as up.
        expect_status: Vec<u16>,
    },
}

impl Spec {
    /// Short kind name for logs: `icmp`, `tcp:443`, `dns`, `http`.
    pub fn kind(&self) -> String {
        match self {
            Spec::Icmp { .. } => "icmp".into(),
            Spec::Tcp { port, .. } => format!("tcp:{port}"),
            Spec::Dns { .. } => "dns".into(),
            Spec::Http { .. } => "http".into(),
        }
    }
}

/// One probe: its role in the diagnosis and how it is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What it tells about.
    pub role: Role,
    /// How it runs.
    pub spec: Spec,
}

/// Every probe a config asks for, in a fixed order; results of a check line up with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The probes.
    pub probes: Vec<Probe>,
}

impl Plan {
    /// The probes of `config`.
    pub fn from_config(config: &Config) -> Plan {
        let pings = config.monitor.pings.get();
        let host_spec = |host: Host, kind: &ProbeKind| match kind {
            ProbeKind::Icmp => Spec::Icmp { host, count: pings },
            ProbeKind::Tcp(port) => Spec::Tcp {
                host,
                port: port.get(),
            },
        };
        let mut probes = Vec::new();
        let gw = match config.gateway.address {
            GatewayAddress::Auto => Host::DefaultGateway,
            GatewayAddress::Ip(ip) => Host::Ip(ip),
        };
        for kind in &config.gateway.probes {
            probes.push(Probe {
                role: Role::Gateway,
                spec: host_spec(gw, kind),
            });
        }
        for hop in &config.isp.hops {
            for kind in &config.isp.probes {
                probes.push(Probe {
                    role: Role::Hop(*hop),
                    spec: host_spec(Host::Ip(*hop), kind),
                });
            }
        }
        for t in &config.targets {
            for kind in &t.probes {
                probes.push(Probe {
                    role: Role::Target(t.name.clone()),
                    spec: host_spec(Host::Ip(t.address), kind),
                });
            }
        }
        if let Some(dns) = &config.dns {
            for server in &dns.servers {
                for name in &dns.names {
                    probes.push(Probe {
                        role: Role::Dns {
                            server: *server,
                            name: name.clone(),
                        },
                        spec: Spec::Dns {
                            server: *server,
                            name: name.clone(),
                        },
                    });
                }
            }
        }
        for h in &config.http {
            probes.push(Probe {
                role: Role::Http(h.name.clone()),
                spec: Spec::Http {
                    url: h.url.clone(),
                    expect_status: h.expect_status.clone(),
                },
            });
        }
        Plan { probes }
    }
}

/// Shared means of probing: one ICMP socket per address family and one HTTP client.
pub struct Prober {
    icmp: icmp::Icmp,
    http: reqwest::Client,
}

impl Prober {
    /// Builds the shared HTTP client; ICMP sockets open on first use.
    pub fn new() -> Result<Arc<Prober>, ProbeSetupError> {
        Ok(Arc::new(Prober {
            icmp: icmp::Icmp::new(),
            http: http::client()?,
        }))
    }

    /// The shared HTTP client, also used by the notification channels: each
    /// client loads the system's certificates, so one is built, not two.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// Opens the ICMP sockets `plan` needs now, so a missing permission is a start-up error.
    pub fn check_icmp(&self, plan: &Plan) -> Result<(), ProbeSetupError> {
        for p in &plan.probes {
            if let Spec::Icmp { host, .. } = &p.spec {
                let v6 = matches!(host, Host::Ip(IpAddr::V6(_)));
                self.icmp.client(v6).map_err(ProbeSetupError::Icmp)?;
            }
        }
        Ok(())
    }

    /// Runs one attempt of `spec`, never taking longer than `timeout`.
    pub async fn run(&self, spec: &Spec, timeout: Duration) -> ProbeResult {
        let attempt = async {
            match spec {
                Spec::Icmp { host, count } => {
                    let Some((addr, scope)) = resolve(*host) else {
                        return ProbeResult::new(Outcome::Down(Failure::NoRoute));
                    };
                    self.icmp.probe(addr, scope, *count, timeout).await
                }
                Spec::Tcp { host, port } => {
                    let Some((addr, scope)) = resolve(*host) else {
                        return ProbeResult::new(Outcome::Down(Failure::NoRoute));
                    };
                    let port = *port;
                    let mut r = ProbeResult::new(
                        hedged(timeout, move || tcp::connect(addr, scope, port)).await,
                    );
                    r.addr = Some(addr);
                    r
                }
                Spec::Dns { server, name } => {
                    let (server, name) = (*server, Arc::new(name.clone()));
                    ProbeResult::new(
                        hedged(timeout, move || dns::query(server, Arc::clone(&name))).await,
                    )
                }
                Spec::Http { url, expect_status } => {
                    let client = self.http.clone();
                    let (url, expect) = (Arc::new(url.clone()), Arc::new(expect_status.clone()));
                    ProbeResult::new(
                        hedged(timeout, move || {
                            http::get(client.clone(), Arc::clone(&url), Arc::clone(&expect))
                        })
                        .await,
                    )
                }
            }
        };
        // Every attempt is bounded here, whatever the kind does inside.
        match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => ProbeResult::new(Outcome::Down(Failure::Timeout)),
        }
    }
}

/// Attempts per probe at most: a new one starts every `timeout / HEDGES` while none has answered.
const HEDGES: u32 = 4;

/// Runs `attempt` and, while no answer has come, starts another every
/// `timeout / HEDGES`; the first answer wins and the rest are dropped.
///
/// One lost packet (a SYN, a DNS query) must not fail a check whose timeout
/// leaves room to try again: TCP itself would retry a SYN only after 1 s.
/// On a healthy line the first attempt answers and no other is sent.
async fn hedged<F, Fut>(timeout: Duration, attempt: F) -> Outcome
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let spacing = timeout / HEDGES;
    let mut set = tokio::task::JoinSet::new();
    let mut last;
    let mut next = tokio::time::Instant::now();
    let mut started = 0;
    loop {
        if started < HEDGES && tokio::time::Instant::now() >= next {
            set.spawn(attempt());
            started += 1;
            next += spacing;
        }
        tokio::select! {
            Some(joined) = set.join_next() => {
                match joined {
                    Ok(o) if is_answer(&o) => return o,
                    Ok(o) => last = o,
                    Err(e) => last = Outcome::Down(Failure::Io(e.to_string())),
                }
                if set.is_empty() && started == HEDGES {
                    return last;
                }
            }
            _ = tokio::time::sleep_until(next), if started < HEDGES => {}
        }
    }
}

/// An outcome that another attempt would not change: a good answer, or one
/// the far end gave on purpose (a refusal, a DNS error code, an HTTP status).
fn is_answer(o: &Outcome) -> bool {
    match o {
        Outcome::Up { .. } => true,
        Outcome::Down(f) => matches!(
            f,
            Failure::Refused
                | Failure::DnsServFail
                | Failure::DnsNxDomain
                | Failure::DnsRefused
                | Failure::DnsOther(_)
                | Failure::HttpStatus(_)
        ),
    }
}

/// The address (and IPv6 scope) a host probe goes to; `None` when there is no default route.
fn resolve(host: Host) -> Option<(IpAddr, u32)> {
    match host {
        Host::Ip(ip) => Some((ip, 0)),
        Host::DefaultGateway => route::default_gateway().map(|g| (g.addr, g.scope_id)),
    }
}

/// The monitor's own faults in setting up probes.
#[derive(Debug, thiserror::Error)]
pub enum ProbeSetupError {
    /// No ICMP socket could be opened.
    #[error("cannot open an ICMP socket: {0}. Allow unprivileged ICMP with sysctl net.ipv4.ping_group_range (e.g. \"0 2147483647\"), or grant CAP_NET_RAW")]
    Icmp(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}
