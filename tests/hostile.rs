//! The daemon in a hostile environment: a disk that fills, a burst of reloads,
//! a FIFO where its state should be, secrets planted in URLs. Each test is
//! named after what broke before it was fixed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{loopback_config, netns_available, read_rows, Net, Proc, BIN};

const WAIT: Duration = Duration::from_secs(20);

/// A small tmpfs the test mounts (root only), unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
    _holder: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        // Mounting needs root, as namespaces do: the same rule for CI.
        if !netns_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(ok.success(), "mount tmpfs");
        Some(Tmpfs { at, _holder: dir })
    }

    /// Fills the filesystem to the last byte; returns the filler to delete later.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.at.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = [b'x'; 512];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
        // Whatever fits of a smaller write, so not even a short row has room.
        while f.write_all(b"x").is_ok() {}
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

fn daemon(cfg: &Path) -> Proc {
    Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    )
}

#[test]
fn disk_full_mid_write_leaves_every_row_whole_and_once() {
    // Regression: a row was written in part, then whole again once space
    // returned: a torn line followed by a duplicate.
    let Some(fs) = Tmpfs::mount(64) else { return };
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

#[test]
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

#[test]
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

#[test]
fn secrets_planted_in_urls_appear_in_no_output() {
    // Regression: check-config printed user:password from URLs; a failing
    // HTTP probe carried ?token=… into the CSV, the journal and `once`.
    let Some(mut net) = Net::up() else { return };
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
