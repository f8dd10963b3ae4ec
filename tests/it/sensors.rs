//! Host sensors through the real channels: a small tmpfs filled past its
//! thresholds, memory from a meminfo file the test writes, restarts that keep
//! alerts paired, and per-watch maintenance windows.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::needs::Need;
use common::hostile::Tmpfs;
use common::{free_port, loopback_config, smtp_server, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(30);

fn daemon(cfg: &Path, env: &[(&str, &str)]) -> Proc {
    let mut all = vec![("RUST_LOG", "connectivity_monitor=debug")];
    all.extend_from_slice(env);
    Proc::spawn_in_current("daemon", &format!("{BIN} run -c {}", cfg.display()), &all)
}

/// The labels (WARNING, CRITICAL, RECOVERED) in the order they arrived.
fn labels(bodies: &[String]) -> Vec<&'static str> {
    bodies
        .iter()
        .map(|b| {
            if b.contains("RECOVERED") {
                "RECOVERED"
            } else if b.contains("CRITICAL") {
                "CRITICAL"
            } else if b.contains("WARNING") {
                "WARNING"
            } else {
                "?"
            }
        })
        .collect()
}

fn a_filling_disk_warns_then_goes_critical_then_recovers_on_every_channel() {
    let fs = Tmpfs::mount(1024);
    let other = Tmpfs::mount(256);
    let dir = tempfile::tempdir().unwrap();
    let (tg, teams) = (WebServer::start(), WebServer::start());
    let port = free_port();
    let mail = smtp_server(port, "plain");
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n\
             [notify.teams]\nwebhook_url = \"{}/hook\"\n\
             [notify.email]\nserver = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"m@example.com\"\nto = [\"me@example.com\"]\n\
             [sensors.disk]\nevery = \"1s\"\nwarn_used_pct = 50\ncritical_used_pct = 80\nmounts = [\"{}\", \"{}\"]\nexclude = [\"{}\"]\n",
            tg.url,
            teams.url,
            fs.at.display(),
            other.at.display(),
            other.at.display()
        ),
    );
    other.fill_to(100); // excluded: never alerts
    let d = daemon(&cfg, &[]);
    d.wait_for("disk sensor:", WAIT);
    fs.fill_to(60);
    tg.wait_requests(1, WAIT);
    fs.fill_to(90);
    tg.wait_requests(2, WAIT);
    fs.fill_to(0);
    let got = tg.wait_requests(3, WAIT);
    teams.wait_requests(3, WAIT);
    mail.wait_for_n("\"data\"", 3, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let shown = fs.at.display().to_string();
    for (channel, bodies) in [
        (
            "telegram",
            tg.requests()
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "teams",
            teams
                .requests()
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "email",
            mail.output()
                .lines()
                .filter(|l| l.contains("\"data\""))
                .map(str::to_owned)
                .collect(),
        ),
    ] {
        assert_eq!(
            labels(&bodies),
            ["WARNING", "CRITICAL", "RECOVERED"],
            "{channel} in order, once each: {bodies:#?}"
        );
        assert!(
            bodies
                .iter()
                .all(|b| b.contains(&format!("DISK_FULL:{shown}"))),
            "{channel}: {bodies:#?}"
        );
        assert!(
            !bodies
                .iter()
                .any(|b| b.contains(&other.at.display().to_string())),
            "excluded: {bodies:#?}"
        );
    }
    assert!(
        got[0].body.contains(" % used (warn 50 %, critical 80 %)") && got[0].body.contains("free"),
        "{}",
        got[0].body
    );
}

fn memory_thresholds_from_meminfo_warn_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let tg = WebServer::start();
    let meminfo = dir.path().join("meminfo");
    let write = |available_kb: u64| {
        std::fs::write(
            &meminfo,
            format!("MemTotal: 1000000 kB\nMemFree: 5000 kB\nMemAvailable: {available_kb} kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"),
        )
        .unwrap()
    };
    write(500_000);
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n\
             [sensors.memory]\nevery = \"1s\"\nwarn_used_pct = 80\ncritical_used_pct = 95\n",
            tg.url
        ),
    );
    let d = daemon(
        &cfg,
        &[("CONNECTIVITY_MONITOR_MEMINFO", meminfo.to_str().unwrap())],
    );
    d.wait_for("memory sensor:", WAIT);
    write(150_000); // 85 % used
    let got = tg.wait_requests(1, WAIT);
    assert!(
        got[0].body.contains("WARNING MEMORY")
            && got[0]
                .body
                .contains("memory 85 % used (warn 80 %, critical 95 %)"),
        "{}",
        got[0].body
    );
    write(800_000);
    let got = tg.wait_requests(2, WAIT);
    assert!(got[1].body.contains("RECOVERED: MEMORY"), "{}", got[1].body);
    let (status, _) = d.stop();
    assert!(status.success());
    // once shows the value too.
    let out = Command::new(BIN)
        .args(["once", "--json", "-c"])
        .arg(&cfg)
        .env("CONNECTIVITY_MONITOR_MEMINFO", &meminfo)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sensors"]["memory"]["used_pct"], 20.0, "{v}");
}

fn a_restart_keeps_log_silence_and_disk_alerts_paired() {
    let fs = Tmpfs::mount(512);
    let dir = tempfile::tempdir().unwrap();
    let tg = WebServer::start();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "start\n").unwrap();
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n\
             [[log_watch]]\npath = \"{}\"\nservice = \"app\"\nidle_after = \"1s\"\n\
             [sensors.disk]\nevery = \"1s\"\nwarn_used_pct = 50\ncritical_used_pct = 95\nmounts = [\"{}\"]\n",
            tg.url,
            log.display(),
            fs.at.display()
        ),
    );
    fs.fill_to(70);
    let d = daemon(&cfg, &[]);
    let got = tg.wait_requests(2, WAIT);
    let warnings: Vec<&String> = got.iter().map(|r| &r.body).collect();
    assert!(
        warnings
            .iter()
            .any(|b| b.contains("WARNING LOG_SILENT:app")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|b| b.contains("WARNING DISK_FULL:")),
        "{warnings:#?}"
    );
    let (status, _) = d.stop();
    assert!(status.success());
    // Restarted with both conditions still there: no second WARNING.
    let d = daemon(&cfg, &[]);
    d.wait_for("disk sensor:", WAIT);
    d.wait_for_n("check:", 4, WAIT);
    assert_eq!(
        tg.requests().len(),
        2,
        "no WARNING again after the restart: {:#?}",
        tg.requests()
    );
    // Both clear: one recovery each.
    std::fs::write(&log, "start\nrequest\n").unwrap();
    fs.fill_to(0);
    let got = tg.wait_requests(4, WAIT);
    d.wait_for_n("check:", 3, WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    let all: Vec<&String> = got.iter().map(|r| &r.body).collect();
    assert_eq!(tg.requests().len(), 4, "{all:#?}");
    assert!(
        all.iter().any(|b| b.contains("RECOVERED: LOG_SILENT:app")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|b| b.contains("RECOVERED: DISK_FULL:")),
        "{all:#?}"
    );
}

fn a_watch_in_its_own_maintenance_window_stays_quiet_while_another_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let tg = WebServer::start();
    let (quiet, loud) = (dir.path().join("nightly.log"), dir.path().join("web.log"));
    for f in [&quiet, &loud] {
        std::fs::write(f, "x\n").unwrap();
    }
    // A window around now (local time), on the quiet watch only.
    let now = chrono::Local::now();
    let from = (now - chrono::Duration::minutes(30)).format("%H:%M");
    let to = (now + chrono::Duration::minutes(30)).format("%H:%M");
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n\
             [[log_watch]]\npath = \"{}\"\nservice = \"nightly\"\nidle_after = \"1s\"\n\
             [[log_watch.maintenance]]\nfrom = \"{from}\"\nto = \"{to}\"\n\
             [[log_watch]]\npath = \"{}\"\nservice = \"web\"\nidle_after = \"1s\"\n",
            tg.url,
            quiet.display(),
            loud.display()
        ),
    );
    let d = daemon(&cfg, &[]);
    let got = tg.wait_requests(1, WAIT);
    assert!(
        got[0].body.contains("WARNING LOG_SILENT:web"),
        "{}",
        got[0].body
    );
    d.wait_for_n("check:", 5, WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    let all: Vec<String> = tg.requests().iter().map(|r| r.body.clone()).collect();
    assert!(
        !all.iter().any(|b| b.contains("LOG_SILENT:nightly")),
        "held back by its own window: {all:#?}"
    );
}

/// A bind mount the test makes (root), unmounted when dropped.
struct Bind(std::path::PathBuf);

impl Bind {
    fn of(from: &Path, to: &Path) -> Bind {
        std::fs::create_dir_all(to).unwrap();
        let ok = Command::new("mount")
            .arg("--bind")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success(), "mount --bind");
        Bind(to.to_owned())
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn telegram(tg: &WebServer) -> String {
    format!(
        "[notify.telegram]\nbot_token = \"1:T\"\nchat_id = 7\napi_base = \"{}\"\n",
        tg.url
    )
}

fn one_filesystem_bind_mounted_four_times_is_one_warning() {
    // Regression: four WARNINGs for one /dev/vda.
    let fs = Tmpfs::mount(512);
    let dir = tempfile::tempdir().unwrap();
    let binds: Vec<Bind> = (1..=3)
        .map(|i| Bind::of(&fs.at, &dir.path().join(format!("bind{i}"))))
        .collect();
    fs.fill_to(60);
    let tg = WebServer::start();
    let mounts: Vec<String> = std::iter::once(&fs.at)
        .chain(binds.iter().map(|b| &b.0))
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "{}[sensors.disk]\nevery = \"1s\"\nwarn_used_pct = 50\ncritical_used_pct = 95\nmounts = [{}]\n",
            telegram(&tg),
            mounts.join(", ")
        ),
    );
    let d = daemon(&cfg, &[]);
    let start = d.wait_for("disk sensor:", WAIT);
    assert_eq!(
        start.matches("is the same filesystem as").count(),
        3,
        "{start}"
    );
    tg.wait_requests(1, WAIT);
    d.wait_for_n("check:", 10, WAIT); // three more passes of the sensor
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let got = tg.requests();
    assert_eq!(got.len(), 1, "one WARNING: {got:#?}");
    assert!(
        got[0]
            .body
            .contains(&format!("DISK_FULL:{}", fs.at.display())),
        "{}",
        got[0].body
    );
}

fn a_filesystem_unmounted_while_alerting_gets_its_closing_notice_even_across_a_restart() {
    // Regression: a filesystem unmounted while DISK_FULL was raised never
    // recovered, even across restarts.
    let a = Tmpfs::mount(256);
    let b = Tmpfs::mount(256);
    a.fill_to(60);
    b.fill_to(60);
    let dir = tempfile::tempdir().unwrap();
    let tg = WebServer::start();
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "{}[sensors.disk]\nevery = \"1s\"\nwarn_used_pct = 50\ncritical_used_pct = 95\nmounts = [\"{}\", \"{}\"]\n",
            telegram(&tg),
            a.at.display(),
            b.at.display()
        ),
    );
    let d = daemon(&cfg, &[]);
    tg.wait_requests(2, WAIT);
    a.umount();
    d.wait_for("is not mounted", WAIT);
    tg.wait_requests(3, WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    b.umount();
    let d = daemon(&cfg, &[]);
    let got = tg.wait_requests(4, WAIT);
    d.wait_for_n("check:", 5, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let bodies: Vec<&str> = got.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(tg.requests().len(), 4, "{bodies:#?}");
    for fs in [&a, &b] {
        let name = format!("RECOVERED: DISK_FULL:{}", fs.at.display());
        let rec: Vec<&&str> = bodies.iter().filter(|b| b.contains(&name)).collect();
        assert_eq!(rec.len(), 1, "{name}: {bodies:#?}");
        assert!(
            rec[0].contains("no longer watched (no longer mounted"),
            "{}",
            rec[0]
        );
    }
}

fn ssh_alert_names_the_source_sshd_appended_and_no_link_reaches_teams() {
    // Regression: the alert said "from 10.9.9.9" (the user name's words), a
    // `[link](…)` user name became a link in the Teams card, and one byte
    // that is not UTF-8 dropped every failure of its read.
    let dir = tempfile::tempdir().unwrap();
    let teams = WebServer::start();
    let auth = dir.path().join("auth.log");
    std::fs::write(&auth, "").unwrap();
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[notify.teams]\nwebhook_url = \"{}/hook\"\n\
             [sensors.ssh]\nmax_failures = 10\nwindow = \"5m\"\nlog_file = \"{}\"\n",
            teams.url,
            auth.display()
        ),
    );
    let d = daemon(&cfg, &[]);
    d.wait_for("ssh sensor: following", WAIT);
    let mut lines = Vec::new();
    for i in 0..6 {
        lines.extend_from_slice(format!("Dec  3 06:00:0{i} pi sshd[9]: Failed password for invalid user root from 10.9.9.9 port 1 from 192.168.77.1 port 4902{i} ssh2\n").as_bytes());
        lines.extend_from_slice(format!("Dec  3 06:00:0{i} pi sshd[9]: Failed password for invalid user [link](https://evil.example) from 192.168.77.1 port 4903{i} ssh2\n").as_bytes());
    }
    lines.extend_from_slice(
        b"Dec  3 06:00:09 pi sshd[9]: Failed password for invalid user ro\xffot from 192.168.77.2 port 5 ssh2\n",
    );
    std::fs::write(&auth, &lines).unwrap();
    let got = teams.wait_requests(1, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let body = &got[0].body;
    assert!(body.contains("WARNING SSH_FAILURES"), "{body}");
    assert!(
        body.contains(
            "13 failed SSH logins in 5m (max 10): from 192.168.77.1 ×12, 192.168.77.2 ×1"
        ),
        "every line counted, from the source sshd appended: {body}"
    );
    for bad in ["10.9.9.9 ×", "](", "evil.example", "[link"] {
        assert!(!body.contains(bad), "{bad:?} in {body}");
    }
}

fn an_ssh_source_that_cannot_be_read_and_a_corrupt_state_are_said_once_and_in_once() {
    // Regression: the sensor was silently blind.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-auth.log");
    let cfg = loopback_config(
        dir.path(),
        &format!(
            "[sensors.ssh]\nmax_failures = 10\nwindow = \"5m\"\nlog_file = \"{}\"\n",
            missing.display()
        ),
    );
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("ssh.json"), b"{\"cursor\": 12").unwrap();
    let once = || {
        let out = Command::new(BIN)
            .args(["once", "-c"])
            .arg(&cfg)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = once();
    assert!(
        before.contains(&format!(
            "ssh sensor: cannot read {}: No such file",
            missing.display()
        )) && before.contains("ssh.json is not valid"),
        "{before}"
    );
    let d = daemon(&cfg, &[]);
    d.wait_for_n("check:", 12, WAIT);
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    assert_eq!(
        log.matches("ssh sensor: cannot read").count(),
        1,
        "once: {log}"
    );
    let aside = log
        .lines()
        .find(|l| l.contains("ssh.json is not valid"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        aside.contains("kept as") && aside.contains("ssh.json.bad-"),
        "{aside}"
    );
    let after = once();
    assert!(after.contains("ssh sensor: cannot read"), "{after}");
    assert!(!after.contains("ssh.json"), "set aside: {after}");
}

crate::tests! {
    a_filling_disk_warns_then_goes_critical_then_recovers_on_every_channel => [Need::Root, Need::Python("aiosmtpd")],
    memory_thresholds_from_meminfo_warn_and_recover => [],
    a_restart_keeps_log_silence_and_disk_alerts_paired => [Need::Root],
    a_watch_in_its_own_maintenance_window_stays_quiet_while_another_alerts => [],
    one_filesystem_bind_mounted_four_times_is_one_warning => [Need::Root],
    a_filesystem_unmounted_while_alerting_gets_its_closing_notice_even_across_a_restart => [Need::Root],
    ssh_alert_names_the_source_sshd_appended_and_no_link_reaches_teams => [],
    an_ssh_source_that_cannot_be_read_and_a_corrupt_state_are_said_once_and_in_once => [Need::Root],
}
