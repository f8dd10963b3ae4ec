//! Email through a real SMTP server (Debian's python3-aiosmtpd) on loopback:
//! plain, STARTTLS with a test CA and AUTH, a wrong password, a server that is
//! down and then comes back. And an HTTPS check against a server signed by the
//! same kind of test CA, verified by the TLS settings every HTTP client shares.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::needs::Need;
use common::{failing_daemon, free_port, loopback_config, smtp_server as smtp, BIN};

const WAIT: Duration = Duration::from_secs(20);

/// A test CA and a certificate for `localhost` signed by it, made with openssl.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let sh = |script: &str| {
        let out = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca");
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost");
    sh("printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && \
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf");
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

fn config(dir: &Path, email: &str) -> PathBuf {
    loopback_config(
        dir,
        &format!("[notify.email]\nfrom = \"monitor@example.com\"\nto = [\"me@example.com\", \"you@example.com\"]\n{email}"),
    )
}

fn notify_test(cfg: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["notify-test", "-c", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn plain_smtp_delivers_a_readable_test_mail() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = smtp(port, "plain");
    let cfg = config(
        dir.path(),
        &format!("server = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n"),
    );
    let (code, out) = notify_test(&cfg);
    assert_eq!((code, out.trim()), (0, "email: ok"));
    let mail = server.wait_for("\"data\"", WAIT);
    let v: serde_json::Value = serde_json::from_str(&mail).unwrap();
    assert_eq!(v["from"], "monitor@example.com");
    assert_eq!(
        v["to"],
        serde_json::json!(["me@example.com", "you@example.com"])
    );
    let data = v["data"].as_str().unwrap();
    assert!(
        data.contains("Subject: [connectivity-monitor] test message from "),
        "{data}"
    );
    assert!(data.contains("Content-Type: text/plain"), "{data}");
}

fn starttls_with_a_private_ca_and_auth_and_a_wrong_password_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let port = free_port();
    let server = smtp(
        port,
        &format!("starttls {} {}", cert.display(), key.display()),
    );
    let base = format!("server = \"localhost\"\nport = {port}\ntls = \"starttls\"\nusername = \"user\"\ntls_ca_file = \"{}\"\n", ca.display());
    let cfg = config(dir.path(), &format!("{base}password = \"right\"\n"));
    let (code, out) = notify_test(&cfg);
    assert_eq!(
        (code, out.trim()),
        (0, "email: ok"),
        "STARTTLS, verified by the test CA, and AUTH"
    );
    server.wait_for("\"data\"", WAIT);

    let cfg = config(dir.path(), &format!("{base}password = \"wrong\"\n"));
    let (code, out) = notify_test(&cfg);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("email: FAILED: ") && out.contains("535"),
        "the server's 535 is shown: {out}"
    );
    assert!(!out.contains("wrong"), "no password in the output: {out}");

    // Without the CA the server's certificate is not trusted.
    let cfg = config(dir.path(), &format!("server = \"localhost\"\nport = {port}\ntls = \"starttls\"\nusername = \"user\"\npassword = \"right\"\n"));
    let (code, out) = notify_test(&cfg);
    assert_eq!(code, 1);
    assert!(out.to_lowercase().contains("certificate"), "{out}");
}

fn mail_spooled_while_the_server_is_down_is_delivered_once_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(
        dir.path(),
        &format!("server = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n"),
    );
    let d = failing_daemon(&cfg);
    d.wait_for("alert WARNING", WAIT);
    d.wait_for("not delivered", WAIT);
    let server = smtp(port, "plain");
    let mail = server.wait_for("\"data\"", Duration::from_secs(30));
    assert!(mail.contains("WARNING LAN_DOWN"), "{mail}");
    // The success line; "not delivered" must not satisfy this wait.
    d.wait_for(") delivered", WAIT);
    d.wait_for_n("check:", 5, WAIT);
    let (status, _) = d.stop();
    assert!(status.success());
    assert_eq!(
        server.output().matches("\"data\"").count(),
        1,
        "exactly once: {}",
        server.output()
    );
}

/// A one-file HTTPS server: Python's, with the test certificate.
const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
s.socket = tls.wrap_socket(s.socket, server_side=True)
print("serving", flush=True)
s.serve_forever()
"#;

fn an_https_check_is_verified_against_the_system_trust() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let script = dir.path().join("https.py");
    std::fs::write(&script, HTTPS_SERVER).unwrap();
    let port = free_port();
    let server = common::Proc::spawn_in_current(
        "https",
        &format!(
            "/usr/bin/python3 {} {port} {} {}",
            script.display(),
            cert.display(),
            key.display()
        ),
        &[],
    );
    server.wait_for("serving", WAIT);
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ninterval = \"2s\"\ntimeout = \"1500ms\"\nlog_dir = \"{0}/logs\"\nstate_dir = \"{0}/state\"\n\
             [gateway]\naddress = \"127.0.0.1\"\nprobes = [\"tcp:{port}\"]\n\
             [[target]]\nname = \"loopback\"\naddress = \"127.0.0.1\"\nprobes = [\"tcp:{port}\"]\n\
             [[http]]\nname = \"tls\"\nurl = \"https://localhost:{port}/\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let once = |trust: Option<&Path>| {
        let mut c = Command::new(BIN);
        c.args(["once", "-c"]).arg(&cfg).env_remove("SSL_CERT_FILE");
        if let Some(ca) = trust {
            c.env("SSL_CERT_FILE", ca);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.starts_with("http tls"))
            .map(str::to_owned);
        line.unwrap_or_else(|| panic!("no line for the check: {text}"))
    };
    let untrusted = once(None);
    assert!(
        untrusted.contains("DOWN") && untrusted.contains("UnknownIssuer"),
        "a server signed by an unknown CA is refused: {untrusted}"
    );
    let trusted = once(Some(&ca));
    assert!(
        trusted.contains(" up "),
        "trusted once its CA is the system's: {trusted}"
    );
    drop(server);
}

crate::tests! {
    plain_smtp_delivers_a_readable_test_mail => [Need::Python("aiosmtpd")],
    starttls_with_a_private_ca_and_auth_and_a_wrong_password_reported_clearly => [Need::Root, Need::Python("aiosmtpd")],
    mail_spooled_while_the_server_is_down_is_delivered_once_when_it_returns => [Need::Python("aiosmtpd")],
    an_https_check_is_verified_against_the_system_trust => [Need::Tool("openssl"), Need::Python("ssl")],
}
