//! Delivery: one task per channel takes that channel's outbox in order (then
//! what the outbox could not take, from memory) and sends each message until
//! it is delivered (or too old, loudly), with capped exponential backoff. A
//! slow or dead channel delays nothing else.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channel::{Channel, SendError};
use super::spool::{self, HeldQueue};
use super::{Message, NotifyLog, Outbox};
use crate::config::Severity;
use crate::monitor::update::{DeliveryNote, LiveSender, Update};
use crate::timefmt::spelled;
use crate::util::Backoff;

/// A failed send is retried after this, doubling up to [`MAX_RETRY`], unless
/// the server said how long (Telegram's `retry_after`).
const FIRST_RETRY: Duration = Duration::from_secs(2);
const MAX_RETRY: Duration = Duration::from_secs(300);
/// How often writing held messages to the outbox (and held lines to
/// `notifications.log`) is tried again while it fails.
const SPOOL_RETRY: Duration = Duration::from_secs(5);

struct Lane {
    name: &'static str,
    min: Severity,
    wake: Arc<Notify>,
    held: HeldQueue,
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
            let lane = Lane {
                name: channel.name(),
                min: channel.min_severity(),
                wake: Arc::new(Notify::new()),
                held: HeldQueue::default(),
            };
            tracker.spawn(deliver(
                channel,
                shared.clone(),
                (Arc::clone(&lane.wake), Arc::clone(&lane.held)),
                token.clone(),
            ));
            lanes.push(lane);
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
    /// returns, or held in memory, loudly, when the outbox cannot take it)
    /// and wakes its task.
    pub async fn notify(&self, msg: &Message) {
        for lane in self.lanes.iter().filter(|l| msg.passes(l.min)) {
            spool::hold(&self.outbox, lane.name, &lane.held, msg).await;
            lane.wake.notify_one();
        }
    }

    /// Stops the delivery tasks; what is undelivered stays in the outbox. What
    /// the outbox still cannot take is said in the journal, message by message.
    pub async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
        for lane in &self.lanes {
            // A send cut short by the stop left its message first in the queue.
            spool::sent_front(&lane.held, false).await;
            spool::spool(&self.outbox, lane.name, &lane.held).await;
            spool::last_word(lane.name, &lane.held).await;
        }
    }
}

/// What every delivery task shares.
#[derive(Clone)]
pub struct Shared {
    /// Where messages wait.
    pub outbox: Arc<Outbox>,
    /// `notifications.log`.
    pub log: NotifyLog,
    /// The daemon's one HTTP client, made when a channel first sends.
    pub http: crate::probe::SharedClient,
    /// An undelivered message older than this is given up, loudly.
    pub max_age: Duration,
    /// Where delivery outcomes are published for live views.
    pub live: LiveSender,
}

impl Shared {
    /// Sets `msg` aside (when it is in the outbox at `path`), loudly, if it is
    /// older than `max_age`; says whether it did.
    fn expire(&self, channel: &str, path: Option<&Path>, msg: &Message) -> bool {
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
        if let Some(path) = path {
            self.outbox.set_aside(path, "expired");
        }
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

async fn deliver(
    channel: Channel,
    shared: Shared,
    (wake, held): (Arc<Notify>, HeldQueue),
    token: CancellationToken,
) {
    let name = channel.name();
    let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
    loop {
        let wait = tokio::select! {
            _ = token.cancelled() => return,
            w = pass(&channel, &shared, &held, &mut backoff) => w,
        };
        let until = wait.map(|w| tokio::time::Instant::now() + w);
        loop {
            let held_back = spool::any(&held).await || !shared.log.flush();
            tokio::select! {
                _ = token.cancelled() => return,
                _ = wake.notified() => break,
                _ = sleep_until_or_forever(until) => break,
                _ = tokio::time::sleep(SPOOL_RETRY), if held_back => {
                    spool::spool(&shared.outbox, name, &held).await;
                }
            }
        }
    }
}

/// Sends what waits for `channel`, oldest first: the outbox, then what only
/// memory holds. Returns when to try again after a failure (order is kept:
/// nothing after a failed message goes first), or `None` when all is sent.
async fn pass(
    channel: &Channel,
    shared: &Shared,
    held: &HeldQueue,
    backoff: &mut Backoff,
) -> Option<Duration> {
    let name = channel.name();
    spool::spool(&shared.outbox, name, held).await;
    let outbox = Arc::clone(&shared.outbox);
    let pending = tokio::task::spawn_blocking(move || outbox.pending(name))
        .await
        .unwrap_or_default();
    for (path, msg) in pending {
        if shared.expire(name, Some(&path), &msg) {
            continue;
        }
        if let Err(wait) = attempt(channel, shared, &msg, backoff).await {
            return Some(wait);
        }
        shared.outbox.done(&path);
    }
    while let Some(msg) = spool::take_front(held).await {
        if shared.expire(name, None, &msg) {
            spool::sent_front(held, true).await;
            continue;
        }
        let sent = attempt(channel, shared, &msg, backoff).await;
        spool::sent_front(held, sent.is_ok()).await;
        if let Err(wait) = sent {
            return Some(wait);
        }
    }
    None
}

/// One attempt to send `msg`, recorded; on failure, the wait before the next.
async fn attempt(
    channel: &Channel,
    shared: &Shared,
    msg: &Message,
    backoff: &mut Backoff,
) -> Result<(), Duration> {
    let name = channel.name();
    let sent = channel.send(&shared.http, msg).await;
    shared.record(name, msg, sent.as_ref().err().map(|e| e.text.as_str()));
    match sent {
        Ok(()) => {
            tracing::info!(
                channel = name,
                "notification {} ({}) delivered",
                msg.id,
                msg.label()
            );
            backoff.succeeded();
            Ok(())
        }
        Err(SendError { text, retry_after }) => {
            let delay = backoff.failed(retry_after);
            tracing::warn!(
                channel = name,
                "notification {} not delivered ({text}); retrying in {}",
                msg.id,
                spelled(delay)
            );
            Err(delay)
        }
    }
}

async fn sleep_until_or_forever(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
