//! Delivery: one task per channel takes that channel's outbox in order and
//! sends each message until it is delivered (or too old, loudly), with capped
//! exponential backoff. A slow or dead channel delays nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channel::{Channel, SendError};
use super::{Message, Outbox};
use crate::config::Severity;
use crate::monitor::update::{DeliveryNote, LiveSender, Update};
use crate::timefmt::spelled;

const FIRST_RETRY: Duration = Duration::from_secs(2);
const MAX_RETRY: Duration = Duration::from_secs(300);

/// `notifications.log`: one line per attempt; never a secret.
#[derive(Debug, Clone)]
pub struct NotifyLog(PathBuf);

impl NotifyLog {
    /// The log in `log_dir`.
    pub fn new(log_dir: &Path) -> NotifyLog {
        NotifyLog(log_dir.join("notifications.log"))
    }

    /// Appends one attempt's line.
    pub fn attempt(&self, channel: &str, msg: &Message, result: Result<(), &str>, what: &str) {
        let mut line = format!(
            "{} channel={channel} id={} kind={} result={what}",
            crate::timefmt::rfc3339_local(Utc::now()),
            msg.id,
            msg.label()
        );
        if let Err(e) = result {
            line.push_str(&format!(" error={:?}", e));
        }
        line.push('\n');
        let dir = self.0.parent().unwrap_or(Path::new("."));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.0)
            })
            .and_then(|mut f| crate::util::append_whole(&mut f, line.as_bytes(), false));
        if let Err(e) = written {
            tracing::error!("cannot write {}: {e}", self.0.display());
        }
    }
}

struct Lane {
    name: &'static str,
    min: Severity,
    wake: Arc<Notify>,
}

/// Queues messages for every channel and runs their delivery tasks.
pub struct Notifier {
    outbox: Arc<Outbox>,
    lanes: Vec<Lane>,
    tracker: TaskTracker,
    token: CancellationToken,
}

impl Notifier {
    /// Starts a delivery task per channel; messages left in the outbox by an
    /// earlier run are sent first.
    pub fn start(channels: Vec<Channel>, shared: Shared) -> Notifier {
        let outbox = Arc::clone(&shared.outbox);
        let tracker = TaskTracker::new();
        let token = CancellationToken::new();
        let mut lanes = Vec::new();
        for channel in channels {
            let wake = Arc::new(Notify::new());
            lanes.push(Lane {
                name: channel.name(),
                min: channel.min_severity(),
                wake: Arc::clone(&wake),
            });
            tracker.spawn(deliver(channel, shared.clone(), wake, token.clone()));
        }
        tracker.close();
        Notifier {
            outbox,
            lanes,
            tracker,
            token,
        }
    }

    /// Puts `msg` in each interested channel's outbox (on disk when this
    /// returns) and wakes its task.
    pub fn notify(&self, msg: &Message) {
        for lane in self.lanes.iter().filter(|l| msg.passes(l.min)) {
            match self.outbox.put(lane.name, msg) {
                Ok(_) => lane.wake.notify_one(),
                Err(e) => tracing::error!(
                    channel = lane.name,
                    "cannot queue notification {} in the outbox: {e}; it is NOT sent",
                    msg.id
                ),
            }
        }
    }

    /// Stops the delivery tasks; what is undelivered stays in the outbox.
    pub async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
    }
}

/// What every delivery task shares.
#[derive(Clone)]
pub struct Shared {
    /// Where messages wait.
    pub outbox: Arc<Outbox>,
    /// `notifications.log`.
    pub log: NotifyLog,
    /// The daemon's one HTTP client.
    pub http: reqwest::Client,
    /// An undelivered message older than this is given up, loudly.
    pub max_age: Duration,
    /// Where delivery outcomes are published for live views.
    pub live: LiveSender,
}

impl Shared {
    /// Sets `msg` aside, loudly, if it is older than `max_age`; says whether it did.
    fn expire(&self, channel: &str, path: &Path, msg: &Message) -> bool {
        let age = (Utc::now() - msg.created).to_std().unwrap_or_default();
        if age <= self.max_age {
            return false;
        }
        tracing::error!(
            channel,
            "notification {} ({}) expired undelivered after {}; kept in outbox/expired",
            msg.id,
            msg.label(),
            spelled(self.max_age)
        );
        self.log.attempt(channel, msg, Err("expired"), "expired");
        self.outbox.set_aside(path, "expired");
        true
    }

    /// Records one attempt in `notifications.log` and for the live views.
    fn record(&self, channel: &'static str, msg: &Message, error: Option<&str>) {
        let what = if error.is_some() { "failed" } else { "ok" };
        self.log
            .attempt(channel, msg, error.map_or(Ok(()), Err), what);
        self.live.send(Update::Delivery(DeliveryNote {
            channel,
            id: msg.id.clone(),
            error: error.map(str::to_owned),
        }));
    }
}

async fn deliver(channel: Channel, shared: Shared, wake: Arc<Notify>, token: CancellationToken) {
    let name = channel.name();
    let mut backoff = Backoff::default();
    loop {
        let mut wait = None;
        for (path, msg) in shared.outbox.pending(name) {
            if shared.expire(name, &path, &msg) {
                continue;
            }
            let sent = tokio::select! {
                _ = token.cancelled() => return,
                r = channel.send(&shared.http, &msg) => r,
            };
            shared.record(name, &msg, sent.as_ref().err().map(|e| e.text.as_str()));
            match sent {
                Ok(()) => {
                    tracing::info!(
                        channel = name,
                        "notification {} ({}) delivered",
                        msg.id,
                        msg.label()
                    );
                    shared.outbox.done(&path);
                    backoff.delivered();
                }
                Err(SendError { text, retry_after }) => {
                    let delay = backoff.failed(retry_after);
                    tracing::warn!(
                        channel = name,
                        "notification {} not delivered ({text}); retrying in {}",
                        msg.id,
                        spelled(delay)
                    );
                    // Order is kept: nothing after this message goes first.
                    wait = Some(delay);
                    break;
                }
            }
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = wake.notified() => {}
            _ = sleep_or_forever(wait) => {}
        }
    }
}

/// The wait before the next try of a channel: doubling from [`FIRST_RETRY`] up
/// to [`MAX_RETRY`], unless the server said how long (Telegram's `retry_after`).
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: FIRST_RETRY }
    }
}

impl Backoff {
    /// The wait after a failed attempt.
    fn failed(&mut self, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or(self.next);
        self.next = (self.next * 2).min(MAX_RETRY);
        wait
    }

    /// A delivery resets the doubling.
    fn delivered(&mut self) {
        self.next = FIRST_RETRY;
    }
}

async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_honours_the_server_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.failed(None).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(
            b.failed(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        b.delivered();
        assert_eq!(b.failed(None), FIRST_RETRY);
    }
}
