//! The live surfaces against real peers: /metrics checked by promtool and
//! scraped by a real Prometheus, the status page in headless Chromium, and
//! Home Assistant discovery through a real Mosquitto broker.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::needs::Need;
use common::{Net, Proc};

const WAIT: Duration = Duration::from_secs(30);

/// An HTTP request from inside the monitor's namespace: (status, body).
fn get(net: &Net, url: &str, auth: Option<&str>) -> (u16, String) {
    let (code, _, body) = net.fetch(url, auth, None);
    (code, body)
}

/// The same with an `Accept` header: (status, content type, body).
fn fetch(net: &Net, url: &str, auth: Option<&str>, accept: Option<&str>) -> (u16, String, String) {
    net.fetch(url, auth, accept)
}

const SERVE: &str = "[serve]\nlisten = \"127.0.0.1:9790\"\nbasic_auth_user = \"me\"\nbasic_auth_password = \"s3cret-pw\"\n";
const AUTH: &str = "me:s3cret-pw";

fn status_api_and_metrics_are_served_with_auth_limits_and_a_valid_format() {
    let net = Net::up();
    let cfg = net.config(SERVE);
    let d = net.daemon(&cfg, "");
    d.wait_for("serving the status page", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    assert_eq!(
        get(&net, "http://127.0.0.1:9790/api/status", None).0,
        401,
        "no credentials"
    );
    assert_eq!(
        get(&net, "http://127.0.0.1:9790/api/status", Some("me:wrong")).0,
        401
    );
    let (code, body) = get(&net, "http://127.0.0.1:9790/api/status", Some(AUTH));
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "OK");
    let targets: Vec<&str> = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["role"] == "target")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        targets.contains(&"one") && targets.contains(&"three"),
        "{targets:?}"
    );
    assert!(
        v["history"]["one"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "{v}"
    );
    assert!(!body.contains("s3cret"), "no secret in any response");

    let (code, metrics) = get(&net, "http://127.0.0.1:9790/metrics", Some(AUTH));
    assert_eq!(code, 200);
    for name in [
        "connectivity_monitor_probe_success{",
        "connectivity_monitor_verdict{verdict=\"OK\"} 1",
        "connectivity_monitor_build_info{",
        "connectivity_monitor_last_check_timestamp_seconds",
    ] {
        assert!(metrics.contains(name), "{name} in:\n{metrics}");
    }
    let file = net.dir.path().join("metrics.txt");
    std::fs::write(&file, &metrics).unwrap();
    let check = Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", file.display()))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "promtool: {said}\n{metrics}");

    // An oversize request is refused; nothing changes state.
    let big = format!("http://127.0.0.1:9790/?{}", "x".repeat(40_000));
    assert_eq!(
        get(&net, &big, Some(AUTH)).0,
        431,
        "request header too large"
    );
    let post = Command::new("ip")
        .args(["netns", "exec", &net.ns("mon"), "python3", "-c",
            "import urllib.request,base64;r=urllib.request.Request('http://127.0.0.1:9790/api/status',data=b'x',method='POST');r.add_header('Authorization','Basic '+base64.b64encode(b'me:s3cret-pw').decode())\ntry: urllib.request.urlopen(r)\nexcept urllib.error.HTTPError as e: print(e.code)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&post.stdout).trim(), "405");

    // A slow client (a byte a second, never finishing its headers) pins nothing:
    // checks keep their interval while it dribbles.
    let slow = Proc::spawn_in(
        &net.ns("mon"),
        "slow client",
        "python3 -u -c 'import socket,time\ns=socket.create_connection((\"127.0.0.1\",9790))\nprint(\"connected\")\nfor c in b\"GET / HTTP/1.1\\r\\nX: \" + b\"y\"*50:\n  s.send(bytes([c])); time.sleep(0.2)\n'",
        &[],
    );
    slow.wait_for("connected", WAIT);
    let before = net.connection_rows().len();
    let t0 = Instant::now();
    // Polling the daemon's own output file, bounded: five more rows, one a second.
    while net.connection_rows().len() < before + 5 {
        assert!(
            t0.elapsed() < Duration::from_secs(9),
            "checks were held up: {before} rows then {}",
            net.connection_rows().len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(slow);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn a_real_prometheus_scrapes_every_target_and_counts_the_outage() {
    let net = Net::up();
    let cfg = net.config("[serve]\nlisten = \"127.0.0.1:9790\"\n");
    let d = net.daemon(&cfg, "");
    d.wait_for("serving the status page", WAIT);
    let prom_cfg = net.dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cm\n    static_configs:\n      - targets: ['127.0.0.1:9790']\n",
    )
    .unwrap();
    let data = net.dir.path().join("tsdb");
    let prom = Proc::spawn_in(
        &net.ns("mon"),
        "prometheus",
        &format!(
            "prometheus --config.file={} --storage.tsdb.path={} --web.listen-address=127.0.0.1:9091",
            prom_cfg.display(),
            data.display()
        ),
        &[],
    );
    prom.wait_for("Server is ready to receive web requests", WAIT);
    d.wait_for("verdict start → OK", WAIT);
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    net.restore("upstream");
    d.wait_for("outage ended", WAIT);
    let query = |q: &str| -> serde_json::Value {
        let url = format!("http://127.0.0.1:9091/api/v1/query?query={}", urlencode(q));
        let (code, body) = get(&net, &url, None);
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    // Wait, by asking Prometheus itself, until the outage has been scraped.
    let deadline = Instant::now() + WAIT;
    let wan = loop {
        let v = query("connectivity_monitor_outages_total{cause=\"WAN_DOWN\"}");
        if let Some(x) = v["data"]["result"][0]["value"][1].as_str() {
            break x.to_owned();
        }
        assert!(Instant::now() < deadline, "never scraped: {v}");
        std::thread::sleep(Duration::from_millis(500)); // polling Prometheus' own state, bounded
    };
    assert_eq!(wan, "1");
    let v = query("count(connectivity_monitor_probe_success{role=\"target\"})");
    assert_eq!(
        v["data"]["result"][0]["value"][1], "4",
        "one series per target probe: {v}"
    );
    drop(prom);
    let (status, _) = d.stop();
    assert!(status.success());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Headless Chromium inside the monitor's namespace: the DOM after the page's own script ran.
fn dom(net: &Net, profile: &Path) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &net.ns("mon"), "chromium"])
        .args(common::CHROMIUM_HEADLESS)
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("http://127.0.0.1:9790/")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn the_status_page_shows_the_targets_then_the_outage() {
    let net = Net::up();
    let cfg = net.config("[serve]\nlisten = \"127.0.0.1:9790\"\n");
    let d = net.daemon(&cfg, "");
    d.wait_for_n("check:", 2, WAIT);
    let page = dom(&net, &net.dir.path().join("p1"));
    // Rendered by the page's script from /api/status: the data arrived without a reload.
    assert!(page.contains("class=\"OK\""), "the verdict: {page}");
    assert!(
        page.contains("target one icmp") && page.contains("target three tcp:443"),
        "{page}"
    );
    assert!(
        page.contains("class=\"spark\""),
        "a sparkline per target: {page}"
    );
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    d.wait_for("check:", WAIT);
    let page = dom(&net, &net.dir.path().join("p2"));
    assert!(page.contains("class=\"WAN_DOWN\""), "{page}");
    assert!(
        page.contains("id=\"outage\" style=\"display: block;\""),
        "the open outage: {page}"
    );
    net.restore("upstream");
    let shot = net.dir.path().join("page.png");
    let out = Command::new("ip")
        .args(["netns", "exec", &net.ns("mon"), "chromium"])
        .args(common::CHROMIUM_HEADLESS)
        .args(["--virtual-time-budget=3000", "--window-size=420,900"])
        .arg(format!(
            "--user-data-dir={}",
            net.dir.path().join("p3").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("http://127.0.0.1:9790/")
        .output()
        .unwrap();
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "a phone-sized screenshot with content ({size} bytes): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = d.stop();
    assert!(status.success());
}

fn home_assistant_sees_the_device_its_states_a_cut_and_the_last_will() {
    let net = Net::up();
    let dir = net.dir.path().to_owned();
    let passwd = dir.join("mqtt.passwd");
    assert!(Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["cm", "mqtt-pw"])
        .status()
        .unwrap()
        .success());
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener 18830 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence false\n", passwd.display()),
    )
    .unwrap();
    let broker = |name: &str| {
        Proc::spawn_in(
            &net.ns("mon"),
            name,
            &format!("mosquitto -v -c {}", conf.display()),
            &[],
        )
    };
    let mut b = broker("mosquitto");
    b.wait_for("running", WAIT);
    let sub = Proc::spawn_in(
        &net.ns("mon"),
        "mosquitto_sub",
        "mosquitto_sub -h 127.0.0.1 -p 18830 -u cm -P mqtt-pw -v -t 'homeassistant/#' -t 'ha-test/#'",
        &[],
    );
    let cfg = net.config(
        "[mqtt]\nurl = \"mqtt://127.0.0.1:18830\"\nusername = \"cm\"\npassword = \"mqtt-pw\"\ntopic_prefix = \"ha-test/box\"\n",
    );
    let d = net.daemon(&cfg, "");
    let internet = sub.wait_for("/internet/config", WAIT);
    let (topic, payload) = internet.split_once(' ').unwrap();
    assert!(
        topic.starts_with("homeassistant/binary_sensor/connectivity_monitor_"),
        "{topic}"
    );
    let config: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(config["device_class"], "connectivity");
    assert_eq!(config["state_topic"], "ha-test/box/internet");
    assert_eq!(config["availability_topic"], "ha-test/box/availability");
    assert!(
        config["unique_id"]
            .as_str()
            .is_some_and(|u| u.ends_with("_internet")),
        "{config}"
    );
    assert!(
        config["device"]["identifiers"][0].as_str().is_some(),
        "{config}"
    );
    sub.wait_for("/target_one/config", WAIT);
    sub.wait_for("ha-test/box/availability online", WAIT);
    sub.wait_for("ha-test/box/internet ON", WAIT);
    net.cut("upstream");
    sub.wait_for("ha-test/box/internet OFF", WAIT);
    sub.wait_for("ha-test/box/verdict WAN_DOWN", WAIT);
    net.restore("upstream");
    sub.wait_for("ha-test/box/internet ON", WAIT);
    // The broker restarts: the daemon reconnects and says it is there again.
    drop(b);
    d.wait_for("MQTT broker unreachable", WAIT);
    b = broker("mosquitto again");
    b.wait_for("running", WAIT);
    d.wait_for("MQTT broker reachable again", WAIT);
    let sub2 = Proc::spawn_in(
        &net.ns("mon"),
        "mosquitto_sub 2",
        "mosquitto_sub -h 127.0.0.1 -p 18830 -u cm -P mqtt-pw -v -t 'ha-test/#'",
        &[],
    );
    sub2.wait_for("ha-test/box/availability online", WAIT);
    // A crash: the broker publishes the last will.
    d.kill9();
    sub2.wait_for("ha-test/box/availability offline", WAIT);
    drop(b);
}

/// `promtool check metrics` on `text`: what it said, if it refused it.
fn promtool(dir: &Path, text: &str) -> Result<(), String> {
    let file = dir.join("scrape.txt");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", file.display()))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("promtool: {said}\n{text}"))
    }
}

/// The Teams/Telegram stand-in (tests/net/recorder.py) on the monitor's loopback.
fn recorder_in_mon(net: &Net, port: u16) -> Proc {
    let p = Proc::spawn_in(
        &net.ns("mon"),
        "telegram stand-in",
        &format!(
            "python3 -u {}/tests/net/recorder.py 127.0.0.1 {port}",
            env!("CARGO_MANIFEST_DIR")
        ),
        &[],
    );
    p.wait_for("listening", WAIT);
    p
}

fn metrics_stay_valid_through_outages_deliveries_and_hostile_names() {
    let net = Net::up();
    let tg = recorder_in_mon(&net, 18080);
    // A second DNS server that never answers; a target whose name holds a
    // quote and a backslash; alerts delivered to the stand-in.
    let cfg = net.config(
        "[[target]]\nname = 'say \"hi\" C:\\temp'\naddress = \"198.51.100.2\"\nprobes = [\"icmp\"]\n\
         [notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"http://127.0.0.1:18080\"\n\
         [serve]\nlisten = \"127.0.0.1:9790\"\n",
    );
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "servers = [\"198.51.100.53\"]",
        "servers = [\"198.51.100.53\", \"198.51.100.54\"]",
    );
    std::fs::write(&cfg, text).unwrap();
    let d = net.daemon(&cfg, "");
    d.wait_for("verdict start → OK", WAIT);
    let url = "http://127.0.0.1:9790/metrics";
    let (_, kind, metrics) = fetch(&net, url, None, None);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    promtool(net.dir.path(), &metrics).unwrap();
    for series in [
        r#"probe_success{role="dns",target="example.test",address="198.51.100.53:53",kind="dns",family="ipv4"} 1"#,
        r#"probe_success{role="dns",target="example.test",address="198.51.100.54:53",kind="dns",family="ipv4"} 0"#,
        r#"probe_success{role="target",target="say \"hi\" C:\\temp",address="198.51.100.2",kind="icmp",family="ipv4"} 1"#,
    ] {
        assert!(metrics.contains(series), "{series} in:\n{metrics}");
    }

    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    tg.wait_for("WARNING", WAIT);
    d.wait_for("check:", WAIT);
    let (_, _, during) = fetch(&net, url, None, None);
    promtool(net.dir.path(), &during).unwrap();
    assert!(
        during.contains(
            r#"probe_success{role="target",target="one",address="198.51.100.1",kind="icmp",family="ipv4"} 0"#
        ),
        "{during}"
    );
    assert!(
        !during.contains(r#"probe_rtt_seconds{role="target",target="one""#),
        "no RTT sample while the probe is down:\n{during}"
    );
    net.restore("upstream");
    d.wait_for("outage ended", WAIT);
    tg.wait_for("RECOVERED", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    let (_, _, after) = fetch(&net, url, None, None);
    promtool(net.dir.path(), &after).unwrap();
    for series in [
        r#"connectivity_monitor_outages_total{cause="WAN_DOWN"} 1"#,
        r#"connectivity_monitor_notifications_sent_total{channel="telegram"} 2"#,
        r#"probe_rtt_seconds{role="target",target="one",address="198.51.100.1",kind="icmp",family="ipv4"}"#,
    ] {
        assert!(after.contains(series), "{series} in:\n{after}");
    }
    // A scraper that prefers OpenMetrics gets it.
    let accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3";
    let (_, kind, om) = fetch(&net, url, None, Some(accept));
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert!(om.ends_with("# EOF\n") && om.contains("# TYPE connectivity_monitor_outages counter"));
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

/// One HTTP/1.1 GET on loopback from this process: (status, body); status 0
/// when nothing answered.
fn http(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// The daemon on a loopback-only config (tests/common), checks every 300 ms.
fn loopback_daemon(cfg: &Path) -> Proc {
    Proc::spawn_in_current(
        "daemon",
        &format!("{} run -c {}", common::BIN, cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    )
}

/// Rewrites the loopback config with `extra` and reloads; returns the reload line.
fn reload(d: &Proc, dir: &Path, extra: &str) -> String {
    common::loopback_config(dir, extra);
    d.signal("-HUP");
    d.wait_for("reloaded", WAIT)
}

fn serve_follows_reloads_added_new_password_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = common::loopback_config(dir.path(), "");
    let d = loopback_daemon(&cfg);
    d.wait_for_n("check:", 2, WAIT);
    assert_eq!(http(port, "/api/status", &[]).0, 0, "no [serve] yet");

    let serve = |pw: &str| {
        format!("[serve]\nlisten = \"127.0.0.1:{port}\"\nbasic_auth_user = \"me\"\nbasic_auth_password = \"{pw}\"\n")
    };
    let line = reload(&d, dir.path(), &serve("old-pw"));
    assert!(
        line.contains(&format!("serve started on 127.0.0.1:{port}")),
        "{line}"
    );
    // base64 of "me:old-pw" and "me:new-pw".
    let (old, new) = ("bWU6b2xkLXB3", "bWU6bmV3LXB3");
    let with = |scheme: &str, creds: &str| {
        http(
            port,
            "/api/status",
            &[("Authorization", &format!("{scheme} {creds}"))],
        )
        .0
    };
    assert_eq!(with("Basic", old), 200);
    assert_eq!(with("basic", old), 200, "the scheme is case-insensitive");
    assert_eq!(with("Basic", new), 401);

    let line = reload(&d, dir.path(), &serve("new-pw"));
    assert!(line.contains("serve: new credentials in force"), "{line}");
    assert_eq!(with("Basic", old), 401, "the rotated password is refused");
    assert_eq!(with("Basic", new), 200);

    let line = reload(&d, dir.path(), "");
    assert!(line.contains("serve stopped"), "{line}");
    assert_eq!(http(port, "/api/status", &[]).0, 0, "the port is closed");
    d.wait_for("check:", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

/// Writes an outage log of `rows` rows, one a minute from `first` (Unix
/// seconds), each with a detail of a hundred characters; gzipped if `gz`.
fn outage_log(path: &Path, rows: usize, first: i64, gz: bool) {
    use std::io::Write;
    let mut text = String::from(
        "date,start_time,end_time,duration_seconds,cause,started_at,ended_at,detail,simulated\n",
    );
    for i in 0..rows as i64 {
        let start = chrono::DateTime::from_timestamp(first + i * 60, 0).unwrap();
        let end = start + chrono::Duration::seconds(8);
        text.push_str(&format!(
            "{},{},{},8,WAN_DOWN,{},{},{},false\n",
            start.format("%Y-%m-%d"),
            start.format("%H:%M:%S"),
            end.format("%H:%M:%S"),
            start.to_rfc3339(),
            end.to_rfc3339(),
            "where it broke ".repeat(7)
        ));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if gz {
        let f = std::fs::File::create(path).unwrap();
        let mut z = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        z.write_all(text.as_bytes()).unwrap();
        z.finish().unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

/// A python client on loopback: `script` runs with `port` set.
fn py_client(name: &str, port: u16, script: &str) -> Proc {
    Proc::spawn_in_current(
        name,
        &format!(
            "python3 -u -c '{}'",
            script.replace("PORT", &port.to_string())
        ),
        &[],
    )
}

/// VmRSS or VmHWM of `pid`, kB.
fn memory_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

fn idle_connections_of_one_client_block_no_one_and_a_reader_that_stops_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    outage_log(
        &dir.path().join("logs/outage_log.csv"),
        3000,
        1_700_000_000,
        false,
    );
    let cfg = common::loopback_config(
        dir.path(),
        &format!("[serve]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let d = loopback_daemon(&cfg);
    d.wait_for("serving the status page", WAIT);
    // 64 connections from 127.0.0.2 that never send a byte.
    let idle = py_client(
        "idle client",
        port,
        "import socket,time
socks = []
for i in range(64):
    s = socket.socket(); s.bind((\"127.0.0.2\", 0)); s.connect((\"127.0.0.1\", PORT)); socks.append(s)
time.sleep(1)
held = 0
for s in socks:
    s.setblocking(False)
    try:
        held += s.recv(1, socket.MSG_PEEK) != b\"\"
    except BlockingIOError:
        held += 1
    except OSError:
        pass
print(\"held\", held)
time.sleep(600)",
    );
    let line = idle.wait_for("held", WAIT);
    let held: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    eprintln!("one client holds {held} connections");
    assert!(held <= 8, "one client holds {held} connections");
    let t0 = Instant::now();
    let (code, _) = http(port, "/api/status", &[]);
    assert_eq!(code, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        t0.elapsed()
    );

    // A client that asks for the outages and reads nothing: cut off, not held for a minute.
    let slow = py_client(
        "slow reader",
        port,
        "import socket,time
s = socket.socket(); s.bind((\"127.0.0.3\", 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((\"127.0.0.1\", PORT))
s.sendall(b\"GET /api/outages HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\")
print(\"asked\")
time.sleep(20)
s.settimeout(5)
n = 0
try:
    while True:
        b = s.recv(65536)
        if not b: break
        n += len(b)
    print(\"closed by the server after\", n, \"bytes\")
except socket.timeout:
    print(\"still open after\", n, \"bytes\")
except OSError as e:
    print(\"closed by the server after\", n, \"bytes:\", e)",
    );
    slow.wait_for("asked", WAIT);
    let verdict = slow.wait_for("by the server", Duration::from_secs(40));
    eprintln!("{verdict}");
    assert!(verdict.contains("closed"), "{verdict}");
    drop(idle);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn sixty_four_clients_that_read_nothing_cost_the_daemon_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    outage_log(
        &dir.path().join("logs/outage_log.csv"),
        30_000,
        1_700_000_000,
        false,
    );
    let cfg = common::loopback_config(
        dir.path(),
        &format!("[serve]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let d = loopback_daemon(&cfg);
    d.wait_for("serving the status page", WAIT);
    d.wait_for_n("check:", 3, WAIT);
    let before = memory_kb(d.pid(), "VmRSS:");
    // Eight addresses, eight connections each: every one asks, none reads.
    let crowd = py_client(
        "crowd",
        port,
        "import socket,time
socks = []
for a in range(8):
    for i in range(8):
        s = socket.socket(); s.bind((\"127.0.0.%d\" % (10 + a), 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((\"127.0.0.1\", PORT))
        s.sendall(b\"GET /api/outages HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\")
        socks.append(s)
print(\"asked\", len(socks))
time.sleep(600)",
    );
    crowd.wait_for("asked 64", WAIT);
    // Every request is answered or refused within the read deadline; meanwhile checks go on.
    d.wait_for_n("check:", 40, Duration::from_secs(60));
    let peak = memory_kb(d.pid(), "VmHWM:");
    eprintln!("RSS {before} kB before, peak {peak} kB with 64 clients reading nothing");
    assert!(
        peak < before + 48 * 1024,
        "RSS {before} kB before, peak {peak} kB with 64 clients reading nothing"
    );
    drop(crowd);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn api_outages_reads_rotated_and_compressed_logs_and_refuses_hostile_queries() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let logs = dir.path().join("logs");
    let day = 86_400;
    let now = chrono::Utc::now().timestamp();
    outage_log(&logs.join("outage_log.csv.2.gz"), 5, now - 50 * day, true);
    outage_log(&logs.join("outage_log.csv.1"), 4, now - 40 * day, false);
    outage_log(&logs.join("outage_log.csv"), 3, now - 10 * day, false);
    let cfg = common::loopback_config(
        dir.path(),
        &format!("[serve]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let d = loopback_daemon(&cfg);
    d.wait_for("serving the status page", WAIT);
    let count = |query: &str| {
        let (code, body) = http(port, &format!("/api/outages{query}"), &[]);
        assert_eq!(code, 200, "{query}: {body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(v["omitted"], 0, "{v}");
        assert_eq!(v["warnings"], serde_json::json!([]), "{v}");
        v["outages"].as_array().unwrap().len()
    };
    assert_eq!(
        count("?since=60d"),
        12,
        "the compressed and the rotated files too"
    );
    assert_eq!(count("?since=45d"), 7);
    assert_eq!(count(""), 12);
    for (query, why) in [
        ("?since=300000y", "since:"),
        ("?since=%ZZ", "since:"),
        ("?since=1d&since=2d", "more than once"),
        ("?since=1d&limit=9", "unknown parameter"),
    ] {
        let (code, body) = http(port, &format!("/api/outages{query}"), &[]);
        assert_eq!(code, 400, "{query}: {body}");
        assert!(body.contains(why), "{query}: {body}");
    }
    d.wait_for("check:", WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "the daemon survived every query: {log}");
}

/// The `p`th percentile of `v` (nearest rank).
fn percentile(v: &mut [f64], p: usize) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn eight_clients_on_api_outages_for_30_s_falsify_nothing() {
    let net = Net::up();
    outage_log(
        &net.log_dir().join("outage_log.csv"),
        30_000,
        1_700_000_000,
        false,
    );
    let cfg = net.config("[serve]\nlisten = \"127.0.0.1:9790\"\n");
    let d = net.daemon(&cfg, "");
    d.wait_for("verdict start → OK", WAIT);
    let rows_before = net.connection_rows().len();
    let load = Proc::spawn_in(
        &net.ns("mon"),
        "eight clients",
        "python3 -u -c 'import threading,time,urllib.request
codes = {}
def client():
    end = time.time() + 30
    while time.time() < end:
        try:
            c = urllib.request.urlopen(\"http://127.0.0.1:9790/api/outages\", timeout=15).status
        except urllib.error.HTTPError as e:
            c = e.code
        except Exception as e:
            c = type(e).__name__
        codes[c] = codes.get(c, 0) + 1
print(\"loading\")
ts = [threading.Thread(target=client) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print(\"done\", codes)'",
        &[],
    );
    load.wait_for("loading", WAIT);
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.ns("mon"),
            "ping",
            "-n",
            "-c",
            "28",
            "-i",
            "1",
            "10.0.1.1",
        ])
        .output()
        .unwrap();
    let ping = String::from_utf8_lossy(&ping.stdout).into_owned();
    let mut pinged: Vec<f64> = ping
        .lines()
        .filter_map(|l| l.split("time=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    let done = load.wait_for("done", Duration::from_secs(60));
    let rows = net.connection_rows();
    let mut measured: Vec<f64> = rows[rows_before..]
        .iter()
        .filter_map(|r| r[2].parse().ok())
        .collect();
    assert!(
        measured.len() >= 25 && pinged.len() >= 25,
        "{measured:?} {ping}"
    );
    // A blocked runtime delays every check it overlaps (the defect: 700 ms
    // and more); other tests sharing the CPU delay one now and then.
    let (p_med, m_med) = (percentile(&mut pinged, 50), percentile(&mut measured, 50));
    let (p_90, m_90) = (percentile(&mut pinged, 90), percentile(&mut measured, 90));
    eprintln!(
        "{done}; gateway RTT ms: ping median {p_med} p90 {p_90}, monitor median {m_med} p90 {m_90}"
    );
    assert!(
        (m_med - p_med).abs() < 1.0 && m_90 < p_90 + 1.0,
        "ping {pinged:?}\nmonitor {measured:?}"
    );
    assert!(
        rows[rows_before..].iter().all(|r| &r[1] == "OK"),
        "every check OK under load: {:?}",
        &rows[rows_before..]
    );
    assert_eq!(net.outage_rows().len(), 30_000, "no outage row was added");
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

/// Mosquitto on the monitor's loopback, anonymous, on `port`.
fn broker(net: &Net, port: u16) -> Proc {
    let conf = net.dir.path().join("mosquitto-anon.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let b = Proc::spawn_in(
        &net.ns("mon"),
        "mosquitto",
        &format!("mosquitto -c {}", conf.display()),
        &[],
    );
    b.wait_for("running", WAIT);
    b
}

/// The topics the broker holds retained under `filter`, as `topic|payload` lines.
fn retained(net: &Net, port: u16, filter: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.ns("mon"),
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &port.to_string(),
            "-t",
            filter,
            "--retained-only",
            "-W",
            "2",
        ])
        .args(["-F", "%t|%p"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn a_reload_keeps_metrics_and_home_assistant_in_step_with_the_targets() {
    let net = Net::up();
    let _b = broker(&net, 18831);
    let sub = Proc::spawn_in(
        &net.ns("mon"),
        "mosquitto_sub",
        "mosquitto_sub -h 127.0.0.1 -p 18831 -t 'homeassistant/#' -t 'ha-test/#' -F '%t|%p'",
        &[],
    );
    let extra = "[serve]\nlisten = \"127.0.0.1:9790\"\n\
                 [mqtt]\nurl = \"mqtt://127.0.0.1:18831\"\ntopic_prefix = \"ha-test/box\"\n";
    let cfg = net.config(extra);
    let d = net.daemon(&cfg, "");
    sub.wait_for("/target_two/config|{", WAIT);
    d.wait_for("every config acknowledged by the broker", WAIT);
    sub.wait_for("ha-test/box/target/two|ON", WAIT);
    let (_, metrics) = get(&net, "http://127.0.0.1:9790/metrics", None);
    assert!(metrics.contains("target=\"two\""), "{metrics}");

    // "two" goes; two targets whose names differ only in punctuation come.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "name = \"two\"\naddress = \"198.51.100.2\"\nprobes = [\"icmp\"]\n",
        "name = \"office-nas\"\naddress = \"198.51.100.2\"\nprobes = [\"icmp\"]\n\n\
         [[target]]\nname = \"office nas\"\naddress = \"198.51.100.2\"\nprobes = [\"icmp\"]\n",
    );
    std::fs::write(&cfg, text).unwrap();
    d.signal("-HUP");
    let line = d.wait_for("reloaded", WAIT);
    assert!(
        line.contains("mqtt: Home Assistant's entities follow the targets"),
        "{line}"
    );
    sub.wait_for("/target_two/config|", WAIT);
    d.wait_for("every config acknowledged by the broker", WAIT);
    d.wait_for_n("check:", 2, WAIT);

    let held = retained(&net, 18831, "homeassistant/#");
    assert!(!held.iter().any(|t| t.contains("target_two")), "{held:#?}");
    let office: Vec<&String> = held
        .iter()
        .filter(|t| t.contains("/target_office_nas_"))
        .collect();
    assert_eq!(office.len(), 2, "one entity each: {held:#?}");
    assert_ne!(office[0].split('|').next(), office[1].split('|').next());
    let states = retained(&net, 18831, "ha-test/box/target/#");
    assert!(
        !states
            .iter()
            .any(|t| t.starts_with("ha-test/box/target/two|")),
        "{states:?}"
    );
    assert_eq!(
        states.len(),
        4,
        "one, three and the two office ones: {states:?}"
    );

    let (_, metrics) = get(&net, "http://127.0.0.1:9790/metrics", None);
    assert!(
        !metrics.contains("target=\"two\""),
        "the removed target's series are gone:\n{metrics}"
    );
    assert!(metrics.contains("target=\"office nas\""), "{metrics}");
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn a_broker_that_never_answers_connect_is_retried_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let silent = py_client(
        "silent broker",
        port,
        "import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"127.0.0.1\", PORT)); s.listen(64)
print(\"listening\")
held = []
while True:
    c, _ = s.accept(); held.append(c)
    print(\"accepted\", len(held))",
    );
    silent.wait_for("listening", WAIT);
    let cfg = common::loopback_config(
        dir.path(),
        &format!("[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\n"),
    );
    let d = loopback_daemon(&cfg);
    silent.wait_for("accepted 1", WAIT);
    let first = Instant::now();
    silent.wait_for("accepted 4", Duration::from_secs(60));
    // Backoff: 5 s for each CONNECT to time out, then 1, 2 and 4 s of waiting.
    assert!(
        first.elapsed() >= Duration::from_secs(15),
        "four connections in {:?}, with checks every 300 ms",
        first.elapsed()
    );
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert_eq!(log.matches("MQTT broker unreachable").count(), 1, "{log}");
}

fn an_unreadable_mqtt_ca_file_is_refused_by_check_config_and_leaves_monitoring_running() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::loopback_config(
        dir.path(),
        "[mqtt]\nurl = \"mqtts://127.0.0.1:8883\"\nca_file = \"/nonexistent/ca.pem\"\n",
    );
    let out = Command::new(common::BIN)
        .args(["check-config", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("mqtt.ca_file /nonexistent/ca.pem: cannot read"),
        "{said}"
    );
    let d = loopback_daemon(&cfg);
    let line = d.wait_for("Home Assistant is off", WAIT);
    assert!(line.contains("mqtt.ca_file"), "{line}");
    d.wait_for_n("check:", 3, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn availability_today_after_a_restart_is_the_reports_figure() {
    let net = Net::up();
    let cfg = net.config("[serve]\nlisten = \"127.0.0.1:9790\"\n");
    let d = net.daemon(&cfg, "");
    d.wait_for("verdict start → OK", WAIT);
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    net.restore("upstream");
    d.wait_for("outage ended", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");

    let d = net.daemon(&cfg, "");
    d.wait_for_n("check:", 3, WAIT);
    let (_, body) = get(&net, "http://127.0.0.1:9790/api/status", None);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let live = v["availability_today_pct"]
        .as_f64()
        .unwrap_or_else(|| panic!("{v}"));
    let last = chrono::DateTime::parse_from_rfc3339(v["last_check"].as_str().unwrap()).unwrap();
    // The rows up to that check are written by the time the next one is logged.
    d.wait_for("check:", WAIT);
    let out = Command::new(common::BIN)
        .args(["report", "--format", "json", "-c"])
        .arg(&cfg)
        .arg("--since")
        .arg(
            last.with_timezone(&chrono::Local)
                .format("%Y-%m-%d")
                .to_string(),
        )
        .arg("--until")
        .arg((last + chrono::Duration::seconds(1)).to_rfc3339())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(live < 100.0, "the outage before the restart counts: {live}");
    assert_eq!(
        Some(live),
        report["availability_pct"].as_f64(),
        "the report over the same span: {report}"
    );
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn discovery_of_five_thousand_targets_arrives_whole_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let b = Proc::spawn_in_current(
        "mosquitto",
        &format!("mosquitto -c {}", conf.display()),
        &[],
    );
    b.wait_for("running", WAIT);
    // More entities than the client's queue holds: they arrive only with flow control.
    let mut text = format!(
        "[monitor]\ninterval = \"10s\"\ntimeout = \"2s\"\nlog_dir = \"{0}/logs\"\nstate_dir = \"{0}/state\"\n\
         [gateway]\naddress = \"127.0.0.1\"\nprobes = [\"tcp:9\"]\n\
         [path]\nenabled = false\n\
         [mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\ntopic_prefix = \"many\"\n",
        dir.path().display()
    );
    for i in 0..5000 {
        text.push_str(&format!(
            "[[target]]\nname = \"t{i}\"\naddress = \"127.0.0.1\"\nprobes = [\"tcp:9\"]\n"
        ));
    }
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, text).unwrap();
    let d = loopback_daemon(&cfg);
    d.wait_for(
        "Home Assistant discovery: 5008 entities announced, every config acknowledged",
        Duration::from_secs(120),
    );
    let out = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "homeassistant/#",
        ])
        .args(["--retained-only", "-W", "10", "-F", "%t"])
        .output()
        .unwrap();
    let topics = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(topics, 5008, "every retained config is on the broker");
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
}

fn check_config_warns_of_a_status_page_beyond_loopback_without_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let check = |serve: &str| {
        let cfg = common::loopback_config(dir.path(), serve);
        let out = Command::new(common::BIN)
            .args(["check-config", "-c"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let open = check("[serve]\nlisten = \"0.0.0.0:9790\"\n");
    assert!(
        open.contains("# warning: serve.listen = \"0.0.0.0:9790\" is reachable beyond this machine and has no basic_auth_user"),
        "{open}"
    );
    for quiet in [
        "[serve]\nlisten = \"127.0.0.1:9790\"\n",
        "[serve]\nlisten = \"0.0.0.0:9790\"\nbasic_auth_user = \"me\"\nbasic_auth_password = \"pw\"\n",
    ] {
        assert!(!check(quiet).contains("# warning: serve"), "{quiet}");
    }
}

crate::tests! {
    status_api_and_metrics_are_served_with_auth_limits_and_a_valid_format => [Need::Root, Need::Tool("promtool")],
    a_real_prometheus_scrapes_every_target_and_counts_the_outage => [Need::Root, Need::Tool("prometheus")],
    the_status_page_shows_the_targets_then_the_outage => [Need::Root, Need::Tool("chromium")],
    home_assistant_sees_the_device_its_states_a_cut_and_the_last_will => [Need::Root, Need::Tool("mosquitto"), Need::Tool("mosquitto_sub")],
    metrics_stay_valid_through_outages_deliveries_and_hostile_names => [Need::Root, Need::Tool("promtool")],
    serve_follows_reloads_added_new_password_and_removed => [Need::Root],
    idle_connections_of_one_client_block_no_one_and_a_reader_that_stops_is_cut_off => [Need::Root],
    sixty_four_clients_that_read_nothing_cost_the_daemon_little_memory => [Need::Root],
    api_outages_reads_rotated_and_compressed_logs_and_refuses_hostile_queries => [Need::Root],
    eight_clients_on_api_outages_for_30_s_falsify_nothing => [Need::Root, Need::Tool("ping")],
    a_reload_keeps_metrics_and_home_assistant_in_step_with_the_targets => [Need::Root, Need::Tool("mosquitto"), Need::Tool("mosquitto_sub")],
    a_broker_that_never_answers_connect_is_retried_with_backoff => [],
    an_unreadable_mqtt_ca_file_is_refused_by_check_config_and_leaves_monitoring_running => [],
    availability_today_after_a_restart_is_the_reports_figure => [Need::Root],
    discovery_of_five_thousand_targets_arrives_whole_and_says_so => [Need::Tool("mosquitto"), Need::Tool("mosquitto_sub")],
    check_config_warns_of_a_status_page_beyond_loopback_without_authentication => [],
}
