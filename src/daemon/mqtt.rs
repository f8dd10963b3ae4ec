//! `[mqtt]`: Home Assistant over MQTT. On every connection the device's
//! discovery configs (retained) and `online` on the availability topic, whose
//! last will is `offline`; the states at most once per check, when they change;
//! everything again when Home Assistant announces itself `online`, and when a
//! reload changes the targets (the entities of removed ones cleared).
//!
//! The connection is driven by a task of its own that does nothing else, so a
//! connection attempt is never abandoned half-way and retried at once: a broker
//! that does not answer is retried with doubling backoff up to a minute.
//! Discovery is published with flow control (each config waits for room, the
//! broker acknowledges each) and its outcome is logged. A broker that is down
//! costs monitoring nothing: states never wait (a full queue drops them).

mod session;

use std::path::PathBuf;
use std::time::Duration;

use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use url::Url;

use self::session::Session;
use super::ha::Names;
use super::live::LiveView;
use super::surface::{off, Context, Surface};
use super::part::{Background, PartFuture};
use crate::config::raw::SpannedStr;
use crate::config::{quoted, Core, Secret, Table, Validator};

/// Requests waiting for the connection; discovery waits for room, states drop.
const QUEUE: usize = 1024;

/// `[mqtt]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    url: SpannedStr,
    username: Option<String>,
    password: Option<SpannedStr>,
    password_file: Option<SpannedStr>,
    ca_file: Option<String>,
    discovery_prefix: Option<SpannedStr>,
    topic_prefix: Option<SpannedStr>,
}

/// `[mqtt]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MqttConfig {
    /// `mqtt://host:1883` or `mqtts://host:8883`.
    #[serde(serialize_with = "crate::config::ser_url")]
    pub url: Url,
    /// Login name, if the broker wants one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Login password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A private CA for mqtts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// Where states are published, `connectivity-monitor/<hostname>` by default.
    pub topic_prefix: String,
}

impl Table for MqttConfig {
    type Raw = RawMqtt;

    fn read(m: RawMqtt, v: &mut Validator<'_>, section: &str) -> Option<MqttConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let url = match Url::parse(m.url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "mqtt" | "mqtts") && u.host_str().is_some() => Some(u),
            _ => {
                let shown = format!("{:?}", crate::util::redact(m.url.get_ref()));
                let rule = "must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";
                v.problem(Some(m.url.span()), &key("url"), &shown, rule);
                None
            }
        };
        let password = v.secret(&key("password"), m.password, m.password_file, false);
        let discovery = topic(v, m.discovery_prefix, &key("discovery_prefix"));
        let prefix = topic(v, m.topic_prefix, &key("topic_prefix"));
        Some(MqttConfig {
            url: url?,
            username: m.username,
            password,
            ca_file: m.ca_file.map(PathBuf::from),
            discovery_prefix: discovery.unwrap_or_else(|| "homeassistant".into()),
            topic_prefix: prefix.unwrap_or_else(|| {
                format!("connectivity-monitor/{}", crate::util::hostname())
            }),
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        self.password.iter().collect()
    }
}

impl MqttConfig {
    /// Home Assistant's discovery prefix and the prefix of the states.
    pub fn topics(&self) -> (&str, &str) {
        (&self.discovery_prefix, &self.topic_prefix)
    }
}

/// A topic prefix, without a trailing `/`; `None` when absent or broken.
fn topic(v: &mut Validator<'_>, given: Option<SpannedStr>, key: &str) -> Option<String> {
    let given = given?;
    if given.get_ref().is_empty() || given.get_ref().contains(['#', '+']) {
        let rule = "must be a topic without # or +";
        v.problem(Some(given.span()), key, &quoted(Some(&given)), rule);
        return None;
    }
    Some(given.get_ref().trim_end_matches('/').to_owned())
}

impl Surface for MqttConfig {
    type Running = Mqtt;

    const SHOWS: &'static str = "Home Assistant";

    fn start<'a>(&'a self, ctx: &'a Context<'a>) -> PartFuture<'a, anyhow::Result<Mqtt>> {
        let started = Mqtt::start(self, ctx.core, std::sync::Arc::clone(ctx.live), ctx.checks.clone());
        Box::pin(async move { started })
    }

    /// The same section follows the targets; another one restarts it.
    fn reload<'a>(
        &'a self,
        running: Mqtt,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, (Option<Mqtt>, Option<String>)> {
        Box::pin(async move {
            if running.config() == self {
                let followed = running.follow(ctx.core);
                let note = "mqtt: Home Assistant's entities follow the targets";
                return (Some(running), followed.then(|| note.into()));
            }
            let keys = changed_keys(running.config(), self);
            let _ = running.stop().await;
            match self.start(ctx).await {
                Ok(m) => (Some(m), Some(format!("mqtt restarted ({keys} changed)"))),
                Err(e) => (None, Some(off("mqtt", Self::SHOWS, &e))),
            }
        })
    }

    fn stop(running: Mqtt) -> PartFuture<'static, ()> {
        Box::pin(async move {
            let _ = running.stop().await;
        })
    }

    fn preflight(&self) -> (Vec<String>, Vec<String>) {
        let errors = tls_ca(self).err().into_iter();
        let errors = errors.map(|e| format!("{e}; `run` would start without Home Assistant"));
        (errors.collect(), Vec::new())
    }
}

/// The keys of `[mqtt]` that differ, by name (never a value: one is a password).
fn changed_keys(old: &MqttConfig, new: &MqttConfig) -> String {
    let keys = [
        ("url", old.url != new.url),
        ("username", old.username != new.username),
        ("password", old.password != new.password),
        ("ca_file", old.ca_file != new.ca_file),
        (
            "discovery_prefix",
            old.discovery_prefix != new.discovery_prefix,
        ),
        ("topic_prefix", old.topic_prefix != new.topic_prefix),
    ];
    let changed: Vec<&str> = keys.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
    changed.join(", ")
}

/// The running publisher.
pub struct Mqtt {
    task: Background,
    config: MqttConfig,
    names: watch::Sender<Names>,
}

/// The CA that `cfg` trusts for mqtts, read now; why it cannot be read
/// (the surface cannot start) names the key and the file.
pub fn tls_ca(cfg: &MqttConfig) -> Result<Option<Vec<u8>>, String> {
    if cfg.url.scheme() != "mqtts" {
        return Ok(None);
    }
    // The private CA, else the system's bundle (Debian's ca-certificates).
    let (key, ca) = match &cfg.ca_file {
        Some(f) => ("mqtt.ca_file", f.clone()),
        None => (
            "the system CA bundle",
            "/etc/ssl/certs/ca-certificates.crt".into(),
        ),
    };
    let read = |p: &std::path::Path| {
        // A FIFO or a device would hang or never end: only a file (or a link to one).
        if !std::fs::metadata(p)?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        std::fs::read(p)
    };
    read(&ca)
        .map(Some)
        .map_err(|e| format!("{key} {}: cannot read: {e}", ca.display()))
}

impl Mqtt {
    /// Connects in the background and publishes the view after each check
    /// (`checks` changes once per check).
    pub fn start(
        cfg: &MqttConfig,
        config: &Core,
        view: std::sync::Arc<LiveView>,
        checks: watch::Receiver<u64>,
    ) -> anyhow::Result<Mqtt> {
        let ca = tls_ca(cfg).map_err(|e| anyhow::anyhow!(e))?;
        let names = Names::new(cfg.topics(), config);
        let host = cfg.url.host_str().unwrap_or_default().to_owned();
        let port = cfg
            .url
            .port()
            .unwrap_or(if ca.is_some() { 8883 } else { 1883 });
        let mut opts = MqttOptions::new(names.node.clone(), host, port);
        opts.set_keep_alive(Duration::from_secs(5).max(config.monitor.interval));
        opts.set_last_will(LastWill::new(
            names.availability(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
        if let Some(user) = &cfg.username {
            let pass = cfg
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            opts.set_credentials(user.clone(), pass);
        }
        if let Some(ca) = ca {
            opts.set_transport(Transport::Tls(TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            }));
        }
        let (client, eventloop) = AsyncClient::new(opts, QUEUE);
        let (names_tx, names_rx) = watch::channel(names);
        let session = Session::new(client, names_rx, view, checks);
        let task = Background::spawn(|token| session.run(eventloop, token));
        tracing::info!(
            "publishing to Home Assistant through {}",
            crate::util::redact_url(&cfg.url)
        );
        Ok(Mqtt {
            task,
            config: cfg.clone(),
            names: names_tx,
        })
    }

    /// The section it runs with.
    pub fn config(&self) -> &MqttConfig {
        &self.config
    }

    /// Follows the targets and interval of `config`: the entities of removed
    /// targets are cleared, new ones announced. Whether anything changed.
    pub fn follow(&self, config: &Core) -> bool {
        let new = Names::new(self.config.topics(), config);
        self.names.send_if_modified(|n| {
            let changed = *n != new;
            *n = new;
            changed
        })
    }

    /// Says `offline`, disconnects, and stops.
    pub fn stop(self) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

