//! connectivity-monitor: watches an internet connection, tells where it broke
//! (LAN, ISP, wider internet, DNS, a web service), and records every outage
//! in CSV files a person can hand to their ISP.
//!
//! The flow, each arrow a bounded queue:
//!
//! ```text
//!  probe tasks ──reports──▶ monitor ──Update──┬─▶ durable: sink::connection  (connection_log.csv)
//!  (one per probe)          (assemble,        ├─▶ durable: sink::recorder    (outage_log.csv, state.json)
//!                            diagnose,        ├─▶ durable: alert driver ──▶ outbox ──▶ channel tasks
//!                            machine)         └─▶ live:    systemd STATUS/watchdog, path capture,
//!                               ▲                          live view (status page, /metrics, MQTT)
//!                               └── where-broke annotations from path capture
//!  log watches, sensors ──Observation──▶ alert driver
//! ```
//!
//! Modules depend one way: `config` → `probe` → `monitor` → `path`, `alert`,
//! `sink` → `sensor`, `report` → `daemon` → `cmd`; `util` and `timefmt` are
//! used by all.
//! - [`config`]: the TOML file, validated into typed values (owns `Window`, `Severity`); the built-in default.
//! - [`probe`]: what is probed (`Plan`), outcomes as data, hedged attempts, one task per probe per interval.
//! - [`monitor`]: checks assembled from reports, the verdict, the pure outage
//!   machine and its persisted state, and the update stream (`Hub`, `Update`).
//! - [`path`]: hop-by-hop traces (unprivileged ICMP sockets), their tables, hop suggestions.
//! - [`alert`]: the policy, the one condition driver, messages, the durable outbox, channels, log watches.
//! - [`sink`]: the CSV files, one serde row struct each, and the one way of reading them back
//!   (every rotated file, rows bounded in size, bad rows named).
//! - [`sensor`]: disk, memory and SSH-failure sensors, as observers of the alert driver.
//! - [`report`]: reads the CSV files back into figures, as text, JSON, HTML or per-check CSV.
//! - [`daemon`]: the running daemon as parts (pipeline, alerts, status, path,
//!   sensors, live view, server, MQTT), each with start, reload, stop.
//! - [`push`]: every series of /metrics sent to a remote_write receiver, queued on disk;
//!   [`heartbeat`]: an outside witness called while the internet works.
//! - [`cmd`]: one file per subcommand; [`cli`]: the command line.
//! - [`systemd`]: sd_notify, the watchdog period, journald logging.
//! - [`timefmt`]: how times and durations are written; [`util`]: atomic files, error chains.
//!
//! Where things plug in:
//! - a probe kind: a `Spec` variant in `probe/plan.rs` and its attempt in `probe/mod.rs` (`Prober::run`);
//! - a channel: a `Channel` variant in `alert/channel.rs` (and its `[notify.*]` config);
//! - a surface: a module in `daemon/` reading `daemon/live.rs`'s view, started,
//!   reloaded and stopped by `daemon/surfaces.rs` (one more arm there);
//! - a sensor: a module in `sensor/` sending `alert::Observation`s, started by `daemon/sensors.rs`.

mod alert;
mod cli;
mod cmd;
mod config;
mod daemon;
mod heartbeat;
mod monitor;
mod path;
mod probe;
mod push;
mod report;
mod route;
mod sensor;
mod sink;
mod systemd;
mod timefmt;
mod util;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            return if e.use_stderr() {
                ExitCode::from(cli::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let path = cli.config;
    let result = match cli.command.unwrap_or(Command::Run(cli.run)) {
        Command::Run(args) => cmd::run::run(path, args),
        Command::CheckConfig => cmd::check_config::run(path.as_deref()),
        Command::Once { json } => cmd::once::run(path.as_deref(), json),
        Command::NotifyTest { channel } => {
            cmd::notify_test::run(path.as_deref(), channel.as_deref())
        }
        Command::Discover(args) => cmd::discover::run(path.as_deref(), &args),
        Command::Report(args) => cmd::report::run(path.as_deref(), &args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("connectivity-monitor: {e:#}");
        ExitCode::from(1)
    })
}
