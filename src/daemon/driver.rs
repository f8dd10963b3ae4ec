//! The alert driver: one task drives every alert condition (the outage, from
//! the update stream; log watches and host sensors, from their reports)
//! through its policy, and queues each message with the notifier.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::config::Config;
use crate::alert::condition::{self, ConditionState};
use crate::alert::{Conditions, Notifier, Observation, Policy};
use crate::monitor::update::CheckDone;
use crate::monitor::{Event, Update};
use crate::sensor::{logwatch, Condition, Policies, Report};

/// What the driver applies; replaced whole on reload.
pub struct Rules {
    policies: Policies,
    notifier: Arc<Notifier>,
}

impl Rules {
    /// The policies of `config`, and where messages go.
    pub fn new(config: &Config, notifier: Arc<Notifier>) -> Rules {
        let outage = Policy::from(&config.alerts);
        let features = &config.features;
        let watches = features.log_watch.iter();
        let watches = watches.map(|w| (w.service.clone(), logwatch::policy(w, &outage)));
        let policies = Policies {
            watches: watches.collect(),
            sensors: features.sensors.policies(&outage),
            claims: Policies::claims(&outage),
            outage,
        };
        Rules { policies, notifier }
    }
}

/// The driver's state: every condition's progress, and the rules.
pub struct Driver {
    conditions: Conditions,
    rules: Rules,
}

impl Driver {
    /// Drives `conditions` by `rules`.
    pub fn new(conditions: Conditions, rules: Rules) -> Driver {
        Driver { conditions, rules }
    }

    /// Runs until both the update queue and the observers' queue close;
    /// new rules apply from the next message on.
    pub async fn run(
        mut self,
        mut updates: mpsc::Receiver<Arc<Update>>,
        mut reports: mpsc::Receiver<Report>,
        mut rules: mpsc::Receiver<Rules>,
    ) {
        self.forget_unwatched(Utc::now()).await;
        let (mut updates_open, mut reports_open) = (true, true);
        while updates_open || reports_open {
            tokio::select! {
                u = updates.recv(), if updates_open => match u {
                    Some(u) => {
                        if let Update::Check(c) = &*u {
                            self.check(c).await;
                        }
                    }
                    None => updates_open = false,
                },
                r = reports.recv(), if reports_open => match r {
                    Some(r) => self.report(r).await,
                    None => reports_open = false,
                },
                Some(r) = rules.recv() => {
                    self.rules = r;
                    self.forget_unwatched(Utc::now()).await;
                }
            }
            self.persist().await;
        }
    }

    async fn report(&mut self, r: Report) {
        match r {
            Report::Seen {
                condition,
                now,
                state,
            } => {
                let o = observation(&condition, condition.name(), now, state);
                self.observe(&condition, &o).await;
            }
            Report::Watching {
                of,
                watched,
                now,
                why,
            } => {
                let watched: Vec<String> = watched.iter().map(Condition::id).collect();
                let gone = |c: &Condition| of(c) && !watched.contains(&c.id());
                self.close(gone, now, &why).await;
            }
        }
    }

    async fn observe(&mut self, condition: &Condition, o: &Observation) {
        let policy = match (condition.policy(&self.rules.policies), &o.state) {
            (Some(p), _) => p,
            // Only the recovery of a condition no longer configured: the policy
            // plays no part in it beyond pairing what was raised.
            (None, ConditionState::Cleared { .. }) => &self.rules.policies.outage,
            // A last report of an observer its reload has just removed.
            (None, ConditionState::Active { .. }) => return,
        };
        if let Some((_, msg)) = self.conditions.observe(policy, o) {
            // On disk in the outbox (or held in memory, loudly, when it cannot
            // be written) before anything else hears of it.
            self.rules.notifier.notify(&msg).await;
            condition::journal(&msg);
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
        for e in &c.events {
            if let Event::OutageEnded(o) = e {
                let outage = Condition::Outage(o.cause.verdict().as_str());
                let detail = o.full_detail();
                let state = ConditionState::Cleared { at: o.end, detail };
                let o = observation(&outage, outage.name(), c.at, state);
                self.observe(&outage, &o).await;
            }
        }
        let (outage, state) = match &c.state.outage {
            Some(o) => (
                Condition::Outage(o.cause.verdict().as_str()),
                ConditionState::Active {
                    since: o.start,
                    detail: o.detail.clone(),
                    level: None,
                },
            ),
            None if self.conditions.holds(&Condition::Outage("OUTAGE").id()) => (
                Condition::Outage("OUTAGE"),
                ConditionState::Cleared {
                    at: c.at,
                    detail: "the outage ended while the daemon was not running".into(),
                },
            ),
            None => return,
        };
        let o = observation(&outage, outage.name(), c.at, state);
        self.observe(&outage, &o).await;
    }

    /// A condition whose watch or sensor was removed from the config gets
    /// its recovery ("no longer watched") rather than staying open for ever.
    async fn forget_unwatched(&mut self, now: DateTime<Utc>) {
        let policies = self.rules.policies.clone();
        let unwatched = |c: &Condition| c.policy(&policies).is_none();
        self.close(unwatched, now, "removed from the config").await;
    }

    /// Ends each open condition that is `gone` with "no longer watched
    /// (why)", under the name it was raised with; the state file is written
    /// once afterwards, and the runtime is given back between entries.
    async fn close(&mut self, gone: impl Fn(&Condition) -> bool, now: DateTime<Utc>, why: &str) {
        let open = self.conditions.ids().into_iter();
        let open = open.filter_map(|(id, name)| Some((Condition::parse(&id)?, name)));
        let closing: Vec<_> = open.filter(|(c, _)| gone(c)).collect();
        for (c, name) in closing {
            let detail = format!("no longer watched ({why})");
            let state = ConditionState::Cleared { at: now, detail };
            let o = observation(&c, name.unwrap_or_else(|| c.name()), now, state);
            self.observe(&c, &o).await;
            tokio::task::yield_now().await;
        }
    }
}

/// What the store keeps of `condition`, seen at `now` under `name`.
fn observation(
    condition: &Condition,
    name: String,
    now: DateTime<Utc>,
    state: ConditionState,
) -> Observation {
    Observation {
        id: condition.id(),
        name,
        now,
        state,
    }
}
