//! The config file as written: serde structs that reject unknown keys.
//!
//! Values that need checking are kept as `Spanned` strings so that the
//! validation in `validate` can point at the exact line of a bad value.

use serde::de::MapAccess;
use serde::Deserialize;
use toml::Spanned;

use super::Slots;

/// A string value together with where it stood in the file.
pub type SpannedStr = Spanned<String>;

/// The core sections as written; they stand at the top of the file,
/// beside the sections the features own.
#[derive(Debug, Default)]
pub struct RawCore {
    pub monitor: Option<RawMonitor>,
    pub gateway: Option<RawGateway>,
    pub isp: Option<RawIsp>,
    pub target: Option<Vec<RawTarget>>,
    pub dns: Option<RawDns>,
    pub http: Option<Vec<RawHttp>>,
    pub alerts: Option<RawAlerts>,
    pub path: Option<RawPath>,
}

impl Slots for RawCore {
    fn keys() -> Vec<&'static str> {
        vec![
            "monitor", "gateway", "isp", "target", "dns", "http", "alerts", "path",
        ]
    }

    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "monitor" => self.monitor = Some(map.next_value()?),
            "gateway" => self.gateway = Some(map.next_value()?),
            "isp" => self.isp = Some(map.next_value()?),
            "target" => self.target = Some(map.next_value()?),
            "dns" => self.dns = Some(map.next_value()?),
            "http" => self.http = Some(map.next_value()?),
            "alerts" => self.alerts = Some(map.next_value()?),
            "path" => self.path = Some(map.next_value()?),
            _ => return Ok(false),
        }
        Ok(true)
    }
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

/// `[path]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPath {
    pub enabled: Option<bool>,
    pub rounds: Option<Spanned<i64>>,
    pub baseline_every: Option<SpannedStr>,
    pub max_hops: Option<Spanned<i64>>,
}
