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

fn check_config_accepts_the_example_and_prints_the_effective_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let (code, out, err) = run(&["check-config", "-c", example]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("# valid: {example}\n")), "{out}");
    assert!(out.contains("interval = \"10s\""), "{out}");
    assert!(out.contains("[[target]]"), "{out}");
}

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

fn missing_config_file_is_named() {
    let (code, _, err) = run(&["check-config", "-c", "/nonexistent/x.toml"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "connectivity-monitor: cannot read config file /nonexistent/x.toml: No such file or directory (os error 2)");
}

fn version_and_sim_fail_range() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        concat!("connectivity-monitor ", env!("CARGO_PKG_VERSION"))
    );
    let (code, _, err) = run(&["run", "--sim-fail", "1.5"]);
    assert_eq!(
        code, 64,
        "a usage error is EX_USAGE, apart from once's 2 (DEGRADED)"
    );
    assert!(err.contains("1.5 is not between 0.0 and 1.0"), "{err}");
    // The documented form without `run` is checked the same way.
    let (code, _, err) = run(&["--sim-fail", "1.5"]);
    assert_eq!(code, 64);
    assert!(err.contains("1.5 is not between 0.0 and 1.0"), "{err}");
    let (code, _, err) = run(&["notify-test", "--channel", "bogus"]);
    assert_eq!(code, 64);
    // The channels' names, from the channel list, whatever channels it holds.
    let values = err
        .split("[possible values: ")
        .nth(1)
        .and_then(|v| v.split(']').next())
        .unwrap_or_else(|| panic!("no possible values: {err}"));
    for channel in ["email", "teams", "telegram", "ntfy"] {
        assert!(values.split(", ").any(|v| v == channel), "{err}");
    }
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--sim-fail"), "{out}");
}

fn sim_fail_without_run_runs_the_daemon() {
    // A config that only the daemon refuses (a credential outside systemd)
    // shows which command ran: check-config would accept it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        format!("{TARGET}[notify.telegram]\nbot_token_file = \"tok\"\nchat_id = 1\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--sim-fail", "0.1", "-c", path.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("run the daemon under systemd"),
        "the daemon ran: {err}"
    );
}

const TARGET: &str = "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n";

fn check(config: &str, env: &[(&str, &std::path::Path)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, format!("{TARGET}{config}")).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["check-config", "-c", path.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn secrets_are_redacted_in_the_effective_config() {
    let (code, out, err) = check(
        "[notify.telegram]\nbot_token = \"123456:SECRET-TOKEN\"\nchat_id = 42\n\
         [notify.teams]\nwebhook_url = \"https://example.invalid/hook/SECRET-HOOK\"\n\
         [notify.email]\nserver = \"smtp.example.com\"\npassword = \"SECRET-PASS\"\nfrom = \"m@example.com\"\nto = [\"a@example.com\"]\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("SECRET"), "a secret leaked:\n{out}");
    assert_eq!(out.matches("\"(redacted)\"").count(), 3, "{out}");
    assert!(out.contains("chat_id = \"42\""), "{out}");
    assert!(out.contains("port = 587"), "STARTTLS default port: {out}");
}

fn secret_from_a_systemd_credential() {
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("telegram-token"), "123:FROM-CREDENTIAL\n").unwrap();
    let cfg = "[notify.telegram]\nbot_token_file = \"telegram-token\"\nchat_id = \"@home\"\n";
    let (code, out, err) = check(cfg, &[("CREDENTIALS_DIRECTORY", creds.path())]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("FROM-CREDENTIAL"), "{out}");
    // Outside systemd the name cannot be read: a correct setup still passes
    // check-config (deploy.sh runs it), with a note saying where it comes from.
    let (code, out, err) = check(cfg, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# note: notify.telegram.bot_token_file = \"telegram-token\" is a systemd credential: the service reads it from $CREDENTIALS_DIRECTORY (LoadCredential=telegram-token:/path/to/file in the unit)"), "{out}");
    // notify-test cannot send with it, and says how to run it with the credential.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        format!(
            "{TARGET}[monitor]\nlog_dir = \"{}\"\n{cfg}",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["notify-test", "-c", path.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("telegram: FAILED: its secret is the systemd credential \"telegram-token\", which only the service can read; test it under systemd with the same credential: systemd-run --pipe --wait -p LoadCredential=telegram-token:/path/to/telegram-token connectivity-monitor notify-test --channel telegram"), "{stdout}");
    // The daemon itself refuses to start without it, saying why.
    let out = Command::new(BIN)
        .args(["run", "-c", path.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the telegram secret is the systemd credential \"telegram-token\", and $CREDENTIALS_DIRECTORY is not set"), "{stderr}");
}

fn secret_given_twice_or_not_at_all_is_an_error() {
    let (code, _, err) = check(
        "[notify.telegram]\nbot_token = \"x\"\nbot_token_file = \"/etc/token\"\nchat_id = 1\n",
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("notify.telegram.bot_token_file = \"/etc/token\": give notify.telegram.bot_token or notify.telegram.bot_token_file, not both"), "{err}");
    let (code, _, err) = check("[notify.teams]\nformat = \"workflows\"\n", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("notify.teams.webhook_url = (none): is required: give notify.teams.webhook_url or notify.teams.webhook_url_file"), "{err}");
}

crate::tests! {
    check_config_accepts_the_example_and_prints_the_effective_config => [],
    check_config_rejects_a_bad_file_naming_file_line_and_key => [],
    run_with_a_bad_config_exits_non_zero_with_the_reason_before_probing => [],
    missing_config_file_is_named => [],
    version_and_sim_fail_range => [],
    sim_fail_without_run_runs_the_daemon => [],
    secrets_are_redacted_in_the_effective_config => [],
    secret_from_a_systemd_credential => [],
    secret_given_twice_or_not_at_all_is_an_error => [],
}
