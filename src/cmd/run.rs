//! `run` (the default): the daemon in the foreground, as a composition of
//! parts, with validate-then-swap reload on SIGHUP and an ordered stop on
//! SIGTERM/SIGINT.
//!
//! Stop order: the pipeline (probes, then the monitor drains, then the CSV
//! sinks write what they hold and save the state), then the alerts (the
//! sensors and log watches, then the driver queues what it still holds;
//! undelivered messages stay in the outbox), then the status line. Every
//! part is stopped even when an earlier one fails, and every failure is said.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::config;
use crate::daemon::alerts::Alerts;
use crate::daemon::config::Config;
use crate::daemon::part::{self, Part};
use crate::daemon::path::PathCapture;
use crate::daemon::pipeline::{self, Pipeline};
use crate::daemon::status::StatusLine;
use crate::daemon::surfaces::Surfaces;
use crate::monitor::Hub;
use crate::probe;
use crate::systemd::{self, LevelHandle};

/// Loads the config, starts logging and runs until SIGTERM or SIGINT.
pub fn run(path: Option<PathBuf>, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path.as_deref())?;
    if let Some((channel, name)) = config.pending_credentials().first() {
        anyhow::bail!(
            "{}: the {channel} secret is the systemd credential {name:?}, and $CREDENTIALS_DIRECTORY is not set; \
             run the daemon under systemd with LoadCredential={name}:/path/to/file, or give a path in the config",
            config.source
        );
    }
    let level = systemd::init_logging(config.monitor.log_level.as_deref());
    match &config.source {
        config::Source::BuiltIn => tracing::info!(
            "no config at {}: running on the built-in default (gateway from the default route; 1.1.1.1, 8.8.8.8, 9.9.9.9; https://example.com/)",
            config::DEFAULT_PATH
        ),
        config::Source::File(p) => tracing::info!("config {}", p.display()),
    }
    for note in &config.notes {
        tracing::warn!("{note}");
    }
    super::runtime()?.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        daemon(config, path, args, shutdown, level).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the daemon until `shutdown` is cancelled. `path` is re-read on SIGHUP.
pub async fn daemon(
    mut config: Config,
    path: Option<PathBuf>,
    args: RunArgs,
    shutdown: CancellationToken,
    level: LevelHandle,
) -> anyhow::Result<()> {
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let persisted = pipeline::load_state(&config);
    let http = probe::SharedClient::default();
    let mut hub = Hub::default();
    let (status_line, status) = StatusLine::start(&config, hub.live());
    let alerts = Alerts::start(
        &config,
        hub.durable(64),
        hub.live_sender(),
        http.clone(),
        persisted.legacy_alerting.clone(),
    );
    let surfaces = Surfaces::start(&config, hub.live_sender(), http.clone()).await;
    let (notes, annotations) = tokio::sync::mpsc::channel(64);
    let paths = PathCapture::start(&config, hub.live(), notes);
    let pipeline = Pipeline::start(&config, persisted, hub, annotations, args.sim_fail)?;
    // In stop order.
    let mut parts: Vec<Box<dyn Part>> = vec![
        Box::new(pipeline),
        Box::new(alerts),
        Box::new(paths),
        Box::new(status_line),
    ];
    parts.push(Box::new(surfaces));
    // What starting left free (the certificates' parse, the plan's building).
    crate::util::release_free_memory();
    systemd::ready(&status.summary());

    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = hup.recv() => {
                systemd::reloading();
                let absorbed = settle(&mut hup).await;
                if absorbed > 0 {
                    tracing::info!("{} more reload requests arrived meanwhile: one reload for all", absorbed);
                }
                apply_reload(&mut config, path.as_deref(), &mut parts, &status, &level).await;
                systemd::ready(&status.summary());
            }
        }
    }

    systemd::stopping();
    tracing::info!("stopping: probes first, then the monitor, then the logs");
    part::stop_all(parts).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Validates the file again and, if it changed, hands the new config to every
/// part; a bad file keeps the running config and says so in STATUS.
async fn apply_reload(
    config: &mut Config,
    path: Option<&Path>,
    parts: &mut [Box<dyn Part>],
    status: &crate::daemon::status::StatusHandle,
    level: &LevelHandle,
) {
    match validated(config, path, parts) {
        Ok(new) if new == *config => {
            // Nothing to apply: no probe restarts, no skipped checks.
            tracing::info!("reloaded {}: no changes", new.source);
            status.reload_error(None);
        }
        Ok(new) => {
            let mut notes = vec![changed_sections(config, &new)];
            for part in parts.iter_mut() {
                notes.extend(part.reload(config, &new).await);
            }
            tracing::info!("reloaded {}: {}", new.source, notes.join("; "));
            level
                .modify(|f| *f = systemd::filter(new.monitor.log_level.as_deref()))
                .ok();
            *config = new;
            status.reload_error(None);
        }
        Err(e) => {
            let line = format!("{e:#}").replace('\n', "; ");
            tracing::error!("reload failed, still running the previous config: {line}");
            status.reload_error(Some(line));
        }
    }
}

/// Lets a burst of SIGHUPs (an editor saving twice, a script in a loop) end:
/// waits until none has come for a quarter second, two seconds at most, and
/// returns how many were absorbed. The reload then reads the file once.
async fn settle(hup: &mut tokio::signal::unix::Signal) -> u32 {
    let quiet = std::time::Duration::from_millis(250);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut absorbed = 0;
    loop {
        tokio::select! {
            Some(()) = hup.recv() => absorbed += 1,
            _ = tokio::time::sleep(quiet) => return absorbed,
            _ = tokio::time::sleep_until(deadline) => return absorbed,
        }
    }
}

/// Validates the file again and lets every part check it; only a config that
/// passes all of that replaces the running one.
fn validated(
    current: &Config,
    path: Option<&Path>,
    parts: &[Box<dyn Part>],
) -> anyhow::Result<Config> {
    let mut new = super::load_config(path)?;
    if new.monitor.log_dir != current.monitor.log_dir
        || new.monitor.state_dir != current.monitor.state_dir
    {
        tracing::warn!("log_dir and state_dir changes take effect at the next restart");
        new.core.monitor.log_dir = current.monitor.log_dir.clone();
        new.core.monitor.state_dir = current.monitor.state_dir.clone();
    }
    for part in parts {
        part.check(&new)?;
    }
    Ok(new)
}

/// Which sections differ, e.g. `changed monitor, target` or `no changes`.
fn changed_sections(old: &Config, new: &Config) -> String {
    let changed = new.changed(old);
    if changed.is_empty() {
        "no changes".into()
    } else {
        format!("changed {}", changed.join(", "))
    }
}

/// Cancels `token` on SIGTERM or SIGINT.
async fn stop_on_signal(token: CancellationToken) {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    token.cancel();
}
