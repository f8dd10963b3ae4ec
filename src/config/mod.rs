//! Configuration: loading, validation into real types, the built-in default,
//! and the effective config printed with secrets redacted.
//!
//! Two layers: `raw` mirrors the file and rejects unknown keys;
//! `validate` turns it into [`Config`], whose fields are typed values.

mod error;
mod notify;
mod raw;
mod secret;
mod sensors;
mod validate;
mod window;

use std::net::{IpAddr, SocketAddr};
use std::num::{NonZeroU16, NonZeroU32};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

pub use error::ConfigError;
pub use notify::{EmailConfig, NotifyConfig, TeamsConfig, TeamsFormat, TelegramConfig, TlsMode};
pub use secret::Secret;
pub use sensors::{DiskSensor, MemorySensor, SensorsConfig, SshSensor};
pub(crate) use validate::Validator;
pub use window::Window;

/// Where the daemon looks for its config when no `-c` is given.
pub const DEFAULT_PATH: &str = "/etc/connectivity-monitor/config.toml";

/// The validated configuration the daemon runs on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Where this config came from.
    #[serde(skip)]
    pub source: Source,
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
    /// `[notify.*]`: the channels; secrets are redacted when shown.
    #[serde(skip_serializing_if = "NotifyConfig::is_empty")]
    pub notify: NotifyConfig,
    /// `[[log_watch]]`: files that must keep growing.
    pub log_watch: Vec<LogWatchConfig>,
    /// `[path]`: traces to the targets on outages and as a baseline.
    pub path: PathConfig,
    /// `[serve]`: the status page, JSON API and /metrics, if on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeConfig>,
    /// `[mqtt]`: Home Assistant over MQTT, if on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttConfig>,
    /// `[sensors.*]`: the host itself.
    pub sensors: SensorsConfig,
    /// `[push]`: Prometheus remote_write, if on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<crate::push::PushConfig>,
    /// `[heartbeat]`: an outside witness called while the internet works, if on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<crate::heartbeat::HeartbeatConfig>,
    /// What `check-config` should say besides "valid" (credentials it cannot read here).
    #[serde(skip)]
    pub notes: Vec<String>,
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

/// `[serve]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeConfig {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// HTTP basic authentication, if required: user and password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_password: Option<Secret>,
}

/// `[mqtt]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MqttConfig {
    /// `mqtt://host:1883` or `mqtts://host:8883`.
    #[serde(serialize_with = "ser_url")]
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A private CA for mqtts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// Where states are published, `connectivity-monitor/<hostname>` by default.
    pub topic_prefix: String,
}

/// One `[[log_watch]]`: a log that going quiet means a service gets no traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogWatchConfig {
    /// The file.
    pub path: PathBuf,
    /// The service it belongs to, named in alerts.
    pub service: String,
    /// No new data for this long: WARNING.
    #[serde(serialize_with = "ser_duration")]
    pub idle_after: Duration,
    /// No new data for this long: CRITICAL; never when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub critical_after: Option<Duration>,
    /// Reminder interval; `[alerts] repeat_every` when absent.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub repeat_every: Option<Duration>,
    /// Its own maintenance windows, besides `[[alerts.maintenance]]`.
    pub maintenance: Vec<Window>,
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
    pub probes: Vec<ProbeKind>,
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
    pub probes: Vec<ProbeKind>,
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
            probes: vec![ProbeKind::Icmp],
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
    pub probes: Vec<ProbeKind>,
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

/// How a host is probed: ICMP echo or a TCP connect to a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// ICMP echo, `pings` requests per check.
    Icmp,
    /// TCP connect to this port.
    Tcp(NonZeroU16),
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeKind::Icmp => f.write_str("icmp"),
            ProbeKind::Tcp(port) => write!(f, "tcp:{port}"),
        }
    }
}

impl Serialize for ProbeKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn ser_url<S: Serializer>(u: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::util::redact_url(u))
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
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

impl Config {
    /// Loads `explicit` if given, else [`DEFAULT_PATH`] if it exists, else the built-in default.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p,
            None if Path::new(DEFAULT_PATH).exists() => Path::new(DEFAULT_PATH),
            None => return Ok(Config::built_in()),
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses and validates `text`, naming `path` in every error.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        validate::parse(path, text)
    }

    /// The built-in default: gateway from the default route, three public resolvers
    /// as ICMP, TCP/443 and DNS targets, and one HTTPS check.
    pub fn built_in() -> Config {
        validate::built_in()
    }

    /// The secrets given as systemd credential names that cannot be read here,
    /// as `(channel, credential name)`.
    pub fn pending_credentials(&self) -> Vec<(&'static str, &str)> {
        let n = &self.notify;
        let secrets = [
            ("email", n.email.as_ref().and_then(|e| e.password.as_ref())),
            ("teams", n.teams.as_ref().map(|t| &t.webhook_url)),
            ("telegram", n.telegram.as_ref().map(|t| &t.bot_token)),
            (
                "serve",
                self.serve
                    .as_ref()
                    .and_then(|s| s.basic_auth_password.as_ref()),
            ),
            ("mqtt", self.mqtt.as_ref().and_then(|m| m.password.as_ref())),
            ("heartbeat", self.heartbeat.as_ref().map(|h| &h.url)),
        ];
        let push = self.push.as_ref().and_then(|p| p.pending_credential());
        secrets
            .into_iter()
            .filter_map(|(c, s)| Some((c, s?.pending()?)))
            .chain(push.map(|name| ("push", name)))
            .collect()
    }

    /// The effective config as TOML, secrets redacted (there are none yet in these sections).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
