//! `[alerts]`: when a condition becomes a WARNING, a CRITICAL, a reminder,
//! and the windows in which alerts are held back.

use toml::Spanned;

use super::{quoted, Validator, UP_TO_30_DAYS};
use crate::config::raw::RawAlerts;
use crate::config::AlertsConfig;

impl Validator<'_> {
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
}
