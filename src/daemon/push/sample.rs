//! The sampler: a thread of its own that, every `every`, writes one sample
//! of every series of the live view's metrics (the very ones /metrics
//! serves) and push's own into the queue.
//!
//! A thread, not a task: encoding a thousand targets' series and writing
//! them to disk takes milliseconds of CPU and file I/O that must not hold
//! up the runtime. The view's metrics are locked while they are encoded
//! (text, protobuf and snappy in one pass) and each batch (compressed, a few
//! kilobytes) is written to the queue as it is sealed, unsynced.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;

use super::config::{written_bytes, PushConfig};
use super::encode::{Batch, Snapshots};
use super::queue::Queue;
use super::send::Shared;
use crate::daemon::live::LiveView;

/// The sampler's state.
pub struct Sampler {
    config: Arc<PushConfig>,
    state_dir: PathBuf,
    live: Arc<LiveView>,
    own: Registry,
    snapshots: Snapshots,
    shared: Arc<Shared>,
    /// The queue reached its bound, said in the journal; reset once it empties.
    said_full: bool,
    /// The queue could not be written, said in the journal; reset by a success.
    said_unwritable: bool,
}

impl Sampler {
    /// A sampler of `live` for `config`, queueing into `shared`; `own` lists push's own series.
    pub fn new(
        config: Arc<PushConfig>,
        state_dir: PathBuf,
        live: Arc<LiveView>,
        own: Registry,
        shared: Arc<Shared>,
    ) -> Sampler {
        Sampler {
            snapshots: Snapshots::new(&config.instance, &config.labels),
            config,
            state_dir,
            live,
            own,
            shared,
            said_full: false,
            said_unwritable: false,
        }
    }

    /// Runs until the sending end of `stop` is dropped.
    pub fn run(mut self, stop: Receiver<()>) {
        let every = self.config.every;
        let mut next = Instant::now() + every;
        loop {
            match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {
                    // Before the first check there is nothing worth a sample.
                    if self.live.pulse().checks > 0 {
                        self.sample();
                    }
                    next += every;
                    let now = Instant::now();
                    if next <= now {
                        // A sample took longer than `every` (a slow disk): skip, never bunch up.
                        next = now + every;
                    }
                }
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// One sample of every series, into the queue: each batch as it is
    /// sealed, so that no more than one is in memory at a time. The queue
    /// writes (to the page cache, not synced) while the metrics are locked:
    /// the live view waits for them, detection never does. Batches that will
    /// wait (the queue is behind) are synced to disk after; the usual one,
    /// sent within moments, is not worth a flash write.
    fn sample(&mut self) {
        let at_ms = chrono::Utc::now().timestamp_millis();
        let queue = &self.shared.queue;
        let backlog = !queue.lock().expect("queue lock").is_empty();
        let mut tally = Tally::default();
        let (live, own) = (&self.live, &self.own);
        let encoded = self.snapshots.take(
            at_ms,
            |w| {
                live.encode_metrics(w)?;
                let mut w = w;
                prometheus_client::encoding::text::encode_registry(&mut w, own)
            },
            &mut |batch| tally.queue(&mut queue.lock().expect("queue lock"), batch),
        );
        if let Err(e) = encoded {
            tracing::error!("push: cannot encode the metrics ({e}); the rest of this sample is skipped");
        }
        if let Some(first) = tally.first.filter(|_| backlog) {
            if let Err(e) = queue.lock().expect("queue lock").sync_from(first) {
                tally.unwritable.get_or_insert((0, e.to_string()));
            }
        }
        self.account(tally.dropped, tally.full, tally.unwritable);
        self.shared.more.notify_one();
    }

    /// Counts what the sample dropped, and says it once per run.
    fn account(&mut self, dropped: u64, full: bool, unwritable: Option<(u64, String)>) {
        let m = &self.shared.metrics;
        let q = self.shared.queue.lock().expect("queue lock");
        m.queue_bytes.set(q.bytes() as i64);
        if full {
            m.dropped("queue_full", dropped);
            if !self.said_full {
                tracing::warn!(
                    "push: the queue reached its bound of {} on disk (queue_max); the oldest samples are dropped \
                     to make room, counted in connectivity_monitor_push_samples_dropped_total{{reason=\"queue_full\"}}",
                    written_bytes(self.config.queue_max)
                );
                self.said_full = true;
            }
        } else if q.len() <= 1 {
            self.said_full = false;
        }
        match unwritable {
            Some((lost, why)) => {
                m.dropped("unwritable", lost);
                if !self.said_unwritable {
                    tracing::error!(
                        "push: cannot write samples to the queue in {} ({why}); they are lost until it can be written",
                        super::queue_dir(&self.state_dir).display()
                    );
                    self.said_unwritable = true;
                }
            }
            None if self.said_unwritable => {
                tracing::info!("push: the queue can be written again");
                self.said_unwritable = false;
            }
            None => {}
        }
    }
}

/// What a sample's batches did to the queue.
#[derive(Default)]
struct Tally {
    /// The number of its first batch in the queue.
    first: Option<u64>,
    /// Samples dropped to keep the queue within its bound.
    dropped: u64,
    /// The queue reached its bound.
    full: bool,
    /// Samples that could not be written, and why.
    unwritable: Option<(u64, String)>,
}

impl Tally {
    fn queue(&mut self, q: &mut Queue, batch: &Batch) {
        let seq = q.next_seq();
        match q.push(batch) {
            Ok(d) => {
                self.first.get_or_insert(seq);
                self.dropped += d.samples;
                self.full |= d.batches > 0;
            }
            Err(e) => {
                let lost = self.unwritable.get_or_insert((0, e.to_string()));
                lost.0 += u64::from(batch.samples);
            }
        }
    }
}

/// How long the sampler may take to stop before the daemon goes on without it.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
