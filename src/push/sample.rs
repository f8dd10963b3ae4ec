//! The sampler: a thread of its own that keeps push's copy of the metrics
//! (the very code /metrics runs, fed by the same updates) and, every
//! `every`, writes one sample of every series into the queue.
//!
//! A thread, not a task: encoding a thousand targets' series and writing
//! them to disk takes milliseconds of CPU and file I/O that must not hold
//! up the runtime the probes share. The update stream reaches it through a
//! bounded channel that the runtime side never waits on.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;

use super::config::{written_bytes, PushConfig};
use super::encode::Snapshots;
use super::send::Shared;
use crate::daemon::live;
use crate::daemon::metrics::Metrics;
use crate::monitor::{Event, Update};

/// What the sampler is told.
pub enum Msg {
    /// An update of the stream.
    Update(Arc<Update>),
    /// The channels configured now, for the notification series.
    Channels(Vec<&'static str>),
}

/// The sampler's state.
pub struct Sampler {
    config: Arc<PushConfig>,
    state_dir: PathBuf,
    metrics: Metrics,
    own: Registry,
    snapshots: Snapshots,
    shared: Arc<Shared>,
    channels: Vec<&'static str>,
    /// A check has been applied: before it there is nothing worth a sample.
    checked: bool,
    /// The last check found the internet reachable.
    reachable: bool,
    /// The queue reached its bound, said in the journal; reset once it empties.
    said_full: bool,
    /// The queue could not be written, said in the journal; reset by a success.
    said_unwritable: bool,
}

impl Sampler {
    /// A sampler for `config`, queueing into `shared`; `own` lists push's own series.
    pub fn new(
        config: Arc<PushConfig>,
        state_dir: PathBuf,
        own: Registry,
        shared: Arc<Shared>,
        channels: Vec<&'static str>,
    ) -> Sampler {
        let mut metrics = Metrics::new();
        for c in &channels {
            metrics.spooled(c, live::spooled(&state_dir, c));
        }
        metrics.changed();
        Sampler {
            snapshots: Snapshots::new(&config.instance, &config.labels),
            config,
            state_dir,
            metrics,
            own,
            shared,
            channels,
            checked: false,
            reachable: true,
            said_full: false,
            said_unwritable: false,
        }
    }

    /// Runs until the sending end of `rx` is dropped.
    pub fn run(mut self, rx: Receiver<Msg>) {
        let every = self.config.every;
        let mut next = Instant::now() + every;
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(Msg::Update(u)) => self.apply(&u),
                Ok(Msg::Channels(c)) => self.channels(c),
                Err(RecvTimeoutError::Timeout) => {
                    if self.checked {
                        self.sample();
                    }
                    next += every;
                    let now = Instant::now();
                    if next <= now {
                        // A sample took longer than `every` (a slow disk): skip, never bunch up.
                        next = now + every;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn apply(&mut self, u: &Update) {
        match u {
            Update::Check(c) => {
                live::record_check(&mut self.metrics, c, &live::probe_views(c));
                self.checked = true;
                let reachable = c.diagnosis.targets_up > 0
                    || c.events.iter().any(|e| matches!(e, Event::OutageEnded(_)));
                if reachable && !self.reachable {
                    self.shared.back.notify_one();
                }
                self.reachable = reachable;
            }
            Update::Delivery(d) => {
                let spooled = live::spooled(&self.state_dir, d.channel);
                self.metrics.delivery(d.channel, d.error.is_none(), spooled);
            }
            Update::Alert(_) => {}
        }
    }

    fn channels(&mut self, now: Vec<&'static str>) {
        for gone in self.channels.iter().filter(|c| !now.contains(c)) {
            self.metrics.remove_channel(gone);
        }
        for c in &now {
            self.metrics.spooled(c, live::spooled(&self.state_dir, c));
        }
        self.channels = now;
    }

    /// One sample of every series, into the queue.
    fn sample(&mut self) {
        let at_ms = chrono::Utc::now().timestamp_millis();
        let queue = &self.shared.queue;
        // Batches that will wait (the queue is behind) are synced to disk; the
        // usual one, sent within moments, is not worth a flash write.
        let backlog = !queue.lock().expect("queue lock").is_empty();
        let mut dropped = 0;
        let mut unwritable: Option<(u64, String)> = None;
        let mut full = false;
        let (metrics, own) = (&self.metrics, &self.own);
        let encoded = self.snapshots.take(
            at_ms,
            |w| {
                metrics.encode(w)?;
                let mut w = w;
                prometheus_client::encoding::text::encode_registry(&mut w, own)
            },
            &mut |batch| {
                let mut q = queue.lock().expect("queue lock");
                match q.push(&batch, backlog) {
                    Ok(d) => {
                        dropped += d.samples;
                        full |= d.batches > 0;
                    }
                    Err(e) => {
                        let lost = unwritable.get_or_insert((0, e.to_string()));
                        lost.0 += u64::from(batch.samples);
                    }
                }
            },
        );
        if let Err(e) = encoded {
            tracing::error!("push: cannot encode the metrics ({e}); this sample is skipped");
        }
        self.account(dropped, full, unwritable);
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
                        self.state_dir.join("push").display()
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

/// How long the sampler may take to stop before the daemon goes on without it.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
