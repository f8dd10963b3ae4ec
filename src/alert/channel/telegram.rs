//! `[notify.telegram]`: the Telegram Bot API's `sendMessage`, as plain text
//! (no parse mode, so nothing needs escaping). The bot token is part of the
//! URL: errors never show the URL.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use super::send::{post_json, ChannelKind, SendError};
use crate::alert::message::Message;
use crate::config::raw::SpannedStr;
use crate::config::{Secret, Severity, Table, Validator};

/// `[notify.telegram]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    enabled: Option<bool>,
    bot_token: Option<SpannedStr>,
    bot_token_file: Option<SpannedStr>,
    chat_id: toml::Spanned<toml::Value>,
    api_base: Option<SpannedStr>,
    min_severity: Option<SpannedStr>,
}

/// `[notify.telegram]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelegramConfig {
    /// Off without removing the settings.
    pub enabled: bool,
    /// The bot token.
    pub bot_token: Secret,
    /// The chat: a number, or `@channelname`.
    pub chat_id: String,
    /// The Bot API base URL.
    #[serde(serialize_with = "crate::config::ser_url")]
    pub api_base: Url,
    /// The lowest severity sent.
    pub min_severity: Severity,
}

impl Table for TelegramConfig {
    type Raw = RawTelegram;

    fn read(t: RawTelegram, v: &mut Validator<'_>, section: &str) -> Option<TelegramConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let chat_id = match t.chat_id.get_ref() {
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            other => {
                let rule = "must be a chat number or \"@channelname\"";
                v.problem(Some(t.chat_id.span()), &key("chat_id"), &other.to_string(), rule);
                String::new()
            }
        };
        let default_base = || Url::parse("https://api.telegram.org").expect("static URL parses");
        let api_base = t.api_base.as_ref().map_or_else(default_base, |b| {
            v.web_url(b, &key("api_base")).unwrap_or_else(default_base)
        });
        let bot_token = v.secret(&key("bot_token"), t.bot_token, t.bot_token_file, true)?;
        Some(TelegramConfig {
            enabled: t.enabled.unwrap_or(true),
            bot_token,
            chat_id,
            api_base,
            min_severity: v.severity(t.min_severity.as_ref(), &key("min_severity")),
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        vec![&self.bot_token]
    }
}

impl ChannelKind for TelegramConfig {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn min_severity(&self) -> Severity {
        self.min_severity
    }

    async fn send(&self, http: &crate::probe::SharedClient, msg: &Message) -> Result<(), SendError> {
        let url = format!(
            "{}/bot{}/sendMessage",
            self.api_base.as_str().trim_end_matches('/'),
            self.bot_token.expose()
        );
        post_json(http, &url, &payload(&self.chat_id, msg)).await
    }
}

/// `sendMessage` without a parse mode: plain text needs no escaping.
pub fn payload(chat_id: &str, msg: &Message) -> Value {
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    json!({ "chat_id": chat, "text": msg.text(), "disable_web_page_preview": true })
}
