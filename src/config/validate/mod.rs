//! From raw file structs to a typed [`Config`], collecting every broken rule.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU16, NonZeroU32};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use url::Url;

use super::error::{ConfigError, Location, Problem};
use super::raw::{
    RawAlerts, RawConfig, RawDns, RawEmail, RawHttp, RawIsp, RawLogWatch, RawNotify, RawTarget,
    RawTeams, RawTelegram, SpannedStr,
};
use super::secret;
use super::*;

mod alerts;
mod network;
mod notify;

const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Parses TOML and validates it.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::new(text);
    let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        // Spanned values add a private segment to the path; it is not a key of the file.
        let key = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let offset = inner.span().map(|s| s.start);
        let location = offset
            .map(|o| Location::of_offset(text, o))
            .unwrap_or_default();
        // A value TOML itself refuses (a number too large) has no serde path:
        // the key is read from the file at the error's place.
        let key = match (key.as_str(), offset) {
            (".", Some(o)) => key_at(text, o).unwrap_or_else(|| "(top level)".into()),
            (".", None) => "(top level)".into(),
            _ => key,
        };
        // A secret's value must never be echoed, not even in a type error.
        let message = if is_secret_key(&key) {
            "must be a string (the value is not shown: it is a secret)".to_owned()
        } else {
            inner.message().trim().to_owned()
        };
        ConfigError::Parse {
            path: path.to_owned(),
            location,
            key,
            message,
        }
    })?;
    let mut v = Validator {
        text,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let config = v.config(raw, Source::File(path.to_owned()));
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            problems: v.problems,
        })
    }
}

/// `section.key` of the `key = value` line at byte `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim();
    let section = before[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    });
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_owned(),
    })
}

/// Whether `key` (a dotted path) holds a secret.
fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(
        last,
        "password" | "bot_token" | "webhook_url" | "basic_auth_password" | "bearer_token"
    )
}

/// The range of each duration key: wide enough for any real use, narrow
/// enough that no arithmetic on it overflows and no timer is absurd.
fn duration_range(key: &str) -> (Duration, Duration) {
    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);
    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);
    match key.rsplit('.').next().unwrap_or(key) {
        "interval" => (100 * MS, DAY),
        "timeout" => (10 * MS, HOUR),
        "degraded_rtt" => (MS, MIN),
        "max_age" => (SEC, 365 * DAY),
        "idle_after" => (SEC, 30 * DAY),
        "baseline_every" => (Duration::ZERO, 30 * DAY),
        "every" | "window" => (SEC, DAY),
        // warn_after, critical_after, repeat_every: zero is meaningful (at once; never).
        _ => (Duration::ZERO, 30 * DAY),
    }
}

/// A round duration as it is written in the file: `100ms`, `1m`, `30d`.
fn written(d: Duration) -> String {
    let ms = d.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    units
        .iter()
        .find(|(n, _)| ms.is_multiple_of(*n))
        .map_or_else(|| format!("{ms}ms"), |(n, u)| format!("{}{u}", ms / n))
}

/// The built-in default: gateway from the default route, three public resolvers
/// as ICMP, TCP/443 and DNS targets (their IPv6 addresses too when this host
/// has an IPv6 default route), one HTTPS check.
pub fn built_in() -> Config {
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
    let https = ProbeKind::Tcp(NonZeroU16::new(443).expect("443 is not zero"));
    Config {
        source: Source::BuiltIn,
        monitor: default_monitor(None, None),
        gateway: GatewayConfig {
            address: GatewayAddress::Auto,
            probes: vec![ProbeKind::Icmp],
        },
        isp: IspConfig::default(),
        targets: resolvers
            .iter()
            .chain(resolvers6.iter().filter(|_| ipv6))
            .map(|(name, address)| TargetConfig {
                name: TargetName((*name).to_owned()),
                address: *address,
                probes: vec![ProbeKind::Icmp, https],
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
        notify: NotifyConfig::default(),
        log_watch: Vec::new(),
        path: PathConfig::default(),
        serve: None,
        mqtt: None,
        sensors: SensorsConfig::default(),
        push: None,
        heartbeat: None,
        notes: Vec::new(),
    }
}

fn default_monitor(log_dir: Option<PathBuf>, state_dir: Option<PathBuf>) -> MonitorConfig {
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

/// Collects every broken rule while it turns raw sections into typed ones;
/// a feature module validates its own section through it.
pub(crate) struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
    /// Things worth saying that are not errors.
    notes: Vec<String>,
}

impl Validator<'_> {
    pub(crate) fn problem(
        &mut self,
        at: Option<std::ops::Range<usize>>,
        key: &str,
        value: &str,
        rule: &str,
    ) {
        self.problems.push(Problem {
            location: at
                .map(|r| Location::of_offset(self.text, r.start))
                .unwrap_or_default(),
            key: key.to_owned(),
            value: value.to_owned(),
            rule: rule.to_owned(),
        });
    }

    fn config(&mut self, raw: RawConfig, source: Source) -> Config {
        let monitor = self.monitor(raw.monitor);
        let gateway = GatewayConfig {
            address: match raw.gateway.address {
                None => GatewayAddress::Auto,
                Some(a) if a.get_ref() == "auto" => GatewayAddress::Auto,
                Some(a) => self
                    .ip(&a, "gateway.address", "must be \"auto\" or an IP address")
                    .map_or(GatewayAddress::Auto, GatewayAddress::Ip),
            },
            probes: self.probes(raw.gateway.probes, "gateway.probes"),
        };
        let isp = raw.isp.map(|i| self.isp(i)).unwrap_or_default();
        let targets = self.targets(raw.target);
        let dns = raw.dns.map(|d| self.dns(d));
        let http = self.http(raw.http);
        let alerts = self.alerts(raw.alerts.unwrap_or_default());
        let notify = raw.notify.map(|n| self.notify(n)).unwrap_or_default();
        let log_watch = raw
            .log_watch
            .into_iter()
            .enumerate()
            .filter_map(|(i, w)| self.log_watch(i, w))
            .collect();
        let path = self.path(raw.path.unwrap_or_default());
        let serve = raw.serve.and_then(|s| self.serve(s));
        let mqtt = raw.mqtt.and_then(|m| self.mqtt(m));
        let sensors = raw.sensors.map(|s| self.sensors(s)).unwrap_or_default();
        let push = raw.push.and_then(|p| self.push(p));
        let heartbeat = raw.heartbeat.and_then(|h| self.heartbeat(h));
        Config {
            source,
            monitor,
            gateway,
            isp,
            targets,
            dns,
            http,
            alerts,
            notify,
            log_watch,
            path,
            serve,
            mqtt,
            sensors,
            push,
            heartbeat,
            notes: std::mem::take(&mut self.notes),
        }
    }

    /// A name that ends up in CSV cells, journal lines and messages: no line
    /// breaks or other control characters, which would forge lines there.
    pub(crate) fn plain_name(&mut self, v: &SpannedStr, key: &str) {
        if v.get_ref().chars().any(char::is_control) {
            self.problem(
                Some(v.span()),
                key,
                &format!("{:?}", v.get_ref().escape_default().to_string()),
                "must not contain line breaks, tabs or other control characters",
            );
        }
    }

    /// An http:// or https:// URL; a bad one is shown redacted in the problem.
    pub(crate) fn web_url(&mut self, v: &SpannedStr, key: &str) -> Option<Url> {
        let shown = format!("{:?}", crate::util::redact(v.get_ref()));
        let rule = match Url::parse(v.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => return Some(u),
            Ok(_) => "must be an http:// or https:// URL".to_owned(),
            Err(e) => format!("must be a URL ({e})"),
        };
        self.problem(Some(v.span()), key, &shown, &rule);
        None
    }

    /// One of a fixed set of words; absent is the first.
    fn choice<T: Copy>(&mut self, v: Option<&SpannedStr>, key: &str, options: &[(&str, T)]) -> T {
        let Some(given) = v else {
            return options[0].1;
        };
        if let Some((_, t)) = options.iter().find(|(w, _)| *w == given.get_ref().as_str()) {
            return *t;
        }
        let words: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
        let rule = match words.split_last() {
            Some((last, [])) => format!("must be {last}"),
            Some((last, rest)) => format!("must be {} or {last}", rest.join(", ")),
            None => "has no valid value".into(),
        };
        self.problem(Some(given.span()), key, &quoted(Some(given)), &rule);
        options[0].1
    }

    /// A duration within the range [`duration_range`] gives `key`; a
    /// problem stating that range otherwise.
    pub(crate) fn duration(&mut self, v: Option<&SpannedStr>, key: &str) -> Option<Duration> {
        let v = v?;
        let d = match humantime::parse_duration(v.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    Some(v.span()),
                    key,
                    &quoted(Some(v)),
                    &format!("must be a duration such as \"10s\" or \"2m\" ({e})"),
                );
                return None;
            }
        };
        let (min, max) = duration_range(key);
        if (min..=max).contains(&d) {
            return Some(d);
        }
        let rule = if min.is_zero() {
            format!("must be at most {}", written(max))
        } else {
            format!("must be from {} to {}", written(min), written(max))
        };
        self.problem(Some(v.span()), key, &quoted(Some(v)), &rule);
        None
    }

    fn count(&mut self, v: Option<&Spanned<i64>>, key: &str, max: u32) -> Option<NonZeroU32> {
        let v = v?;
        match u32::try_from(*v.get_ref()).ok().and_then(NonZeroU32::new) {
            Some(n) if n.get() <= max => Some(n),
            _ => {
                let rule = format!("must be a whole number from 1 to {max}");
                self.problem(Some(v.span()), key, &v.get_ref().to_string(), &rule);
                None
            }
        }
    }
}

fn quoted(v: Option<&SpannedStr>) -> String {
    v.map_or_else(|| "(default)".to_owned(), |s| format!("{:?}", s.get_ref()))
}
