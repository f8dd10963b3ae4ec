//! The host sensors part: one task per configured sensor, each reporting to the
//! alert driver; a reload that changes `[sensors]` restarts them (a sensor
//! removed while alerting gets its recovery from the driver).

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use super::{Part, PartFuture};
use crate::alert::Report;
use crate::sensor;

/// The running sensors.
pub struct Sensors {
    token: CancellationToken,
    tracker: TaskTracker,
    out: mpsc::Sender<Report>,
}

impl Sensors {
    /// Starts what `config` asks for, reporting to `out`.
    pub fn start(config: &Config, out: mpsc::Sender<Report>) -> Sensors {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let s = &config.features.sensors;
        if let Some(d) = &s.disk {
            say_disk(d);
            tracker.spawn(sensor::disk::run(d.clone(), out.clone(), token.clone()));
        }
        if let Some(m) = &s.memory {
            tracing::info!(
                "memory sensor: {} % warn, {} % critical",
                m.warn_used_pct,
                m.critical_used_pct
            );
            tracker.spawn(sensor::memory::run(m.clone(), out.clone(), token.clone()));
        }
        if let Some(x) = &s.ssh {
            let from = x
                .log_file
                .as_ref()
                .map_or_else(|| "the journal".to_owned(), |f| f.display().to_string());
            tracing::info!(
                "ssh sensor: more than {} failed logins in {} from {from}",
                x.max_failures,
                crate::timefmt::spelled(x.window)
            );
            tracker.spawn(sensor::ssh::run(
                x.clone(),
                config.monitor.state_dir.clone(),
                out.clone(),
                token.clone(),
            ));
        }
        tracker.close();
        Sensors {
            token,
            tracker,
            out,
        }
    }
}

/// The disk sensor's start line: what it watches, each filesystem once.
fn say_disk(d: &crate::config::DiskSensor) {
    let w = sensor::disk::mountinfo()
        .map(|info| sensor::disk::watched(d, &info))
        .unwrap_or_default();
    let shown = |v: &[std::path::PathBuf]| {
        v.iter()
            .map(|m| m.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!(
        "disk sensor: {} ({} % warn, {} % critical)",
        shown(&w.kept),
        d.warn_used_pct,
        d.critical_used_pct
    );
    for (m, first) in &w.same {
        line.push_str(&format!(
            "; {} is the same filesystem as {}",
            m.display(),
            first.display()
        ));
    }
    if !w.unmounted.is_empty() {
        line.push_str(&format!("; not mounted now: {}", shown(&w.unmounted)));
    }
    tracing::info!("{line}");
}

impl Part for Sensors {
    fn reload<'a>(
        &'a mut self,
        old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            if old.features.sensors == new.features.sensors {
                return None;
            }
            self.token.cancel();
            self.tracker.wait().await;
            *self = Sensors::start(new, self.out.clone());
            Some("sensors restarted".into())
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.token.cancel();
        Box::pin(async move {
            self.tracker.wait().await;
            Ok(())
        })
    }
}
