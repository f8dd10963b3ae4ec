//! The core sections: `[monitor]`, what is probed (`[gateway]`, `[isp]`,
//! `[[target]]`, `[dns]`, `[[http]]`), `[alerts]` and `[path]`.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::{quoted, Span, Validator, UP_TO_30_DAYS};
use crate::config::builtin::default_monitor;
use crate::config::raw::{RawCore, RawDns, RawHttp, RawIsp, RawTarget, SpannedStr};
use crate::config::{
    Core, DnsConfig, DnsType, Family, GatewayAddress, GatewayConfig, HttpConfig, IspConfig,
    MonitorConfig, PathConfig, ProbeWord, ProbeWords, TargetConfig, TargetName,
};

const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

const INTERVAL: Span = Duration::from_millis(100)..=Duration::from_secs(86_400);
const TIMEOUT: Span = Duration::from_millis(10)..=Duration::from_secs(3600);
const DEGRADED_RTT: Span = Duration::from_millis(1)..=Duration::from_secs(60);

impl Validator<'_> {
    /// The core sections, each from its raw form (absent ones get their
    /// defaults); `words` are those a `probes` list may hold.
    pub fn core(&mut self, raw: RawCore, words: &ProbeWords) -> Core {
        let monitor = self.monitor(raw.monitor.unwrap_or_default());
        let gateway = GatewayConfig {
            address: match raw.gateway.as_ref().and_then(|g| g.address.as_ref()) {
                None => GatewayAddress::Auto,
                Some(a) if a.get_ref() == "auto" => GatewayAddress::Auto,
                Some(a) => self
                    .ip(a, "gateway.address", "must be \"auto\" or an IP address")
                    .map_or(GatewayAddress::Auto, GatewayAddress::Ip),
            },
            probes: self.probes(raw.gateway.and_then(|g| g.probes), "gateway.probes", words),
        };
        Core {
            monitor,
            gateway,
            isp: raw.isp.map(|i| self.isp(i, words)).unwrap_or_default(),
            targets: self.targets(raw.target.unwrap_or_default(), words),
            dns: raw.dns.map(|d| self.dns(d)),
            http: self.http(raw.http.unwrap_or_default()),
            alerts: self.alerts(raw.alerts.unwrap_or_default()),
            path: self.path(raw.path.unwrap_or_default()),
        }
    }

    fn monitor(&mut self, m: crate::config::raw::RawMonitor) -> MonitorConfig {
        let mut out = default_monitor(
            m.log_dir.as_deref().map(PathBuf::from),
            m.state_dir.as_deref().map(PathBuf::from),
        );
        if let Some(d) = self.duration(m.interval.as_ref(), "monitor.interval", INTERVAL) {
            out.interval = d;
        }
        if let Some(d) = self.duration(m.timeout.as_ref(), "monitor.timeout", TIMEOUT) {
            out.timeout = d;
        }
        self.timeout_within_interval(&m, &out);
        if let Some(n) = self.count(m.down_after.as_ref(), "monitor.down_after", 1000) {
            out.down_after = n;
        }
        if let Some(n) = self.count(m.up_after.as_ref(), "monitor.up_after", 1000) {
            out.up_after = n;
        }
        if let Some(n) = self.count(m.pings.as_ref(), "monitor.pings", 100) {
            out.pings = n;
        }
        if let Some(p) = &m.degraded_loss_pct {
            match u8::try_from(*p.get_ref()) {
                Ok(v @ 1..=100) => out.degraded_loss_pct = v,
                _ => self.problem(
                    Some(p.span()),
                    "monitor.degraded_loss_pct",
                    &p.get_ref().to_string(),
                    "must be a whole percentage from 1 to 100",
                ),
            }
        }
        if let Some(d) = self.duration(
            m.degraded_rtt.as_ref(),
            "monitor.degraded_rtt",
            DEGRADED_RTT,
        ) {
            out.degraded_rtt = d;
        }
        out.log_level = m.log_level.as_ref().and_then(|l| self.log_level(l));
        out
    }

    /// The timeout bounds every probe of a check, so it must fit in the interval.
    fn timeout_within_interval(&mut self, m: &crate::config::raw::RawMonitor, out: &MonitorConfig) {
        if out.timeout <= out.interval {
            return;
        }
        let (span, key, value) = match &m.timeout {
            Some(t) => (Some(t.span()), "monitor.timeout", quoted(Some(t))),
            None => (
                m.interval.as_ref().map(Spanned::span),
                "monitor.interval",
                quoted(m.interval.as_ref()),
            ),
        };
        let rule = format!(
            "monitor.timeout ({}) must not exceed monitor.interval ({})",
            humantime::format_duration(out.timeout),
            humantime::format_duration(out.interval)
        );
        self.problem(span, key, &value, &rule);
    }

    fn log_level(&mut self, level: &SpannedStr) -> Option<String> {
        let l = level.get_ref().to_ascii_lowercase();
        if LOG_LEVELS.contains(&l.as_str()) {
            return Some(l);
        }
        self.problem(
            Some(level.span()),
            "monitor.log_level",
            &quoted(Some(level)),
            "must be one of error, warn, info, debug, trace",
        );
        None
    }

    fn path(&mut self, raw: crate::config::raw::RawPath) -> PathConfig {
        let mut out = PathConfig {
            enabled: raw.enabled.unwrap_or(true),
            ..PathConfig::default()
        };
        if let Some(n) = self.count(raw.rounds.as_ref(), "path.rounds", 100) {
            out.rounds = n;
        }
        if let Some(n) = self.count(raw.max_hops.as_ref(), "path.max_hops", 64) {
            out.max_hops = u8::try_from(n.get()).unwrap_or(64);
        }
        if let Some(d) = self.duration(
            raw.baseline_every.as_ref(),
            "path.baseline_every",
            UP_TO_30_DAYS,
        ) {
            if !d.is_zero() && d < Duration::from_secs(1) {
                let v = raw.baseline_every.as_ref();
                self.problem(
                    v.map(Spanned::span),
                    "path.baseline_every",
                    &quoted(v),
                    "must be \"0s\" (no baseline) or at least 1s",
                );
            } else {
                out.baseline_every = d;
            }
        }
        out
    }

    fn isp(&mut self, raw: RawIsp, words: &ProbeWords) -> IspConfig {
        let hops = raw
            .hops
            .iter()
            .filter_map(|h| self.ip(h, "isp.hops", "must be an IP address"))
            .collect();
        IspConfig {
            hops,
            probes: self.probes(raw.probes, "isp.probes", words),
        }
    }

    fn targets(&mut self, raw: Vec<RawTarget>, words: &ProbeWords) -> Vec<TargetConfig> {
        if raw.is_empty() {
            self.problem(
                None,
                "target",
                "(none)",
                "at least one [[target]] is needed to tell whether the internet is reachable",
            );
        }
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for (i, t) in raw.into_iter().enumerate() {
            self.plain_name(&t.name, &format!("target[{i}].name"));
            let name = t.name.get_ref().trim().to_owned();
            if name.is_empty() {
                let key = format!("target[{i}].name");
                self.problem(Some(t.name.span()), &key, "\"\"", "must not be empty");
            } else if !names.insert(name.clone()) {
                let key = format!("target[{i}].name");
                self.problem(
                    Some(t.name.span()),
                    &key,
                    &quoted(Some(&t.name)),
                    "is used by another [[target]]; names must be unique",
                );
            }
            let address = self.ip(
                &t.address,
                &format!("target[{i}].address"),
                "must be an IP address (targets are reached by IP, not by name)",
            );
            let probes = self.probes(t.probes, &format!("target[{i}].probes"), words);
            if let Some(address) = address {
                out.push(TargetConfig {
                    name: TargetName(name),
                    address,
                    probes,
                });
            }
        }
        out
    }

    fn dns(&mut self, raw: RawDns) -> DnsConfig {
        if raw.servers.is_empty() {
            self.problem(None, "dns.servers", "[]", "must list at least one server");
        }
        if raw.names.is_empty() {
            self.problem(None, "dns.names", "[]", "must list at least one name");
        }
        let servers = raw
            .servers
            .iter()
            .filter_map(|s| {
                let text = s.get_ref().trim();
                let parsed = text.parse::<SocketAddr>().ok().or_else(|| {
                    text.parse::<IpAddr>()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, 53))
                });
                if parsed.is_none() {
                    self.problem(
                        Some(s.span()),
                        "dns.servers",
                        &quoted(Some(s)),
                        "must be an IP address, or IP:PORT ([IPv6]:PORT)",
                    );
                }
                parsed
            })
            .collect();
        let names = raw
            .names
            .iter()
            .filter_map(|n| {
                let ok = hickory_proto::rr::Name::from_ascii(n.get_ref()).is_ok()
                    && !n.get_ref().trim().is_empty();
                if !ok {
                    self.problem(
                        Some(n.span()),
                        "dns.names",
                        &quoted(Some(n)),
                        "must be a valid DNS name",
                    );
                }
                ok.then(|| n.get_ref().trim().to_owned())
            })
            .collect();
        let mut types = Vec::new();
        for t in raw.types.iter().flatten() {
            let ty = match t.get_ref().as_str() {
                "A" => DnsType::A,
                "AAAA" => DnsType::Aaaa,
                _ => {
                    self.problem(
                        Some(t.span()),
                        "dns.types",
                        &quoted(Some(t)),
                        "must be \"A\" or \"AAAA\"",
                    );
                    continue;
                }
            };
            if types.contains(&ty) {
                self.problem(
                    Some(t.span()),
                    "dns.types",
                    &quoted(Some(t)),
                    "is listed twice",
                );
            } else {
                types.push(ty);
            }
        }
        if types.is_empty() {
            types.push(DnsType::A);
        }
        DnsConfig {
            servers,
            names,
            types,
        }
    }

    fn http(&mut self, raw: Vec<RawHttp>) -> Vec<HttpConfig> {
        let mut out = Vec::new();
        for (i, h) in raw.into_iter().enumerate() {
            let url = self.web_url(&h.url, &format!("http[{i}].url"));
            let mut expect_status = Vec::new();
            for s in h.expect_status.unwrap_or_default() {
                match u16::try_from(*s.get_ref()) {
                    Ok(code @ 100..=599) => expect_status.push(code),
                    _ => self.problem(
                        Some(s.span()),
                        &format!("http[{i}].expect_status"),
                        &s.get_ref().to_string(),
                        "must be an HTTP status from 100 to 599",
                    ),
                }
            }
            if expect_status.is_empty() {
                expect_status.push(200);
            }
            self.plain_name(&h.name, &format!("http[{i}].name"));
            let family = self.choice(
                h.family.as_ref(),
                &format!("http[{i}].family"),
                &[
                    ("any", None),
                    ("4", Some(Family::V4)),
                    ("6", Some(Family::V6)),
                ],
            );
            if let Some(url) = url {
                out.push(HttpConfig {
                    name: h.name.get_ref().trim().to_owned(),
                    url,
                    expect_status,
                    family,
                });
            }
        }
        out
    }

    fn probes(
        &mut self,
        v: Option<Vec<SpannedStr>>,
        key: &str,
        words: &ProbeWords,
    ) -> Vec<ProbeWord> {
        let Some(list) = v else {
            return vec![ProbeWord::ICMP];
        };
        if list.is_empty() {
            self.problem(None, key, "[]", "must list at least one probe");
        }
        let mut out = Vec::new();
        for p in list {
            match (words.parse)(p.get_ref().trim()) {
                Some(w) if !out.contains(&w) => out.push(w),
                Some(_) => self.problem(Some(p.span()), key, &quoted(Some(&p)), "is listed twice"),
                None => {
                    let rule = format!("must be {}", words.forms.join(" or "));
                    self.problem(Some(p.span()), key, &quoted(Some(&p)), &rule);
                }
            }
        }
        out
    }

    fn ip(&mut self, v: &SpannedStr, key: &str, rule: &str) -> Option<IpAddr> {
        match v.get_ref().parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.problem(Some(v.span()), key, &quoted(Some(v)), rule);
                None
            }
        }
    }
}
