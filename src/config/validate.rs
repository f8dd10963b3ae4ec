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
        let location = inner
            .span()
            .map(|s| Location::of_offset(text, s.start))
            .unwrap_or_default();
        ConfigError::Parse {
            path: path.to_owned(),
            location,
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            message: inner.message().trim().to_owned(),
        }
    })?;
    let mut v = Validator {
        text,
        problems: Vec::new(),
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

/// The built-in default described in DESIGN.md.
pub fn built_in() -> Config {
    let resolvers: [(&str, IpAddr); 3] = [
        ("cloudflare", IpAddr::from([1, 1, 1, 1])),
        ("google", IpAddr::from([8, 8, 8, 8])),
        ("quad9", IpAddr::from([9, 9, 9, 9])),
    ];
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
        }),
        http: vec![HttpConfig {
            name: "example".into(),
            url: Url::parse("https://example.com/").expect("static URL parses"),
            expect_status: vec![200],
        }],
        alerts: AlertsConfig::default(),
        notify: NotifyConfig::default(),
        log_watch: Vec::new(),
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

struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn problem(&mut self, at: Option<std::ops::Range<usize>>, key: &str, value: &str, rule: &str) {
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
        }
    }

    fn log_watch(&mut self, i: usize, w: RawLogWatch) -> Option<LogWatchConfig> {
        let key = |k: &str| format!("log_watch[{i}].{k}");
        let idle_after = self.duration(Some(&w.idle_after), &key("idle_after"));
        let critical_after = w
            .critical_after
            .as_ref()
            .and_then(|d| self.duration(Some(d), &key("critical_after")));
        let repeat_every = w
            .repeat_every
            .as_ref()
            .and_then(|d| self.duration(Some(d), &key("repeat_every")));
        if idle_after.is_some_and(|d| d.is_zero()) {
            self.problem(
                Some(w.idle_after.span()),
                &key("idle_after"),
                &quoted(Some(&w.idle_after)),
                "must be greater than zero",
            );
        }
        if let (Some(idle), Some(crit), Some(c)) = (idle_after, critical_after, &w.critical_after) {
            if crit < idle {
                self.problem(
                    Some(c.span()),
                    &key("critical_after"),
                    &quoted(Some(c)),
                    "must not be shorter than idle_after",
                );
            }
        }
        Some(LogWatchConfig {
            path: PathBuf::from(&w.path),
            service: w.service.get_ref().trim().to_owned(),
            idle_after: idle_after?,
            critical_after,
            repeat_every,
        })
    }

    fn alerts(&mut self, raw: RawAlerts) -> AlertsConfig {
        let mut out = AlertsConfig::default();
        if let Some(d) = self.duration(raw.warn_after.as_ref(), "alerts.warn_after") {
            out.warn_after = d;
        }
        if let Some(d) = self.duration(raw.critical_after.as_ref(), "alerts.critical_after") {
            out.critical_after = d;
        }
        if let Some(d) = self.duration(raw.repeat_every.as_ref(), "alerts.repeat_every") {
            out.repeat_every = d;
        }
        if out.critical_after < out.warn_after {
            let at = raw.critical_after.as_ref().or(raw.warn_after.as_ref());
            let rule = format!(
                "alerts.critical_after ({}) must not be shorter than alerts.warn_after ({})",
                humantime::format_duration(out.critical_after),
                humantime::format_duration(out.warn_after)
            );
            self.problem(
                at.map(Spanned::span),
                "alerts.critical_after",
                &quoted(raw.critical_after.as_ref()),
                &rule,
            );
        }
        for (i, w) in raw.maintenance.into_iter().enumerate() {
            let key = |k: &str| format!("alerts.maintenance[{i}].{k}");
            let from = self.time_of_day(&w.from, &key("from"));
            let to = self.time_of_day(&w.to, &key("to"));
            let days = w
                .days
                .unwrap_or_default()
                .iter()
                .filter_map(|d| {
                    let day = d.get_ref().parse::<chrono::Weekday>().ok();
                    if day.is_none() {
                        self.problem(
                            Some(d.span()),
                            &key("days"),
                            &quoted(Some(d)),
                            "must be a weekday: mon, tue, wed, thu, fri, sat or sun",
                        );
                    }
                    day
                })
                .collect();
            if let (Some(from), Some(to)) = (from, to) {
                if from == to {
                    self.problem(
                        Some(w.to.span()),
                        &key("to"),
                        &quoted(Some(&w.to)),
                        "must differ from `from` (a window may cross midnight)",
                    );
                }
                out.maintenance
                    .push(crate::alert::Window { from, to, days });
            }
        }
        out
    }

    fn time_of_day(&mut self, v: &SpannedStr, key: &str) -> Option<chrono::NaiveTime> {
        let t = chrono::NaiveTime::parse_from_str(v.get_ref(), "%H:%M").ok();
        if t.is_none() {
            self.problem(
                Some(v.span()),
                key,
                &quoted(Some(v)),
                "must be a local time of day as HH:MM",
            );
        }
        t
    }

    fn notify(&mut self, raw: RawNotify) -> NotifyConfig {
        let max_age = self
            .duration(raw.max_age.as_ref(), "notify.max_age")
            .unwrap_or(NotifyConfig::default().max_age);
        NotifyConfig {
            max_age,
            email: raw.email.and_then(|e| self.email(e)),
            teams: raw.teams.and_then(|t| self.teams(t)),
            telegram: raw.telegram.and_then(|t| self.telegram(t)),
        }
    }

    /// A secret given as `key` or as `key_file` (a path, or a systemd credential name).
    fn secret(
        &mut self,
        key: &str,
        inline: Option<SpannedStr>,
        file: Option<SpannedStr>,
        required: bool,
    ) -> Option<Secret> {
        match (inline, file) {
            (Some(v), Some(f)) => {
                self.problem(
                    Some(f.span()),
                    &format!("{key}_file"),
                    &quoted(Some(&f)),
                    &format!("give {key} or {key}_file, not both"),
                );
                let _ = v;
                None
            }
            (Some(v), None) => Some(secret::inline(v.get_ref())),
            (None, Some(f)) => {
                let found = secret::secret_path(f.get_ref()).and_then(|p| secret::read_secret(&p));
                match found {
                    Ok(s) => Some(s),
                    Err(rule) => {
                        self.problem(
                            Some(f.span()),
                            &format!("{key}_file"),
                            &quoted(Some(&f)),
                            &rule,
                        );
                        None
                    }
                }
            }
            (None, None) => {
                if required {
                    self.problem(
                        None,
                        key,
                        "(none)",
                        &format!("is required: give {key} or {key}_file"),
                    );
                }
                None
            }
        }
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

    fn severity(&mut self, v: Option<SpannedStr>, key: &str) -> Severity {
        self.choice(
            v.as_ref(),
            key,
            &[
                ("warning", Severity::Warning),
                ("critical", Severity::Critical),
            ],
        )
    }

    fn email(&mut self, e: RawEmail) -> Option<EmailConfig> {
        let tls = self.choice(
            e.tls.as_ref(),
            "notify.email.tls",
            &[
                ("starttls", TlsMode::Starttls),
                ("tls", TlsMode::Tls),
                ("none", TlsMode::None),
            ],
        );
        let default_port = match tls {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        };
        let port = match &e.port {
            None => default_port,
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(port) if port > 0 => port,
                _ => {
                    self.problem(
                        Some(p.span()),
                        "notify.email.port",
                        &p.get_ref().to_string(),
                        "must be a port from 1 to 65535",
                    );
                    default_port
                }
            },
        };
        let mut address = |v: &SpannedStr, key: &str| {
            let a = v.get_ref().trim();
            let ok = a
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && (d.contains('.') || d == "localhost"));
            if !ok {
                self.problem(
                    Some(v.span()),
                    key,
                    &quoted(Some(v)),
                    "must be an email address",
                );
            }
            a.to_owned()
        };
        let from = address(&e.from, "notify.email.from");
        let to: Vec<String> = e.to.iter().map(|t| address(t, "notify.email.to")).collect();
        if to.is_empty() {
            self.problem(
                None,
                "notify.email.to",
                "[]",
                "must list at least one recipient",
            );
        }
        let password = self.secret("notify.email.password", e.password, e.password_file, false);
        let min_severity = self.severity(e.min_severity, "notify.email.min_severity");
        Some(EmailConfig {
            enabled: e.enabled.unwrap_or(true),
            server: e.server.get_ref().trim().to_owned(),
            port,
            tls,
            username: e.username,
            password,
            from,
            to,
            tls_ca_file: e.tls_ca_file.map(PathBuf::from),
            min_severity,
        })
    }

    fn teams(&mut self, t: RawTeams) -> Option<TeamsConfig> {
        let format = self.choice(
            t.format.as_ref(),
            "notify.teams.format",
            &[
                ("workflows", TeamsFormat::Workflows),
                ("messagecard", TeamsFormat::Messagecard),
            ],
        );
        // The URL is checked but never echoed: it is the secret.
        let span = t.webhook_url.as_ref().map(Spanned::span);
        let webhook_url = self.secret(
            "notify.teams.webhook_url",
            t.webhook_url,
            t.webhook_url_file,
            true,
        )?;
        if !Url::parse(webhook_url.expose()).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            self.problem(
                span,
                "notify.teams.webhook_url",
                "(redacted)",
                "must be an http:// or https:// URL",
            );
        }
        let min_severity = self.severity(t.min_severity, "notify.teams.min_severity");
        Some(TeamsConfig {
            enabled: t.enabled.unwrap_or(true),
            webhook_url,
            format,
            min_severity,
        })
    }

    fn telegram(&mut self, t: RawTelegram) -> Option<TelegramConfig> {
        let chat_id = match t.chat_id.get_ref() {
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            other => {
                self.problem(
                    Some(t.chat_id.span()),
                    "notify.telegram.chat_id",
                    &other.to_string(),
                    "must be a chat number or \"@channelname\"",
                );
                String::new()
            }
        };
        let api_base = match &t.api_base {
            None => Url::parse("https://api.telegram.org").expect("static URL parses"),
            Some(b) => match Url::parse(b.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => u,
                _ => {
                    self.problem(
                        Some(b.span()),
                        "notify.telegram.api_base",
                        &quoted(Some(b)),
                        "must be an http:// or https:// URL",
                    );
                    Url::parse("https://api.telegram.org").expect("static URL parses")
                }
            },
        };
        let bot_token = self.secret(
            "notify.telegram.bot_token",
            t.bot_token,
            t.bot_token_file,
            true,
        )?;
        let min_severity = self.severity(t.min_severity, "notify.telegram.min_severity");
        Some(TelegramConfig {
            enabled: t.enabled.unwrap_or(true),
            bot_token,
            chat_id,
            api_base,
            min_severity,
        })
    }

    fn monitor(&mut self, m: super::raw::RawMonitor) -> MonitorConfig {
        let mut out = default_monitor(m.log_dir.map(PathBuf::from), m.state_dir.map(PathBuf::from));
        let min_interval = Duration::from_millis(100);
        if let Some(d) = self.duration(m.interval.as_ref(), "monitor.interval") {
            if d < min_interval {
                self.problem(
                    m.interval.as_ref().map(Spanned::span),
                    "monitor.interval",
                    &quoted(m.interval.as_ref()),
                    "must be at least 100ms",
                );
            } else {
                out.interval = d;
            }
        }
        if let Some(d) = self.duration(m.timeout.as_ref(), "monitor.timeout") {
            if d.is_zero() {
                self.problem(
                    m.timeout.as_ref().map(Spanned::span),
                    "monitor.timeout",
                    &quoted(m.timeout.as_ref()),
                    "must be greater than zero",
                );
            } else {
                out.timeout = d;
            }
        }
        if out.timeout > out.interval {
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
        if let Some(d) = self.duration(m.degraded_rtt.as_ref(), "monitor.degraded_rtt") {
            out.degraded_rtt = d;
        }
        if let Some(level) = m.log_level {
            let l = level.get_ref().to_ascii_lowercase();
            if LOG_LEVELS.contains(&l.as_str()) {
                out.log_level = Some(l);
            } else {
                self.problem(
                    Some(level.span()),
                    "monitor.log_level",
                    &quoted(Some(&level)),
                    "must be one of error, warn, info, debug, trace",
                );
            }
        }
        out
    }

    fn duration(&mut self, v: Option<&SpannedStr>, key: &str) -> Option<Duration> {
        let v = v?;
        match humantime::parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(
                    Some(v.span()),
                    key,
                    &quoted(Some(v)),
                    &format!("must be a duration such as \"10s\" or \"2m\" ({e})"),
                );
                None
            }
        }
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

    fn ip(&mut self, v: &SpannedStr, key: &str, rule: &str) -> Option<IpAddr> {
        match v.get_ref().parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.problem(Some(v.span()), key, &quoted(Some(v)), rule);
                None
            }
        }
    }

    fn probes(&mut self, v: Option<Vec<SpannedStr>>, key: &str) -> Vec<ProbeKind> {
        let Some(list) = v else {
            return vec![ProbeKind::Icmp];
        };
        if list.is_empty() {
            self.problem(None, key, "[]", "must list at least one probe");
        }
        let mut out = Vec::new();
        for p in list {
            let s = p.get_ref().trim();
            let kind = if s == "icmp" {
                Some(ProbeKind::Icmp)
            } else {
                s.strip_prefix("tcp:")
                    .and_then(|port| port.parse::<NonZeroU16>().ok())
                    .map(ProbeKind::Tcp)
            };
            match kind {
                Some(k) if !out.contains(&k) => out.push(k),
                Some(_) => self.problem(Some(p.span()), key, &quoted(Some(&p)), "is listed twice"),
                None => self.problem(
                    Some(p.span()),
                    key,
                    &quoted(Some(&p)),
                    "must be \"icmp\" or \"tcp:PORT\" with PORT from 1 to 65535",
                ),
            }
        }
        out
    }

    fn isp(&mut self, raw: RawIsp) -> IspConfig {
        let hops = raw
            .hops
            .iter()
            .filter_map(|h| self.ip(h, "isp.hops", "must be an IP address"))
            .collect();
        IspConfig {
            hops,
            probes: self.probes(raw.probes, "isp.probes"),
        }
    }

    fn targets(&mut self, raw: Vec<RawTarget>) -> Vec<TargetConfig> {
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
            let probes = self.probes(t.probes, &format!("target[{i}].probes"));
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
        DnsConfig { servers, names }
    }

    fn http(&mut self, raw: Vec<RawHttp>) -> Vec<HttpConfig> {
        let mut out = Vec::new();
        for (i, h) in raw.into_iter().enumerate() {
            let url = match Url::parse(h.url.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
                Ok(_) => {
                    self.problem(
                        Some(h.url.span()),
                        &format!("http[{i}].url"),
                        &quoted(Some(&h.url)),
                        "must be an http:// or https:// URL",
                    );
                    None
                }
                Err(e) => {
                    self.problem(
                        Some(h.url.span()),
                        &format!("http[{i}].url"),
                        &quoted(Some(&h.url)),
                        &format!("must be a URL ({e})"),
                    );
                    None
                }
            };
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
            if let Some(url) = url {
                out.push(HttpConfig {
                    name: h.name.get_ref().trim().to_owned(),
                    url,
                    expect_status,
                });
            }
        }
        out
    }
}

fn quoted(v: Option<&SpannedStr>) -> String {
    v.map_or_else(|| "(default)".to_owned(), |s| format!("{:?}", s.get_ref()))
}
