//! The report as data: every figure, defined once in README ("report"), and
//! serialised as the JSON output (`schema_version` 2).

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::sink::fingerprint::FileRead;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// The machine the report was made on.
    pub host: String,
    /// The zone the times are in, as a person names it:
    /// `Europe/Berlin (UTC+01:00)`, or only the offsets when the logs were
    /// written in another zone than this machine's.
    pub time_zone: String,
    /// One plain-language paragraph for the top of the page.
    pub summary: String,
    /// How the figures were counted, in one paragraph.
    pub method: String,
    /// The monitored span (first check to last check + interval, within
    /// --since/--until), RFC 3339 local time; `null` when no check is in it.
    pub period: Option<Period>,
    /// The check interval, seconds (from the config, else the usual spacing of the checks).
    pub interval_s: f64,
    /// Checks a continuous monitor would have made in the period, and those present.
    pub checks_expected: u64,
    pub checks_present: u64,
    /// Seconds observed (the period less the monitoring gaps).
    pub monitored_s: f64,
    /// Spans with no check for more than three intervals: daemon stopped, machine asleep.
    pub gaps: Vec<Gap>,
    /// Outage seconds of every side (not simulated; maintenance included).
    pub downtime_s: f64,
    /// 100 × (1 − downtime ÷ monitored time), every side.
    pub availability_pct: Option<f64>,
    /// The same per side; the headline is `sides.isp`.
    pub sides: Sides<SideFigures>,
    /// Per address family the logs have targets of (`ipv4`, `ipv6`).
    pub families: BTreeMap<String, FamilyFigures>,
    /// Of `downtime_s`, the seconds of outages marked as in a maintenance
    /// window: counted like the rest, and marked.
    pub maintenance_s: f64,
    /// Seconds of DEGRADED checks.
    pub degraded_s: f64,
    pub outages: OutageFigures,
    /// Every outage of the period, oldest first (maintenance ones marked).
    pub outage_list: Vec<Outage>,
    /// Outage starts by local hour of day, 0 to 23.
    pub starts_by_hour: [u32; 24],
    /// Outage starts by weekday, Monday first.
    pub starts_by_weekday: [u32; 7],
    /// Latency and loss over the whole period.
    pub latency: Latency,
    /// Evening peak against the rest of the day.
    pub peak: PeakFigures,
    /// One entry per local day with checks.
    pub days: Vec<Day>,
    /// The fault tickets of the period and what they are owed.
    pub claims: Claims,
    /// Each log file read: its rows, bytes and SHA-256, so that a copy can be checked.
    pub files_read: Vec<FileRead>,
    /// Rows that could not be read, each with its file and line.
    pub warnings: Vec<String>,
}

/// The CLAIMS section: the rule, and each ticket of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claims {
    /// `uk-ofcom`, `de-tkg58` or `none`.
    pub rule: &'static str,
    /// The rule, its amounts and its source, in one line.
    pub rule_text: String,
    /// The currency of the amounts; `null` under `none`.
    pub currency: Option<String>,
    /// The tickets open during the period, oldest report first.
    pub tickets: Vec<Claim>,
    /// The sum of the tickets' amounts; `null` under `none`.
    pub total_amount: Option<f64>,
    /// The rule with its amounts, for the renderers' words.
    #[serde(skip)]
    pub terms: crate::claim::Rule,
}

/// One fault ticket and what it is owed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    #[serde(rename = "ref")]
    pub reference: String,
    /// The notes given when it was opened and closed.
    pub note: String,
    pub fix_note: String,
    /// When it was reported, RFC 3339.
    pub reported: String,
    /// When it was fixed; `null` while open.
    pub fixed: Option<String>,
    /// Seconds of outages against the ISP between the report and the fix
    /// (or the end of the period), inside the monitored time.
    pub total_loss_s: f64,
    /// The last day the provider has (`YYYY-MM-DD`), and the moment it
    /// passes (RFC 3339); `null` under `none`.
    pub deadline_day: Option<String>,
    pub deadline: Option<String>,
    /// The days owed, oldest first.
    pub days: Vec<ClaimDay>,
    /// Their sum; `null` under `none`.
    pub amount: Option<f64>,
    /// `null` when the period covers the ticket from its report to its fix
    /// (to the end of the period while it is open); else why not, in words.
    pub coverage: Option<String>,
}

/// One day owed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimDay {
    /// The local date.
    pub date: String,
    /// Calendar days after the day of the report (the day after it is 1).
    pub day: u32,
    pub amount: f64,
}

/// A span of time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// A monitoring gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub seconds: f64,
}

/// Who an outage counts against, by its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The ISP: ISP_DOWN, WAN_DOWN, IPV4_DOWN, IPV6_DOWN.
    Isp,
    /// The user's own network: LAN_DOWN.
    #[serde(rename = "your_side")]
    Yours,
    /// DNS and web services: DNS_FAIL, HTTP_FAIL.
    Services,
}

impl Side {
    /// Every side, in the order the report shows them.
    pub const ALL: [Side; 3] = [Side::Isp, Side::Yours, Side::Services];

    /// The causes that count against this side.
    pub fn causes(self) -> &'static [&'static str] {
        match self {
            Side::Isp => &["ISP_DOWN", "WAN_DOWN", "IPV4_DOWN", "IPV6_DOWN"],
            Side::Yours => &["LAN_DOWN"],
            Side::Services => &["DNS_FAIL", "HTTP_FAIL"],
        }
    }

    /// The side `cause` counts against; `None` for a cause this version does not know.
    pub fn of(cause: &str) -> Option<Side> {
        Side::ALL.into_iter().find(|s| s.causes().contains(&cause))
    }

    /// Its key in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Side::Isp => "isp",
            Side::Yours => "your_side",
            Side::Services => "services",
        }
    }

    /// How a person names it.
    pub fn label(self) -> &'static str {
        match self {
            Side::Isp => "against the ISP",
            Side::Yours => "your side",
            Side::Services => "services",
        }
    }
}

/// One value per side.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Sides<T> {
    pub isp: T,
    pub your_side: T,
    pub services: T,
}

impl<T> Sides<T> {
    /// The value of `side`.
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Isp => &self.isp,
            Side::Yours => &self.your_side,
            Side::Services => &self.services,
        }
    }

    /// The value of `side`, to change.
    pub fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Isp => &mut self.isp,
            Side::Yours => &mut self.your_side,
            Side::Services => &mut self.services,
        }
    }
}

/// The outages of one side over the whole period.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SideFigures {
    /// The causes counted against it.
    pub causes: Vec<String>,
    pub count: u32,
    pub downtime_s: f64,
    /// 100 × (1 − this side's downtime ÷ monitored time).
    pub availability_pct: Option<f64>,
}

/// One address family over the period: the time its targets were monitored,
/// the outage time that cut it off (LAN_DOWN, ISP_DOWN, WAN_DOWN and its own
/// IPV4_DOWN or IPV6_DOWN), its availability and its targets' latency.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FamilyFigures {
    pub monitored_s: f64,
    pub downtime_s: f64,
    pub availability_pct: Option<f64>,
    pub internet_ms: Percentiles,
}

/// One side's outage time in a part of the period (a day, the peak).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Share {
    pub downtime_s: f64,
    pub availability_pct: Option<f64>,
}

/// Counts and durations of the outages counted as downtime.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct OutageFigures {
    pub count: u32,
    pub total_s: f64,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
    pub longest_s: Option<f64>,
    /// Uptime (monitored time less downtime) ÷ number of outages.
    pub mean_time_between_s: Option<f64>,
    /// By cause (`WAN_DOWN`, …): count and seconds.
    pub by_cause: BTreeMap<String, CauseFigures>,
}

/// One cause's share.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CauseFigures {
    pub count: u32,
    pub total_s: f64,
}

/// One outage as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    pub start: String,
    pub end: String,
    /// Seconds counted: end − start, less monitoring gaps and time another
    /// row already counts.
    pub duration_s: f64,
    pub cause: String,
    /// Who it counts against; `null` for a cause this version does not know.
    pub side: Option<Side>,
    pub detail: String,
    /// It fell in a maintenance window: counted, and marked.
    pub maintenance: bool,
    /// The path table captured when it started, when a path log has one.
    pub path: Option<String>,
}

/// RTT percentiles of one series, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Latency and loss.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Latency {
    pub gateway_ms: Percentiles,
    pub isp_ms: Percentiles,
    pub internet_ms: Percentiles,
    /// Mean ICMP loss to the internet targets over the checks that measured it, percent.
    pub loss_pct: Option<f64>,
}

/// The evening peak against the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakFigures {
    /// Local hours, e.g. `18:00-23:00`.
    pub hours: String,
    pub peak: Part,
    pub off_peak: Part,
}

/// The figures of one part of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Part {
    pub monitored_s: f64,
    pub downtime_s: f64,
    pub availability_pct: Option<f64>,
    pub sides: Sides<Share>,
    pub loss_pct: Option<f64>,
    pub internet_ms: Percentiles,
}

/// One local day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: String,
    pub checks: u64,
    pub monitored_s: f64,
    pub downtime_s: f64,
    pub availability_pct: Option<f64>,
    pub sides: Sides<Share>,
    pub degraded_s: f64,
    pub latency: Latency,
}
