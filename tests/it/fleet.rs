//! Many sites, one view: push to a real Prometheus (remote write receiver)
//! on the simulated internet, across a cut, a long receiver outage and a
//! restart; the heartbeat against a real HTTP receiver there; the shipped
//! alert rules and dashboard checked and unit-tested by promtool.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::needs::Need;
use crate::common::{eventually, loopback_config, Net, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(60);
/// The receiver on the simulated internet: beside the HTTP server, another port.
const PROM: &str = "198.51.100.80:9090";
/// Push every second, as site "lab", instance "pi-lab".
const PUSH: &str = "[push]\nremote_write_url = \"http://198.51.100.80:9090/api/v1/write\"\nevery = \"1s\"\ntimeout = \"2s\"\nlabels = { site = \"lab\" }\ninstance = \"pi-lab\"\n";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A Prometheus on the simulated internet that only receives: no scrape jobs.
fn prometheus(net: &Net, name: &str) -> Proc {
    let cfg = net.dir.path().join(format!("{name}.yml"));
    std::fs::write(&cfg, "global:\n  evaluation_interval: 1m\n").unwrap();
    let p = Proc::spawn_in(
        &net.ns("net"),
        "prometheus",
        &format!(
            "prometheus --config.file={} --storage.tsdb.path={} --web.listen-address={PROM} --web.enable-remote-write-receiver",
            cfg.display(),
            net.dir.path().join(name).display()
        ),
        &[],
    );
    p.wait_for("Server is ready to receive web requests", WAIT);
    p
}

/// GET `path` with `params` from the receiver's own namespace (it answers
/// during a cut of the site's line), as JSON; or its raw text for /metrics.
fn prom_get(net: &Net, path: &str, params: &[(&str, String)]) -> String {
    let script = r#"
import sys, urllib.request, urllib.parse
pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
url = "http://" + sys.argv[1] + sys.argv[2] + ("?" + urllib.parse.urlencode(pairs) if pairs else "")
sys.stdout.write(urllib.request.urlopen(url, timeout=10).read().decode())
"#;
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        &net.ns("net"),
        "python3",
        "-c",
        script,
        PROM,
        path,
    ]);
    for (k, v) in params {
        c.arg(k).arg(v);
    }
    let out = c.output().expect("python3");
    assert!(
        out.status.success(),
        "GET {path} {params:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An instant query's result.
fn query(net: &Net, q: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&prom_get(net, "/api/v1/query", &[("query", q.into())])).unwrap();
    assert_eq!(v["status"], "success", "{q}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The raw samples of `selector` from `since` (Unix seconds) on: [(time, value)].
fn raw_samples(net: &Net, selector: &str, since: f64) -> Vec<(f64, String)> {
    let window = (unix_now() - since).ceil() as u64 + 1;
    let result = query(net, &format!("{selector}[{window}s]"));
    assert!(result.len() <= 1, "one series: {result:?}");
    result
        .first()
        .map(|r| {
            r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every sample line of /metrics as its name and labels.
fn metrics_series(net: &Net) -> BTreeSet<BTreeMap<String, String>> {
    let (code, _, text) = net.fetch("http://127.0.0.1:9790/metrics", None, None);
    assert_eq!(code, 200, "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let series = l.rsplit_once(' ').unwrap().0;
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            let mut m = BTreeMap::from([("__name__".to_owned(), name.to_owned())]);
            for pair in labels
                .trim_end_matches('}')
                .split("\",")
                .filter(|p| !p.is_empty())
            {
                let (k, v) = pair.split_once("=\"").unwrap();
                m.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
            }
            m
        })
        .collect()
}

/// Samples the daemon said it delivered ("push: sent N samples ...").
fn sent_samples(output: &str) -> u64 {
    output
        .lines()
        .filter_map(|l| {
            l.split("push: sent ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

fn push_delivers_every_series_with_the_sites_labels_and_what_a_cut_held_back() {
    let net = Net::up();
    let prom = prometheus(&net, "tsdb");
    let cfg = net.config(&format!("[serve]\nlisten = \"127.0.0.1:9790\"\n{PUSH}"));
    let d = net.daemon(&cfg, "");
    d.wait_for(
        "push: every 1s to http://198.51.100.80:9090/api/v1/write",
        WAIT,
    );
    d.wait_for_n("check:", 3, WAIT);

    // Every series of /metrics arrives, with site and instance besides its own labels.
    let scraped = metrics_series(&net);
    let has_push_series = |got: &BTreeSet<BTreeMap<String, String>>| {
        got.iter()
            .any(|s| s["__name__"] == "connectivity_monitor_push_samples_sent_total")
    };
    let pushed = eventually("every series of /metrics in Prometheus", WAIT, || {
        let v: serde_json::Value = serde_json::from_str(&prom_get(
            &net,
            "/api/v1/series",
            &[("match[]", "{instance=\"pi-lab\"}".into())],
        ))
        .unwrap();
        let got: BTreeSet<BTreeMap<String, String>> =
            serde_json::from_value(v["data"].clone()).unwrap();
        let all = scraped.iter().all(|s| {
            let mut s = s.clone();
            s.insert("site".into(), "lab".into());
            s.insert("instance".into(), "pi-lab".into());
            got.contains(&s)
        });
        (all && has_push_series(&got)).then_some(got)
    });
    assert!(
        scraped.len() > 50 && pushed.len() >= scraped.len(),
        "{} scraped, {} pushed",
        scraped.len(),
        pushed.len()
    );

    // A 12 s cut of the site's line: its samples wait, then arrive in order.
    let cut_at = unix_now();
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    d.wait_for(
        "push: cannot deliver to http://198.51.100.80:9090/api/v1/write",
        WAIT,
    );
    std::thread::sleep(Duration::from_secs_f64(
        (cut_at + 12.0 - unix_now()).max(0.0),
    ));
    net.restore("upstream");
    let restored_at = unix_now();
    // The first good check wakes the sender: the queue goes before the outage is over.
    d.wait_for(
        "push: http://198.51.100.80:9090/api/v1/write takes samples again",
        WAIT,
    );
    d.wait_for("outage ended", WAIT);
    eventually("the queue sent up to now", WAIT, || {
        let last = query(
            &net,
            "timestamp(connectivity_monitor_last_check_timestamp_seconds{instance=\"pi-lab\"})",
        );
        let t = last.first()?["value"][1].as_str()?.parse::<f64>().ok()?;
        (t > restored_at + 3.0).then_some(())
    });
    let samples = raw_samples(
        &net,
        "connectivity_monitor_verdict{instance=\"pi-lab\",site=\"lab\",verdict=\"WAN_DOWN\"}",
        cut_at - 5.0,
    );
    let inside: Vec<&(f64, String)> = samples
        .iter()
        .filter(|(t, _)| *t > cut_at && *t < restored_at)
        .collect();
    assert!(
        inside.len() >= 10,
        "samples taken during the cut: {samples:?}"
    );
    assert!(
        inside.iter().any(|(_, v)| v == "1"),
        "WAN_DOWN during the cut: {samples:?}"
    );
    for pair in samples.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap > 0.0, "in order, each time once: {samples:?}");
        assert!(gap < 2.5, "no hole of {gap} s: {samples:?}");
    }
    // The same, as a graph would ask for it.
    let v: serde_json::Value = serde_json::from_str(&prom_get(
        &net,
        "/api/v1/query_range",
        &[
            (
                "query",
                "connectivity_monitor_outage_open{instance=\"pi-lab\"}".into(),
            ),
            ("start", format!("{cut_at:.3}")),
            ("end", format!("{restored_at:.3}")),
            ("step", "1".into()),
        ],
    ))
    .unwrap();
    let open: Vec<&str> = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert!(open.contains(&"1"), "the open outage in query_range: {v}");

    // The figures agree with /metrics.
    let (_, _, text) = net.fetch("http://127.0.0.1:9790/metrics", None, None);
    assert!(
        text.contains("connectivity_monitor_outages_total{cause=\"WAN_DOWN\"} 1\n"),
        "{text}"
    );
    let wan = query(
        &net,
        "connectivity_monitor_outages_total{instance=\"pi-lab\",cause=\"WAN_DOWN\"}",
    );
    assert_eq!(wan[0]["value"][1], "1", "{wan:?}");
    dashboard_shows_the_site(&net);

    // None twice: what Prometheus appended is what the daemon said it delivered
    // (a request cut short by the stop may have arrived unannounced: one batch).
    let (status, out) = d.stop();
    assert!(status.success(), "{out}");
    let sent = sent_samples(&out);
    let appended: f64 = prom_get(&net, "/metrics", &[])
        .lines()
        .filter(|l| l.starts_with("prometheus_tsdb_head_samples_appended_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let appended = appended as u64;
    eprintln!("push: the daemon delivered {sent} samples, Prometheus appended {appended}");
    assert!(
        sent <= appended && appended <= sent + pushed.len() as u64 + 20,
        "sent {sent}, appended {appended}"
    );
    assert!(!out.contains("refused"), "{out}");
    drop(prom);
}

/// Every expression of the shipped dashboard, for site "lab", returns data.
fn dashboard_shows_the_site(net: &Net) {
    for (title, expr) in dashboard_exprs() {
        let q = grafana_vars(&expr, "lab");
        let result = query(net, &q);
        assert!(!result.is_empty(), "{title}: {q} returns nothing");
    }
}

fn push_queue_stays_within_its_bound_on_disk_and_is_sent_after_a_restart() {
    const BOUND: u64 = 64 << 10;
    let net = Net::up();
    let cfg = net.config(&format!("{PUSH}queue_max = \"64KiB\"\n"));
    let d = net.daemon(&cfg, "");
    d.wait_for("push: cannot deliver", WAIT);
    d.wait_for("push: the queue reached its bound of 64KiB on disk", WAIT);
    let dir = net.state_dir().join("push");
    let rss_at_bound = rss_kib(d.pid());
    let (mut rss_max, mut disk_max) = (rss_at_bound, 0);
    // Minutes with the receiver down, the daemon's own figures read every 2 s.
    let until = Instant::now() + Duration::from_secs(120);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_secs(2));
        disk_max = disk_max.max(disk_bytes(&dir));
        rss_max = rss_max.max(rss_kib(d.pid()));
    }
    let queued = batches(&dir);
    eprintln!(
        "receiver down 2 min: queue at most {disk_max} B on disk (bound {BOUND}), {} batches; RSS {rss_at_bound} KiB at the bound, at most {rss_max} KiB after",
        queued.len()
    );
    assert!(disk_max <= BOUND && disk_max > BOUND / 2, "{disk_max}");
    assert!(
        rss_max <= rss_at_bound + 512,
        "RSS grew from {rss_at_bound} to {rss_max} KiB"
    );
    let (status, out) = d.stop();
    assert!(status.success(), "{out}");
    assert_eq!(
        out.matches("reached its bound").count(),
        1,
        "said once: {out}"
    );
    assert_eq!(
        out.matches("push: cannot deliver").count(),
        1,
        "said once: {out}"
    );
    let queued = batches(&dir);
    assert!(queued.len() > 2, "{queued:?}");
    let oldest_ms = batch_time_ms(&queued[0]);

    // After a restart with the receiver back, what the queue held is sent first.
    let _prom = prometheus(&net, "tsdb");
    let d = net.daemon(&cfg, "");
    d.wait_for(
        &format!("{} batches queued by an earlier run first", queued.len()),
        WAIT,
    );
    let before_stop = oldest_ms as f64 / 1000.0;
    eventually("the oldest queued sample in Prometheus", WAIT, || {
        let s = raw_samples(
            &net,
            "connectivity_monitor_last_check_timestamp_seconds{instance=\"pi-lab\"}",
            before_stop - 1.0,
        );
        s.iter()
            .any(|(t, _)| (t - before_stop).abs() < 0.0015)
            .then_some(())
    });
    eventually("the earlier run's batches sent", WAIT, || {
        queued.iter().all(|b| !b.exists()).then_some(())
    });
    let dropped = query(
        &net,
        "max_over_time(connectivity_monitor_push_samples_dropped_total{instance=\"pi-lab\",reason=\"queue_full\"}[1h])",
    );
    let n: f64 = dropped[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n > 0.0, "the dropped samples counted: {dropped:?}");
    let (status, out) = d.stop();
    assert!(status.success(), "{out}");
    assert!(!out.contains("refused"), "{out}");
}

/// The batch files in `dir`, oldest first.
fn batches(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rw"))
        .collect();
    files.sort();
    files
}

/// When a batch's samples were taken (its header), Unix milliseconds.
fn batch_time_ms(path: &Path) -> i64 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..5], b"CMRW1");
    i64::from_le_bytes(bytes[9..17].try_into().unwrap())
}

fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn push_drops_a_refused_batch_with_one_line_and_retries_429_and_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebServer::start();
    receiver.respond(400, "out of order sample");
    receiver.respond(400, "out of order sample");
    receiver.respond(429, "slow down");
    receiver.respond(503, "starting");
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[push]\nremote_write_url = \"{}/api/v1/write\"\nevery = \"1s\"\nbearer_token = \"t0ken-s3cret\"\n",
            receiver.url
        ),
    );
    let d = Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    );
    d.wait_for("push: sent", WAIT);
    let reqs = receiver.wait_requests(5, WAIT);
    assert!(reqs.iter().all(|r| r.path == "/api/v1/write"), "{reqs:?}");
    assert_ne!(
        reqs[0].body, reqs[1].body,
        "a refused batch is not sent again"
    );
    assert_eq!(reqs[2].body, reqs[3].body, "after a 429, the same batch");
    assert_eq!(reqs[3].body, reqs[4].body, "after a 503, the same batch");
    let waited = reqs[3].at - reqs[2].at;
    assert!(waited >= Duration::from_millis(900), "backoff: {waited:?}");
    let (_, out) = d.stop();
    assert_eq!(
        out.lines().filter(|l| l.contains("refused")).count(),
        2,
        "one line for the run of refusals, one when it ends: {out}"
    );
    assert!(out.contains("it refused 2 batches"), "{out}");
    assert!(out.contains("HTTP 400: out of order sample"), "{out}");
    assert!(
        out.contains("cannot deliver") && out.contains("HTTP 429: slow down"),
        "{out}"
    );
    assert!(!out.contains("t0ken-s3cret"), "{out}");
}

/// A heartbeat receiver on the simulated internet: prints one line per call.
fn heartbeat_receiver(net: &Net) -> Proc {
    let script = r#"
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("beat %.3f %s" % (time.time(), self.path), flush=True)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"OK")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("198.51.100.80", 8080), H)
print("listening", flush=True)
s.serve_forever()
"#;
    let p = Proc::spawn_in(
        &net.ns("net"),
        "heartbeat receiver",
        &format!("python3 -u -c '{script}'"),
        &[],
    );
    p.wait_for("listening", WAIT);
    p
}

fn beat_times(receiver: &Proc) -> Vec<f64> {
    receiver
        .output()
        .lines()
        .filter_map(|l| l.strip_prefix("beat ")?.split(' ').next()?.parse().ok())
        .collect()
}

fn heartbeat_calls_steadily_never_during_a_cut_and_at_once_after_it() {
    let net = Net::up();
    let receiver = heartbeat_receiver(&net);
    let cfg = net.config(
        "[heartbeat]\nurl = \"http://198.51.100.80:8080/ping/hb-secret-uuid\"\nevery = \"2s\"\ntimeout = \"1s\"\n",
    );
    let d = net.daemon(&cfg, "");
    receiver.wait_for_n("beat", 4, WAIT);
    let steady = beat_times(&receiver);
    for pair in steady.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((1.5..2.5).contains(&gap), "every 2 s: {steady:?}");
    }
    let cut_at = unix_now();
    net.cut("upstream");
    d.wait_for("outage started", WAIT);
    d.wait_for_n("heartbeat: not called", 2, WAIT);
    std::thread::sleep(Duration::from_secs_f64(
        (cut_at + 8.0 - unix_now()).max(0.0),
    ));
    net.restore("upstream");
    let restored_at = unix_now();
    d.wait_for("outage ended", WAIT);
    let ended_at = unix_now();
    d.wait_for("(the outage ended)", WAIT);
    receiver.wait_for("beat", WAIT);
    let beats = beat_times(&receiver);
    let during: Vec<&f64> = beats
        .iter()
        .filter(|t| **t > cut_at + 0.1 && **t < restored_at)
        .collect();
    assert!(during.is_empty(), "no call during the cut: {beats:?}");
    let first_after = beats.iter().find(|t| **t > restored_at).copied().unwrap();
    eprintln!(
        "heartbeat: cut {cut_at:.3}, restored {restored_at:.3}, outage ended {ended_at:.3}; calls {beats:.3?}"
    );
    assert!(
        first_after <= ended_at + 1.0,
        "a call right after the outage: {first_after} (ended {ended_at}): {beats:?}"
    );
    receiver.wait_for_n("beat", 2, WAIT);
    let (status, out) = d.stop();
    assert!(status.success(), "{out}");
    assert!(
        !out.contains("hb-secret-uuid"),
        "the URL is a secret: {out}"
    );
    assert!(
        out.contains("heartbeat: called http://198.51.100.80/…"),
        "{out}"
    );
}

/// `promtool` with `args` in `dir`: its output; panics with it unless it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool {args:?}: {said}");
    said
}

fn the_shipped_alert_rules_pass_promtool_with_a_test_case_per_rule() {
    let dir = repo("packaging/prometheus");
    let said = promtool(&dir, &["check", "rules", "alerts.yml"]);
    assert!(said.contains("SUCCESS: 4 rules found"), "{said}");
    let said = promtool(&dir, &["test", "rules", "alerts.test.yml"]);
    assert!(said.contains("SUCCESS"), "{said}");
    let rules = std::fs::read_to_string(dir.join("alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("alerts.test.yml")).unwrap();
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for name in names {
        let cases = tests.matches(&format!("alertname: {name}\n")).count();
        let firing = tests
            .split(&format!("alertname: {name}\n"))
            .skip(1)
            .filter(|after| after.trim_start().starts_with("exp_alerts:\n"))
            .count();
        assert!(
            cases >= 2 && firing >= 1,
            "{name}: a case where it fires and one where it does not"
        );
    }
}

/// Every `expr` of the dashboard, with the title of its panel.
fn dashboard_exprs() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(repo("packaging/grafana/connectivity-monitor.json")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap().to_owned();
            p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (title.clone(), t["expr"].as_str().unwrap().to_owned()))
        })
        .collect()
}

/// An expression with Grafana's variables as Grafana fills them in.
fn grafana_vars(expr: &str, site: &str) -> String {
    expr.replace("${site}", site)
        .replace("$site", site)
        .replace("$__rate_interval", "1m")
        .replace("$__range", "10m")
        .replace("$__interval", "15s")
}

fn the_shipped_dashboard_has_a_site_variable_and_valid_promql() {
    let text =
        std::fs::read_to_string(repo("packaging/grafana/connectivity-monitor.json")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(vars.contains(&"site"), "{vars:?}");
    let exprs = dashboard_exprs();
    let titles: BTreeSet<&str> = exprs.iter().map(|(t, _)| t.as_str()).collect();
    for needed in [
        "Availability per site",
        "Outages by cause",
        "RTT per target",
        "Loss per target",
    ] {
        assert!(titles.contains(needed), "{titles:?}");
    }
    for (title, expr) in &exprs {
        assert!(
            expr.contains("site=~\"$site\""),
            "{title}: filtered by the site variable: {expr}"
        );
    }
    // Each expression as a recording rule: promtool parses every one.
    let dir = tempfile::tempdir().unwrap();
    let rules: String = exprs
        .iter()
        .enumerate()
        .map(|(i, (_, e))| {
            format!(
                "      - record: dashboard:expr{i}\n        expr: {}\n",
                serde_json::to_string(&grafana_vars(e, ".*")).unwrap()
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("dashboard.yml"),
        format!("groups:\n  - name: dashboard\n    rules:\n{rules}"),
    )
    .unwrap();
    let said = promtool(dir.path(), &["check", "rules", "dashboard.yml"]);
    assert!(
        said.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{said}"
    );
    // promtool does refuse a broken one: the check can fail.
    std::fs::write(
        dir.path().join("broken.yml"),
        "groups:\n  - name: b\n    rules:\n      - record: b:x\n        expr: \"sum by (site (x)\"\n",
    )
    .unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules", "broken.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

crate::tests! {
    push_delivers_every_series_with_the_sites_labels_and_what_a_cut_held_back => [Need::Root, Need::Tool("prometheus")],
    push_queue_stays_within_its_bound_on_disk_and_is_sent_after_a_restart => [Need::Root, Need::Tool("prometheus")],
    push_drops_a_refused_batch_with_one_line_and_retries_429_and_5xx => [],
    heartbeat_calls_steadily_never_during_a_cut_and_at_once_after_it => [Need::Root, Need::Tool("python3")],
    the_shipped_alert_rules_pass_promtool_with_a_test_case_per_rule => [Need::Tool("promtool")],
    the_shipped_dashboard_has_a_site_variable_and_valid_promql => [Need::Tool("promtool")],
}
