//! The live view shared by the status page, the JSON API, /metrics and MQTT:
//! a live consumer of the update stream that keeps the current state, the
//! last hour per target, the last outages and the channels' health, and the
//! Prometheus metrics, all updated in place once per check.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use hyper::body::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::monitor::update::{CheckDone, DeliveryNote};
use crate::monitor::{Event, Update, Verdict};
use crate::probe::Outcome;
use crate::timefmt::rfc3339_local;

/// How much history a target keeps for its sparkline.
const HISTORY_SECONDS: i64 = 3600;
/// How many finished outages the page lists.
const RECENT_OUTAGES: usize = 20;

/// One probe as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeView {
    pub role: &'static str,
    pub name: Option<String>,
    pub address: Option<String>,
    pub kind: String,
    pub up: bool,
    pub rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub failure: Option<String>,
}

/// An outage as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutageView {
    pub start: String,
    pub end: Option<String>,
    pub cause: String,
    pub duration_s: u64,
    pub detail: String,
}

/// A channel's health.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ChannelView {
    pub last_delivered: Option<String>,
    pub last_error: Option<String>,
    /// Messages waiting in its outbox.
    pub spooled: usize,
}

/// Everything `/api/status` says (schema in README).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct View {
    pub schema_version: u32,
    pub host: String,
    pub interval_s: f64,
    pub checks: u64,
    pub last_check: Option<String>,
    pub verdict: Option<Verdict>,
    pub detail: String,
    pub gateway_rtt_ms: Option<f64>,
    pub internet_rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub probes: Vec<ProbeView>,
    /// Per target, the last hour: [unix seconds, RTT ms or null].
    pub history: BTreeMap<String, VecDeque<(i64, Option<f64>)>>,
    pub outage: Option<OutageView>,
    pub recent_outages: VecDeque<OutageView>,
    pub channels: BTreeMap<String, ChannelView>,
    /// Today's checks that were not part of an outage, percent.
    pub availability_today_pct: Option<f64>,
    #[serde(skip)]
    today: Option<(chrono::NaiveDate, u64, u64)>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    role: String,
    target: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// The metrics, registered once; label sets come from the config, so their number is bounded.
struct Metrics {
    registry: Registry,
    probe_success: Family<ProbeLabels, Gauge>,
    probe_rtt: Family<ProbeLabels, Gauge<f64, AtomicU64>>,
    probe_rtt_hist: Family<ProbeLabels, Histogram>,
    probe_loss: Family<ProbeLabels, Gauge<f64, AtomicU64>>,
    verdict: Family<VerdictLabels, Gauge>,
    outages: Family<CauseLabels, Counter>,
    outage_seconds: Family<CauseLabels, Counter<f64, AtomicU64>>,
    outage_open: Gauge,
    outage_open_start: Gauge<f64, AtomicU64>,
    last_check: Gauge<f64, AtomicU64>,
    check_duration: Gauge<f64, AtomicU64>,
    sent: Family<ChannelLabels, Counter>,
    failed: Family<ChannelLabels, Counter>,
    spooled: Family<ChannelLabels, Gauge>,
    /// The text of the last scrape, until a metric changes: scrapers between
    /// two checks get it without the registry being encoded again.
    encoded: Option<Bytes>,
}

impl Metrics {
    /// One registration per metric, with its help text; long as a list is long.
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("connectivity_monitor");
        let m = Metrics {
            registry: Registry::default(),
            probe_success: Family::default(),
            probe_rtt: Family::default(),
            probe_rtt_hist: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 14))
            }),
            probe_loss: Family::default(),
            verdict: Family::default(),
            outages: Family::default(),
            outage_seconds: Family::default(),
            outage_open: Gauge::default(),
            outage_open_start: Gauge::default(),
            last_check: Gauge::default(),
            check_duration: Gauge::default(),
            sent: Family::default(),
            failed: Family::default(),
            spooled: Family::default(),
            encoded: None,
        };
        registry.register(
            "probe_success",
            "1 if the probe got an answer at the last check",
            m.probe_success.clone(),
        );
        registry.register(
            "probe_rtt_seconds",
            "Round-trip time of the probe at the last check",
            m.probe_rtt.clone(),
        );
        registry.register(
            "probe_rtt_distribution_seconds",
            "Round-trip times of the probe",
            m.probe_rtt_hist.clone(),
        );
        registry.register(
            "probe_loss_ratio",
            "ICMP loss of the probe at the last check, 0 to 1",
            m.probe_loss.clone(),
        );
        registry.register(
            "verdict",
            "1 for the verdict of the last check, 0 for the others",
            m.verdict.clone(),
        );
        registry.register("outages", "Outages ended, by cause", m.outages.clone());
        registry.register(
            "outage_seconds",
            "Observed outage time of ended outages, by cause",
            m.outage_seconds.clone(),
        );
        registry.register(
            "outage_open",
            "1 while an outage is open",
            m.outage_open.clone(),
        );
        registry.register(
            "outage_open_start_timestamp_seconds",
            "Start of the open outage (Unix time), 0 when none",
            m.outage_open_start.clone(),
        );
        registry.register(
            "last_check_timestamp_seconds",
            "Start of the last check (Unix time)",
            m.last_check.clone(),
        );
        registry.register(
            "check_duration_seconds",
            "From a check's start until its verdict was published",
            m.check_duration.clone(),
        );
        registry.register(
            "notifications_sent",
            "Notifications delivered, by channel",
            m.sent.clone(),
        );
        registry.register(
            "notifications_failed",
            "Failed delivery attempts, by channel",
            m.failed.clone(),
        );
        registry.register(
            "notifications_spooled",
            "Notifications waiting in the outbox, by channel",
            m.spooled.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("build_info", "The running version", build);
        Metrics { registry, ..m }
    }
}

/// The view and the metrics behind one lock: a check updates both at once.
pub struct Live {
    view: Mutex<View>,
    metrics: Mutex<Metrics>,
    state_dir: PathBuf,
}

impl Live {
    /// An empty view, before the first check.
    pub fn new(interval_s: f64, state_dir: PathBuf, channels: &[&'static str]) -> Arc<Live> {
        let mut view = View {
            schema_version: 1,
            host: crate::util::hostname(),
            interval_s,
            ..View::default()
        };
        let metrics = Metrics::new();
        for c in channels {
            let spooled = spooled(&state_dir, c);
            view.channels.insert(
                (*c).to_owned(),
                ChannelView {
                    spooled,
                    ..Default::default()
                },
            );
            metrics
                .spooled
                .get_or_create(&ChannelLabels {
                    channel: (*c).to_owned(),
                })
                .set(spooled as i64);
        }
        for v in VERDICTS {
            metrics
                .verdict
                .get_or_create(&VerdictLabels {
                    verdict: v.as_str().into(),
                })
                .set(0);
        }
        Arc::new(Live {
            view: Mutex::new(view),
            metrics: Mutex::new(metrics),
            state_dir,
        })
    }

    /// The view as it is now.
    pub fn view(&self) -> View {
        self.view.lock().expect("view lock").clone()
    }

    /// /metrics, in the OpenMetrics text format.
    pub fn metrics_text(&self) -> Bytes {
        let mut m = self.metrics.lock().expect("metrics lock");
        if let Some(text) = &m.encoded {
            return text.clone();
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &m.registry)
            .expect("encoding to a String");
        m.encoded.insert(Bytes::from(out)).clone()
    }

    /// Follows one update.
    pub fn apply(&self, u: &Update) {
        match u {
            Update::Check(c) => self.check(c),
            Update::Delivery(d) => self.delivery(d),
            Update::Alert(_) => {}
        }
    }

    fn check(&self, c: &CheckDone) {
        let probes = probe_views(c);
        let mut view = self.view.lock().expect("view lock");
        let mut m = self.metrics.lock().expect("metrics lock");
        m.encoded = None;
        let d = &c.diagnosis;
        view.checks += 1;
        view.last_check = Some(rfc3339_local(c.at));
        view.verdict = Some(d.verdict);
        view.detail = d.detail.clone();
        view.gateway_rtt_ms = d.gateway_rtt.map(|r| r.as_ms());
        view.internet_rtt_ms = d.median_rtt.map(|r| r.as_ms());
        view.loss_pct = d.loss_pct;
        push_history(&mut view.history, &probes, c.at.timestamp());
        probe_metrics(&m, &probes);
        view.probes = probes;
        for v in VERDICTS {
            m.verdict
                .get_or_create(&VerdictLabels {
                    verdict: v.as_str().into(),
                })
                .set(i64::from(v == d.verdict));
        }
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
                let cause = CauseLabels {
                    cause: o.cause.verdict().as_str().into(),
                };
                m.outages.get_or_create(&cause).inc();
                m.outage_seconds
                    .get_or_create(&cause)
                    .inc_by(o.observed.as_secs_f64());
                view.recent_outages.push_front(OutageView {
                    start: rfc3339_local(o.start),
                    end: Some(rfc3339_local(o.end)),
                    cause: o.cause.verdict().as_str().into(),
                    duration_s: crate::timefmt::whole_seconds(o.observed),
                    detail: o.full_detail(),
                });
                view.recent_outages.truncate(RECENT_OUTAGES);
            }
        }
        view.outage = c.state.outage.as_ref().map(|o| OutageView {
            start: rfc3339_local(o.start),
            end: None,
            cause: o.cause.verdict().as_str().into(),
            duration_s: (c.at - o.start).num_seconds().max(0) as u64,
            detail: o.detail.clone(),
        });
        m.outage_open.set(i64::from(c.state.outage.is_some()));
        m.outage_open_start.set(
            c.state
                .outage
                .as_ref()
                .map_or(0.0, |o| o.start.timestamp() as f64),
        );
        m.last_check.set(c.at.timestamp_millis() as f64 / 1000.0);
        m.check_duration
            .set(((Utc::now() - c.at).num_milliseconds().max(0) as f64) / 1000.0);
        let today = c.at.with_timezone(&chrono::Local).date_naive();
        let (day, good, all) = view.today.filter(|t| t.0 == today).unwrap_or((today, 0, 0));
        let good = good + u64::from(c.state.outage.is_none());
        view.today = Some((day, good, all + 1));
        view.availability_today_pct = Some(good as f64 * 100.0 / (all + 1) as f64);
    }

    fn delivery(&self, d: &DeliveryNote) {
        let mut view = self.view.lock().expect("view lock");
        let mut m = self.metrics.lock().expect("metrics lock");
        m.encoded = None;
        let labels = ChannelLabels {
            channel: d.channel.into(),
        };
        let spooled = spooled(&self.state_dir, d.channel);
        let ch = view.channels.entry(d.channel.into()).or_default();
        match &d.error {
            None => {
                m.sent.get_or_create(&labels).inc();
                ch.last_delivered = Some(rfc3339_local(Utc::now()));
                ch.last_error = None;
            }
            Some(e) => {
                m.failed.get_or_create(&labels).inc();
                ch.last_error = Some(e.clone());
            }
        }
        ch.spooled = spooled;
        m.spooled.get_or_create(&labels).set(spooled as i64);
    }
}

const VERDICTS: [Verdict; 9] = Verdict::ALL;

/// Messages waiting for `channel`.
fn spooled(state_dir: &std::path::Path, channel: &str) -> usize {
    std::fs::read_dir(state_dir.join("outbox").join(channel))
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file()))
                .count()
        })
        .unwrap_or(0)
}

/// Appends this check's best RTT per target to the last hour's history.
fn push_history(
    history: &mut BTreeMap<String, VecDeque<(i64, Option<f64>)>>,
    probes: &[ProbeView],
    now: i64,
) {
    for p in probes.iter().filter(|p| p.role == "target") {
        let name = p.name.clone().unwrap_or_default();
        let h = history.entry(name).or_default();
        if h.back().is_none_or(|(t, _)| *t != now) {
            h.push_back((now, p.rtt_ms));
        } else if let Some(last) = h.back_mut() {
            // Several probes of one target in one check: keep the best answer.
            last.1 = match (last.1, p.rtt_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        while h.front().is_some_and(|(t, _)| now - t > HISTORY_SECONDS) {
            h.pop_front();
        }
    }
}

/// The per-probe gauges and histogram.
fn probe_metrics(m: &Metrics, probes: &[ProbeView]) {
    for p in probes {
        let labels = ProbeLabels {
            role: p.role.into(),
            target: p
                .name
                .clone()
                .or_else(|| p.address.clone())
                .unwrap_or_default(),
            kind: p.kind.clone(),
        };
        m.probe_success.get_or_create(&labels).set(i64::from(p.up));
        if let Some(ms) = p.rtt_ms {
            m.probe_rtt.get_or_create(&labels).set(ms / 1000.0);
            m.probe_rtt_hist.get_or_create(&labels).observe(ms / 1000.0);
        }
        if let Some(l) = p.loss_pct {
            m.probe_loss.get_or_create(&labels).set(l / 100.0);
        }
    }
}

fn probe_views(c: &CheckDone) -> Vec<ProbeView> {
    c.plan
        .probes
        .iter()
        .zip(&c.results)
        .map(|(p, r)| {
            let (role, name, address) = p.parts(r.addr);
            let loss_pct = r
                .icmp
                .filter(|s| s.sent > 0)
                .map(|s| f64::from(s.sent - s.received) * 100.0 / f64::from(s.sent));
            ProbeView {
                role,
                name,
                address,
                kind: p.spec.kind(),
                up: matches!(r.outcome, Outcome::Up { .. }),
                rtt_ms: r.outcome.rtt().map(|r| r.as_ms()),
                loss_pct,
                failure: match &r.outcome {
                    Outcome::Down(f) => Some(f.to_string()),
                    Outcome::Up { .. } => None,
                },
            }
        })
        .collect()
}

/// The part that keeps the view current.
pub struct Follower(tokio::task::JoinHandle<()>);

impl Follower {
    /// Follows `live` into `view` until the stream ends.
    pub fn start(view: Arc<Live>, mut live: crate::monitor::Live) -> Follower {
        Follower(tokio::spawn(async move {
            while let Some(u) = live.recv().await {
                view.apply(&u);
            }
        }))
    }
}

impl super::Part for Follower {
    fn reload<'a>(
        &'a mut self,
        _old: &'a crate::config::Config,
        _new: &'a crate::config::Config,
    ) -> super::PartFuture<'a, Option<String>> {
        Box::pin(async { None })
    }

    fn stop(self: Box<Self>) -> super::PartFuture<'static, anyhow::Result<()>> {
        // The stream ended with the pipeline; whatever is left is only a view.
        self.0.abort();
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::update::DeliveryNote;

    #[test]
    fn a_scrape_is_encoded_once_until_a_metric_changes() {
        let dir = tempfile::tempdir().unwrap();
        let live = Live::new(1.0, dir.path().to_owned(), &["email"]);
        let first = live.metrics_text();
        assert_eq!(
            first.as_ptr(),
            live.metrics_text().as_ptr(),
            "the second scrape reuses the first one's text"
        );
        assert!(!String::from_utf8_lossy(&first)
            .contains("notifications_sent_total{channel=\"email\"} 1"));
        live.apply(&Update::Delivery(DeliveryNote {
            channel: "email",
            id: "m1".into(),
            error: None,
        }));
        let after = String::from_utf8_lossy(&live.metrics_text()).into_owned();
        assert!(
            after.contains("connectivity_monitor_notifications_sent_total{channel=\"email\"} 1"),
            "{after}"
        );
    }
}
