//! `[alerts]`, and (until they move to their modules) `[[log_watch]]` and `[sensors]`.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::{quoted, Validator, SECOND_TO_30_DAYS, SECOND_TO_DAY, UP_TO_30_DAYS};
use crate::config::raw::{RawAlerts, RawLogWatch};
use crate::config::{
    AlertsConfig, DiskSensor, LogWatchConfig, MemorySensor, SensorsConfig, SshSensor,
};

impl Validator<'_> {
    pub(crate) fn log_watch(&mut self, prefix: &str, w: RawLogWatch) -> Option<LogWatchConfig> {
        let key = |k: &str| format!("{prefix}.{k}");
        let idle_after = self.duration(Some(&w.idle_after), &key("idle_after"), SECOND_TO_30_DAYS);
        let critical_after = w
            .critical_after
            .as_ref()
            .and_then(|d| self.duration(Some(d), &key("critical_after"), UP_TO_30_DAYS));
        let repeat_every = w
            .repeat_every
            .as_ref()
            .and_then(|d| self.duration(Some(d), &key("repeat_every"), UP_TO_30_DAYS));
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
        self.plain_name(&w.service, &key("service"));
        let maintenance = self.windows(w.maintenance, &key("maintenance"));
        Some(LogWatchConfig {
            path: PathBuf::from(&w.path),
            service: w.service.get_ref().trim().to_owned(),
            idle_after: idle_after?,
            critical_after,
            repeat_every,
            maintenance,
        })
    }

    pub(super) fn alerts(&mut self, raw: RawAlerts) -> AlertsConfig {
        let mut out = AlertsConfig::default();
        if let Some(d) = self.duration(raw.warn_after.as_ref(), "alerts.warn_after", UP_TO_30_DAYS)
        {
            out.warn_after = d;
        }
        if let Some(d) = self.duration(
            raw.critical_after.as_ref(),
            "alerts.critical_after",
            UP_TO_30_DAYS,
        ) {
            out.critical_after = d;
        }
        if let Some(d) = self.duration(
            raw.repeat_every.as_ref(),
            "alerts.repeat_every",
            UP_TO_30_DAYS,
        ) {
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
        out.maintenance = self.windows(raw.maintenance, "alerts.maintenance");
        out
    }

    /// `warn` must be below `critical`.
    fn warn_below_critical(
        &mut self,
        warn: u8,
        critical: u8,
        at: Option<&Spanned<i64>>,
        prefix: &str,
    ) {
        if warn >= critical {
            self.problem(
                at.map(Spanned::span),
                &format!("{prefix}.warn_used_pct"),
                &warn.to_string(),
                &format!("must be below {prefix}.critical_used_pct ({critical})"),
            );
        }
    }

    pub(crate) fn sensors(&mut self, raw: crate::config::raw::RawSensors) -> SensorsConfig {
        SensorsConfig {
            disk: raw.disk.map(|d| self.disk(d)),
            memory: raw.memory.map(|m| {
                let warn = self.pct(m.warn_used_pct.as_ref(), "sensors.memory.warn_used_pct", 90);
                let critical = self.pct(
                    m.critical_used_pct.as_ref(),
                    "sensors.memory.critical_used_pct",
                    97,
                );
                self.warn_below_critical(
                    warn,
                    critical,
                    m.warn_used_pct.as_ref(),
                    "sensors.memory",
                );
                MemorySensor {
                    every: self
                        .duration(m.every.as_ref(), "sensors.memory.every", SECOND_TO_DAY)
                        .unwrap_or(Duration::from_secs(60)),
                    warn_used_pct: warn,
                    critical_used_pct: critical,
                    repeat_every: self.duration(
                        m.repeat_every.as_ref(),
                        "sensors.memory.repeat_every",
                        UP_TO_30_DAYS,
                    ),
                    maintenance: self.windows(m.maintenance, "sensors.memory.maintenance"),
                }
            }),
            ssh: raw.ssh.map(|s| SshSensor {
                max_failures: self
                    .count(s.max_failures.as_ref(), "sensors.ssh.max_failures", 100_000)
                    .map_or(10, |n| n.get()),
                window: self
                    .duration(s.window.as_ref(), "sensors.ssh.window", SECOND_TO_DAY)
                    .unwrap_or(Duration::from_secs(300)),
                repeat_every: self.duration(
                    s.repeat_every.as_ref(),
                    "sensors.ssh.repeat_every",
                    UP_TO_30_DAYS,
                ),
                log_file: s.log_file.map(PathBuf::from),
                maintenance: self.windows(s.maintenance, "sensors.ssh.maintenance"),
            }),
        }
    }

    fn disk(&mut self, d: crate::config::raw::RawDisk) -> DiskSensor {
        let warn = self.pct(d.warn_used_pct.as_ref(), "sensors.disk.warn_used_pct", 85);
        let critical = self.pct(
            d.critical_used_pct.as_ref(),
            "sensors.disk.critical_used_pct",
            95,
        );
        self.warn_below_critical(warn, critical, d.warn_used_pct.as_ref(), "sensors.disk");
        let mut mounts = Vec::new();
        for m in d.mounts.unwrap_or_default() {
            let p = PathBuf::from(m.get_ref());
            if !p.is_dir() {
                self.problem(
                    Some(m.span()),
                    "sensors.disk.mounts",
                    &quoted(Some(&m)),
                    "must be an existing mount point",
                );
            }
            mounts.push(p);
        }
        DiskSensor {
            every: self
                .duration(d.every.as_ref(), "sensors.disk.every", SECOND_TO_DAY)
                .unwrap_or(Duration::from_secs(60)),
            warn_used_pct: warn,
            critical_used_pct: critical,
            warn_inodes_pct: self.pct(
                d.warn_inodes_pct.as_ref(),
                "sensors.disk.warn_inodes_pct",
                90,
            ),
            mounts,
            exclude: d
                .exclude
                .unwrap_or_else(|| vec!["/boot/efi".into()])
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            repeat_every: self.duration(
                d.repeat_every.as_ref(),
                "sensors.disk.repeat_every",
                UP_TO_30_DAYS,
            ),
            maintenance: self.windows(d.maintenance, "sensors.disk.maintenance"),
        }
    }
}

impl crate::config::Table for LogWatchConfig {
    type Raw = RawLogWatch;

    fn read(raw: RawLogWatch, v: &mut Validator<'_>, key: &str) -> Option<LogWatchConfig> {
        v.log_watch(key, raw)
    }
}

impl crate::config::Section for SensorsConfig {
    type Raw = crate::config::raw::RawSensors;

    fn read(raw: Option<Self::Raw>, v: &mut Validator<'_>, _key: &str) -> SensorsConfig {
        raw.map(|s| v.sensors(s)).unwrap_or_default()
    }
}
