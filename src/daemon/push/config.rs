//! `[push]` as written and as validated: where samples go, how often, with
//! which extra labels, how the receiver is authenticated, and how much may
//! wait on disk while it cannot be reached.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;
use url::Url;

use crate::config::{Secret, Table, Validator};

/// Samples taken per `every` when not configured: Prometheus's usual scrape interval.
const DEFAULT_EVERY: Duration = Duration::from_secs(15);
/// What the queue may take on disk when not configured.
const DEFAULT_QUEUE_MAX: u64 = 64 << 20;
/// The smallest queue bound: a few samples of a small site.
const MIN_QUEUE_MAX: u64 = 64 << 10;
/// The largest queue bound.
const MAX_QUEUE_MAX: u64 = 16 << 30;
/// A request's time limit when not configured.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Label names the series already carry: an extra label may not take one.
pub const RESERVED_LABELS: [&str; 12] = [
    "instance", "role", "target", "address", "kind", "family", "verdict", "cause", "channel",
    "version", "le", "reason",
];

/// `[push]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPush {
    pub remote_write_url: Spanned<String>,
    pub every: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, Spanned<String>>,
    pub instance: Option<Spanned<String>>,
    pub basic_auth_user: Option<Spanned<String>>,
    pub basic_auth_password: Option<Spanned<String>>,
    pub basic_auth_password_file: Option<Spanned<String>>,
    pub bearer_token: Option<Spanned<String>>,
    pub bearer_token_file: Option<Spanned<String>>,
    pub ca_file: Option<String>,
    pub queue_max: Option<Spanned<String>>,
}

/// `[push]`: Prometheus remote_write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushConfig {
    /// The receiver, e.g. `https://metrics.example.org/api/v1/write`.
    #[serde(serialize_with = "crate::config::ser_url")]
    pub remote_write_url: Url,
    /// One sample of every series this often.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub every: Duration,
    /// One request's time limit.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub timeout: Duration,
    /// Added to every series, e.g. `site = "home"`.
    pub labels: BTreeMap<String, String>,
    /// The `instance` label of every series; the host name unless given.
    pub instance: String,
    /// How the receiver is told who is writing.
    #[serde(flatten)]
    pub auth: Auth,
    /// A private CA the receiver's certificate is checked against, besides the system's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The most the queue takes on disk, in bytes; beyond it the oldest samples go.
    #[serde(serialize_with = "ser_bytes")]
    pub queue_max: u64,
}

/// The receiver's authentication; secrets are shown redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Auth {
    /// None.
    None {},
    /// HTTP basic authentication.
    Basic {
        basic_auth_user: String,
        basic_auth_password: Secret,
    },
    /// `Authorization: Bearer TOKEN`.
    Bearer { bearer_token: Secret },
}

fn ser_bytes<S: Serializer>(b: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&written_bytes(*b))
}

/// A size as the file may write it: `64MiB`, `512KiB`, `100B`.
pub fn written_bytes(b: u64) -> String {
    let units = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
    units
        .iter()
        .find(|(shift, _)| b >= 1 << shift && b.is_multiple_of(1 << shift))
        .map_or_else(
            || format!("{b}B"),
            |(shift, u)| format!("{}{u}", b >> shift),
        )
}

/// `64MiB`, `512KiB`, `1GiB`, `1000000B` (or a bare number of bytes) as bytes.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A Prometheus label name: a letter or `_`, then letters, digits or `_`; `__` is reserved.
fn label_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

impl Table for PushConfig {
    type Raw = RawPush;

    /// `[push]` validated; `None` (with problems recorded) when it cannot run.
    fn read(raw: RawPush, v: &mut Validator<'_>, section: &str) -> Option<PushConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let url = v.web_url(&raw.remote_write_url, &key("remote_write_url"));
        let (every, timeout) = v.period(
            (raw.every.as_ref(), raw.timeout.as_ref()),
            section,
            (DEFAULT_EVERY, DEFAULT_TIMEOUT),
        );
        let auth = auth(v, &raw, section);
        let labels = labels(v, raw.labels, section);
        let instance = match raw.instance {
            Some(i) if i.get_ref().trim().is_empty() => {
                v.problem(
                    Some(i.span()),
                    &key("instance"),
                    "\"\"",
                    "must not be empty",
                );
                String::new()
            }
            Some(i) => {
                v.plain_name(&i, &key("instance"));
                i.into_inner()
            }
            None => crate::util::hostname(),
        };
        let queue_max =
            raw.queue_max
                .as_ref()
                .map_or(DEFAULT_QUEUE_MAX, |q| match parse_bytes(q.get_ref()) {
                    Some(b) if (MIN_QUEUE_MAX..=MAX_QUEUE_MAX).contains(&b) => b,
                    _ => {
                        let rule = format!(
                            "must be a size from {} to {}, such as \"64MiB\" or \"512KiB\"",
                            written_bytes(MIN_QUEUE_MAX),
                            written_bytes(MAX_QUEUE_MAX)
                        );
                        v.problem(
                            Some(q.span()),
                            &key("queue_max"),
                            &format!("{:?}", q.get_ref()),
                            &rule,
                        );
                        DEFAULT_QUEUE_MAX
                    }
                });
        Some(PushConfig {
            remote_write_url: url?,
            every,
            timeout,
            labels,
            instance,
            auth: auth?,
            ca_file: raw.ca_file.map(PathBuf::from),
            queue_max,
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        match &self.auth {
            Auth::None {} => Vec::new(),
            Auth::Basic {
                basic_auth_password: s,
                ..
            }
            | Auth::Bearer { bearer_token: s } => vec![s],
        }
    }
}

/// `labels`: each a label name not taken, with a plain, non-empty value.
fn labels(
    v: &mut Validator<'_>,
    raw: BTreeMap<String, Spanned<String>>,
    section: &str,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (name, value) in raw {
        let key = format!("{section}.labels.{name}");
        let shown = format!("{:?}", value.get_ref());
        if !label_name_ok(&name) {
            let rule = "must be a label name: a letter or _, then letters, digits or _ (not starting with __)";
            v.problem(Some(value.span()), &key, &shown, rule);
        } else if RESERVED_LABELS.contains(&name.as_str()) {
            let rule = if name == "instance" {
                "is set by push.instance".to_owned()
            } else {
                format!(
                    "is a label the series already carry ({})",
                    RESERVED_LABELS.join(", ")
                )
            };
            v.problem(Some(value.span()), &key, &shown, &rule);
        } else if value.get_ref().is_empty() {
            v.problem(
                Some(value.span()),
                &key,
                &shown,
                "must not be empty (an empty label is no label)",
            );
        } else {
            v.plain_name(&value, &key);
            labels.insert(name, value.into_inner());
        }
    }
    labels
}

/// Basic authentication, a bearer token, or none; never both.
fn auth(v: &mut Validator<'_>, raw: &RawPush, section: &str) -> Option<Auth> {
    let key = |k: &str| format!("{section}.{k}");
    let password = v.secret(
        &key("basic_auth_password"),
        raw.basic_auth_password.clone(),
        raw.basic_auth_password_file.clone(),
        false,
    );
    let token = v.secret(
        &key("bearer_token"),
        raw.bearer_token.clone(),
        raw.bearer_token_file.clone(),
        false,
    );
    let user = raw.basic_auth_user.as_ref().map(|u| {
        v.plain_name(u, &key("basic_auth_user"));
        u.get_ref().clone()
    });
    match (user, password, token) {
        (None, None, None) => Some(Auth::None {}),
        (Some(u), Some(p), None) => Some(Auth::Basic {
            basic_auth_user: u,
            basic_auth_password: p,
        }),
        (None, None, Some(t)) => Some(Auth::Bearer { bearer_token: t }),
        (_, _, Some(_)) => {
            v.problem(
                None,
                &key("bearer_token"),
                "(redacted)",
                "give basic authentication or a bearer token, not both",
            );
            None
        }
        _ => {
            v.problem(
                    None,
                    &key("basic_auth_user"),
                    "",
                    "basic authentication needs both basic_auth_user and basic_auth_password (or _file)",
                );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::config::Config;
    use std::path::Path;

    const MINIMAL: &str = "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n";

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(Path::new("/etc/cm.toml"), &format!("{MINIMAL}{extra}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_documented_ones() {
        let c =
            parse("[push]\nremote_write_url = \"https://m.example.org/api/v1/write\"\n").unwrap();
        let p = c.surfaces.push.unwrap();
        assert_eq!(p.every, Duration::from_secs(15));
        assert_eq!(p.queue_max, 64 << 20);
        assert_eq!(p.instance, crate::util::hostname());
        assert_eq!(p.auth, Auth::None {});
    }

    #[test]
    fn a_bad_label_name_and_a_reserved_one_are_named_with_their_line() {
        let e = parse(
            "[push]\nremote_write_url = \"https://m.example.org/w\"\nlabels = { \"9site\" = \"a\", target = \"b\", instance = \"c\" }\n",
        )
        .unwrap_err();
        assert!(
            e.contains("/etc/cm.toml:6:22: push.labels.9site = \"a\": must be a label name"),
            "{e}"
        );
        assert!(
            e.contains("push.labels.target = \"b\": is a label the series already carry"),
            "{e}"
        );
        assert!(
            e.contains("push.labels.instance = \"c\": is set by push.instance"),
            "{e}"
        );
    }

    #[test]
    fn a_queue_bound_is_a_size_within_its_range() {
        let e =
            parse("[push]\nremote_write_url = \"https://m.example.org/w\"\nqueue_max = \"1KiB\"\n")
                .unwrap_err();
        assert!(
            e.ends_with(
                "/etc/cm.toml:6:13: push.queue_max = \"1KiB\": must be a size from 64KiB to 16GiB, such as \"64MiB\" or \"512KiB\""
            ),
            "{e}"
        );
        assert_eq!(parse_bytes("512KiB"), Some(512 << 10));
        assert_eq!(parse_bytes("2 MiB"), Some(2 << 20));
        assert_eq!(parse_bytes("70000"), Some(70000));
        assert_eq!(parse_bytes("5MB"), None);
        assert_eq!(written_bytes(64 << 20), "64MiB");
        assert_eq!(written_bytes(70000), "70000B");
    }

    #[test]
    fn secrets_are_redacted_and_both_kinds_of_auth_are_refused() {
        let c = parse(
            "[push]\nremote_write_url = \"https://m.example.org/w\"\nbasic_auth_user = \"site1\"\nbasic_auth_password = \"hunter2\"\n",
        )
        .unwrap();
        let shown = c.to_toml();
        assert!(shown.contains("basic_auth_user = \"site1\""), "{shown}");
        assert!(
            shown.contains("basic_auth_password = \"(redacted)\""),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!format!("{c:?}").contains("hunter2"));
        let e = parse(
            "[push]\nremote_write_url = \"https://m.example.org/w\"\nbasic_auth_user = \"site1\"\nbasic_auth_password = \"x\"\nbearer_token = \"y\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("push.bearer_token = (redacted): give basic authentication or a bearer token, not both"),
            "{e}"
        );
        let e = parse(
            "[push]\nremote_write_url = \"https://m.example.org/w\"\nbasic_auth_user = \"u\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("needs both basic_auth_user and basic_auth_password"),
            "{e}"
        );
    }

    #[test]
    fn a_token_file_is_read_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "abc\n").unwrap();
        let c = parse(&format!(
            "[push]\nremote_write_url = \"https://m.example.org/w\"\nbearer_token_file = \"{}\"\n",
            token.display()
        ))
        .unwrap();
        match c.surfaces.push.unwrap().auth {
            Auth::Bearer { bearer_token } => assert_eq!(bearer_token.expose(), "abc"),
            other => panic!("{other:?}"),
        }
        let e = parse("[push]\nremote_write_url = \"https://m.example.org/w\"\nbearer_token_file = \"/nonexistent/t\"\n")
            .unwrap_err();
        assert!(
            e.contains("push.bearer_token_file = \"/nonexistent/t\": cannot read /nonexistent/t"),
            "{e}"
        );
    }
}
