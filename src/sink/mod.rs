//! Sinks: the CSV logs. Each is a durable consumer of the update stream, in its
//! own blocking task behind a bounded queue, so a slow disk never delays detection.
//!
//! - [`connection`]: one `connection_log.csv` row per check.
//! - [`recorder`]: `outage_log.csv` rows and the persisted state, in one task
//!   so that a row is on disk before the state that forgets its outage is.
//!
//! Each file's row is one serde struct ([`OutageRow`], [`ConnectionRow`]) with
//! its header beside it; readers of the files use the same structs:
//! - [`read`]: every file of a log (rotated, compressed, renamed aside), rows bounded in size,
//!   and on request what was read of each ([`fingerprint`]: rows, bytes, SHA-256);
//! - [`outages`]: the one reader of `outage_log.csv` (report, `/api/outages`, the recorder).

pub mod connection;
mod csvfile;
pub mod fingerprint;
pub mod outages;
pub mod read;
pub mod recorder;
pub mod rows;
mod split;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::monitor::{Diagnosis, OutageRecord};
use crate::probe::Rtt;
use crate::timefmt::{local_date, local_hms, rfc3339_local, whole_seconds};

pub use csvfile::{neutralise, CsvError, CsvFile};

/// One `outage_log.csv` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageRow {
    /// Local date of the start, `YYYY-MM-DD`.
    pub date: String,
    /// Local start time, `HH:MM:SS`.
    pub start_time: String,
    /// Local end time, `HH:MM:SS`.
    pub end_time: String,
    /// Observed outage time, whole seconds (monitoring gaps not counted).
    pub duration_seconds: u64,
    /// `WAN_DOWN`, `ISP_DOWN`, …
    pub cause: String,
    /// Start, RFC 3339 with offset.
    pub started_at: String,
    /// End, RFC 3339 with offset.
    pub ended_at: String,
    /// Where it broke, changes, gaps, maintenance, simulation.
    pub detail: String,
    /// Failed on purpose (`--sim-fail`): `true` or `false`.
    #[serde(default)]
    pub simulated: bool,
}

impl OutageRow {
    /// The columns, in order.
    pub const HEADER: &'static [&'static str] = &[
        "date",
        "start_time",
        "end_time",
        "duration_seconds",
        "cause",
        "started_at",
        "ended_at",
        "detail",
        "simulated",
    ];
}

impl From<&OutageRecord> for OutageRow {
    fn from(r: &OutageRecord) -> OutageRow {
        OutageRow {
            date: local_date(r.start),
            start_time: local_hms(r.start),
            end_time: local_hms(r.end),
            duration_seconds: whole_seconds(r.observed),
            cause: r.cause.verdict().as_str().to_owned(),
            started_at: rfc3339_local(r.start),
            ended_at: rfc3339_local(r.end),
            detail: neutralise(&r.full_detail()),
            simulated: r.simulated,
        }
    }
}

/// One `connection_log.csv` row. The writer owns its text; a reader may borrow
/// it from its buffer (`ConnectionRow<&str>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRow<S = String> {
    /// The check's time, RFC 3339 with offset.
    pub timestamp: S,
    /// The verdict, e.g. `OK`.
    pub status: S,
    /// Best gateway RTT in ms; empty when it did not answer.
    #[serde(serialize_with = "ms3")]
    pub gateway_rtt_ms: Option<f64>,
    /// Best ISP hop RTT in ms; empty when none answered.
    #[serde(serialize_with = "ms3")]
    pub isp_rtt_ms: Option<f64>,
    /// Targets that answered.
    pub targets_up: usize,
    /// Targets configured.
    pub targets_total: usize,
    /// Whether DNS worked; empty when not checked.
    pub dns_ok: Option<bool>,
    /// Whether HTTP worked; empty when not checked.
    pub http_ok: Option<bool>,
    /// ICMP loss to the internet targets, percent.
    #[serde(serialize_with = "pct1")]
    pub loss_pct: Option<f64>,
    /// Where it broke, in words.
    pub detail: S,
    /// Median RTT over the internet targets that answered, ms.
    #[serde(default, serialize_with = "ms3")]
    pub internet_rtt_ms: Option<f64>,
    /// Highest RTT of the internet targets that answered, ms.
    #[serde(default, serialize_with = "ms3")]
    pub internet_rtt_max_ms: Option<f64>,
    /// IPv4 targets that answered, and IPv4 targets configured.
    #[serde(default)]
    pub targets_up_v4: usize,
    #[serde(default)]
    pub targets_total_v4: usize,
    /// IPv6 targets that answered, and IPv6 targets configured.
    #[serde(default)]
    pub targets_up_v6: usize,
    #[serde(default)]
    pub targets_total_v6: usize,
    /// Median RTT over the IPv4 targets that answered, ms; and over the IPv6 ones.
    #[serde(default, serialize_with = "ms3")]
    pub internet_rtt_v4_ms: Option<f64>,
    #[serde(default, serialize_with = "ms3")]
    pub internet_rtt_v6_ms: Option<f64>,
}

impl ConnectionRow {
    /// The columns, in order.
    pub const HEADER: &'static [&'static str] = &[
        "timestamp",
        "status",
        "gateway_rtt_ms",
        "isp_rtt_ms",
        "targets_up",
        "targets_total",
        "dns_ok",
        "http_ok",
        "loss_pct",
        "detail",
        "internet_rtt_ms",
        "internet_rtt_max_ms",
        "targets_up_v4",
        "targets_total_v4",
        "targets_up_v6",
        "targets_total_v6",
        "internet_rtt_v4_ms",
        "internet_rtt_v6_ms",
    ];

    /// The row for a check diagnosed at `at`.
    pub fn new(at: DateTime<Utc>, d: &Diagnosis) -> ConnectionRow {
        ConnectionRow {
            timestamp: rfc3339_local(at),
            status: d.verdict.as_str().to_owned(),
            gateway_rtt_ms: d.gateway_rtt.map(Rtt::as_ms),
            isp_rtt_ms: d.isp_rtt.map(Rtt::as_ms),
            targets_up: d.targets_up,
            targets_total: d.targets_total,
            dns_ok: d.dns_ok,
            http_ok: d.http_ok,
            loss_pct: d.loss_pct,
            detail: neutralise(&d.detail),
            internet_rtt_ms: d.median_rtt.map(Rtt::as_ms),
            internet_rtt_max_ms: d.max_rtt.map(Rtt::as_ms),
            targets_up_v4: d.targets_by_family[0].0,
            targets_total_v4: d.targets_by_family[0].1,
            targets_up_v6: d.targets_by_family[1].0,
            targets_total_v6: d.targets_by_family[1].1,
            internet_rtt_v4_ms: d.median_rtt_by_family[0].map(Rtt::as_ms),
            internet_rtt_v6_ms: d.median_rtt_by_family[1].map(Rtt::as_ms),
        }
    }
}

fn ms3<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!("{v:.3}")),
        None => s.serialize_none(),
    }
}

fn pct1<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!("{v:.1}")),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialises rows the way the files are written, header from the struct's field names.
    fn with_header<R: Serialize>(row: &R) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    fn diagnosis() -> Diagnosis {
        Diagnosis {
            verdict: crate::monitor::Verdict::Degraded,
            gateway_rtt: Some(Rtt(std::time::Duration::from_micros(612))),
            isp_rtt: None,
            targets_up: 2,
            targets_total: 3,
            dns_ok: Some(true),
            http_ok: None,
            loss_pct: Some(100.0 / 3.0),
            median_rtt: None,
            max_rtt: None,
            detail: "=1+1".into(),
            simulated: false,
            routers_proven: Vec::new(),
            families_proven: Vec::new(),
            targets_by_family: Default::default(),
            median_rtt_by_family: Default::default(),
            window_loss_pct: None,
            unverified_hops: Vec::new(),
        }
    }

    #[test]
    fn each_struct_names_its_header_and_rows_read_back() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let row = ConnectionRow::new(at, &diagnosis());
        let text = with_header(&row);
        let (head, body) = text.split_once('\n').unwrap();
        assert_eq!(head, ConnectionRow::HEADER.join(","));
        assert!(
            body.contains(",DEGRADED,0.612,,2,3,true,,33.3,'=1+1"),
            "{body}"
        );
        let back: ConnectionRow = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(back.gateway_rtt_ms, Some(0.612));
        assert_eq!(back.isp_rtt_ms, None);
        assert_eq!(back.dns_ok, Some(true));

        let rec = OutageRecord {
            start: at,
            end: at + chrono::Duration::seconds(449),
            cause: crate::monitor::Layer::Wan,
            observed: std::time::Duration::from_millis(449_400),
            detail: "gateway answers".into(),
            cause_changes: Vec::new(),
            gaps: Vec::new(),
            simulated: false,
            maintenance: true,
        };
        let text = with_header(&OutageRow::from(&rec));
        let (head, body) = text.split_once('\n').unwrap();
        assert_eq!(head, OutageRow::HEADER.join(","));
        assert!(
            body.contains(",449,WAN_DOWN,")
                && body.contains("gateway answers; during a maintenance window"),
            "{body}"
        );
    }
}
