//! `[alerts]`, its maintenance windows and `[[log_watch]]`.

use super::*;

impl Validator<'_> {
    pub(super) fn log_watch(&mut self, i: usize, w: RawLogWatch) -> Option<LogWatchConfig> {
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
        self.plain_name(&w.service, &key("service"));
        let maintenance = self.windows(w.maintenance, &format!("log_watch[{i}].maintenance"));
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
        out.maintenance = self.windows(raw.maintenance, "alerts.maintenance");
        out
    }

    /// Maintenance windows under `prefix` (e.g. `alerts.maintenance`).
    pub(super) fn windows(&mut self, raw: Vec<super::raw::RawWindow>, prefix: &str) -> Vec<Window> {
        let mut out = Vec::new();
        for (i, w) in raw.into_iter().enumerate() {
            let key = |k: &str| format!("{prefix}[{i}].{k}");
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
                out.push(Window { from, to, days });
            }
        }
        out
    }

    /// A percentage from 1 to 100.
    fn pct(&mut self, v: Option<&Spanned<i64>>, key: &str, default: u8) -> u8 {
        let Some(v) = v else { return default };
        match u8::try_from(*v.get_ref()) {
            Ok(p @ 1..=100) => p,
            _ => {
                self.problem(
                    Some(v.span()),
                    key,
                    &v.get_ref().to_string(),
                    "must be a whole percentage from 1 to 100",
                );
                default
            }
        }
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

    pub(super) fn sensors(&mut self, raw: super::raw::RawSensors) -> SensorsConfig {
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
                        .duration(m.every.as_ref(), "sensors.memory.every")
                        .unwrap_or(Duration::from_secs(60)),
                    warn_used_pct: warn,
                    critical_used_pct: critical,
                    repeat_every: self
                        .duration(m.repeat_every.as_ref(), "sensors.memory.repeat_every"),
                    maintenance: self.windows(m.maintenance, "sensors.memory.maintenance"),
                }
            }),
            ssh: raw.ssh.map(|s| SshSensor {
                max_failures: self
                    .count(s.max_failures.as_ref(), "sensors.ssh.max_failures", 100_000)
                    .map_or(10, |n| n.get()),
                window: self
                    .duration(s.window.as_ref(), "sensors.ssh.window")
                    .unwrap_or(Duration::from_secs(300)),
                repeat_every: self.duration(s.repeat_every.as_ref(), "sensors.ssh.repeat_every"),
                log_file: s.log_file.map(PathBuf::from),
                maintenance: self.windows(s.maintenance, "sensors.ssh.maintenance"),
            }),
        }
    }

    fn disk(&mut self, d: super::raw::RawDisk) -> DiskSensor {
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
                .duration(d.every.as_ref(), "sensors.disk.every")
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
            repeat_every: self.duration(d.repeat_every.as_ref(), "sensors.disk.repeat_every"),
            maintenance: self.windows(d.maintenance, "sensors.disk.maintenance"),
        }
    }

    pub(super) fn time_of_day(&mut self, v: &SpannedStr, key: &str) -> Option<chrono::NaiveTime> {
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

    pub(super) fn severity(&mut self, v: Option<SpannedStr>, key: &str) -> Severity {
        self.choice(
            v.as_ref(),
            key,
            &[
                ("warning", Severity::Warning),
                ("critical", Severity::Critical),
            ],
        )
    }
}
