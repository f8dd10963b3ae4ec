//! The shipped unit and Debian package, checked with systemd's and Debian's own tools.

use crate::common::needs::Need;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_connectivity-monitor");
const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/connectivity-monitor.service"
);
const REPORT_UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/connectivity-monitor-report.service"
);
const REPORT_TIMER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/connectivity-monitor-report.timer"
);

/// The man pages build.rs made: `connectivity-monitor*.1.gz`, sorted.
fn generated_man_pages() -> Vec<String> {
    let assets = Path::new(BIN).parent().unwrap().join("assets");
    let mut pages: Vec<String> = std::fs::read_dir(assets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("connectivity-monitor") && n.ends_with(".1.gz"))
        .collect();
    pages.sort();
    pages
}

/// Runs `script` in a private mount namespace with a tmpfs on /run/systemd
/// (systemd-analyze writes there); returns (exit code, stdout, stderr).
fn private_sh(script: &str) -> (i32, String, String) {
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            &format!("mount -t tmpfs tmpfs /run/systemd && {script}"),
        ])
        .output()
        .expect("unshare");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn unit_security_exposure_is_at_most_1_3() {
    let (_, out, err) = private_sh(&format!(
        "systemd-analyze security --offline=true --no-pager {UNIT}"
    ));
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line:\n{out}\n{err}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score from {line:?}"));
    assert!(score <= 1.3, "exposure {score} > 1.3:\n{out}");
}

/// The weekly report's service and timer verify, and the service is as
/// confined as the daemon.
fn report_timer_and_service_verify_and_are_confined() {
    let dir = tempfile::tempdir().unwrap();
    for unit in [REPORT_UNIT, REPORT_TIMER] {
        let text = std::fs::read_to_string(unit)
            .unwrap()
            .replace("/usr/bin/connectivity-monitor", BIN);
        let name = Path::new(unit).file_name().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let timer = dir.path().join("connectivity-monitor-report.timer");
    let (code, out, err) = private_sh(&format!(
        "systemd-analyze verify --man=no {}",
        timer.display()
    ));
    assert_eq!((code, out.trim(), err.trim()), (0, "", ""));
    let timer_text = std::fs::read_to_string(REPORT_TIMER).unwrap();
    assert!(
        timer_text.contains("OnCalendar=Mon "),
        "weekly: {timer_text}"
    );
    let service = std::fs::read_to_string(REPORT_UNIT).unwrap();
    assert!(service.contains("ExecStart=/usr/bin/connectivity-monitor report --send"));
    assert!(!service.contains("[Install]"), "started by the timer only");
    let (_, out, err) = private_sh(&format!(
        "systemd-analyze security --offline=true --no-pager {REPORT_UNIT}"
    ));
    let line = out
        .lines()
        .chain(err.lines())
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line:\n{out}\n{err}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(score <= 1.3, "exposure {score} > 1.3:\n{out}");
}

fn unit_verifies_without_a_single_warning() {
    // verify wants ExecStart to exist; point it at the built binary in a copy.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("connectivity-monitor.service");
    let text = std::fs::read_to_string(UNIT)
        .unwrap()
        .replace("/usr/bin/connectivity-monitor", BIN);
    std::fs::write(&unit, text).unwrap();
    let (code, out, err) = private_sh(&format!(
        "systemd-analyze verify --man=no {}",
        unit.display()
    ));
    // verify exits 0 on unknown keys, so any output at all is a failure.
    assert_eq!((code, out.trim(), err.trim()), (0, "", ""));
}

fn deb_package_has_the_expected_files_and_no_lintian_errors() {
    let out_dir = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["deb", "--output"])
        .arg(out_dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo deb");
    assert!(
        built.status.success(),
        "cargo deb failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let list = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for path in [
        "./usr/bin/connectivity-monitor",
        "./usr/lib/systemd/system/connectivity-monitor.service",
        "./etc/connectivity-monitor/config.toml",
        "./usr/share/man/man1/connectivity-monitor.1.gz",
        "./usr/share/man/man1/connectivity-monitor-run.1.gz",
        "./usr/share/man/man1/connectivity-monitor-check-config.1.gz",
        "./usr/share/man/man1/connectivity-monitor-once.1.gz",
        "./usr/share/man/man1/connectivity-monitor-notify-test.1.gz",
        "./usr/share/man/man1/connectivity-monitor-discover.1.gz",
        "./usr/share/man/man1/connectivity-monitor-report.1.gz",
        "./usr/lib/systemd/system/connectivity-monitor-report.service",
        "./usr/lib/systemd/system/connectivity-monitor-report.timer",
        "./etc/logrotate.d/connectivity-monitor",
        "./usr/share/bash-completion/completions/connectivity-monitor",
        "./usr/share/zsh/vendor-completions/_connectivity-monitor",
        "./usr/share/fish/vendor_completions.d/connectivity-monitor.fish",
        "./usr/lib/sysctl.d/60-connectivity-monitor.conf",
        "./usr/share/doc/connectivity-monitor/copyright",
        "./usr/share/connectivity-monitor/prometheus/alerts.yml",
        "./usr/share/connectivity-monitor/prometheus/alerts.test.yml",
        "./usr/share/connectivity-monitor/grafana/connectivity-monitor.json",
    ] {
        assert!(
            list.lines().any(|l| l.ends_with(path)),
            "{path} missing from the package:\n{list}"
        );
    }
    // Every man page build.rs makes is in the package, and no other.
    let mut shipped: Vec<String> = list
        .lines()
        .filter_map(|l| l.split("./usr/share/man/man1/").nth(1))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    shipped.sort();
    assert_eq!(shipped, generated_man_pages(), "the package's man pages");
    let package = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Package")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&package.stdout).trim(),
        "connectivity-monitor"
    );
    let info = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("/etc/connectivity-monitor/config.toml"),
        "the config is a conffile"
    );
    let postinst = Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("postinst")
        .output()
        .unwrap();
    let postinst = String::from_utf8_lossy(&postinst.stdout);
    assert!(
        postinst.contains("deb-systemd-helper"),
        "systemd maintainer scripts"
    );
    assert!(
        postinst.contains("sysctl -q -p /usr/lib/sysctl.d/60-connectivity-monitor.conf"),
        "the sysctl file is applied at install, as deploy.sh does:\n{postinst}"
    );
    let lint = Command::new("lintian").arg(&deb).output().unwrap();
    let report = String::from_utf8_lossy(&lint.stdout);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{report}");
}

/// What `man -l` shows of page `name` (its text, formatted).
fn man(name: &str) -> String {
    let page = Path::new(BIN)
        .parent()
        .unwrap()
        .join("assets")
        .join(format!("{name}.1.gz"));
    let out = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "200")
        .output()
        .expect("man");
    assert!(out.status.success(), "man -l {}", page.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The EXIT STATUS section of a formatted page, its lines joined.
fn exit_section(page: &str) -> String {
    let mut lines = page.lines().skip_while(|l| *l != "EXIT STATUS").skip(1);
    let body: Vec<&str> = lines
        .by_ref()
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect();
    body.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn man_pages_document_every_command_with_exit_status_files_environment_and_config() {
    let main = man("connectivity-monitor");
    for section in ["EXIT STATUS", "FILES", "ENVIRONMENT", "CONFIGURATION"] {
        assert!(main.lines().any(|l| l == section), "{section} missing");
    }
    // The config reference is the example itself, every key of it.
    assert!(main.contains("degraded_loss_pct = 20"), "config reference");
    // Every page the main page names exists, and every page is named.
    let named: Vec<String> = main
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|w| w.strip_suffix("(1)"))
        .filter(|w| w.starts_with("connectivity-monitor-"))
        .map(|w| format!("{w}.1.gz"))
        .collect();
    let generated = generated_man_pages();
    for page in &named {
        assert!(
            generated.contains(page),
            "the main page names {page}, which does not exist"
        );
    }
    assert_eq!(
        named.len() + 1,
        generated.len(),
        "named: {named:?}, made: {generated:?}"
    );
    // Each command's own EXIT STATUS, with its own words.
    for (sub, own) in [
        ("run", "a clean stop"),
        ("check-config", "the config is valid"),
        ("once", "3 an outage verdict"),
        ("notify-test", "every channel took the test message"),
        ("discover", "no trace could run"),
        ("report", "no connection_log.csv in the log folder"),
    ] {
        let page = man(&format!("connectivity-monitor-{sub}"));
        let exit = exit_section(&page);
        assert!(exit.contains(own), "{sub}: {exit}");
        assert!(
            exit.contains("64 a command-line usage error"),
            "{sub}: {exit}"
        );
        if sub != "run" {
            assert!(
                !exit.contains("clean stop"),
                "{sub} has the daemon's EXIT STATUS: {exit}"
            );
        }
    }
    // --channel completes the channel names.
    let assets = Path::new(BIN).parent().unwrap().join("assets");
    let bash = std::fs::read_to_string(assets.join("connectivity-monitor.bash")).unwrap();
    assert!(
        bash.contains("email teams telegram"),
        "channel names in bash completion"
    );
}

fn logrotate_config_rotates_the_logs_without_recreating_them() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for f in ["outage_log.csv", "connection_log.csv", "notifications.log"] {
        std::fs::write(logs.join(f), "header\nrow\n").unwrap();
    }
    let conf = dir.path().join("logrotate.conf");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/logrotate"))
        .unwrap()
        .replace("/var/log/connectivity-monitor", logs.to_str().unwrap());
    std::fs::write(&conf, text).unwrap();
    let out = Command::new("logrotate")
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--force")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["outage_log.csv", "connection_log.csv", "notifications.log"] {
        assert!(logs.join(format!("{f}.1")).exists(), "{f} rotated");
        assert!(
            !logs.join(f).exists(),
            "{f} is left for the daemon to recreate with its header"
        );
    }
}

/// Runs deploy.sh with `args`; (exit code, stdout and stderr).
fn deploy(args: &[&str]) -> (i32, String) {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy.sh"))
        .args(args)
        .output()
        .expect("bash");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn deploy_script_modes_in_a_throwaway_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let installed = [
        "usr/local/bin/connectivity-monitor",
        "etc/systemd/system/connectivity-monitor.service",
        "etc/systemd/system/connectivity-monitor-report.service",
        "etc/systemd/system/connectivity-monitor-report.timer",
        "etc/sysctl.d/60-connectivity-monitor.conf",
        "etc/logrotate.d/connectivity-monitor",
        "usr/local/share/man/man1/connectivity-monitor.1.gz",
        "usr/local/share/man/man1/connectivity-monitor-once.1.gz",
        "usr/local/share/bash-completion/completions/connectivity-monitor",
        "usr/local/share/zsh/site-functions/_connectivity-monitor",
        "usr/local/share/fish/vendor_completions.d/connectivity-monitor.fish",
        "usr/local/share/connectivity-monitor/prometheus/alerts.yml",
        "usr/local/share/connectivity-monitor/grafana/connectivity-monitor.json",
    ];
    let exists = |p: &str| dir.path().join(p).exists();

    let (code, out) = deploy(&["--dry-run", "--root", root, "--binary", BIN]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("==> validate"),
        "the validate step is shown: {out}"
    );
    assert!(out.contains("(dry run) install -D -m 0755"), "{out}");
    assert!(
        out.trim_end().ends_with("dry run: nothing was changed"),
        "{out}"
    );
    assert!(
        !out.contains("is running"),
        "a dry run does not claim a running service: {out}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing installed"
    );

    let (code, out) = deploy(&["--root", root, "--binary", BIN]);
    assert_eq!(code, 0, "{out}");
    for p in installed
        .iter()
        .chain(&["etc/connectivity-monitor/config.toml"])
    {
        assert!(exists(p), "{p} installed: {out}");
    }
    assert!(
        out.contains("enable and start the service: skipped (--root)"),
        "{out}"
    );
    let unit = std::fs::read_to_string(dir.path().join(installed[1])).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/connectivity-monitor run"),
        "{unit}"
    );
    let report_unit = std::fs::read_to_string(dir.path().join(installed[2])).unwrap();
    assert!(
        report_unit.contains("ExecStart=/usr/local/bin/connectivity-monitor report --send"),
        "{report_unit}"
    );
    assert!(
        !dir.path()
            .join("etc/systemd/system/timers.target.wants")
            .exists(),
        "the weekly report is installed, not enabled"
    );

    let (code, out) = deploy(&["--root", root, "--binary", BIN]);
    assert_eq!(code, 0, "idempotent: {out}");
    assert!(out.contains("keep the existing"), "{out}");

    let (code, out) = deploy(&["--uninstall", "--root", root]);
    assert_eq!(code, 0, "{out}");
    for p in installed {
        assert!(!exists(p), "{p} removed: {out}");
    }
    assert!(
        out.contains("60-connectivity-monitor.conf (the running kernel keeps"),
        "{out}"
    );
    assert!(
        exists("etc/connectivity-monitor/config.toml"),
        "config kept"
    );
    assert!(
        out.contains(&format!(
            "kept: {root}/etc/connectivity-monitor (config) and {root}/var/log/"
        )),
        "names what it kept under the root: {out}"
    );

    std::fs::write(
        dir.path().join("etc/connectivity-monitor/config.toml"),
        "[monitor]\nbogus = 1\n",
    )
    .unwrap();
    let (code, out) = deploy(&["--root", root, "--binary", BIN]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("monitor.bogus") && out.contains("is invalid"),
        "{out}"
    );

    let (code, out) = deploy(&["--bogus"]);
    assert_eq!(code, 2, "{out}");
}

crate::tests! {
    unit_security_exposure_is_at_most_1_3 => [Need::Root, Need::Tool("systemd-analyze")],
    report_timer_and_service_verify_and_are_confined => [Need::Root, Need::Tool("systemd-analyze")],
    unit_verifies_without_a_single_warning => [Need::Root, Need::Tool("systemd-analyze")],
    deb_package_has_the_expected_files_and_no_lintian_errors => [Need::Tool("cargo-deb"), Need::Tool("lintian")],
    man_pages_document_every_command_with_exit_status_files_environment_and_config => [Need::Tool("man")],
    logrotate_config_rotates_the_logs_without_recreating_them => [Need::Tool("logrotate")],
    deploy_script_modes_in_a_throwaway_root => [],
}
