//! Each probe of a check as the page shows it, and the figures /metrics takes from it.

use serde::Serialize;

use crate::monitor::update::CheckDone;
use crate::probe::{Outcome, Probe, ProbeResult};

/// One probe as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeView {
    pub role: &'static str,
    pub name: Option<String>,
    pub address: Option<String>,
    pub kind: String,
    /// `ipv4` or `ipv6`; `any` for an HTTP check that may take either.
    pub family: &'static str,
    pub up: bool,
    pub rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub failure: Option<String>,
}

/// The probes of check `c` with their results.
pub fn probe_views(c: &CheckDone) -> Vec<ProbeView> {
    c.plan
        .probes
        .iter()
        .zip(&c.results)
        .map(|(p, r)| probe_view(p, r))
        .collect()
}

/// Probe `p` with its result `r`, as the page shows it.
pub fn probe_view(p: &Probe, r: &ProbeResult) -> ProbeView {
    let (role, name, address) = p.parts(r.addr);
    ProbeView {
        role,
        name,
        address,
        kind: p.spec.kind(),
        family: p.spec.family().map_or("any", crate::config::Family::label),
        up: up(r),
        rtt_ms: r.outcome.rtt().map(|r| r.as_ms()),
        loss_pct: loss_pct(r),
        failure: match &r.outcome {
            Outcome::Down(f) => Some(f.to_string()),
            Outcome::Up { .. } => None,
        },
    }
}

/// Whether result `r` counts as up, on the page and in /metrics alike.
pub fn up(r: &ProbeResult) -> bool {
    matches!(r.outcome, Outcome::Up { .. })
}

/// The ICMP loss of result `r`, percent, when it sent echoes.
pub fn loss_pct(r: &ProbeResult) -> Option<f64> {
    r.icmp
        .filter(|s| s.sent > 0)
        .map(|s| f64::from(s.sent - s.received) * 100.0 / f64::from(s.sent))
}
