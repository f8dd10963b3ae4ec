//! `/metrics`: the live view's Prometheus metrics, kept by `prometheus-client`
//! and served in the format the scraper asks for (see `exposition`).
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
use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use super::exposition::Format;
use super::exposition::Label;
use super::live::ProbeView;
use crate::monitor::Verdict;
use crate::probe::{Plan, Probe, ProbeResult, Role};

/// One probe's series' labels, behind one pointer: each of the four
/// families of a probe keys its map with a copy, so a copy is 8 bytes, not
/// five labels' 80 (with a thousand probes, 0.9 MB less in the maps).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ProbeLabels(Arc<ProbeLabelSet>);

impl EncodeLabelSet for ProbeLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> std::fmt::Result {
        self.0.encode(encoder)
    }
}

/// `target` is the target, DNS query or HTTP check name (the address for
/// the gateway and hops), `address` what was asked: the IP, the DNS server
/// `IP:PORT`, or the URL.
#[derive(Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabelSet {
    role: Label,
    target: Label,
    address: Label,
    kind: Label,
    family: Label,
}

impl ProbeLabels {
    /// The labels of probe `p`.
    pub fn of(p: &ProbeView) -> ProbeLabels {
        let address = Label::from(p.address.as_deref().unwrap_or_default());
        ProbeLabels(Arc::new(ProbeLabelSet {
            role: p.role.into(),
            target: p
                .name
                .as_deref()
                .map_or_else(|| address.clone(), Label::from),
            address,
            kind: p.kind.as_str().into(),
            family: p.family.into(),
        }))
    }
}

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

/// One probe's series, as handles on the families' metrics.
struct ProbeSeries {
    labels: ProbeLabels,
    success: Gauge,
    rtt_hist: Histogram,
    /// Present while the probe gets answers.
    rtt: Option<FloatGauge>,
    /// Present while the probe measures loss.
    loss: Option<FloatGauge>,
    /// The address its labels name when the check gave it (the gateway found by route).
    resolved: Option<IpAddr>,
}

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
    probe_success: Family<ProbeLabels, Gauge>,
    probe_rtt: Family<ProbeLabels, FloatGauge>,
    probe_rtt_hist: Family<ProbeLabels, Histogram>,
    probe_loss: Family<ProbeLabels, FloatGauge>,
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
    /// check of the same probes sets them without a lookup; a series not
    /// among the next check's probes is removed.
    probes: Vec<ProbeSeries>,
    /// The plan of the last check.
    plan: Option<Arc<Plan>>,
    /// The text of the last scrape per format, until a metric changes:
    /// scrapers between two checks get it without the registry being encoded again.
    encoded: [Option<Bytes>; 2],
}

/// The RTT histogram's bounds: 14 of them, from 0.5 ms doubling (to 4.096 s).
/// Doubling is exact, so these are the same bounds as `0.0005 * 2^i`; unlike
/// prometheus-client's `exponential_buckets` (a `powf` per bound), it calls no
/// libm function, and with the report's charts the binary needs no libm at all:
/// its mapping cost every running daemon about 0.4 MiB resident.
fn rtt_buckets() -> impl Iterator<Item = f64> {
    std::iter::successors(Some(0.0005), |b| Some(b * 2.0)).take(14)
}

impl Metrics {
    /// Every metric registered, with its help text, in the order a scrape lists them.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("connectivity_monitor"),
            probe_success: Family::default(),
            probe_rtt: Family::default(),
            probe_rtt_hist: Family::new_with_constructor(|| Histogram::new(rtt_buckets())),
            probe_loss: Family::default(),
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
        };
        register!(m.registry,
            "probe_success" => m.probe_success, "1 if the probe got an answer at the last check";
            "probe_rtt_seconds" => m.probe_rtt, "Round-trip time of the probe at the last check; absent while it gets no answer";
            "probe_rtt_distribution_seconds" => m.probe_rtt_hist, "Round-trip times of the probe";
            "probe_loss_ratio" => m.probe_loss, "ICMP loss of the probe at the last check, 0 to 1";
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
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)
            .expect("encoding to a String");
        let text = match format {
            Format::OpenMetrics => out + "# EOF\n",
            Format::Prometheus => super::exposition::prometheus_004(&out),
        };
        slot.insert(Bytes::from(text)).clone()
    }

    /// The samples as OpenMetrics text (without `# EOF`), written into `out`
    /// as they are encoded: for push, which must not hold a large scrape whole.
    pub fn encode(&self, mut out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        prometheus_client::encoding::text::encode_registry(&mut out, &self.registry)
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
            s.success.set(i64::from(super::live::up(r)));
            match r.outcome.rtt() {
                Some(rtt) => {
                    let rtt = rtt.as_ms() / 1000.0;
                    s.rtt
                        .get_or_insert_with(|| self.probe_rtt.get_or_create(&s.labels).clone())
                        .set(rtt);
                    s.rtt_hist.observe(rtt);
                }
                None => {
                    if s.rtt.take().is_some() {
                        self.probe_rtt.remove(&s.labels);
                    }
                }
            }
            match super::live::loss_pct(r) {
                Some(l) => {
                    let loss = s
                        .loss
                        .get_or_insert_with(|| self.probe_loss.get_or_create(&s.labels).clone());
                    loss.set(l / 100.0);
                }
                None => {
                    if s.loss.take().is_some() {
                        self.probe_loss.remove(&s.labels);
                    }
                }
            }
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
        for (p, r) in plan.probes.iter().zip(results) {
            let labels = ProbeLabels::of(&super::live::probe_view(p, r));
            let mut series = old.remove(&labels).unwrap_or_else(|| ProbeSeries {
                success: self.probe_success.get_or_create(&labels).clone(),
                rtt_hist: self.probe_rtt_hist.get_or_create(&labels).clone(),
                rtt: None,
                loss: None,
                resolved: None,
                labels,
            });
            series.resolved = resolved(p, r);
            self.probes.push(series);
        }
        for gone in old.keys() {
            self.probe_success.remove(gone);
            self.probe_rtt.remove(gone);
            self.probe_rtt_hist.remove(gone);
            self.probe_loss.remove(gone);
        }
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

#[cfg(test)]
mod tests;
