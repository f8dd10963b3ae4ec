//! Wiring: probes → monitor → sinks, with systemd around them.
//!
//! Shutdown order (STYLE 7): the probe tasks stop; the report queue then
//! closes and the monitor drains and returns its state machine; the sink
//! queues close, the sinks write what they hold and save the state; then exit.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::alert::{logwatch, Channel, Message, Notifier, NotifyLog, Outbox};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::monitor::persist::{self, Persisted};
use crate::monitor::{self, diagnose, Check, Diagnosis, Machine, Rules, Status, Thresholds};
use crate::probe::{Plan, ProbeResult, ProbeTasks, Prober, Timing};
use crate::sink::connection;
use crate::sink::recorder;
use crate::systemd::{self, LevelHandle};

/// Queue length between the monitor and each sink.
const SINK_QUEUE: usize = 256;

/// Runs the daemon until `shutdown` is cancelled. `config_path` is re-read on SIGHUP.
pub async fn run(
    mut config: Config,
    config_path: Option<PathBuf>,
    args: RunArgs,
    shutdown: CancellationToken,
    level: LevelHandle,
) -> anyhow::Result<()> {
    let persisted = load_state(&config);
    let machine = Machine::new(rules(&config), persisted.machine.clone());
    let alerting = persisted.alerting.clone();
    if let Some(o) = &machine.state().outage {
        tracing::warn!(outage_cause = %o.cause, "resuming the open outage that started at {} ({})", crate::sink::rfc3339_local(o.start), o.cause);
    }

    let (conn_tx, conn_rx) = mpsc::channel(SINK_QUEUE);
    let (rec_tx, rec_rx) = mpsc::channel(SINK_QUEUE);
    // Both logs are opened before READY=1; a log_dir that cannot be written is
    // reported now, and monitoring goes on with rows kept for retry.
    let conn_file = connection::open(&config.monitor.log_dir);
    let outage_file = recorder::open(&config.monitor.log_dir);
    let state_dir = config.monitor.state_dir.clone();
    let sinks = [
        tokio::task::spawn_blocking(move || connection::run(conn_file, conn_rx)),
        tokio::task::spawn_blocking(move || {
            recorder::run(state_dir, outage_file, persisted, rec_rx)
        }),
    ];
    let (status_tx, status_rx) = watch::channel(Status {
        check_span: config.monitor.interval + config.monitor.timeout,
        ..Status::default()
    });
    let reporter = tokio::spawn(report_status(status_rx));
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;

    let plan = Arc::new(Plan::from_config(&config));
    let prober = Prober::new()?;
    prober.check_icmp(&plan)?;
    log_proxies(&config);
    let (report_tx, report_rx) = mpsc::channel(plan.probes.len().max(16) * 2);
    let mut tasks = ProbeTasks::start(
        &plan,
        Arc::clone(&prober),
        timing(&config, &plan),
        report_tx,
    );
    let outbox = Arc::new(Outbox::new(&config.monitor.state_dir));
    let notify_log = NotifyLog::new(&config.monitor.log_dir);
    let http = prober.http();
    let start_notifier = |c: &Config| {
        let channels = Channel::all(&c.notify);
        if !channels.is_empty() {
            let names: Vec<&str> = channels.iter().map(Channel::name).collect();
            tracing::info!(
                "notifications go to the journal and to {}",
                names.join(", ")
            );
        }
        Arc::new(Notifier::start(
            channels,
            Arc::clone(&outbox),
            notify_log.clone(),
            http.clone(),
            c.notify.max_age,
        ))
    };
    let mut notifier = start_notifier(&config);
    // Log watches always use the current notifier, across reloads.
    let (notifier_tx, notifier_rx) = watch::channel(Arc::clone(&notifier));
    let mut watches = LogWatches::start(&config, &notifier_rx);
    let (update_tx, update_rx) = mpsc::channel(4);
    let outputs = monitor::Outputs {
        connection: conn_tx,
        recorder: rec_tx,
        status: status_tx.clone(),
    };
    let monitor = tokio::spawn(monitor::run(
        settings(&config, plan, &tasks, args.sim_fail, &notifier),
        (machine, alerting),
        report_rx,
        update_rx,
        outputs,
    ));
    tracing::info!(
        "monitoring: {} probes every {}, log_dir {}, state_dir {}",
        tasks.ids().len(),
        humantime::format_duration(config.monitor.interval),
        config.monitor.log_dir.display(),
        config.monitor.state_dir.display()
    );
    systemd::ready(&status_tx.borrow().summary(Utc::now()));

    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = hup.recv() => {
                systemd::reloading();
                match reload(&config, config_path.as_deref(), &prober) {
                    Ok((new, plan)) => {
                        let (kept, started, stopped) = tasks.apply(&plan, timing(&new, &plan));
                        tracing::info!(
                            "reloaded {}: {}; probes: {kept} kept, {started} started, {stopped} stopped",
                            new.source,
                            config_diff(&config, &new)
                        );
                        if new.notify != config.notify {
                            notifier.stop().await;
                            notifier = start_notifier(&new);
                            let _ = notifier_tx.send(Arc::clone(&notifier));
                        }
                        if new.log_watch != config.log_watch || new.alerts != config.alerts {
                            watches.stop().await;
                            watches = LogWatches::start(&new, &notifier_rx);
                        }
                        let _ = update_tx.send(settings(&new, plan, &tasks, args.sim_fail, &notifier)).await;
                        level.modify(|f| *f = systemd::filter(new.monitor.log_level.as_deref())).ok();
                        log_proxies(&new);
                        config = new;
                        status_tx.send_modify(|st| {
                            st.reload_error = None;
                            st.check_span = config.monitor.interval + config.monitor.timeout;
                        });
                    }
                    Err(e) => {
                        let line = format!("{e:#}").replace('\n', "; ");
                        tracing::error!("reload failed, still running the previous config: {line}");
                        status_tx.send_modify(|st| st.reload_error = Some(line));
                    }
                }
                systemd::ready(&status_tx.borrow().summary(Utc::now()));
            }
        }
    }

    systemd::stopping();
    tracing::info!("stopping: probes first, then the monitor, then the logs");
    tasks.stop().await;
    drop(update_tx);
    let machine = monitor.await.context("the monitor task panicked")?;
    watches.stop().await;
    notifier.stop().await;
    for s in sinks {
        s.await.context("a log writer panicked")?;
    }
    reporter.abort();
    if let Some(o) = &machine.state().outage {
        tracing::info!(
            "stopped; the open outage ({}) is saved and resumes at the next start",
            o.cause
        );
    } else {
        tracing::info!("stopped");
    }
    Ok(())
}

fn timing(config: &Config, plan: &Plan) -> Timing {
    Timing::new(
        Instant::now(),
        config.monitor.interval,
        config.monitor.timeout,
        plan.probes.len(),
    )
}

fn settings(
    config: &Config,
    plan: Arc<Plan>,
    tasks: &ProbeTasks,
    sim_fail: f64,
    notifier: &Arc<Notifier>,
) -> monitor::Settings {
    monitor::Settings {
        plan,
        ids: tasks.ids(),
        timing: tasks.timing(),
        thresholds: thresholds(config),
        rules: rules(config),
        sim_fail,
        policy: (&config.alerts).into(),
        notifier: Arc::clone(notifier),
    }
}

/// The running `[[log_watch]]` tasks.
struct LogWatches {
    token: CancellationToken,
    tracker: tokio_util::task::TaskTracker,
}

impl LogWatches {
    fn start(config: &Config, notifier: &watch::Receiver<Arc<Notifier>>) -> LogWatches {
        let token = CancellationToken::new();
        let tracker = tokio_util::task::TaskTracker::new();
        let alerts: crate::alert::Policy = (&config.alerts).into();
        for w in &config.log_watch {
            tracing::info!(
                "watching {} for silence ({}: idle after {})",
                w.path.display(),
                w.service,
                humantime::format_duration(w.idle_after)
            );
            let policy = logwatch::policy(w, &alerts);
            tracker.spawn(logwatch::run(
                w.clone(),
                policy,
                notifier.clone(),
                token.clone(),
            ));
        }
        tracker.close();
        LogWatches { token, tracker }
    }

    async fn stop(&self) {
        self.token.cancel();
        self.tracker.wait().await;
    }
}

/// Which sections differ, e.g. `changed monitor, target` or `no changes`.
fn config_diff(old: &Config, new: &Config) -> String {
    let sections = [
        ("monitor", old.monitor != new.monitor),
        ("gateway", old.gateway != new.gateway),
        ("isp", old.isp != new.isp),
        ("target", old.targets != new.targets),
        ("dns", old.dns != new.dns),
        ("http", old.http != new.http),
        ("alerts", old.alerts != new.alerts),
        ("notify", old.notify != new.notify),
        ("log_watch", old.log_watch != new.log_watch),
    ];
    let changed: Vec<&str> = sections
        .iter()
        .filter(|(_, c)| *c)
        .map(|(n, _)| *n)
        .collect();
    if changed.is_empty() {
        "no changes".into()
    } else {
        format!("changed {}", changed.join(", "))
    }
}

fn rules(config: &Config) -> Rules {
    Rules {
        down_after: config.monitor.down_after.get(),
        up_after: config.monitor.up_after.get(),
        interval: config.monitor.interval,
    }
}

fn thresholds(config: &Config) -> Thresholds {
    Thresholds {
        loss_pct: f64::from(config.monitor.degraded_loss_pct),
        rtt: config.monitor.degraded_rtt,
    }
}

/// The saved state; a corrupt file is moved aside (never silently dropped) and a fresh start made.
fn load_state(config: &Config) -> Persisted {
    let dir = &config.monitor.state_dir;
    match persist::load(dir) {
        Ok(p) => p,
        Err(e) => {
            let path = dir.join(persist::STATE_FILE);
            let aside =
                path.with_extension(format!("json.bad-{}", Utc::now().format("%Y%m%dT%H%M%S")));
            let moved = std::fs::rename(&path, &aside).is_ok();
            tracing::error!(
                "{e}; starting without it{}",
                if moved {
                    format!(" (kept as {})", aside.display())
                } else {
                    String::new()
                }
            );
            Persisted::default()
        }
    }
}

/// Validates the file again and opens what its probes need; only a config
/// that passes both replaces the running one.
fn reload(
    current: &Config,
    path: Option<&std::path::Path>,
    prober: &Prober,
) -> anyhow::Result<(Config, Arc<Plan>)> {
    let mut new = Config::load(path)?;
    if new.monitor.log_dir != current.monitor.log_dir
        || new.monitor.state_dir != current.monitor.state_dir
    {
        tracing::warn!("log_dir and state_dir changes take effect at the next restart");
        new.monitor.log_dir = current.monitor.log_dir.clone();
        new.monitor.state_dir = current.monitor.state_dir.clone();
    }
    let plan = Arc::new(Plan::from_config(&new));
    prober.check_icmp(&plan)?;
    Ok((new, plan))
}

fn log_proxies(config: &Config) {
    for h in &config.http {
        match crate::probe::proxy_in_use(&h.url) {
            Some(var) => tracing::info!("http check {} goes through the proxy in {var}", h.name),
            None => tracing::debug!("http check {} goes direct", h.name),
        }
    }
}

/// Keeps systemd's STATUS= current, and pings the watchdog only while checks keep
/// completing: if the pipeline stalls, the pings stop and systemd restarts us.
async fn report_status(mut rx: watch::Receiver<Status>) {
    let period = systemd::watchdog_period().map(|p| p / 2);
    let mut ticker = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
    let mut last_check = Instant::now();
    let mut checks = 0;
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                let st = rx.borrow_and_update().clone();
                if st.checks != checks {
                    checks = st.checks;
                    last_check = Instant::now();
                }
                systemd::status(&st.summary(Utc::now()));
            }
            _ = ticker.tick(), if period.is_some() => {
                if last_check.elapsed() <= rx.borrow().stale_after() {
                    systemd::watchdog();
                } else {
                    tracing::error!("no check completed for {}s; withholding the watchdog ping", last_check.elapsed().as_secs());
                }
            }
        }
    }
}

/// `once`: every probe once, concurrently, then the diagnosis.
pub async fn once(config: &Config) -> anyhow::Result<(Plan, Vec<ProbeResult>, Diagnosis)> {
    let plan = Plan::from_config(config);
    let prober = Prober::new()?;
    prober.check_icmp(&plan)?;
    let at = Utc::now();
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in plan.probes.iter().enumerate() {
        let prober = Arc::clone(&prober);
        let spec = p.spec.clone();
        let timeout = config.monitor.timeout;
        set.spawn(async move { (i, prober.run(&spec, timeout).await) });
    }
    let mut results = vec![None; plan.probes.len()];
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.context("a probe task panicked")?;
        results[i] = Some(r);
    }
    let results: Vec<ProbeResult> = results
        .into_iter()
        .map(|r| r.expect("every probe reported"))
        .collect();
    let check = Check {
        at,
        results: results.clone(),
        simulated: false,
    };
    let d = diagnose(&plan, &check, &thresholds(config));
    Ok((plan, results, d))
}

/// `notify-test`: one clearly labelled message through each channel (or the
/// one named), straight away, not through the outbox. Returns (channel, result).
pub async fn notify_test(
    config: &Config,
    only: Option<&str>,
) -> anyhow::Result<Vec<(&'static str, Result<(), String>)>> {
    let http = crate::probe::http_client()?;
    let channels: Vec<Channel> = Channel::all(&config.notify)
        .into_iter()
        .filter(|c| only.is_none_or(|n| n == c.name()))
        .collect();
    if channels.is_empty() {
        anyhow::bail!(match only {
            Some(n) => format!("no enabled channel named {n:?} in {}", config.source),
            None => format!("no notification channel is configured in {}", config.source),
        });
    }
    let msg = Message::test(Utc::now());
    let log = NotifyLog::new(&config.monitor.log_dir);
    let mut out = Vec::new();
    for c in channels {
        let r = c.send(&http, &msg).await.map_err(|e| e.text);
        let what = if r.is_ok() { "ok" } else { "failed" };
        log.attempt(
            c.name(),
            &msg,
            r.as_ref().map(|_| ()).map_err(String::as_str),
            what,
        );
        out.push((c.name(), r));
    }
    Ok(out)
}
