//! What Home Assistant sees over MQTT: the device's entities (their
//! discovery topics and configs) and their states, from the config and the
//! live view. No connection here; `mqtt` publishes these.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use super::live::View;
use crate::config::{Core, Family};
use crate::monitor::Verdict;

/// Home Assistant's word for a value that is not known: the state `None`
/// (an empty payload is ignored by numeric sensors and an error for timestamps).
pub const UNKNOWN: &str = "None";

/// Topics and the device, from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Names {
    pub discovery: String,
    pub prefix: String,
    pub node: String,
    /// Each target's name and its id in entity ids and topics, unique.
    pub targets: Vec<(String, String)>,
    /// The families with targets, each an entity of its own when both have some.
    pub families: Vec<Family>,
    pub expire_after: u64,
}

impl Names {
    /// The names under `[mqtt]`'s `discovery` and `prefix` topics, for `config`'s targets.
    pub fn new((discovery, prefix): (&str, &str), config: &Core) -> Names {
        let names: Vec<String> = config.targets.iter().map(|t| t.name.0.clone()).collect();
        let ids = target_ids(&names);
        let families: Vec<Family> = Family::ALL
            .into_iter()
            .filter(|f| config.targets.iter().any(|t| Family::of(t.address) == *f))
            .collect();
        Names {
            discovery: discovery.to_owned(),
            prefix: prefix.to_owned(),
            node: format!("connectivity_monitor_{}", slug(&crate::util::hostname())),
            targets: names.into_iter().zip(ids).collect(),
            families: if families.len() > 1 {
                families
            } else {
                Vec::new()
            },
            expire_after: (config.monitor.interval.as_secs() * 3).max(30),
        }
    }

    /// Where `online`/`offline` go.
    pub fn availability(&self) -> String {
        format!("{}/availability", self.prefix)
    }

    /// The state topic of `what`.
    pub fn state(&self, what: &str) -> String {
        format!("{}/{what}", self.prefix)
    }

    /// Where Home Assistant announces itself.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery)
    }

    /// Retained topics `self` published that `new` does not: the discovery
    /// configs and the states of entities that are gone.
    pub fn gone_in(&self, new: &Names) -> Vec<String> {
        let topics = |n: &Names| -> BTreeSet<String> {
            discovery(n)
                .into_iter()
                .map(|(t, _)| t)
                .chain(
                    n.targets
                        .iter()
                        .map(|(_, id)| n.state(&format!("target/{id}"))),
                )
                .chain(n.families.iter().map(|f| n.state(&family_id(*f))))
                .collect()
        };
        let now = topics(new);
        topics(self)
            .into_iter()
            .filter(|t| !now.contains(t))
            .collect()
    }
}

/// Lower-case letters and digits; anything else `_`.
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

/// FNV-1a: a hash that stays the same across builds, for ids that must.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Each name's id: its slug, unless another name has the same slug (`office-nas`
/// and `office nas`); then the slug and a hash of the exact name, except for
/// a name that is its own slug. Stable for a name whatever else changes.
fn target_ids(names: &[String]) -> Vec<String> {
    let slugs: Vec<String> = names.iter().map(|n| slug(n)).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in &slugs {
        *count.entry(s).or_default() += 1;
    }
    names
        .iter()
        .zip(&slugs)
        .map(|(name, s)| {
            if count[s.as_str()] == 1 || name == s {
                s.clone()
            } else {
                format!("{s}_{:016x}", fnv1a(name))
            }
        })
        .collect()
}

/// The entity id and state topic of a family: `internet_ipv6`.
fn family_id(f: Family) -> String {
    format!("internet_{}", f.label())
}

fn on_off(b: bool) -> String {
    if b { "ON" } else { "OFF" }.to_owned()
}

/// Each state topic's suffix and payload; [`UNKNOWN`] for what is not known.
pub fn states(names: &Names, v: &View) -> Vec<(String, String)> {
    let Some(verdict) = v.verdict else {
        return Vec::new();
    };
    let known = |x: Option<String>| x.unwrap_or_else(|| UNKNOWN.to_owned());
    let last = v.outage.as_ref().or(v.recent_outages.front());
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
            known(v.internet_rtt_ms.map(|ms| format!("{ms:.2}"))),
        ),
        ("loss".into(), known(v.loss_pct.map(|l| format!("{l:.1}")))),
        (
            "availability_today".into(),
            known(v.availability_today_pct.map(|a| format!("{a:.2}"))),
        ),
        (
            "last_outage_start".into(),
            known(last.map(|o| o.start.clone())),
        ),
        (
            "last_outage_duration".into(),
            known(last.map(|o| o.duration_s.to_string())),
        ),
    ];
    for f in &names.families {
        let up = v.families.get(f.label()).is_some_and(|x| x.up);
        out.push((family_id(*f), on_off(up)));
    }
    for (name, id) in &names.targets {
        let up = v
            .probes
            .iter()
            .any(|p| p.role == "target" && p.name.as_deref() == Some(name) && p.up);
        out.push((format!("target/{id}"), on_off(up)));
    }
    out
}

/// What Home Assistant should make of an entity's state.
#[derive(Debug, Clone, Copy)]
enum Class {
    /// On when connected.
    Connectivity,
    /// One of the verdicts.
    Verdicts,
    /// A measurement in `unit`, of a device class if it has one.
    Measured(&'static str, Option<&'static str>),
    /// A point in time.
    Timestamp,
    /// A duration in `unit`, not a measurement to chart.
    Duration(&'static str),
}

impl Class {
    /// The config keys that say it.
    fn keys(self) -> Value {
        match self {
            Class::Connectivity => json!({"device_class": "connectivity"}),
            Class::Verdicts => json!({
                "device_class": "enum",
                "options": Verdict::ALL.map(Verdict::as_str),
            }),
            Class::Measured(unit, class) => {
                let mut keys = json!({"unit_of_measurement": unit, "state_class": "measurement"});
                if let Some(class) = class {
                    keys["device_class"] = json!(class);
                }
                keys
            }
            Class::Timestamp => json!({"device_class": "timestamp"}),
            Class::Duration(unit) => {
                json!({"unit_of_measurement": unit, "device_class": "duration"})
            }
        }
    }
}

/// The device's entities that every config has: component, id (also its
/// state topic), name and class, in the order Home Assistant lists them.
const FIXED: [(&str, &str, &str, Class); 8] = [
    ("binary_sensor", "internet", "Internet", Class::Connectivity),
    ("binary_sensor", "gateway", "Gateway", Class::Connectivity),
    ("sensor", "verdict", "Verdict", Class::Verdicts),
    (
        "sensor",
        "latency",
        "Internet latency",
        Class::Measured("ms", Some("duration")),
    ),
    ("sensor", "loss", "Packet loss", Class::Measured("%", None)),
    (
        "sensor",
        "last_outage_start",
        "Last outage start",
        Class::Timestamp,
    ),
    (
        "sensor",
        "last_outage_duration",
        "Last outage duration",
        Class::Duration("s"),
    ),
    (
        "sensor",
        "availability_today",
        "Availability today",
        Class::Measured("%", None),
    ),
];

/// Every entity's discovery topic and config, in the order Home Assistant
/// lists them: the fixed ones, each family's (when both have targets), each target's.
pub fn discovery(n: &Names) -> Vec<(String, Value)> {
    let device = device(n);
    let connectivity = Class::Connectivity.keys();
    let mut out: Vec<_> = FIXED
        .iter()
        .map(|(component, id, name, class)| {
            entity(n, &device, component, id, name, id, class.keys())
        })
        .collect();
    for f in &n.families {
        let id = family_id(*f);
        let name = format!("Internet {}", f.name());
        out.push(entity(
            n,
            &device,
            "binary_sensor",
            &id,
            &name,
            &id,
            connectivity.clone(),
        ));
    }
    for (t, id) in &n.targets {
        let (entity_id, name, state) = (
            format!("target_{id}"),
            format!("Target {t}"),
            format!("target/{id}"),
        );
        out.push(entity(
            n,
            &device,
            "binary_sensor",
            &entity_id,
            &name,
            &state,
            connectivity.clone(),
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

    fn names(targets: &[&str]) -> Names {
        let names: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
        Names {
            discovery: "homeassistant".into(),
            prefix: "cm/box".into(),
            node: "connectivity_monitor_box".into(),
            targets: names.clone().into_iter().zip(target_ids(&names)).collect(),
            families: Vec::new(),
            expire_after: 30,
        }
    }

    #[test]
    fn discovery_gives_every_entity_the_common_fields_and_its_own() {
        let d = discovery(&names(&["one"]));
        assert_eq!(d.len(), 9);
        let (topic, verdict) = &d[2];
        assert_eq!(
            topic,
            "homeassistant/sensor/connectivity_monitor_box/verdict/config"
        );
        assert_eq!(verdict["state_topic"], "cm/box/verdict");
        assert_eq!(verdict["unique_id"], "connectivity_monitor_box_verdict");
        assert_eq!(verdict["availability_topic"], "cm/box/availability");
        assert_eq!(verdict["options"][8], "LAN_DOWN");
        assert_eq!(verdict["options"][5], "IPV6_DOWN");
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

    #[test]
    fn a_dual_stack_device_has_an_internet_entity_per_family() {
        let mut n = names(&["one"]);
        n.families = vec![Family::V4, Family::V6];
        let d = discovery(&n);
        let six = d
            .iter()
            .find(|(t, _)| t.ends_with("/internet_ipv6/config"))
            .expect("an IPv6 entity");
        assert_eq!(six.1["name"], "Internet IPv6");
        assert_eq!(six.1["device_class"], "connectivity");
        let mut view = View {
            verdict: Some(Verdict::Ipv6Down),
            ..View::default()
        };
        view.families.insert(
            "ipv4",
            crate::daemon::live::FamilyView {
                up: true,
                targets_up: 1,
                targets_total: 1,
            },
        );
        view.families.insert(
            "ipv6",
            crate::daemon::live::FamilyView {
                up: false,
                targets_up: 0,
                targets_total: 1,
            },
        );
        let s: HashMap<String, String> = states(&n, &view).into_iter().collect();
        assert_eq!(
            (s["internet_ipv4"].as_str(), s["internet_ipv6"].as_str()),
            ("ON", "OFF")
        );
        // Dropping to one family clears the per-family entities.
        let gone = n.gone_in(&names(&["one"]));
        assert!(
            gone.iter().any(|t| t.ends_with("/internet_ipv6/config")),
            "{gone:?}"
        );
    }

    #[test]
    fn names_that_differ_only_in_punctuation_get_entities_of_their_own() {
        let n = names(&["office-nas", "office nas", "office_nas", "printer"]);
        let ids: Vec<&str> = n.targets.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids[2], "office_nas", "a name that is its own id keeps it");
        assert_eq!(ids[3], "printer");
        assert!(ids[0].starts_with("office_nas_") && ids[1].starts_with("office_nas_"));
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), 4, "{ids:?}");
        assert_eq!(
            names(&["office-nas", "office nas"]).targets[0].1,
            ids[0],
            "the same name, the same id"
        );
    }

    #[test]
    fn a_removed_target_leaves_its_config_and_state_to_be_cleared() {
        let gone = names(&["one", "two"]).gone_in(&names(&["one", "three"]));
        assert_eq!(
            gone,
            [
                "cm/box/target/two",
                "homeassistant/binary_sensor/connectivity_monitor_box/target_two/config"
            ]
        );
    }

    #[test]
    fn an_unknown_value_is_none_never_empty() {
        let view = View {
            verdict: Some(crate::monitor::Verdict::Ok),
            ..View::default()
        };
        let s: HashMap<String, String> = states(&names(&[]), &view).into_iter().collect();
        for key in [
            "last_outage_start",
            "last_outage_duration",
            "latency",
            "loss",
            "availability_today",
        ] {
            assert_eq!(s[key], UNKNOWN, "{key}");
        }
    }

    #[test]
    fn each_fixed_entity_says_what_its_state_is() {
        let d = discovery(&names(&[]));
        let said: Vec<(&str, Value, Value, Value)> = d
            .iter()
            .map(|(_, c)| {
                let name = c["name"].as_str().unwrap();
                let c = c.clone();
                (
                    name,
                    c["device_class"].clone(),
                    c["unit_of_measurement"].clone(),
                    c["state_class"].clone(),
                )
            })
            .collect();
        let m = json!("measurement");
        assert_eq!(
            said,
            [
                ("Internet", json!("connectivity"), Value::Null, Value::Null),
                ("Gateway", json!("connectivity"), Value::Null, Value::Null),
                ("Verdict", json!("enum"), Value::Null, Value::Null),
                (
                    "Internet latency",
                    json!("duration"),
                    json!("ms"),
                    m.clone()
                ),
                ("Packet loss", Value::Null, json!("%"), m.clone()),
                (
                    "Last outage start",
                    json!("timestamp"),
                    Value::Null,
                    Value::Null
                ),
                (
                    "Last outage duration",
                    json!("duration"),
                    json!("s"),
                    Value::Null
                ),
                ("Availability today", Value::Null, json!("%"), m),
            ]
        );
        assert_eq!(d[2].1["options"][0], "OK");
    }
}
