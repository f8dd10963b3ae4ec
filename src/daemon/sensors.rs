//! The alert driver's observers: one task per configured sensor and per log
//! watch, and the fault tickets' watch, each reporting to the driver;
//! started, restarted and stopped as one by the alerts part, after the driver
//! knows their policies.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use crate::monitor::LiveSender;
use crate::sensor::{logwatch, Report};
use crate::timefmt::spelled;

/// The running sensors and log watches.
pub struct Observers {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Observers {
    /// Starts what `config` asks for, reporting to `out`; the open fault
    /// tickets go to `live`.
    pub fn start(config: &Config, out: &mpsc::Sender<Report>, live: &LiveSender) -> Observers {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let state_dir = &config.monitor.state_dir;
        config
            .features
            .sensors
            .start(state_dir, out, &tracker, &token);
        for w in &config.features.log_watch {
            tracing::info!(
                "watching {} for silence ({}: idle after {})",
                w.path.display(),
                w.service,
                spelled(w.idle_after)
            );
            tracker.spawn(logwatch::run(w.clone(), out.clone(), token.clone()));
        }
        let claim = config.features.claim.clone();
        let log_dir = config.monitor.log_dir.clone();
        let (out, live) = (out.clone(), live.clone());
        tracker.spawn(crate::claim::watch::run(
            claim,
            log_dir,
            out,
            live,
            token.clone(),
        ));
        tracker.close();
        Observers { token, tracker }
    }

    /// Whether going from `old` to `new` changes what they watch.
    pub fn changed(old: &Config, new: &Config) -> bool {
        let dirs = old.monitor.log_dir != new.monitor.log_dir;
        let (old, new) = (&old.features, &new.features);
        dirs || old.sensors != new.sensors
            || old.log_watch != new.log_watch
            || old.claim != new.claim
    }

    /// Stops every task and waits for them.
    pub async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
    }
}
