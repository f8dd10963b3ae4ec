//! `[sensors.disk]`: free space and inodes per filesystem, by statvfs; the
//! filesystems from /proc/self/mountinfo or the config (`disk/mounts.rs`).

mod mounts;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use self::mounts::{mountinfo, watched, Watched};
use super::statfs::{Look, Looker, Usage};
use super::{bytes, levels, Reporter, Sensor, SensorCondition, Threshold, LOOK_TIMEOUT};
use crate::alert::condition::ConditionState;
use crate::alert::Policy;
use crate::config::raw::{RawWindow, SpannedStr};
use crate::config::{quoted, Table, Validator, Window, SECOND_TO_DAY, UP_TO_30_DAYS};

/// `[sensors.disk]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    every: Option<SpannedStr>,
    warn_used_pct: Option<toml::Spanned<i64>>,
    critical_used_pct: Option<toml::Spanned<i64>>,
    warn_inodes_pct: Option<toml::Spanned<i64>>,
    mounts: Option<Vec<SpannedStr>>,
    exclude: Option<Vec<String>>,
    repeat_every: Option<SpannedStr>,
    #[serde(default)]
    maintenance: Vec<RawWindow>,
}

/// `[sensors.disk]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskSensor {
    /// How often it looks.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub every: Duration,
    /// Used space (percent) at or above which a filesystem is a WARNING.
    pub warn_used_pct: u8,
    /// … and a CRITICAL.
    pub critical_used_pct: u8,
    /// Used inodes (percent) at or above which a filesystem is a WARNING.
    pub warn_inodes_pct: u8,
    /// Watched whatever their type; empty: every real filesystem.
    pub mounts: Vec<PathBuf>,
    /// Never watched.
    pub exclude: Vec<PathBuf>,
    /// Reminder interval; `[alerts] repeat_every` when absent.
    #[serde(
        serialize_with = "crate::config::ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub repeat_every: Option<Duration>,
    /// Its own maintenance windows, besides `[[alerts.maintenance]]`.
    pub maintenance: Vec<Window>,
}

impl Table for DiskSensor {
    type Raw = RawDisk;

    fn read(d: RawDisk, v: &mut Validator<'_>, section: &str) -> Option<DiskSensor> {
        let key = |k: &str| format!("{section}.{k}");
        let thresholds = (d.warn_used_pct.as_ref(), d.critical_used_pct.as_ref());
        let (warn, critical) = levels(v, section, thresholds, (85, 95));
        let mut mounts = Vec::new();
        for m in d.mounts.unwrap_or_default() {
            let p = PathBuf::from(m.get_ref());
            if !p.is_dir() {
                let rule = "must be an existing mount point";
                v.problem(Some(m.span()), &key("mounts"), &quoted(Some(&m)), rule);
            }
            mounts.push(p);
        }
        let exclude = d.exclude.unwrap_or_else(|| vec!["/boot/efi".into()]);
        Some(DiskSensor {
            every: v
                .duration(d.every.as_ref(), &key("every"), SECOND_TO_DAY)
                .unwrap_or(Duration::from_secs(60)),
            warn_used_pct: warn,
            critical_used_pct: critical,
            warn_inodes_pct: v.pct(d.warn_inodes_pct.as_ref(), &key("warn_inodes_pct"), 90),
            mounts,
            exclude: exclude.into_iter().map(PathBuf::from).collect(),
            repeat_every: v.duration(d.repeat_every.as_ref(), &key("repeat_every"), UP_TO_30_DAYS),
            maintenance: v.windows(d.maintenance, &key("maintenance")),
        })
    }
}

/// A filesystem past a threshold: of its space, or of its inodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Full {
    /// Used space, by mount point: `disk:/srv`, `DISK_FULL:/srv`.
    Space(PathBuf),
    /// Used inodes: `inodes:/srv`, `INODES_FULL:/srv`.
    Inodes(PathBuf),
}

impl SensorCondition for Full {
    fn id(&self) -> String {
        match self {
            Full::Space(m) => format!("disk:{}", m.display()),
            Full::Inodes(m) => format!("inodes:{}", m.display()),
        }
    }

    fn name(&self) -> String {
        match self {
            Full::Space(m) => format!("DISK_FULL:{}", m.display()),
            Full::Inodes(m) => format!("INODES_FULL:{}", m.display()),
        }
    }

    fn parse(id: &str) -> Option<Full> {
        if let Some(m) = id.strip_prefix("disk:") {
            return Some(Full::Space(m.into()));
        }
        id.strip_prefix("inodes:").map(|m| Full::Inodes(m.into()))
    }
}

impl Sensor for DiskSensor {
    type Condition = Full;

    /// What it watches, each filesystem once, and why it leaves others out.
    fn describe(&self) -> String {
        let w = mountinfo()
            .map(|info| watched(&self.mounts, &self.exclude, &info))
            .unwrap_or_default();
        let shown = |v: &[PathBuf]| {
            let v: Vec<String> = v.iter().map(|m| m.display().to_string()).collect();
            v.join(", ")
        };
        let mut line = format!(
            "disk sensor: {} ({} % warn, {} % critical)",
            shown(&w.kept),
            self.warn_used_pct,
            self.critical_used_pct
        );
        for (m, first) in &w.same {
            let (m, first) = (m.display(), first.display());
            line.push_str(&format!("; {m} is the same filesystem as {first}"));
        }
        if !w.unmounted.is_empty() {
            line.push_str(&format!("; not mounted now: {}", shown(&w.unmounted)));
        }
        line
    }

    fn policy(&self, alerts: &Policy) -> Policy {
        super::policy(alerts, self.repeat_every, &self.maintenance)
    }

    async fn run(self, _state_dir: PathBuf, report: Reporter<Full>, token: CancellationToken) {
        run(self, report, token).await;
    }

    fn now(&self, _state_dir: &Path) -> (Value, Vec<String>) {
        let round1 = |v: f64| (v * 10.0).round() / 10.0;
        let mut values = Vec::new();
        let mut lines = Vec::new();
        for (m, r) in look_now(self) {
            match r {
                Ok(u) => {
                    let used = round1(u.used_pct);
                    let free = bytes(u.free_bytes);
                    lines.push(format!("disk {}: {used} % used, {free} free", m.display()));
                    let inodes = u.inodes_pct.map(round1);
                    values.push(json!({"mount": m, "used_pct": used, "free_bytes": u.free_bytes, "inodes_used_pct": inodes}));
                }
                Err(e) => {
                    lines.push(format!("disk {}: {:?}", m.display(), e));
                    values.push(json!({"mount": m, "error": e}));
                }
            }
        }
        (Value::Array(values), lines)
    }
}

/// For `once`: every watched filesystem measured now, each statfs on a thread
/// of its own and bounded in time (a hung mount is an error, not a hang);
/// mountinfo unreadable is an error of its own.
fn look_now(cfg: &DiskSensor) -> Vec<(PathBuf, Result<Usage, String>)> {
    match mountinfo() {
        Ok(info) => {
            let w = watched(&cfg.mounts, &cfg.exclude, &info);
            let mut out = super::statfs::look_blocking(&w.kept, LOOK_TIMEOUT);
            out.extend(
                w.unmounted
                    .into_iter()
                    .map(|m| (m, Err("not mounted".to_owned()))),
            );
            out
        }
        Err(e) => vec![(
            PathBuf::from("/proc/self/mountinfo"),
            Err(format!("cannot be read: {e}")),
        )],
    }
}

/// Looks at every watched filesystem each `every`, until `token` is cancelled.
/// Each pass also tells the driver which mounts are watched, so that the
/// conditions of a filesystem gone (unmounted, even while the daemon was not
/// running) end with "no longer watched".
async fn run(cfg: DiskSensor, report: Reporter<Full>, token: CancellationToken) {
    let mut levels = Levels::default();
    let mut said = Said::default();
    let mut looker = Looker::default();
    let mut mountinfo_reads = crate::util::OneAtATime::new("mountinfo");
    let mut tick = tokio::time::interval(cfg.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        let info = mountinfo_reads.call(LOOK_TIMEOUT, mountinfo).await;
        let Some(Ok(info)) = info else {
            said.once(Path::new("/proc/self/mountinfo"), "cannot be read");
            continue;
        };
        let w = watched(&cfg.mounts, &cfg.exclude, &info);
        levels.keep_only(&w.kept);
        for m in &w.unmounted {
            said.once(m, "is not mounted; watched again once it is");
        }
        let now = Utc::now();
        if !report.watching(roster(&w), now, GONE).await {
            return;
        }
        let looks = tokio::select! {
            _ = token.cancelled() => return,
            l = looker.look(&w.kept, LOOK_TIMEOUT.min(cfg.every)) => l,
        };
        for (m, look) in looks {
            let u = match look {
                Look::Measured(u) => u,
                Look::Failed(e) => {
                    said.once(&m, &format!("cannot be measured: {e}"));
                    continue;
                }
                Look::Hung => continue,
            };
            said.clear(&m);
            for (full, state) in levels.observe(&cfg, &m, &u, now) {
                if !report.seen(full, now, state).await {
                    return;
                }
            }
        }
    }
}

/// Why a filesystem's conditions end when it is no longer watched.
const GONE: &str = "no longer mounted, or left out of [sensors.disk]";

/// Every condition the watched mounts can raise: the driver ends the others.
fn roster(w: &Watched) -> Vec<Full> {
    let each = |m: &PathBuf| [Full::Space(m.clone()), Full::Inodes(m.clone())];
    w.kept.iter().flat_map(each).collect()
}

/// Space and inodes of each watched filesystem against their thresholds.
#[derive(Debug, Default)]
struct Levels {
    space: HashMap<PathBuf, Threshold>,
    inodes: HashMap<PathBuf, Threshold>,
}

impl Levels {
    /// Forgets filesystems no longer watched: one gone and back starts afresh.
    fn keep_only(&mut self, kept: &[PathBuf]) {
        self.space.retain(|m, _| kept.contains(m));
        self.inodes.retain(|m, _| kept.contains(m));
    }

    /// What one measurement of `m` says: space, and inodes where it has some.
    fn observe(
        &mut self,
        cfg: &DiskSensor,
        m: &Path,
        u: &Usage,
        now: chrono::DateTime<Utc>,
    ) -> Vec<(Full, ConditionState)> {
        let shown = m.display();
        let detail = format!(
            "{shown} {:.0} % used (warn {} %, critical {} %), {} free",
            u.used_pct,
            cfg.warn_used_pct,
            cfg.critical_used_pct,
            bytes(u.free_bytes)
        );
        let space = self.space.entry(m.to_owned()).or_default();
        let levels = (cfg.warn_used_pct, cfg.critical_used_pct);
        let mut out = vec![(
            Full::Space(m.to_owned()),
            space.observe(u.used_pct, levels, now, detail),
        )];
        if let Some(pct) = u.inodes_pct {
            let warn = cfg.warn_inodes_pct;
            let detail = format!("{shown} {pct:.0} % of inodes used (warn {warn} %)");
            let inodes = self.inodes.entry(m.to_owned()).or_default();
            let state = inodes.observe(pct, (warn, 101), now, detail);
            out.push((Full::Inodes(m.to_owned()), state));
        }
        out
    }
}

/// Problems said once per mount, until it is measured again.
#[derive(Debug, Default)]
struct Said(HashMap<PathBuf, String>);

impl Said {
    fn once(&mut self, m: &Path, what: &str) {
        if self.0.get(m).map(String::as_str) != Some(what) {
            tracing::error!("disk sensor: {} {what}", m.display());
            self.0.insert(m.to_owned(), what.to_owned());
        }
    }

    fn clear(&mut self, m: &Path) {
        self.0.remove(m);
    }
}

