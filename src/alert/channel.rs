//! The notification channels. Each sends one message and says plainly why it
//! could not; the delivery task decides about retries.
//!
//! Secrets (bot token, webhook URL) are part of request URLs, so every error
//! is stripped of its URL before it is shown or logged.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use super::message::{Message, MessageKind};
use super::Kind;
use crate::config::{
    EmailConfig, NotifyConfig, Severity, TeamsConfig, TeamsFormat, TelegramConfig, TlsMode,
};
use crate::util::error_chain;

/// Bound on one delivery attempt.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What went wrong, fit to show a person; never a secret.
    pub text: String,
    /// How long the far end asked us to wait (HTTP 429).
    pub retry_after: Option<Duration>,
}

impl SendError {
    fn new(text: impl Into<String>) -> SendError {
        SendError {
            text: text.into(),
            retry_after: None,
        }
    }
}

/// A configured, enabled channel.
pub enum Channel {
    /// SMTP, through lettre.
    Email(EmailConfig),
    /// Microsoft Teams incoming webhook.
    Teams(TeamsConfig),
    /// Telegram Bot API.
    Telegram(TelegramConfig),
}

impl Channel {
    /// The enabled channels of `config`.
    pub fn all(config: &NotifyConfig) -> Vec<Channel> {
        let mut out = Vec::new();
        if let Some(e) = config.email.as_ref().filter(|e| e.enabled) {
            out.push(Channel::Email(e.clone()));
        }
        if let Some(t) = config.teams.as_ref().filter(|t| t.enabled) {
            out.push(Channel::Teams(t.clone()));
        }
        if let Some(t) = config.telegram.as_ref().filter(|t| t.enabled) {
            out.push(Channel::Telegram(t.clone()));
        }
        out
    }

    /// Its name in logs, folders and `--channel`.
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Email(_) => "email",
            Channel::Teams(_) => "teams",
            Channel::Telegram(_) => "telegram",
        }
    }

    /// The lowest severity it gets.
    pub fn min_severity(&self) -> Severity {
        match self {
            Channel::Email(c) => c.min_severity,
            Channel::Teams(c) => c.min_severity,
            Channel::Telegram(c) => c.min_severity,
        }
    }

    /// Sends `msg` once.
    pub async fn send(&self, http: &reqwest::Client, msg: &Message) -> Result<(), SendError> {
        match self {
            Channel::Email(c) => email(c, msg).await,
            Channel::Teams(c) => post(http, c.webhook_url.expose(), &teams_payload(c.format, msg))
                .await
                .map(drop),
            Channel::Telegram(c) => {
                let url = format!(
                    "{}/bot{}/sendMessage",
                    c.api_base.as_str().trim_end_matches('/'),
                    c.bot_token.expose()
                );
                post(http, &url, &telegram_payload(&c.chat_id, msg))
                    .await
                    .map(drop)
            }
        }
    }
}

/// Sends `msg` as a plain-text mail. A connection is made per message: they are rare.
async fn email(c: &EmailConfig, msg: &Message) -> Result<(), SendError> {
    use lettre::message::header::ContentType;
    let mail = addressed(c, &msg.subject())?
        .header(ContentType::TEXT_PLAIN)
        .body(msg.text())
        .map_err(|e| SendError::new(format!("message: {e}")))?;
    deliver_mail(c, mail).await
}

/// Sends a mail of several parts (a text and an attachment) through the
/// `[notify.email]` server to its recipients: `report --send`.
pub async fn send_mail_parts(
    c: &EmailConfig,
    subject: &str,
    parts: lettre::message::MultiPart,
) -> Result<(), SendError> {
    let mail = addressed(c, subject)?
        .multipart(parts)
        .map_err(|e| SendError::new(format!("message: {e}")))?;
    deliver_mail(c, mail).await
}

/// A mail from `c.from` to `c.to` about `subject`, its body still to come.
fn addressed(c: &EmailConfig, subject: &str) -> Result<lettre::message::MessageBuilder, SendError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| SendError::new(format!("{what}: {e}"));
    let mut mail = lettre::Message::builder()
        .from(c.from.parse().map_err(|e| fail("from", &e))?)
        .subject(subject);
    for to in &c.to {
        mail = mail.to(to.parse().map_err(|e| fail("to", &e))?);
    }
    Ok(mail)
}

/// Sends `mail` through `c`'s server: its TLS mode, private CA and login.
async fn deliver_mail(c: &EmailConfig, mail: lettre::Message) -> Result<(), SendError> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let fail = |what: &str, e: &dyn std::fmt::Display| SendError::new(format!("{what}: {e}"));
    let mut tls = TlsParameters::builder(c.server.clone());
    if let Some(ca) = &c.tls_ca_file {
        let pem = std::fs::read(ca)
            .map_err(|e| fail(&format!("cannot read tls_ca_file {}", ca.display()), &e))?;
        tls = tls.add_root_certificate(
            Certificate::from_pem(&pem)
                .map_err(|e| fail("tls_ca_file is not a PEM certificate", &e))?,
        );
    }
    let tls = tls.build_rustls().map_err(|e| fail("TLS setup", &e))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.server)
        .port(c.port)
        .timeout(Some(SEND_TIMEOUT))
        .tls(match c.tls {
            TlsMode::Starttls => Tls::Required(tls),
            TlsMode::Tls => Tls::Wrapper(tls),
            TlsMode::None => Tls::None,
        });
    if let (Some(user), Some(pass)) = (&c.username, &c.password) {
        transport = transport.credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
    }
    transport
        .build()
        .send(mail)
        .await
        .map(drop)
        .map_err(|e| SendError::new(error_chain(&e)))
}

/// POSTs JSON; a 2xx is delivered, a 429 carries Telegram's `retry_after`.
async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Result<Vec<u8>, SendError> {
    let resp = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .timeout(SEND_TIMEOUT)
        .send()
        .await
        .map_err(|e| SendError::new(describe(e)))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    if status.is_success() {
        return Ok(bytes);
    }
    let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
    let retry_after = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["parameters"]["retry_after"].as_u64())
        .map(Duration::from_secs);
    Err(SendError {
        text: format!("HTTP {}: {}", status.as_u16(), excerpt.trim()),
        retry_after: if status.as_u16() == 429 {
            retry_after.or(Some(Duration::from_secs(30)))
        } else {
            None
        },
    })
}

/// A request error with its cause, and without the URL (it holds the secret).
fn describe(e: reqwest::Error) -> String {
    crate::util::redact(&error_chain(&e.without_url()))
}

/// `sendMessage` without a parse mode: plain text needs no escaping.
fn telegram_payload(chat_id: &str, msg: &Message) -> Value {
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    json!({ "chat_id": chat, "text": msg.text(), "disable_web_page_preview": true })
}

fn colour(msg: &Message) -> (&'static str, &'static str, &'static str) {
    // (Adaptive Card colour, MessageCard hex, emoji)
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
fn teams_payload(format: TeamsFormat, msg: &Message) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attacker_s_user_name_is_no_link_or_markup_in_any_channel() {
        // Regression: `[link](https://evil.example)` as a user name survived
        // into the Teams card as a link.
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let line = b"Failed password for invalid user [link](https://evil.example) from 192.0.2.1 port 1 ssh2";
        let user = crate::sensor::ssh::parse(line, at).unwrap().user;
        let msg = Message::from_decision(
            Kind::Alert(Severity::Warning),
            "SSH_FAILURES",
            at,
            Duration::ZERO,
            at,
            &format!("11 failed SSH logins in 5m (max 10): from 192.0.2.1 ×11; users {user} ×11"),
        );
        let bodies = [
            (
                "teams workflows",
                teams_payload(TeamsFormat::Workflows, &msg).to_string(),
            ),
            (
                "teams messagecard",
                teams_payload(TeamsFormat::Messagecard, &msg).to_string(),
            ),
            ("telegram", telegram_payload("7", &msg).to_string()),
            ("email", msg.text()),
        ];
        for (channel, body) in bodies {
            assert!(body.contains("x5blink"), "{channel}: {body}");
            for bad in ["](", "://evil", "[link", "evil.example"] {
                assert!(!body.contains(bad), "{channel} holds {bad:?}: {body}");
            }
        }
    }
}
