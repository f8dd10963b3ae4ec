//! The update stream: everything the daemon learns, published once as a typed
//! [`Update`] and fanned out to two kinds of consumer.
//!
//! - **Durable** consumers (the outage recorder, the connection log, the alert
//!   driver that fills the outbox) each get a bounded queue. When one is full the
//!   monitor waits: backpressure, never a lost row.
//! - **Live** consumers (the systemd status line, and status pages, metrics or
//!   MQTT) subscribe to a broadcast. One that lags loses the oldest updates and
//!   counts them; it never delays detection.
//!
//! A new consumer asks the [`Hub`] for a queue before the monitor starts
//! ([`Hub::durable`]) or for a [`LiveReceiver`] at any time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};

use super::{Diagnosis, Event, MachineState};
use crate::probe::{Plan, ProbeResult};

/// How many updates a live consumer may fall behind before it loses some.
/// An update stays in the broadcast's ring until every receiver has read
/// it, and a check with a thousand targets is a large one (a result per
/// probe, some 60 KB): small, so a consumer that stalls holds little. Each
/// live consumer applies an update in microseconds, or waits for a lock
/// another reader of the view holds (push's sample: tens of milliseconds at
/// a thousand targets), less than a check's interval but at the very
/// shortest (100 ms): two is room enough, and a consumer that falls further
/// behind misses checks, counted.
const LIVE_BACKLOG: usize = 2;

/// One thing the daemon learned.
#[derive(Debug, Clone)]
pub enum Update {
    /// A check finished: its probes, its verdict and what the outage machine made of it.
    Check(Box<CheckDone>),
    /// A channel tried to deliver a notification.
    Delivery(DeliveryNote),
    /// The fault tickets open now, as `faults.csv` was last read.
    Tickets(Vec<TicketNote>),
}

/// A finished check.
#[derive(Debug, Clone)]
pub struct CheckDone {
    /// When its round started.
    pub at: DateTime<Utc>,
    /// The probes, in the order of `results`.
    pub plan: Arc<Plan>,
    /// One result per probe.
    pub results: Vec<ProbeResult>,
    /// The verdict and the figures behind it.
    pub diagnosis: Diagnosis,
    /// The outage machine's events for this check, in order.
    pub events: Vec<Event>,
    /// The machine's state after this check (what `state.json` holds).
    pub state: MachineState,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryNote {
    /// The channel, e.g. `telegram`.
    pub channel: &'static str,
    /// The message id.
    pub id: String,
    /// `None` when delivered; else why not (never a secret).
    pub error: Option<String>,
}

/// A fault ticket still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNote {
    /// The provider's reference, e.g. `TKT-4711`.
    pub reference: String,
    /// When the fault was reported.
    pub reported: DateTime<Utc>,
    /// What the user noted when opening it.
    pub note: String,
    /// The compensation rule configured: `uk-ofcom`, `de-tkg58` or `none`.
    pub rule: &'static str,
    /// When the provider's deadline passes under that rule; `None` under none.
    pub deadline: Option<DateTime<Utc>>,
}

/// Something learned outside the checks that belongs in a failure's detail,
/// e.g. where the path broke. A newer one with the same `key` replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The failure it is about, by its first failing check: it is dropped if
    /// that failure is no longer the one in progress.
    pub failure: DateTime<Utc>,
    /// What it is about, e.g. `path to one:`; the detail part starting with it is replaced.
    pub key: String,
    /// The words, starting with `key`.
    pub text: String,
}

/// Where consumers subscribe; turned into a [`Publisher`] when the monitor starts.
pub struct Hub {
    durable: Vec<mpsc::Sender<Arc<Update>>>,
    live: broadcast::Sender<Arc<Update>>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            durable: Vec::new(),
            live: broadcast::channel(LIVE_BACKLOG).0,
        }
    }
}

impl Hub {
    /// A durable queue of `capacity` updates; the monitor waits when it is full.
    pub fn durable(&mut self, capacity: usize) -> mpsc::Receiver<Arc<Update>> {
        let (tx, rx) = mpsc::channel(capacity);
        self.durable.push(tx);
        rx
    }

    /// A live receiver.
    pub fn live(&self) -> LiveReceiver {
        LiveReceiver::new(self.live.subscribe())
    }

    /// A handle for publishing to live consumers only (alert and delivery notes).
    pub fn live_sender(&self) -> LiveSender {
        LiveSender(self.live.clone())
    }

    /// The monitor's end. When it is dropped, every durable queue closes and
    /// its consumer drains what is left, then ends.
    pub fn publisher(self) -> Publisher {
        Publisher {
            durable: self.durable,
            live: self.live,
        }
    }
}

/// Publishes to every consumer.
pub struct Publisher {
    durable: Vec<mpsc::Sender<Arc<Update>>>,
    live: broadcast::Sender<Arc<Update>>,
}

impl Publisher {
    /// Hands `update` to every durable queue (waiting for room), then to the live ones.
    pub async fn publish(&self, update: Update) {
        let update = Arc::new(update);
        for tx in &self.durable {
            // A consumer that has ended (it panicked) cannot take more; the others still do.
            let _ = tx.send(Arc::clone(&update)).await;
        }
        let _ = self.live.send(update);
    }
}

/// Publishes to live consumers only; never waits.
#[derive(Debug, Clone)]
pub struct LiveSender(broadcast::Sender<Arc<Update>>);

impl LiveSender {
    /// Sends `update` to whoever listens now.
    pub fn send(&self, update: Update) {
        let _ = self.0.send(Arc::new(update));
    }

    /// A live receiver of what is published from now on.
    pub fn subscribe(&self) -> LiveReceiver {
        LiveReceiver::new(self.0.subscribe())
    }
}

/// A live consumer's receiver: drops what it could not keep up with, and counts it.
pub struct LiveReceiver {
    rx: broadcast::Receiver<Arc<Update>>,
    missed: u64,
}

impl LiveReceiver {
    fn new(rx: broadcast::Receiver<Arc<Update>>) -> LiveReceiver {
        LiveReceiver { rx, missed: 0 }
    }

    /// The next update; `None` once every publisher is gone.
    pub async fn recv(&mut self) -> Option<Arc<Update>> {
        loop {
            match self.rx.recv().await {
                Ok(u) => return Some(u),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.missed += n;
                    tracing::debug!("a live consumer fell behind and skipped {n} updates");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Updates skipped because this consumer lagged.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(i: usize) -> Update {
        Update::Delivery(DeliveryNote {
            channel: "email",
            id: i.to_string(),
            error: None,
        })
    }

    #[tokio::test]
    async fn durable_consumers_get_everything_in_order_and_close_with_the_publisher() {
        let mut hub = Hub::default();
        let mut rx = hub.durable(2);
        let publisher = hub.publisher();
        let writer = tokio::spawn(async move {
            for i in 0..10 {
                publisher.publish(note(i)).await;
            }
        });
        let mut got = Vec::new();
        while let Some(u) = rx.recv().await {
            if let Update::Delivery(a) = &*u {
                got.push(a.id.clone());
            }
        }
        writer.await.unwrap();
        let want: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(
            got, want,
            "a queue of 2 held up the publisher, lost nothing"
        );
    }

    #[tokio::test]
    async fn a_lagging_live_consumer_drops_and_counts_without_blocking() {
        let hub = Hub::default();
        let mut live = hub.live();
        let publisher = hub.publisher();
        let n = LIVE_BACKLOG + 10;
        for i in 0..n {
            // Returns at once although nobody reads: live consumers never hold up the monitor.
            publisher.publish(note(i)).await;
        }
        let Some(first) = live.recv().await else {
            panic!("closed")
        };
        let Update::Delivery(a) = &*first else {
            panic!("{first:?}")
        };
        assert_eq!(a.id, "10", "the oldest were dropped");
        assert_eq!(live.missed(), 10);
        drop(publisher);
        let mut rest = 0;
        while live.recv().await.is_some() {
            rest += 1;
        }
        assert_eq!(rest, LIVE_BACKLOG - 1);
    }
}
