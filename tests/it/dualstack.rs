//! IPv4 and IPv6 diagnosed apart, on a dual-stack simulated network: the home
//! router announces itself by its link-local address, as home routers do.

use crate::common;

use std::time::Duration;

use crate::common::needs::Need;
use chrono::{DateTime, Utc};
use common::{Net, Proc};

const STEP: Duration = Duration::from_secs(15);

/// A change made to the network.
type Change<'a> = &'a dyn Fn(&Net);

/// The monitor's config for the dual-stack network: two targets per family,
/// the ISP router's address of each family as hops, DNS over IPv4.
fn config(net: &Net) -> std::path::PathBuf {
    let path = net.dir.path().join("dual.toml");
    let text = format!(
        "[monitor]\ninterval = \"1s\"\ntimeout = \"500ms\"\nlog_dir = \"{}\"\nstate_dir = \"{}\"\n\
         [isp]\nhops = [\"10.0.2.2\", \"2001:db8:2::2\"]\n\
         [[target]]\nname = \"one\"\naddress = \"198.51.100.1\"\n\
         [[target]]\nname = \"two\"\naddress = \"198.51.100.2\"\n\
         [[target]]\nname = \"six-one\"\naddress = \"2001:db8:100::1\"\n\
         [[target]]\nname = \"six-two\"\naddress = \"2001:db8:100::2\"\n\
         [dns]\nservers = [\"198.51.100.53\"]\nnames = [\"example.test\"]\n\
         [serve]\nlisten = \"127.0.0.1:9790\"\n",
        net.log_dir().display(),
        net.state_dir().display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// One outage made by `cut` and ended by `restore`: the cause the daemon
/// said, and the real times of both.
fn outage(
    net: &Net,
    d: &Proc,
    cut: impl FnOnce(&Net),
    restore: impl FnOnce(&Net),
) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let cut_at = Utc::now();
    cut(net);
    let started = d.wait_for("outage started", STEP);
    let restored_at = Utc::now();
    restore(net);
    d.wait_for("outage ended", STEP);
    (started, cut_at, restored_at)
}

fn each_family_fails_on_its_own_and_both_together_are_one_wan_outage() {
    let net = Net::up();
    net.dual_stack();
    let cfg = config(&net);
    let d = net.daemon(&cfg, "");
    let first = d.wait_for("verdict start → OK", STEP);
    assert!(first.contains("OK"), "{first}");
    let checks = d.wait_for("check:", STEP);
    assert!(
        checks.contains("gateway fe80::1 answers"),
        "auto found the link-local router: {checks}"
    );
    let cases: [(&str, Change, Change); 4] = [
        ("IPV6_DOWN", &|n| n.drop_family("6"), &|n| n.undrop()),
        ("IPV4_DOWN", &|n| n.drop_family("4"), &|n| n.undrop()),
        ("WAN_DOWN", &|n| n.drop_family("both"), &|n| n.undrop()),
        (
            "IPV6_DOWN",
            &|n| n.ip_in("mon", &["addr", "del", "2001:db8:1::2/64", "dev", "mon0"]),
            &|n| {
                n.ip_in(
                    "mon",
                    &["addr", "add", "2001:db8:1::2/64", "dev", "mon0", "nodad"],
                )
            },
        ),
    ];
    let mut real = Vec::new();
    for (i, (cause, cut, restore)) in cases.into_iter().enumerate() {
        let (started, cut_at, restored_at) = outage(&net, &d, cut, restore);
        assert!(started.contains(cause), "expected {cause}: {started}");
        if i == 0 {
            // The surfaces keep the families apart, as they were during it.
            let (_, _, metrics) = net.fetch("http://127.0.0.1:9790/metrics", None, None);
            assert!(
                metrics.contains("connectivity_monitor_family_up{family=\"ipv4\"} 1"),
                "{metrics}"
            );
            assert!(metrics.contains("family=\"ipv6\""), "{metrics}");
            let (_, _, status) = net.fetch("http://127.0.0.1:9790/api/status", None, None);
            let v: serde_json::Value = serde_json::from_str(&status).unwrap();
            assert_eq!(v["families"]["ipv6"]["targets_total"], 2, "{v}");
        }
        real.push((cause, cut_at, restored_at));
        d.wait_for_n("check:", 3, STEP);
    }
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let rows = net.outage_rows();
    assert_eq!(
        rows.len(),
        4,
        "one row per outage, none inside another: {rows:?}"
    );
    for (row, (cause, cut_at, restored_at)) in rows.iter().zip(real) {
        assert_eq!(&row[4], cause, "{row:?}");
        let near = |recorded: &str, actual: DateTime<Utc>| {
            let t = DateTime::parse_from_rfc3339(recorded)
                .unwrap()
                .with_timezone(&Utc);
            // One interval, plus one second as the row keeps whole seconds.
            (t - actual).num_milliseconds().abs() <= 2000
        };
        assert!(near(&row[5], cut_at), "start within one interval: {row:?}");
        assert!(
            near(&row[6], restored_at),
            "end within one interval: {row:?}"
        );
    }
    assert!(rows[0][7].contains("IPv6 down"), "{:?}", rows[0]);
    assert!(rows[1][7].contains("IPv4 down"), "{:?}", rows[1]);
    assert!(
        rows[3][7].contains("no global IPv6 address on this host"),
        "the reason in words: {:?}",
        rows[3]
    );
    // The per-family columns of the connection log.
    let checks = net.connection_rows();
    let last = checks.last().unwrap();
    assert_eq!(
        (&last[12], &last[13], &last[14], &last[15]),
        ("2", "2", "2", "2"),
        "{last:?}"
    );
    assert!(
        !last[16].is_empty() && !last[17].is_empty(),
        "RTT per family: {last:?}"
    );
    // The report keeps the families apart: each one's outage time is what cut
    // it off (its own outages and the WAN outage), against the ISP.
    let out = std::process::Command::new(common::BIN)
        .args(["report", "--format", "json", "--log-dir"])
        .arg(net.log_dir())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secs = |i: usize| rows[i][3].parse::<f64>().unwrap();
    let down = |f: &str| v["families"][f]["downtime_s"].as_f64().unwrap();
    assert!(
        (down("ipv6") - (secs(0) + secs(2) + secs(3))).abs() <= 3.0,
        "{}",
        v["families"]
    );
    assert!(
        (down("ipv4") - (secs(1) + secs(2))).abs() <= 3.0,
        "{}",
        v["families"]
    );
    assert!(
        v["families"]["ipv6"]["internet_ms"]["p50"]
            .as_f64()
            .is_some(),
        "{}",
        v["families"]
    );
    assert_eq!(
        v["sides"]["isp"]["count"], 4,
        "family outages count against the ISP"
    );
}

fn discover_over_ipv6_lists_the_hops_mtr_lists_and_suggests_the_isp_router() {
    let net = Net::up();
    net.dual_stack();
    let cfg = config(&net);
    let sh = |cmd: &str| {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &net.ns("mon"), "sh", "-c", cmd])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mtr = sh("mtr -6 --report --no-dns -c 3 2001:db8:100::1");
    let mtr_hops: Vec<String> = mtr
        .lines()
        .filter_map(|l| l.split_once(".|-- "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    let out = sh(&format!(
        "{} discover -c {} --json --target 2001:db8:100::1 --rounds 3 --interval 0.5",
        common::BIN,
        cfg.display()
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ours: Vec<String> = v["paths"][0]["path"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["addrs"][0].as_str().unwrap_or("???").to_owned())
        .collect();
    assert_eq!(ours, mtr_hops, "mtr said:\n{mtr}");
    assert_eq!(ours.len(), 3, "{ours:?}");
    let suggested: Vec<&str> = v["isp_hops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["address"].as_str())
        .collect();
    assert_eq!(suggested, ["2001:db8:2::2"], "{v}");
}

fn a_host_that_never_had_ipv6_gets_a_note_not_an_outage() {
    // IPv6 targets configured on a network without IPv6 at all.
    let net = Net::up();
    let cfg = config(&net);
    let d = net.daemon(&cfg, "");
    d.wait_for(
        "the IPv6 targets are probed, but no IPv6 outage is counted",
        STEP,
    );
    let check = d.wait_for("check:", STEP);
    assert!(check.contains("IPv6 has not worked here yet"), "{check}");
    d.wait_for_n("check:", 4, STEP);
    let (_, log) = d.stop();
    assert!(!log.contains("outage started"), "{log}");
    assert!(net.outage_rows().is_empty());
}

crate::tests! {
    each_family_fails_on_its_own_and_both_together_are_one_wan_outage => [Need::Root],
    a_host_that_never_had_ipv6_gets_a_note_not_an_outage => [Need::Root],
    discover_over_ipv6_lists_the_hops_mtr_lists_and_suggests_the_isp_router => [Need::Root, Need::Tool("mtr")],
}
