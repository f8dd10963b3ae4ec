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
//!  log watches, sensors ──Report──▶ alert driver
//! ```
//!
//! Modules depend one way: `config` → `probe` → `monitor` → `path`, `alert`,
//! `sink` → `sensor`, `report` → `daemon` → `cmd`; `util` and `timefmt` are
//! used by all. A feature (a channel, a sensor, a surface) is one module that
//! holds its section of the config file (raw, rules, typed) beside what it
//! does, at its own layer; the whole file, which names them all, is
//! `daemon::config`, above every feature.
//! - [`config`]: what every section shares (`Section`, the `sections!` list
//!   macro, the `Validator`, `Secret`, `Window`, `Severity`, errors, the
//!   loader's reading of the file) and the core sections (`Core`); the built-in default.
//! - [`probe`]: what is probed (`Plan`), the kinds (one module each), outcomes
//!   as data, hedged attempts, one task per probe per interval.
//! - [`monitor`]: checks assembled from reports, the verdict, the pure outage
//!   machine and its persisted state, and the update stream (`Hub`, `Update`).
//! - [`path`]: hop-by-hop traces (unprivileged ICMP sockets), their tables, hop suggestions.
//! - [`alert`]: the policy, every condition's progress, messages, the durable
//!   outbox, delivery, and the channels (`alert::channel`, one module each).
//! - [`sink`]: the CSV files, one serde row struct each, and the one way of reading them back
//!   (every rotated file, rows bounded in size, bad rows named).
//! - [`sensor`]: the alert driver's observers, one module each: disk, memory,
//!   SSH failures and log watches; and `Condition`, every condition it knows.
//! - [`claim`]: fault tickets (`faults.csv`), the compensation rules and their
//!   clocks, and the watch that alerts when an open ticket passes its deadline.
//! - [`report`]: reads the CSV files back into figures, as text, JSON, HTML or per-check CSV.
//! - [`daemon`]: the whole config file, and the running daemon as parts
//!   (pipeline, alerts with the driver and its observers, status, path, the
//!   live surfaces: status page, Home Assistant, remote_write push,
//!   heartbeat), each with start, reload, stop.
//! - [`cmd`]: one file per subcommand; [`cli`]: the command line.
//! - [`systemd`]: sd_notify, the watchdog period, journald logging.
//! - [`timefmt`]: how times and durations are written; [`util`]: atomic files,
//!   setting a file aside, backoff, blocking calls off the runtime, error
//!   chains, giving the allocator's free memory back.
//!
//! Where things plug in (one file, one list entry):
//! - a channel: a module in `alert/channel/` (its `[notify.NAME]` section and
//!   how it sends), and a line in `alert/channel/list.rs`; `--channel` follows.
//!   `ntfy.rs` was added this way.
//! - a sensor: a module in `sensor/` (its `[sensors.NAME]` section, the
//!   conditions it raises, its policy, its task, what `once` shows), and an
//!   entry in the list in `sensor/mod.rs`; `Condition` follows, and the
//!   compiler asks for what a new one lacks.
//! - a surface: a module in `daemon/` (its `[NAME]` section and a `Surface`:
//!   start, reload, stop), and an entry in the list in `daemon/mod.rs`.
//! - another top-level section: its module, and an entry in `Features`
//!   (`daemon/config.rs`).
//! - a probe kind: a module in `probe/` (a struct implementing `Kind`: its
//!   name in logs, its host (or, with none, its family and whether it needs
//!   global IPv6), its attempt; and `HostKind` if a host is probed with it:
//!   its word in `probes = [...]`),
//!   and a line in the list in `probe/mod.rs`; `Spec`, its dispatch and the
//!   words the config accepts follow, and the compiler asks for what a new
//!   one lacks. `tcp.rs` is one. A kind no host is probed with also needs what asks for it (a
//!   section, like `[dns]`, and its probes in `Plan::from_config`).

// The list macros first: `config`'s `sections!` is used by every module with
// a list, and `alert`'s channel list by `cli`.
#[macro_use]
mod config;
#[macro_use]
mod alert;
mod claim;
mod cli;
mod cmd;
mod daemon;
mod monitor;
mod path;
mod probe;
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
    util::two_heaps();
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
        Command::NotifyTest { channel } => cmd::notify_test::run(path.as_deref(), channel),
        Command::Discover(args) => cmd::discover::run(path.as_deref(), &args),
        Command::Report(args) => cmd::report::run(path.as_deref(), &args),
        Command::Fault(args) => cmd::fault::run(path.as_deref(), &args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("connectivity-monitor: {e:#}");
        ExitCode::from(1)
    })
}
