//! `[notify]`: the channels alerts go to (email, Teams, Telegram).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::{ser_duration, ser_url, Secret, Severity};

/// `[notify]`: the configured channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyConfig {
    /// An undelivered notification older than this is given up, loudly.
    #[serde(serialize_with = "ser_duration")]
    pub max_age: Duration,
    /// `[notify.email]`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
    /// `[notify.teams]`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsConfig>,
    /// `[notify.telegram]`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramConfig>,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            max_age: Duration::from_secs(7 * 24 * 3600),
            email: None,
            teams: None,
            telegram: None,
        }
    }
}

impl NotifyConfig {
    /// No channel configured.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.teams.is_none() && self.telegram.is_none()
    }
}

/// How SMTP is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No TLS (a local relay only).
    None,
}

/// `[notify.email]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailConfig {
    /// Off without removing the settings.
    pub enabled: bool,
    /// SMTP server host name.
    pub server: String,
    /// SMTP port; 587 for STARTTLS, 465 for TLS, 25 for none unless given.
    pub port: u16,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Login name, if the server wants one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Login password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// A private CA to trust for the server's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// The lowest severity sent.
    pub min_severity: Severity,
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
    #[serde(serialize_with = "ser_url")]
    pub api_base: Url,
    /// The lowest severity sent.
    pub min_severity: Severity,
}
