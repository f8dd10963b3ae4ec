//! `[notify.email]`: mail through an SMTP server (lettre), one connection
//! per message: they are rare. `report --send` mails through it too.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::send::{ChannelKind, SendError, SEND_TIMEOUT};
use crate::alert::message::Message;
use crate::config::raw::SpannedStr;
use crate::config::{quoted, Secret, Severity, Table, Validator};
use crate::util::error_chain;

/// `[notify.email]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    enabled: Option<bool>,
    server: SpannedStr,
    port: Option<toml::Spanned<i64>>,
    tls: Option<SpannedStr>,
    username: Option<String>,
    password: Option<SpannedStr>,
    password_file: Option<SpannedStr>,
    from: SpannedStr,
    to: Vec<SpannedStr>,
    tls_ca_file: Option<String>,
    min_severity: Option<SpannedStr>,
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

impl Table for EmailConfig {
    type Raw = RawEmail;

    fn read(e: RawEmail, v: &mut Validator<'_>, section: &str) -> Option<EmailConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let tls = v.choice(
            e.tls.as_ref(),
            &key("tls"),
            &[
                ("starttls", TlsMode::Starttls),
                ("tls", TlsMode::Tls),
                ("none", TlsMode::None),
            ],
        );
        let default_port = match tls {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        };
        let port = v.port(e.port.as_ref(), &key("port"), default_port);
        let from = address(v, &e.from, &key("from"));
        let to: Vec<String> = e.to.iter().map(|t| address(v, t, &key("to"))).collect();
        if to.is_empty() {
            v.problem(None, &key("to"), "[]", "must list at least one recipient");
        }
        let password = v.secret(&key("password"), e.password, e.password_file, false);
        if tls == TlsMode::None && password.is_some() {
            v.note(format!(
                "{section}: tls = \"none\" with a password: the password crosses the network in clear text (AUTH without TLS)"
            ));
        }
        Some(EmailConfig {
            enabled: e.enabled.unwrap_or(true),
            server: e.server.get_ref().trim().to_owned(),
            port,
            tls,
            username: e.username,
            password,
            from,
            to,
            tls_ca_file: e.tls_ca_file.map(PathBuf::from),
            min_severity: v.severity(e.min_severity.as_ref(), &key("min_severity")),
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        self.password.iter().collect()
    }
}

/// An email address, roughly: something `@` a domain with a dot, or localhost.
fn address(v: &mut Validator<'_>, a: &SpannedStr, key: &str) -> String {
    let text = a.get_ref().trim();
    let ok = text
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && (d.contains('.') || d == "localhost"));
    if !ok {
        v.problem(Some(a.span()), key, &quoted(Some(a)), "must be an email address");
    }
    text.to_owned()
}

impl ChannelKind for EmailConfig {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn min_severity(&self) -> Severity {
        self.min_severity
    }

    /// Sends `msg` as a plain-text mail.
    async fn send(&self, _http: &crate::probe::SharedClient, msg: &Message) -> Result<(), SendError> {
        use lettre::message::header::ContentType;
        let mail = addressed(self, &msg.subject())?
            .header(ContentType::TEXT_PLAIN)
            .body(msg.text())
            .map_err(|e| SendError::new(format!("message: {e}")))?;
        deliver_mail(self, mail).await
    }
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
