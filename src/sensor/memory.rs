//! `[sensors.memory]`: used memory from `MemAvailable` (what can be had
//! without swapping, not `MemFree`), with swap in the message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{bytes, levels, Reporter, Sensor, SensorCondition, Threshold};
use crate::alert::Policy;
use crate::config::raw::{RawWindow, SpannedStr};
use crate::config::{Table, Validator, Window, SECOND_TO_DAY, UP_TO_30_DAYS};

/// `[sensors.memory]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMemory {
    every: Option<SpannedStr>,
    warn_used_pct: Option<toml::Spanned<i64>>,
    critical_used_pct: Option<toml::Spanned<i64>>,
    repeat_every: Option<SpannedStr>,
    #[serde(default)]
    maintenance: Vec<RawWindow>,
}

/// `[sensors.memory]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemorySensor {
    /// How often it looks.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub every: Duration,
    /// Used memory (percent) at or above which it is a WARNING.
    pub warn_used_pct: u8,
    /// … and a CRITICAL.
    pub critical_used_pct: u8,
    /// Reminder interval; `[alerts] repeat_every` when absent.
    #[serde(
        serialize_with = "crate::config::ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    /// Its own maintenance windows, besides `[[alerts.maintenance]]`.
    pub maintenance: Vec<Window>,
}

impl Table for MemorySensor {
    type Raw = RawMemory;

    fn read(m: RawMemory, v: &mut Validator<'_>, key: &str) -> Option<MemorySensor> {
        let thresholds = (m.warn_used_pct.as_ref(), m.critical_used_pct.as_ref());
        let (warn, critical) = levels(v, key, thresholds, (90, 97));
        Some(MemorySensor {
            every: v
                .duration(m.every.as_ref(), &format!("{key}.every"), SECOND_TO_DAY)
                .unwrap_or(Duration::from_secs(60)),
            warn_used_pct: warn,
            critical_used_pct: critical,
            repeat_every: v.duration(
                m.repeat_every.as_ref(),
                &format!("{key}.repeat_every"),
                UP_TO_30_DAYS,
            ),
            maintenance: v.windows(m.maintenance, &format!("{key}.maintenance")),
        })
    }
}

/// Memory past its threshold: the one condition of this sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct High;

impl SensorCondition for High {
    fn id(&self) -> String {
        "memory".into()
    }

    fn name(&self) -> String {
        "MEMORY".into()
    }

    fn parse(id: &str) -> Option<High> {
        (id == "memory").then_some(High)
    }
}

impl Sensor for MemorySensor {
    type Condition = High;

    fn describe(&self) -> String {
        format!(
            "memory sensor: {} % warn, {} % critical",
            self.warn_used_pct, self.critical_used_pct
        )
    }

    fn policy(&self, alerts: &Policy) -> Policy {
        super::policy(alerts, self.repeat_every, &self.maintenance)
    }

    async fn run(self, _state_dir: PathBuf, report: Reporter<High>, token: CancellationToken) {
        run(self, report, token).await;
    }

    fn now(&self, _state_dir: &Path) -> (Value, Vec<String>) {
        match read() {
            Ok(m) => {
                let used = round1(m.used_pct());
                let line = format!("memory: {used} % used, {} available", bytes(m.available));
                let swap = (m.swap_total > 0).then(|| round1(m.swap_used_pct()));
                let value = json!({
                    "used_pct": used,
                    "available_bytes": m.available,
                    "swap_used_pct": swap,
                });
                (value, vec![line])
            }
            Err(e) => (json!({ "error": e }), Vec::new()),
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The file read: /proc/meminfo, or `CONNECTIVITY_MONITOR_MEMINFO` (tests
/// drive the thresholds with a file rather than by eating the machine's memory).
pub fn meminfo_path() -> PathBuf {
    std::env::var_os("CONNECTIVITY_MONITOR_MEMINFO")
        .map_or_else(|| "/proc/meminfo".into(), PathBuf::from)
}

/// Memory figures, bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl Memory {
    /// Used memory, percent.
    pub fn used_pct(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * (1.0 - self.available as f64 / self.total as f64)
    }

    /// Used swap, percent (of some swap).
    pub fn swap_used_pct(&self) -> f64 {
        100.0 * (1.0 - self.swap_free as f64 / self.swap_total as f64)
    }
}

/// Parses /proc/meminfo (values in kB).
pub fn parse(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some(Memory {
        total: field("MemTotal")?,
        available: field("MemAvailable")?,
        swap_total: field("SwapTotal").unwrap_or(0),
        swap_free: field("SwapFree").unwrap_or(0),
    })
}

/// Reads memory now.
pub fn read() -> Result<Memory, String> {
    let path = meminfo_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).ok_or_else(|| format!("{} has no MemTotal and MemAvailable", path.display()))
}

/// In words, e.g. `memory 92 % used (warn 90 %, critical 97 %), 310.2 MiB available; swap 40 % used`.
pub fn describe(m: &Memory, cfg: &MemorySensor) -> String {
    let mut s = format!(
        "memory {:.0} % used (warn {} %, critical {} %), {} available",
        m.used_pct(),
        cfg.warn_used_pct,
        cfg.critical_used_pct,
        bytes(m.available)
    );
    if m.swap_total > 0 {
        s.push_str(&format!("; swap {:.0} % used", m.swap_used_pct()));
    }
    s
}

/// Looks every `every` until `token` is cancelled.
async fn run(cfg: MemorySensor, report: Reporter<High>, token: CancellationToken) {
    let mut th = Threshold::default();
    let mut failing = false;
    let mut reads = crate::util::OneAtATime::new("memory sensor");
    let mut tick = tokio::time::interval(cfg.every);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Off the runtime thread, bounded, like every blocking call of the sensors.
        let m = match reads
            .call(super::LOOK_TIMEOUT, read)
            .await
            .unwrap_or_else(|| Err(format!("{} did not answer", meminfo_path().display())))
        {
            Ok(m) => m,
            Err(e) => {
                if !failing {
                    tracing::error!("memory sensor: {e}");
                }
                failing = true;
                continue;
            }
        };
        failing = false;
        let now = Utc::now();
        let levels = (cfg.warn_used_pct, cfg.critical_used_pct);
        let state = th.observe(m.used_pct(), levels, now, describe(&m, &cfg));
        if !report.seen(High, now, state).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_memory_is_from_mem_available_not_mem_free() {
        let m = parse("MemTotal:        1000000 kB\nMemFree:           10000 kB\nMemAvailable:     250000 kB\nSwapTotal: 100 kB\nSwapFree: 60 kB\n").unwrap();
        assert_eq!(m.used_pct(), 75.0);
        assert_eq!(m.swap_total, 100 * 1024);
        assert!(parse("MemTotal: 1 kB\n").is_none());
    }
}
