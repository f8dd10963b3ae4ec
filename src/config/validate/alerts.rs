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
        Some(LogWatchConfig {
            path: PathBuf::from(&w.path),
            service: w.service.get_ref().trim().to_owned(),
            idle_after: idle_after?,
            critical_after,
            repeat_every,
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
                out.maintenance.push(Window { from, to, days });
            }
        }
        out
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
