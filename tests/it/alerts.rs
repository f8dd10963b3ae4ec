//! Notifications through real HTTP servers on loopback standing in for Teams
//! and Telegram. The daemon probes loopback only; `--sim-fail 1.0` makes the outage.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::{failing_daemon, loopback_config, Proc, WebServer, BIN};

const WAIT: Duration = Duration::from_secs(20);

fn config(dir: &std::path::Path, telegram: &str, teams: &str) -> std::path::PathBuf {
    loopback_config(
        dir,
        &format!(
            "[notify.telegram]\nbot_token = \"123456:SECRET-TOKEN\"\nchat_id = 4242\napi_base = \"{telegram}\"\n\
             [notify.teams]\nwebhook_url = \"{teams}/webhook/SECRET-HOOK\"\n"
        ),
    )
}

/// An address where nothing listens: a channel that is down.
fn closed_port() -> std::net::SocketAddr {
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    parked.local_addr().unwrap()
}

fn notify_test_sends_labelled_messages_with_the_exact_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let (tg, teams) = (WebServer::start(), WebServer::start());
    teams.respond(500, "{\"error\":\"webhook is broken\"}");
    let cfg = config(dir.path(), &tg.url, &teams.url);
    let out = Command::new(BIN)
        .args(["notify-test", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one channel failed: {stdout}");
    assert!(stdout.contains("telegram: ok"), "{stdout}");
    assert!(
        stdout.contains("teams: FAILED: HTTP 500: {\"error\":\"webhook is broken\"}"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SECRET"),
        "no secret in the output: {stdout}"
    );

    let t = &tg.requests()[0];
    assert_eq!(t.path, "/bot123456:SECRET-TOKEN/sendMessage");
    let body: serde_json::Value = serde_json::from_str(&t.body).unwrap();
    assert_eq!(body["chat_id"], 4242);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[connectivity-monitor] test message from "),
        "{text}"
    );
    assert!(text.contains("Nothing is wrong"), "{text}");

    let w = &teams.requests()[0];
    assert_eq!(w.path, "/webhook/SECRET-HOOK");
    let card: serde_json::Value = serde_json::from_str(&w.body).unwrap();
    assert_eq!(card["type"], "message");
    let att = &card["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(att["content"]["type"], "AdaptiveCard");
    assert_eq!(
        att["content"]["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    let facts = att["content"]["body"][1]["facts"].as_array().unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f["title"] == "Severity" && f["value"] == "TEST"),
        "{facts:?}"
    );

    let log = std::fs::read_to_string(dir.path().join("logs/notifications.log")).unwrap();
    assert!(
        log.contains("channel=telegram") && log.contains("result=ok"),
        "{log}"
    );
    assert!(
        log.contains("channel=teams") && log.contains("result=failed error=\"HTTP 500"),
        "{log}"
    );
    assert!(!log.contains("SECRET"), "{log}");

    // --channel picks one.
    let out = Command::new(BIN)
        .args([
            "notify-test",
            "-c",
            cfg.to_str().unwrap(),
            "--channel",
            "telegram",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(tg.requests().len(), 2);
    assert_eq!(teams.requests().len(), 1);
}

fn telegram_429_retry_after_is_honoured_and_the_alert_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tg, teams) = (WebServer::start(), WebServer::start());
    tg.respond(
        429,
        "{\"ok\":false,\"error_code\":429,\"parameters\":{\"retry_after\":1}}",
    );
    let d = failing_daemon(&config(dir.path(), &tg.url, &teams.url));
    d.wait_for("alert WARNING", WAIT);
    let got = tg.wait_requests(2, WAIT);
    let (first, second) = (&got[0], &got[1]);
    assert_eq!(first.body, second.body, "the same message, same id");
    assert!(
        second.at - first.at >= Duration::from_millis(950),
        "waited retry_after: {:?}",
        second.at - first.at
    );
    let text = serde_json::from_str::<serde_json::Value>(&second.body).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    println!("telegram received at {}:\n{}", second.path, second.body);
    assert!(text.contains("WARNING LAN_DOWN on"), "{text}");
    assert!(text.contains("id: lan_down-"), "{text}");
    // Teams got it too, once.
    assert_eq!(teams.wait_requests(1, WAIT).len(), 1);
    d.wait_for_n("check:", 5, WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    assert_eq!(tg.requests().len(), 2, "delivered once after the 429");
    let log = std::fs::read_to_string(dir.path().join("logs/notifications.log")).unwrap();
    let tg_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("channel=telegram"))
        .collect();
    assert_eq!(tg_lines.len(), 2, "{log}");
    assert!(
        tg_lines[0].contains("result=failed error=\"HTTP 429"),
        "{log}"
    );
    assert!(tg_lines[1].contains("result=ok"), "{log}");
}

fn undelivered_alert_survives_a_restart_and_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    // A port with nothing listening: the channel is down.
    let addr = closed_port();
    let teams = WebServer::start();
    let cfg = config(dir.path(), &format!("http://{addr}"), &teams.url);
    let d = failing_daemon(&cfg);
    d.wait_for("alert WARNING", WAIT);
    d.wait_for("not delivered", WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    let queued: Vec<_> = std::fs::read_dir(dir.path().join("state/outbox/telegram"))
        .unwrap()
        .collect();
    assert_eq!(queued.len(), 1, "the alert is kept on disk");

    let tg =
        WebServer::start_on(std::net::TcpListener::bind(addr).expect("the port is free again"));
    let d = failing_daemon(&cfg);
    d.wait_for("resuming the open outage", WAIT);
    let got = tg.wait_requests(1, WAIT);
    d.wait_for_n("check:", 5, WAIT);
    d.stop();
    assert_eq!(tg.requests().len(), 1, "delivered exactly once: {got:#?}");
    assert!(got[0].body.contains("WARNING LAN_DOWN"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("state/outbox/telegram"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        teams.requests().len(),
        1,
        "teams got it in the first run and not again"
    );
}

fn log_silence_alerts_recovers_and_rotation_is_not_silence() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let tg = WebServer::start();
    let log_path = dir.path().join("app.log");
    let append = |line: &str| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    };
    append("started");
    let cfg = config(dir.path(), &tg.url, &WebServer::start().url);
    let watch = format!(
        "[[log_watch]]\npath = \"{}\"\nservice = \"app\"\nidle_after = \"1s\"\n",
        log_path.display()
    );
    let text = std::fs::read_to_string(&cfg).unwrap() + &watch;
    std::fs::write(&cfg, text).unwrap();
    let d = Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {}", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    );
    d.wait_for("watching", WAIT);
    // Silence: one WARNING.
    let got = tg.wait_requests(1, WAIT);
    assert!(
        got[0].body.contains("WARNING LOG_SILENT:app"),
        "{}",
        got[0].body
    );
    // Traffic again: its recovery.
    append("request");
    let got = tg.wait_requests(2, WAIT);
    assert!(
        got[1].body.contains("RECOVERED: LOG_SILENT:app"),
        "{}",
        got[1].body
    );
    // logrotate (rename, create a new empty file) while traffic goes on: no alert.
    std::fs::rename(&log_path, dir.path().join("app.log.1")).unwrap();
    std::fs::File::create(&log_path).unwrap();
    d.wait_for("rotated", WAIT);
    for i in 0..8 {
        append(&format!("request {i}"));
        std::thread::sleep(Duration::from_millis(300)); // the traffic itself, not a wait for the daemon
    }
    let (status, log) = d.stop();
    assert!(status.success());
    assert_eq!(
        tg.requests().len(),
        2,
        "no false alert across the rotation:\n{log}"
    );
}

fn a_notification_older_than_max_age_is_given_up_loudly_and_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let addr = closed_port();
    let teams = WebServer::start();
    let cfg = config(dir.path(), &format!("http://{addr}"), &teams.url);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[notify.telegram]",
        "[notify]\nmax_age = \"1s\"\n[notify.telegram]",
    );
    std::fs::write(&cfg, text).unwrap();
    let d = failing_daemon(&cfg);
    d.wait_for("alert WARNING", WAIT);
    let line = d.wait_for("expired undelivered", WAIT);
    assert!(
        line.contains("ERROR") && line.contains("lan_down-"),
        "{line}"
    );
    d.stop();
    assert_eq!(
        std::fs::read_dir(dir.path().join("state/outbox/expired"))
            .unwrap()
            .count(),
        1,
        "kept for a person to see"
    );
    let log = std::fs::read_to_string(dir.path().join("logs/notifications.log")).unwrap();
    assert!(
        log.contains("channel=telegram") && log.contains("result=expired"),
        "{log}"
    );
}

fn http_channels_go_through_the_proxy_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (proxy, teams) = (WebServer::start(), WebServer::start());
    let cfg = config(dir.path(), "http://telegram.invalid", &teams.url);
    let out = Command::new(BIN)
        .args([
            "notify-test",
            "-c",
            cfg.to_str().unwrap(),
            "--channel",
            "telegram",
        ])
        .env("HTTP_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A proxied request names the whole URL; the host itself was never resolved.
    let got = proxy.wait_requests(1, WAIT);
    assert_eq!(
        got[0].path,
        "http://telegram.invalid/bot123456:SECRET-TOKEN/sendMessage"
    );
}

crate::tests! {
    notify_test_sends_labelled_messages_with_the_exact_payloads => [],
    telegram_429_retry_after_is_honoured_and_the_alert_arrives_once => [],
    undelivered_alert_survives_a_restart_and_is_delivered_once => [],
    log_silence_alerts_recovers_and_rotation_is_not_silence => [],
    a_notification_older_than_max_age_is_given_up_loudly_and_kept_aside => [],
    http_channels_go_through_the_proxy_from_the_environment => [],
}
