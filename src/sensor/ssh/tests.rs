use chrono::{DateTime, Utc};

use super::failure::{neutral, parse, Failure, MAX_USER};
use super::*;
use crate::alert::condition::ConditionState;

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn cfg(max: u32, window_s: u64) -> SshSensor {
    SshSensor {
        max_failures: max,
        window: Duration::from_secs(window_s),
        repeat_every: None,
        log_file: None,
        maintenance: Vec::new(),
    }
}

fn src(line: &str) -> Option<(String, String)> {
    parse(line.as_bytes(), at()).map(|f| (f.user, f.addr))
}

#[test]
fn failed_logins_are_read_from_sshd_s_words() {
    let own = |u: &str, a: &str| Some((u.to_owned(), a.to_owned()));
    assert_eq!(
        src("Failed password for invalid user admin from 198.51.100.7 port 50022 ssh2"),
        own("admin", "198.51.100.7")
    );
    assert_eq!(
        src("Failed publickey for root from 2001:db8::7 port 22 ssh2: ED25519 SHA256:x"),
        own("root", "2001:db8::7")
    );
    assert_eq!(
        src("Dec  3 06:00:00 pi sshd[812]: Failed none for invalid user  from 192.0.2.9 port 4 ssh2"),
        own("", "192.0.2.9")
    );
    assert_eq!(
        src("Accepted publickey for root from 192.0.2.1 port 22 ssh2"),
        None
    );
    assert_eq!(src("Connection closed by 192.0.2.1 port 22"), None);
}

#[test]
fn the_source_is_the_one_sshd_appends_not_the_one_in_the_user_name() {
    // Regression: a login as `root from 10.9.9.9 port 1` was reported as from 10.9.9.9.
    let (user, addr) = src(
        "Failed password for invalid user root from 10.9.9.9 port 1 from 192.168.77.1 port 49028 ssh2",
    )
    .unwrap();
    assert_eq!(addr, "192.168.77.1");
    assert_eq!(
        user,
        "root\\x20from\\x2010\\x2e9\\x2e9\\x2e9\\x20port\\x201"
    );
    // A last ` from ` that is not sshd's form is no failure read wrongly.
    assert_eq!(
        src("Failed password for x from 192.0.2.1 port 1 from nowhere"),
        None
    );
}

#[test]
fn user_names_cannot_carry_links_markup_or_lines() {
    for raw in [
        "[link](https://evil.example)",
        "<a href=x>y</a>",
        "*bold*_it_`code`",
        "line\nbreak",
        "evil.com",
    ] {
        let u = neutral(raw.as_bytes());
        assert!(
            u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "\\-_".contains(c)),
            "{raw:?} gave {u:?}"
        );
    }
    assert_eq!(neutral(b"ok-name_1"), "ok-name_1");
    assert_eq!(
        neutral(&[b'a'; 100]).chars().count(),
        MAX_USER + 1,
        "cut, with …"
    );
}

fn batch(n: usize, from: i64) -> Batch {
    Batch {
        cursor: Some(format!("c{n}")),
        failures: (0..n)
            .map(|i| Failure {
                at: at() + chrono::Duration::milliseconds(from * 1000 + i as i64),
                addr: format!("192.0.2.{}", i % 7),
                user: format!("u{}", i % 3),
            })
            .collect(),
    }
}

#[test]
fn a_flood_is_counted_exactly_in_bounded_memory_and_state() {
    // Regression: 20 failures a second wrote 388 MB of ssh.json in 40 s.
    let mut w = Window::new(cfg(10, 300), Saved::default());
    for s in 0..40 {
        w.add(batch(500, s));
    }
    let o = w.observe(at() + chrono::Duration::seconds(40));
    let ConditionState::Active { since, detail, .. } = o else {
        panic!("a burst: {o:?}")
    };
    assert_eq!(since, at());
    assert!(
        detail.starts_with("20000 failed SSH logins in 5m (max 10): from 192.0.2."),
        "{detail}"
    );
    assert!(detail.ends_with("(of the last 1000)"), "{detail}");
    let bytes = serde_json::to_vec(&w.saved()).unwrap();
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    // Restored from that state, the count is the same.
    let mut again = Window::new(cfg(10, 300), serde_json::from_slice(&bytes).unwrap());
    let o = again.observe(at() + chrono::Duration::seconds(40));
    assert!(matches!(&o, ConditionState::Active { detail, .. } if detail.starts_with("20000 ")));
    // And the window lets them go.
    let o = again.observe(at() + chrono::Duration::seconds(341));
    assert!(matches!(o, ConditionState::Cleared { .. }), "{o:?}");
    assert!(again.slices.is_empty() && again.recent.is_empty());
}

#[test]
fn state_of_an_earlier_version_is_counted() {
    let old = r#"{"cursor":"c","failures":[{"at":"2023-11-14T22:13:20Z","addr":"192.0.2.7","user":"admin"},{"at":"2023-11-14T22:13:21Z","addr":"192.0.2.7","user":"admin"}]}"#;
    let mut w = Window::new(cfg(1, 600), serde_json::from_str(old).unwrap());
    let o = w.observe(at() + chrono::Duration::seconds(5));
    assert!(
        matches!(&o, ConditionState::Active { detail, .. } if detail.contains("from 192.0.2.7 ×2; users admin ×2")),
        "{o:?}"
    );
}

#[test]
fn a_corrupt_state_file_is_set_aside_and_named_by_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STATE_FILE), b"{").unwrap();
    let mut c = cfg(1, 60);
    c.log_file = Some(dir.path().join("missing.log"));
    let said = problems(&c, dir.path());
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains("missing.log") && said[0].contains("No such file"),
        "{said:?}"
    );
    assert!(said[1].contains("ssh.json is not valid"), "{said:?}");
    assert!(load(dir.path()).failures.is_empty());
    assert!(!dir.path().join(STATE_FILE).exists(), "set aside");
    assert!(problems(&c, dir.path()).len() == 1);
}
