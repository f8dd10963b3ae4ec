//! One failed SSH login, as sshd writes it: who tried, from where, when.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user name longer than this (bytes) is cut: sshd takes up to 1,024.
pub(super) const MAX_USER: usize = 64;

/// One failed login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub at: DateTime<Utc>,
    /// The source sshd appended, as an address.
    pub addr: String,
    /// The user name tried, neutralised (see [`neutral`]).
    pub user: String,
}

/// The failure a log line reports, if it reports one: `Failed METHOD for
/// [invalid user ]USER from ADDR port N …`. The user name is the attacker's
/// to choose and may itself hold ` from 10.9.9.9 port 1`: sshd appends the
/// real source last, so the source is taken from the last ` from `, and
/// everything before it is the user name. Bytes, not text: a name that is not
/// UTF-8 is still a failure.
pub fn parse(line: &[u8], at: DateTime<Utc>) -> Option<Failure> {
    let rest = after(line, b"Failed ")?;
    let rest = after(rest, b" for ")?;
    let rest = rest.strip_prefix(b"invalid user ").unwrap_or(rest);
    let from = rfind(rest, b" from ")?;
    let mut words = rest[from + b" from ".len()..].split(|b| *b == b' ');
    let addr = std::str::from_utf8(words.next()?).ok()?;
    let addr = addr.split('%').next()?.parse::<IpAddr>().ok()?;
    if words.next()? != b"port" {
        return None;
    }
    std::str::from_utf8(words.next()?)
        .ok()?
        .parse::<u16>()
        .ok()?;
    Some(Failure {
        at,
        addr: addr.to_string(),
        user: neutral(&rest[..from]),
    })
}

/// A user name fit for every channel's format (Teams markdown, Telegram,
/// email, the journal): letters, digits, `-` and `_` as they are; every other
/// byte as `\xNN`, so that no name can be read as a link, markup or a line
/// of its own; cut at [`MAX_USER`] bytes with `…`.
pub fn neutral(user: &[u8]) -> String {
    let mut out = String::with_capacity(user.len().min(MAX_USER));
    for &b in user.iter().take(MAX_USER) {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if user.len() > MAX_USER {
        out.push('…');
    }
    out
}

fn after<'a>(hay: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let i = hay.windows(needle.len()).position(|w| w == needle)?;
    Some(&hay[i + needle.len()..])
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}
