//! `[serve]` and `[mqtt]` (until each moves to its module).

use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use super::{quoted, Validator};
use crate::config::raw::SpannedStr;
use crate::config::{MqttConfig, ServeConfig};

impl Validator<'_> {
    pub(crate) fn serve(&mut self, s: crate::config::raw::RawServe) -> Option<ServeConfig> {
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

    pub(crate) fn mqtt(&mut self, m: crate::config::raw::RawMqtt) -> Option<MqttConfig> {
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

impl crate::config::Table for ServeConfig {
    type Raw = crate::config::raw::RawServe;

    fn read(raw: Self::Raw, v: &mut Validator<'_>, _key: &str) -> Option<ServeConfig> {
        v.serve(raw)
    }

    fn secrets(&self) -> Vec<&crate::config::Secret> {
        self.basic_auth_password.iter().collect()
    }
}

impl crate::config::Table for MqttConfig {
    type Raw = crate::config::raw::RawMqtt;

    fn read(raw: Self::Raw, v: &mut Validator<'_>, _key: &str) -> Option<MqttConfig> {
        v.mqtt(raw)
    }

    fn secrets(&self) -> Vec<&crate::config::Secret> {
        self.password.iter().collect()
    }
}
