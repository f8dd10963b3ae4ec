//! Probes: what is probed (the [`Plan`], `plan.rs`), what an attempt saw
//! (`outcome.rs`), how one attempt runs ([`Prober`], hedged in `hedge.rs`), and
//! the independent tasks that run each probe once per interval (`schedule.rs`).
//!
//! A new probe kind is a [`Spec`] variant, its attempt in [`Prober::run`], and
//! the config word that asks for it.
//!
//! A failed probe is data ([`Outcome::Down`]), never an `Err`: `Err` is kept for the monitor's own faults (a socket it cannot open).

mod dns;
mod hedge;
mod http;
mod icmp;
mod outcome;
mod plan;
pub mod route;
pub mod schedule;
mod tcp;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hedge::hedged;

pub use http::{client as http_client, proxy_in_use};
pub use outcome::{Failure, IcmpStats, Outcome, ProbeResult, Rtt};
pub use plan::{Host, Plan, Probe, Role, Spec};
pub use schedule::{ProbeReport, ProbeTasks, Timing};

/// Shared means of probing: one ICMP socket per address family and one HTTP client.
pub struct Prober {
    icmp: icmp::Icmp,
    http: reqwest::Client,
}

impl Prober {
    /// A prober using `http`, the daemon's one HTTP client (each client loads
    /// the system's certificates, so the channels share it); ICMP sockets open on first use.
    pub fn new(http: reqwest::Client) -> Arc<Prober> {
        Arc::new(Prober {
            icmp: icmp::Icmp::new(),
            http,
        })
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
