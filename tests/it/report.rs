//! `report` on logs the test writes, with every figure worked out by hand;
//! the same figures in text and HTML; bad rows named and skipped; the HTML in
//! a real browser with the network off; and the daemon's own logs end to end.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, FixedOffset};
use serde_json::Value;

use crate::common::needs::Need;
use common::BIN;

/// Seconds as the page writes them (the same rule as the program's own).
fn human(s: f64) -> String {
    let s = s.round() as u64;
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let two = |a: u64, ua: &str, b: u64, ub: &str| {
        if b == 0 {
            format!("{a} {ua}")
        } else {
            format!("{a} {ua} {b} {ub}")
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => two(m, "min", s, "s"),
        (0, _, _) => two(h, "h", m, "min"),
        _ => two(d, "d", h, "h"),
    }
}

const CONN_HEADER: &str = "timestamp,status,gateway_rtt_ms,isp_rtt_ms,targets_up,targets_total,dns_ok,http_ok,loss_pct,detail,internet_rtt_ms,internet_rtt_max_ms";
const OUTAGE_HEADER: &str =
    "date,start_time,end_time,duration_seconds,cause,started_at,ended_at,detail,simulated";

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// Two days of 10 s checks (UTC), by hand:
/// - day 1 (Mon 2026-11-02): 00:00:00–23:59:50, gateway 1 ms, internet 10 ms, no loss,
///   with no checks 12:00:00–12:59:50 (a one-hour gap);
/// - day 2 (Tue 2026-11-03): 00:00:00–05:59:50, gateway 2 ms, internet 20 ms, 10 % loss,
///   DEGRADED 01:00:00–01:04:50 (30 checks).
///
/// Outages: WAN_DOWN day 1 03:00–03:10 (600 s); LAN_DOWN day 1 08:00–08:02 (120 s,
/// your side); ISP_DOWN day 1 19:00–19:05 (300 s, in the 18–23 peak); DNS_FAIL day 2
/// 02:00:00–02:01:40 in a maintenance window (100 s, services, counted and marked);
/// a simulated WAN_DOWN day 2 04:00:00 (30 s, left out).
fn fixture(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut conn = String::from(CONN_HEADER);
    conn.push('\n');
    let mut at = t("2026-11-02T00:00:00+00:00");
    let end = t("2026-11-03T06:00:00+00:00");
    while at < end {
        let gap = at >= t("2026-11-02T12:00:00+00:00") && at < t("2026-11-02T13:00:00+00:00");
        if !gap {
            let day2 = at >= t("2026-11-03T00:00:00+00:00");
            let degraded =
                at >= t("2026-11-03T01:00:00+00:00") && at < t("2026-11-03T01:05:00+00:00");
            let (gw, inet, loss) = if day2 {
                ("2.000", "20.000", "10.0")
            } else {
                ("1.000", "10.000", "0.0")
            };
            conn.push_str(&format!(
                "{},{},{gw},,3,3,true,true,{loss},detail,{inet},{inet}\n",
                at.to_rfc3339(),
                if degraded { "DEGRADED" } else { "OK" }
            ));
        }
        at += Duration::seconds(10);
    }
    std::fs::write(logs.join("connection_log.csv"), conn).unwrap();
    let outage = |start: &str, end: &str, secs: u32, cause: &str, detail: &str, sim: bool| {
        format!(
            "{},{},{},{secs},{cause},{start},{end},{detail},{sim}\n",
            &start[..10],
            &start[11..19],
            &end[11..19]
        )
    };
    let outages = [
        outage(
            "2026-11-02T03:00:00+00:00",
            "2026-11-02T03:10:00+00:00",
            600,
            "WAN_DOWN",
            "gateway answers",
            false,
        ),
        outage(
            "2026-11-02T08:00:00+00:00",
            "2026-11-02T08:02:00+00:00",
            120,
            "LAN_DOWN",
            "gateway silent",
            false,
        ),
        outage(
            "2026-11-02T19:00:00+00:00",
            "2026-11-02T19:05:00+00:00",
            300,
            "ISP_DOWN",
            "hop silent",
            false,
        ),
        outage(
            "2026-11-03T02:00:00+00:00",
            "2026-11-03T02:01:40+00:00",
            100,
            "DNS_FAIL",
            "dns failing; during a maintenance window (alerts held back)",
            false,
        ),
        outage(
            "2026-11-03T04:00:00+00:00",
            "2026-11-03T04:00:30+00:00",
            30,
            "WAN_DOWN",
            "simulated",
            true,
        ),
    ];
    std::fs::write(
        logs.join("outage_log.csv"),
        format!("{OUTAGE_HEADER}\n{}", outages.concat()),
    )
    .unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"10s\"\nlog_dir = \"{}\"\n[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n",
            logs.display()
        ),
    )
    .unwrap();
    cfg
}

fn report(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["report", "-c"])
        .arg(cfg)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(cfg: &Path) -> Value {
    let (code, out, err) = report(cfg, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn every_figure_matches_the_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&fixture(dir.path()));
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["period"]["from"], "2026-11-02T00:00:00+00:00");
    assert_eq!(v["period"]["to"], "2026-11-03T06:00:00+00:00");
    assert_eq!(v["interval_s"], 10.0);
    assert_eq!(v["checks_expected"], 10800);
    assert_eq!(v["checks_present"], 10440);
    // 86 400 + 21 600 s less the one-hour gap.
    assert_eq!(v["monitored_s"], 104_400.0);
    assert_eq!(v["gaps"].as_array().unwrap().len(), 1);
    assert_eq!(v["gaps"][0]["from"], "2026-11-02T12:00:00+00:00");
    assert_eq!(v["gaps"][0]["to"], "2026-11-02T13:00:00+00:00");
    assert_eq!(v["gaps"][0]["seconds"], 3600.0);
    // Every side: 600 + 120 + 300 + 100 (the maintenance one counts too).
    assert_eq!(v["downtime_s"], 1120.0);
    // 100 × (1 − 1 120 ÷ 104 400) = 98.927…
    assert_eq!(v["availability_pct"], 98.93);
    assert_eq!(v["maintenance_s"], 100.0);
    assert_eq!(v["degraded_s"], 300.0);
    let o = &v["outages"];
    assert_eq!(o["count"], 4);
    assert_eq!(o["total_s"], 1120.0);
    assert_eq!(o["mean_s"], 280.0);
    assert_eq!(o["median_s"], 210.0);
    assert_eq!(o["longest_s"], 600.0);
    // (104 400 − 1 120) ÷ 4.
    assert_eq!(o["mean_time_between_s"], 25_820.0);
    assert_eq!(o["by_cause"]["WAN_DOWN"]["count"], 1);
    assert_eq!(o["by_cause"]["WAN_DOWN"]["total_s"], 600.0);
    assert_eq!(o["by_cause"]["ISP_DOWN"]["total_s"], 300.0);
    assert_eq!(o["by_cause"]["LAN_DOWN"]["total_s"], 120.0);
    assert_eq!(o["by_cause"]["DNS_FAIL"]["total_s"], 100.0);
    let list = v["outage_list"].as_array().unwrap();
    assert_eq!(list.len(), 4, "the simulated one is left out");
    let sides: Vec<&str> = list.iter().map(|o| o["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["isp", "your_side", "isp", "services"]);
    assert_eq!(list[3]["maintenance"], true);
    assert_eq!(list[3]["duration_s"], 100.0);
    let mut hours = vec![0; 24];
    hours[3] = 1;
    hours[8] = 1;
    hours[19] = 1;
    hours[2] = 1;
    assert_eq!(v["starts_by_hour"], serde_json::json!(hours));
    assert_eq!(
        v["starts_by_weekday"],
        serde_json::json!([3, 1, 0, 0, 0, 0, 0])
    );
    // 8 280 checks of 1 ms, 2 160 of 2 ms: the 95th (rank 9 918) is 2 ms.
    let l = &v["latency"];
    assert_eq!(
        l["gateway_ms"],
        serde_json::json!({"p50": 1.0, "p95": 2.0, "p99": 2.0})
    );
    assert_eq!(
        l["isp_ms"],
        serde_json::json!({"p50": null, "p95": null, "p99": null})
    );
    assert_eq!(l["internet_ms"]["p50"], 10.0);
    // (8 280 × 0 + 2 160 × 10) ÷ 10 440 = 2.0689…
    assert_eq!(l["loss_pct"], 2.07);
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2026-11-02");
    assert_eq!(days[0]["checks"], 8280);
    assert_eq!(days[0]["monitored_s"], 82_800.0);
    assert_eq!(days[0]["downtime_s"], 1020.0);
    // 100 × (1 − 1 020 ÷ 82 800) = 98.768…; against the ISP 900 s: 98.913…
    assert_eq!(days[0]["availability_pct"], 98.77);
    assert_eq!(days[0]["sides"]["isp"]["availability_pct"], 98.91);
    assert_eq!(days[0]["sides"]["your_side"]["downtime_s"], 120.0);
    assert_eq!(days[1]["monitored_s"], 21_600.0);
    // 100 × (1 − 100 ÷ 21 600) = 99.537…
    assert_eq!(days[1]["availability_pct"], 99.54);
    assert_eq!(days[1]["sides"]["isp"]["availability_pct"], 100.0);
    assert_eq!(days[1]["sides"]["services"]["downtime_s"], 100.0);
    assert_eq!(days[1]["degraded_s"], 300.0);
    assert_eq!(days[1]["latency"]["loss_pct"], 10.0);
    let p = &v["peak"];
    assert_eq!(p["hours"], "18:00-23:00");
    assert_eq!(p["peak"]["monitored_s"], 18_000.0);
    assert_eq!(p["peak"]["downtime_s"], 300.0);
    assert_eq!(p["peak"]["availability_pct"], 98.33);
    assert_eq!(p["peak"]["sides"]["isp"]["availability_pct"], 98.33);
    assert_eq!(p["peak"]["loss_pct"], 0.0);
    assert_eq!(p["off_peak"]["monitored_s"], 86_400.0);
    // 100 × (1 − 820 ÷ 86 400) = 99.050…; against the ISP 600 s: 99.305…
    assert_eq!(p["off_peak"]["availability_pct"], 99.05);
    assert_eq!(p["off_peak"]["sides"]["isp"]["availability_pct"], 99.31);
    assert_eq!(p["off_peak"]["loss_pct"], 2.5);
    assert_eq!(p["off_peak"]["internet_ms"]["p95"], 20.0);
    assert!(
        v["warnings"].as_array().unwrap().is_empty(),
        "{}",
        v["warnings"]
    );

    // A period: only the second day; the maintenance outage is in it, and counted.
    let (_, out, _) = report(
        &dir.path().join("config.toml"),
        &[
            "--format",
            "json",
            "--since",
            "2026-11-03T00:00:00+00:00",
            "--until",
            "2026-11-04T00:00:00+00:00",
        ],
    );
    let day2: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(day2["checks_present"], 2160);
    assert_eq!(day2["downtime_s"], 100.0);
    assert_eq!(day2["maintenance_s"], 100.0);
    assert_eq!(day2["sides"]["services"]["count"], 1);
    assert_eq!(day2["sides"]["isp"]["count"], 0);
}

/// The headline is the figure against the ISP, and says so: the LAN outage
/// (your side) and the DNS one (services) are not in it, and "beyond your
/// router" counts exactly the ISP's outages.
fn the_isp_figure_leaves_out_your_side_and_the_services() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&fixture(dir.path()));
    let s = &v["sides"];
    assert_eq!(
        s["isp"]["causes"],
        serde_json::json!(["ISP_DOWN", "WAN_DOWN", "IPV4_DOWN", "IPV6_DOWN"])
    );
    assert_eq!(s["isp"]["count"], 2);
    assert_eq!(s["isp"]["downtime_s"], 900.0, "WAN 600 + ISP 300, no LAN");
    // 100 × (1 − 900 ÷ 104 400) = 99.137…
    assert_eq!(s["isp"]["availability_pct"], 99.14);
    assert_eq!(s["your_side"]["causes"], serde_json::json!(["LAN_DOWN"]));
    assert_eq!(s["your_side"]["count"], 1);
    assert_eq!(s["your_side"]["downtime_s"], 120.0);
    // 100 × (1 − 120 ÷ 104 400) = 99.885…
    assert_eq!(s["your_side"]["availability_pct"], 99.89);
    assert_eq!(s["services"]["count"], 1);
    assert_eq!(s["services"]["downtime_s"], 100.0);
    assert_eq!(s["services"]["availability_pct"], 99.9);
    assert_eq!(
        v["summary"],
        "Against the ISP, the connection was 99.14 % available from Monday 2 November 2026, \
         00:00 to Tuesday 3 November 2026, 06:00 (1 d 5 h monitored): 2 outages beyond your \
         router for 15 min in total. Your side (LAN): 1 outage for 2 min. Services (DNS, \
         HTTP): 1 outage for 1 min 40 s. Over all sides: 98.93 % available. 1 outage fell in \
         a maintenance window; it is counted."
    );
    let (_, text, _) = report(&dir.path().join("config.toml"), &[]);
    assert!(
        text_figure(&text, "Availability against the ISP").starts_with("99.14 %"),
        "the first figure:\n{text}"
    );
    let first = text
        .lines()
        .find(|l| l.starts_with("Availability"))
        .unwrap();
    assert!(first.starts_with("Availability against the ISP"), "{text}");
    assert!(
        text.contains("DNS_FAIL (services)\n    in a maintenance window: counted, and marked\n"),
        "{text}"
    );
}

/// The period is the time the checks stand for, whatever --since says: ten
/// minutes of logs under `--since 30d` is ten minutes, not thirty days.
fn the_period_is_the_monitored_span_within_since_and_until() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let (code, out, err) = report(
        &cfg,
        &[
            "--format",
            "json",
            "--since",
            "2026-10-01",
            "--until",
            "2026-11-02T00:10:00+00:00",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["period"]["from"], "2026-11-02T00:00:00+00:00");
    assert_eq!(v["period"]["to"], "2026-11-02T00:10:00+00:00");
    assert_eq!(v["monitored_s"], 600.0);
    assert_eq!(v["checks_present"], 60);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("on Monday 2 November 2026 from 00:00 to 00:10 (10 min monitored)"),
        "{}",
        v["summary"]
    );
}

/// The value after `label` on its line of the text report.
fn text_figure<'a>(text: &'a str, label: &str) -> &'a str {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("{label} in:\n{text}"));
    line[label.len()..].trim()
}

/// The exact value (`data-value`) of the figure `data-figure="name"`, and
/// what the page shows of it.
fn html_figure<'a>(html: &'a str, name: &str) -> (&'a str, &'a str) {
    let at = html
        .find(&format!("data-figure=\"{name}\""))
        .unwrap_or_else(|| panic!("{name}"));
    let rest = &html[at..];
    let value = rest.split("data-value=\"").nth(1).unwrap();
    let value = &value[..value.find('"').unwrap()];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    (value, &rest[start..start + end])
}

fn text_and_html_say_what_the_json_says() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let v = json(&cfg);
    let (code, text, _) = report(&cfg, &[]);
    assert_eq!(code, 0);
    assert!(
        text.lines().all(|l| l.chars().count() <= 100),
        "fits 100 columns:\n{text}"
    );
    assert_eq!(
        text_figure(&text, "Availability, all sides"),
        format!("{:.2} %", v["availability_pct"].as_f64().unwrap())
    );
    assert_eq!(
        text_figure(&text, "Outages"),
        v["outages"]["count"].to_string()
    );
    assert_eq!(
        text_figure(&text, "Checks expected / present"),
        "10800 / 10440"
    );
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words(&text).contains(&words(v["summary"].as_str().unwrap())));
    let out = dir.path().join("r.html");
    let (code, _, _) = report(&cfg, &["--format", "html", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let html = std::fs::read_to_string(&out).unwrap();
    for name in [
        "availability_pct",
        "downtime_s",
        "maintenance_s",
        "monitored_s",
        "checks_present",
        "degraded_s",
    ] {
        let (value, _) = html_figure(&html, name);
        assert_eq!(
            value.parse::<f64>().unwrap(),
            v[name].as_f64().unwrap(),
            "{name}"
        );
    }
    // Shown for people: a percentage, durations in words.
    assert_eq!(html_figure(&html, "availability_pct").1, "98.93 %");
    assert_eq!(html_figure(&html, "downtime_s").1, "18 min 40 s");
    assert_eq!(html_figure(&html, "monitored_s").1, "1 d 5 h");
    assert_eq!(html_figure(&html, "outages.count").0, "4");
    assert_eq!(html_figure(&html, "outages.by_cause.WAN_DOWN.count").0, "1");
    assert_eq!(
        html_figure(&html, "sides.isp.availability_pct").0,
        v["sides"]["isp"]["availability_pct"].to_string()
    );
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );

    // The checks of the period as CSV, for the ISP's own tools.
    let (code, csv, _) = report(
        &cfg,
        &[
            "--format",
            "csv",
            "--since",
            "2026-11-03T01:00:00+00:00",
            "--until",
            "2026-11-03T01:01:00+00:00",
        ],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,verdict,gateway_rtt_ms,isp_rtt_ms,internet_rtt_ms,internet_rtt_max_ms,loss_pct"
    );
    assert_eq!(lines.len(), 7, "{csv}");
    assert_eq!(
        lines[1],
        "2026-11-03T01:00:00+00:00,DEGRADED,2.000,,20.000,20.000,10.0"
    );
}

fn bad_rows_are_named_and_the_rest_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let clean = json(&cfg);
    let path = dir.path().join("logs/connection_log.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // Line 2 + 2160 is the check at 06:00:00 on day 1: a row with a bad number.
    let bad_at = "2026-11-02T06:00:00+00:00,OK,1.000,";
    let line_of_bad = text.lines().position(|l| l.starts_with(bad_at)).unwrap() + 1;
    let text = text.replacen(bad_at, "2026-11-02T06:00:00+00:00,OK,one ms,", 1)
        + "2026-11-03T06:00:00+00:00,OK,1.0";
    let total_lines = text.lines().count();
    std::fs::write(&path, text).unwrap();
    let v = json(&cfg);
    let warnings: Vec<String> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("connection_log.csv:{line_of_bad}: row skipped")),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains(&format!("connection_log.csv:{total_lines}: row skipped")),
        "the torn last line: {warnings:?}"
    );
    // The same figures, less that one check.
    assert_eq!(
        v["checks_present"],
        clean["checks_present"].as_u64().unwrap() - 1
    );
    for k in [
        "monitored_s",
        "availability_pct",
        "downtime_s",
        "gaps",
        "outages",
        "latency",
        "peak",
    ] {
        assert_eq!(v[k], clean[k], "{k}");
    }
    // A missing file is named too, and the report still made.
    std::fs::remove_file(dir.path().join("logs/outage_log.csv")).unwrap();
    let v = json(&cfg);
    assert!(
        v["warnings"]
            .to_string()
            .contains("outage_log.csv: not found"),
        "{}",
        v["warnings"]
    );
    assert_eq!(v["outages"]["count"], 0);
}

/// logrotate's siblings, oldest last by name (`NAME.2.gz`, `NAME.1`, `NAME`),
/// are read oldest first by their content: the same figures as one file.
fn rotated_and_compressed_logs_give_the_figures_of_one_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let whole = json(&cfg);
    let path = dir.path().join("logs/connection_log.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let third = rows.len() / 3;
    let part = |rows: &[&str]| format!("{CONN_HEADER}\n{}\n", rows.join("\n"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(part(&rows[..third]).as_bytes()).unwrap();
    std::fs::write(
        dir.path().join("logs/connection_log.csv.2.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("logs/connection_log.csv.1"),
        part(&rows[third..2 * third]),
    )
    .unwrap();
    std::fs::write(&path, part(&rows[2 * third..])).unwrap();
    let rotated = json(&cfg);
    for k in [
        "period",
        "checks_expected",
        "checks_present",
        "monitored_s",
        "gaps",
        "availability_pct",
        "degraded_s",
        "latency",
        "peak",
        "days",
        "warnings",
    ] {
        assert_eq!(rotated[k], whole[k], "{k}");
    }
    // The CSV export is in time order too.
    let (code, csv, err) = report(&cfg, &["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let stamps: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(stamps.len(), rows.len());
    assert!(stamps.windows(2).all(|w| t(w[0]) < t(w[1])), "out of order");
}

/// A log from before the internet RTT columns is read too: every figure but
/// the internet latency, which it never had.
fn a_log_with_the_older_header_is_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let whole = json(&cfg);
    let path = dir.path().join("logs/connection_log.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let older: String = text
        .lines()
        .map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_owned() + "\n")
        .collect();
    assert!(older.starts_with("timestamp,status,gateway_rtt_ms,isp_rtt_ms,targets_up,targets_total,dns_ok,http_ok,loss_pct,detail\n"));
    std::fs::write(&path, older).unwrap();
    let v = json(&cfg);
    for k in [
        "period",
        "checks_present",
        "monitored_s",
        "gaps",
        "availability_pct",
        "degraded_s",
        "warnings",
    ] {
        assert_eq!(v[k], whole[k], "{k}");
    }
    assert_eq!(v["latency"]["gateway_ms"], whole["latency"]["gateway_ms"]);
    assert_eq!(v["latency"]["loss_pct"], whole["latency"]["loss_pct"]);
    assert_eq!(v["latency"]["internet_ms"]["p50"], Value::Null);
}

fn a_bad_period_is_a_usage_error_and_an_empty_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let (code, _, err) = report(&cfg, &["--since", "2026-11-03", "--until", "2026-11-02"]);
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("--since") && err.contains("must be before --until"),
        "{err}"
    );
    let (code, _, err) = report(&cfg, &["--since", "last tuesday"]);
    assert_eq!(code, 64);
    assert!(err.contains("is not a date"), "{err}");
    // A span longer than the calendar is a usage error, not a crash.
    let (code, _, err) = report(&cfg, &["--since", "300000y"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("300000y"), "{err}");
    let (code, out, _) = report(&cfg, &["--since", "2030-01-01"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("No check was recorded in this period"),
        "{out}"
    );
}

/// A week of one-minute checks in UTC+01:00, by day: loss 0, 3, 8, 12, 25,
/// 60 and 97 %; a four-hour monitoring gap on day 3; outages of every side
/// (one in a maintenance window, one with a long detail and a path table).
fn week_fixture(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(logs.join("paths")).unwrap();
    let start = t("2026-11-02T00:00:00+01:00");
    let gap = (
        t("2026-11-04T10:00:00+01:00"),
        t("2026-11-04T14:00:00+01:00"),
    );
    let loss = [0.0, 3.0, 8.0, 12.0, 25.0, 60.0, 97.0];
    let mut conn = format!("{CONN_HEADER}\n");
    let mut at = start;
    while at < start + Duration::days(7) {
        if at < gap.0 || at >= gap.1 {
            let day = ((at - start).num_days()) as usize;
            let rtt = 12.0 + day as f64 * 3.0 + (at.timestamp() % 7) as f64;
            conn.push_str(&format!(
                "{},OK,0.500,4.000,3,3,true,true,{:.1},fine,{rtt:.3},{:.3}\n",
                at.to_rfc3339(),
                loss[day],
                rtt * 2.0
            ));
        }
        at += Duration::minutes(1);
    }
    std::fs::write(logs.join("connection_log.csv"), conn).unwrap();
    let outage = |s: &str, e: &str, cause: &str, detail: &str| {
        format!(
            "{},{},{},0,{cause},{s},{e},\"{detail}\",false\n",
            &s[..10],
            &s[11..19],
            &e[11..19]
        )
    };
    let long = "gateway 192.168.1.1 answers; hop 100.64.0.1 answers; 0/3 targets (one: timeout, two: timeout, three: timeout); path to one: last answer hop 3 100.64.2.2, silent from hop 4; see https://status.example.invalid/incidents/2026-11-06-a-very-long-incident-identifier-that-does-not-break";
    let rows = [
        outage(
            "2026-11-02T03:00:00+01:00",
            "2026-11-02T03:45:00+01:00",
            "ISP_DOWN",
            "hop 100.64.0.1 silent",
        ),
        outage(
            "2026-11-03T08:00:00+01:00",
            "2026-11-03T08:12:00+01:00",
            "LAN_DOWN",
            "gateway 192.168.1.1 silent",
        ),
        outage(
            "2026-11-05T21:00:00+01:00",
            "2026-11-05T21:05:00+01:00",
            "DNS_FAIL",
            "dns failing; during a maintenance window (alerts held back)",
        ),
        outage(
            "2026-11-06T19:30:00+01:00",
            "2026-11-06T21:00:00+01:00",
            "WAN_DOWN",
            long,
        ),
        outage(
            "2026-11-07T10:00:00+01:00",
            "2026-11-07T10:20:00+01:00",
            "HTTP_FAIL",
            "http failing: web 503",
        ),
    ];
    std::fs::write(
        logs.join("outage_log.csv"),
        format!("{OUTAGE_HEADER}\n{}", rows.concat()),
    )
    .unwrap();
    std::fs::write(
        logs.join("paths/one.log"),
        "=== 2026-11-06T19:30:05+01:00 outage WAN_DOWN: one 198.51.100.1, not reached\n\
         HOST                           Loss%   Snt   Last    Avg   Best   Wrst  StDev\n  \
         1. 192.168.1.1                  0.0%     3    0.2    0.2    0.2    0.4    0.1\n  \
         2. 100.64.0.1                   0.0%     3    1.1    1.2    1.1    1.3    0.1\n  \
         3. ???                        100.0%     3    0.0    0.0    0.0    0.0    0.0\n",
    )
    .unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"60s\"\nlog_dir = \"{}\"\n[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n",
            logs.display()
        ),
    )
    .unwrap();
    cfg
}

/// The HTML report of a week with a gap and outages of every side, in a real
/// Chromium at 390 px: nothing runs off the side, every outage's start,
/// duration and cause is shown; printed to PDF: A4 pages, each with the host
/// and the period, and every chart of the page in it.
fn the_html_report_fits_a_phone_and_prints_on_a4() {
    let browser = common::report::browser();
    let dir = tempfile::tempdir().unwrap();
    let cfg = week_fixture(dir.path());
    let v = json(&cfg);
    assert_eq!(v["gaps"].as_array().unwrap().len(), 1, "{}", v["gaps"]);
    let page = dir.path().join("report.html");
    let (code, _, err) = report(&cfg, &["--format", "html", "-o", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let url = format!("file://{}", page.display());

    let phone = common::report::tab(&browser, 390, 844, true);
    common::report::open(&phone, &url);
    common::report::screenshot(&phone, &dir.path().join("phone.png"));
    common::report::assert_fits(&phone, "report at 390 px");
    let list = v["outage_list"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    for (cell, want) in [
        ("#outages td.start", "start"),
        ("#outages td.duration", "duration_s"),
        ("#outages td.cause", "cause"),
    ] {
        let cells = common::report::shown(&phone, cell);
        assert_eq!(cells.len(), list.len(), "{cell}");
        for ((text, shown), o) in cells.iter().zip(list) {
            assert!(shown, "{cell} {text:?} is not shown at 390 px");
            let expected = match want {
                "start" => o["start"].as_str().unwrap()[..19].replace('T', " "),
                "duration_s" => human(o["duration_s"].as_f64().unwrap()),
                _ => o["cause"].as_str().unwrap().to_owned(),
            };
            assert!(
                text.replace('\u{a0}', " ").contains(&expected),
                "{text:?} against {expected:?}"
            );
        }
    }
    let charts = common::report::eval(
        &phone,
        "JSON.stringify(document.querySelectorAll('svg.chart').length)",
    );
    assert_eq!(charts, 4, "timeline, days, latency, hours");
    // No raw seconds: no count of seconds past a minute, no fraction of one, no "(s)".
    let raw = common::report::eval(
        &phone,
        r"JSON.stringify(document.body.innerText.match(/(\b\d{3,}|\d\.\d+)\s?s\b|\(s\)/g))",
    );
    assert_eq!(raw, Value::Null, "raw seconds on the page: {raw}");
    assert!(!html.contains("<script"), "no script");

    let desk = common::report::tab(&browser, 1280, 900, false);
    common::report::open(&desk, &url);
    common::report::assert_fits(&desk, "report at 1280 px");

    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, common::report::pdf(&desk)).unwrap();
    let pages = common::report::pdf_pages(&pdf);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    let host = v["host"].as_str().unwrap();
    for (i, ((w, h), text)) in pages.iter().enumerate() {
        assert!(
            (w - 595.28).abs() < 1.0 && (h - 841.89).abs() < 1.0,
            "page {} is {w} x {h} pt, not A4",
            i + 1
        );
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(&format!("Connectivity report · {host}")),
            "page {}: no host: {text}",
            i + 1
        );
        assert!(
            text.contains("2 Nov 2026 00:00 – 9 Nov 2026 00:00"),
            "page {}: no period: {text}",
            i + 1
        );
    }
    let printed: String = pages
        .iter()
        .map(|(_, t)| t.split_whitespace().collect::<Vec<_>>().join(" ") + " ")
        .collect();
    let headings = common::report::eval(
        &desk,
        "JSON.stringify([...document.querySelectorAll('svg.chart')].map(s => s.closest('section').querySelector('h2').textContent))",
    );
    let headings: Vec<&str> = headings
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(headings.len(), 4);
    for h in headings {
        assert!(
            printed.contains(h),
            "the chart under {h:?} is not in the PDF"
        );
    }
}

/// A web server on loopback that answers every request with the status set
/// last: the HTTP check of a live daemon fails and recovers at the test's word.
struct SwitchedWeb {
    url: String,
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
}

impl SwitchedWeb {
    fn start() -> SwitchedWeb {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(200));
        let answer = std::sync::Arc::clone(&status);
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let code = answer.load(std::sync::atomic::Ordering::SeqCst);
                let _ = write!(
                    s,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        SwitchedWeb { url, status }
    }

    fn set(&self, code: u16) {
        self.status.store(code, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The status page of a live daemon during an outage, after an earlier one,
/// in a real Chromium at 390 px: nothing runs off the side, no column is
/// hidden, and the open outage's and the last outage's start, duration and
/// cause are all shown.
fn the_status_page_fits_a_phone_during_an_outage() {
    let browser = common::report::browser();
    let dir = tempfile::tempdir().unwrap();
    let web = SwitchedWeb::start();
    let port = common::free_port();
    let cfg = common::loopback_config(
        dir.path(),
        &format!(
            "[[http]]\nname = \"web\"\nurl = \"{}\"\n[serve]\nlisten = \"127.0.0.1:{port}\"\n",
            web.url
        ),
    );
    let step = std::time::Duration::from_secs(20);
    let d = common::Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    );
    // OK, at once or after a first HTTP check that the starting server (or a
    // busy machine) let time out at this 300 ms interval.
    d.wait_for("→ OK", step);
    web.set(503);
    d.wait_for("outage started", step);
    web.set(200);
    d.wait_for("outage ended", step);
    web.set(503);
    d.wait_for("outage started", step);

    let tab = common::report::tab(&browser, 390, 844, true);
    common::report::open(&tab, &format!("http://127.0.0.1:{port}/"));
    let ready =
        "JSON.stringify(getComputedStyle(document.getElementById('outage')).display !== 'none' \
                 && document.querySelectorAll('#outages tr').length > 0)";
    let deadline = std::time::Instant::now() + step;
    while common::report::eval(&tab, ready) != true {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never showed the outages"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    common::report::screenshot(&tab, &dir.path().join("status.png"));
    common::report::assert_fits(&tab, "status page at 390 px");
    for selector in [
        "#outage-cause",
        "#outage-start",
        "#outage-duration",
        "#outages td.start",
        "#outages td.cause",
        "#outages td.duration",
    ] {
        let cells = common::report::shown(&tab, selector);
        assert!(!cells.is_empty(), "{selector}");
        for (text, shown) in cells {
            assert!(
                shown && !text.is_empty(),
                "{selector} {text:?} is not shown at 390 px"
            );
        }
    }
    assert_eq!(
        common::report::eval(
            &tab,
            "JSON.stringify(document.getElementById('outage-cause').textContent)"
        ),
        "HTTP_FAIL"
    );
    let hidden = common::report::eval(
        &tab,
        "JSON.stringify([...document.querySelectorAll('tbody td')].filter(td => getComputedStyle(td).display === 'none').length)",
    );
    assert_eq!(hidden, 0, "no column is hidden");
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

/// A folder with no connection log is an error that says so, not a page of
/// empty tables.
fn a_log_dir_without_logs_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let empty = dir.path().join("typo");
    std::fs::create_dir(&empty).unwrap();
    for args in [
        vec!["--log-dir", empty.to_str().unwrap()],
        vec!["--log-dir", empty.to_str().unwrap(), "--format", "csv"],
        vec!["--log-dir", "/nonexistent/folder"],
    ] {
        let (code, out, err) = report(&cfg, &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains(&format!("no connection_log.csv in {}", args[1])),
            "{err}"
        );
    }
}

/// A real SMTP server (aiosmtpd) receives `report --send`: the text report
/// as the body and the HTML page attached; without --since it covers the
/// last 7 days of logs that reach back ten.
fn report_send_mails_the_text_with_the_html_attached() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let now = chrono::Local::now().fixed_offset();
    let mut conn = format!("{CONN_HEADER}\n");
    let mut at = now - Duration::days(10);
    while at < now {
        conn.push_str(&format!(
            "{},OK,1.000,,3,3,true,true,0.0,fine,10.000,12.000\n",
            at.to_rfc3339()
        ));
        at += Duration::minutes(10);
    }
    std::fs::write(logs.join("connection_log.csv"), conn).unwrap();
    let (s, e) = (
        now - Duration::days(1),
        now - Duration::days(1) + Duration::minutes(20),
    );
    std::fs::write(
        logs.join("outage_log.csv"),
        format!(
            "{OUTAGE_HEADER}\n{},{},{},1200,WAN_DOWN,{},{},gateway answers,false\n",
            s.format("%Y-%m-%d"),
            s.format("%H:%M:%S"),
            e.format("%H:%M:%S"),
            s.to_rfc3339(),
            e.to_rfc3339()
        ),
    )
    .unwrap();
    let port = common::free_port();
    let smtp = common::smtp_server(port, "plain");
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"10m\"\nlog_dir = \"{}\"\n[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n\
             [notify.email]\nserver = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"monitor@example.invalid\"\nto = [\"me@example.invalid\"]\n",
            logs.display()
        ),
    )
    .unwrap();
    let (code, out, err) = report(&cfg, &["--send"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("was mailed to me@example.invalid"), "{out}");
    let line = smtp.wait_for("\"data\"", std::time::Duration::from_secs(20));
    let mail: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(mail["to"], serde_json::json!(["me@example.invalid"]));
    let parts = mime_parts(mail["data"].as_str().unwrap());
    assert_eq!(parts.len(), 2, "{parts:#?}");
    let (kind, name, text) = &parts[0];
    assert_eq!((kind.as_str(), name.as_str()), ("text/plain", ""));
    assert!(text.starts_with("CONNECTIVITY REPORT"), "{text}");
    assert!(
        text.contains("1 outage beyond your router for 20 min"),
        "{text}"
    );
    let (kind, name, html) = &parts[1];
    assert_eq!(kind, "text/html");
    assert!(
        name.starts_with("connectivity-report-") && name.ends_with(".html"),
        "{name}"
    );
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("svg"),
        "{html}"
    );
    // The last 7 days: the first check counted is within one interval of a week ago.
    let week_ago = (now - Duration::days(7)).format("%-d %b %Y").to_string();
    assert!(
        text.contains(&format!("Period                        {week_ago}")),
        "{text}"
    );
    let subject = mail["data"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap()
        .to_owned();
    assert!(subject.contains("against the ISP"), "{subject}");

    // Without [notify.email] there is nothing to send with: said, exit 1.
    let plain = fixture(dir.path());
    let (code, _, err) = report(&plain, &["--send"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("report --send mails through [notify.email]"),
        "{err}"
    );
}

/// The parts of a MIME mail, each (content type, attachment file name,
/// decoded text), by Python's own mail parser.
fn mime_parts(data: &str) -> Vec<(String, String, String)> {
    let script = "import email, json, sys\n\
        m = email.message_from_string(sys.stdin.read())\n\
        print(json.dumps([[p.get_content_type(), p.get_filename() or '', p.get_payload(decode=True).decode()] for p in m.walk() if not p.is_multipart()]))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    v
}

/// `report` with `args`, which must finish within `limit`.
fn report_within(cfg: &Path, args: &[&str], limit: std::time::Duration) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(["report", "-c"])
        .arg(cfg)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("report did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Copies (`*.bak`) are not rotated logs, and a FIFO with a rotated log's
/// name is not read (it would wait for ever): the same report, at once, with
/// the FIFOs named. A logrotate `dateext` copy is read like a numbered one.
fn bak_copies_and_a_fifo_change_nothing_and_stop_nothing() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let clean = json(&cfg);
    let logs = dir.path().join("logs");
    let conn = logs.join("connection_log.csv");
    let text = std::fs::read_to_string(&conn).unwrap();
    for copy in ["connection_log.csv.bak", "connection_log.csv.1.bak"] {
        std::fs::write(logs.join(copy), &text).unwrap();
    }
    std::fs::copy(logs.join("outage_log.csv"), logs.join("outage_log.csv.bak")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let third = rows.len() / 3;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{CONN_HEADER}\n{}\n", rows[..third].join("\n")).as_bytes())
        .unwrap();
    std::fs::write(
        logs.join("connection_log.csv-20261102.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::write(
        &conn,
        format!("{CONN_HEADER}\n{}\n", rows[third..].join("\n")),
    )
    .unwrap();
    for fifo in ["connection_log.csv.3", "outage_log.csv.1"] {
        let made = Command::new("mkfifo")
            .arg(logs.join(fifo))
            .status()
            .unwrap();
        assert!(made.success());
    }
    let (code, out, err) = report_within(
        &cfg,
        &["--format", "json"],
        std::time::Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
    let mut v: Value = serde_json::from_str(&out).unwrap();
    let warnings = v["warnings"].take();
    let names: Vec<String> = ["connection_log.csv.3", "outage_log.csv.1"]
        .iter()
        .map(|f| format!("{}: not a regular file: not read", logs.join(f).display()))
        .collect();
    assert_eq!(warnings, serde_json::json!(names));
    // The files read differ (the log was split in two), and no copy is among them.
    let read: Vec<Value> = v["files_read"]
        .take()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].clone())
        .collect();
    assert_eq!(
        read,
        [
            "connection_log.csv-20261102.gz",
            "connection_log.csv",
            "outage_log.csv"
        ]
    );
    let mut clean = clean;
    clean["warnings"].take();
    clean["files_read"].take();
    assert_eq!(v, clean);
}

/// An outage's time comes from its start and end, never from
/// `duration_seconds`; `simulated` from its column, never from the words of
/// the detail; a row that repeats or overlaps another is named and its time
/// counted once; rows that end before they start or whose time does not
/// parse are named with their line and not counted.
fn outage_rows_are_checked_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let log = dir.path().join("logs/outage_log.csv");
    let row = |start: &str, end: &str, secs: u64, cause: &str, detail: &str| {
        format!("2026-11-02,00:00:00,00:00:00,{secs},{cause},{start},{end},{detail},false\n")
    };
    let day = |hms: &str| format!("2026-11-02T{hms}+00:00");
    let extra = [
        // Line 7: 60 s, whatever duration_seconds says; "simulated" is a target's name.
        row(
            &day("05:00:00"),
            &day("05:01:00"),
            999_999_999,
            "WAN_DOWN",
            "path to simulated-host: silent",
        ),
        // Line 8: the WAN_DOWN row of line 2 again.
        row(
            &day("03:00:00"),
            &day("03:10:00"),
            600,
            "WAN_DOWN",
            "gateway answers",
        ),
        // Line 9: 03:05-03:15, half of it inside line 2's outage.
        row(
            &day("03:05:00"),
            &day("03:15:00"),
            600,
            "ISP_DOWN",
            "hop silent",
        ),
        // Line 10: ends before it starts.
        row(&day("06:00:00"), &day("05:59:00"), 60, "WAN_DOWN", "x"),
        // Line 11: a torn ended_at.
        row(&day("07:00:00"), "2026-11-02T07:0", 60, "WAN_DOWN", "x"),
    ];
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&extra.concat());
    std::fs::write(&log, text).unwrap();
    let v = json(&cfg);
    let w: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let shown = log.display().to_string();
    assert_eq!(w.len(), 4, "{w:#?}");
    assert_eq!(
        w[0],
        format!(
            "{shown}:10: row skipped: it ends ({}) before it starts ({})",
            day("05:59:00"),
            day("06:00:00")
        )
    );
    assert!(
        w[1].starts_with(&format!(
            "{shown}:11: row skipped: ended_at \"2026-11-02T07:0\" is not an RFC 3339 time"
        )),
        "{w:#?}"
    );
    assert_eq!(
        w[2],
        format!(
            "outage_log.csv:8: the WAN_DOWN outage from {} to {} lies within the outage of outage_log.csv:2: not counted a second time",
            day("03:00:00"),
            day("03:10:00")
        )
    );
    assert_eq!(
        w[3],
        format!(
            "outage_log.csv:9: the ISP_DOWN outage from {} to {} overlaps the outage of outage_log.csv:2: their 300 s in common are counted once",
            day("03:05:00"),
            day("03:15:00")
        )
    );
    // Against the ISP: 600 + 300 (19:00) + 60 (05:00) + 300 (03:10-03:15).
    assert_eq!(v["sides"]["isp"]["count"], 4);
    assert_eq!(v["sides"]["isp"]["downtime_s"], 1260.0);
    assert_eq!(v["downtime_s"], 1480.0);
    let list = v["outage_list"].as_array().unwrap();
    let at_five = list.iter().find(|o| o["start"] == day("05:00:00")).unwrap();
    assert_eq!(at_five["duration_s"], 60.0);
    let overlapping = list.iter().find(|o| o["start"] == day("03:05:00")).unwrap();
    assert_eq!(overlapping["duration_s"], 300.0);
    assert_eq!(list.len(), 6, "the repeated row is listed once");
}

/// Every row skipped is counted; the first of each file are named.
fn every_skipped_row_is_counted_with_its_first_examples() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let conn = dir.path().join("logs/connection_log.csv");
    let text = std::fs::read_to_string(&conn).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for i in 0..7 {
        lines[100 + i * 10] = "garbage".into();
    }
    std::fs::write(&conn, lines.join("\n") + "\n").unwrap();
    let v = json(&cfg);
    let w = v["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 6, "{w:#?}");
    for (i, w) in w.iter().take(5).enumerate() {
        let want = format!("connection_log.csv:{}: row skipped", 101 + i * 10);
        assert!(w.as_str().unwrap().contains(&want), "{w}");
    }
    assert!(
        w[5].as_str()
            .unwrap()
            .ends_with("connection_log.csv: 7 rows skipped in all, the first 5 named above"),
        "{}",
        w[5]
    );
    assert_eq!(v["checks_present"], 10440 - 7);
}

/// One field of 256 MiB behind a small `.gz` is skipped and named, and the
/// report's memory stays bounded (it held three times the field before).
fn a_huge_field_is_skipped_in_bounded_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let logs = dir.path().join("logs");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(logs.join("outage_log.csv.1.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    write!(gz, "{OUTAGE_HEADER}\n2026-11-01,00:00:00,00:00:00,1,WAN_DOWN,2026-11-01T00:00:00+00:00,2026-11-01T00:00:01+00:00,\"").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        gz.write_all(&chunk).unwrap();
    }
    gz.write_all(b"\",false\n").unwrap();
    gz.finish().unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); sys.stdout.write(r.stdout.decode()); sys.stderr.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))")
        .arg(BIN)
        .args(["report", "--format", "json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let max_rss_kib: u64 = String::from_utf8_lossy(&out.stderr).trim().parse().unwrap();
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .ends_with("outage_log.csv.1.gz:2: row skipped: longer than 1048576 bytes"),
        "{}",
        v["warnings"]
    );
    assert!(max_rss_kib < 64 * 1024, "peak RSS {max_rss_kib} KiB");
    assert_eq!(v["outages"]["count"], 4, "the rest is read");
}

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is missing (apt-get install chromium)")
}

/// Headless Chromium with the network off; `args` say what to do with `file`.
fn headless(browser: &str, profile: &Path, file: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args(common::CHROMIUM_HEADLESS)
        .args([
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap()
}

fn the_html_report_draws_its_charts_in_a_real_browser_offline() {
    let browser = chromium();
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let page = dir.path().join("report.html");
    let (code, _, _) = report(&cfg, &["--format", "html", "-o", page.to_str().unwrap()]);
    assert_eq!(code, 0);
    let dom = headless(browser, &dir.path().join("p1"), &page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(count("class=\"day\""), 2, "a bar per day");
    assert_eq!(count("class=\"hour\""), 24, "a bar per hour");
    assert_eq!(
        count("class=\"outage "),
        4,
        "a segment per outage (maintenance too)"
    );
    assert_eq!(count("class=\"median\""), 1, "the latency line");
    assert!(dom.contains("Against the ISP, the connection was"), "{dom}");
    let shot = dir.path().join("shot.png");
    let out = headless(
        browser,
        &dir.path().join("p2"),
        &page,
        &[
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    // Not blank: the decoded pixels are not all one colour.
    let check = Command::new("python3")
        .arg("-c")
        .arg(PNG_VARIETY)
        .arg(&shot)
        .output()
        .unwrap();
    let colours: usize = String::from_utf8_lossy(&check.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(
        colours > 20,
        "a blank screenshot ({colours} colours): {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Counts the distinct pixel values of a PNG (stdlib only: zlib and struct).
const PNG_VARIETY: &str = r#"
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
pos, idat, w, h, depth, ctype = 8, b'', 0, 0, 8, 6
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4, 0: 1, 4: 2}[ctype]
stride = w * bpp
seen = set()
for row in range(0, h, 7):
    line = raw[row * (stride + 1) + 1: (row + 1) * (stride + 1)]
    for x in range(0, len(line), bpp * 5):
        seen.add(line[x:x + bpp])
print(len(seen))
"#;

fn the_daemons_own_logs_report_both_outages_with_their_causes() {
    let mut net = common::Net::up();
    let cfg = net.config("");
    let d = net.daemon(&cfg, "");
    let step = std::time::Duration::from_secs(20);
    d.wait_for("verdict start → OK", step);
    net.cut("upstream");
    d.wait_for("outage started", step);
    net.restore("upstream");
    d.wait_for("outage ended", step);
    net.stop_dns();
    d.wait_for("outage started", step);
    net.start_dns();
    d.wait_for("outage ended", step);
    d.wait_for_n("check:", 2, step);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let (code, out, err) = report(&cfg, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let causes: Vec<&str> = v["outage_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["WAN_DOWN", "DNS_FAIL"], "{out}");
    assert_eq!(v["outages"]["count"], 2);
    assert!(
        v["availability_pct"].as_f64().is_some_and(|a| a < 100.0),
        "{out}"
    );
    assert!(
        v["latency"]["internet_ms"]["p50"].as_f64().is_some(),
        "internet RTT is in the connection log now: {out}"
    );
    assert!(
        v["warnings"].as_array().unwrap().is_empty(),
        "{}",
        v["warnings"]
    );
}

crate::tests! {
    every_figure_matches_the_hand_count => [],
    the_isp_figure_leaves_out_your_side_and_the_services => [],
    the_period_is_the_monitored_span_within_since_and_until => [],
    text_and_html_say_what_the_json_says => [],
    bad_rows_are_named_and_the_rest_still_counts => [],
    rotated_and_compressed_logs_give_the_figures_of_one_file => [],
    a_log_with_the_older_header_is_read_too => [],
    a_bad_period_is_a_usage_error_and_an_empty_one_says_so => [],
    the_html_report_fits_a_phone_and_prints_on_a4 => [Need::Tool("chromium"), Need::Tool("pdfinfo")],
    the_status_page_fits_a_phone_during_an_outage => [Need::Root, Need::Tool("chromium")],
    a_log_dir_without_logs_is_an_error_that_names_it => [],
    report_send_mails_the_text_with_the_html_attached => [Need::Python("aiosmtpd")],
    bak_copies_and_a_fifo_change_nothing_and_stop_nothing => [],
    outage_rows_are_checked_not_trusted => [],
    every_skipped_row_is_counted_with_its_first_examples => [],
    a_huge_field_is_skipped_in_bounded_memory => [],
    the_html_report_draws_its_charts_in_a_real_browser_offline => [Need::Tool("chromium")],
    the_daemons_own_logs_report_both_outages_with_their_causes => [Need::Root],
}
