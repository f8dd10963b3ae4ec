//! `[notify.teams]`: a Microsoft Teams incoming webhook, as an Adaptive Card
//! in the Power Automate Workflows envelope, or a legacy MessageCard.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use toml::Spanned;
use url::Url;

use super::send::{post_json, ChannelKind, SendError};
use crate::alert::message::{Message, MessageKind};
use crate::alert::Kind;
use crate::config::raw::SpannedStr;
use crate::config::{Secret, Severity, Table, Validator};

/// `[notify.teams]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeams {
    enabled: Option<bool>,
    webhook_url: Option<SpannedStr>,
    webhook_url_file: Option<SpannedStr>,
    format: Option<SpannedStr>,
    min_severity: Option<SpannedStr>,
}

/// `[notify.teams]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamsConfig {
    /// Off without removing the settings.
    pub enabled: bool,
    /// The incoming webhook URL; it is a secret (anyone with it can post).
    pub webhook_url: Secret,
    /// `workflows` (Adaptive Card for Power Automate) or `messagecard` (legacy).
    pub format: TeamsFormat,
    /// The lowest severity sent.
    pub min_severity: Severity,
}

/// The Teams payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamsFormat {
    /// Adaptive Card in the Power Automate Workflows envelope.
    Workflows,
    /// The legacy Office 365 connector MessageCard.
    Messagecard,
}

impl Table for TeamsConfig {
    type Raw = RawTeams;

    fn read(t: RawTeams, v: &mut Validator<'_>, section: &str) -> Option<TeamsConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let format = v.choice(
            t.format.as_ref(),
            &key("format"),
            &[
                ("workflows", TeamsFormat::Workflows),
                ("messagecard", TeamsFormat::Messagecard),
            ],
        );
        // The URL is checked but never echoed: it is the secret.
        let span = t.webhook_url.as_ref().map(Spanned::span);
        let webhook_url = v.secret(&key("webhook_url"), t.webhook_url, t.webhook_url_file, true)?;
        let web = |u: Url| matches!(u.scheme(), "http" | "https");
        if webhook_url.pending().is_none() && !Url::parse(webhook_url.expose()).is_ok_and(web) {
            let rule = "must be an http:// or https:// URL";
            v.problem(span, &key("webhook_url"), "(redacted)", rule);
        }
        Some(TeamsConfig {
            enabled: t.enabled.unwrap_or(true),
            webhook_url,
            format,
            min_severity: v.severity(t.min_severity.as_ref(), &key("min_severity")),
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        vec![&self.webhook_url]
    }
}

impl ChannelKind for TeamsConfig {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn min_severity(&self) -> Severity {
        self.min_severity
    }

    async fn send(&self, http: &crate::probe::SharedClient, msg: &Message) -> Result<(), SendError> {
        post_json(http, self.webhook_url.expose(), &payload(self.format, msg)).await
    }
}

/// (Adaptive Card colour, MessageCard hex, emoji)
fn colour(msg: &Message) -> (&'static str, &'static str, &'static str) {
    match msg.kind {
        MessageKind::Policy(Kind::Recovered(_)) => ("Good", "2EB886", "✅"),
        MessageKind::Policy(
            Kind::Alert(Severity::Critical) | Kind::Reminder(Severity::Critical),
        ) => ("Attention", "D40E0D", "🔴"),
        MessageKind::Policy(Kind::Alert(Severity::Warning) | Kind::Reminder(Severity::Warning)) => {
            ("Warning", "FFA500", "🟠")
        }
        MessageKind::Test => ("Accent", "0078D7", "🧪"),
    }
}

fn facts(msg: &Message) -> Vec<(&'static str, String)> {
    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut f = vec![
        ("Severity", msg.label().to_owned()),
        ("Host", msg.host.clone()),
        ("Cause", msg.condition.clone()),
        ("Start", at(msg.started)),
        (
            "Duration",
            crate::timefmt::compact(std::time::Duration::from_secs(msg.lasted_secs)),
        ),
    ];
    if let Some(end) = msg.ended {
        f.push(("End", at(end)));
    }
    f.push(("Id", msg.id.clone()));
    f
}

/// The Power Automate Workflows envelope with an Adaptive Card, or a legacy MessageCard.
pub fn payload(format: TeamsFormat, msg: &Message) -> Value {
    let (card_colour, hex, emoji) = colour(msg);
    let title = format!("{emoji} {}", msg.subject());
    match format {
        TeamsFormat::Workflows => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        { "type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "color": card_colour, "wrap": true },
                        { "type": "FactSet", "facts": facts(msg).into_iter().map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>() },
                        { "type": "TextBlock", "text": msg.detail, "wrap": true }
                    ]
                }
            }]
        }),
        TeamsFormat::Messagecard => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": msg.subject(),
            "themeColor": hex,
            "title": title,
            "sections": [{
                "facts": facts(msg).into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "text": msg.detail
            }]
        }),
    }
}
