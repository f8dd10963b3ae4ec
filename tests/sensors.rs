//! Host sensors through the real channels: a small tmpfs filled past its
//! thresholds, memory from a meminfo file the test writes, restarts that keep
//! alerts paired, and per-watch maintenance windows.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{free_port, loopback_config, netns_available, smtp_server, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(30);

fn daemon(cfg: &Path, env: &[(&str, &str)]) -> Proc {
    let mut all = vec![("RUST_LOG", "connectivity_monitor=debug")];
    all.extend_from_slice(env);
    Proc::spawn_in_current("daemon", &format!("{BIN} run -c {}", cfg.display()), &all)
}

/// A tmpfs of `kib` KiB mounted by the test (root), unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        if !netns_available() {
            return None; // root only, as namespaces are; fails loudly in CI
        }
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        assert!(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&at)
            .status()
            .unwrap()
            .success());
        Some(Tmpfs { at, _dir: dir })
    }

    /// Makes the filesystem `pct` % full with one file.
    fn fill_to(&self, pct: u64) {
        let s = nix_free(&self.at);
        let bytes = s.0 * pct / 100;
        let _ = std::fs::remove_file(self.at.join("fill"));
        std::fs::write(self.at.join("fill"), vec![b'x'; bytes as usize]).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

/// (total bytes, free bytes) by `df`.
fn nix_free(path: &Path) -> (u64, u64) {
    let out = Command::new("df")
        .args(["-B1", "--output=size,avail"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (nums[0], nums[1])
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

#[test]
fn a_filling_disk_warns_then_goes_critical_then_recovers_on_every_channel() {
    let Some(fs) = Tmpfs::mount(1024) else { return };
    let Some(other) = Tmpfs::mount(256) else {
        return;
    };
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

#[test]
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

#[test]
fn a_restart_keeps_log_silence_and_disk_alerts_paired() {
    let Some(fs) = Tmpfs::mount(512) else { return };
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

#[test]
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
