//! Which hops of a path are worth watching as `[isp] hops`.

use std::net::IpAddr;

use serde::Serialize;

use super::Path;

/// One hop to watch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Its distance.
    pub hop: u8,
    /// Its address.
    pub address: IpAddr,
    /// Loss over the trace, percent.
    pub loss_pct: f64,
    /// Mean round-trip time, ms.
    pub avg_ms: Option<f64>,
}

/// The ISP's first routers on `p`: hops 2 to `last_hop` that answered from
/// one address with no loss (a router's rate limit is not loss), public or carrier-grade NAT (never the
/// gateway, never a private LAN address), and in the same network as the
/// first of them (all CGNAT, or the same /16, /32 for IPv6), since the hops
/// after the ISP's are other networks. `Err` says why none qualifies.
pub fn isp_hops(p: &Path, last_hop: u8) -> Result<Vec<Suggestion>, String> {
    let mut out: Vec<Suggestion> = Vec::new();
    let mut why = Vec::new();
    for h in p.hops.iter().filter(|h| (2..=last_hop).contains(&h.ttl)) {
        let [addr] = h.addrs[..] else {
            why.push(match h.addrs.len() {
                0 => format!("hop {} never answered", h.ttl),
                _ => format!(
                    "hop {} answered from several addresses (load balancing)",
                    h.ttl
                ),
            });
            break;
        };
        if h.loss_pct > 0.0 || !h.answered() {
            why.push(format!(
                "hop {} {addr} lost {:.0}% of probes",
                h.ttl, h.loss_pct
            ));
            break;
        }
        if !public_or_cgnat(addr) {
            why.push(format!(
                "hop {} {addr} is a private address (a second router of yours?)",
                h.ttl
            ));
            continue;
        }
        if out
            .first()
            .is_some_and(|first| !same_network(first.address, addr))
            || addr == p.dest
        {
            break;
        }
        out.push(Suggestion {
            hop: h.ttl,
            address: addr,
            loss_pct: h.loss_pct,
            avg_ms: h.avg_ms,
        });
    }
    if out.is_empty() {
        let reason = if why.is_empty() {
            format!("the path has no hop between 2 and {last_hop} before the destination")
        } else {
            why.join("; ")
        };
        return Err(reason);
    }
    Ok(out)
}

fn cgnat(a: IpAddr) -> bool {
    matches!(a, IpAddr::V4(v) if v.octets()[0] == 100 && (v.octets()[1] & 0xc0) == 64)
}

fn public_or_cgnat(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            cgnat(a)
                || !(v.is_private()
                    || v.is_loopback()
                    || v.is_link_local()
                    || v.is_unspecified()
                    || v.is_broadcast())
        }
        IpAddr::V6(v) => (v.segments()[0] & 0xe000) == 0x2000,
    }
}

fn same_network(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            (cgnat(a) && cgnat(b)) || x.octets()[..2] == y.octets()[..2]
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => x.segments()[..2] == y.segments()[..2],
        _ => false,
    }
}
