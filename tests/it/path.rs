//! Where the path broke: `discover`, path capture on outages, route changes
//! and loss per hop, on a chain of real routers (tests/net/chain.sh), with
//! Debian's mtr as the reference.

use crate::common;

use std::time::Duration;

use crate::common::needs::Need;
use common::{Chain, Net, BIN};

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

/// The hop lines of the first table in `text` (after its two header lines).
fn hop_lines(text: &str) -> Vec<&str> {
    text.lines()
        .skip(2)
        .take_while(|l| {
            l.split_whitespace()
                .next()
                .and_then(|w| w.strip_suffix('.'))
                .is_some_and(|n| n.parse::<u8>().is_ok())
        })
        .collect()
}

fn hop_addrs(path: &serde_json::Value) -> Vec<String> {
    path["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["addrs"][0].as_str().unwrap_or("???").to_owned())
        .collect()
}

fn discover_prints_every_hop_and_suggests_exactly_the_isp_routers() {
    let c = Chain::up();
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
    let head = out.lines().next().unwrap_or_default();
    assert!(
        head.starts_with("=== ") && head.ends_with(" discover: 198.51.100.1, reached"),
        "the address once: {head}"
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
    assert_eq!(v["schema_version"], 2);
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

fn discover_finds_the_same_hops_as_mtr() {
    let c = Chain::up();
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

fn loss_at_one_hop_shows_on_it_and_every_hop_after() {
    let c = Chain::up();
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

fn an_outage_names_where_the_path_broke_in_its_row_its_alert_and_its_path_file() {
    let c = Chain::up();
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
    d.wait_for("path to one: outage WAN_DOWN trace written", WAIT);
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
    let lines = hop_lines(outage);
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
    assert_eq!(
        entry["failure_start"].as_str(),
        Some(&rows[0][5]),
        "named by the outage's recorded start"
    );
}

fn a_reroute_is_one_route_change_and_unchanged_baselines_write_nothing() {
    let c = Chain::up();
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

fn without_ping_sockets_discover_says_why_and_exits_1() {
    let c = Chain::up();
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

fn discover_shows_a_router_without_a_route_once_with_its_mark_as_mtr_lists_it() {
    let c = Chain::up();
    c.act(&["noroute"]);
    let (code, mtr, err) = c.sh("mtr --report --no-dns -c 3 198.51.100.1");
    assert_eq!(code, 0, "{err}");
    let mtr_hops: Vec<String> = mtr
        .lines()
        .filter_map(|l| l.split_once(".|-- "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(mtr_hops, HOPS[..3], "mtr said:\n{mtr}");
    // Rounds a second apart: the router answers "unreachable" only every 2 s
    // or so, and mtr has just spent its allowance.
    let cfg = c.config("");
    let (code, out, err) = c.sh(&format!(
        "{BIN} discover -c {} --target 198.51.100.1 --rounds 6 --json",
        cfg.display()
    ));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let path = &v["paths"][0]["path"];
    assert_eq!(hop_addrs(path), mtr_hops, "mtr said:\n{mtr}");
    let hops = path["hops"].as_array().unwrap();
    assert_eq!(hops[2]["unreachable"], "!N", "{path:#}");
    assert_eq!(hops[2]["loss_pct"], 0.0, "its limit is not loss: {path:#}");
    assert_eq!(path["reached"], false);
}

fn as_root_without_ping_sockets_the_path_is_traced_over_a_raw_socket() {
    let c = Chain::up();
    // No group may open ICMP datagram sockets; root may open raw ones.
    let (code, _, err) = c.sh("sysctl -qw net.ipv4.ping_group_range='1 0'");
    assert_eq!(code, 0, "{err}");
    let v = discover_json(&c, "--target 198.51.100.1 --rounds 2 --interval 0.1");
    assert_eq!(hop_addrs(&v["paths"][0]["path"]), HOPS);

    let cfg = c.config("[path]\nrounds = 2\n");
    let d = c.daemon(&cfg);
    d.wait_for("path to one: baseline trace written", WAIT);
    d.wait_for("path to two: baseline trace written", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("cannot trace"), "{log}");
    let table = std::fs::read_to_string(c.log_dir().join("paths/one.log")).unwrap();
    assert!(
        table.contains(" baseline: one 198.51.100.1, reached"),
        "{table}"
    );
}

fn unprivileged_without_ping_sockets_the_daemon_says_once_why_it_cannot_trace() {
    let c = Chain::up();
    let (code, _, err) = c.sh("sysctl -qw net.ipv4.ping_group_range='1 0'");
    assert_eq!(code, 0, "{err}");
    let bin = c.dir.path().join("cm");
    std::fs::copy(BIN, &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(c.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // TCP probes only (a closed port's refusal is an answer): the daemon
    // itself needs no ICMP socket to run.
    let cfg = c.dir.path().join("tcp.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"1s\"\ntimeout = \"500ms\"\nlog_dir = \"{}\"\nstate_dir = \"{}\"\n\
             [gateway]\nprobes = [\"tcp:9\"]\n[path]\nrounds = 1\n\
             [[target]]\nname = \"one\"\naddress = \"198.51.100.1\"\nprobes = [\"tcp:9\"]\n\
             [[target]]\nname = \"two\"\naddress = \"198.51.100.2\"\nprobes = [\"tcp:9\"]\n",
            c.log_dir().display(),
            c.state_dir().display()
        ),
    )
    .unwrap();
    let d = common::Proc::spawn_in(
        &c.ns("mon"),
        "daemon",
        &format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups {} run -c {}",
            bin.display(),
            cfg.display()
        ),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    );
    d.wait_for("cannot trace the path: ", WAIT);
    d.wait_for_n("check: ", 5, WAIT);
    let (_, log) = d.stop();
    assert_eq!(log.matches("cannot trace the path: ").count(), 1, "{log}");
    assert!(log.contains("CAP_NET_RAW"), "{log}");
}

fn baselines_wait_for_a_working_path_show_no_loss_and_never_call_an_outage_a_route_change() {
    let c = Chain::up();
    let cfg = c.config("[path]\nrounds = 5\nbaseline_every = \"2s\"\n");
    let d = c.daemon(&cfg);
    d.wait_for("path to one: baseline trace written", WAIT);
    d.wait_for("path to two: baseline trace written", WAIT);
    d.wait_for("path to one unchanged", WAIT);
    // Baselines of 5 rounds to two targets, due every 2 s: one is always
    // running or waiting when the cut comes, and gives way to the outage's.
    c.act(&["cut"]);
    d.wait_for("baseline abandoned: a check failed", WAIT);
    d.wait_for("outage started", WAIT);
    d.wait_for("path to one: outage WAN_DOWN trace written", WAIT);
    d.wait_for_n("check: ", 3, WAIT);
    c.act(&["restore"]);
    d.wait_for("outage ended", WAIT);
    d.wait_for_n("path to one unchanged", 2, Duration::from_secs(60));
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("ROUTE_CHANGED"), "{log}");

    // One trace at a time, a second between rounds: routers with Linux's
    // default limits answer every probe; nothing reads as loss or limit.
    let jsonl = std::fs::read_to_string(c.log_dir().join("paths.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let baselines: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["trigger"] == "baseline")
        .collect();
    assert_eq!(baselines.len(), 2, "one per target: {jsonl}");
    for b in &baselines {
        assert_eq!(hop_addrs(&b["path"]).len(), 6, "{b:#}");
        for h in b["path"]["hops"].as_array().unwrap() {
            assert_eq!(
                (h["received"].as_u64(), h["loss_pct"].as_f64()),
                (Some(5), Some(0.0)),
                "{b:#}"
            );
        }
    }
    assert!(
        entries
            .iter()
            .all(|e| e["trigger"] == "baseline" || e["trigger"] == "outage WAN_DOWN"),
        "no route change, no baseline during the outage: {jsonl}"
    );
}

/// The verdict, hop and start of the outage traces in `paths.jsonl` for
/// `target`: (failure_start, last answering hop's TTL and address).
fn outage_traces(log_dir: &std::path::Path, target: &str) -> Vec<(String, u64, String)> {
    let jsonl = std::fs::read_to_string(log_dir.join("paths.jsonl")).unwrap();
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["target"] == target && e["trigger"].as_str().unwrap().starts_with("outage "))
        .map(|e| {
            let last = e["path"]["hops"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|h| !h["addrs"].as_array().unwrap().is_empty())
                .cloned()
                .unwrap_or_default();
            (
                e["failure_start"].as_str().unwrap_or("").to_owned(),
                last["ttl"].as_u64().unwrap_or(0),
                last["addrs"][0].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn a_wan_cut_beyond_the_isp_router_names_the_isp_hop_as_the_last_answer_every_time() {
    let net = Net::up();
    // The ISP router keeps Linux's limits: during the cut the monitor's own
    // probes spend its "unreachable" allowance, and a trace must still find it.
    let cfg = net.config("[path]\nrounds = 3\n");
    let d = net.daemon(&cfg, "");
    d.wait_for("path to one: baseline trace written", WAIT);
    const CYCLES: usize = 10;
    for _ in 0..CYCLES {
        net.cut("upstream");
        d.wait_for("outage started", WAIT);
        d.wait_for("path to one: outage WAN_DOWN trace written", WAIT);
        net.restore("upstream");
        d.wait_for("outage ended", WAIT);
    }
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");

    let sentence = "path to one: last answer hop 2 10.0.2.2";
    let rows = net.outage_rows();
    assert_eq!(rows.len(), CYCLES, "{rows:?}");
    let traces = outage_traces(&net.log_dir(), "one");
    for row in &rows {
        assert_eq!(&row[4], "WAN_DOWN", "{row:?}");
        assert!(row[7].contains(sentence), "{:?}", &row[7]);
        let own: Vec<_> = traces.iter().filter(|t| t.0 == row[5]).collect();
        assert!(
            !own.is_empty(),
            "a trace for the outage of {}: {traces:?}",
            &row[5]
        );
        for t in own {
            assert_eq!((t.1, t.2.as_str()), (2, "10.0.2.2"), "{traces:?}");
        }
    }
    let table = std::fs::read_to_string(net.log_dir().join("paths/one.log")).unwrap();
    for outage in table
        .split("=== ")
        .filter(|t| t.contains(" outage WAN_DOWN started "))
    {
        let lines = hop_lines(outage);
        assert!(lines[1].starts_with("  2. 10.0.2.2 "), "{outage}");
    }
}

fn each_outage_carries_only_its_own_traces_across_a_restart_in_the_report() {
    let net = Net::up();
    let cfg = net.config("[path]\nrounds = 2\n");
    let d = net.daemon(&cfg, "");
    d.wait_for("verdict start → OK", WAIT);
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    d.wait_for("path to one: outage WAN_DOWN trace written", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    // Restarted in the middle of the outage: its trace is the resumed outage's.
    let d = net.daemon(&cfg, "");
    d.wait_for("resuming the open outage", WAIT);
    d.wait_for("path to one: outage WAN_DOWN trace written", WAIT);
    net.restore("upstream");
    d.wait_for("outage ended", WAIT);
    net.cut("lan");
    d.wait_for("outage started", WAIT);
    d.wait_for("path to one: outage LAN_DOWN trace written", WAIT);
    net.restore("lan");
    d.wait_for("outage ended", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");

    let rows = net.outage_rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (wan, lan) = (&rows[0][5], &rows[1][5]);
    let (code, out) = report(&cfg, "json");
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = v["outage_list"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{out}");
    let own = |path: &str, cause: &str, start: &str| {
        let headers: Vec<&str> = path.lines().filter(|l| l.starts_with("=== ")).collect();
        assert!(!headers.is_empty(), "{path}");
        for h in &headers {
            assert!(
                h.contains(&format!(" outage {cause} started {start}: ")),
                "{path}"
            );
        }
        headers.len()
    };
    let wan_tables = own(list[0]["path"].as_str().unwrap(), "WAN_DOWN", wan);
    own(list[1]["path"].as_str().unwrap(), "LAN_DOWN", lan);
    let one = list[0]["path"]
        .as_str()
        .unwrap()
        .matches(": one 198.51.100.1, ")
        .count();
    assert!(
        one >= 2,
        "before and after the restart ({wan_tables} tables):\n{}",
        list[0]["path"]
    );

    let (code, out) = report(&cfg, "html");
    assert_eq!(code, 0, "{out}");
    let blocks: Vec<&str> = out.split("<pre class=\"path\">").skip(1).collect();
    assert_eq!(blocks.len(), 2, "{out}");
    let block = |b: &str| b[..b.find("</pre>").unwrap()].to_owned();
    own(&block(blocks[0]), "WAN_DOWN", wan);
    own(&block(blocks[1]), "LAN_DOWN", lan);
}

/// `report -c CFG --format FORMAT` to standard output: (exit code, output).
fn report(cfg: &std::path::Path, format: &str) -> (i32, String) {
    let out = std::process::Command::new(BIN)
        .args(["report", "-c"])
        .arg(cfg)
        .args(["--format", format, "--since", "1h"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

crate::tests! {
    discover_prints_every_hop_and_suggests_exactly_the_isp_routers => [Need::Root],
    discover_finds_the_same_hops_as_mtr => [Need::Root, Need::Tool("mtr")],
    loss_at_one_hop_shows_on_it_and_every_hop_after => [Need::Root],
    an_outage_names_where_the_path_broke_in_its_row_its_alert_and_its_path_file => [Need::Root],
    a_reroute_is_one_route_change_and_unchanged_baselines_write_nothing => [Need::Root],
    without_ping_sockets_discover_says_why_and_exits_1 => [Need::Root],
    discover_shows_a_router_without_a_route_once_with_its_mark_as_mtr_lists_it => [Need::Root, Need::Tool("mtr")],
    as_root_without_ping_sockets_the_path_is_traced_over_a_raw_socket => [Need::Root],
    unprivileged_without_ping_sockets_the_daemon_says_once_why_it_cannot_trace => [Need::Root],
    baselines_wait_for_a_working_path_show_no_loss_and_never_call_an_outage_a_route_change => [Need::Root],
    a_wan_cut_beyond_the_isp_router_names_the_isp_hop_as_the_last_answer_every_time => [Need::Root],
    each_outage_carries_only_its_own_traces_across_a_restart_in_the_report => [Need::Root],
}
