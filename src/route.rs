//! What this host routes, read from the kernel's tables in /proc/self/net (not
//! /proc/net, which `ProcSubset=pid` hides): each family's default gateway, and
//! whether the host has a global IPv6 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::Family;

/// A default route's next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gateway {
    /// The next hop.
    pub addr: IpAddr,
    /// Interface index for IPv6 link-local next hops, else 0.
    pub scope_id: u32,
}

/// The default gateway of `family`; `None` when there is no default route.
/// An IPv6 one is usually link-local, and comes with its interface's index.
pub fn default_gateway(family: Family) -> Option<Gateway> {
    match family {
        Family::V4 => {
            let t = std::fs::read_to_string("/proc/self/net/route").ok()?;
            Some(Gateway {
                addr: IpAddr::V4(parse_v4(&t)?),
                scope_id: 0,
            })
        }
        Family::V6 => {
            let t = std::fs::read_to_string("/proc/self/net/ipv6_route").ok()?;
            let (addr, iface) = parse_v6(&t)?;
            let scope_id = if addr.is_unicast_link_local() {
                std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex"))
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?
            } else {
                0
            };
            Some(Gateway {
                addr: IpAddr::V6(addr),
                scope_id,
            })
        }
    }
}

/// Whether this host has a usable global IPv6 address (not tentative, not
/// failed duplicate detection); without one it cannot reach the IPv6 internet.
pub fn has_global_v6() -> bool {
    std::fs::read_to_string("/proc/self/net/if_inet6").is_ok_and(|t| parse_global_v6(&t))
}

/// Whether `/proc/net/if_inet6` text lists a usable global address.
pub fn parse_global_v6(text: &str) -> bool {
    const TENTATIVE: u32 = 0x40;
    const DAD_FAILED: u32 = 0x08;
    text.lines().any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(scope), Some(flags)) = (f.get(3), f.get(4)) else {
            return false;
        };
        let flags = u32::from_str_radix(flags, 16).unwrap_or(TENTATIVE);
        *scope == "00" && flags & (TENTATIVE | DAD_FAILED) == 0
    })
}

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;

/// The lowest-metric IPv4 default route's gateway from `/proc/net/route` text.
pub fn parse_v4(text: &str) -> Option<Ipv4Addr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let flags = u32::from_str_radix(f[3], 16).ok()?;
            let default = f[1] == "00000000" && f[7] == "00000000";
            if !default || flags & (RTF_UP | RTF_GATEWAY) != RTF_UP | RTF_GATEWAY {
                return None;
            }
            // The kernel prints the address in host byte order; on the
            // little-endian machines this runs on that reverses the octets.
            let gw = u32::from_str_radix(f[2], 16).ok()?;
            let metric: u32 = f[6].parse().ok()?;
            Some((metric, Ipv4Addr::from(gw.to_le_bytes())))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, gw)| gw)
}

/// The lowest-metric IPv6 default route's next hop and interface from `/proc/net/ipv6_route`.
pub fn parse_v6(text: &str) -> Option<(Ipv6Addr, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[0] != "0".repeat(32) || f[1] != "00" {
                return None;
            }
            let hop = u128::from_str_radix(f[4], 16).ok()?;
            let flags = u32::from_str_radix(f[8], 16).ok()?;
            if hop == 0 || flags & RTF_UP == 0 {
                return None;
            }
            let metric = u32::from_str_radix(f[5], 16).ok()?;
            Some((metric, Ipv6Addr::from(hop), f[9].to_owned()))
        })
        .min_by_key(|(metric, _, _)| *metric)
        .map(|(_, hop, iface)| (hop, iface))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
wlan0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn picks_lowest_metric_default_route() {
        assert_eq!(parse_v4(ROUTE), Some(Ipv4Addr::new(192, 168, 2, 1)));
    }

    #[test]
    fn no_default_route_is_none() {
        let only_lan = ROUTE
            .lines()
            .take(1)
            .chain(ROUTE.lines().skip(3))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_v4(&only_lan), None);
    }

    #[test]
    fn a_global_ipv6_address_is_found_and_link_local_or_tentative_ones_are_not() {
        let link_local = "fe800000000000000000000000000001 02 40 20 80     eth0\n";
        let global = "20010db8000000000000000000000002 02 40 00 80     eth0\n";
        let tentative = "20010db8000000000000000000000002 02 40 00 c0     eth0\n";
        assert!(!parse_global_v6(link_local));
        assert!(parse_global_v6(&format!("{link_local}{global}")));
        assert!(!parse_global_v6(tentative));
    }

    #[test]
    fn ipv6_default_route_with_link_local_hop() {
        let t = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
                 fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";
        assert_eq!(
            parse_v6(t),
            Some(("fe80::1".parse().unwrap(), "eth0".to_owned()))
        );
    }
}
