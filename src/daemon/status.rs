//! systemd's `STATUS=` line and the watchdog: a live consumer of the update
//! stream. The watchdog is pinged only while checks keep completing, so a
//! stalled pipeline stops the pings and systemd restarts the daemon.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::Config;
use super::part::{Part, PartFuture};
use crate::monitor::{LiveReceiver, Status, Update};
use crate::systemd;

/// The running status reporter.
pub struct StatusLine {
    status: watch::Sender<Status>,
    follower: JoinHandle<()>,
    reporter: JoinHandle<()>,
}

/// What the reload loop reads and sets of the status line.
#[derive(Clone)]
pub struct StatusHandle(watch::Sender<Status>);

impl StatusHandle {
    /// The line as it reads now.
    pub fn summary(&self) -> String {
        self.0.borrow().summary(Utc::now())
    }

    /// Shows why the last reload failed (until one succeeds), or clears it.
    pub fn reload_error(&self, error: Option<String>) {
        self.0.send_modify(|st| st.reload_error = error);
    }
}

impl StatusLine {
    /// Follows `live` and reports to systemd.
    pub fn start(config: &Config, mut live: LiveReceiver) -> (StatusLine, StatusHandle) {
        let (status, rx) = watch::channel(Status {
            check_span: check_span(config),
            ..Status::default()
        });
        let tx = status.clone();
        let follower = tokio::spawn(async move {
            while let Some(u) = live.recv().await {
                match &*u {
                    Update::Check(c) => tx.send_modify(|st| st.update(c)),
                    Update::Delivery(d) => tx.send_modify(|st| st.delivery(d)),
                    Update::Tickets(_) => {}
                }
            }
            tracing::debug!("status line stopped ({} updates skipped)", live.missed());
        });
        let reporter = tokio::spawn(report(rx, systemd::watchdog_period().map(|p| p / 2)));
        let handle = StatusHandle(status.clone());
        let part = StatusLine {
            status,
            follower,
            reporter,
        };
        (part, handle)
    }
}

impl Part for StatusLine {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        self.status
            .send_modify(|st| st.check_span = check_span(new));
        Box::pin(async { None })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.follower.abort();
        self.reporter.abort();
        Box::pin(async { Ok(()) })
    }
}

fn check_span(config: &Config) -> Duration {
    config.monitor.interval + config.monitor.timeout
}

/// Whether checks keep completing: the gate in front of the watchdog ping.
#[derive(Debug)]
struct Gate {
    last_check: Instant,
    checks: u64,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            last_check: Instant::now(),
            checks: 0,
        }
    }

    /// Notes the status's check count; a new count is a completed check.
    fn seen(&mut self, checks: u64) {
        if checks != self.checks {
            self.checks = checks;
            self.last_check = Instant::now();
        }
    }

    /// Open while the last check completed within `stale_after`.
    fn open(&self, stale_after: Duration) -> bool {
        self.last_check.elapsed() <= stale_after
    }
}

/// Keeps `STATUS=` current and pings the watchdog every `period` while checks complete.
async fn report(mut rx: watch::Receiver<Status>, period: Option<Duration>) {
    let mut ticker = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
    let mut gate = Gate::new();
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                let st = rx.borrow_and_update().clone();
                gate.seen(st.checks);
                systemd::status(&st.summary(Utc::now()));
            }
            _ = ticker.tick(), if period.is_some() => {
                if gate.open(rx.borrow().stale_after()) {
                    systemd::watchdog();
                } else {
                    tracing::error!("no check completed for {}s; withholding the watchdog ping", gate.last_check.elapsed().as_secs());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_gate_closes_when_checks_stop_and_opens_at_the_next() {
        let stale = Duration::from_secs(31);
        let mut gate = Gate::new();
        for n in 1..=5 {
            tokio::time::advance(Duration::from_secs(10)).await;
            gate.seen(n);
            assert!(gate.open(stale), "checks every 10 s");
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        gate.seen(5);
        assert!(gate.open(stale), "30 s without a check is within 31 s");
        tokio::time::advance(Duration::from_secs(2)).await;
        gate.seen(5);
        assert!(!gate.open(stale), "a stalled pipeline withholds the ping");
        gate.seen(6);
        assert!(gate.open(stale), "the next check opens it again");
    }
}
