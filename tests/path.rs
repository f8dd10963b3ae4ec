//! Where the path broke: `discover`, path capture on outages, route changes
//! and loss per hop, on a chain of real routers (tests/net/chain.sh), with
//! Debian's mtr as the reference.

mod common;

use std::time::Duration;

use common::{Chain, BIN};

const WAIT: Duration = Duration::from_secs(30);

/// The hop addresses of the chain, in order, to 198.51.100.1.
const HOPS: [&str; 6] = [
    "10.1.1.1",
    "100.64.1.2",
    "100.64.2.2",
    "203.0.113.2",
    "203.0.113.6",
    "198.51.100.1",
];

fn discover_json(c: &Chain, args: &str) -> serde_json::Value {
    discover_json_with(c, args, "500ms")
}

/// `discover --json` with the config's probe timeout (how long a round waits).
fn discover_json_with(c: &Chain, args: &str, timeout: &str) -> serde_json::Value {
    let cfg = c.config("");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("timeout = \"500ms\"", &format!("timeout = \"{timeout}\""));
    std::fs::write(&cfg, text).unwrap();
    let (code, out, err) = c.sh(&format!(
        "{BIN} discover -c {} --json {args}",
        cfg.display()
    ));
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn hop_addrs(path: &serde_json::Value) -> Vec<String> {
    path["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["addrs"][0].as_str().unwrap_or("???").to_owned())
        .collect()
}

#[test]
fn discover_prints_every_hop_and_suggests_exactly_the_isp_routers() {
    let Some(c) = Chain::up() else { return };
    let cfg = c.config("");
    let (code, out, err) = c.sh(&format!(
        "{BIN} discover -c {} --target 198.51.100.1 --rounds 3 --interval 0.1",
        cfg.display()
    ));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.is_empty(),
        "nothing extra when not on a terminal: {err}"
    );
    let mut at = 0;
    for (i, hop) in HOPS.iter().enumerate() {
        let line = format!("{:>3}. {hop}", i + 1);
        let found = out[at..]
            .find(&line)
            .unwrap_or_else(|| panic!("{line:?} in order:\n{out}"));
        at += found;
    }
    let snippet = &out[out.find("[isp]").expect("a snippet")..];
    assert!(
        snippet.contains("\"100.64.1.2\",") && snippet.contains("\"100.64.2.2\","),
        "{snippet}"
    );
    assert!(
        !snippet.contains("203.0.113") && !snippet.contains("10.1.1.1"),
        "only the ISP's: {snippet}"
    );

    let v = discover_json(&c, "--rounds 3 --interval 0.1");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(hop_addrs(&v["paths"][0]["path"]), HOPS);
    assert_eq!(v["paths"][0]["path"]["reached"], true);
    let isp: Vec<&str> = v["isp_hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["address"].as_str().unwrap())
        .collect();
    assert_eq!(isp, ["100.64.1.2", "100.64.2.2"]);

    // As an unprivileged user (as under DynamicUser=): datagram sockets, no capability.
    let bin = c.dir.path().join("cm");
    std::fs::copy(BIN, &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(c.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = c.sh(&format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups {} discover -c {} --target 198.51.100.1 --rounds 2 --interval 0.1 --json",
        bin.display(),
        cfg.display()
    ));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(hop_addrs(&v["paths"][0]["path"]), HOPS);
}

#[test]
fn discover_finds_the_same_hops_as_mtr() {
    let Some(c) = Chain::up() else { return };
    let (code, mtr, err) = c.sh("mtr --report --no-dns -c 3 198.51.100.1");
    assert_eq!(code, 0, "mtr-tiny is installed by .ci/run: {err}");
    let mtr_hops: Vec<String> = mtr
        .lines()
        .filter_map(|l| l.split_once(".|-- "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    let v = discover_json(&c, "--target 198.51.100.1 --rounds 3 --interval 0.1");
    assert_eq!(
        hop_addrs(&v["paths"][0]["path"]),
        mtr_hops,
        "mtr said:\n{mtr}"
    );
}

#[test]
fn loss_at_one_hop_shows_on_it_and_every_hop_after() {
    let Some(c) = Chain::up() else { return };
    c.act(&["loss", "20"]);
    // Rounds wait for silent hops only 100 ms: 150 rounds in a few seconds.
    let v = discover_json_with(
        &c,
        "--target 198.51.100.1 --rounds 150 --interval 0.02",
        "100ms",
    );
    let loss: Vec<f64> = v["paths"][0]["path"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["loss_pct"].as_f64().unwrap())
        .collect();
    assert_eq!(loss.len(), 6, "{loss:?}");
    // Before the lossy router: nothing lost. From it on: 20% give or take
    // what 150 samples allow (binomial: 3 sigma is about 10 points).
    assert_eq!(&loss[..2], &[0.0, 0.0], "{loss:?}");
    for l in &loss[2..] {
        assert!(
            (8.0..=32.0).contains(l),
            "about 20%, within 12 points: {loss:?}"
        );
    }
}

#[test]
fn an_outage_names_where_the_path_broke_in_its_row_its_alert_and_its_path_file() {
    let Some(c) = Chain::up() else { return };
    // Telegram at a closed port of the gateway: the alert stays in the outbox to be read.
    let cfg = c.config(
        "[path]\nrounds = 3\nbaseline_every = \"0s\"\n\
         [notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"http://10.1.1.1:9\"\n",
    );
    let d = c.daemon(&cfg);
    d.wait_for("verdict start → OK", WAIT);
    c.act(&["cut"]);
    let started = d.wait_for("outage started", WAIT);
    let sentence = "path to one: last answer hop 3 100.64.2.2, silent from hop 4";
    assert!(started.contains("WAN_DOWN"), "{started}");
    assert!(started.contains(sentence), "{started}");
    d.wait_for("not delivered", WAIT);
    c.act(&["restore"]);
    d.wait_for("outage ended", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");

    let rows = common::read_rows(&c.log_dir().join("outage_log.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0][7].contains(sentence), "{:?}", &rows[0][7]);
    let outbox = c.state_dir().join("outbox/telegram");
    let warning = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains("-warning"))
        .expect("the WARNING in the outbox");
    assert!(warning.contains(sentence), "{warning}");

    let table = std::fs::read_to_string(c.log_dir().join("paths/one.log")).unwrap();
    let outage = &table[table.find("outage WAN_DOWN").expect("an outage table")..];
    let lines: Vec<&str> = outage
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    for (i, hop) in HOPS[..3].iter().enumerate() {
        assert!(
            lines[i].contains(hop) && !lines[i].contains("???"),
            "hop {} answers:\n{outage}",
            i + 1
        );
    }
    assert!(lines.len() > 3, "{outage}");
    assert!(
        lines[3..].iter().all(|l| l.contains("???")),
        "the rest is silent:\n{outage}"
    );
    let jsonl = std::fs::read_to_string(c.log_dir().join("paths.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(entry["trigger"], "outage WAN_DOWN");
}

#[test]
fn a_reroute_is_one_route_change_and_unchanged_baselines_write_nothing() {
    let Some(c) = Chain::up() else { return };
    let cfg = c.config("[path]\nrounds = 1\nbaseline_every = \"1s\"\n");
    let d = c.daemon(&cfg);
    d.wait_for("path to one unchanged", WAIT);
    c.act(&["reroute"]);
    let changed = d.wait_for("ROUTE_CHANGED: the path to one", WAIT);
    assert!(
        changed.contains("203.0.113.14"),
        "through the spare router: {changed}"
    );
    d.wait_for_n("path to one unchanged", 10, Duration::from_secs(60));
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let table = std::fs::read_to_string(c.log_dir().join("paths/one.log")).unwrap();
    assert_eq!(table.matches(" baseline: one ").count(), 1, "{table}");
    assert_eq!(table.matches(" route-change: one ").count(), 1, "{table}");
    assert_eq!(
        table.matches("=== ").count(),
        2,
        "nothing else written:\n{table}"
    );
}

#[test]
fn without_ping_sockets_discover_says_why_and_exits_1() {
    let Some(c) = Chain::up() else { return };
    // No group may open ICMP datagram sockets here, and the user has no capability.
    let (code, _, err) = c.sh("sysctl -qw net.ipv4.ping_group_range='1 0'");
    assert_eq!(code, 0, "{err}");
    let bin = c.dir.path().join("cm");
    std::fs::copy(BIN, &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(c.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = c.config("");
    let (code, out, err) = c.sh(&format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups {} discover -c {} --target 198.51.100.1 --rounds 1",
        bin.display(),
        cfg.display()
    ));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("cannot trace the path: ") && err.contains("ping_group_range"),
        "{err}"
    );
}
