//! The daemon under a real systemd (PID 1 of a systemd-nspawn container) in the
//! simulated network: start, status, journal, reload, watchdog, stop, deploy.sh.

use crate::common;

use std::time::Duration;

use crate::common::needs::Need;
use common::{config_text, Container, Net, BIN};

const UNIT: &str = "connectivity-monitor";
const WAIT: Duration = Duration::from_secs(20);

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Installs the built binary, the shipped unit (watchdog shortened by a drop-in) and a test config.
fn install(c: &Container, config: &str) {
    c.ok(&format!(
        "install -m 0755 {BIN} /usr/local/bin/connectivity-monitor"
    ));
    c.ok(&format!(
        "sed 's|/usr/bin/connectivity-monitor|/usr/local/bin/connectivity-monitor|' {} > /etc/systemd/system/{UNIT}.service",
        repo("packaging/connectivity-monitor.service")
    ));
    c.write(
        &format!("/etc/systemd/system/{UNIT}.service.d/test.conf"),
        "[Service]\nWatchdogSec=3s\nRestartSec=1s\nEnvironment=RUST_LOG=connectivity_monitor=info\n",
    );
    c.write("/etc/connectivity-monitor/config.toml", config);
    c.ok("systemctl daemon-reload");
}

fn journal(c: &Container) -> String {
    c.sh(&format!("journalctl -u {UNIT} --no-pager -o cat")).1
}

fn service_lifecycle_under_systemd() {
    let net = Net::up();
    let c = Container::start(&net, "s");
    // A baseline trace at start: path capture must work under the hardened unit.
    // The live surfaces too: the page and /metrics, and an MQTT broker that is not there.
    install(
        &c,
        &config_text(
            "",
            "[path]\nrounds = 2\n[serve]\nlisten = \"127.0.0.1:9790\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\n",
        ),
    );

    // start returns only after READY=1, which carries the first STATUS line.
    c.ok(&format!("systemctl start {UNIT}"));
    assert_eq!(c.prop(UNIT, "ActiveState"), "active");
    assert!(
        !c.prop(UNIT, "StatusText").is_empty(),
        "READY came with a status"
    );
    c.wait_until("STATUS shows the first check", WAIT, |c| {
        c.prop(UNIT, "StatusText").starts_with("OK · gw ")
    });
    let status = c.sh(&format!("systemctl status {UNIT} --no-pager")).1;
    assert!(status.contains("Status: \"OK · gw "), "{status}");
    let user = c.prop(UNIT, "MainPID");
    let owner = c.ok(&format!("stat -c %U /proc/{user}"));
    assert_ne!(owner.trim(), "root", "DynamicUser: not running as root");

    // Path capture under DynamicUser= with no capability: the baseline table.
    c.wait_until("a baseline path table", WAIT, |c| {
        c.sh("cat /var/log/connectivity-monitor/paths/one.log")
            .1
            .contains("baseline: one 198.51.100.1, reached")
    });

    // /metrics under the hardened unit (no capability added), while MQTT retries.
    c.wait_until("metrics served", WAIT, |c| {
        c.sh("python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9790/metrics').read().decode())\"")
            .1
            .contains("connectivity_monitor_probe_success{")
    });
    assert!(
        journal(&c).contains("MQTT broker unreachable"),
        "{}",
        journal(&c)
    );

    // Journal: structured fields, no prefix.
    c.wait_until("VERDICT field in the journal", WAIT, |c| {
        c.sh(&format!("journalctl -u {UNIT} -o json --no-pager"))
            .1
            .contains("\"VERDICT\":\"OK\"")
    });

    // A cut while running: an outage row after the link is restored, with structured fields.
    net.cut("upstream");
    c.wait_until("outage started", WAIT, |c| {
        journal(c).contains("outage started")
    });
    let json = c.sh(&format!("journalctl -u {UNIT} -o json --no-pager")).1;
    assert!(
        json.contains("\"OUTAGE_CAUSE\":\"WAN_DOWN\""),
        "OUTAGE_CAUSE field"
    );
    assert!(json.contains("\"PROBE\":\"icmp\""), "PROBE field");
    // The probed target has a field of its own; TARGET stays tracing's.
    let line = json
        .lines()
        .find(|l| l.contains("no answer") && l.contains("target one"))
        .unwrap_or("");
    let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    assert_eq!(
        entry["PROBE_TARGET"], "target one",
        "PROBE_TARGET field: {line}"
    );
    assert!(
        !entry["TARGET"].is_array(),
        "TARGET holds one value, not the probed target too: {line}"
    );
    net.restore("upstream");
    c.wait_until("outage row written", WAIT, |c| {
        c.sh("cat /var/log/connectivity-monitor/outage_log.csv")
            .1
            .contains(",WAN_DOWN,")
    });

    // Reload with a valid change: applied, still active.
    c.write(
        "/etc/connectivity-monitor/config.toml",
        &config_text("pings = 5", ""),
    );
    c.ok(&format!("systemctl reload {UNIT}"));
    c.wait_until("reload applied", WAIT, |c| {
        journal(c).contains("reloaded /etc/connectivity-monitor/config.toml: changed monitor")
    });
    // Reload with a broken file: keeps running, STATUS says so.
    c.write(
        "/etc/connectivity-monitor/config.toml",
        "[monitor]\ndown_after = 0\n",
    );
    c.ok(&format!("systemctl reload {UNIT}"));
    c.wait_until("reload failed in STATUS", WAIT, |c| {
        c.prop(UNIT, "StatusText").starts_with("reload failed: ")
    });
    assert_eq!(c.prop(UNIT, "ActiveState"), "active");
    assert!(journal(&c).contains("monitor.down_after = 0: must be a whole number from 1 to 1000"));
    c.write(
        "/etc/connectivity-monitor/config.toml",
        &config_text("", ""),
    );
    c.ok(&format!("systemctl reload {UNIT}"));
    c.wait_until("good reload clears the failure", WAIT, |c| {
        c.prop(UNIT, "StatusText").starts_with("OK")
    });

    // A wedged process: the watchdog pings stop and systemd restarts it.
    let pid = c.prop(UNIT, "MainPID");
    c.ok(&format!("kill -STOP {pid}"));
    c.wait_until("watchdog restart", Duration::from_secs(30), |c| {
        c.prop(UNIT, "NRestarts") == "1"
    });
    c.wait_until("active again", WAIT, |c| {
        c.prop(UNIT, "ActiveState") == "active" && c.prop(UNIT, "MainPID") != pid
    });
    assert!(
        journal(&c).contains("Watchdog timeout")
            || c.sh("journalctl --no-pager").1.contains("Watchdog timeout")
    );

    // Stop during an outage: clean exit, the open outage saved, not closed.
    net.cut("upstream");
    c.wait_until("second outage", WAIT, |c| {
        journal(c).matches("outage started").count() >= 2
    });
    c.ok(&format!("systemctl stop {UNIT}"));
    assert_eq!(c.prop(UNIT, "Result"), "success");
    assert_eq!(c.prop(UNIT, "ExecMainStatus"), "0");
    let state = c.ok("cat /var/lib/connectivity-monitor/state.json");
    assert!(
        state.contains("\"cause\": \"WAN_DOWN\""),
        "open outage persisted: {state}\n{}",
        journal(&c)
    );
    let rows = c.ok("cat /var/log/connectivity-monitor/outage_log.csv");
    assert_eq!(
        rows.lines().count(),
        2,
        "header + the first outage only: {rows}"
    );
    net.restore("upstream");
}

fn deploy_script_installs_starts_and_uninstalls() {
    let net = Net::up();
    let c = Container::start(&net, "d");
    let deploy = repo("deploy.sh");

    let dry = c.ok(&format!("{deploy} --dry-run --binary {BIN}"));
    assert!(dry.contains("(dry run) install -D -m 0755"), "{dry}");
    assert_eq!(
        c.sh("test -e /usr/local/bin/connectivity-monitor").0,
        1,
        "dry run installs nothing"
    );

    // A user's config is never overwritten.
    c.write(
        "/etc/connectivity-monitor/config.toml",
        &config_text("", ""),
    );
    let out = c.ok(&format!("{deploy} --binary {BIN}"));
    assert!(
        out.contains("keep the existing /etc/connectivity-monitor/config.toml"),
        "{out}"
    );
    assert_eq!(
        c.ok(&format!("systemctl is-active {UNIT}")).trim(),
        "active"
    );
    assert!(c
        .ok("cat /etc/connectivity-monitor/config.toml")
        .contains("198.51.100.1"));
    // Idempotent.
    c.ok(&format!("{deploy} --binary {BIN}"));
    assert_eq!(
        c.ok(&format!("systemctl is-active {UNIT}")).trim(),
        "active"
    );

    let out = c.ok(&format!("{deploy} --uninstall"));
    assert!(out.contains("kept:"), "{out}");
    assert_eq!(c.sh("test -e /usr/local/bin/connectivity-monitor").0, 1);
    assert_eq!(
        c.sh(&format!("test -e /etc/systemd/system/{UNIT}.service"))
            .0,
        1
    );
    assert_eq!(
        c.sh("test -e /etc/connectivity-monitor/config.toml").0,
        0,
        "config kept"
    );
}

fn deploy_refuses_an_invalid_config() {
    let net = Net::up();
    let c = Container::start(&net, "i");
    c.write(
        "/etc/connectivity-monitor/config.toml",
        "[monitor]\nbogus = 1\n",
    );
    let (code, out) = c.sh(&format!("{} --binary {BIN}", repo("deploy.sh")));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("is invalid"), "{out}");
    assert!(out.contains("monitor.bogus"), "the reason is shown: {out}");
    assert_ne!(
        c.sh(&format!("systemctl is-active {UNIT}")).1.trim(),
        "active"
    );
}

fn ssh_failures_in_the_journal_alert_once_across_a_restart() {
    let net = Net::up();
    let c = Container::start(&net, "h");
    install(
        &c,
        &config_text("", "[sensors.ssh]\nmax_failures = 3\nwindow = \"10m\"\n"),
    );
    c.ok(&format!("systemctl start {UNIT}"));
    c.wait_until("ssh sensor started", WAIT, |c| {
        journal(c).contains("ssh sensor:")
    });
    let fail = "systemd-cat -t sshd sh -c 'echo Failed password for invalid user admin from 192.0.2.7 port 50022 ssh2'";
    for _ in 0..2 {
        c.ok(fail);
    }
    // Two are fewer than the limit: counted (and kept across a restart), no alert.
    c.wait_until("failures counted", WAIT, |c| {
        c.sh("cat /var/lib/connectivity-monitor/ssh.json")
            .1
            .matches("192.0.2.7")
            .count()
            == 2
    });
    assert!(!journal(&c).contains("SSH_FAILURES"), "{}", journal(&c));
    c.ok(&format!("systemctl restart {UNIT}"));
    for _ in 0..2 {
        c.ok(fail);
    }
    // The burst straddled the restart: four in the window, one alert.
    c.wait_until("the alert", WAIT, |c| {
        journal(c).contains("alert WARNING: SSH_FAILURES")
    });
    let json = c.sh(&format!("journalctl -u {UNIT} -o json --no-pager")).1;
    let alert = json
        .lines()
        .find(|l| l.contains("alert WARNING: SSH_FAILURES"))
        .unwrap_or_default();
    assert!(
        alert.contains("4 failed SSH logins")
            && alert.contains("from 192.0.2.7 ×4")
            && alert.contains("users admin ×4"),
        "{alert}"
    );
    assert_eq!(
        journal(&c).matches("alert WARNING: SSH_FAILURES").count(),
        1
    );
}

crate::tests! {
    service_lifecycle_under_systemd => [Need::Root, Need::Tool("systemd-nspawn")],
    deploy_script_installs_starts_and_uninstalls => [Need::Root, Need::Tool("systemd-nspawn")],
    deploy_refuses_an_invalid_config => [Need::Root, Need::Tool("systemd-nspawn")],
    ssh_failures_in_the_journal_alert_once_across_a_restart => [Need::Root, Need::Tool("systemd-nspawn")],
}
