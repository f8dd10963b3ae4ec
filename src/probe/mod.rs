//! Probes: what is probed (the [`Plan`], `plan.rs`), what an attempt saw
//! (`outcome.rs`), how one attempt runs ([`Prober`], hedged in `hedge.rs`), and
//! the independent tasks that run each probe once per interval (`schedule.rs`).
//!
//! A probe kind is a module of its own here: a struct implementing
//! `kinds::Kind` (its name in logs, its host or, with none, its family and
//! whether it needs global IPv6, its attempt) and, for a kind a host is
//! probed with, `kinds::HostKind`
//! (its word in `probes = [...]`); and one entry in the list below. [`Spec`], its dispatch, and the words
//! the config accepts ([`PROBE_WORDS`]) follow from the list; the compiler
//! asks for what a new kind lacks. ICMP echoes are the exception in how they
//! run: the scheduler gives them all to one engine (`echo.rs`).
//!
//! A failed probe is data ([`Outcome::Down`]), never an `Err`: `Err` is kept for the monitor's own faults (a socket it cannot open).

#[macro_use]
mod kinds;

pub mod echo;
mod hedge;
mod outcome;
mod plan;
pub mod schedule;
pub mod socket;
mod trust;

// Every probe kind: `module => Variant(Type)`, the kinds a host is probed
// with (`[gateway]`, `[isp]`, `[[target]]`) first, in the order a word is
// tried. A new kind is its module plus one line here.
probe_kinds! {
    hosts {
        icmp => Icmp(icmp::Echo),
        tcp => Tcp(tcp::Connect),
    }
    others {
        dns => Dns(dns::Query),
        http => Http(Box<http::Get>),
    }
}

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::config::Family;
use crate::route;

pub use http::{client_trusting as http_client_trusting, proxy_in_use, SharedClient};
pub use outcome::{Failure, IcmpStats, Outcome, ProbeResult, Rtt};
pub use plan::{Host, Plan, Probe, Role};
pub use schedule::{ProbeReport, ProbeTasks, Timing};

/// Shared means of probing other than ICMP (which the echo engine does): the
/// HTTP clients, one for either family and one per family for checks pinned
/// to one, each made on first use (the first client made loads the system's
/// certificates, which all share: a config without HTTP checks never pays for it).
#[derive(Default)]
pub struct Prober {
    http: [OnceLock<reqwest::Client>; 3],
}

impl Prober {
    /// A prober; its clients are made on first use.
    pub fn new() -> Arc<Prober> {
        Arc::new(Prober::default())
    }

    /// The client for an HTTP check over `family` (`None`: either).
    fn http(&self, family: Option<Family>) -> Result<reqwest::Client, String> {
        let slot = family.map_or(2, |f| f as usize);
        http::made(&self.http[slot], || match family {
            Some(f) => http::client_over(f),
            None => http::client(),
        })
    }

    /// Opens the ICMP sockets `plan` needs, so a missing permission is a start-up error.
    pub fn check_icmp(plan: &Plan) -> Result<(), ProbeSetupError> {
        for f in plan.icmp_families() {
            socket::IcmpSocket::open(f == Family::V6)
                .map_err(|e| ProbeSetupError::Icmp(e.to_string()))?;
        }
        Ok(())
    }

    /// Runs one attempt of `spec`, never taking longer than `timeout`.
    pub async fn run(&self, spec: &Spec, timeout: Duration) -> ProbeResult {
        let mut result = self.attempt(spec, timeout).await;
        if spec.family() == Some(Family::V6) && !result.outcome.answered() {
            if let Some(why) = ipv6_missing(spec) {
                result.outcome = Outcome::Down(Failure::Unreachable(why.into()));
            }
        }
        result
    }

    async fn attempt(&self, spec: &Spec, timeout: Duration) -> ProbeResult {
        let attempt = spec.attempt(self, timeout);
        // Every attempt is bounded here, whatever the kind does inside.
        match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => ProbeResult::new(Outcome::Down(Failure::Timeout)),
        }
    }
}

/// The address (and IPv6 scope) a host probe goes to; `None` when there is no default route.
fn resolve(host: Host) -> Option<(IpAddr, u32)> {
    match host {
        Host::Ip(ip) => Some((ip, 0)),
        Host::DefaultGateway(f) => route::default_gateway(f).map(|g| (g.addr, g.scope_id)),
    }
}

/// Why this host cannot reach the IPv6 internet at all, if it cannot: a probe
/// that failed for that reason says so in words, not as a timeout. Only
/// global destinations need a global address and the default route.
fn ipv6_missing(spec: &Spec) -> Option<&'static str> {
    spec.global_ipv6().then(host_ipv6_missing).flatten()
}

/// Why this host cannot reach the IPv6 internet, if it cannot.
pub fn host_ipv6_missing() -> Option<&'static str> {
    if !route::has_global_v6() {
        Some("no global IPv6 address on this host")
    } else if route::default_gateway(Family::V6).is_none() {
        Some("no IPv6 default route on this host")
    } else {
        None
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
