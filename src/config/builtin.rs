//! The built-in default, run when there is no config file: the gateway from
//! the default route, three public resolvers as targets and DNS servers, one
//! HTTPS check; logs and state where systemd says, else beside the binary.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{
    AlertsConfig, Core, DnsConfig, DnsType, Family, GatewayAddress, GatewayConfig, HttpConfig,
    IspConfig, MonitorConfig, PathConfig, ProbeWord, TargetConfig, TargetName,
};

impl Core {
    /// The built-in default: gateway from the default route, three public resolvers
    /// as ICMP, TCP/443 and DNS targets (their IPv6 addresses too when this host
    /// has an IPv6 default route), one HTTPS check.
    pub fn built_in() -> Core {
        let resolvers: [(&str, IpAddr); 3] = [
            ("cloudflare", IpAddr::from([1, 1, 1, 1])),
            ("google", IpAddr::from([8, 8, 8, 8])),
            ("quad9", IpAddr::from([9, 9, 9, 9])),
        ];
        let resolvers6: [(&str, IpAddr); 3] = [
            (
                "cloudflare-v6",
                IpAddr::from([0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111]),
            ),
            (
                "google-v6",
                IpAddr::from([0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888]),
            ),
            (
                "quad9-v6",
                IpAddr::from([0x2620, 0xfe, 0, 0, 0, 0, 0, 0xfe]),
            ),
        ];
        let ipv6 = crate::route::default_gateway(Family::V6).is_some();
        let https = ProbeWord::new("tcp:443");
        Core {
            monitor: default_monitor(None, None),
            gateway: GatewayConfig {
                address: GatewayAddress::Auto,
                probes: vec![ProbeWord::ICMP],
            },
            isp: IspConfig::default(),
            targets: resolvers
                .iter()
                .chain(resolvers6.iter().filter(|_| ipv6))
                .map(|(name, address)| TargetConfig {
                    name: TargetName((*name).to_owned()),
                    address: *address,
                    probes: vec![ProbeWord::ICMP, https.clone()],
                })
                .collect(),
            dns: Some(DnsConfig {
                servers: resolvers
                    .iter()
                    .map(|(_, ip)| SocketAddr::new(*ip, 53))
                    .collect(),
                names: vec!["example.com".into()],
                types: vec![DnsType::A],
            }),
            http: vec![HttpConfig {
                name: "example".into(),
                url: Url::parse("https://example.com/").expect("static URL parses"),
                expect_status: vec![200],
                family: None,
            }],
            alerts: AlertsConfig::default(),
            path: PathConfig::default(),
        }
    }
}

pub(super) fn default_monitor(
    log_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
) -> MonitorConfig {
    MonitorConfig {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        down_after: NonZeroU32::new(2).expect("2 is not zero"),
        up_after: NonZeroU32::new(2).expect("2 is not zero"),
        pings: NonZeroU32::new(3).expect("3 is not zero"),
        degraded_loss_pct: 20,
        degraded_rtt: Duration::from_millis(300),
        log_dir: log_dir.unwrap_or_else(|| systemd_dir("LOGS_DIRECTORY", "./logs")),
        state_dir: state_dir.unwrap_or_else(|| systemd_dir("STATE_DIRECTORY", "./state")),
        log_level: None,
    }
}

/// The first folder systemd gave in `var` (a colon-separated list), else `fallback`.
fn systemd_dir(var: &str, fallback: &str) -> PathBuf {
    std::env::var(var)
        .ok()
        .and_then(|v| {
            v.split(':')
                .next()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(fallback))
}
