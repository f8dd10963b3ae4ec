//! `/metrics`: the live view's Prometheus metrics, served in the format the
//! scraper asks for (see `exposition`): the probes' series from their own
//! rows (`probes`), the rest kept by `prometheus-client`.
//!
//! Every label value is escaped, so a quote or a backslash in a target's
//! name cannot break a scrape; a probe that is gone (removed by a reload, a
//! gateway that changed address) loses its series, and a probe that got no
//! answer has no RTT sample.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use hyper::body::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use super::exposition::Format;
use super::exposition::Label;
use crate::monitor::Verdict;
use crate::probe::{Plan, Probe, ProbeResult, Role};
pub use probes::{Exposition, ProbeLabels, Value};
use probes::{ProbeSeries, Text};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: Label,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The address probe `p`'s labels take from its result `r`: the gateway's
/// (the one label `Probe::parts` takes from a result; were there another, a
/// check of the same plan would have to compare it too).
fn resolved(p: &Probe, r: &ProbeResult) -> Option<IpAddr> {
    matches!(p.role, Role::Gateway).then_some(r.addr).flatten()
}

/// The verdicts `verdict{verdict}` has a series for.
pub const VERDICTS: [Verdict; 9] = Verdict::ALL;

/// Registers each metric under its name with its help text: a table, one metric a line.
macro_rules! register {
    ($registry:expr, $($name:literal => $metric:expr, $help:literal;)*) => {
        $( $registry.register($name, $help, $metric.clone()); )*
    };
}

/// The metrics, registered once; label sets come from the config, so their number is bounded.
pub struct Metrics {
    registry: Registry,
    verdict: Family<VerdictLabels, Gauge>,
    family_up: Family<FamilyLabels, Gauge>,
    family_targets_up: Family<FamilyLabels, Gauge>,
    outages: Family<CauseLabels, Counter>,
    outage_seconds: Family<CauseLabels, Counter<f64, AtomicU64>>,
    pub outage_open: Gauge,
    pub outage_open_start: FloatGauge,
    pub last_check: FloatGauge,
    pub check_duration: FloatGauge,
    sent: Family<ChannelLabels, Counter>,
    failed: Family<ChannelLabels, Counter>,
    spooled: Family<ChannelLabels, Gauge>,
    /// The probes of the last check, in its order, with their series: a
    /// check of the same probes sets them without a lookup; the series of a
    /// probe not among the next check's probes are gone with it.
    probes: Vec<ProbeSeries>,
    /// The plan of the last check.
    plan: Option<Arc<Plan>>,
    /// The text of the last scrape per format, until a metric changes:
    /// scrapers between two checks get it without the registry being encoded again.
    encoded: [Option<Bytes>; 2],
    /// The longest text encoded yet: the next one is written into room for it at once.
    text_len: usize,
}

impl Metrics {
    /// Every metric registered, with its help text, in the order a scrape lists them.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("connectivity_monitor"),
            verdict: Family::default(),
            family_up: Family::default(),
            family_targets_up: Family::default(),
            outages: Family::default(),
            outage_seconds: Family::default(),
            outage_open: Gauge::default(),
            outage_open_start: Gauge::default(),
            last_check: Gauge::default(),
            check_duration: Gauge::default(),
            sent: Family::default(),
            failed: Family::default(),
            spooled: Family::default(),
            probes: Vec::new(),
            plan: None,
            encoded: [None, None],
            text_len: 0,
        };
        register!(m.registry,
            "verdict" => m.verdict, "1 for the verdict of the last check, 0 for the others";
            "family_up" => m.family_up, "1 if an internet target of the family answered at the last check";
            "family_targets_up" => m.family_targets_up, "Internet targets of the family that answered at the last check";
            "outages" => m.outages, "Outages ended, by cause";
            "outage_seconds" => m.outage_seconds, "Observed outage time of ended outages, by cause";
            "outage_open" => m.outage_open, "1 while an outage is open";
            "outage_open_start_timestamp_seconds" => m.outage_open_start, "Start of the open outage (Unix time), 0 when none";
            "last_check_timestamp_seconds" => m.last_check, "Start of the last check (Unix time)";
            "check_duration_seconds" => m.check_duration, "From a check's start until its verdict was published";
            "notifications_sent" => m.sent, "Notifications delivered, by channel";
            "notifications_failed" => m.failed, "Failed delivery attempts, by channel";
            "notifications_spooled" => m.spooled, "Notifications waiting in the outbox, by channel";
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        m.registry
            .register("build_info", "The running version", build);
        for v in VERDICTS {
            m.verdict
                .get_or_create(&VerdictLabels {
                    verdict: v.as_str().into(),
                })
                .set(0);
        }
        m
    }

    /// The scrape in `format`, encoded at most once per change.
    pub fn text(&mut self, format: Format) -> Bytes {
        let slot = &mut self.encoded[format as usize];
        if let Some(text) = slot {
            return text.clone();
        }
        // The probes' series hold no counter, so they read the same in both formats.
        let mut out = String::with_capacity(self.text_len);
        probes::write(&self.probes, &mut Text(&mut out)).expect("encoding to a String");
        let mut rest = String::new();
        prometheus_client::encoding::text::encode_registry(&mut rest, &self.registry)
            .expect("encoding to a String");
        match format {
            Format::OpenMetrics => {
                out.push_str(&rest);
                out.push_str("# EOF\n");
            }
            Format::Prometheus => out.push_str(&super::exposition::prometheus_004(&rest)),
        }
        self.text_len = self.text_len.max(out.len());
        slot.insert(Bytes::from(out)).clone()
    }

    /// The samples into `out` as they are encoded (OpenMetrics, without
    /// `# EOF`): for push, which must not hold a large scrape whole.
    pub fn encode(&self, out: &mut dyn Exposition) -> std::fmt::Result {
        probes::write(&self.probes, out)?;
        prometheus_client::encoding::text::encode_registry(&mut &mut *out, &self.registry)
    }

    /// Marks the encoded texts stale.
    pub fn changed(&mut self) {
        self.encoded = [None, None];
    }

    /// The per-probe gauges and histogram of one check; series of probes that
    /// are no longer checked are removed, and so is the RTT of a probe that
    /// got no answer. A check of the same plan as the last one (the same
    /// probes, and the gateway at the same address) allocates nothing.
    pub fn probes(&mut self, plan: &Arc<Plan>, results: &[ProbeResult]) {
        let same = self.plan.as_ref().is_some_and(|p| Arc::ptr_eq(p, plan))
            && self.probes.len() == results.len()
            && self
                .probes
                .iter()
                .zip(&plan.probes)
                .zip(results)
                .all(|((s, p), r)| s.resolved == resolved(p, r));
        if !same {
            self.follow_probes(plan, results);
            self.plan = Some(Arc::clone(plan));
        }
        for (s, r) in self.probes.iter_mut().zip(results) {
            s.success = super::live::up(r);
            s.rtt = r.outcome.rtt().map(|rtt| rtt.as_ms() / 1000.0);
            if let Some(rtt) = s.rtt {
                s.observe(rtt);
            }
            s.loss = super::live::loss_pct(r).map(|l| l / 100.0);
        }
    }

    /// Takes the series of a new list of probes (a reload, a gateway that
    /// changed address): those kept keep theirs, those gone lose them.
    fn follow_probes(&mut self, plan: &Plan, results: &[ProbeResult]) {
        let mut old: HashMap<ProbeLabels, ProbeSeries> = self
            .probes
            .drain(..)
            .map(|s| (s.labels.clone(), s))
            .collect();
        // Room for all at once: grown by doubling, a thousand rows would
        // leave the heap holes of half, a quarter... of their size.
        self.probes.reserve_exact(plan.probes.len());
        for (p, r) in plan.probes.iter().zip(results) {
            let labels = ProbeLabels::of(&super::live::probe_view(p, r));
            let mut series = old
                .remove(&labels)
                .unwrap_or_else(|| ProbeSeries::new(labels));
            series.resolved = resolved(p, r);
            self.probes.push(series);
        }
        self.probes.shrink_to_fit();
    }

    /// Each family's targets at the last check; a family without targets has no series.
    pub fn families(
        &self,
        families: &std::collections::BTreeMap<&'static str, super::live::FamilyView>,
    ) {
        for f in crate::config::Family::ALL {
            let labels = FamilyLabels {
                family: f.label().into(),
            };
            match families.get(f.label()) {
                Some(v) => {
                    self.family_up.get_or_create(&labels).set(i64::from(v.up));
                    self.family_targets_up
                        .get_or_create(&labels)
                        .set(v.targets_up as i64);
                }
                None => {
                    self.family_up.remove(&labels);
                    self.family_targets_up.remove(&labels);
                }
            }
        }
    }

    /// 1 for `verdict`, 0 for the others.
    pub fn verdict(&self, verdict: Verdict) {
        for v in VERDICTS {
            self.verdict
                .get_or_create(&VerdictLabels {
                    verdict: v.as_str().into(),
                })
                .set(i64::from(v == verdict));
        }
    }

    /// An outage of `cause` ended after `seconds` of observed outage time.
    pub fn outage_ended(&self, cause: &str, seconds: f64) {
        let cause = CauseLabels {
            cause: cause.into(),
        };
        self.outages.get_or_create(&cause).inc();
        self.outage_seconds.get_or_create(&cause).inc_by(seconds);
    }

    /// A delivery on `channel`: delivered or failed, and what is left in its outbox.
    pub fn delivery(&self, channel: &str, delivered: bool, spooled: usize) {
        let labels = ChannelLabels {
            channel: channel.into(),
        };
        if delivered {
            self.sent.get_or_create(&labels).inc();
        } else {
            self.failed.get_or_create(&labels).inc();
        }
        self.spooled(channel, spooled);
    }

    /// What waits in `channel`'s outbox.
    pub fn spooled(&self, channel: &str, spooled: usize) {
        self.spooled
            .get_or_create(&ChannelLabels {
                channel: channel.into(),
            })
            .set(spooled as i64);
    }

    /// Forgets a channel that is no longer configured.
    pub fn remove_channel(&self, channel: &str) {
        let labels = ChannelLabels {
            channel: channel.into(),
        };
        self.sent.remove(&labels);
        self.failed.remove(&labels);
        self.spooled.remove(&labels);
    }
}

pub mod probes;

#[cfg(test)]
pub mod tests;
