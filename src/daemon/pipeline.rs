//! The detection pipeline: probe tasks → the monitor → the update stream, and
//! the two durable CSV sinks (the connection log; outage rows with the state).
//!
//! The probe tasks and the monitor run on a thread and runtime of their own
//! ([`Detection`]): whatever else the daemon does on its main runtime (a status
//! page visitor, a sensor's `statfs`, an fsync) can neither delay a probe's
//! timer nor stretch the RTT it measures. Only the update stream joins them.
//!
//! Stopping follows the data: the probe tasks stop, so the report queue closes
//! and the monitor drains and returns; its publisher is dropped, so every
//! durable queue closes and the sinks write what they hold and save the state.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::part::{Part, PartFuture};
use crate::config::Family;
use crate::monitor::persist::{self, Persisted};
use crate::monitor::update::Annotation;
use crate::monitor::{self, Hub, Machine, Rules, Settings, Thresholds};
use crate::probe::{Plan, ProbeTasks, Prober, Role, Timing};
use crate::sink::{connection, recorder};
use crate::timefmt::rfc3339_local;

/// Queue length between the monitor and each sink.
const SINK_QUEUE: usize = 256;

/// The running pipeline.
pub struct Pipeline {
    detection: Detection,
    tasks: ProbeTasks,
    reloads: mpsc::Sender<Settings>,
    monitor: JoinHandle<Machine>,
    connection_log: JoinHandle<()>,
    /// Whether the state was saved at the end.
    recorder: JoinHandle<bool>,
    sim_fail: f64,
}

impl Pipeline {
    /// Opens the logs, starts the sinks, the probes and the monitor, which
    /// publishes to `hub`'s consumers (all of them subscribed by now).
    pub fn start(
        config: &Config,
        mut persisted: Persisted,
        mut hub: Hub,
        annotations: mpsc::Receiver<Annotation>,
        sim_fail: f64,
    ) -> anyhow::Result<Pipeline> {
        let detection = Detection::start()?;
        // Its own HTTP clients: the connections a client keeps are driven by
        // the runtime that opened them, and the probes' must live on detection's.
        let prober = Prober::new();
        let plan = Arc::new(Plan::from_config(config));
        Prober::check_icmp(&plan)?;
        recorder::reconcile(&config.monitor.log_dir, &mut persisted);
        // Routers that `once` proved while the daemon was not running.
        (persisted.machine.verified_routers)
            .extend(persist::load_routers(&config.monitor.state_dir));
        let machine = Machine::new(Rules::of(config), persisted.machine.clone());
        if let Some(o) = &machine.state().outage {
            tracing::warn!(outage_cause = %o.cause, "resuming the open outage that started at {} ({})", rfc3339_local(o.start), o.cause);
        }
        if let Err(why) = crate::util::check_writable(&config.monitor.state_dir) {
            tracing::error!(
                "monitor.state_dir: {why}; an open outage will not survive a restart until this is fixed"
            );
        }
        // Both logs are opened before READY=1; a log_dir that cannot be written is
        // reported now, and monitoring goes on with rows kept for retry.
        let conn_file = connection::open(&config.monitor.log_dir);
        let outage_file = recorder::open(&config.monitor.log_dir);
        let conn_rx = hub.durable(SINK_QUEUE);
        let rec_rx = hub.durable(SINK_QUEUE);
        let state_dir = config.monitor.state_dir.clone();
        let connection_log =
            tokio::task::spawn_blocking(move || connection::run(conn_file, conn_rx));
        let recorder = tokio::task::spawn_blocking(move || {
            recorder::run(state_dir, outage_file, persisted, rec_rx)
        });
        log_proxies(config);
        note_missing_ipv6(&plan);
        let (report_tx, report_rx) = mpsc::channel(plan.probes.len().max(16) * 2);
        let tasks = ProbeTasks::start(
            &plan,
            Arc::clone(&prober),
            detection.handle.clone(),
            timing(config, &plan),
            report_tx,
        );
        let (reloads, reload_rx) = mpsc::channel(4);
        let monitor = detection.handle.spawn(monitor::run(
            settings(config, plan, &tasks, sim_fail),
            machine,
            report_rx,
            reload_rx,
            annotations,
            hub.publisher(),
        ));
        tracing::info!(
            "monitoring: {} probes every {}, log_dir {}, state_dir {}",
            tasks.ids().len(),
            // As configured: a sub-second interval is not rounded to 0s.
            humantime::format_duration(config.monitor.interval),
            config.monitor.log_dir.display(),
            config.monitor.state_dir.display()
        );
        Ok(Pipeline {
            detection,
            tasks,
            reloads,
            monitor,
            connection_log,
            recorder,
            sim_fail,
        })
    }
}

impl Part for Pipeline {
    fn check(&self, new: &Config) -> anyhow::Result<()> {
        Ok(Prober::check_icmp(&Plan::from_config(new))?)
    }

    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let plan = Arc::new(Plan::from_config(new));
            let (kept, started, stopped) = self.tasks.apply(&plan, timing(new, &plan));
            let _ = self
                .reloads
                .send(settings(new, plan, &self.tasks, self.sim_fail))
                .await;
            log_proxies(new);
            Some(format!(
                "probes: {kept} kept, {started} started, {stopped} stopped"
            ))
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            let Pipeline {
                detection,
                tasks,
                reloads,
                monitor,
                connection_log,
                recorder,
                ..
            } = *self;
            tasks.stop().await;
            drop(reloads);
            let machine = monitor.await.context("the monitor task panicked");
            detection.stop().await;
            let machine = machine?;
            connection_log
                .await
                .context("the connection log writer panicked")?;
            let saved = recorder.await.context("the outage recorder panicked")?;
            match (&machine.state().outage, saved) {
                (Some(o), true) => tracing::info!(
                    "the open outage ({}) is saved and resumes at the next start",
                    o.cause
                ),
                (Some(o), false) => tracing::error!(
                    "the open outage ({}) could NOT be saved; the next start will not know it",
                    o.cause
                ),
                (None, _) => {}
            }
            Ok(())
        })
    }
}

/// Detection's thread and its single-threaded runtime, which runs only the
/// probe tasks and the monitor; everything else is spawned onto it by handle.
struct Detection {
    handle: tokio::runtime::Handle,
    stop: CancellationToken,
    thread: std::thread::JoinHandle<()>,
}

impl Detection {
    fn start() -> anyhow::Result<Detection> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start detection's runtime")?;
        let handle = runtime.handle().clone();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("detection".into())
            // The runtime drives its tasks only while this thread waits in it.
            .spawn(move || runtime.block_on(stopped.cancelled()))
            .context("cannot start detection's thread")?;
        Ok(Detection {
            handle,
            stop,
            thread,
        })
    }

    /// Ends the runtime (the caller has stopped its tasks) and waits for its thread.
    async fn stop(self) {
        self.stop.cancel();
        let thread = self.thread;
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            tracing::error!("detection's thread did not end cleanly");
        }
    }
}

/// The saved state; a corrupt file is moved aside (never silently dropped) and a fresh start made.
pub fn load_state(config: &Config) -> Persisted {
    let dir = &config.monitor.state_dir;
    match persist::load(dir) {
        Ok(p) => p,
        Err(e) => {
            let path = dir.join(persist::STATE_FILE);
            match crate::util::set_aside(&path, "bad") {
                Ok(aside) => {
                    tracing::error!("{e}; starting without it (kept as {})", aside.display())
                }
                Err(_) => tracing::error!("{e}; starting without it"),
            }
            Persisted::default()
        }
    }
}

fn timing(config: &Config, plan: &Plan) -> Timing {
    Timing::new(
        Instant::now(),
        config.monitor.interval,
        config.monitor.timeout,
        plan.probes.len(),
    )
}

fn settings(config: &Config, plan: Arc<Plan>, tasks: &ProbeTasks, sim_fail: f64) -> Settings {
    Settings {
        plan,
        ids: tasks.ids(),
        timing: tasks.timing(),
        thresholds: Thresholds::of(config),
        rules: Rules::of(config),
        sim_fail,
        maintenance: config.alerts.maintenance.clone(),
    }
}

/// Says once, at start, that IPv6 targets are configured on a host without
/// IPv6: they are probed, but no IPv6 outage is counted until IPv6 has worked.
fn note_missing_ipv6(plan: &Plan) {
    let wants = plan
        .probes
        .iter()
        .any(|p| matches!(p.role, Role::Target(_)) && p.spec.family() == Some(Family::V6));
    let why = if !crate::route::has_global_v6() {
        "no global IPv6 address"
    } else if crate::route::default_gateway(Family::V6).is_none() {
        "no IPv6 default route"
    } else {
        return;
    };
    if wants {
        tracing::warn!("this host has {why}: the IPv6 targets are probed, but no IPv6 outage is counted until IPv6 has worked here");
    }
}

fn log_proxies(config: &Config) {
    for h in &config.http {
        match crate::probe::proxy_in_use(&h.url) {
            Some(var) => tracing::info!("http check {} goes through the proxy in {var}", h.name),
            None => tracing::debug!("http check {} goes direct", h.name),
        }
    }
}
