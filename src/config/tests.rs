//! Config tests: every error names file, place, key, value and rule, exactly.

use std::path::Path;

use super::*;
use crate::daemon::config::{Config, RawFile};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/etc/cm.toml"), text)
}

fn err(text: &str) -> String {
    parse(text)
        .expect_err("config should be rejected")
        .to_string()
}

const MINIMAL: &str = "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n";

#[test]
fn example_config_parses_and_is_complete() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let text = std::fs::read_to_string(&path).expect("config.example.toml exists");
    let c = Config::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.targets.is_empty());
    assert!(
        c.isp.hops.is_empty(),
        "the example ships no hop: one must be found, never guessed"
    );
    assert!(c.dns.is_some() && !c.http.is_empty());
    // Every key the file format accepts appears in the example, so none is undocumented.
    let keys = raw_keys();
    assert!(
        keys.len() > 40,
        "the key list is derived, not empty: {keys:?}"
    );
    let missing: Vec<&String> = keys
        .iter()
        .filter(|path| {
            let key = path.rsplit('.').next().unwrap_or(path);
            !text.contains(&format!("{key} ="))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "config.example.toml does not document {missing:?}"
    );
}

/// Every leaf key of the raw config types, as `section.key`, asked of the types
/// themselves: an unknown key makes serde list the keys a table accepts.
fn raw_keys() -> Vec<String> {
    fn accepted(toml_text: &str) -> Option<Vec<String>> {
        let e = toml::from_str::<RawFile>(toml_text).err()?.to_string();
        let list = e.split("unknown field `__probe__`, expected ").nth(1)?;
        let list = list.lines().next()?;
        Some(
            list.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        )
    }
    /// `section`'s keys; `parents` holds the `[[array]]` headers a nested table needs.
    fn walk(section: &str, parents: &str, out: &mut Vec<String>) {
        let probe = |header: String| accepted(&format!("{parents}{header}\n__probe__ = 1\n"));
        let fields = if section.is_empty() {
            accepted("__probe__ = 1\n")
        } else {
            probe(format!("[{section}]")).or_else(|| probe(format!("[[{section}]]")))
        };
        for f in fields.unwrap_or_default() {
            let path = if section.is_empty() {
                f
            } else {
                format!("{section}.{f}")
            };
            if probe(format!("[{path}]")).is_some() {
                walk(&path, parents, out);
            } else if probe(format!("[[{path}]]")).is_some() {
                walk(&path, &format!("{parents}[[{path}]]\n"), out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk("", "", &mut out);
    out
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.monitor.interval, Duration::from_secs(10));
    assert_eq!(c.monitor.timeout, Duration::from_secs(5));
    assert_eq!(c.monitor.down_after.get(), 2);
    assert_eq!(c.monitor.pings.get(), 3);
    assert_eq!(c.gateway.address, GatewayAddress::Auto);
    assert_eq!(c.targets[0].probes, vec![ProbeWord::ICMP]);
}

#[test]
fn unknown_key_is_an_error_with_its_path_and_line() {
    let e = err("[monitor]\ninterval = \"10s\"\nintervall = \"5s\"\n");
    assert!(
        e.starts_with("/etc/cm.toml:3:1: monitor.intervall: unknown field `intervall`"),
        "{e}"
    );
}

#[test]
fn toml_syntax_error_names_line() {
    let e = err("[monitor\n");
    assert!(e.starts_with("/etc/cm.toml:1:"), "{e}");
}

#[test]
fn wrong_type_names_key() {
    let e = err("[monitor]\ndown_after = \"two\"\n");
    assert!(
        e.starts_with("/etc/cm.toml:2:14: monitor.down_after: invalid type"),
        "{e}"
    );
}

#[test]
fn bad_duration_names_file_line_key_value_and_rule() {
    let e = err(&format!("{MINIMAL}[monitor]\ninterval = \"10 parsecs\"\n"));
    assert_eq!(
        e,
        "/etc/cm.toml:5:12: monitor.interval = \"10 parsecs\": must be a duration such as \"10s\" or \"2m\" (unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations))"
    );
}

#[test]
fn timeout_longer_than_interval_is_rejected() {
    let e = err(&format!(
        "{MINIMAL}[monitor]\ninterval = \"2s\"\ntimeout = \"3s\"\n"
    ));
    assert_eq!(e, "/etc/cm.toml:6:11: monitor.timeout = \"3s\": monitor.timeout (3s) must not exceed monitor.interval (2s)");
}

#[test]
fn zero_count_is_rejected() {
    let e = err(&format!("{MINIMAL}[monitor]\ndown_after = 0\n"));
    assert_eq!(
        e,
        "/etc/cm.toml:5:14: monitor.down_after = 0: must be a whole number from 1 to 1000"
    );
}

#[test]
fn target_by_name_is_rejected() {
    let e = err("[[target]]\nname = \"a\"\naddress = \"one.one.one.one\"\n");
    assert_eq!(
        e,
        "/etc/cm.toml:3:11: target[0].address = \"one.one.one.one\": must be an IP address (targets are reached by IP, not by name)"
    );
}

#[test]
fn bad_probe_kind_is_rejected() {
    let e = err(&format!("{MINIMAL}probes = [\"icmp\", \"tcp:0\"]\n"));
    assert_eq!(e, "/etc/cm.toml:4:19: target[0].probes = \"tcp:0\": must be \"icmp\" or \"tcp:PORT\" with PORT from 1 to 65535");
}

#[test]
fn no_targets_is_rejected() {
    let e = err("[monitor]\ninterval = \"10s\"\n");
    assert_eq!(
        e,
        "/etc/cm.toml:(default): target = (none): at least one [[target]] is needed to tell whether the internet is reachable"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let e = err(&format!(
        "{MINIMAL}[monitor]\npings = 0\ndegraded_loss_pct = 101\n[gateway]\naddress = \"router\"\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(lines[0].contains("monitor.pings = 0"));
    assert!(lines[1].contains("monitor.degraded_loss_pct = 101"));
    assert!(lines[2].starts_with("/etc/cm.toml:8:11: gateway.address = \"router\""));
}

#[test]
fn dns_server_with_port_and_http_url_rules() {
    let c = parse(&format!(
        "{MINIMAL}[dns]\nservers = [\"127.0.0.1:5353\", \"9.9.9.9\"]\nnames = [\"example.com\"]\n"
    ))
    .unwrap();
    let servers = &c.dns.as_ref().unwrap().servers;
    assert_eq!(servers[0].port(), 5353);
    assert_eq!(servers[1].port(), 53);
    let e = err(&format!(
        "{MINIMAL}[[http]]\nname = \"x\"\nurl = \"ftp://example.com/\"\n"
    ));
    assert_eq!(e, "/etc/cm.toml:6:7: http[0].url = \"ftp://example.com/\": must be an http:// or https:// URL");
}

#[test]
fn missing_file_error_names_it() {
    let e = Config::load(Some(Path::new("/nonexistent/cm.toml"))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot read config file /nonexistent/cm.toml"
    );
}

#[test]
fn built_in_default_matches_design() {
    let c = Config::built_in();
    assert_eq!(c.source, Source::BuiltIn);
    assert_eq!(c.gateway.address, GatewayAddress::Auto);
    let v6 = c.targets.iter().filter(|t| t.address.is_ipv6()).count();
    assert_eq!(c.targets.len() - v6, 3);
    let routes_v6 = crate::route::default_gateway(Family::V6).is_some();
    assert_eq!(
        v6,
        if routes_v6 { 3 } else { 0 },
        "IPv6 targets only where IPv6 is routed"
    );
    assert!(c.targets.iter().all(|t| t.probes.len() == 2));
    assert_eq!(c.dns.as_ref().unwrap().servers.len(), 3);
    assert_eq!(c.http.len(), 1);
    assert_eq!(c.http[0].url.scheme(), "https");
}

#[test]
fn effective_config_round_trips() {
    let c = Config::built_in();
    let again = parse(&c.to_toml()).unwrap_or_else(|e| panic!("{e}\n{}", c.to_toml()));
    assert_eq!(
        Config {
            source: Source::BuiltIn,
            ..again
        },
        c
    );
}

#[test]
fn word_choices_list_every_allowed_word() {
    let e = err(&format!("{MINIMAL}[notify.email]\nserver = \"s\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\ntls = \"ssl\"\n"));
    assert_eq!(
        e,
        "/etc/cm.toml:8:7: notify.email.tls = \"ssl\": must be \"starttls\", \"tls\" or \"none\""
    );
    let e = err(&format!(
        "{MINIMAL}[notify.teams]\nwebhook_url = \"https://x.invalid/\"\nmin_severity = \"info\"\n"
    ));
    assert_eq!(e, "/etc/cm.toml:6:16: notify.teams.min_severity = \"info\": must be \"warning\" or \"critical\"");
}

#[test]
fn alerts_and_maintenance_windows() {
    let c = parse(&format!(
        "{MINIMAL}[alerts]\ncritical_after = \"5m\"\n[[alerts.maintenance]]\nfrom = \"23:30\"\nto = \"00:15\"\ndays = [\"sat\", \"sun\"]\n"
    ))
    .unwrap();
    assert_eq!(c.alerts.critical_after, Duration::from_secs(300));
    assert_eq!(c.alerts.warn_after, Duration::ZERO);
    assert_eq!(c.alerts.maintenance.len(), 1);
    assert_eq!(c.alerts.maintenance[0].days.len(), 2);
    let e = err(&format!(
        "{MINIMAL}[[alerts.maintenance]]\nfrom = \"3am\"\nto = \"03:30\"\ndays = [\"funday\"]\n"
    ));
    assert_eq!(
        e.lines().collect::<Vec<_>>(),
        vec![
            "/etc/cm.toml:5:8: alerts.maintenance[0].from = \"3am\": must be a local time of day as HH:MM",
            "/etc/cm.toml:7:9: alerts.maintenance[0].days = \"funday\": must be a weekday: mon, tue, wed, thu, fri, sat or sun",
        ]
    );
    let e = err(&format!(
        "{MINIMAL}[alerts]\nwarn_after = \"5m\"\ncritical_after = \"1m\"\n"
    ));
    assert_eq!(e, "/etc/cm.toml:6:18: alerts.critical_after = \"1m\": alerts.critical_after (1m) must not be shorter than alerts.warn_after (5m)");
}

#[test]
fn log_watch_rules() {
    let c = parse(&format!("{MINIMAL}[[log_watch]]\npath = \"/var/log/nginx/access.log\"\nservice = \"nginx\"\nidle_after = \"10m\"\ncritical_after = \"1h\"\n")).unwrap();
    assert_eq!(c.features.log_watch[0].idle_after, Duration::from_secs(600));
    assert_eq!(
        c.features.log_watch[0].critical_after,
        Some(Duration::from_secs(3600))
    );
    assert_eq!(c.features.log_watch[0].repeat_every, None);
    let e = err(&format!("{MINIMAL}[[log_watch]]\npath = \"/x\"\nservice = \"x\"\nidle_after = \"10m\"\ncritical_after = \"1m\"\n"));
    assert_eq!(e, "/etc/cm.toml:8:18: log_watch[0].critical_after = \"1m\": must not be shorter than idle_after");
}

#[test]
fn cleartext_smtp_auth_is_noted() {
    let email = "[notify.email]\nserver = \"mail.example.com\"\nfrom = \"m@example.com\"\nto = [\"a@example.com\"]\n";
    let c = parse(&format!(
        "{MINIMAL}{email}tls = \"none\"\npassword = \"p\"\n"
    ))
    .unwrap();
    assert!(
        c.notes.iter().any(|n| n.contains(
            "tls = \"none\" with a password: the password crosses the network in clear text"
        )),
        "{:?}",
        c.notes
    );
    let c = parse(&format!("{MINIMAL}{email}password = \"p\"\n")).unwrap();
    assert!(c.notes.is_empty(), "STARTTLS: {:?}", c.notes);
}

#[test]
fn absurd_durations_are_rejected_with_their_range() {
    // Regression: this interval passed check-config and then overflowed (an
    // abort, a restart loop under systemd); 99999999999d ran one check, then none.
    for (value, rule) in [
        ("18446744073709551615s", "must be from 100ms to 1d"),
        ("99999999999d", "must be from 100ms to 1d"),
        ("10ms", "must be from 100ms to 1d"),
    ] {
        let e = err(&format!("{MINIMAL}[monitor]\ninterval = \"{value}\"\n"));
        assert!(
            e.contains(&format!("monitor.interval = \"{value}\": {rule}")),
            "{value}: {e}"
        );
    }
    let e = err(&format!("{MINIMAL}[monitor]\ndegraded_rtt = \"0s\"\n"));
    assert!(
        e.contains("monitor.degraded_rtt = \"0s\": must be from 1ms to 1m"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[alerts]\nrepeat_every = \"400d\"\n"));
    assert!(
        e.contains("alerts.repeat_every = \"400d\": must be at most 30d"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[notify]\nmax_age = \"500ms\"\n"));
    assert!(
        e.contains("notify.max_age = \"500ms\": must be from 1s to 365d"),
        "{e}"
    );
}

#[test]
fn a_number_toml_refuses_is_reported_against_its_key() {
    // Regression: reported against "(top level)".
    let e = err(&format!(
        "{MINIMAL}[monitor]\ndown_after = 99999999999999999999\n"
    ));
    assert!(
        e.starts_with("/etc/cm.toml:5:14: monitor.down_after: number too large"),
        "{e}"
    );
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    // Regression: the value reached the journal and systemctl status.
    let e = err(&format!(
        "{MINIMAL}[notify.email]\nserver = \"x\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\npassword = 31415926\n"
    ));
    assert!(!e.contains("31415926"), "{e}");
    assert!(
        e.contains(
            "notify.email.password: must be a string (the value is not shown: it is a secret)"
        ),
        "{e}"
    );
}

#[test]
fn control_characters_in_names_are_rejected() {
    // Regression: a newline in a name broke CSV cells and forged journal lines.
    let e = err("[[target]]\nname = \"a\\nFAKE outage ended\"\naddress = \"192.0.2.1\"\n");
    assert!(
        e.contains("target[0].name = \"a\\\\nFAKE outage ended\": must not contain line breaks"),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}[[http]]\nname = \"w\\teb\"\nurl = \"http://192.0.2.9/\"\n"
    ));
    assert!(e.contains("http[0].name"), "{e}");
    let e = err(&format!(
        "{MINIMAL}[[log_watch]]\npath = \"/var/log/x\"\nservice = \"x\\ry\"\nidle_after = \"1m\"\n"
    ));
    assert!(e.contains("log_watch[0].service"), "{e}");
}

#[test]
fn path_settings_out_of_range_are_rejected() {
    let e = err(&format!("{MINIMAL}[path]\nmax_hops = 0\n"));
    assert_eq!(
        e,
        "/etc/cm.toml:5:12: path.max_hops = 0: must be a whole number from 1 to 64"
    );
    let e = err(&format!("{MINIMAL}[path]\nmax_hops = 65\n"));
    assert!(
        e.ends_with("path.max_hops = 65: must be a whole number from 1 to 64"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[path]\nrounds = 0\n"));
    assert!(
        e.ends_with("path.rounds = 0: must be a whole number from 1 to 100"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[path]\nbaseline_every = \"500ms\"\n"));
    assert!(
        e.ends_with("path.baseline_every = \"500ms\": must be \"0s\" (no baseline) or at least 1s"),
        "{e}"
    );
    let c = parse(&format!(
        "{MINIMAL}[path]\nenabled = false\nbaseline_every = \"0s\"\n"
    ))
    .unwrap();
    assert!(!c.path.enabled && c.path.baseline_every.is_zero());
}

#[test]
fn sensor_thresholds_and_mounts_are_checked() {
    let e = err(&format!("{MINIMAL}[sensors.disk]\nwarn_used_pct = 96\n"));
    assert!(
        e.ends_with(
            "sensors.disk.warn_used_pct = 96: must be below sensors.disk.critical_used_pct (95)"
        ),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}[sensors.memory]\ncritical_used_pct = 101\n"
    ));
    assert!(
        e.ends_with(
            "sensors.memory.critical_used_pct = 101: must be a whole percentage from 1 to 100"
        ),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}[sensors.disk]\nmounts = [\"/no/such/mount\"]\n"
    ));
    assert!(
        e.contains(
            ":5:11: sensors.disk.mounts = \"/no/such/mount\": must be an existing mount point"
        ),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[sensors.ssh]\nmax_failures = 0\n"));
    assert!(
        e.ends_with("sensors.ssh.max_failures = 0: must be a whole number from 1 to 100000"),
        "{e}"
    );
    let c = parse(&format!(
        "{MINIMAL}[sensors.disk]\n[sensors.memory]\n[sensors.ssh]\n"
    ))
    .unwrap();
    let d = c.features.sensors.disk.unwrap();
    assert_eq!(
        (d.warn_used_pct, d.critical_used_pct, d.every),
        (85, 95, Duration::from_secs(60))
    );
    assert_eq!(d.exclude, vec![PathBuf::from("/boot/efi")]);
    assert_eq!(c.features.sensors.ssh.unwrap().max_failures, 10);
}
