//! Messages the outbox could not take (`state_dir` full or read-only): never
//! dropped. They are kept in memory in order, said once, sent from there by
//! the channel's task, and written to the outbox as soon as it can take them,
//! so that a restart after that still sends them.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::{Message, Outbox};

/// One channel's messages that are not in the outbox yet, oldest first.
#[derive(Debug, Default)]
pub struct Held {
    queue: VecDeque<Message>,
    /// The oldest held message is being sent: it is neither written nor sent twice.
    sending: bool,
    /// Writes to the outbox fail (said once per run of failures).
    failing: bool,
}

/// [`Held`] shared by the queueing side and the channel's task; an async lock,
/// held across the outbox write, so that a message is written once and in order.
pub type HeldQueue = Arc<Mutex<Held>>;

/// Queues `msg` for `channel` after what is held, then writes to the outbox
/// whatever it can take, in order.
pub async fn hold(outbox: &Arc<Outbox>, channel: &'static str, held: &HeldQueue, msg: &Message) {
    held.lock().await.queue.push_back(msg.clone());
    spool(outbox, channel, held).await;
}

/// Writes the held messages to the outbox, oldest first, off the runtime
/// thread; stops at the first that cannot be written (said once per run).
pub async fn spool(outbox: &Arc<Outbox>, channel: &'static str, held: &HeldQueue) {
    let mut h = held.lock().await;
    if h.sending {
        return;
    }
    let mut written = 0;
    while let Some(msg) = h.queue.front().cloned() {
        let ob = Arc::clone(outbox);
        let id = msg.id.clone();
        let put = tokio::task::spawn_blocking(move || ob.put(channel, &msg)).await;
        match put.map_err(std::io::Error::other).and_then(|r| r) {
            Ok(_) => {
                h.queue.pop_front();
                written += 1;
            }
            Err(e) => {
                if !h.failing {
                    tracing::error!(
                        channel,
                        "cannot queue notification {id} in the outbox ({e}): it is kept in memory, \
                         sent from there, and written to the outbox as soon as it can be"
                    );
                    h.failing = true;
                }
                return;
            }
        }
    }
    if h.failing {
        tracing::info!(
            channel,
            "the outbox can be written again: {written} held notifications written to it"
        );
        h.failing = false;
    }
}

/// Whether messages wait in memory.
pub async fn any(held: &HeldQueue) -> bool {
    !held.lock().await.queue.is_empty()
}

/// The oldest held message, marked as being sent (so it is not written meanwhile).
pub async fn take_front(held: &HeldQueue) -> Option<Message> {
    let mut h = held.lock().await;
    let front = h.queue.front().cloned()?;
    h.sending = true;
    Some(front)
}

/// The end of sending the oldest held message: `done` removes it (delivered or
/// given up), otherwise it stays first.
pub async fn sent_front(held: &HeldQueue, done: bool) {
    let mut h = held.lock().await;
    h.sending = false;
    if done {
        h.queue.pop_front();
    }
}

/// At the stop: says, with their subjects, the messages that could be neither
/// written nor sent (the journal is the last channel left for them).
pub async fn last_word(channel: &'static str, held: &HeldQueue) {
    for msg in &held.lock().await.queue {
        tracing::error!(
            channel,
            message_id = %msg.id,
            "notification {} could not be written to the outbox nor sent before the stop: {}",
            msg.id,
            msg.subject()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_the_outbox_refuses_is_kept_and_written_in_order_later() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the outbox folder should be: nothing can be written under it.
        std::fs::write(dir.path().join("outbox"), b"").unwrap();
        let outbox = Arc::new(Outbox::new(dir.path()));
        let held = HeldQueue::default();
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut a = Message::test(t);
        a.id = "a".into();
        let mut b = Message::test(t + chrono::Duration::seconds(1));
        b.id = "b".into();
        hold(&outbox, "teams", &held, &a).await;
        hold(&outbox, "teams", &held, &b).await;
        assert!(any(&held).await, "kept in memory");
        std::fs::remove_file(dir.path().join("outbox")).unwrap();
        // Being sent from memory: not written under the sender's feet.
        assert_eq!(take_front(&held).await.unwrap().id, "a");
        spool(&outbox, "teams", &held).await;
        assert!(outbox.pending("teams").is_empty());
        sent_front(&held, false).await;
        spool(&outbox, "teams", &held).await;
        assert!(!any(&held).await);
        let ids: Vec<String> = outbox
            .pending("teams")
            .into_iter()
            .map(|(_, m)| m.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
