//! The real binary's command line, without any network.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_connectivity-monitor");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_example_and_prints_the_effective_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let (code, out, err) = run(&["check-config", "-c", example]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("# valid: {example}\n")), "{out}");
    assert!(out.contains("interval = \"10s\""), "{out}");
    assert!(out.contains("[[target]]"), "{out}");
}

#[test]
fn check_config_rejects_a_bad_file_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n[monitor]\ntimeout = \"soon\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&["check-config", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.is_empty(),
        "nothing on stdout for an invalid config: {out}"
    );
    let want = format!(
        "connectivity-monitor: {}:5:11: monitor.timeout = \"soon\": must be a duration",
        path.display()
    );
    assert!(err.starts_with(&want), "{err}");
}

#[test]
fn run_with_a_bad_config_exits_non_zero_with_the_reason_before_probing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[monitor]\nintervall = \"10s\"\n").unwrap();
    let (code, _, err) = run(&["run", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2:1: monitor.intervall: unknown field `intervall`"),
        "{err}"
    );
    // The same for the default subcommand.
    let (code, _, _) = run(&["-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
}

#[test]
fn missing_config_file_is_named() {
    let (code, _, err) = run(&["check-config", "-c", "/nonexistent/x.toml"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "connectivity-monitor: cannot read config file /nonexistent/x.toml: No such file or directory (os error 2)");
}

#[test]
fn version_and_sim_fail_range() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        concat!("connectivity-monitor ", env!("CARGO_PKG_VERSION"))
    );
    let (code, _, err) = run(&["run", "--sim-fail", "1.5"]);
    assert_eq!(code, 2, "clap usage error");
    assert!(err.contains("1.5 is not between 0.0 and 1.0"), "{err}");
}
