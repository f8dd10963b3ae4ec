//! Free space and inodes per filesystem, by statvfs; the filesystems from
//! /proc/self/mountinfo (pseudo filesystems skipped by type) or the config.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{bytes, Threshold};
use crate::alert::Observation;
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

/// The real filesystems mounted here: mount points from mountinfo, by type.
pub fn real_mounts(mountinfo: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let point = before.split(' ').nth(4).unwrap_or_default();
        let kind = after.split(' ').next().unwrap_or_default();
        if PSEUDO.contains(&kind) || point.is_empty() {
            continue;
        }
        let point = PathBuf::from(point.replace("\\040", " "));
        if !out.contains(&point) {
            out.push(point);
        }
    }
    out
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

/// The mounts `cfg` watches now.
pub fn watched(cfg: &DiskSensor) -> Vec<PathBuf> {
    let mounts = if cfg.mounts.is_empty() {
        real_mounts(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
    } else {
        cfg.mounts.clone()
    };
    mounts
        .into_iter()
        .filter(|m| !cfg.exclude.contains(m))
        .collect()
}

/// Looks at every watched filesystem each `every`, until `token` is cancelled.
pub async fn run(cfg: DiskSensor, out: mpsc::Sender<Observation>, token: CancellationToken) {
    let mut space: HashMap<PathBuf, Threshold> = HashMap::new();
    let mut inodes: HashMap<PathBuf, Threshold> = HashMap::new();
    let mut unreadable: HashMap<PathBuf, bool> = HashMap::new();
    let mut tick = tokio::time::interval(cfg.every);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        for m in watched(&cfg) {
            let u = match usage(&m) {
                Ok(u) => u,
                Err(e) => {
                    // One clear line per mount; the other mounts and sensors go on.
                    if !unreadable.insert(m.clone(), true).unwrap_or(false) {
                        tracing::error!("disk sensor: cannot measure {}: {e}", m.display());
                    }
                    continue;
                }
            };
            unreadable.remove(&m);
            let shown = m.display().to_string();
            let detail = format!(
                "{shown} {:.0} % used (warn {} %, critical {} %), {} free",
                u.used_pct,
                cfg.warn_used_pct,
                cfg.critical_used_pct,
                bytes(u.free_bytes)
            );
            let o = space.entry(m.clone()).or_default().observe(
                &format!("disk:{shown}"),
                &format!("DISK_FULL:{shown}"),
                u.used_pct,
                (cfg.warn_used_pct, cfg.critical_used_pct),
                now,
                detail,
            );
            if out.send(o).await.is_err() {
                return;
            }
            if let Some(pct) = u.inodes_pct {
                let detail = format!(
                    "{shown} {pct:.0} % of inodes used (warn {} %)",
                    cfg.warn_inodes_pct
                );
                let o = inodes.entry(m.clone()).or_default().observe(
                    &format!("inodes:{shown}"),
                    &format!("INODES_FULL:{shown}"),
                    pct,
                    (cfg.warn_inodes_pct, 101),
                    now,
                    detail,
                );
                if out.send(o).await.is_err() {
                    return;
                }
            }
        }
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
            real_mounts(info),
            vec![
                PathBuf::from("/"),
                PathBuf::from("/srv"),
                PathBuf::from("/mnt/my disk")
            ]
        );
    }
}
