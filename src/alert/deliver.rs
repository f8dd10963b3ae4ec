//! Delivery: one task per channel takes that channel's outbox in order and
//! sends each message until it is delivered (or too old, loudly), with capped
//! exponential backoff. A slow or dead channel delays nothing else.

use std::io::Write;
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
            crate::sink::rfc3339_local(Utc::now()),
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
            .and_then(|mut f| f.write_all(line.as_bytes()));
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
    pub fn start(
        channels: Vec<Channel>,
        outbox: Arc<Outbox>,
        log: NotifyLog,
        http: reqwest::Client,
        max_age: Duration,
    ) -> Notifier {
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
            tracker.spawn(deliver(
                channel,
                http.clone(),
                Arc::clone(&outbox),
                log.clone(),
                wake,
                token.clone(),
                max_age,
            ));
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

async fn deliver(
    channel: Channel,
    http: reqwest::Client,
    outbox: Arc<Outbox>,
    log: NotifyLog,
    wake: Arc<Notify>,
    token: CancellationToken,
    max_age: Duration,
) {
    let name = channel.name();
    let mut backoff = FIRST_RETRY;
    loop {
        let pending = outbox.pending(name);
        let mut wait = None;
        for (path, msg) in pending {
            let age = (Utc::now() - msg.created).to_std().unwrap_or_default();
            if age > max_age {
                tracing::error!(
                    channel = name,
                    "notification {} ({}) expired undelivered after {}; kept in outbox/expired",
                    msg.id,
                    msg.label(),
                    humantime::format_duration(max_age)
                );
                log.attempt(name, &msg, Err("expired"), "expired");
                outbox.set_aside(&path, "expired");
                continue;
            }
            let sent = tokio::select! {
                _ = token.cancelled() => return,
                r = channel.send(&http, &msg) => r,
            };
            match sent {
                Ok(()) => {
                    log.attempt(name, &msg, Ok(()), "ok");
                    tracing::info!(
                        channel = name,
                        "notification {} ({}) delivered",
                        msg.id,
                        msg.label()
                    );
                    outbox.done(&path);
                    backoff = FIRST_RETRY;
                }
                Err(SendError { text, retry_after }) => {
                    log.attempt(name, &msg, Err(&text), "failed");
                    let delay = retry_after.unwrap_or(backoff);
                    tracing::warn!(
                        channel = name,
                        "notification {} not delivered ({text}); retrying in {}",
                        msg.id,
                        humantime::format_duration(delay)
                    );
                    backoff = (backoff * 2).min(MAX_RETRY);
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

async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
