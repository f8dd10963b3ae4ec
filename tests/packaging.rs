//! The shipped unit and Debian package, checked with systemd's and Debian's own tools.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_connectivity-monitor");
const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/connectivity-monitor.service"
);

/// Whether `tool` runs; in CI it must.
fn have(tool: &str, args: &[&str]) -> bool {
    if Command::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {tool} is not available; .ci/run installs it");
    }
    eprintln!("SKIPPED: {tool} is not installed");
    false
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

#[test]
fn unit_security_exposure_is_at_most_1_3() {
    if !have("systemd-analyze", &["--version"]) {
        return;
    }
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

#[test]
fn unit_verifies_without_a_single_warning() {
    if !have("systemd-analyze", &["--version"]) {
        return;
    }
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

#[test]
fn deb_package_has_the_expected_files_and_no_lintian_errors() {
    if !have("cargo-deb", &["--version"]) || !have("lintian", &["--version"]) {
        return;
    }
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
        "./usr/share/bash-completion/completions/connectivity-monitor",
        "./usr/share/zsh/vendor-completions/_connectivity-monitor",
        "./usr/share/fish/vendor_completions.d/connectivity-monitor.fish",
        "./usr/lib/sysctl.d/60-connectivity-monitor.conf",
        "./usr/share/doc/connectivity-monitor/copyright",
    ] {
        assert!(
            list.lines().any(|l| l.ends_with(path)),
            "{path} missing from the package:\n{list}"
        );
    }
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
    assert!(
        String::from_utf8_lossy(&postinst.stdout).contains("deb-systemd-helper"),
        "systemd maintainer scripts"
    );
    let lint = Command::new("lintian").arg(&deb).output().unwrap();
    let report = String::from_utf8_lossy(&lint.stdout);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{report}");
}
