//! connectivity-monitor: watches an internet connection, tells where it broke
//! (LAN, ISP, wider internet, DNS, a web service), and records every outage
//! in CSV files a person can hand to their ISP.
//!
//! Map of the crate, one job per module:
//! - [`alert`]: the alert policy: warning, critical, reminders, recovery, maintenance.
//! - [`cli`]: the command line.
//! - [`config`]: the TOML config, validated into typed values; the built-in default.
//! - [`probe`]: ICMP, TCP, DNS and HTTP probes, each an independent task per interval.
//! - [`monitor`]: checks assembled from probe reports, the verdict of each, and the
//!   pure outage state machine with its persisted state.
//! - [`sink`]: the CSV logs and the state file, each written by its own task.
//! - [`systemd`]: sd_notify, the health-gated watchdog, journald logging.
//! - [`app`]: the wiring of all of the above, reload and ordered shutdown.

mod alert;
mod app;
mod cli;
mod config;
mod monitor;
mod probe;
mod sink;
mod systemd;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command, RunArgs};
use config::Config;
use monitor::Verdict;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("connectivity-monitor: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread does: probes wait on the network, and file writes run on
    // blocking threads, so a second worker would only cost memory.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = cli.config.as_deref();
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::CheckConfig => {
            let config = Config::load(path)?;
            println!("# valid: {}", config.source);
            print!("{}", config.to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Once { json } => {
            let config = Config::load(path)?;
            let (plan, results, d) = runtime()?.block_on(app::once(&config))?;
            if json {
                println!("{}", once_json(&plan, &results, &d));
            } else {
                print_once(&plan, &results, &d);
            }
            Ok(ExitCode::from(match d.verdict {
                Verdict::Ok => 0,
                Verdict::Degraded => 2,
                _ => 3,
            }))
        }
        Command::NotifyTest { channel } => {
            let config = Config::load(path)?;
            let results = runtime()?.block_on(app::notify_test(&config, channel.as_deref()))?;
            let mut ok = true;
            for (name, r) in &results {
                match r {
                    Ok(()) => println!("{name}: ok"),
                    Err(e) => {
                        ok = false;
                        println!("{name}: FAILED: {e}");
                    }
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Run(args) => {
            let config = Config::load(path)?;
            let level = systemd::init_logging(config.monitor.log_level.as_deref());
            match &config.source {
                config::Source::BuiltIn => tracing::info!(
                    "no config at {}: running on the built-in default (gateway from the default route; 1.1.1.1, 8.8.8.8, 9.9.9.9; https://example.com/)",
                    config::DEFAULT_PATH
                ),
                config::Source::File(p) => tracing::info!("config {}", p.display()),
            }
            let rt = runtime()?;
            rt.block_on(async {
                let shutdown = CancellationToken::new();
                tokio::spawn(stop_on_signal(shutdown.clone()));
                app::run(config, cli.config.clone(), args, shutdown, level).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Cancels `token` on SIGTERM or SIGINT.
async fn stop_on_signal(token: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
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

fn print_once(plan: &probe::Plan, results: &[probe::ProbeResult], d: &monitor::Diagnosis) {
    for (p, r) in plan.probes.iter().zip(results) {
        let addr = r.addr.map(|a| format!(" ({a})")).unwrap_or_default();
        let what = match &r.outcome {
            probe::Outcome::Up { rtt } => format!("up {rtt}"),
            probe::Outcome::Down(f) => format!("DOWN: {f}"),
        };
        let loss = r
            .icmp
            .map(|s| format!(" [{}/{} replies]", s.received, s.sent))
            .unwrap_or_default();
        println!(
            "{:<40} {:<8} {what}{loss}",
            format!("{}{addr}", p.role),
            p.spec.kind()
        );
    }
    println!("verdict: {}", d.verdict);
    println!("detail: {}", d.detail);
}

fn once_json(
    plan: &probe::Plan,
    results: &[probe::ProbeResult],
    d: &monitor::Diagnosis,
) -> serde_json::Value {
    let probes: Vec<serde_json::Value> = plan
        .probes
        .iter()
        .zip(results)
        .map(|(p, r)| {
            serde_json::json!({
                "role": p.role.to_string(),
                "kind": p.spec.kind(),
                "address": r.addr,
                "up": matches!(r.outcome, probe::Outcome::Up { .. }),
                "rtt_ms": r.outcome.rtt().map(probe::Rtt::as_ms),
                "failure": match &r.outcome { probe::Outcome::Down(f) => Some(f.to_string()), _ => None },
                "icmp": r.icmp,
            })
        })
        .collect();
    serde_json::json!({ "verdict": d.verdict, "diagnosis": d, "probes": probes })
}
