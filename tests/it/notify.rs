//! The sd_notify protocol, without systemd: a datagram listener stands in for
//! the service manager, and the daemon probes only loopback.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_connectivity-monitor");

struct Manager {
    sock: UnixDatagram,
    seen: Vec<String>,
}

impl Manager {
    /// Waits for a message containing `want`; returns it.
    fn expect(&mut self, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            self.sock
                .set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ))
                .unwrap();
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    self.seen.push(msg.clone());
                    if msg.contains(want) {
                        return msg;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no {want:?} from the daemon; it sent: {:#?}", self.seen);
    }
}

fn config(port: u16, interval: &str, dir: &std::path::Path) -> String {
    format!(
        "[monitor]\ninterval = \"{interval}\"\ntimeout = \"200ms\"\nlog_dir = \"{0}/logs\"\nstate_dir = \"{0}/state\"\n\
         [gateway]\naddress = \"127.0.0.1\"\nprobes = [\"tcp:{port}\"]\n\
         [[target]]\nname = \"loopback\"\naddress = \"127.0.0.1\"\nprobes = [\"tcp:{port}\"]\n",
        dir.display()
    )
}

fn ready_status_watchdog_reloading_and_stopping_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config(port, "300ms", dir.path())).unwrap();
    let sock_path = dir.path().join("notify.sock");
    let mut mgr = Manager {
        sock: UnixDatagram::bind(&sock_path).unwrap(),
        seen: Vec::new(),
    };
    // exec keeps the shell's pid, so WATCHDOG_PID=$$ names the daemon, as systemd would.
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!("WATCHDOG_PID=$$ exec {BIN} run -c {}", cfg.display()),
        ])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let signal = |sig: &str| {
        Command::new("kill").args([sig, &pid]).status().unwrap();
    };

    let ready = mgr.expect("READY=1");
    assert!(
        ready.contains("STATUS="),
        "READY carries a status line: {ready}"
    );
    mgr.expect("STATUS=OK · gw ");
    mgr.expect("WATCHDOG=1");

    // A valid change: RELOADING with MONOTONIC_USEC, then READY again.
    std::fs::write(&cfg, config(port, "400ms", dir.path())).unwrap();
    signal("-HUP");
    let reloading = mgr.expect("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let again = mgr.expect("READY=1");
    assert!(!again.contains("reload failed"), "{again}");

    // A broken file: the old config keeps running and STATUS says why, and keeps saying it.
    std::fs::write(&cfg, "[monitor]\ninterval = \"often\"\n").unwrap();
    signal("-HUP");
    mgr.expect("RELOADING=1");
    let failed = mgr.expect("READY=1");
    assert!(failed.contains("STATUS=reload failed: "), "{failed}");
    assert!(failed.contains("monitor.interval = \"often\""), "{failed}");
    let later = mgr.expect("STATUS=");
    assert!(
        later.contains("reload failed: ") && later.contains("· 1/1 targets"),
        "checks go on, status still shows the failure: {later}"
    );
    mgr.expect("WATCHDOG=1");

    signal("-TERM");
    mgr.expect("STOPPING=1");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    drop(listener);
}

crate::tests! {
    ready_status_watchdog_reloading_and_stopping_are_sent => [],
}
