//! Push's own series, sent with the others: what was sent, what was
//! dropped and why, and how much waits on disk.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// The counters, shared by the sampler (which drops for the bound) and the sender.
#[derive(Clone, Default)]
pub struct PushMetrics {
    /// Samples the receiver took.
    pub sent: Counter,
    dropped: Family<ReasonLabels, Counter>,
    /// Disk the queue takes, bytes.
    pub queue_bytes: Gauge,
}

impl PushMetrics {
    /// The counters and a registry that lists them.
    pub fn new() -> (PushMetrics, Registry) {
        let m = PushMetrics::default();
        let mut registry = Registry::with_prefix("connectivity_monitor");
        registry.register(
            "push_samples_sent",
            "Samples the remote_write receiver took",
            m.sent.clone(),
        );
        registry.register(
            "push_samples_dropped",
            "Samples dropped: queue_full (the oldest, past the queue's bound), refused (the receiver refused them for good), unwritable (the queue could not be written)",
            m.dropped.clone(),
        );
        registry.register(
            "push_queue_bytes",
            "Disk taken by samples waiting to be sent",
            m.queue_bytes.clone(),
        );
        for reason in ["queue_full", "refused", "unwritable"] {
            let _ = m.dropped.get_or_create(&ReasonLabels {
                reason: reason.into(),
            });
        }
        (m, registry)
    }

    /// `samples` dropped for `reason`.
    pub fn dropped(&self, reason: &str, samples: u64) {
        self.dropped
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc_by(samples);
    }
}
