//! Configuration's shared pieces, and the core sections.
//!
//! Every section of the file is read in two layers: a raw form that mirrors
//! the file and refuses unknown keys, and a typed form that a [`Validator`]
//! makes from it, collecting every broken rule. A module that owns a section
//! (a channel, a sensor, a surface) holds both, as a [`Section`]; this module
//! holds what they share ([`Validator`], [`Secret`], [`Window`],
//! [`Severity`], the errors, the loader's reading of the file) and the core
//! sections every part reads ([`Core`]: monitor, gateway, isp, targets, dns,
//! http, alerts, path). The whole file, with every feature's section, is
//! `daemon::config::Config`.

mod builtin;
mod error;
pub mod load;
pub mod raw;
mod secret;
#[macro_use]
mod section;
mod validate;
mod window;

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

pub use error::ConfigError;
pub use load::DEFAULT_PATH;
pub use secret::Secret;
pub use section::{subkey, Section, Slots, Spliced, Table};
pub use validate::{quoted, Span, Validator, SECOND_TO_30_DAYS, SECOND_TO_DAY, UP_TO_30_DAYS};
pub use window::Window;

/// The core sections: what is probed and when, how a check is judged, when
/// a condition alerts, and how paths are traced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Core {
    /// `[monitor]`
    pub monitor: MonitorConfig,
    /// `[gateway]`
    pub gateway: GatewayConfig,
    /// `[isp]`
    #[serde(skip_serializing_if = "IspConfig::is_empty")]
    pub isp: IspConfig,
    /// `[[target]]`: internet targets reached by IP.
    #[serde(rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// `[dns]`, if DNS is checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsConfig>,
    /// `[[http]]`
    pub http: Vec<HttpConfig>,
    /// `[alerts]`: when conditions become alerts.
    pub alerts: AlertsConfig,
    /// `[path]`: traces to the targets on outages and as a baseline.
    pub path: PathConfig,
}

/// `[path]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathConfig {
    /// Whether the daemon traces at all.
    pub enabled: bool,
    /// Rounds of probes per trace.
    pub rounds: NonZeroU32,
    /// A baseline trace per target this often; zero is never.
    #[serde(serialize_with = "ser_duration")]
    pub baseline_every: Duration,
    /// The highest TTL tried.
    pub max_hops: u8,
}

impl Default for PathConfig {
    fn default() -> PathConfig {
        PathConfig {
            enabled: true,
            rounds: NonZeroU32::new(10).expect("10 is not zero"),
            baseline_every: Duration::from_secs(15 * 60),
            max_hops: 30,
        }
    }
}

/// Where a config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// The built-in default, used when the default path does not exist.
    BuiltIn,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::BuiltIn => f.write_str("built-in default"),
        }
    }
}

/// `[monitor]`: timing, thresholds and where files go.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorConfig {
    /// Time between checks.
    #[serde(serialize_with = "ser_duration")]
    pub interval: Duration,
    /// Bound on every single probe attempt.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Consecutive failing checks before an outage starts.
    pub down_after: NonZeroU32,
    /// Consecutive good checks before an outage ends.
    pub up_after: NonZeroU32,
    /// Echo requests per ICMP probe per check.
    pub pings: NonZeroU32,
    /// Loss (percent) at or above which a reachable internet is DEGRADED.
    pub degraded_loss_pct: u8,
    /// Median internet RTT at or above which the connection is DEGRADED.
    #[serde(serialize_with = "ser_duration")]
    pub degraded_rtt: Duration,
    /// Folder of the CSV logs.
    pub log_dir: PathBuf,
    /// Folder of the persisted monitor state.
    pub state_dir: PathBuf,
    /// Log level when `RUST_LOG` is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// `[gateway]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayConfig {
    /// The gateway's address, or `auto` for the default route's.
    pub address: GatewayAddress,
    /// How the gateway is probed.
    pub probes: Vec<ProbeWord>,
}

/// The gateway address: fixed, or read from the default route at every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayAddress {
    /// Read from the default route each check; no default route is a LAN failure.
    Auto,
    /// A fixed address.
    Ip(IpAddr),
}

impl Serialize for GatewayAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GatewayAddress::Auto => s.serialize_str("auto"),
            GatewayAddress::Ip(ip) => s.collect_str(ip),
        }
    }
}

/// `[isp]`: hops between the gateway and the internet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IspConfig {
    /// The ISP's routers to probe; empty when not configured.
    pub hops: Vec<IpAddr>,
    /// How each hop is probed.
    pub probes: Vec<ProbeWord>,
}

impl IspConfig {
    /// No hops configured.
    pub fn is_empty(&self) -> bool {
        self.hops.is_empty()
    }
}

impl Default for IspConfig {
    fn default() -> IspConfig {
        IspConfig {
            hops: Vec::new(),
            probes: vec![ProbeWord::ICMP],
        }
    }
}

/// One internet target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetConfig {
    /// Its name in logs.
    pub name: TargetName,
    /// Its address; targets are reached by IP, never by name.
    pub address: IpAddr,
    /// How it is probed.
    pub probes: Vec<ProbeWord>,
}

/// A target's name as given in the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TargetName(pub String);

impl std::fmt::Display for TargetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[dns]`: servers asked directly, and the names asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsConfig {
    /// Servers, each with its port (53 unless given).
    #[serde(serialize_with = "ser_dns_servers")]
    pub servers: Vec<SocketAddr>,
    /// Names to resolve.
    pub names: Vec<String>,
    /// The questions asked for each name: A, AAAA or both.
    pub types: Vec<DnsType>,
}

/// A DNS question type the probe asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DnsType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    #[serde(rename = "AAAA")]
    Aaaa,
}

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    /// IPv4.
    #[serde(rename = "ipv4")]
    V4,
    /// IPv6.
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// Both, IPv4 first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    /// `IPv4` or `IPv6`, as sentences say it.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// `ipv4` or `ipv6`, as labels and JSON keys say it.
    pub fn label(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    /// The other one.
    pub fn other(self) -> Family {
        match self {
            Family::V4 => Family::V6,
            Family::V6 => Family::V4,
        }
    }
}

/// One `[[http]]` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpConfig {
    /// Its name in logs.
    pub name: String,
    /// The URL fetched with GET.
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    /// Statuses that count as up.
    pub expect_status: Vec<u16>,
    /// The family it must connect over; `None` ("any"): whichever answers first.
    #[serde(serialize_with = "ser_family")]
    pub family: Option<Family>,
}

fn ser_family<S: Serializer>(f: &Option<Family>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match f {
        None => "any",
        Some(Family::V4) => "4",
        Some(Family::V6) => "6",
    })
}

/// `[alerts]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertsConfig {
    /// WARNING once a condition has lasted this long.
    #[serde(serialize_with = "ser_duration")]
    pub warn_after: Duration,
    /// CRITICAL once it has lasted this long.
    #[serde(serialize_with = "ser_duration")]
    pub critical_after: Duration,
    /// Reminder interval while it lasts; zero is never.
    #[serde(serialize_with = "ser_duration")]
    pub repeat_every: Duration,
    /// Windows in which alerts are held back (outages are still recorded).
    pub maintenance: Vec<Window>,
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            warn_after: Duration::ZERO,
            critical_after: Duration::from_secs(120),
            repeat_every: Duration::from_secs(1800),
            maintenance: Vec::new(),
        }
    }
}

/// How bad an alert is; also the lowest severity a channel is told about.
///
/// Written in lowercase; state and outbox files of earlier versions wrote
/// `Warning`/`Critical`, which are still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The condition has lasted `warn_after`.
    #[serde(alias = "Warning")]
    Warning,
    /// The condition has lasted `critical_after`.
    #[serde(alias = "Critical")]
    Critical,
}

impl Severity {
    /// `WARNING` or `CRITICAL`, as alerts and the journal say it.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// How a host is probed, as a `probes = [...]` list says it: `icmp`,
/// `tcp:443`. What the words mean, and which there are, is the probe
/// layer's list of kinds; it gives the validator its [`ProbeWords`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeWord(Cow<'static, str>);

impl ProbeWord {
    /// ICMP echo: what a host is probed with when its `probes` is not given.
    pub const ICMP: ProbeWord = ProbeWord(Cow::Borrowed("icmp"));

    /// A word as the probe layer writes it.
    pub fn new(word: impl Into<Cow<'static, str>>) -> ProbeWord {
        ProbeWord(word.into())
    }

    /// The word.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProbeWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ProbeWord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The words a `probes` list may hold, from the probe layer's list of kinds.
pub struct ProbeWords {
    /// The word as it is kept (`tcp:0443` is `tcp:443`), if a kind takes it.
    pub parse: fn(&str) -> Option<ProbeWord>,
    /// Each kind's words as an error lists them: `"icmp"`,
    /// `"tcp:PORT" with PORT from 1 to 65535`.
    pub forms: &'static [&'static str],
}

/// A URL as the effective config shows it: credentials redacted.
pub fn ser_url<S: Serializer>(u: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::util::redact_url(u))
}

/// A duration as the file writes it.
pub fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

/// An optional duration as the file writes it.
pub fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

fn ser_dns_servers<S: Serializer>(servers: &[SocketAddr], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(servers.iter().map(|a| {
        if a.port() == 53 {
            a.ip().to_string()
        } else {
            a.to_string()
        }
    }))
}

impl Core {
    /// The sections that differ from `old`'s, by key.
    pub fn changed(&self, old: &Core) -> Vec<&'static str> {
        [
            ("monitor", self.monitor != old.monitor),
            ("gateway", self.gateway != old.gateway),
            ("isp", self.isp != old.isp),
            ("target", self.targets != old.targets),
            ("dns", self.dns != old.dns),
            ("http", self.http != old.http),
            ("alerts", self.alerts != old.alerts),
            ("path", self.path != old.path),
        ]
        .into_iter()
        .filter_map(|(k, changed)| changed.then_some(k))
        .collect()
    }
}

#[cfg(test)]
mod tests;
