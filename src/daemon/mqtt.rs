//! `[mqtt]`: Home Assistant over MQTT. On every connection the device's
//! discovery configs (retained) and `online` on the availability topic, whose
//! last will is `offline`; the states at most once per check, when they change;
//! everything again when Home Assistant announces itself `online`.
//!
//! A broker that is down costs monitoring nothing: publishing never waits (a
//! full queue drops), the connection is retried with capped backoff, and the
//! error is logged once per outage of the broker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::live::{Live, View};
use super::{Background, Part, PartFuture};
use crate::config::{Config, MqttConfig};
use crate::monitor::Update;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// The running publisher.
pub struct Mqtt {
    task: Background,
    url: url::Url,
}

/// Topics and the device, from the config.
#[derive(Clone)]
struct Names {
    discovery: String,
    prefix: String,
    node: String,
    targets: Vec<String>,
    expire_after: u64,
}

impl Names {
    fn availability(&self) -> String {
        format!("{}/availability", self.prefix)
    }
    fn state(&self, what: &str) -> String {
        format!("{}/{what}", self.prefix)
    }
}

impl Mqtt {
    /// Connects in the background and follows `live` for states.
    pub fn start(
        cfg: &MqttConfig,
        config: &Config,
        view: Arc<Live>,
        live: crate::monitor::Live,
    ) -> anyhow::Result<Mqtt> {
        let host = cfg.url.host_str().unwrap_or_default().to_owned();
        let tls = cfg.url.scheme() == "mqtts";
        let port = cfg.url.port().unwrap_or(if tls { 8883 } else { 1883 });
        let node: String = crate::util::hostname()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let names = Names {
            discovery: cfg.discovery_prefix.clone(),
            prefix: cfg.topic_prefix.clone(),
            node: format!("connectivity_monitor_{node}"),
            targets: config.targets.iter().map(|t| t.name.0.clone()).collect(),
            expire_after: (config.monitor.interval.as_secs() * 3).max(30),
        };
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
        if tls {
            // The private CA, else the system's bundle (Debian's ca-certificates).
            let ca = cfg
                .ca_file
                .clone()
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
            let ca = std::fs::read(&ca).map_err(|e| {
                anyhow::anyhow!("mqtts: cannot read the CA file {}: {e}", ca.display())
            })?;
            opts.set_transport(Transport::Tls(TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            }));
        }
        // Room for a thousand targets' discovery at once; past it, states drop, checks never wait.
        let (client, eventloop) = AsyncClient::new(opts, 4096);
        let task = Background::spawn(|token| run(client, eventloop, names, view, live, token));
        tracing::info!(
            "publishing to Home Assistant through {}",
            crate::util::redact_url(&cfg.url)
        );
        Ok(Mqtt {
            task,
            url: cfg.url.clone(),
        })
    }
}

impl Part for Mqtt {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        let note = match &new.mqtt {
            Some(m) if m.url == self.url => None,
            _ => Some("mqtt changes take effect at the next restart".to_owned()),
        };
        Box::pin(async move { note })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

async fn run(
    client: AsyncClient,
    mut eventloop: rumqttc::EventLoop,
    names: Names,
    view: Arc<Live>,
    mut live: crate::monitor::Live,
    token: CancellationToken,
) {
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    // Unchanged states are sent again now and then, or Home Assistant's
    // `expire_after` would call a steady line unavailable.
    let refresh = Duration::from_secs(names.expire_after / 2);
    let mut refreshed = tokio::time::Instant::now();
    let mut down_since: Option<std::time::Instant> = None;
    let mut backoff = FIRST_RETRY;
    let ha_status = format!("{}/status", names.discovery);
    loop {
        tokio::select! {
            _ = token.cancelled() => {
                // A clean stop says so at once rather than by the last will.
                let _ = client.try_publish(names.availability(), QoS::AtLeastOnce, true, "offline");
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = client.disconnect().await;
                    while eventloop.poll().await.is_ok() {}
                }).await;
                return;
            }
            u = live.recv() => {
                let Some(u) = u else { return };
                if matches!(&*u, Update::Check(_)) {
                    let all = refreshed.elapsed() >= refresh;
                    if all {
                        refreshed = tokio::time::Instant::now();
                    }
                    publish_states(&client, &names, &view.view(), &mut last, all);
                }
            }
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Some(since) = down_since.take() {
                        tracing::info!("MQTT broker reachable again after {}", crate::timefmt::spelled(since.elapsed()));
                    }
                    backoff = FIRST_RETRY;
                    let _ = client.try_subscribe(ha_status.clone(), QoS::AtLeastOnce);
                    announce(&client, &names, &view.view(), &mut last);
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == ha_status && p.payload.as_ref() == b"online" => {
                    announce(&client, &names, &view.view(), &mut last);
                }
                Ok(_) => {}
                Err(e) => {
                    if down_since.is_none() {
                        tracing::warn!("MQTT broker unreachable ({e}); retrying with backoff, monitoring goes on");
                        down_since = Some(std::time::Instant::now());
                    }
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_RETRY);
                }
            }
        }
    }
}

/// Discovery, availability and every state, as after a (re)connection.
fn announce(client: &AsyncClient, names: &Names, view: &View, last: &mut BTreeMap<String, String>) {
    for (topic, config) in discovery(names) {
        let _ = client.try_publish(topic, QoS::AtLeastOnce, true, config.to_string());
    }
    let _ = client.try_publish(names.availability(), QoS::AtLeastOnce, true, "online");
    publish_states(client, names, view, last, true);
}

/// The states that changed since the last call (all of them with `all`).
fn publish_states(
    client: &AsyncClient,
    names: &Names,
    view: &View,
    last: &mut BTreeMap<String, String>,
    all: bool,
) {
    for (what, value) in states(names, view) {
        if !all && last.get(&what) == Some(&value) {
            continue;
        }
        if client
            .try_publish(names.state(&what), QoS::AtMostOnce, true, value.clone())
            .is_ok()
        {
            last.insert(what, value);
        }
    }
}

fn on_off(b: bool) -> String {
    if b { "ON" } else { "OFF" }.to_owned()
}

/// Each state topic's suffix and payload.
fn states(names: &Names, v: &View) -> Vec<(String, String)> {
    let Some(verdict) = v.verdict else {
        return Vec::new();
    };
    let mut out = vec![
        (
            "internet".into(),
            on_off(v.probes.iter().any(|p| p.role == "target" && p.up)),
        ),
        (
            "gateway".into(),
            on_off(v.probes.iter().any(|p| p.role == "gateway" && p.up)),
        ),
        ("verdict".into(), verdict.as_str().to_owned()),
        (
            "latency".into(),
            v.internet_rtt_ms.map_or("".into(), |ms| format!("{ms:.2}")),
        ),
        (
            "loss".into(),
            v.loss_pct.map_or("".into(), |l| format!("{l:.1}")),
        ),
        (
            "availability_today".into(),
            v.availability_today_pct
                .map_or("".into(), |a| format!("{a:.2}")),
        ),
    ];
    let last = v.outage.as_ref().or(v.recent_outages.front());
    out.push((
        "last_outage_start".into(),
        last.map_or("".into(), |o| o.start.clone()),
    ));
    out.push((
        "last_outage_duration".into(),
        last.map_or("".into(), |o| o.duration_s.to_string()),
    ));
    for t in &names.targets {
        let up = v
            .probes
            .iter()
            .any(|p| p.role == "target" && p.name.as_deref() == Some(t) && p.up);
        out.push((format!("target/{}", slug(t)), on_off(up)));
    }
    out
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Every entity's discovery topic and config, in the order Home Assistant lists them.
fn discovery(n: &Names) -> Vec<(String, Value)> {
    let connectivity = || json!({"device_class": "connectivity"});
    let fixed = [
        ("binary_sensor", "internet", "Internet", connectivity()),
        ("binary_sensor", "gateway", "Gateway", connectivity()),
        (
            "sensor",
            "verdict",
            "Verdict",
            json!({
                "device_class": "enum",
                "options": ["OK", "DEGRADED", "DNS_FAIL", "HTTP_FAIL", "WAN_DOWN", "ISP_DOWN", "LAN_DOWN"],
            }),
        ),
        (
            "sensor",
            "latency",
            "Internet latency",
            json!({"unit_of_measurement": "ms", "state_class": "measurement", "device_class": "duration"}),
        ),
        (
            "sensor",
            "loss",
            "Packet loss",
            json!({"unit_of_measurement": "%", "state_class": "measurement"}),
        ),
        (
            "sensor",
            "last_outage_start",
            "Last outage start",
            json!({"device_class": "timestamp"}),
        ),
        (
            "sensor",
            "last_outage_duration",
            "Last outage duration",
            json!({"unit_of_measurement": "s", "device_class": "duration"}),
        ),
        (
            "sensor",
            "availability_today",
            "Availability today",
            json!({"unit_of_measurement": "%", "state_class": "measurement"}),
        ),
    ];
    let device = device(n);
    let mut out: Vec<_> = fixed
        .into_iter()
        .map(|(component, id, name, extra)| entity(n, &device, component, id, name, id, extra))
        .collect();
    for t in &n.targets {
        let slug = slug(t);
        out.push(entity(
            n,
            &device,
            "binary_sensor",
            &format!("target_{slug}"),
            &format!("Target {t}"),
            &format!("target/{slug}"),
            connectivity(),
        ));
    }
    out
}

/// The device every entity belongs to.
fn device(n: &Names) -> Value {
    json!({
        "identifiers": [n.node],
        "name": format!("connectivity-monitor {}", crate::util::hostname()),
        "manufacturer": "connectivity-monitor",
        "model": "internet connection monitor",
        "sw_version": env!("CARGO_PKG_VERSION"),
    })
}

/// One entity's discovery topic and config: what every entity has, then `extra`.
fn entity(
    n: &Names,
    device: &Value,
    component: &str,
    id: &str,
    name: &str,
    state: &str,
    extra: Value,
) -> (String, Value) {
    let mut config = json!({
        "name": name,
        "unique_id": format!("{}_{id}", n.node),
        "object_id": format!("{}_{id}", n.node),
        "state_topic": n.state(state),
        "availability_topic": n.availability(),
        "payload_available": "online",
        "payload_not_available": "offline",
        "expire_after": n.expire_after,
        "device": device,
    });
    if let (Some(c), Value::Object(e)) = (config.as_object_mut(), extra) {
        c.extend(e);
    }
    (
        format!("{}/{component}/{}/{id}/config", n.discovery, n.node),
        config,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_gives_every_entity_the_common_fields_and_its_own() {
        let n = Names {
            discovery: "homeassistant".into(),
            prefix: "cm/box".into(),
            node: "connectivity_monitor_box".into(),
            targets: vec!["one".into()],
            expire_after: 30,
        };
        let d = discovery(&n);
        assert_eq!(d.len(), 9);
        let (topic, verdict) = &d[2];
        assert_eq!(
            topic,
            "homeassistant/sensor/connectivity_monitor_box/verdict/config"
        );
        assert_eq!(verdict["state_topic"], "cm/box/verdict");
        assert_eq!(verdict["unique_id"], "connectivity_monitor_box_verdict");
        assert_eq!(verdict["availability_topic"], "cm/box/availability");
        assert_eq!(verdict["options"][6], "LAN_DOWN");
        assert_eq!(verdict["expire_after"], 30);
        assert_eq!(
            verdict["device"]["identifiers"][0],
            "connectivity_monitor_box"
        );
        assert_eq!(d[3].1["unit_of_measurement"], "ms");
        let (topic, target) = &d[8];
        assert_eq!(
            topic,
            "homeassistant/binary_sensor/connectivity_monitor_box/target_one/config"
        );
        assert_eq!(target["state_topic"], "cm/box/target/one");
        assert_eq!(target["name"], "Target one");
        assert_eq!(target["device_class"], "connectivity");
    }
}
