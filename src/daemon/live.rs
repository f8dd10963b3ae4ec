//! The live view shared by the status page, the JSON API, /metrics and MQTT:
//! a live consumer of the update stream that keeps the current state, the
//! last hour per target, the last outages, the channels' health, today's
//! availability and the Prometheus metrics, all updated in place once per check.

mod history;
mod probes;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hyper::body::Bytes;
use serde::Serialize;

use super::metrics::{Exposition, Format, Metrics};
use super::today::{Seed, Today};
use crate::alert::NotifyConfig;
use crate::config::Core;
use crate::monitor::update::{CheckDone, DeliveryNote, TicketNote};
use crate::monitor::{Event, Update, Verdict};
use crate::timefmt::rfc3339_local;
use history::push_history;
use probes::probe_views;
pub use probes::{loss_pct, probe_view, up, ProbeView};

/// How many finished outages the page lists.
const RECENT_OUTAGES: usize = 20;

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
    /// Today's availability against the ISP, percent, as the report counts it.
    pub availability_today_pct: Option<f64>,
    /// Per family with targets (`ipv4`, `ipv6`): its targets up and configured.
    pub families: BTreeMap<&'static str, FamilyView>,
    /// The fault tickets open now, oldest report first.
    pub open_tickets: Vec<TicketView>,
}

/// An open fault ticket as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct TicketView {
    /// The provider's reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// When it was reported, RFC 3339 local time.
    pub reported: String,
    pub note: String,
    /// The compensation rule: `uk-ofcom`, `de-tkg58` or `none`.
    pub rule: &'static str,
    /// When the provider's deadline passes, RFC 3339 local time; `null` under none.
    pub deadline: Option<String>,
    /// Whether it has passed.
    pub past_deadline: bool,
    /// The deadline, to judge `past_deadline` when the view is read.
    #[serde(skip)]
    passes: Option<DateTime<Utc>>,
}

/// One family's internet targets at the last check.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct FamilyView {
    /// Some target of the family answered.
    pub up: bool,
    pub targets_up: usize,
    pub targets_total: usize,
}

/// The view, today's figure and the metrics, each behind its own lock; a
/// check updates them in turn, and a reader holds one lock at a time.
pub struct LiveView {
    view: Mutex<View>,
    today: Mutex<Today>,
    metrics: Mutex<Metrics>,
    pulse: Mutex<Pulse>,
    /// Whether a check updates the page's parts: the rows, the history, the
    /// outages and today's figure, which only the status page, the JSON API
    /// and MQTT show. Push and the heartbeat read the metrics and the pulse:
    /// without them, a check of a thousand probes allocates next to nothing.
    page: AtomicBool,
    state_dir: PathBuf,
}

/// The last check in brief, for what only needs to know whether the
/// internet answers (push, heartbeat) without copying the view.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pulse {
    /// Checks applied so far.
    pub checks: u64,
    /// When the last one was applied.
    pub at: Option<std::time::Instant>,
    /// It found an internet target answering, or ended an outage.
    pub reachable: bool,
    /// Outages ended so far.
    pub outages_ended: u64,
}

impl LiveView {
    /// An empty view, before the first check, with the page's parts if
    /// `page`; checks from `start` on count towards today's figure live,
    /// those before it come from the logs.
    pub fn new(
        config: &Core,
        notify: &NotifyConfig,
        start: DateTime<Utc>,
        page: bool,
    ) -> Arc<LiveView> {
        let view = View {
            schema_version: 1,
            host: crate::util::hostname(),
            ..View::default()
        };
        let live = Arc::new(LiveView {
            view: Mutex::new(view),
            today: Mutex::new(Today::new(config.monitor.interval, start)),
            metrics: Mutex::new(Metrics::new()),
            pulse: Mutex::default(),
            page: AtomicBool::new(page),
            state_dir: config.monitor.state_dir.clone(),
        });
        live.configure(config, notify);
        live
    }

    /// Follows a new config: the interval, the channels (a removed one loses
    /// its entry and series), the targets (a removed one loses its history;
    /// its series go with the next check).
    pub fn configure(&self, config: &Core, notify: &NotifyConfig) {
        let channels: Vec<&'static str> = crate::alert::Channel::all(notify)
            .iter()
            .map(crate::alert::Channel::name)
            .collect();
        let spooled: Vec<usize> = channels
            .iter()
            .map(|c| spooled(&self.state_dir, c))
            .collect();
        self.today
            .lock()
            .expect("today lock")
            .set_interval(config.monitor.interval);
        let mut view = self.view.lock().expect("view lock");
        let mut m = self.metrics.lock().expect("metrics lock");
        m.changed();
        view.interval_s = config.monitor.interval.as_secs_f64();
        let targets: HashSet<&str> = config.targets.iter().map(|t| t.name.0.as_str()).collect();
        view.history
            .retain(|name, _| targets.contains(name.as_str()));
        let gone: Vec<String> = view
            .channels
            .keys()
            .filter(|c| !channels.contains(&c.as_str()))
            .cloned()
            .collect();
        for c in gone {
            view.channels.remove(&c);
            m.remove_channel(&c);
        }
        for (c, n) in channels.iter().zip(spooled) {
            view.channels.entry((*c).to_owned()).or_default().spooled = n;
            m.spooled(c, n);
        }
    }

    /// Keeps the page's parts from now on (a surface that shows them was
    /// added); today's figure starts again at `start`, to be seeded from
    /// the logs before it. Whether they were not kept until now.
    pub fn keep_page(&self, interval: std::time::Duration, start: DateTime<Utc>) -> bool {
        let mut today = self.today.lock().expect("today lock");
        if self.page.load(Ordering::Relaxed) {
            return false;
        }
        *today = Today::new(interval, start);
        self.page.store(true, Ordering::Relaxed);
        true
    }

    /// Today's figure from the logs (see `today::seed_from_logs`).
    pub fn seed(&self, seed: Seed) {
        let pct = {
            let mut today = self.today.lock().expect("today lock");
            today.seed(seed);
            today.pct()
        };
        self.view.lock().expect("view lock").availability_today_pct = pct;
    }

    /// The view as it is now.
    pub fn view(&self) -> View {
        let mut view = self.view.lock().expect("view lock").clone();
        let now = Utc::now();
        for t in &mut view.open_tickets {
            t.past_deadline = t.passes.is_some_and(|p| p <= now);
        }
        view
    }

    /// /metrics in `format`.
    pub fn metrics_text(&self, format: Format) -> Bytes {
        self.metrics.lock().expect("metrics lock").text(format)
    }

    /// The samples of /metrics (the probes' whole, the rest as OpenMetrics
    /// text without `# EOF`), written into `out` as they are encoded, so
    /// that no copy of them all is made.
    pub fn encode_metrics(&self, out: &mut dyn Exposition) -> std::fmt::Result {
        self.metrics.lock().expect("metrics lock").encode(out)
    }

    /// The last check in brief.
    pub fn pulse(&self) -> Pulse {
        *self.pulse.lock().expect("pulse lock")
    }

    /// Follows one update.
    pub fn apply(&self, u: &Update) {
        match u {
            Update::Check(c) => self.check(c),
            Update::Delivery(d) => self.delivery(d),
            Update::Tickets(t) => self.view.lock().expect("view lock").open_tickets = tickets(t),
        }
    }

    fn check(&self, c: &CheckDone) {
        let ended = c
            .events
            .iter()
            .filter(|e| matches!(e, Event::OutageEnded(_)))
            .count() as u64;
        {
            let mut p = self.pulse.lock().expect("pulse lock");
            p.checks += 1;
            p.at = Some(std::time::Instant::now());
            p.reachable = c.diagnosis.targets_up > 0 || ended > 0;
            p.outages_ended += ended;
        }
        self.check_metrics(c);
        if !self.page.load(Ordering::Relaxed) {
            return;
        }
        let probes = probe_views(c);
        let pct = {
            let mut today = self.today.lock().expect("today lock");
            today.check(c.at);
            for e in &c.events {
                if let Event::OutageEnded(o) = e {
                    today.outage_ended(o);
                }
            }
            today.pct()
        };
        let mut view = self.view.lock().expect("view lock");
        let d = &c.diagnosis;
        view.checks += 1;
        view.last_check = Some(rfc3339_local(c.at));
        view.verdict = Some(d.verdict);
        view.detail = d.detail.clone();
        view.gateway_rtt_ms = d.gateway_rtt.map(|r| r.as_ms());
        view.internet_rtt_ms = d.median_rtt.map(|r| r.as_ms());
        view.loss_pct = d.loss_pct;
        view.families = families(d);
        push_history(&mut view.history, &probes, c.at.timestamp());
        view.probes = probes;
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
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
        view.availability_today_pct = pct;
    }

    fn check_metrics(&self, c: &CheckDone) {
        let mut m = self.metrics.lock().expect("metrics lock");
        m.changed();
        m.probes(&c.plan, &c.results);
        m.families(&families(&c.diagnosis));
        m.verdict(c.diagnosis.verdict);
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
                m.outage_ended(o.cause.verdict().as_str(), o.observed.as_secs_f64());
            }
        }
        let open = c.state.outage.as_ref();
        m.outage_open.set(i64::from(open.is_some()));
        m.outage_open_start
            .set(open.map_or(0.0, |o| o.start.timestamp() as f64));
        m.last_check.set(c.at.timestamp_millis() as f64 / 1000.0);
        m.check_duration
            .set(((Utc::now() - c.at).num_milliseconds().max(0) as f64) / 1000.0);
    }

    fn delivery(&self, d: &DeliveryNote) {
        let spooled = spooled(&self.state_dir, d.channel);
        {
            let mut m = self.metrics.lock().expect("metrics lock");
            m.changed();
            m.delivery(d.channel, d.error.is_none(), spooled);
        }
        let mut view = self.view.lock().expect("view lock");
        let ch = view.channels.entry(d.channel.into()).or_default();
        match &d.error {
            None => {
                ch.last_delivered = Some(rfc3339_local(Utc::now()));
                ch.last_error = None;
            }
            Some(e) => ch.last_error = Some(e.clone()),
        }
        ch.spooled = spooled;
    }
}

/// The open tickets as the view shows them.
fn tickets(notes: &[TicketNote]) -> Vec<TicketView> {
    notes
        .iter()
        .map(|n| TicketView {
            reference: n.reference.clone(),
            reported: rfc3339_local(n.reported),
            note: n.note.clone(),
            rule: n.rule,
            deadline: n.deadline.map(rfc3339_local),
            past_deadline: false,
            passes: n.deadline,
        })
        .collect()
}

/// Messages waiting for `channel`.
fn spooled(state_dir: &std::path::Path, channel: &str) -> usize {
    std::fs::read_dir(state_dir.join("outbox").join(channel))
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file()))
                .count()
        })
        .unwrap_or(0)
}

/// Each family with targets, as the diagnosis counted them.
fn families(d: &crate::monitor::Diagnosis) -> BTreeMap<&'static str, FamilyView> {
    crate::config::Family::ALL
        .into_iter()
        .zip(d.targets_by_family)
        .filter(|(_, (_, total))| *total > 0)
        .map(|(f, (up, total))| {
            let view = FamilyView {
                up: up > 0,
                targets_up: up,
                targets_total: total,
            };
            (f.label(), view)
        })
        .collect()
}

#[cfg(test)]
mod tests;
