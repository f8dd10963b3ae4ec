//! `[notify]` and its channels, with their secrets.

use super::*;

impl Validator<'_> {
    pub(super) fn notify(&mut self, raw: RawNotify) -> NotifyConfig {
        let max_age = self
            .duration(raw.max_age.as_ref(), "notify.max_age")
            .unwrap_or(NotifyConfig::default().max_age);
        NotifyConfig {
            max_age,
            email: raw.email.and_then(|e| self.email(e)),
            teams: raw.teams.and_then(|t| self.teams(t)),
            telegram: raw.telegram.and_then(|t| self.telegram(t)),
        }
    }

    /// A secret given as `key` or as `key_file` (a path, or a systemd credential name).
    pub(crate) fn secret(
        &mut self,
        key: &str,
        inline: Option<SpannedStr>,
        file: Option<SpannedStr>,
        required: bool,
    ) -> Option<Secret> {
        match (inline, file) {
            (Some(v), Some(f)) => {
                self.problem(
                    Some(f.span()),
                    &format!("{key}_file"),
                    &quoted(Some(&f)),
                    &format!("give {key} or {key}_file, not both"),
                );
                let _ = v;
                None
            }
            (Some(v), None) => Some(secret::inline(v.get_ref())),
            (None, Some(f)) => {
                let Some(path) = secret::secret_path(f.get_ref()) else {
                    let name = f.get_ref();
                    self.notes.push(format!(
                        "{key}_file = {name:?} is a systemd credential: the service reads it from $CREDENTIALS_DIRECTORY (LoadCredential={name}:/path/to/file in the unit); it cannot be read here"
                    ));
                    return Some(secret::pending(name));
                };
                match secret::read_secret(&path) {
                    Ok(s) => Some(s),
                    Err(rule) => {
                        self.problem(
                            Some(f.span()),
                            &format!("{key}_file"),
                            &quoted(Some(&f)),
                            &rule,
                        );
                        None
                    }
                }
            }
            (None, None) => {
                if required {
                    self.problem(
                        None,
                        key,
                        "(none)",
                        &format!("is required: give {key} or {key}_file"),
                    );
                }
                None
            }
        }
    }

    pub(super) fn email(&mut self, e: RawEmail) -> Option<EmailConfig> {
        let tls = self.choice(
            e.tls.as_ref(),
            "notify.email.tls",
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
        let port = self.port(e.port.as_ref(), "notify.email.port", default_port);
        let from = self.email_address(&e.from, "notify.email.from");
        let to: Vec<String> =
            e.to.iter()
                .map(|t| self.email_address(t, "notify.email.to"))
                .collect();
        if to.is_empty() {
            self.problem(
                None,
                "notify.email.to",
                "[]",
                "must list at least one recipient",
            );
        }
        let password = self.secret("notify.email.password", e.password, e.password_file, false);
        if tls == TlsMode::None && password.is_some() {
            self.notes.push(
                "notify.email: tls = \"none\" with a password: the password crosses the network in clear text (AUTH without TLS)".into(),
            );
        }
        let min_severity = self.severity(e.min_severity, "notify.email.min_severity");
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
            min_severity,
        })
    }

    fn port(&mut self, v: Option<&Spanned<i64>>, key: &str, default: u16) -> u16 {
        let Some(p) = v else { return default };
        match u16::try_from(*p.get_ref()) {
            Ok(port) if port > 0 => port,
            _ => {
                self.problem(
                    Some(p.span()),
                    key,
                    &p.get_ref().to_string(),
                    "must be a port from 1 to 65535",
                );
                default
            }
        }
    }

    fn email_address(&mut self, v: &SpannedStr, key: &str) -> String {
        let a = v.get_ref().trim();
        let ok = a
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && (d.contains('.') || d == "localhost"));
        if !ok {
            self.problem(
                Some(v.span()),
                key,
                &quoted(Some(v)),
                "must be an email address",
            );
        }
        a.to_owned()
    }

    pub(super) fn teams(&mut self, t: RawTeams) -> Option<TeamsConfig> {
        let format = self.choice(
            t.format.as_ref(),
            "notify.teams.format",
            &[
                ("workflows", TeamsFormat::Workflows),
                ("messagecard", TeamsFormat::Messagecard),
            ],
        );
        // The URL is checked but never echoed: it is the secret.
        let span = t.webhook_url.as_ref().map(Spanned::span);
        let webhook_url = self.secret(
            "notify.teams.webhook_url",
            t.webhook_url,
            t.webhook_url_file,
            true,
        )?;
        if webhook_url.pending().is_none()
            && !Url::parse(webhook_url.expose())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            self.problem(
                span,
                "notify.teams.webhook_url",
                "(redacted)",
                "must be an http:// or https:// URL",
            );
        }
        let min_severity = self.severity(t.min_severity, "notify.teams.min_severity");
        Some(TeamsConfig {
            enabled: t.enabled.unwrap_or(true),
            webhook_url,
            format,
            min_severity,
        })
    }

    pub(super) fn telegram(&mut self, t: RawTelegram) -> Option<TelegramConfig> {
        let chat_id = match t.chat_id.get_ref() {
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            other => {
                self.problem(
                    Some(t.chat_id.span()),
                    "notify.telegram.chat_id",
                    &other.to_string(),
                    "must be a chat number or \"@channelname\"",
                );
                String::new()
            }
        };
        let default_base = || Url::parse("https://api.telegram.org").expect("static URL parses");
        let api_base = t.api_base.as_ref().map_or_else(default_base, |b| {
            self.web_url(b, "notify.telegram.api_base")
                .unwrap_or_else(default_base)
        });
        let bot_token = self.secret(
            "notify.telegram.bot_token",
            t.bot_token,
            t.bot_token_file,
            true,
        )?;
        let min_severity = self.severity(t.min_severity, "notify.telegram.min_severity");
        Some(TelegramConfig {
            enabled: t.enabled.unwrap_or(true),
            bot_token,
            chat_id,
            api_base,
            min_severity,
        })
    }
}

impl Validator<'_> {
    pub(super) fn serve(&mut self, s: super::raw::RawServe) -> Option<ServeConfig> {
        let listen = match s.listen.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.problem(
                    Some(s.listen.span()),
                    "serve.listen",
                    &quoted(Some(&s.listen)),
                    "must be an address and port, e.g. \"127.0.0.1:9790\" or \"[::1]:9790\"",
                );
                None
            }
        };
        let password = self.secret(
            "serve.basic_auth_password",
            s.basic_auth_password,
            s.basic_auth_password_file,
            false,
        );
        let user = s.basic_auth_user.map(|u| {
            self.plain_name(&u, "serve.basic_auth_user");
            u.get_ref().clone()
        });
        if user.is_some() != password.is_some() {
            self.problem(
                None,
                "serve.basic_auth_user",
                "",
                "basic authentication needs both basic_auth_user and basic_auth_password (or _file)",
            );
        }
        Some(ServeConfig {
            listen: listen?,
            basic_auth_user: user,
            basic_auth_password: password,
        })
    }

    pub(super) fn mqtt(&mut self, m: super::raw::RawMqtt) -> Option<MqttConfig> {
        let url = match Url::parse(m.url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "mqtt" | "mqtts") && u.host_str().is_some() => Some(u),
            _ => {
                self.problem(
                    Some(m.url.span()),
                    "mqtt.url",
                    &format!("{:?}", crate::util::redact(m.url.get_ref())),
                    "must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
                );
                None
            }
        };
        let password = self.secret("mqtt.password", m.password, m.password_file, false);
        let word = |v: Option<SpannedStr>, default: String, this: &mut Self, key: &str| match v {
            Some(v) if v.get_ref().is_empty() || v.get_ref().contains(['#', '+']) => {
                this.problem(
                    Some(v.span()),
                    key,
                    &quoted(Some(&v)),
                    "must be a topic without # or +",
                );
                default
            }
            Some(v) => v.get_ref().trim_end_matches('/').to_owned(),
            None => default,
        };
        let discovery_prefix = word(
            m.discovery_prefix,
            "homeassistant".into(),
            self,
            "mqtt.discovery_prefix",
        );
        let topic_prefix = word(
            m.topic_prefix,
            format!("connectivity-monitor/{}", crate::util::hostname()),
            self,
            "mqtt.topic_prefix",
        );
        Some(MqttConfig {
            url: url?,
            username: m.username,
            password,
            ca_file: m.ca_file.map(PathBuf::from),
            discovery_prefix,
            topic_prefix,
        })
    }
}
