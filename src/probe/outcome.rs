//! What a probe saw: an [`Outcome`] (a failure is data), its RTT and ICMP statistics.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// The host cannot be reached, and the kernel or a router said so: the
    /// words say why (`link down`, `no route`, `host unreachable`).
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
            Failure::Unreachable(why) => f.write_str(why),
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

impl Failure {
    /// What a socket error says about the path, in words: an error number is
    /// no evidence a person can read to their ISP.
    pub fn of_io(e: &std::io::Error) -> Failure {
        use nix::errno::Errno;
        let unreachable = |why: &str| Failure::Unreachable(why.to_owned());
        match e.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ECONNREFUSED) => Failure::Refused,
            Some(Errno::ETIMEDOUT) => Failure::Timeout,
            Some(Errno::ENETUNREACH) => unreachable("no route"),
            Some(Errno::EHOSTUNREACH) => unreachable("host unreachable"),
            // The interface has no carrier, or its queue no longer drains.
            Some(Errno::ENOBUFS | Errno::ENETDOWN) => unreachable("link down"),
            Some(Errno::EADDRNOTAVAIL) => unreachable("no local address"),
            Some(Errno::EPERM | Errno::EACCES) => {
                Failure::Io("not permitted (a firewall rule on this host?)".into())
            }
            _ => Failure::Io(e.to_string()),
        }
    }

    /// Whether this host itself knows the path is broken (no route, link down):
    /// evidence about the local network that no silence can give. A failure
    /// made on purpose fails the whole path, from the bottom.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Failure::NoRoute | Failure::Unreachable(_) | Failure::Simulated
        )
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
