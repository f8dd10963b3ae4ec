//! Test world: a simulated home network in namespaces (tests/net/topo.sh),
//! real servers in its "internet", and the real binary inside its LAN.
//!
//! Waiting is done on events (a line a process prints), never on sleeps.
#![allow(dead_code)]

pub mod needs;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_connectivity-monitor");

fn topo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/topo.sh")
}

/// A process whose merged stdout and stderr lines can be awaited.
pub struct Proc {
    pub name: String,
    child: Child,
    rx: mpsc::Receiver<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Runs `cmd` inside namespace `ns`, stderr merged into stdout.
    pub fn spawn_in(ns: &str, name: &str, cmd: &str, env: &[(&str, &str)]) -> Proc {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "sh", "-c", &format!("exec {cmd} 2>&1")]);
        Self::spawn(c, name, env)
    }

    fn spawn(mut c: Command, name: &str, env: &[(&str, &str)]) -> Proc {
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let out = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                seen2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Proc {
            name: name.to_owned(),
            child,
            rx,
            seen,
        }
    }

    /// Runs `cmd` in this process's own namespace (loopback-only configs).
    pub fn spawn_in_current(name: &str, cmd: &str, env: &[(&str, &str)]) -> Proc {
        let mut c = Command::new("sh");
        c.args(["-c", &format!("exec {cmd} 2>&1")]);
        Self::spawn(c, name, env)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line containing `pattern`, printed after the last one awaited.
    pub fn wait_for(&self, pattern: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) if line.contains(pattern) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "{} did not print {pattern:?} within {timeout:?}; its output:\n{}",
                    self.name,
                    self.output()
                ),
            }
        }
    }

    /// Waits for `n` more lines containing `pattern`.
    pub fn wait_for_n(&self, pattern: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for _ in 0..n {
            self.wait_for(pattern, deadline.saturating_duration_since(Instant::now()));
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status();
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> (ExitStatus, String) {
        self.signal("-TERM");
        let status = self.child.wait().expect("wait");
        // Let the reader thread drain the pipe.
        while self.rx.recv_timeout(Duration::from_secs(2)).is_ok() {}
        (status, self.output())
    }

    /// SIGKILL: a crash, no clean-up.
    pub fn kill9(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Checks that this process can build namespaces: a test that needs them
/// runs only where `Need::Root` is met (or in CI, where it must be).
fn assert_netns_available() {
    assert!(
        needs::Need::Root.met(),
        "cannot create network namespaces here (needs root and iproute2): this test must run in CI"
    );
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A name prefix no other network of this run (or of a run beside it) has:
/// `kind`, the process id, and the network's number in base 36, at most 8
/// characters, letters and digits only (namespace and machine names).
fn unique_prefix(kind: char, n: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let n = n % (36 * 36);
    format!(
        "{kind}{}{}{}",
        std::process::id() % 100_000,
        DIGITS[n / 36] as char,
        DIGITS[n % 36] as char
    )
}

/// The simulated network with its servers.
pub struct Net {
    pub prefix: String,
    pub dir: tempfile::TempDir,
    pub dns: Option<Proc>,
    pub http: Option<Proc>,
    tcp: Option<Proc>,
}

impl Net {
    /// Builds the network and starts DNS, HTTP and TCP servers.
    pub fn up() -> Net {
        assert_netns_available();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let prefix = unique_prefix('c', n);
        run(Command::new("bash").arg(topo()).args(["up", &prefix]));
        let mut net = Net {
            prefix,
            dir: tempfile::tempdir().expect("tempdir"),
            dns: None,
            http: None,
            tcp: None,
        };
        net.start_dns();
        net.start_http();
        let tcp = Proc::spawn_in(
            &net.ns("net"),
            "tcp listener",
            "python3 -u -c 'import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind((\"0.0.0.0\",443))\ns.listen(128)\nprint(\"ready\")\nwhile True:\n c,_=s.accept(); c.close()'",
            &[],
        );
        tcp.wait_for("ready", Duration::from_secs(10));
        net.tcp = Some(tcp);
        net
    }

    pub fn ns(&self, which: &str) -> String {
        format!("{}-{which}", self.prefix)
    }

    pub fn start_dns(&mut self) {
        let p = Proc::spawn_in(
            &self.ns("net"),
            "dnsmasq",
            "dnsmasq --keep-in-foreground --log-facility=- --no-resolv --no-hosts --conf-file=/dev/null \
             --listen-address=198.51.100.53 --bind-interfaces --address=/example.test/198.51.100.80 \
             --pid-file= --user=root",
            &[],
        );
        p.wait_for("started", Duration::from_secs(10));
        self.dns = Some(p);
    }

    pub fn stop_dns(&mut self) {
        if let Some(p) = self.dns.take() {
            p.stop();
        }
    }

    pub fn start_http(&mut self) {
        let p = Proc::spawn_in(
            &self.ns("net"),
            "http server",
            "python3 -u -m http.server --bind 198.51.100.80 80",
            &[],
        );
        p.wait_for("Serving HTTP", Duration::from_secs(10));
        self.http = Some(p);
    }

    pub fn stop_http(&mut self) {
        if let Some(p) = self.http.take() {
            p.stop();
        }
    }

    /// Cuts `lan`, `access` (gateway–ISP) or `upstream` (ISP–internet).
    pub fn cut(&self, link: &str) {
        run(Command::new("bash")
            .arg(topo())
            .args(["cut", link, &self.prefix]));
    }

    pub fn restore(&self, link: &str) {
        run(Command::new("bash")
            .arg(topo())
            .args(["restore", link, &self.prefix]));
    }

    /// Drops `pct`% of the packets the ISP forwards towards the home.
    pub fn loss(&self, pct: u32) {
        run(Command::new("bash")
            .arg(topo())
            .args(["loss", &pct.to_string(), &self.prefix]));
    }

    /// Drops `pct`% of the packets the ISP forwards, both ways.
    pub fn loss_both_ways(&self, pct: u32) {
        run(Command::new("bash")
            .arg(topo())
            .args(["loss-both", &pct.to_string(), &self.prefix]));
    }

    /// Stops dropping packets.
    pub fn no_loss(&self) {
        run(Command::new("bash")
            .arg(topo())
            .args(["noloss", &self.prefix]));
    }

    /// Adds IPv6 to the network (topo.sh `dual`).
    pub fn dual_stack(&self) {
        run(Command::new("bash")
            .arg(topo())
            .args(["dual", &self.prefix]));
    }

    /// The ISP router drops what it forwards of family `which` (`4`, `6`, `both`).
    pub fn drop_family(&self, which: &str) {
        run(Command::new("bash")
            .arg(topo())
            .args(["drop", which, &self.prefix]));
    }

    /// Undoes [`Net::drop_family`].
    pub fn undrop(&self) {
        run(Command::new("bash")
            .arg(topo())
            .args(["undrop", &self.prefix]));
    }

    /// Runs `ip ARGS` inside namespace `which` (e.g. `mon`).
    pub fn ip_in(&self, which: &str, args: &[&str]) {
        run(Command::new("ip").arg("-n").arg(self.ns(which)).args(args));
    }

    /// Runs `args` inside namespace `which` (e.g. `sysctl` in `gw`).
    pub fn exec_in(&self, which: &str, args: &[&str]) {
        run(Command::new("ip")
            .args(["netns", "exec", &self.ns(which)])
            .args(args));
    }

    /// Makes the home router ignore echo requests to itself (it still forwards).
    pub fn gateway_ignores_ping(&self) {
        run(Command::new("bash")
            .arg(topo())
            .args(["noping-gw", &self.prefix]));
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A config for this network, 1 s checks, logs and state in the test's folder; `extra` is appended.
    pub fn config(&self, extra: &str) -> PathBuf {
        let dirs = format!(
            "log_dir = \"{}\"\nstate_dir = \"{}\"\n",
            self.log_dir().display(),
            self.state_dir().display()
        );
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, config_text(&dirs, extra)).expect("write config");
        path
    }
}

/// The config for the test network (tests/net/config.toml); `monitor_extra`
/// goes into `[monitor]`, `extra` at the end.
pub fn config_text(monitor_extra: &str, extra: &str) -> String {
    let template = include_str!("../../net/config.toml");
    let with_monitor =
        template.replacen("[monitor]\n", &format!("[monitor]\n{monitor_extra}\n"), 1);
    format!("{with_monitor}{extra}")
}

impl Net {
    /// Starts the daemon in the monitor's namespace, logging checks at debug level.
    pub fn daemon(&self, config: &Path, args: &str) -> Proc {
        Proc::spawn_in(
            &self.ns("mon"),
            "daemon",
            &format!("{BIN} run -c {} {args}", config.display()),
            &[("RUST_LOG", "connectivity_monitor=debug")],
        )
    }

    /// Runs `once` in the monitor's namespace.
    pub fn once(&self, config: &Path, json: bool) -> (i32, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns("mon"), BIN, "once", "-c"])
            .arg(config)
            .args(json.then_some("--json"))
            .output()
            .expect("run once");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// An HTTP request from inside the monitor's namespace (python3's urllib),
    /// with basic authentication `user:password` and an `Accept` header if
    /// given: (status, content type, body).
    pub fn fetch(
        &self,
        url: &str,
        auth: Option<&str>,
        accept: Option<&str>,
    ) -> (u16, String, String) {
        let script = r#"
import sys, urllib.request, base64
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    req.add_header("Authorization", "Basic " + base64.b64encode(sys.argv[2].encode()).decode())
if sys.argv[3]:
    req.add_header("Accept", sys.argv[3])
try:
    r = urllib.request.urlopen(req, timeout=10); code, kind, body = r.status, r.headers.get("Content-Type"), r.read()
except urllib.error.HTTPError as e:
    code, kind, body = e.code, e.headers.get("Content-Type"), e.read()
sys.stdout.write(str(code) + "\n" + str(kind) + "\n" + body.decode())
"#;
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns("mon"),
                "python3",
                "-c",
                script,
                url,
            ])
            .arg(auth.unwrap_or_default())
            .arg(accept.unwrap_or_default())
            .output()
            .expect("python3");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut parts = text.splitn(3, '\n');
        let code = parts.next().unwrap_or("0").parse().unwrap_or(0);
        let kind = parts.next().unwrap_or_default().to_owned();
        (code, kind, parts.next().unwrap_or_default().to_owned())
    }

    /// The data rows of `outage_log.csv` (none if the file does not exist).
    pub fn outage_rows(&self) -> Vec<csv::StringRecord> {
        read_rows(&self.log_dir().join("outage_log.csv"))
    }

    pub fn connection_rows(&self) -> Vec<csv::StringRecord> {
        read_rows(&self.log_dir().join("connection_log.csv"))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for p in [self.dns.take(), self.http.take(), self.tcp.take()]
            .into_iter()
            .flatten()
        {
            drop(p);
        }
        let _ = Command::new("bash")
            .arg(topo())
            .args(["down", &self.prefix])
            .status();
    }
}

pub fn read_rows(path: &Path) -> Vec<csv::StringRecord> {
    match csv::Reader::from_path(path) {
        Ok(mut r) => r.records().map(|r| r.expect("valid csv row")).collect(),
        Err(_) => Vec::new(),
    }
}

fn run(c: &mut Command) {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A systemd container (tests/net/nspawn.sh) inside the monitor's namespace.
pub struct Container {
    pub name: String,
    pub pid1: String,
}

impl Container {
    /// Boots one.
    pub fn start(net: &Net, name: &str) -> Container {
        assert!(
            needs::Need::Tool("systemd-nspawn").met(),
            "systemd-nspawn is missing (apt-get install systemd-container)"
        );
        let name = format!("{}{name}", net.prefix);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/nspawn.sh");
        // The repository (scripts, unit, config) and the built binary, at their own paths.
        let bin_dir = Path::new(BIN).parent().expect("binary has a folder");
        let out = Command::new("bash")
            .arg(script)
            .args(["start", &name, &net.ns("mon"), env!("CARGO_MANIFEST_DIR")])
            .arg(bin_dir)
            .output()
            .expect("nspawn.sh");
        assert!(
            out.status.success(),
            "container did not boot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid1 = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Container { name, pid1 }
    }

    /// Runs a shell script inside; returns (exit code, stdout + stderr).
    pub fn sh(&self, script: &str) -> (i32, String) {
        let out = Command::new("nsenter")
            .args(["-t", &self.pid1, "-a", "sh", "-c", script])
            .output()
            .expect("nsenter");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Runs a script that must succeed; returns its output.
    pub fn ok(&self, script: &str) -> String {
        let (code, out) = self.sh(script);
        assert_eq!(code, 0, "in container: {script}\n{out}");
        out
    }

    /// Writes `content` to `path` inside.
    pub fn write(&self, path: &str, content: &str) {
        use std::io::Write;
        let mut child = Command::new("nsenter")
            .args([
                "-t",
                &self.pid1,
                "-a",
                "sh",
                "-c",
                &format!("mkdir -p \"$(dirname {path})\" && cat > {path}"),
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nsenter");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// A property of a unit, from `systemctl show`.
    pub fn prop(&self, unit: &str, prop: &str) -> String {
        self.ok(&format!("systemctl show -P {prop} {unit}"))
            .trim()
            .to_owned()
    }

    /// Polls `check` (bounded) until it holds: waiting on the container's own state.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Container) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let (_, journal) = self.sh("journalctl -u connectivity-monitor --no-pager -n 60");
        panic!("{what}: not within {timeout:?}; journal:\n{journal}");
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/nspawn.sh");
        let _ = Command::new("bash")
            .arg(script)
            .args(["stop", &self.name])
            .status();
    }
}

/// One request a [`WebServer`] received.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// The request line and headers, as sent.
    pub head: String,
    pub body: String,
    pub at: Instant,
}

/// A real HTTP server on 127.0.0.1:0 standing in for Teams or Telegram: it
/// records every request and answers with queued responses (then 200 `{"ok":true}`).
pub struct WebServer {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    responses: Arc<Mutex<std::collections::VecDeque<(u16, String)>>>,
}

impl WebServer {
    pub fn start() -> WebServer {
        Self::start_on(std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
    }

    pub fn start_on(listener: std::net::TcpListener) -> WebServer {
        use std::io::{Read, Write};
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responses: Arc<Mutex<std::collections::VecDeque<(u16, String)>>> = Arc::default();
        let (req, resp) = (Arc::clone(&requests), Arc::clone(&responses));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = s.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break (None, 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (Some(i + 4), len);
                    }
                };
                let Some(start) = head_end else { continue };
                while buf.len() < start + length {
                    let n = s.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..start]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let body = String::from_utf8_lossy(&buf[start..]).into_owned();
                req.lock().unwrap().push(Request {
                    path,
                    head,
                    body,
                    at: Instant::now(),
                });
                let (status, text) = resp
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((200, "{\"ok\":true}".into()));
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        WebServer {
            url,
            requests,
            responses,
        }
    }

    /// The next answer, instead of 200.
    pub fn respond(&self, status: u16, body: &str) {
        self.responses
            .lock()
            .unwrap()
            .push_back((status, body.to_owned()));
    }

    /// Waits until `n` requests have arrived; returns them all.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                assert!(
                    got.len() >= n,
                    "expected {n} requests, got {}: {got:#?}",
                    got.len()
                );
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// A config that probes only loopback (fast checks, logs and state in `dir`),
/// with `extra` (channels, watches) appended; written to `dir/config.toml`.
pub fn loopback_config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "[monitor]\ninterval = \"300ms\"\ntimeout = \"200ms\"\nlog_dir = \"{0}/logs\"\nstate_dir = \"{0}/state\"\n\
         [gateway]\naddress = \"127.0.0.1\"\nprobes = [\"tcp:9\"]\n\
         [[target]]\nname = \"loopback\"\naddress = \"127.0.0.1\"\nprobes = [\"tcp:9\"]\n{extra}",
        dir.display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The daemon in this process's namespace on a loopback config, every check
/// failed on purpose (`--sim-fail 1.0`) so that an outage and its alert follow.
pub fn failing_daemon(cfg: &Path) -> Proc {
    Proc::spawn_in_current(
        "daemon",
        &format!("{BIN} run -c {} --sim-fail 1.0", cfg.display()),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    )
}

/// The longer path of tests/net/chain.sh: gateway, two ISP routers, two
/// internet routers, the destination, and a spare router for re-routing.
pub struct Chain {
    pub prefix: String,
    pub dir: tempfile::TempDir,
}

fn chain_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/chain.sh")
}

impl Chain {
    /// Builds it.
    pub fn up() -> Chain {
        assert_netns_available();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let prefix = unique_prefix('h', n);
        run(Command::new("bash")
            .arg(chain_script())
            .args(["up", &prefix]));
        Chain {
            prefix,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Runs chain.sh `what` (reroute, cut, restore, loss PCT, noloss).
    pub fn act(&self, what: &[&str]) {
        let mut c = Command::new("bash");
        c.arg(chain_script())
            .arg(what[0])
            .arg(&self.prefix)
            .args(&what[1..]);
        run(&mut c);
    }

    pub fn ns(&self, which: &str) -> String {
        format!("{}-{which}", self.prefix)
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// A config for the chain: two ICMP targets, the ISP routers as hops,
    /// 1 s checks; `extra` is appended.
    pub fn config(&self, extra: &str) -> PathBuf {
        let text = format!(
            "[monitor]\ninterval = \"1s\"\ntimeout = \"500ms\"\ndown_after = 3\nup_after = 2\nlog_dir = \"{}\"\nstate_dir = \"{}\"\n\
             [isp]\nhops = [\"100.64.1.2\", \"100.64.2.2\"]\n\
             [[target]]\nname = \"one\"\naddress = \"198.51.100.1\"\nprobes = [\"icmp\"]\n\
             [[target]]\nname = \"two\"\naddress = \"198.51.100.2\"\nprobes = [\"icmp\"]\n{extra}",
            self.log_dir().display(),
            self.state_dir().display()
        );
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// The daemon in the monitor's namespace, logging at debug level.
    pub fn daemon(&self, config: &Path) -> Proc {
        Proc::spawn_in(
            &self.ns("mon"),
            "daemon",
            &format!("{BIN} run -c {}", config.display()),
            &[("RUST_LOG", "connectivity_monitor=debug")],
        )
    }

    /// Runs `cmd` (a shell command line) in the monitor's namespace: (exit code, stdout, stderr).
    pub fn sh(&self, cmd: &str) -> (i32, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns("mon"), "sh", "-c", cmd])
            .output()
            .expect("ip netns exec");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(chain_script())
            .args(["down", &self.prefix])
            .status();
    }
}

/// Polls `check` (bounded) until it gives a value: for what leaves no line
/// to wait on, such as a row another task of the daemon writes.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The aiosmtpd server of tests/net/smtp.py on loopback `port`; `args` pick its
/// mode ("plain", or TLS and authentication options).
pub fn smtp_server(port: u16, args: &str) -> Proc {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/smtp.py");
    let p = Proc::spawn_in_current(
        "smtp server",
        &format!("/usr/bin/python3 -u {script} {port} {args}"),
        &[],
    );
    p.wait_for("listening", Duration::from_secs(20));
    p
}

/// Headless Chromium that stays quiet: no sandbox (tests run as root), no GPU,
/// no background traffic of its own.
pub const CHROMIUM_HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub mod hostile;
pub mod report;
