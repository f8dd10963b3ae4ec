//! Which filesystems the disk sensor watches: the mounts of
//! /proc/self/mountinfo (pseudo filesystems skipped by type) or those the
//! config lists, each filesystem once however often it is bind-mounted.

use std::path::PathBuf;

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

/// The mounts watched, given /proc/self/mountinfo's text: those `listed`
/// (every real filesystem when none is) while they are mounted, but not
/// those in `exclude`, every filesystem once.
pub fn watched(listed: &[PathBuf], exclude: &[PathBuf], mountinfo: &str) -> Watched {
    let all = mounts(mountinfo);
    let points: Vec<PathBuf> = if listed.is_empty() {
        all.iter()
            .filter(|m| !PSEUDO.contains(&m.kind.as_str()))
            .map(|m| m.point.clone())
            .collect()
    } else {
        listed.to_vec()
    };
    let points: Vec<PathBuf> = points
        .into_iter()
        .filter(|m| !exclude.contains(m))
        .collect();
    dedupe(&all, &points)
}

/// /proc/self/mountinfo now (blocking; it is the kernel's, and never hangs).
pub fn mountinfo() -> std::io::Result<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

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
            watch(&[], info).kept,
            vec![
                PathBuf::from("/"),
                PathBuf::from("/srv"),
                PathBuf::from("/mnt/my disk")
            ]
        );
    }

    /// What is watched with `listed` mounts and nothing excluded.
    fn watch(listed: &[&str], info: &str) -> Watched {
        let listed: Vec<PathBuf> = listed.iter().map(PathBuf::from).collect();
        watched(&listed, &[], info)
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
        let all = watch(&[], BINDS);
        assert_eq!(all.kept, [PathBuf::from("/"), PathBuf::from("/data")]);
        assert_eq!(all.same.len(), 3);
        assert!(all.same.iter().all(|(_, first)| first == Path::new("/")));
        let listed = watch(&["/home", "/srv/a", "/data"], BINDS);
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
        let w = watch(&["/data", "/mnt/usb"], BINDS);
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
