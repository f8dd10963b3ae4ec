//! `[sensors]`: disk, memory and SSH-failure sensors of the host itself.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{ser_duration, ser_opt_duration, Window};

/// `[sensors]`: each one off unless its section is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SensorsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskSensor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySensor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSensor>,
}

/// `[sensors.disk]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskSensor {
    #[serde(serialize_with = "ser_duration")]
    pub every: Duration,
    pub warn_used_pct: u8,
    pub critical_used_pct: u8,
    pub warn_inodes_pct: u8,
    /// Watched whatever their type; empty: every real filesystem.
    pub mounts: Vec<PathBuf>,
    pub exclude: Vec<PathBuf>,
    #[serde(
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    pub maintenance: Vec<Window>,
}

/// `[sensors.memory]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemorySensor {
    #[serde(serialize_with = "ser_duration")]
    pub every: Duration,
    pub warn_used_pct: u8,
    pub critical_used_pct: u8,
    #[serde(
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    pub maintenance: Vec<Window>,
}

/// `[sensors.ssh]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshSensor {
    /// More failed logins than this within `window` is an alert.
    pub max_failures: u32,
    #[serde(serialize_with = "ser_duration")]
    pub window: Duration,
    #[serde(
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    /// Read this file instead of the journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    pub maintenance: Vec<Window>,
}
