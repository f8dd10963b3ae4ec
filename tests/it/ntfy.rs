//! The ntfy channel against a real HTTP server on loopback standing in for
//! an ntfy server. The daemon probes loopback only; `--sim-fail 1.0` makes
//! the outage.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::{failing_daemon, loopback_config, Request, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "tk_SECRET-TOKEN";

/// A loopback config whose one channel is ntfy at `server`, with `extra` keys.
fn config(dir: &std::path::Path, server: &str, extra: &str) -> std::path::PathBuf {
    loopback_config(
        dir,
        &format!(
            "[notify.ntfy]\nurl = \"{server}\"\ntopic = \"cm-alerts\"\ntoken = \"{TOKEN}\"\n{extra}"
        ),
    )
}

/// The value of header `name` (any case) as `r` carried it.
fn header(r: &Request, name: &str) -> Option<String> {
    r.head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// `notify-test --channel ntfy` on `cfg`: its exit status and what it printed.
fn notify_test(cfg: &std::path::Path) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("notify-test").arg("-c").arg(cfg);
    let out = cmd.args(["--channel", "ntfy"]).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn notify_test_posts_the_message_to_the_topic_with_title_priority_tags_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = WebServer::start();
    let cfg = config(dir.path(), &server.url, "");
    let (code, stdout) = notify_test(&cfg);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(stdout.trim(), "ntfy: ok");

    let r = &server.requests()[0];
    println!("ntfy received:\n{}\n{}", r.head, r.body);
    assert!(r.head.starts_with("POST /cm-alerts HTTP/1.1"), "{}", r.head);
    assert!(
        r.body
            .starts_with("[connectivity-monitor] test message from ")
            && r.body.contains("Nothing is wrong"),
        "the plain-text message is the body: {}",
        r.body
    );
    let title = header(r, "Title").unwrap();
    assert!(
        title.starts_with("[connectivity-monitor] test message from "),
        "{title}"
    );
    assert_eq!(header(r, "Priority").as_deref(), Some("3"));
    assert_eq!(header(r, "Tags").as_deref(), Some("test_tube"));
    assert_eq!(header(r, "Authorization"), Some(format!("Bearer {TOKEN}")));
    assert!(header(r, "Content-Type").unwrap().starts_with("text/plain"));

    let log = std::fs::read_to_string(dir.path().join("logs/notifications.log")).unwrap();
    assert!(
        log.contains("channel=ntfy") && log.contains("result=ok"),
        "{log}"
    );
    assert!(!log.contains("SECRET"), "{log}");
}

fn a_refusal_is_said_plainly_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = WebServer::start();
    server.respond(403, "{\"code\":40301,\"error\":\"forbidden\"}");
    let (code, stdout) = notify_test(&config(dir.path(), &server.url, ""));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("ntfy: FAILED: HTTP 403: {\"code\":40301,\"error\":\"forbidden\"}"),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET"), "{stdout}");
}

fn an_outage_reaches_the_phone_as_high_then_urgent() {
    let dir = tempfile::tempdir().unwrap();
    let server = WebServer::start();
    let cfg = config(
        dir.path(),
        &server.url,
        "[alerts]\nwarn_after = \"0s\"\ncritical_after = \"2s\"\n",
    );
    let d = failing_daemon(&cfg);
    d.wait_for("alert CRITICAL", WAIT);
    let got = server.wait_requests(2, WAIT);
    d.stop();
    let (warning, critical) = (&got[0], &got[1]);
    for (r, priority, tags, level) in [
        (warning, "4", "warning", "WARNING"),
        (critical, "5", "rotating_light", "CRITICAL"),
    ] {
        let title = header(r, "Title").unwrap();
        assert!(title.contains(&format!("{level} LAN_DOWN on")), "{title}");
        assert_eq!(header(r, "Priority").as_deref(), Some(priority), "{title}");
        assert_eq!(header(r, "Tags").as_deref(), Some(tags), "{title}");
        assert!(r.body.contains("id: lan_down-"), "{}", r.body);
    }
}

fn check_config_hides_the_token_and_names_a_bad_topic() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "https://ntfy.example.org", "");
    let out = Command::new(BIN)
        .args(["check-config", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("[notify.ntfy]"), "{stdout}");
    assert!(stdout.contains("token = \"(redacted)\""), "{stdout}");
    assert!(!stdout.contains("SECRET"), "{stdout}");

    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("topic = \"cm-alerts\"", "topic = \"my alerts\"");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("notify.ntfy.topic = \"my alerts\": must be 1 to 64 letters, digits, - or _"),
        "{stderr}"
    );
}

crate::tests! {
    notify_test_posts_the_message_to_the_topic_with_title_priority_tags_and_token => [],
    a_refusal_is_said_plainly_without_the_token => [],
    an_outage_reaches_the_phone_as_high_then_urgent => [],
    check_config_hides_the_token_and_names_a_bad_topic => [],
}
