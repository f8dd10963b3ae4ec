//! The daemon in a hostile environment: a disk that fills, a burst of reloads,
//! a FIFO where its state should be, secrets planted in URLs, a filesystem
//! whose statfs hangs, an SSH brute-force, a full state_dir, a huge state
//! file. Each test is named after what broke before it was fixed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::needs::Need;
use common::hostile::{daemon_beside_hung_fuse, thread_names, Tmpfs};
use common::{failing_daemon, free_port, loopback_config, read_rows, Net, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(20);

fn daemon(cfg: &Path) -> Proc {
    Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    )
}

fn disk_full_mid_write_leaves_every_row_whole_and_once() {
    // Regression: a row was written in part, then whole again once space
    // returned: a torn line followed by a duplicate.
    let fs = Tmpfs::mount(64);
    let dir = tempfile::tempdir().unwrap();
    let cfg = loopback_config(dir.path(), "");
    // Ten checks a second fill what is left of the file's last page quickly.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            &format!("log_dir = \"{}/logs\"", dir.path().display()),
            &format!("log_dir = \"{}\"", fs.at.display()),
        )
        .replace("interval = \"300ms\"", "interval = \"100ms\"")
        .replace("timeout = \"200ms\"", "timeout = \"50ms\"");
    std::fs::write(&cfg, text).unwrap();
    let d = daemon(&cfg);
    d.wait_for_n("check:", 2, WAIT);
    let filler = fs.fill();
    d.wait_for("rows are kept and retried", WAIT);
    d.wait_for_n("check:", 5, WAIT);
    std::fs::remove_file(filler).unwrap();
    d.wait_for("log file writable again", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");

    let text = std::fs::read_to_string(fs.at.join("connection_log.csv")).unwrap();
    let columns = text.lines().next().unwrap_or_default().split(',').count();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    for line in &rows {
        assert_eq!(
            line.split(',').count(),
            columns,
            "every row whole: {line:?}\n{text}"
        );
    }
    // One row per check, no more (a duplicate), no fewer (a row lost).
    assert_eq!(rows.len(), log.matches("check: ").count(), "{text}\n{log}");
}

fn a_burst_of_reloads_is_one_reload_and_no_false_gap() {
    // Regression: 200 SIGHUPs in 2 s skipped checks and logged a false
    // "monitoring gap … daemon stopped or machine suspended".
    let dir = tempfile::tempdir().unwrap();
    let cfg = loopback_config(dir.path(), "");
    let d = daemon(&cfg);
    d.wait_for("verdict start → OK", WAIT);
    for _ in 0..200 {
        d.signal("-HUP");
        std::thread::sleep(Duration::from_millis(10)); // the burst itself, not a wait
    }
    d.wait_for("reloaded", WAIT);
    d.wait_for_n("check:", 10, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("monitoring gap"), "{log}");
    let reloads = log.matches("reloaded ").count();
    assert!(
        (1..=3).contains(&reloads),
        "coalesced, not 200: {reloads}\n{log}"
    );
    assert!(
        log.contains(": no changes"),
        "an unchanged file restarts nothing: {log}"
    );
}

fn a_fifo_at_state_json_is_set_aside_and_the_daemon_starts() {
    // Regression: start-up hung for ever with no log and no READY.
    let dir = tempfile::tempdir().unwrap();
    let cfg = loopback_config(dir.path(), "");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    assert!(Command::new("mkfifo")
        .arg(state.join("state.json"))
        .status()
        .unwrap()
        .success());
    let d = daemon(&cfg);
    let line = d.wait_for("is not a regular file", WAIT);
    assert!(line.contains("starting without it (kept as"), "{line}");
    d.wait_for("verdict start → OK", WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    let state_file = std::fs::symlink_metadata(state.join("state.json")).unwrap();
    assert!(state_file.is_file(), "a real state file replaced it");
}

fn secrets_planted_in_urls_appear_in_no_output() {
    // Regression: check-config printed user:password from URLs; a failing
    // HTTP probe carried ?token=… into the CSV, the journal and `once`.
    let mut net = Net::up();
    let planted = ["PLANTEDPASS", "PLANTEDTOKEN", "PLANTEDAPI", "PLANTEDBOT"];
    let cfg = net.config(
        "[[http]]\nname = \"secret\"\nurl = \"http://user:PLANTEDPASS@198.51.100.80:81/?token=PLANTEDTOKEN\"\n\
         [notify.telegram]\nbot_token = \"1:PLANTEDBOT\"\nchat_id = 7\napi_base = \"http://bot:PLANTEDAPI@198.51.100.80:8080\"\n",
    );
    let mut outputs = Vec::new();
    let cmd = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", &net.ns("mon"), BIN])
            .args(args)
            .arg("-c")
            .arg(&cfg)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let printed = cmd(&["check-config"]);
    assert!(
        printed.contains("http://redacted:redacted@198.51.100.80:81/?token=redacted"),
        "{printed}"
    );
    outputs.push(("check-config", printed));
    outputs.push(("once", cmd(&["once"])));
    outputs.push(("once --json", cmd(&["once", "--json"])));
    outputs.push(("notify-test", cmd(&["notify-test"])));
    let d = net.daemon(&cfg, "");
    let failed = d.wait_for("http secret", WAIT);
    assert!(failed.contains("no answer"), "the probe fails: {failed}");
    // An outage with the internet up (DNS down), so that an alert goes at
    // once to the channel whose api_base holds a secret, and fails there.
    net.stop_dns();
    d.wait_for("not delivered", WAIT);
    net.start_dns();
    d.wait_for("outage ended", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    let (_, log) = d.stop();
    outputs.push(("daemon", log));
    for dir in [net.log_dir(), net.state_dir()] {
        for file in files_under(&dir) {
            outputs.push(("file", std::fs::read_to_string(&file).unwrap_or_default()));
        }
    }
    assert!(!read_rows(&net.log_dir().join("connection_log.csv")).is_empty());
    for (what, text) in &outputs {
        for secret in planted {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The connection log's timestamps, in seconds since the epoch.
fn check_times(log_dir: &Path) -> Vec<f64> {
    read_rows(&log_dir.join("connection_log.csv"))
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(&r[0])
                .unwrap_or_else(|e| panic!("timestamp {:?}: {e}", &r[0]))
                .timestamp_micros() as f64
                / 1e6
        })
        .collect()
}

fn a_statfs_that_never_answers_stops_no_check() {
    // Regression: with a hung FUSE mount watched, no check was written for
    // 25 s, then a false monitoring gap: statvfs ran on the probes' thread.
    let other = Tmpfs::mount(256);
    other.fill_to(60);
    let dir = tempfile::tempdir().unwrap();
    let hung = dir.path().join("hung");
    std::fs::create_dir(&hung).unwrap();
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[sensors.disk]\nevery = \"1s\"\nwarn_used_pct = 50\ncritical_used_pct = 95\nmounts = [\"{}\", \"{}\"]\n",
            hung.display(),
            other.at.display()
        ),
    );
    let d = daemon_beside_hung_fuse(&hung, &cfg);
    d.wait_for("hangfs: statfs asked", WAIT);
    let said = d.wait_for("has not answered statfs", WAIT);
    assert!(said.contains(&hung.display().to_string()), "{said}");
    // The other filesystem is measured and alerts all the same.
    d.wait_for(
        &format!("alert WARNING: DISK_FULL:{}", other.at.display()),
        WAIT,
    );
    // Each check as it comes: one per 300 ms interval, none held back.
    let mut last = std::time::Instant::now();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        d.wait_for("check:", WAIT);
        worst = worst.max(last.elapsed());
        last = std::time::Instant::now();
    }
    let statvfs_threads = thread_names(d.pid())
        .iter()
        .filter(|n| n.as_str() == "statvfs")
        .count();
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(
        worst < Duration::from_millis(900),
        "one check per 300 ms interval; the longest wait was {worst:?}"
    );
    assert_eq!(statvfs_threads, 1, "one call in flight, not one per pass");
    assert_eq!(
        log.matches("has not answered statfs").count(),
        1,
        "said once: {log}"
    );
    assert!(!log.contains("monitoring gap"), "{log}");
    // The log agrees: no second without its checks (whole-second stamps).
    let times = check_times(&dir.path().join("logs"));
    let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(times.len() >= 20 && worst <= 1.0, "{times:?}");
    assert!(read_rows(&dir.path().join("logs/outage_log.csv")).is_empty());
}

fn state_dir_full_while_an_alert_is_raised_it_is_delivered_once_space_is_back() {
    // Regression: "cannot queue notification … it is NOT sent", and it never was.
    let state = Tmpfs::mount(256);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens yet: every send fails
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[alerts]\nwarn_after = \"2s\"\n\
             [notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"http://127.0.0.1:{port}\"\n"
        ),
    );
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("state_dir = \"{}/state\"", dir.path().display()),
        &format!("state_dir = \"{}\"", state.at.display()),
    );
    std::fs::write(&cfg, text).unwrap();
    let d = failing_daemon(&cfg);
    d.wait_for("check:", WAIT);
    let filler = state.fill();
    let held = d.wait_for("cannot queue notification", WAIT);
    assert!(held.contains("kept in memory"), "{held}");
    d.wait_for("not delivered", WAIT);
    std::fs::remove_file(filler).unwrap();
    d.wait_for("held notifications written to it", WAIT);
    let spooled = std::fs::read_dir(state.at.join("outbox/telegram"))
        .unwrap()
        .count();
    assert_eq!(spooled, 1, "the WARNING is in the outbox now");
    d.wait_for_n("check:", 2, WAIT);
    let log = d.output();
    d.kill9();
    assert_eq!(
        log.matches("cannot queue notification").count(),
        1,
        "said once: {log}"
    );
    // A crash after the space came back: the outbox still holds it.
    let tg = WebServer::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let d = failing_daemon(&cfg);
    tg.wait_requests(1, WAIT);
    d.wait_for_n("check:", 5, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let bodies: Vec<String> = tg.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies.len(), 1, "delivered once: {bodies:#?}");
    assert!(bodies[0].contains("WARNING"), "{}", bodies[0]);
}

fn a_huge_alerts_json_of_unknown_conditions_is_set_aside_and_checks_start_at_once() {
    // Regression: 300,000 unknown conditions in a 36 MB alerts.json kept the
    // daemon busy for 10 minutes at start, with no check and SIGTERM ignored.
    let dir = tempfile::tempdir().unwrap();
    let cfg = loopback_config(dir.path(), "");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let entry = r#"{"since":"2026-01-01T00:00:00Z","raised":"warning","last":"2026-01-01T00:00:00Z","label":"UNKNOWN","held":false}"#;
    let mut text = String::from("{");
    for i in 0..300_000 {
        text.push_str(&format!(
            "{}\"bogus:{i}\":{entry}",
            if i > 0 { "," } else { "" }
        ));
    }
    text.push('}');
    std::fs::write(state.join("alerts.json"), &text).unwrap();
    let started = std::time::Instant::now();
    let d = daemon(&cfg);
    let said = d.wait_for("alerts.json is", WAIT);
    assert!(
        said.contains("kept as") && said.contains("alerts.json.bad-"),
        "{said}"
    );
    d.wait_for_n("check:", 3, WAIT);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "checks at once"
    );
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("RECOVERED"), "nothing replayed: {log}");
    let aside: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("alerts.json.bad-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::metadata(aside[0].path()).unwrap().len(),
        text.len() as u64,
        "kept whole"
    );
}

/// The RTTs to the gateway that `ping` measures from the monitor's namespace, ms.
fn ping_gateway(net: &Net) -> Vec<f64> {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &net.ns("mon"),
            "ping",
            "-c",
            "5",
            "-i",
            "0.2",
            "10.0.1.1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rtts: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split("time=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(!rtts.is_empty(), "ping: {text}");
    rtts
}

fn an_ssh_flood_of_5000_lines_leaves_every_check_ok_and_rtts_real() {
    // Regression: 5,000 failure lines at once gave RTTs of 217-337 ms (ping
    // said 0.12), false DEGRADED and HTTP_FAIL checks, and ssh.json was
    // rewritten and fsynced once per line on the probes' thread.
    let net = Net::up();
    let auth = net.dir.path().join("auth.log");
    std::fs::write(&auth, "").unwrap();
    let cfg = net.config(&format!(
        "[sensors.ssh]\nmax_failures = 10\nwindow = \"5m\"\nlog_file = \"{}\"\n",
        auth.display()
    ));
    let d = net.daemon(&cfg, "");
    d.wait_for("ssh sensor: following", WAIT);
    d.wait_for_n("check:", 2, WAIT);
    let io_before = written_bytes(d.pid());
    let mut lines = String::new();
    for i in 0..5_000 {
        lines.push_str(&format!(
            "Dec  3 06:00:00 pi sshd[{i}]: Failed password for invalid user root from 10.9.9.9 port 1 from 192.168.77.{} port {} ssh2\n",
            i % 3,
            40_000 + i
        ));
    }
    let first_row = net.connection_rows().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&auth)
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()))
        .unwrap();
    let alert = d.wait_for("alert WARNING: SSH_FAILURES", WAIT);
    d.wait_for_n("check:", 10, WAIT);
    let written = written_bytes(d.pid()) - io_before;
    let reference = ping_gateway(&net);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert!(alert.contains("alert WARNING: SSH_FAILURES"), "{alert}");
    // Counted whole, and from the source sshd appended, not the one in the name.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(net.state_dir().join("ssh.json")).unwrap()).unwrap();
    let counted: u64 = saved["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 5_000, "{saved}");
    let kept = saved["failures"].as_array().unwrap();
    assert!(
        !kept.is_empty()
            && kept
                .iter()
                .all(|f| f["addr"].as_str().unwrap().starts_with("192.168.77.")),
        "{saved}"
    );
    assert!(
        written < 20_000_000,
        "{written} bytes written for 5,000 lines"
    );
    let rows = net.connection_rows();
    let during = &rows[first_row..];
    assert!(during.len() >= 10, "{during:?}");
    let worst_ping = reference.iter().cloned().fold(0.0, f64::max);
    let worst_gw = during
        .iter()
        .filter_map(|r| r[2].parse::<f64>().ok())
        .fold(0.0, f64::max);
    eprintln!(
        "5,000 lines: {} checks, worst gateway RTT {worst_gw} ms (ping: {reference:?}), {written} bytes written",
        during.len()
    );
    for r in during {
        assert_eq!(&r[1], "OK", "every check OK: {r:?}");
        let gw: f64 = r[2]
            .parse()
            .unwrap_or_else(|_| panic!("a gateway RTT: {r:?}"));
        assert!(
            gw <= worst_ping + 1.0,
            "gateway RTT {gw} ms, ping says {reference:?}: {r:?}"
        );
    }
    assert!(net.outage_rows().is_empty());
}

fn a_daemon_held_still_while_a_reply_waits_times_only_the_network() {
    // Regression: a round trip was timed when the daemon read the reply, so
    // time it spent unscheduled (an SSH flood on two cores gave 3.7 ms, ping
    // 0.05) was put on the network. The gateway's echoes (one a check, no
    // traces) are answered by a responder that, at the third, stops the
    // daemon, answers 100 ms later and lets it go on 250 ms after that: well
    // within the round's 810 ms.
    let net = Net::up();
    net.exec_in("gw", &["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1"]);
    let dirs = format!(
        "pings = 1\nlog_dir = \"{}\"\nstate_dir = \"{}\"\n",
        net.log_dir().display(),
        net.state_dir().display()
    );
    let cfg = net.dir.path().join("config.toml");
    let text = common::config_text(&dirs, "[path]\nenabled = false\n")
        .replace("timeout = \"500ms\"", "timeout = \"900ms\"");
    assert!(text.contains("timeout = \"900ms\""), "{text}");
    std::fs::write(&cfg, text).unwrap();
    // The responder answers from the first round on; it reads the daemon's
    // id when the third comes.
    let pidfile = net.dir.path().join("daemon.pid");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/stallecho.py");
    let responder = Proc::spawn_in(
        &net.ns("gw"),
        "stallecho",
        &format!(
            "python3 {} {} 3 0.1 0.25",
            script.display(),
            pidfile.display()
        ),
        &[],
    );
    responder.wait_for("ready", WAIT);
    let d = net.daemon(&cfg, "");
    std::fs::write(&pidfile, d.pid().to_string()).unwrap();
    let stalled = responder.wait_for("stalled", WAIT);
    let ms = |key: &str| -> f64 {
        stalled
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {stalled}"))
    };
    let (answered, continued) = (ms("answered_ms="), ms("continued_ms="));
    // Five checks: the held one (the third) and two after it.
    d.wait_for_n("check:", 5, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let gateway: Vec<f64> = net
        .connection_rows()
        .iter()
        .filter_map(|r| r[2].parse().ok())
        .collect();
    let slow: Vec<f64> = gateway
        .iter()
        .copied()
        .filter(|&g| g >= answered / 2.0)
        .collect();
    eprintln!("{log}");
    eprintln!("gateway RTTs {gateway:?}; answered after {answered} ms, read after {continued} ms");
    assert_eq!(slow.len(), 1, "one echo answered late: {gateway:?}");
    // Timed to its answer, not to when the daemon could read it (250 ms later).
    assert!(
        slow[0] < answered + 50.0,
        "the held echo took {} ms: answered after {answered} ms, read after {continued} ms",
        slow[0]
    );
    assert!(net.outage_rows().is_empty());
}

/// Bytes process `pid` has written (write calls: files, pipes), from /proc.
fn written_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("wchar: ")?.trim().parse().ok())
        .unwrap()
}

crate::tests! {
    disk_full_mid_write_leaves_every_row_whole_and_once => [Need::Root],
    a_burst_of_reloads_is_one_reload_and_no_false_gap => [],
    a_fifo_at_state_json_is_set_aside_and_the_daemon_starts => [],
    secrets_planted_in_urls_appear_in_no_output => [Need::Root],
    a_statfs_that_never_answers_stops_no_check => [Need::Root, Need::File("/dev/fuse")],
    state_dir_full_while_an_alert_is_raised_it_is_delivered_once_space_is_back => [Need::Root],
    a_huge_alerts_json_of_unknown_conditions_is_set_aside_and_checks_start_at_once => [],
    an_ssh_flood_of_5000_lines_leaves_every_check_ok_and_rtts_real => [Need::Root],
    a_daemon_held_still_while_a_reply_waits_times_only_the_network => [Need::Root, Need::Tool("python3")],
}
