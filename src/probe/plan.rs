//! What is probed: the [`Plan`], every probe of a config in a fixed order,
//! each with its role in the diagnosis and how it is carried out.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::config::{Core, DnsType, Family, GatewayAddress, ProbeKind, TargetName};

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
    /// The default route's gateway of a family, looked up at each attempt.
    DefaultGateway(Family),
}

impl Host {
    /// The family of the address it goes to.
    pub fn family(self) -> Family {
        match self {
            Host::Ip(ip) => Family::of(ip),
            Host::DefaultGateway(f) => f,
        }
    }
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
    /// A DNS query sent straight to a server.
    Dns {
        /// The server.
        server: SocketAddr,
        /// The name.
        name: String,
        /// The question: A or AAAA.
        qtype: DnsType,
    },
    /// An HTTP GET.
    Http {
        /// The URL.
        url: url::Url,
        /// Statuses that count as up.
        expect_status: Vec<u16>,
        /// The family it must connect over; `None`: either.
        family: Option<Family>,
    },
}

impl Spec {
    /// Short kind name for logs: `icmp`, `tcp:443`, `dns`, `http`.
    pub fn kind(&self) -> String {
        match self {
            Spec::Icmp { .. } => "icmp".into(),
            Spec::Tcp { port, .. } => format!("tcp:{port}"),
            Spec::Dns {
                qtype: DnsType::A, ..
            } => "dns".into(),
            Spec::Dns {
                qtype: DnsType::Aaaa,
                ..
            } => "dns:aaaa".into(),
            Spec::Http { .. } => "http".into(),
        }
    }
}

impl Spec {
    /// The family its packets travel over; `None` for an HTTP check that may take either.
    pub fn family(&self) -> Option<Family> {
        match self {
            Spec::Icmp { host, .. } | Spec::Tcp { host, .. } => Some(host.family()),
            Spec::Dns { server, .. } => Some(Family::of(server.ip())),
            Spec::Http { family, .. } => *family,
        }
    }

    /// The address of a host probe given by IP.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Spec::Icmp {
                host: Host::Ip(ip), ..
            }
            | Spec::Tcp {
                host: Host::Ip(ip), ..
            } => Some(*ip),
            _ => None,
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

impl Probe {
    /// The role split as outputs show it: kind (`gateway`, `hop`, `target`,
    /// `dns`, `http`), name, and address (`resolved` for the gateway found by route).
    pub fn parts(
        &self,
        resolved: Option<IpAddr>,
    ) -> (&'static str, Option<String>, Option<String>) {
        match &self.role {
            Role::Gateway => ("gateway", None, resolved.map(|a| a.to_string())),
            Role::Hop(ip) => ("hop", None, Some(ip.to_string())),
            Role::Target(t) => (
                "target",
                Some(t.0.clone()),
                self.spec.ip().map(|a| a.to_string()),
            ),
            Role::Dns { server, name } => ("dns", Some(name.clone()), Some(server.to_string())),
            Role::Http(n) => (
                "http",
                Some(n.clone()),
                match &self.spec {
                    Spec::Http { url, .. } => Some(crate::util::redact_url(url)),
                    _ => None,
                },
            ),
        }
    }
}

impl Plan {
    /// The families its ICMP probes use.
    pub fn icmp_families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|f| {
                self.probes
                    .iter()
                    .any(|p| matches!(p.spec, Spec::Icmp { host, .. } if host.family() == *f))
            })
            .collect()
    }
}

/// Every probe a config asks for, in a fixed order; results of a check line up with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The probes.
    pub probes: Vec<Probe>,
}

impl Plan {
    /// The probes of `config`.
    pub fn from_config(config: &Core) -> Plan {
        let pings = config.monitor.pings.get();
        let host_spec = |host: Host, kind: &ProbeKind| match kind {
            ProbeKind::Icmp => Spec::Icmp { host, count: pings },
            ProbeKind::Tcp(port) => Spec::Tcp {
                host,
                port: port.get(),
            },
        };
        // With `auto`, the default gateway of each family that has targets.
        let gateways: Vec<Host> = match config.gateway.address {
            GatewayAddress::Auto => Family::ALL
                .into_iter()
                .filter(|f| config.targets.iter().any(|t| Family::of(t.address) == *f))
                .map(Host::DefaultGateway)
                .collect(),
            GatewayAddress::Ip(ip) => vec![Host::Ip(ip)],
        };
        // Sized once: a plan of a thousand targets grown by doubling would
        // leave its earlier copies behind as holes in the heap.
        let dns = config.dns.as_ref();
        let mut probes = Vec::with_capacity(
            gateways.len() * config.gateway.probes.len()
                + config.isp.hops.len() * config.isp.probes.len()
                + config.targets.iter().map(|t| t.probes.len()).sum::<usize>()
                + dns.map_or(0, |d| d.servers.len() * d.names.len() * d.types.len())
                + config.http.len(),
        );
        for gw in gateways {
            for kind in &config.gateway.probes {
                probes.push(Probe {
                    role: Role::Gateway,
                    spec: host_spec(gw, kind),
                });
            }
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
                    for qtype in &dns.types {
                        probes.push(Probe {
                            role: Role::Dns {
                                server: *server,
                                name: name.clone(),
                            },
                            spec: Spec::Dns {
                                server: *server,
                                name: name.clone(),
                                qtype: *qtype,
                            },
                        });
                    }
                }
            }
        }
        for h in &config.http {
            probes.push(Probe {
                role: Role::Http(h.name.clone()),
                spec: Spec::Http {
                    url: h.url.clone(),
                    expect_status: h.expect_status.clone(),
                    family: h.family,
                },
            });
        }
        debug_assert_eq!(probes.len(), probes.capacity());
        Plan { probes }
    }
}
