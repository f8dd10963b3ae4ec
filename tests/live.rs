//! The live surfaces against real peers: /metrics checked by promtool and
//! scraped by a real Prometheus, the status page in headless Chromium, and
//! Home Assistant discovery through a real Mosquitto broker.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Net, Proc};

const WAIT: Duration = Duration::from_secs(30);

fn need(tool: &str) -> bool {
    if Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {tool} is missing (see .ci/run)");
    }
    eprintln!("SKIPPED: {tool} is not installed");
    false
}

/// An HTTP request from inside the monitor's namespace (python3's urllib):
/// (status, body).
fn get(net: &Net, url: &str, auth: Option<&str>) -> (u16, String) {
    let script = r#"
import sys, urllib.request, base64
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Basic " + base64.b64encode(sys.argv[2].encode()).decode())
try:
    r = urllib.request.urlopen(req, timeout=10); code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
sys.stdout.write(str(code) + "\n" + body.decode())
"#;
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        &net.ns("mon"),
        "python3",
        "-c",
        script,
        url,
    ]);
    if let Some(a) = auth {
        c.arg(a);
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (code, body) = text.split_once('\n').unwrap_or(("0", ""));
    (code.parse().unwrap_or(0), body.to_owned())
}

const SERVE: &str = "[serve]\nlisten = \"127.0.0.1:9790\"\nbasic_auth_user = \"me\"\nbasic_auth_password = \"s3cret-pw\"\n";
const AUTH: &str = "me:s3cret-pw";

#[test]
fn status_api_and_metrics_are_served_with_auth_limits_and_a_valid_format() {
    if !need("promtool") {
        return;
    }
    let Some(net) = Net::up() else { return };
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

#[test]
fn a_real_prometheus_scrapes_every_target_and_counts_the_outage() {
    if !need("prometheus") {
        return;
    }
    let Some(net) = Net::up() else { return };
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

#[test]
fn the_status_page_shows_the_targets_then_the_outage() {
    if !need("chromium") {
        return;
    }
    let Some(net) = Net::up() else { return };
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

#[test]
fn home_assistant_sees_the_device_its_states_a_cut_and_the_last_will() {
    if !need("mosquitto") || !need("mosquitto_sub") {
        return;
    }
    let Some(net) = Net::up() else { return };
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
