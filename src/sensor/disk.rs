//! Free space and inodes per filesystem, by statvfs; the filesystems from
//! /proc/self/mountinfo (pseudo filesystems skipped by type) or the config.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::statfs::{Look, Looker};
use super::{bytes, Threshold, LOOK_TIMEOUT};
use crate::alert::{Observation, Report};
use crate::config::DiskSensor;

/// Filesystem types that hold no data of the box's own: never watched unless listed.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "ramfs",
    "cgroup",
    "cgroup2",
    "overlay",
    "squashfs",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "nsfs",
    "rpc_pipefs",
    "fuse.lxcfs",
    "fuse.portal",
    "iso9660",
    "selinuxfs",
];

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// `major:minor` of the filesystem: the same for every bind mount of it.
    pub device: String,
    /// Its type, e.g. `ext4`, `fuse.sshfs`.
    pub kind: String,
}

/// Every mount in `mountinfo`, in its order.
pub fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
            let (before, after) = line.split_once(" - ")?;
            let mut fields = before.split(' ');
            let device = fields.nth(2)?.to_owned();
            let point = fields.nth(1).filter(|p| !p.is_empty())?;
            Some(Mount {
                point: PathBuf::from(unescape(point)),
                device,
                kind: after.split(' ').next().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\NNN` (octal).
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the disk sensor watches, one mount point per filesystem.
#[derive(Debug, Default, PartialEq)]
pub struct Watched {
    /// Measured, in order.
    pub kept: Vec<PathBuf>,
    /// Left out as the same filesystem as a kept one: (left out, kept).
    pub same: Vec<(PathBuf, PathBuf)>,
    /// Listed in `mounts` but not mounted now.
    pub unmounted: Vec<PathBuf>,
}

/// `points` with every filesystem once (the first mount point of it wins),
/// by the device mountinfo gives: bind mounts are one filesystem.
fn dedupe(all: &[Mount], points: &[PathBuf]) -> Watched {
    let mut w = Watched::default();
    let mut seen: Vec<(&str, &PathBuf)> = Vec::new();
    for p in points {
        // The last mount at a point is the one a path there reaches.
        let Some(m) = all.iter().rev().find(|m| &m.point == p) else {
            w.unmounted.push(p.clone());
            continue;
        };
        match seen.iter().find(|(d, _)| *d == m.device) {
            Some((_, first)) => w.same.push((p.clone(), (*first).clone())),
            None => {
                seen.push((&m.device, p));
                w.kept.push(p.clone());
            }
        }
    }
    w
}

/// One look at a filesystem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Used space as `df` counts it: used ÷ (used + available to users), percent.
    pub used_pct: f64,
    pub free_bytes: u64,
    /// Used inodes, percent; `None` where the filesystem has none to count.
    pub inodes_pct: Option<f64>,
}

/// Measures `path`.
pub fn usage(path: &Path) -> std::io::Result<Usage> {
    let s = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    let frsize = s.fragment_size() as f64;
    let used = (s.blocks() - s.blocks_free()) as f64;
    let avail = s.blocks_available() as f64;
    let used_pct = if used + avail > 0.0 {
        used * 100.0 / (used + avail)
    } else {
        0.0
    };
    let files = s.files() as f64;
    let inodes_pct = (files > 0.0).then(|| (files - s.files_free() as f64) * 100.0 / files);
    Ok(Usage {
        used_pct,
        free_bytes: (avail * frsize) as u64,
        inodes_pct,
    })
}

/// The mounts `cfg` watches, given /proc/self/mountinfo's text: listed ones
/// only while they are mounted, every filesystem once.
pub fn watched(cfg: &DiskSensor, mountinfo: &str) -> Watched {
    let all = mounts(mountinfo);
    let points: Vec<PathBuf> = if cfg.mounts.is_empty() {
        all.iter()
            .filter(|m| !PSEUDO.contains(&m.kind.as_str()))
            .map(|m| m.point.clone())
            .collect()
    } else {
        cfg.mounts.clone()
    };
    let points: Vec<PathBuf> = points
        .into_iter()
        .filter(|m| !cfg.exclude.contains(m))
        .collect();
    dedupe(&all, &points)
}

/// /proc/self/mountinfo now (blocking; it is the kernel's, and never hangs).
pub fn mountinfo() -> std::io::Result<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
}

/// For `once`: every watched filesystem measured now, each statfs on a thread
/// of its own and bounded in time (a hung mount is an error, not a hang);
/// mountinfo unreadable is an error of its own.
pub fn look_now(cfg: &DiskSensor) -> Vec<(PathBuf, Result<Usage, String>)> {
    match mountinfo() {
        Ok(info) => {
            let w = watched(cfg, &info);
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

/// The condition families of this sensor, for the list of what it watches.
const FAMILIES: &[&str] = &["disk:", "inodes:"];

/// Looks at every watched filesystem each `every`, until `token` is cancelled.
/// Each pass also tells the driver which mounts are watched, so that the
/// conditions of a filesystem gone (unmounted, even while the daemon was not
/// running) end with "no longer watched".
pub async fn run(cfg: DiskSensor, out: mpsc::Sender<Report>, token: CancellationToken) {
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
        let w = watched(&cfg, &info);
        levels.keep_only(&w.kept);
        for m in &w.unmounted {
            said.once(m, "is not mounted; watched again once it is");
        }
        let now = Utc::now();
        if out.send(roster(&w.kept, now)).await.is_err() {
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
            for o in levels.observe(&cfg, &m, &u, now) {
                if out.send(o.into()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Every condition id the watched mounts can raise: the driver ends the others.
fn roster(kept: &[PathBuf], now: chrono::DateTime<Utc>) -> Report {
    let ids = kept
        .iter()
        .flat_map(|m| FAMILIES.iter().map(move |f| format!("{f}{}", m.display())))
        .collect();
    Report::Watching {
        families: FAMILIES,
        ids,
        now,
        why: "no longer mounted, or left out of [sensors.disk]".into(),
    }
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
    ) -> Vec<Observation> {
        let shown = m.display().to_string();
        let detail = format!(
            "{shown} {:.0} % used (warn {} %, critical {} %), {} free",
            u.used_pct,
            cfg.warn_used_pct,
            cfg.critical_used_pct,
            bytes(u.free_bytes)
        );
        let mut out = vec![self.space.entry(m.to_owned()).or_default().observe(
            &format!("disk:{shown}"),
            &format!("DISK_FULL:{shown}"),
            u.used_pct,
            (cfg.warn_used_pct, cfg.critical_used_pct),
            now,
            detail,
        )];
        if let Some(pct) = u.inodes_pct {
            let detail = format!(
                "{shown} {pct:.0} % of inodes used (warn {} %)",
                cfg.warn_inodes_pct
            );
            out.push(self.inodes.entry(m.to_owned()).or_default().observe(
                &format!("inodes:{shown}"),
                &format!("INODES_FULL:{shown}"),
                pct,
                (cfg.warn_inodes_pct, 101),
                now,
                detail,
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_filesystems_are_skipped_by_type() {
        let info = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw
24 22 0:22 / /run rw,nosuid shared:2 - tmpfs tmpfs rw,size=1024k
25 22 8:2 / /srv rw,relatime shared:3 - xfs /dev/sda2 rw
26 22 0:40 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw
27 22 8:3 / /mnt/my\\040disk rw - ext4 /dev/sda3 rw
";
        assert_eq!(
            watched(&cfg(&[]), info).kept,
            vec![
                PathBuf::from("/"),
                PathBuf::from("/srv"),
                PathBuf::from("/mnt/my disk")
            ]
        );
    }

    fn cfg(mounts: &[&str]) -> DiskSensor {
        DiskSensor {
            every: std::time::Duration::from_secs(1),
            warn_used_pct: 85,
            critical_used_pct: 95,
            warn_inodes_pct: 90,
            mounts: mounts.iter().map(PathBuf::from).collect(),
            exclude: Vec::new(),
            repeat_every: None,
            maintenance: Vec::new(),
        }
    }

    const BINDS: &str = "\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 252:0 /srv/a /srv/a rw,relatime shared:1 - ext4 /dev/vda rw
31 22 252:0 /var/lib/x /var/lib/x rw,relatime shared:1 - ext4 /dev/vda rw
32 22 252:0 /home /home rw,relatime shared:1 - ext4 /dev/vda rw
33 22 8:17 / /data rw,relatime shared:1 - xfs /dev/sdb1 rw
";

    #[test]
    fn one_filesystem_bind_mounted_four_times_is_one_watch() {
        // Regression: four WARNINGs for one /dev/vda.
        let all = watched(&cfg(&[]), BINDS);
        assert_eq!(all.kept, [PathBuf::from("/"), PathBuf::from("/data")]);
        assert_eq!(all.same.len(), 3);
        assert!(all.same.iter().all(|(_, first)| first == Path::new("/")));
        let listed = watched(&cfg(&["/home", "/srv/a", "/data"]), BINDS);
        assert_eq!(
            listed.kept,
            [PathBuf::from("/home"), PathBuf::from("/data")]
        );
        assert_eq!(
            listed.same,
            [(PathBuf::from("/srv/a"), PathBuf::from("/home"))]
        );
    }

    #[test]
    fn a_listed_mount_that_is_not_mounted_is_not_measured_through_its_parent() {
        // Regression: an unmounted /mnt/usb was measured as the root
        // filesystem under it, so its DISK_FULL never ended.
        let w = watched(&cfg(&["/data", "/mnt/usb"]), BINDS);
        assert_eq!(w.kept, [PathBuf::from("/data")]);
        assert_eq!(w.unmounted, [PathBuf::from("/mnt/usb")]);
    }

    #[test]
    fn mount_points_are_unescaped_as_mountinfo_writes_them() {
        let m = mounts("40 22 0:50 / /mnt/a\\040b\\134c\\011d rw - ext4 /dev/x rw\n");
        assert_eq!(m[0].point, PathBuf::from("/mnt/a b\\c\td"));
        assert_eq!(m[0].device, "0:50");
        assert_eq!(unescape("/no\\escape\\09"), "/no\\escape\\09");
    }
}
