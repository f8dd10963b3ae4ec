//! The alerts part: the condition driver (`driver.rs`), its observers (log
//! watches and host sensors, `sensors.rs`), the durable outbox and a
//! delivery task per channel. A reload gives the driver its new rules before
//! any new observer starts, so that none reports to a driver that does not
//! know it yet.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::Config;
use super::driver::{Driver, Rules};
use super::part::{Part, PartFuture};
use super::sensors::Observers;
use crate::alert::{Alerting, Channel, Conditions, Notifier, NotifyLog, Outbox, Shared};
use crate::monitor::{LiveSender, Update};
use crate::sensor::{Condition, Report};

/// The running alerts part.
pub struct Alerts {
    shared: Shared,
    notifier: Arc<Notifier>,
    observers: Observers,
    reports: mpsc::Sender<Report>,
    rules: mpsc::Sender<Rules>,
    driver: JoinHandle<()>,
}

impl Alerts {
    /// Starts the channels, the driver (which reads `updates`, a durable
    /// queue of the update stream) and then the observers.
    pub fn start(
        config: &Config,
        updates: mpsc::Receiver<Arc<Update>>,
        live: LiveSender,
        http: crate::probe::SharedClient,
        legacy: Option<serde_json::Value>,
    ) -> Alerts {
        let shared = Shared {
            outbox: Arc::new(Outbox::new(&config.monitor.state_dir)),
            log: NotifyLog::new(&config.monitor.log_dir),
            http,
            max_age: config.features.notify.max_age.0,
            live,
        };
        let notifier = start_notifier(config, &shared);
        // What alerts.json holds of a condition this version does not know is set aside.
        let known = |id: &str| Condition::parse(id).is_some();
        let mut conditions = Conditions::load(config.monitor.state_dir.clone(), known);
        // Versions before alerts.json kept the open outage's progress in state.json.
        if let Some(a) = legacy.and_then(|v| serde_json::from_value::<Alerting>(v).ok()) {
            conditions.adopt(&Condition::Outage("OUTAGE").id(), a);
        }
        let (reports, reports_rx) = mpsc::channel(64);
        let (rules, rules_rx) = mpsc::channel(4);
        let driver = Driver::new(conditions, Rules::new(config, Arc::clone(&notifier)));
        let driver = tokio::spawn(driver.run(updates, reports_rx, rules_rx));
        let observers = Observers::start(config, &reports, &shared.live);
        Alerts {
            shared,
            notifier,
            observers,
            reports,
            rules,
            driver,
        }
    }
}

impl Part for Alerts {
    fn reload<'a>(
        &'a mut self,
        old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut notes = Vec::new();
            if new.features.notify != old.features.notify {
                self.notifier.stop().await;
                self.shared.max_age = new.features.notify.max_age.0;
                self.notifier = start_notifier(new, &self.shared);
            }
            // The driver knows the new observers' policies before they report.
            let _ = self
                .rules
                .send(Rules::new(new, Arc::clone(&self.notifier)))
                .await;
            if Observers::changed(old, new) {
                self.observers.stop().await;
                self.observers = Observers::start(new, &self.reports, &self.shared.live);
                notes.push("sensors, log watches and the fault tickets' watch restarted");
            }
            (!notes.is_empty()).then(|| notes.join("; "))
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let Alerts {
                notifier,
                observers,
                reports,
                rules,
                driver,
                ..
            } = *self;
            observers.stop().await;
            drop((reports, rules));
            // The update queue closed when the pipeline stopped; the driver
            // queues what it still holds, then ends.
            driver.await.context("the alert driver panicked")?;
            notifier.stop().await;
            Ok(())
        })
    }
}

fn start_notifier(config: &Config, shared: &Shared) -> Arc<Notifier> {
    let channels = Channel::all(&config.features.notify);
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
