//! A hostile box for the tests: small filesystems that fill up or go away,
//! and a FUSE mount whose statfs never answers (tests/net/hangfs.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::needs::Need;
use super::{Proc, BIN};

/// A tmpfs of some KiB mounted by the test (root), unmounted when dropped.
pub struct Tmpfs {
    pub at: PathBuf,
    _holder: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one (root only, as namespaces are).
    pub fn mount(kib: u32) -> Tmpfs {
        assert!(Need::Root.met(), "mounting a tmpfs needs root");
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("fs");
        std::fs::create_dir(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(ok.success(), "mount tmpfs");
        Tmpfs { at, _holder: dir }
    }

    /// Makes the filesystem `pct` % full with one file.
    pub fn fill_to(&self, pct: u64) {
        let (total, _) = df(&self.at);
        let _ = std::fs::remove_file(self.at.join("fill"));
        let bytes = total * pct / 100;
        std::fs::write(self.at.join("fill"), vec![b'x'; bytes as usize]).unwrap();
    }

    /// Fills the filesystem to the last byte; returns the filler to delete later.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.at.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = [b'x'; 512];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
        // Whatever fits of a smaller write, so not even a short row has room.
        while f.write_all(b"x").is_ok() {}
        filler
    }

    /// Unmounts it now (it stays unmounted).
    pub fn umount(&self) {
        let ok = Command::new("umount").arg(&self.at).status().unwrap();
        assert!(ok.success(), "umount {}", self.at.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg(&self.at)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// (total bytes, free bytes) of the filesystem at `path`, by `df`.
pub fn df(path: &Path) -> (u64, u64) {
    let out = Command::new("df")
        .args(["-B1", "--output=size,avail"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

/// The daemon (`run -c cfg`) in a mount namespace of its own, in which
/// `point` is a FUSE mount whose statfs never answers; the mount goes with
/// the daemon. Waits until it is mounted.
pub fn daemon_beside_hung_fuse(point: &Path, cfg: &Path) -> Proc {
    assert!(
        Need::File("/dev/fuse").met(),
        "/dev/fuse is missing (the kernel's fuse module)"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/net/hangfs.py");
    let d = Proc::spawn_in_current(
        "daemon",
        &format!(
            "unshare --mount --propagation private python3 -u {} {} -- {BIN} run -c {}",
            script.display(),
            point.display(),
            cfg.display()
        ),
        &[("RUST_LOG", "connectivity_monitor=debug")],
    );
    d.wait_for("hangfs: mounted", std::time::Duration::from_secs(20));
    d
}

/// The names of the threads of process `pid`.
pub fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}
