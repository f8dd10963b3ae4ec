//! The config file as written: serde structs that reject unknown keys.
//!
//! Values that need checking are kept as `Spanned` strings so that the
//! validation in `validate.rs` can point at the exact line of a bad value.

use serde::Deserialize;
use toml::Spanned;

/// A string value together with where it stood in the file.
pub type SpannedStr = Spanned<String>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub monitor: RawMonitor,
    #[serde(default)]
    pub gateway: RawGateway,
    pub isp: Option<RawIsp>,
    #[serde(default)]
    pub target: Vec<RawTarget>,
    pub dns: Option<RawDns>,
    #[serde(default)]
    pub http: Vec<RawHttp>,
    pub alerts: Option<RawAlerts>,
    pub notify: Option<RawNotify>,
    #[serde(default)]
    pub log_watch: Vec<RawLogWatch>,
    pub path: Option<RawPath>,
    pub serve: Option<RawServe>,
    pub mqtt: Option<RawMqtt>,
    pub sensors: Option<RawSensors>,
    pub push: Option<crate::push::RawPush>,
    pub heartbeat: Option<crate::heartbeat::RawHeartbeat>,
}

/// `[monitor]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    pub interval: Option<SpannedStr>,
    pub timeout: Option<SpannedStr>,
    pub down_after: Option<Spanned<i64>>,
    pub up_after: Option<Spanned<i64>>,
    pub pings: Option<Spanned<i64>>,
    pub degraded_loss_pct: Option<Spanned<i64>>,
    pub degraded_rtt: Option<SpannedStr>,
    pub log_dir: Option<String>,
    pub state_dir: Option<String>,
    pub log_level: Option<SpannedStr>,
}

/// `[gateway]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub address: Option<SpannedStr>,
    pub probes: Option<Vec<SpannedStr>>,
}

/// `[isp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIsp {
    #[serde(default)]
    pub hops: Vec<SpannedStr>,
    pub probes: Option<Vec<SpannedStr>>,
}

/// One `[[target]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: SpannedStr,
    pub address: SpannedStr,
    pub probes: Option<Vec<SpannedStr>>,
}

/// `[dns]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    pub servers: Vec<SpannedStr>,
    pub names: Vec<SpannedStr>,
    pub types: Option<Vec<SpannedStr>>,
}

/// One `[[http]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub name: SpannedStr,
    pub url: SpannedStr,
    pub expect_status: Option<Vec<Spanned<i64>>>,
    pub family: Option<SpannedStr>,
}

/// `[notify]`: one table per channel.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub max_age: Option<SpannedStr>,
    pub email: Option<RawEmail>,
    pub teams: Option<RawTeams>,
    pub telegram: Option<RawTelegram>,
}

/// `[notify.email]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub enabled: Option<bool>,
    pub server: SpannedStr,
    pub port: Option<Spanned<i64>>,
    pub tls: Option<SpannedStr>,
    pub username: Option<String>,
    pub password: Option<SpannedStr>,
    pub password_file: Option<SpannedStr>,
    pub from: SpannedStr,
    pub to: Vec<SpannedStr>,
    pub tls_ca_file: Option<String>,
    pub min_severity: Option<SpannedStr>,
}

/// `[notify.teams]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeams {
    pub enabled: Option<bool>,
    pub webhook_url: Option<SpannedStr>,
    pub webhook_url_file: Option<SpannedStr>,
    pub format: Option<SpannedStr>,
    pub min_severity: Option<SpannedStr>,
}

/// `[notify.telegram]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    pub enabled: Option<bool>,
    pub bot_token: Option<SpannedStr>,
    pub bot_token_file: Option<SpannedStr>,
    pub chat_id: Spanned<toml::Value>,
    pub api_base: Option<SpannedStr>,
    pub min_severity: Option<SpannedStr>,
}

/// `[alerts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub warn_after: Option<SpannedStr>,
    pub critical_after: Option<SpannedStr>,
    pub repeat_every: Option<SpannedStr>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}

/// One `[[alerts.maintenance]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub from: SpannedStr,
    pub to: SpannedStr,
    pub days: Option<Vec<SpannedStr>>,
}

/// One `[[log_watch]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogWatch {
    pub path: String,
    pub service: SpannedStr,
    pub idle_after: SpannedStr,
    pub critical_after: Option<SpannedStr>,
    pub repeat_every: Option<SpannedStr>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}

/// `[path]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPath {
    pub enabled: Option<bool>,
    pub rounds: Option<Spanned<i64>>,
    pub baseline_every: Option<SpannedStr>,
    pub max_hops: Option<Spanned<i64>>,
}

/// `[serve]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServe {
    pub listen: SpannedStr,
    pub basic_auth_user: Option<SpannedStr>,
    pub basic_auth_password: Option<SpannedStr>,
    pub basic_auth_password_file: Option<SpannedStr>,
}

/// `[mqtt]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    pub url: SpannedStr,
    pub username: Option<String>,
    pub password: Option<SpannedStr>,
    pub password_file: Option<SpannedStr>,
    pub ca_file: Option<String>,
    pub discovery_prefix: Option<SpannedStr>,
    pub topic_prefix: Option<SpannedStr>,
}

/// `[sensors]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSensors {
    pub disk: Option<RawDisk>,
    pub memory: Option<RawMemory>,
    pub ssh: Option<RawSsh>,
}

/// `[sensors.disk]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    pub every: Option<SpannedStr>,
    pub warn_used_pct: Option<Spanned<i64>>,
    pub critical_used_pct: Option<Spanned<i64>>,
    pub warn_inodes_pct: Option<Spanned<i64>>,
    pub mounts: Option<Vec<SpannedStr>>,
    pub exclude: Option<Vec<String>>,
    pub repeat_every: Option<SpannedStr>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}

/// `[sensors.memory]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMemory {
    pub every: Option<SpannedStr>,
    pub warn_used_pct: Option<Spanned<i64>>,
    pub critical_used_pct: Option<Spanned<i64>>,
    pub repeat_every: Option<SpannedStr>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}

/// `[sensors.ssh]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    pub max_failures: Option<Spanned<i64>>,
    pub window: Option<SpannedStr>,
    pub repeat_every: Option<SpannedStr>,
    pub log_file: Option<String>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}
