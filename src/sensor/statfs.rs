//! statvfs off the runtime thread, bounded in time, one call in flight per
//! mount. A filesystem whose statfs never returns (a hung NFS, CIFS or FUSE
//! server) holds one thread of its own, is reported as hung once, and is
//! skipped until it answers; the other mounts and every check go on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// What one look at a mount gave.
#[derive(Debug)]
pub enum Look {
    /// It answered.
    Measured(Usage),
    /// It answered with an error.
    Failed(std::io::Error),
    /// It has not answered within the limit (or an earlier call still has not).
    Hung,
}

/// The mounts being measured, across passes.
#[derive(Debug, Default)]
pub struct Looker {
    /// Mounts whose statvfs has not returned yet; never asked twice at once.
    busy: Arc<Mutex<HashSet<PathBuf>>>,
    /// Mounts said to be hung (said once, until they answer).
    hung: HashSet<PathBuf>,
}

impl Looker {
    /// Measures `mounts` at once, each on a thread of its own, waiting `limit`
    /// at most for all; says once when one hangs and when it answers again.
    pub async fn look(&mut self, mounts: &[PathBuf], limit: Duration) -> Vec<(PathBuf, Look)> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut asked = Vec::with_capacity(mounts.len());
        for m in mounts {
            asked.push((m.clone(), self.ask(m)));
        }
        let mut out = Vec::with_capacity(asked.len());
        for (m, rx) in asked {
            let look = match rx {
                Some(rx) => match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(Ok(u))) => Look::Measured(u),
                    Ok(Ok(Err(e))) => Look::Failed(e),
                    Ok(Err(_)) => Look::Failed(std::io::Error::other("the measuring thread ended")),
                    Err(_) => Look::Hung,
                },
                None => Look::Hung,
            };
            self.say(&m, &look, limit);
            out.push((m, look));
        }
        out
    }

    /// Starts statvfs of `m` on a thread, unless one is still in flight.
    fn ask(&self, m: &Path) -> Option<tokio::sync::oneshot::Receiver<std::io::Result<Usage>>> {
        if !self.busy.lock().expect("busy lock").insert(m.to_owned()) {
            return None;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (busy, path) = (Arc::clone(&self.busy), m.to_owned());
        let spawned = std::thread::Builder::new()
            .name("statvfs".into())
            .spawn(move || {
                let r = usage(&path);
                busy.lock().expect("busy lock").remove(&path);
                let _ = tx.send(r);
            });
        match spawned {
            Ok(_) => Some(rx),
            Err(e) => {
                self.busy.lock().expect("busy lock").remove(m);
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(Err(e));
                Some(rx)
            }
        }
    }

    fn say(&mut self, m: &Path, look: &Look, limit: Duration) {
        match look {
            Look::Hung => {
                if self.hung.insert(m.to_owned()) {
                    tracing::error!(
                        "disk sensor: {} has not answered statfs within {} (a hung network or FUSE filesystem?); \
                         it is skipped until it answers, and the checks go on",
                        m.display(),
                        crate::timefmt::spelled(limit)
                    );
                }
            }
            _ => {
                if self.hung.remove(m) {
                    tracing::info!("disk sensor: {} answers statfs again", m.display());
                }
            }
        }
    }
}

/// For `once`: each mount measured on a thread of its own, waiting `limit` at
/// most for all; a mount that does not answer in time is `Err("…did not answer…")`.
pub fn look_blocking(mounts: &[PathBuf], limit: Duration) -> Vec<(PathBuf, Result<Usage, String>)> {
    let deadline = std::time::Instant::now() + limit;
    let asked: Vec<_> = mounts
        .iter()
        .map(|m| {
            let (tx, rx) = std::sync::mpsc::channel();
            let path = m.clone();
            let _ = std::thread::Builder::new()
                .name("statvfs".into())
                .spawn(move || {
                    let _ = tx.send(usage(&path));
                });
            (m.clone(), rx)
        })
        .collect();
    asked
        .into_iter()
        .map(|(m, rx)| {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let r = match rx.recv_timeout(left) {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "statfs did not answer within {} (hung?)",
                    crate::timefmt::spelled(limit)
                )),
            };
            (m, r)
        })
        .collect()
}
