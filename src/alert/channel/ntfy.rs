//! `[notify.ntfy]`: a push to an ntfy server (ntfy.sh, or one of your own):
//! the message as the body of a POST to `URL/TOPIC`, its subject as the
//! `Title` (RFC 2047 when it is not plain ASCII), its level as the
//! `Priority` and an emoji `Tags`; an access token, if given, as a bearer.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use url::Url;

use super::send::{post, ChannelKind, SendError};
use crate::alert::message::{Message, MessageKind};
use crate::alert::Kind;
use crate::config::raw::SpannedStr;
use crate::config::{quoted, Secret, Severity, Table, Validator};

/// `[notify.ntfy]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNtfy {
    enabled: Option<bool>,
    url: Option<SpannedStr>,
    topic: SpannedStr,
    token: Option<SpannedStr>,
    token_file: Option<SpannedStr>,
    min_severity: Option<SpannedStr>,
}

/// `[notify.ntfy]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtfyConfig {
    /// Off without removing the settings.
    pub enabled: bool,
    /// The server, `https://ntfy.sh` unless given.
    #[serde(serialize_with = "crate::config::ser_url")]
    pub url: Url,
    /// The topic the phone subscribes to.
    pub topic: String,
    /// An access token, for a server that wants one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// The lowest severity sent.
    pub min_severity: Severity,
}

impl Table for NtfyConfig {
    type Raw = RawNtfy;

    fn read(n: RawNtfy, v: &mut Validator<'_>, section: &str) -> Option<NtfyConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let public = || Url::parse("https://ntfy.sh").expect("static URL parses");
        let url = match &n.url {
            Some(u) => v.web_url(u, &key("url")).unwrap_or_else(public),
            None => public(),
        };
        // ntfy's own rule for a topic name.
        let topic = n.topic.get_ref().trim();
        let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if topic.is_empty() || topic.len() > 64 || !topic.chars().all(word) {
            let rule = "must be 1 to 64 letters, digits, - or _";
            v.problem(Some(n.topic.span()), &key("topic"), &quoted(Some(&n.topic)), rule);
        }
        Some(NtfyConfig {
            enabled: n.enabled.unwrap_or(true),
            url,
            topic: topic.to_owned(),
            token: v.secret(&key("token"), n.token, n.token_file, false),
            min_severity: v.severity(n.min_severity.as_ref(), &key("min_severity")),
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        self.token.iter().collect()
    }
}

impl ChannelKind for NtfyConfig {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn min_severity(&self) -> Severity {
        self.min_severity
    }

    async fn send(&self, http: &crate::probe::SharedClient, msg: &Message) -> Result<(), SendError> {
        let url = format!("{}/{}", self.url.as_str().trim_end_matches('/'), self.topic);
        let (priority, tags) = level(msg);
        let title = title(&msg.subject());
        let bearer = self.token.as_ref().map(|t| format!("Bearer {}", t.expose()));
        let mut headers = vec![("Title", title.as_str()), ("Priority", priority), ("Tags", tags)];
        headers.extend(bearer.as_deref().map(|b| ("Authorization", b)));
        post(http, &url, "text/plain; charset=utf-8", &headers, msg.text()).await
    }
}

/// ntfy's priority (5 urgent, 4 high, 3 default) and emoji tag for `msg`.
fn level(msg: &Message) -> (&'static str, &'static str) {
    match msg.kind {
        MessageKind::Policy(Kind::Alert(s) | Kind::Reminder(s)) => match s {
            Severity::Critical => ("5", "rotating_light"),
            Severity::Warning => ("4", "warning"),
        },
        MessageKind::Policy(Kind::Recovered(_)) => ("3", "white_check_mark"),
        MessageKind::Test => ("3", "test_tube"),
    }
}

/// A header value for `text`: itself when it is plain ASCII, else an RFC 2047
/// encoded word (ntfy decodes it; a header cannot carry UTF-8 as it is).
fn title(text: &str) -> String {
    let plain = text.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
    if plain {
        return text.to_owned();
    }
    format!("=?UTF-8?B?{}?=", BASE64.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_that_is_not_ascii_travels_as_an_encoded_word() {
        let subject = "[connectivity-monitor] LOG_SILENT:café on pi: 5m";
        let sent = title(subject);
        assert!(sent.is_ascii(), "{sent}");
        let inner = sent
            .strip_prefix("=?UTF-8?B?")
            .and_then(|s| s.strip_suffix("?="))
            .unwrap();
        assert_eq!(BASE64.decode(inner).unwrap(), subject.as_bytes());
        let plain = "[connectivity-monitor] WAN_DOWN on pi: 5m";
        assert_eq!(title(plain), plain);
        assert!(title("a\nb").starts_with("=?UTF-8?B?"), "no header injection");
    }
}
