//! Host sensors and log watches: the box itself, beside its line. Each is an
//! observer of the one alert-condition driver (same policy, windows,
//! channels, outbox): it says what it sees, the driver decides what to send.
//!
//! Each sensor is a module holding its `[sensors.*]` section (raw, rules,
//! typed), the conditions it raises, its policy, and its task; the list
//! below names them once, and from it come `[sensors]`'s section
//! ([`SensorsConfig`]), every [`Condition`] the driver knows (with its id,
//! its name and its policy: an unknown one cannot be written), how they start
//! and what `once` shows of them. A new sensor is its module plus one entry.
//!
//! - `disk`: used space and inodes per filesystem (statvfs, /proc/self/mountinfo);
//! - `memory`: used memory from MemAvailable, with swap;
//! - `ssh`: bursts of failed SSH logins, from the journal or a log file;
//! - `logwatch`: `[[log_watch]]`, logs that must keep growing (their section
//!   stands at the top of the file, so they are started beside the list).
//!
//! Every blocking call (statvfs, a file read, a state write) runs off the
//! runtime thread, bounded in time: a hung filesystem or a log flood never
//! delays a check.

pub mod logwatch;
mod ssh_source;
mod statfs;
mod threshold;

use std::future::Future;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use threshold::{bytes, levels, Threshold, LOOK_TIMEOUT};

use crate::alert::condition::ConditionState;
use crate::alert::Policy;
use crate::config::{Table, Window};

/// A sensor's section, as the daemon runs it.
pub trait Sensor: Table + Clone + Send + Sync + 'static {
    /// The conditions it raises.
    type Condition: SensorCondition;

    /// What it watches, in words, for the journal at start.
    fn describe(&self) -> String;

    /// Its alert policy, given `[alerts]`'s.
    fn policy(&self, alerts: &Policy) -> Policy;

    /// Looks until `token` is cancelled, telling `report` what it sees.
    fn run(
        self,
        state_dir: PathBuf,
        report: Reporter<Self::Condition>,
        token: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static;

    /// What `once` shows: its values now, as JSON and as lines of text.
    fn now(&self, state_dir: &Path) -> (Value, Vec<String>);
}

/// A condition one sensor raises, by its id (the key in `alerts.json`) and
/// its name in messages.
pub trait SensorCondition: Sized + Clone + std::fmt::Debug + PartialEq + Send + 'static {
    /// E.g. `disk:/srv`.
    fn id(&self) -> String;
    /// E.g. `DISK_FULL:/srv`.
    fn name(&self) -> String;
    /// The condition of an id this sensor writes, if it is one.
    fn parse(id: &str) -> Option<Self>;
}

/// A sensor's policy: its own level (threshold) decides WARNING or CRITICAL;
/// its reminders, unless it sets its own, and windows add to `[alerts]`'s.
pub fn policy(
    alerts: &Policy,
    repeat_every: Option<std::time::Duration>,
    own: &[Window],
) -> Policy {
    Policy {
        warn_after: std::time::Duration::ZERO,
        critical_after: std::time::Duration::MAX,
        repeat_every: repeat_every.unwrap_or(alerts.repeat_every),
        maintenance: alerts.maintenance.iter().chain(own).cloned().collect(),
    }
}

/// What an observer tells the alert driver.
#[derive(Debug, Clone)]
pub enum Report {
    /// One condition as seen at `now`.
    Seen {
        /// Which.
        condition: Condition,
        /// When.
        now: DateTime<Utc>,
        /// Holding or ended.
        state: ConditionState,
    },
    /// Every condition of one sensor that is watched now: any other open
    /// condition of that sensor ends, "no longer watched", with `why`. This
    /// also closes what was raised before a restart for a thing that is gone
    /// (a filesystem unmounted meanwhile).
    Watching {
        /// Whether a condition is the sensor's.
        of: fn(&Condition) -> bool,
        /// Its conditions watched now.
        watched: Vec<Condition>,
        /// When.
        now: DateTime<Utc>,
        /// Why the others are no longer watched, e.g. `not mounted`.
        why: String,
    },
}

/// Where one sensor reports its own conditions; they reach the driver as
/// [`Condition`]s. Every call says whether the driver still listens.
pub struct Reporter<C> {
    out: mpsc::Sender<Report>,
    wrap: fn(C) -> Condition,
    of: fn(&Condition) -> bool,
}

impl<C> Reporter<C> {
    /// Reports to `out`, each condition made a [`Condition`] by `wrap`;
    /// `of` tells the sensor's conditions from the others.
    pub fn new(
        out: mpsc::Sender<Report>,
        wrap: fn(C) -> Condition,
        of: fn(&Condition) -> bool,
    ) -> Reporter<C> {
        Reporter { out, wrap, of }
    }

    /// `condition` as seen at `now`.
    pub async fn seen(&self, condition: C, now: DateTime<Utc>, state: ConditionState) -> bool {
        let condition = (self.wrap)(condition);
        let seen = Report::Seen {
            condition,
            now,
            state,
        };
        self.out.send(seen).await.is_ok()
    }

    /// The conditions watched now: the sensor's others end with `why`.
    pub async fn watching(&self, watched: Vec<C>, now: DateTime<Utc>, why: &str) -> bool {
        let watching = Report::Watching {
            of: self.of,
            watched: watched.into_iter().map(self.wrap).collect(),
            now,
            why: why.to_owned(),
        };
        self.out.send(watching).await.is_ok()
    }
}

/// The sensor modules, `[sensors]`'s section, [`Condition`] and its
/// policies, from the list.
macro_rules! sensors {
    ($($key:ident => $Variant:ident($Type:ident),)*) => {
        $( pub mod $key; )*
        $( pub use $key::$Type; )*

        sections! {
            /// `[sensors]`: each sensor off unless its section is present.
            pub struct SensorsConfig / RawSensors {
                $(
                    #[doc = concat!("`[sensors.", stringify!($key), "]`")]
                    $key: Option<$Type>,
                )*
            }
        }

        /// Every condition the alert driver knows.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Condition {
            /// The internet outage, named by its cause (`WAN_DOWN`).
            Outage(&'static str),
            /// A `[[log_watch]]` log gone quiet: its service.
            LogSilent(String),
            /// A fault ticket open past the provider's deadline: its reference.
            PastDeadline(String),
            $(
                #[doc = concat!("Raised by `[sensors.", stringify!($key), "]`.")]
                $Variant(<$Type as Sensor>::Condition),
            )*
        }

        impl Condition {
            /// Its id, the key in `alerts.json`: `outage`, `log:nginx`, `disk:/srv`…
            pub fn id(&self) -> String {
                match self {
                    Condition::Outage(_) => "outage".into(),
                    Condition::LogSilent(service) => format!("log:{service}"),
                    Condition::PastDeadline(reference) => format!("claim:{reference}"),
                    $( Condition::$Variant(c) => c.id(), )*
                }
            }

            /// What messages call it: `WAN_DOWN`, `LOG_SILENT:nginx`, `DISK_FULL:/srv`…
            pub fn name(&self) -> String {
                match self {
                    Condition::Outage(cause) => (*cause).to_owned(),
                    Condition::LogSilent(service) => format!("LOG_SILENT:{service}"),
                    Condition::PastDeadline(reference) => format!("PAST_DEADLINE:{reference}"),
                    $( Condition::$Variant(c) => c.name(), )*
                }
            }

            /// The condition of an id this version writes (in `alerts.json`
            /// of this and earlier versions), if it is one.
            pub fn parse(id: &str) -> Option<Condition> {
                if id == "outage" {
                    return Some(Condition::Outage("OUTAGE"));
                }
                if let Some(service) = id.strip_prefix("log:") {
                    return Some(Condition::LogSilent(service.to_owned()));
                }
                if let Some(reference) = id.strip_prefix("claim:") {
                    return Some(Condition::PastDeadline(reference.to_owned()));
                }
                $(
                    if let Some(c) = <$Type as Sensor>::Condition::parse(id) {
                        return Some(Condition::$Variant(c));
                    }
                )*
                None
            }

            /// Its policy, if whatever raises it is configured.
            pub fn policy<'a>(&self, p: &'a Policies) -> Option<&'a Policy> {
                match self {
                    Condition::Outage(_) => Some(&p.outage),
                    Condition::LogSilent(service) => p.watches.get(service),
                    Condition::PastDeadline(_) => Some(&p.claims),
                    $( Condition::$Variant(_) => p.sensors.$key.as_ref(), )*
                }
            }
        }

        /// Each configured sensor's policy.
        #[derive(Debug, Clone, Default)]
        pub struct SensorPolicies {
            $( $key: Option<Policy>, )*
        }

        impl SensorsConfig {
            /// Each configured sensor's policy, given `[alerts]`'s.
            pub fn policies(&self, alerts: &Policy) -> SensorPolicies {
                SensorPolicies {
                    $( $key: self.$key.as_ref().map(|s| s.policy(alerts)), )*
                }
            }

            /// Starts each configured sensor on `tracker`, reporting to `out`.
            pub fn start(
                &self,
                state_dir: &Path,
                out: &mpsc::Sender<Report>,
                tracker: &TaskTracker,
                token: &CancellationToken,
            ) {
                $(
                    if let Some(s) = &self.$key {
                        tracing::info!("{}", s.describe());
                        let report = Reporter::new(
                            out.clone(),
                            Condition::$Variant,
                            |c| matches!(c, Condition::$Variant(_)),
                        );
                        tracker.spawn(s.clone().run(state_dir.to_owned(), report, token.clone()));
                    }
                )*
            }

            /// What `once` shows of the configured sensors: `{"disk": …,
            /// "memory": …}` (null for one that is off) and lines of text.
            pub fn now(&self, state_dir: &Path) -> (Value, Vec<String>) {
                let mut json = serde_json::Map::new();
                let mut lines = Vec::new();
                $(
                    let value = self.$key.as_ref().map(|s| {
                        let (value, said) = s.now(state_dir);
                        lines.extend(said);
                        value
                    });
                    json.insert(stringify!($key).into(), value.unwrap_or(Value::Null));
                )*
                (Value::Object(json), lines)
            }
        }
    };
}

sensors! {
    disk => Disk(DiskSensor),
    memory => Memory(MemorySensor),
    ssh => Ssh(SshSensor),
}

/// The policy of every condition, from the config.
#[derive(Debug, Clone)]
pub struct Policies {
    /// The outage's: `[alerts]`.
    pub outage: Policy,
    /// Each log watch's, by its service.
    pub watches: std::collections::HashMap<String, Policy>,
    /// Each configured sensor's.
    pub sensors: SensorPolicies,
    /// A ticket past its deadline: one WARNING, no reminders, its RECOVERED
    /// when the ticket is closed.
    pub claims: Policy,
}

impl Policies {
    /// The policy of a ticket past its deadline, given `[alerts]`'s.
    pub fn claims(alerts: &Policy) -> Policy {
        policy(alerts, Some(std::time::Duration::ZERO), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Section;
    use crate::daemon::config::Config;

    /// One condition of every kind the driver knows: a new kind that is not
    /// added here fails the match below, and one without a policy does not
    /// compile (`Condition::policy` matches every variant).
    fn one_of_each() -> Vec<Condition> {
        let all = [
            Condition::Outage("WAN_DOWN"),
            Condition::LogSilent("nginx".into()),
            Condition::PastDeadline("TKT-4711".into()),
            Condition::Disk(disk::Full::Space("/srv".into())),
            Condition::Disk(disk::Full::Inodes("/srv".into())),
            Condition::Memory(memory::High),
            Condition::Ssh(ssh::Burst),
        ];
        for c in &all {
            match c {
                Condition::Outage(_)
                | Condition::LogSilent(_)
                | Condition::PastDeadline(_)
                | Condition::Disk(_)
                | Condition::Memory(_)
                | Condition::Ssh(_) => {}
            }
        }
        all.to_vec()
    }

    #[test]
    fn every_condition_reads_back_from_its_id_and_has_its_own_policy() {
        let text = "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n\
            [alerts]\nrepeat_every = \"1h\"\n\
            [[log_watch]]\npath = \"/x\"\nservice = \"nginx\"\nidle_after = \"10m\"\n\
            [sensors.disk]\nrepeat_every = \"2h\"\n[sensors.memory]\nrepeat_every = \"3h\"\n\
            [sensors.ssh]\nrepeat_every = \"4h\"\n";
        let config = Config::parse(Path::new("/etc/cm.toml"), text).unwrap();
        let outage = Policy::from(&config.alerts);
        let policies = Policies {
            watches: [(
                "nginx".into(),
                logwatch::policy(&config.features.log_watch[0], &outage),
            )]
            .into(),
            sensors: config.features.sensors.policies(&outage),
            claims: Policies::claims(&outage),
            outage,
        };
        let hours = |c: &Condition| c.policy(&policies).map(|p| p.repeat_every.as_secs() / 3600);
        let mut repeats = Vec::new();
        for c in one_of_each() {
            let back = Condition::parse(&c.id()).expect("an id this version writes");
            assert_eq!(back.id(), c.id());
            repeats.push((c.id(), c.name(), hours(&c)));
        }
        assert_eq!(
            Condition::parse("inodes:/srv"),
            Some(Condition::Disk(disk::Full::Inodes("/srv".into())))
        );
        let id = |s: &str| s.to_owned();
        assert_eq!(
            repeats,
            [
                (id("outage"), id("WAN_DOWN"), Some(1)),
                (id("log:nginx"), id("LOG_SILENT:nginx"), Some(1)),
                (id("claim:TKT-4711"), id("PAST_DEADLINE:TKT-4711"), Some(0)),
                (id("disk:/srv"), id("DISK_FULL:/srv"), Some(2)),
                (id("inodes:/srv"), id("INODES_FULL:/srv"), Some(2)),
                (id("memory"), id("MEMORY"), Some(3)),
                (id("ssh"), id("SSH_FAILURES"), Some(4)),
            ]
        );
        assert_eq!(Condition::parse("printer:tray1"), None, "not one of ours");
        let none = Policies {
            watches: Default::default(),
            sensors: SensorsConfig::read(None, &mut crate::config::Validator::new(""), "")
                .policies(&policies.outage),
            claims: policies.claims.clone(),
            outage: policies.outage.clone(),
        };
        let unwatched: Vec<String> = one_of_each()
            .iter()
            .filter(|c| c.policy(&none).is_none())
            .map(Condition::id)
            .collect();
        assert_eq!(
            unwatched,
            ["log:nginx", "disk:/srv", "inodes:/srv", "memory", "ssh"],
            "without their sections, only the outage and the tickets keep a policy"
        );
    }
}
