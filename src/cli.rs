// The command line (clap derive). Also included by build.rs for the man pages
// and shell completions, so it uses nothing but clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit status of a command-line usage error (EX_USAGE), apart from every
/// status a command itself gives.
pub const EXIT_USAGE: u8 = 64;

/// Watches an internet connection, tells where it broke, logs every outage to CSV.
#[derive(Debug, Parser)]
#[command(name = "connectivity-monitor", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Config file [default: /etc/connectivity-monitor/config.toml, else the built-in default]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do; `run` when not given.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `run`'s options, for when no command is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (the default).
    ///
    /// Exit status: 0 after a clean stop (SIGTERM, SIGINT), 1 if it cannot start.
    Run(RunArgs),
    /// Validate the config and print the effective config; exit 0 if valid, 1 if not.
    ///
    /// A status page, Home Assistant or push that `run` would have to leave off
    /// (an `[mqtt]` or `[push]` `ca_file` that cannot be read) is invalid here;
    /// `[serve]` beyond loopback without authentication gets a warning.
    CheckConfig,
    /// Run every probe once, print each result and the diagnosis.
    ///
    /// Exit status: 0 OK, 2 DEGRADED, 3 an outage verdict (LAN_DOWN, ISP_DOWN,
    /// WAN_DOWN, DNS_FAIL, HTTP_FAIL), 1 an error of the monitor itself.
    Once {
        /// Print JSON instead of text (schema in README).
        #[arg(long)]
        json: bool,
    },
    /// Send a test message through each configured channel and say what worked.
    ///
    /// Exit status: 0 if every channel took it, 1 otherwise.
    NotifyTest {
        /// Only this channel.
        #[arg(long, value_name = "NAME", value_enum)]
        channel: Option<ChannelName>,
    },
    /// Trace the path to the targets and suggest the ISP hops to watch, as a
    /// ready-to-paste `[isp]` section.
    ///
    /// One target after another, rounds --interval apart (routers limit their
    /// ICMP answers). A router that answers "unreachable" ends the path, with
    /// its mark (!N network, !H host, !P protocol, !A prohibited). A hop that
    /// leaves a probe unanswered is asked with an echo to its own address and
    /// the same TTL (`echo A/S`); Loss% is the loss the later hops share, and
    /// the rest is the router's rate limit (`limited N`), not loss.
    ///
    /// Exit status: 0 when the paths were traced, 1 when no trace could run.
    Discover(DiscoverArgs),
    /// The evidence for the ISP from the CSV logs: availability against the
    /// ISP, on your side and of services, outages by cause, gaps, peak against
    /// off-peak, latency and loss, the claims of your fault tickets, and each
    /// file read with its SHA-256; with --send, mailed through [notify.email].
    ///
    /// Exit status: 0 when the report was made (and, with --send, mailed); 1
    /// when there are no logs to report on, it could not be written, or the
    /// mail could not be sent.
    Report(ReportArgs),
    /// The fault tickets you raised with the ISP: when you reported a fault
    /// and when it was fixed, kept in log_dir/faults.csv for the report's
    /// claims ([claim] sets the compensation rule).
    ///
    /// Exit status: 0 when recorded (or listed); 1 when the record would be
    /// wrong (an unknown ref, a close before its open, a second open of a
    /// ticket still open, a time in the future) and nothing was written, or
    /// the file cannot be written.
    Fault(FaultArgs),
}

/// Options of `fault`.
#[derive(Debug, Clone, clap::Args)]
pub struct FaultArgs {
    /// What to record or show.
    #[command(subcommand)]
    pub action: FaultAction,
    /// Where faults.csv is [default: log_dir of the config].
    #[arg(long, value_name = "DIR", global = true)]
    pub log_dir: Option<PathBuf>,
}

/// The `fault` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum FaultAction {
    /// You reported a fault to the ISP: open a ticket with its reference.
    Open {
        /// The provider's reference for the fault, e.g. TKT-4711.
        #[arg(long = "ref", value_name = "REF", value_parser = parse_ref)]
        reference: String,
        /// When you reported it: RFC 3339, a local time (2026-11-02 14:30), or a span back from now (2h) [default: now].
        #[arg(long, value_name = "WHEN")]
        at: Option<String>,
        /// Free text: who you spoke to, what they said.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// The ISP fixed it: close the ticket.
    Close {
        /// The reference the ticket was opened with.
        #[arg(long = "ref", value_name = "REF", value_parser = parse_ref)]
        reference: String,
        /// When it was fixed, in the same forms as for open [default: now].
        #[arg(long, value_name = "WHEN")]
        at: Option<String>,
        /// Free text: what the ISP said it fixed.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// List the open and the closed tickets, with the provider's deadline under [claim].
    List,
}

/// The longest ticket reference taken.
const MAX_REF: usize = 64;

/// A ticket reference: letters, digits and `- _ . / # :`, starting with a
/// letter or digit, at most 64 characters; it ends up in CSV cells, alert ids
/// and file names.
fn parse_ref(s: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./#:".contains(c);
    if s.is_empty() || s.len() > MAX_REF {
        return Err(format!("a reference has 1 to {MAX_REF} characters"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) || !s.chars().all(allowed) {
        return Err(format!(
            "{s:?}: a reference starts with a letter or digit and has only letters, digits and - _ . / # :"
        ));
    }
    Ok(s.to_owned())
}

/// Options of `report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Where the CSV logs are [default: log_dir of the config].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// From: a date (2026-11-01), a local date-time (2026-11-01T18:00), RFC 3339, or a span back from now (30d, 12h).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Until (not included), in the same forms as --since.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// text, json, html, or csv (the checks of the period).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The evening peak, local time.
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "18:00-23:00")]
    pub peak_hours: String,
    /// Count outages made on purpose with --sim-fail too.
    #[arg(long)]
    pub include_simulated: bool,
    /// Mail the report through [notify.email]: the text as the body, the HTML
    /// page attached. Without --since it covers the last 7 days; the usual
    /// output is then written only to -o FILE, if given.
    #[arg(long)]
    pub send: bool,
}

/// What `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text, for a person or a mail.
    Text,
    /// JSON (schema in README).
    Json,
    /// One HTML page, charts included.
    Html,
    /// The checks of the period, one row each.
    Csv,
}

/// `ChannelName`: the channels `--channel` takes, from the channel list.
macro_rules! channel_names {
    ($($key:ident => $Variant:ident($Type:ident),)*) => {
        /// A notification channel, by its name under `[notify]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
        pub enum ChannelName {
            $( #[doc = concat!("`[notify.", stringify!($key), "]`")] $Variant, )*
        }

        impl ChannelName {
            /// Its name under `[notify]` and in logs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ChannelName::$Variant => stringify!($key), )*
                }
            }
        }
    };
}

channel_list!(channel_names);

/// Options of `discover`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Trace to this address instead of the configured targets.
    #[arg(long, value_name = "ADDR")]
    pub target: Option<std::net::IpAddr>,
    /// Rounds of probes (one per hop each).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rounds: u32,
    /// Seconds between rounds (routers limit how fast they answer; below 1 is for test networks).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Print JSON instead of text (schema in README).
    #[arg(long)]
    pub json: bool,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.01..=60.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0.01 and 60"))
    }
}

/// Options of `run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Fail this share of checks on purpose (0.0 to 1.0); such checks are marked simulated.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub sim_fail: f64,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0.0 and 1.0"))
    }
}
