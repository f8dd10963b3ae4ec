//! Used memory from `MemAvailable` (what can be had without swapping, not
//! `MemFree`), with swap in the message.

use std::path::PathBuf;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{bytes, Threshold};
use crate::alert::Report;
use crate::config::MemorySensor;

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
        let swap = 100.0 * (1.0 - m.swap_free as f64 / m.swap_total as f64);
        s.push_str(&format!("; swap {swap:.0} % used"));
    }
    s
}

/// Looks every `every` until `token` is cancelled.
pub async fn run(cfg: MemorySensor, out: mpsc::Sender<Report>, token: CancellationToken) {
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
        let o = th.observe(
            "memory",
            "MEMORY",
            m.used_pct(),
            (cfg.warn_used_pct, cfg.critical_used_pct),
            Utc::now(),
            describe(&m, &cfg),
        );
        if out.send(o.into()).await.is_err() {
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
