//! The alerts part: one task drives every alert condition (the outage, from the
//! update stream; log silence, from the watches; host sensors, from
//! `daemon/sensors.rs`) through the shared policy, and
//! queues each message in the durable outbox, from which a task per channel
//! delivers it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Background, Part, PartFuture};
use crate::alert::condition::{self, Seen};
use crate::alert::{
    logwatch, Alerting, Channel, Conditions, Notifier, NotifyLog, Observation, Outbox, Policy,
    Report, Shared,
};
use crate::claim::watch::FAMILY as CLAIMS;
use crate::config::Config;
use crate::monitor::update::{AlertNote, CheckDone};
use crate::monitor::{Event, LiveSender, Update};
use crate::timefmt::spelled;

/// The condition id of the internet outage.
const OUTAGE: &str = "outage";

/// The families of condition ids this version raises: the outage, and the
/// prefixes or ids of log watches and sensors. Anything else in `alerts.json`
/// came from elsewhere and is set aside at start, not replayed.
const FAMILIES: &[&str] = &[OUTAGE, "log:", "disk:", "inodes:", "memory", "ssh", CLAIMS];

/// Whether `id` belongs to a family this version raises.
fn known(id: &str) -> bool {
    FAMILIES
        .iter()
        .any(|f| id == *f || (f.ends_with(':') && id.starts_with(f)))
}

/// What the driver task applies; replaced whole on reload.
struct Rules {
    outage: Policy,
    /// Log watches' policies by condition id.
    watches: HashMap<String, Policy>,
    /// Host sensors' policies by the first part of their ids (`disk`, `memory`, `ssh`).
    sensors: HashMap<&'static str, Policy>,
    notifier: Arc<Notifier>,
}

/// A sensor's policy: its own level (threshold) decides WARNING or CRITICAL;
/// its windows add to the global ones.
fn sensor_policy(
    global: &Policy,
    repeat_every: Option<std::time::Duration>,
    own: &[crate::config::Window],
) -> Policy {
    Policy {
        warn_after: std::time::Duration::ZERO,
        critical_after: std::time::Duration::MAX,
        repeat_every: repeat_every.unwrap_or(global.repeat_every),
        maintenance: global.maintenance.iter().chain(own).cloned().collect(),
    }
}

impl Rules {
    fn new(config: &Config, notifier: Arc<Notifier>) -> Rules {
        let outage = Policy::from(&config.alerts);
        let watches = config
            .log_watch
            .iter()
            .map(|w| (logwatch::id(w), logwatch::policy(w, &outage)))
            .collect();
        let s = &config.sensors;
        let mut sensors = HashMap::new();
        if let Some(d) = &s.disk {
            let p = sensor_policy(&outage, d.repeat_every, &d.maintenance);
            sensors.insert("inodes", p.clone());
            sensors.insert("disk", p);
        }
        if let Some(m) = &s.memory {
            sensors.insert(
                "memory",
                sensor_policy(&outage, m.repeat_every, &m.maintenance),
            );
        }
        if let Some(x) = &s.ssh {
            sensors.insert(
                "ssh",
                sensor_policy(&outage, x.repeat_every, &x.maintenance),
            );
        }
        // A ticket past its deadline: one WARNING, no reminders, its RECOVERED on close.
        let once = Some(std::time::Duration::ZERO);
        sensors.insert("claim", sensor_policy(&outage, once, &[]));
        Rules {
            outage,
            watches,
            sensors,
            notifier,
        }
    }

    fn policy(&self, id: &str) -> Option<&Policy> {
        if id == OUTAGE {
            return Some(&self.outage);
        }
        let kind = id.split(':').next().unwrap_or(id);
        self.watches.get(id).or_else(|| self.sensors.get(kind))
    }
}

/// The running alerts part.
pub struct Alerts {
    shared: Shared,
    notifier: Arc<Notifier>,
    watches: Watches,
    observations: mpsc::Sender<Report>,
    rules: mpsc::Sender<Rules>,
    driver: JoinHandle<()>,
    /// The fault tickets' watch (`claim::watch`).
    claims: Background,
}

impl Alerts {
    /// Starts the channels, the log watches and the driver, which reads
    /// `updates` (a durable queue of the update stream).
    pub fn start(
        config: &Config,
        updates: mpsc::Receiver<Arc<Update>>,
        live: LiveSender,
        http: reqwest::Client,
        legacy: Option<serde_json::Value>,
    ) -> Alerts {
        let shared = Shared {
            outbox: Arc::new(Outbox::new(&config.monitor.state_dir)),
            log: NotifyLog::new(&config.monitor.log_dir),
            http,
            max_age: config.notify.max_age,
            live: live.clone(),
        };
        let notifier = start_notifier(config, &shared);
        let mut conditions = Conditions::load(config.monitor.state_dir.clone(), known);
        // Versions before alerts.json kept the open outage's progress in state.json.
        if let Some(a) = legacy.and_then(|v| serde_json::from_value::<Alerting>(v).ok()) {
            conditions.adopt(OUTAGE, a);
        }
        let (observations, obs_rx) = mpsc::channel(64);
        let watches = Watches::start(config, &observations);
        let claims = watch_claims(config, &observations, &live);
        let (rules, rules_rx) = mpsc::channel(4);
        let driver = tokio::spawn(drive(
            Driver {
                conditions,
                rules: Rules::new(config, Arc::clone(&notifier)),
                live,
            },
            updates,
            obs_rx,
            rules_rx,
        ));
        Alerts {
            shared,
            notifier,
            watches,
            observations,
            rules,
            driver,
            claims,
        }
    }
}

/// Starts the fault tickets' watch.
fn watch_claims(config: &Config, out: &mpsc::Sender<Report>, live: &LiveSender) -> Background {
    let (claim, dir) = (config.claim.clone(), config.monitor.log_dir.clone());
    let (out, live) = (out.clone(), live.clone());
    Background::spawn(|token| crate::claim::watch::run(claim, dir, out, live, token))
}

impl Alerts {
    /// Where observers (log watches, sensors) report.
    pub fn observations(&self) -> mpsc::Sender<Report> {
        self.observations.clone()
    }
}

impl Part for Alerts {
    fn reload<'a>(
        &'a mut self,
        old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            if new.notify != old.notify {
                self.notifier.stop().await;
                self.shared.max_age = new.notify.max_age;
                self.notifier = start_notifier(new, &self.shared);
            }
            // The driver knows the new watches' policies before they report.
            let _ = self
                .rules
                .send(Rules::new(new, Arc::clone(&self.notifier)))
                .await;
            if new.claim != old.claim {
                let watch = watch_claims(new, &self.observations, &self.shared.live);
                let _ = std::mem::replace(&mut self.claims, watch).stop().await;
            }
            if new.log_watch != old.log_watch || new.alerts != old.alerts {
                self.watches.stop().await;
                self.watches = Watches::start(new, &self.observations);
            }
            None
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let Alerts {
                notifier,
                watches,
                observations,
                rules,
                driver,
                claims,
                ..
            } = *self;
            watches.stop().await;
            let _ = claims.stop().await;
            drop((observations, rules));
            // The update queue closed when the pipeline stopped; the driver
            // queues what it still holds, then ends.
            driver.await.context("the alert driver panicked")?;
            notifier.stop().await;
            Ok(())
        })
    }
}

fn start_notifier(config: &Config, shared: &Shared) -> Arc<Notifier> {
    let channels = Channel::all(&config.notify);
    if channels.is_empty() {
        tracing::info!("no notification channel is configured: alerts go only to the journal");
    } else {
        let names: Vec<&str> = channels.iter().map(Channel::name).collect();
        tracing::info!(
            "notifications go to the journal and to {}",
            names.join(", ")
        );
    }
    Arc::new(Notifier::start(channels, shared.clone()))
}

struct Driver {
    conditions: Conditions,
    rules: Rules,
    live: LiveSender,
}

async fn drive(
    mut d: Driver,
    mut updates: mpsc::Receiver<Arc<Update>>,
    mut observations: mpsc::Receiver<Report>,
    mut rules: mpsc::Receiver<Rules>,
) {
    d.forget_unwatched(Utc::now()).await;
    let (mut updates_open, mut watches_open) = (true, true);
    while updates_open || watches_open {
        tokio::select! {
            u = updates.recv(), if updates_open => match u {
                Some(u) => {
                    if let Update::Check(c) = &*u {
                        d.check(c).await;
                    }
                }
                None => updates_open = false,
            },
            o = observations.recv(), if watches_open => match o {
                Some(Report::Seen(o)) => d.observe(&o).await,
                Some(Report::Watching { families, ids, now, why }) => {
                    d.watching(families, &ids, now, &why).await;
                }
                None => watches_open = false,
            },
            Some(r) = rules.recv() => {
                d.rules = r;
                d.forget_unwatched(Utc::now()).await;
            }
        }
        d.persist().await;
    }
}

impl Driver {
    async fn observe(&mut self, o: &Observation) {
        let policy = match (self.rules.policy(&o.id), &o.state) {
            (Some(p), _) => p,
            // Only the recovery of a condition no longer configured: the policy
            // plays no part in it beyond pairing what was raised.
            (None, Seen::Cleared { .. }) => &self.rules.outage,
            (None, Seen::Active { .. }) => return,
        };
        if let Some((_, msg)) = self.conditions.observe(policy, o) {
            // On disk in the outbox (or held in memory, loudly, when it cannot
            // be written) before anything else hears of it.
            self.rules.notifier.notify(&msg).await;
            condition::journal(&msg);
            self.live.send(Update::Alert(AlertNote {
                id: msg.id.clone(),
                condition: msg.condition.clone(),
                label: msg.label(),
            }));
        }
    }

    /// Writes `alerts.json` off the runtime thread if what it holds changed.
    async fn persist(&mut self) {
        let Some(u) = self.conditions.unsaved() else {
            return;
        };
        let (u, result) = tokio::task::spawn_blocking(move || {
            let r = u.write();
            (u, r)
        })
        .await
        .expect("writing alerts.json does not panic");
        self.conditions.saved(u, result);
    }

    /// An outage is a condition from its start until its end; one that ended
    /// while the daemon was not running is cleared at the first check.
    async fn check(&mut self, c: &CheckDone) {
        let outage = |label: &str, state| Observation {
            id: OUTAGE.into(),
            label: label.into(),
            now: c.at,
            state,
        };
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
                let at = o.end;
                let detail = o.full_detail();
                self.observe(&outage(
                    o.cause.verdict().as_str(),
                    Seen::Cleared { at, detail },
                ))
                .await;
            }
        }
        match &c.state.outage {
            Some(o) => {
                self.observe(&outage(
                    o.cause.verdict().as_str(),
                    Seen::Active {
                        since: o.start,
                        detail: o.detail.clone(),
                        level: None,
                    },
                ))
                .await;
            }
            None if self.conditions.holds(OUTAGE) => {
                self.observe(&outage(
                    "OUTAGE",
                    Seen::Cleared {
                        at: c.at,
                        detail: "the outage ended while the daemon was not running".into(),
                    },
                ))
                .await;
            }
            None => {}
        }
    }

    /// A condition whose watch was removed from the config gets its recovery
    /// ("no longer watched") rather than staying open for ever.
    async fn forget_unwatched(&mut self, now: DateTime<Utc>) {
        let gone: Vec<_> = self
            .conditions
            .ids()
            .into_iter()
            .filter(|(id, _)| id != OUTAGE && self.rules.policy(id).is_none())
            .collect();
        self.close(gone, now, "removed from the config").await;
    }

    /// The open conditions of `families` not in `ids` end: their thing is gone.
    async fn watching(&mut self, families: &[&str], ids: &[String], now: DateTime<Utc>, why: &str) {
        let gone: Vec<_> = self
            .conditions
            .ids()
            .into_iter()
            .filter(|(id, _)| families.iter().any(|f| id.starts_with(f)) && !ids.contains(id))
            .collect();
        self.close(gone, now, why).await;
    }

    /// Ends each of `gone` with "no longer watched (why)"; the state file is
    /// written once afterwards, and the runtime is given back between entries.
    async fn close(&mut self, gone: Vec<(String, Option<String>)>, now: DateTime<Utc>, why: &str) {
        for (id, label) in gone {
            let label = label.unwrap_or_else(|| id.replacen("log:", "LOG_SILENT:", 1));
            self.observe(&Observation {
                id,
                label,
                now,
                state: Seen::Cleared {
                    at: now,
                    detail: format!("no longer watched ({why})"),
                },
            })
            .await;
            tokio::task::yield_now().await;
        }
    }
}

/// The running `[[log_watch]]` tasks.
struct Watches {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Watches {
    fn start(config: &Config, out: &mpsc::Sender<Report>) -> Watches {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        for w in &config.log_watch {
            tracing::info!(
                "watching {} for silence ({}: idle after {})",
                w.path.display(),
                w.service,
                spelled(w.idle_after)
            );
            tracker.spawn(logwatch::run(w.clone(), out.clone(), token.clone()));
        }
        tracker.close();
        Watches { token, tracker }
    }

    async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
    }
}
