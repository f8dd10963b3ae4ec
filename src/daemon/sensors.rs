//! The alert driver's observers: one task per configured sensor and per log
//! watch, each reporting to the driver; started, restarted and stopped as
//! one by the alerts part, after the driver knows their policies.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use crate::sensor::{logwatch, Report};
use crate::timefmt::spelled;

/// The running sensors and log watches.
pub struct Observers {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Observers {
    /// Starts what `config` asks for, reporting to `out`.
    pub fn start(config: &Config, out: &mpsc::Sender<Report>) -> Observers {
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
        tracker.close();
        Observers { token, tracker }
    }

    /// Whether going from `old` to `new` changes what they watch.
    pub fn changed(old: &Config, new: &Config) -> bool {
        let (old, new) = (&old.features, &new.features);
        old.sensors != new.sensors || old.log_watch != new.log_watch
    }

    /// Stops every task and waits for them.
    pub async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
    }
}
