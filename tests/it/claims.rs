//! Fault tickets and claims, end to end with the real binary: `fault` records
//! what is right and refuses what is wrong, naming the ticket; `report`
//! counts the days and amounts owed on hand-counted logs under both rules, the
//! same in text, JSON and HTML, and lists every file it read so that
//! `sha256sum` can check it; the daemon alerts when an open ticket passes its
//! deadline, and shows the open tickets on /api/status and the status page.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, FixedOffset, Utc};
use serde_json::Value;

use crate::common;
use crate::common::needs::Need;
use crate::common::{free_port, loopback_config, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(20);

/// Runs the binary with `args` in time zone `tz`: (exit code, stdout, stderr).
fn cm(tz: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env("TZ", tz).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fault(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["fault", "-c", cfg.to_str().unwrap()];
    all.extend_from_slice(args);
    cm("UTC", &all)
}

/// A time `back` before now, as `--at` takes it in UTC: `YYYY-MM-DD HH:MM`.
fn ago(back: Span) -> String {
    (Utc::now() - back).format("%Y-%m-%d %H:%M").to_string()
}

fn fault_records_and_refuses_what_is_wrong_naming_the_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = loopback_config(dir.path(), "");
    let file = dir.path().join("logs/faults.csv");
    let opened = ago(Span::hours(30));
    let (code, out, err) = fault(
        &cfg,
        &[
            "open", "--ref", "TKT-4711", "--at", &opened, "--note", "=phoned",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("TKT-4711 opened at "), "{out}");
    let before = std::fs::read(&file).unwrap();

    // Each wrong record: exit 1, the ref named, not a byte written.
    let later = ago(Span::hours(2));
    let future = (Utc::now() + Span::hours(2)).to_rfc3339();
    let earlier = ago(Span::hours(40));
    for (args, says) in [
        (
            vec!["close", "--ref", "TKT-9"],
            "there is no ticket TKT-9 to close",
        ),
        (
            vec!["open", "--ref", "TKT-4711", "--at", &later],
            "TKT-4711 is already open",
        ),
        (
            vec!["close", "--ref", "TKT-4711", "--at", &earlier],
            "TKT-4711 was opened at",
        ),
        (
            vec!["close", "--ref", "TKT-4711", "--at", &future],
            "TKT-4711: ",
        ),
        (
            vec!["open", "--ref", "TKT-5", "--at", &future],
            "is in the future",
        ),
    ] {
        let (code, out, err) = fault(&cfg, &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains(says) && err.contains("nothing was written"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{args:?} wrote nothing"
        );
    }
    // Usage errors: 64, nothing written.
    for args in [
        vec!["open", "--ref", "bad ref"],
        vec!["open", "--ref", "TKT-6", "--at", "2026-11-02"],
        vec!["open", "--ref", "TKT-6", "--at", "yesterday"],
        vec!["open"],
        vec!["reopen", "--ref", "TKT-6"],
    ] {
        let (code, _, err) = fault(&cfg, &args);
        assert_eq!(code, 64, "{args:?}: {err}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "{args:?} wrote nothing"
        );
    }

    let (code, _, err) = fault(
        &cfg,
        &[
            "close",
            "--ref",
            "TKT-4711",
            "--at",
            &later,
            "--note",
            "line card",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = fault(&cfg, &["close", "--ref", "TKT-4711"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("TKT-4711 is not open: it was closed at"),
        "{err}"
    );
    let (code, _, err) = fault(
        &cfg,
        &["open", "--ref", "TKT-7", "--note", "router reboots"],
    );
    assert_eq!(code, 0, "{err}");

    let rows = common::read_rows(&file);
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().collect()).collect();
    assert_eq!(cells.len(), 3, "{cells:?}");
    assert_eq!(
        &cells[0][1..],
        ["open", "TKT-4711", "'=phoned"],
        "the note is neutralised"
    );
    assert_eq!(&cells[1][1..], ["close", "TKT-4711", "line card"]);
    assert_eq!(&cells[2][1..3], ["open", "TKT-7"]);
    let at = DateTime::parse_from_rfc3339(cells[0][0]).unwrap();
    assert_eq!(at.format("%Y-%m-%d %H:%M").to_string(), opened);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().next(),
        Some("at,event,ref,note")
    );

    let (code, out, _) = fault(&cfg, &["list"]);
    assert_eq!(code, 0);
    let open = out
        .find("OPEN (1)\nTKT-7\n")
        .unwrap_or_else(|| panic!("{out}"));
    let closed = out
        .find("CLOSED (1)\nTKT-4711\n")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(open < closed, "{out}");
    assert!(
        out.contains("    note: router reboots\n")
            && out.contains("    note on the fix: line card\n"),
        "{out}"
    );
    assert!(!out.contains("deadline"), "no rule, no deadline: {out}");
}

const CONN_HEADER: &str = "timestamp,status,gateway_rtt_ms,isp_rtt_ms,targets_up,targets_total,dns_ok,http_ok,loss_pct,detail,internet_rtt_ms,internet_rtt_max_ms";
const OUTAGE_HEADER: &str =
    "date,start_time,end_time,duration_seconds,cause,started_at,ended_at,detail,simulated";

/// A time of November 2026 in Berlin (UTC+01:00 all month): `d` the day, `hm` "HH:MM".
fn nov(d: u32, hm: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("2026-11-{d:02}T{hm}:00+01:00")).unwrap()
}

/// Three weeks of logs in Berlin time, 2 November 2026 being a Monday, and
/// four tickets, by hand:
///
/// - checks every minute from Sunday 1 November to Saturday 21 November,
///   none from Sunday 8 November 00:30 to 03:00 (a monitoring gap), DEGRADED
///   on Friday 6 from 09:00 to 10:00 and on Tuesday 17 from 08:00 to 12:00;
/// - outages: WAN_DOWN Mon 2 09:00 – Thu 5 12:00; LAN_DOWN Fri 6 10:00–11:00;
///   DNS_FAIL Fri 6 12:00–12:30; ISP_DOWN Sat 7 20:00 – Sun 8 02:00 (counted to
///   00:30, the gap); WAN_DOWN Mon 9 23:00 – Tue 10 09:00; IPV6_DOWN Tue 10
///   20:00–21:00 and Wed 11 08:00–09:00; a simulated WAN_DOWN Fri 13
///   10:00–14:00 (left out); LAN_DOWN Mon 16 10:00–10:10; WAN_DOWN Fri 20
///   10:00–10:30;
/// - TKT-4711 reported Mon 2 10:00, fixed Tue 10 09:00; TKT-2 reported Fri 6
///   14:00, fixed Wed 11 12:00; TKT-3 reported Thu 12 09:00, fixed Fri 20
///   09:00 (only degradation, your side and a simulation after it); TKT-4
///   reported Wed 18 10:00, still open.
fn fixture(dir: &Path, claim: &str) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut conn = format!("{CONN_HEADER}\n");
    let (mut at, end) = (nov(1, "00:00"), nov(21, "00:00"));
    let between = |t, a: DateTime<FixedOffset>, b: DateTime<FixedOffset>| t >= a && t < b;
    while at < end {
        if !between(at, nov(8, "00:30"), nov(8, "03:00")) {
            let degraded = between(at, nov(6, "09:00"), nov(6, "10:00"))
                || between(at, nov(17, "08:00"), nov(17, "12:00"));
            let status = if degraded { "DEGRADED" } else { "OK" };
            conn.push_str(&format!(
                "{},{status},1.000,,3,3,true,true,0.0,d,10.000,10.000\n",
                at.to_rfc3339()
            ));
        }
        at += Span::minutes(1);
    }
    std::fs::write(logs.join("connection_log.csv"), conn).unwrap();
    let outage =
        |a: DateTime<FixedOffset>, b: DateTime<FixedOffset>, cause: &str, simulated: bool| {
            format!(
                "{},{},{},{},{cause},{},{},where it broke,{simulated}\n",
                a.format("%Y-%m-%d"),
                a.format("%H:%M:%S"),
                b.format("%H:%M:%S"),
                (b - a).num_seconds(),
                a.to_rfc3339(),
                b.to_rfc3339()
            )
        };
    let rows = [
        outage(nov(2, "09:00"), nov(5, "12:00"), "WAN_DOWN", false),
        outage(nov(6, "10:00"), nov(6, "11:00"), "LAN_DOWN", false),
        outage(nov(6, "12:00"), nov(6, "12:30"), "DNS_FAIL", false),
        outage(nov(7, "20:00"), nov(8, "02:00"), "ISP_DOWN", false),
        outage(nov(9, "23:00"), nov(10, "09:00"), "WAN_DOWN", false),
        outage(nov(10, "20:00"), nov(10, "21:00"), "IPV6_DOWN", false),
        outage(nov(11, "08:00"), nov(11, "09:00"), "IPV6_DOWN", false),
        outage(nov(13, "10:00"), nov(13, "14:00"), "WAN_DOWN", true),
        outage(nov(16, "10:00"), nov(16, "10:10"), "LAN_DOWN", false),
        outage(nov(20, "10:00"), nov(20, "10:30"), "WAN_DOWN", false),
    ];
    std::fs::write(
        logs.join("outage_log.csv"),
        format!("{OUTAGE_HEADER}\n{}", rows.concat()),
    )
    .unwrap();
    let event = |t: DateTime<FixedOffset>, e: &str, r: &str, note: &str| {
        format!("{},{e},{r},{note}\n", t.to_rfc3339())
    };
    let faults = [
        event(
            nov(2, "10:00"),
            "open",
            "TKT-4711",
            "phoned; engineer booked",
        ),
        event(nov(6, "14:00"), "open", "TKT-2", ""),
        event(nov(10, "09:00"), "close", "TKT-4711", "line card replaced"),
        event(nov(11, "12:00"), "close", "TKT-2", ""),
        event(nov(12, "09:00"), "open", "TKT-3", "slow evenings"),
        event(nov(18, "10:00"), "open", "TKT-4", ""),
        event(nov(20, "09:00"), "close", "TKT-3", ""),
    ];
    std::fs::write(
        logs.join("faults.csv"),
        format!("at,event,ref,note\n{}", faults.concat()),
    )
    .unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"60s\"\nlog_dir = \"{}\"\n[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n{claim}",
            logs.display()
        ),
    )
    .unwrap();
    cfg
}

fn report(cfg: &Path, format: &str) -> String {
    let (code, out, err) = cm(
        "Europe/Berlin",
        &["report", "-c", cfg.to_str().unwrap(), "--format", format],
    );
    assert_eq!(code, 0, "{err}");
    out
}

/// A day owed: (date, day after the report, amount).
type Day = (String, u64, f64);

/// The days and amounts of each ticket in the JSON: `[(ref, days, amount)]`.
fn owed(claims: &Value) -> Vec<(String, Vec<Day>, Value)> {
    claims["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let days = t["days"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["date"].as_str().unwrap().to_owned(),
                        d["day"].as_u64().unwrap(),
                        d["amount"].as_f64().unwrap(),
                    )
                })
                .collect();
            (
                t["ref"].as_str().unwrap().to_owned(),
                days,
                t["amount"].clone(),
            )
        })
        .collect()
}

fn days(list: &[(&str, u64, f64)]) -> Vec<Day> {
    list.iter()
        .map(|(d, n, a)| ((*d).to_owned(), *n, *a))
        .collect()
}

fn the_claims_of_hand_counted_logs_under_ofcom_s_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(
        dir.path(),
        "[claim]\nrules = \"uk-ofcom\"\ndaily_amount = 9.98\n",
    );
    let v: Value = serde_json::from_str(&report(&cfg, "json")).unwrap();
    let c = &v["claims"];
    assert_eq!(c["rule"], "uk-ofcom");
    assert_eq!(c["currency"], "GBP");
    assert!(c["rule_text"].as_str().unwrap().ends_with(
        "Source: https://www.ofcom.org.uk/phones-and-broadband/saving-money/auto-comp-scheme/"
    ));
    // TKT-4711, reported Monday: Tuesday and Wednesday are the provider's, late
    // from Thursday; Friday had no outage against the ISP (LAN, DNS and
    // DEGRADED only); the Sunday part before the gap counts; the fix day had loss.
    // TKT-2, reported Friday: Monday and Tuesday are the provider's; Wednesday
    // had only IPv6 down (IPv4 worked: no total loss) before the fix at 12:00.
    // TKT-3: no total loss after the report (the simulated outage is left
    // out). TKT-4: late from Saturday 21, after the logs end.
    assert_eq!(
        owed(c),
        [
            (
                "TKT-4711".to_owned(),
                days(&[
                    ("2026-11-05", 3, 9.98),
                    ("2026-11-07", 5, 9.98),
                    ("2026-11-08", 6, 9.98),
                    ("2026-11-09", 7, 9.98),
                    ("2026-11-10", 8, 9.98)
                ]),
                serde_json::json!(49.9)
            ),
            ("TKT-2".to_owned(), vec![], serde_json::json!(0.0)),
            ("TKT-3".to_owned(), vec![], serde_json::json!(0.0)),
            ("TKT-4".to_owned(), vec![], serde_json::json!(0.0)),
        ]
    );
    assert_eq!(c["total_amount"], 49.9);
    let t = &c["tickets"];
    assert_eq!(t[0]["deadline_day"], "2026-11-04");
    assert_eq!(t[0]["deadline"], "2026-11-05T00:00:00+01:00");
    assert_eq!(t[1]["deadline_day"], "2026-11-10");
    assert_eq!(t[2]["deadline_day"], "2026-11-16");
    assert_eq!(t[3]["deadline_day"], "2026-11-20");
    // From the report to the fix: Mon 10:00 – Thu 12:00 (74 h), Sat 20:00 –
    // Sun 00:30 (4 h 30 min, the rest is the gap), Mon 23:00 – Tue 09:00 (10 h).
    assert_eq!(t[0]["total_loss_s"], 318_600.0);
    // 4 h 30 min + 10 h; the two hours of IPV6_DOWN are no total loss.
    assert_eq!(t[1]["total_loss_s"], 52_200.0);
    assert_eq!(t[2]["total_loss_s"], 0.0);
    assert_eq!(t[3]["total_loss_s"], 1800.0);
    assert_eq!(
        (t[0]["reported"].as_str(), t[0]["fixed"].as_str()),
        (
            Some("2026-11-02T10:00:00+01:00"),
            Some("2026-11-10T09:00:00+01:00")
        )
    );
    assert_eq!(t[3]["fixed"], Value::Null);
    assert_eq!(t[0]["note"], "phoned; engineer booked");
    assert_eq!(t[0]["fix_note"], "line card replaced");
    for i in 0..4 {
        assert_eq!(t[i]["coverage"], Value::Null, "the logs cover ticket {i}");
    }
    assert!(v["summary"].as_str().unwrap().contains("4 fault tickets were open during the period: GBP 49.90 owed under uk-ofcom (see Claims)."), "{}", v["summary"]);
    assert!(
        v["method"]
            .as_str()
            .unwrap()
            .contains("counts as a day of total loss when an outage against the ISP"),
        "{}",
        v["method"]
    );

    let text = report(&cfg, "text");
    let section = &text[text.find("\nCLAIMS\n").expect("a CLAIMS section")..];
    for line in [
        "\nTKT-4711\n    reported                      2026-11-02 10:00:00\n    fixed                         2026-11-10 09:00:00\n",
        "    total loss after the report   3 d 16 h\n",
        "    provider's deadline           end of Wednesday 2026-11-04 (the second full working day after the\n",
        "    days of total loss owed       5\n                                  2026-11-05 (day 3) GBP 9.98\n                                  2026-11-07 (day 5) GBP 9.98\n",
        "                                  2026-11-10 (day 8) GBP 9.98\n    amount owed                   GBP 49.90\n",
        "\nTKT-3\n",
        "    days of total loss owed       none\n    amount owed                   GBP 0.00\n",
        "    fixed                         still open (counted to the end of the period)\n",
        "\nTotal owed                        GBP 49.90\n",
    ] {
        assert!(section.contains(line), "{line:?} not in:\n{section}");
    }
    assert!(
        text.lines().all(|l| l.chars().count() <= 100),
        "fits 100 columns"
    );

    let html = report(&cfg, "html");
    assert!(
        html.contains("data-ref=\"TKT-4711\" data-amount=\"49.9\" data-total-loss-s=\"318600\""),
        "the page's figures"
    );
    assert!(html.contains("data-figure=\"claims.total_amount\" data-value=\"49.9\""));
    // On a phone every line of the claims and of the files read is shown, nothing off the side.
    let browser = common::report::browser();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let phone = common::report::tab(&browser, 390, 844, true);
    common::report::open(&phone, &format!("file://{}", page.display()));
    common::report::assert_fits(&phone, "claims at 390 px");
    for cells in ["#claims td", "#files td"] {
        let shown = common::report::shown(&phone, cells);
        assert!(
            !shown.is_empty() && shown.iter().all(|(_, s)| *s),
            "{cells}: {shown:?}"
        );
    }
    let text = common::report::eval(
        &phone,
        "JSON.stringify(document.querySelector('#claims').innerText)",
    );
    let text = text.as_str().unwrap().replace('\u{a0}', " ");
    assert!(
        text.contains("2026-11-10 (day 8) GBP 9.98") && text.contains("Total owed: GBP 49.90"),
        "{text}"
    );
}

fn the_claims_of_the_same_logs_under_tkg_section_58() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(
        dir.path(),
        "[claim]\nrules = \"de-tkg58\"\nmonthly_fee = 39.99\n",
    );
    let v: Value = serde_json::from_str(&report(&cfg, "json")).unwrap();
    let c = &v["claims"];
    assert_eq!(
        (c["rule"].as_str(), c["currency"].as_str()),
        (Some("de-tkg58"), Some("EUR"))
    );
    assert!(c["rule_text"].as_str().unwrap().contains("with the monthly fee of EUR 39.99, EUR 5.00 and EUR 10.00 a day. Source: https://www.gesetze-im-internet.de/tkg_2021/__58.html"), "{}", c["rule_text"]);
    // Two calendar days after the day of the report are the provider's; days 3
    // and 4 the larger of 5 EUR and 4.00 (10 % of 39.99), then of 10 EUR and 8.00.
    // TKT-4711: late from Thursday 5 (day 3); Friday 6 (day 4) had no total loss.
    // TKT-2, reported Friday: late from Monday 9 (day 3); Wednesday 11 had
    // only IPv6 down, no total loss.
    assert_eq!(
        owed(c),
        [
            (
                "TKT-4711".to_owned(),
                days(&[
                    ("2026-11-05", 3, 5.0),
                    ("2026-11-07", 5, 10.0),
                    ("2026-11-08", 6, 10.0),
                    ("2026-11-09", 7, 10.0),
                    ("2026-11-10", 8, 10.0)
                ]),
                serde_json::json!(45.0)
            ),
            (
                "TKT-2".to_owned(),
                days(&[("2026-11-09", 3, 5.0), ("2026-11-10", 4, 5.0)]),
                serde_json::json!(10.0)
            ),
            ("TKT-3".to_owned(), vec![], serde_json::json!(0.0)),
            ("TKT-4".to_owned(), vec![], serde_json::json!(0.0)),
        ]
    );
    assert_eq!(c["total_amount"], 55.0);
    assert_eq!(c["tickets"][1]["deadline_day"], "2026-11-08");
    let text = report(&cfg, "text");
    for line in [
        "    provider's deadline           end of Sunday 2026-11-08 (the second calendar day after the\n                                  report)\n",
        "    days of total loss owed       2\n                                  2026-11-09 (day 3) EUR 5.00\n                                  2026-11-10 (day 4) EUR 5.00\n    amount owed                   EUR 10.00\n",
        "\nTotal owed                        EUR 55.00\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    // A period that starts after a report says so, and what covers it.
    let (code, out, err) = cm(
        "Europe/Berlin",
        &[
            "report",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "json",
            "--since",
            "2026-11-04",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = &v["claims"]["tickets"][0];
    assert_eq!(first["ref"], "TKT-4711");
    assert!(
        first["coverage"]
            .as_str()
            .unwrap()
            .contains("`report --since 2026-11-02` covers the whole ticket"),
        "{first}"
    );
}

fn every_file_the_report_read_is_checked_by_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path(), "");
    let logs = dir.path().join("logs");
    // A rotated, compressed sibling is read and listed as it is stored.
    let gz = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '{OUTAGE_HEADER}\\n' | gzip > {}/outage_log.csv.1.gz",
            logs.display()
        ))
        .status()
        .unwrap();
    assert!(gz.success());
    let v: Value = serde_json::from_str(&report(&cfg, "json")).unwrap();
    let files = v["files_read"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "connection_log.csv",
            "outage_log.csv.1.gz",
            "outage_log.csv",
            "faults.csv"
        ]
    );
    // 20 days of minutes less the 150 of the gap; ten outages; seven events.
    let rows: Vec<u64> = files.iter().map(|f| f["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows, [28_650, 0, 10, 7]);
    for f in files {
        let path = logs.join(f["file"].as_str().unwrap());
        let sum = Command::new("sha256sum").arg(&path).output().unwrap();
        let sum = String::from_utf8_lossy(&sum.stdout);
        assert_eq!(
            Some(f["sha256"].as_str().unwrap()),
            sum.split_whitespace().next(),
            "{}",
            path.display()
        );
        assert_eq!(
            f["bytes"].as_u64().unwrap(),
            std::fs::metadata(&path).unwrap().len()
        );
    }
    let text = report(&cfg, "text");
    let sha = files[0]["sha256"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "connection_log.csv  28650 rows, {} bytes\n    SHA-256 {sha}\n",
            files[0]["bytes"]
        )),
        "{text}"
    );
    // No rule: the tickets are listed, nothing is owed.
    assert_eq!(v["claims"]["rule"], "none");
    assert_eq!(v["claims"]["total_amount"], Value::Null);
    assert_eq!(v["claims"]["tickets"].as_array().unwrap().len(), 4);
    assert!(
        text.contains("No compensation rule is configured"),
        "{text}"
    );
}

/// One HTTP/1.1 GET on loopback: (status, body); status 0 when nothing answered.
fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned(),
    )
}

/// The refs of the open tickets on /api/status once they are `want` (the live
/// view follows the watch a moment after the alert driver); what they are at the deadline.
fn open_tickets(port: u16, want: &[&str]) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, json) = get(port, "/api/status");
        assert_eq!(status, 200, "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        let open = v["open_tickets"].as_array().cloned().unwrap_or_default();
        let refs: Vec<&str> = open.iter().filter_map(|t| t["ref"].as_str()).collect();
        if refs == want || std::time::Instant::now() > deadline {
            assert_eq!(refs, want, "{v}");
            return open;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn a_ticket_past_its_deadline_alerts_once_and_the_open_tickets_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (tg, port) = (WebServer::start(), free_port());
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[claim]\nrules = \"uk-ofcom\"\ndaily_amount = 9.98\n[serve]\nlisten = \"127.0.0.1:{port}\"\n\
             [notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n",
            tg.url
        ),
    );
    // Ten days ago is past any deadline of two working days; an hour ago is not.
    let (code, _, err) = fault(
        &cfg,
        &["open", "--ref", "TKT-4711", "--at", &ago(Span::days(10))],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = fault(
        &cfg,
        &[
            "open",
            "--ref",
            "TKT-NEW",
            "--at",
            &ago(Span::hours(1)),
            "--note",
            "dead again",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let d = Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug"), ("TZ", "UTC")],
    );
    let line = d.wait_for("alert WARNING: PAST_DEADLINE:TKT-4711", WAIT);
    assert!(!line.contains("TKT-NEW"), "{line}");
    let sent = tg.wait_requests(1, WAIT);
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("TKT-4711 is past the provider's deadline (end of ")
            && text.contains("under uk-ofcom); compensation accrues from today"),
        "{text}"
    );

    let open = open_tickets(port, &["TKT-4711", "TKT-NEW"]);
    assert_eq!(
        (open[0]["ref"].as_str(), open[0]["past_deadline"].as_bool()),
        (Some("TKT-4711"), Some(true))
    );
    assert_eq!(
        (open[1]["ref"].as_str(), open[1]["past_deadline"].as_bool()),
        (Some("TKT-NEW"), Some(false))
    );
    assert_eq!(
        (open[1]["note"].as_str(), open[1]["rule"].as_str()),
        (Some("dead again"), Some("uk-ofcom"))
    );
    let deadline = DateTime::parse_from_rfc3339(open[1]["deadline"].as_str().unwrap()).unwrap();
    assert!(
        deadline > Utc::now() + Span::days(1),
        "two full working days ahead: {deadline}"
    );

    // The status page at phone width shows both, nothing off the side.
    let browser = common::report::browser();
    let phone = common::report::tab(&browser, 390, 844, true);
    common::report::open(&phone, &format!("http://127.0.0.1:{port}/"));
    phone
        .wait_for_element("#tickets tr.ticket")
        .expect("the tickets drawn");
    let cells = common::report::shown(&phone, "#tickets td");
    assert!(cells.iter().all(|(_, shown)| *shown), "{cells:?}");
    let all: String = cells
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        all.contains("TKT-4711")
            && all.contains("past the deadline: compensation accrues (uk-ofcom)"),
        "{all}"
    );
    assert!(
        all.contains("TKT-NEW (dead again)") && all.contains("before the deadline"),
        "{all}"
    );
    common::report::assert_fits(&phone, "status page with tickets at 390 px");

    let (code, _, err) = fault(&cfg, &["close", "--ref", "TKT-4711"]);
    assert_eq!(code, 0, "{err}");
    d.wait_for(
        "alert RECOVERED (was WARNING): PAST_DEADLINE:TKT-4711",
        Duration::from_secs(60),
    );
    let sent = tg.wait_requests(2, WAIT);
    let body: Value = serde_json::from_str(&sent[1].body).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("RECOVERED: PAST_DEADLINE:TKT-4711"),
        "{body}"
    );
    open_tickets(port, &["TKT-NEW"]);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert_eq!(
        log.matches("alert WARNING: PAST_DEADLINE").count(),
        1,
        "one alert, no reminders: {log}"
    );
    assert!(tg.requests().len() == 2, "{:?}", tg.requests());
}

crate::tests! {
    fault_records_and_refuses_what_is_wrong_naming_the_ticket => [],
    the_claims_of_hand_counted_logs_under_ofcom_s_rule => [Need::Tool("chromium")],
    the_claims_of_the_same_logs_under_tkg_section_58 => [],
    every_file_the_report_read_is_checked_by_sha256sum => [Need::Tool("sha256sum")],
    a_ticket_past_its_deadline_alerts_once_and_the_open_tickets_are_shown => [Need::Tool("chromium")],
}
