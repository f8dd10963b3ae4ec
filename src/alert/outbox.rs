//! The durable outbox: every notification is on disk (fsynced) before the
//! first attempt to send it, one folder per channel, one small JSON file per
//! message, named so that sorting gives the order they were queued in.
//!
//! Atomic rename of a small file suffices here: messages are few (a handful
//! per outage), written once and deleted once, and each is independent. An
//! embedded database (redb) would add a dependency and a file format for no
//! gain in safety.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Message;
use crate::util::write_atomic;

/// The outbox under `state_dir/outbox`.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    /// Orders messages queued within the same nanosecond.
    seq: AtomicU64,
}

impl Outbox {
    /// The outbox in `state_dir`.
    pub fn new(state_dir: &Path) -> Outbox {
        Outbox {
            dir: state_dir.join("outbox"),
            seq: AtomicU64::new(0),
        }
    }

    fn channel_dir(&self, channel: &str) -> PathBuf {
        self.dir.join(channel)
    }

    /// Queues `msg` for `channel`; on disk when this returns.
    pub fn put(&self, channel: &str, msg: &Message) -> std::io::Result<PathBuf> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let nanos = msg.created.timestamp_nanos_opt().unwrap_or_default();
        let safe_id: String = msg
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{nanos:020}-{seq:06}-{safe_id}.json");
        let bytes = serde_json::to_vec_pretty(msg).expect("message serialises");
        let dir = self.channel_dir(channel);
        write_atomic(&dir, &name, &bytes)?;
        Ok(dir.join(name))
    }

    /// The messages waiting for `channel`, oldest first. An unreadable file is
    /// moved aside with an error, never silently dropped.
    pub fn pending(&self, channel: &str) -> Vec<(PathBuf, Message)> {
        let Ok(entries) = std::fs::read_dir(self.channel_dir(channel)) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .filter(|p| {
                // Only regular files are messages; anything else (a folder, a
                // FIFO) is set aside once, not retried at every pass.
                let regular = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
                if !regular {
                    tracing::error!(
                        "outbox entry {} is not a regular file; moved to outbox/odd",
                        p.display()
                    );
                    self.set_aside(p, "odd");
                }
                regular
            })
            .filter_map(|p| {
                match std::fs::read(&p).map(|b| serde_json::from_slice::<Message>(&b)) {
                    Ok(Ok(m)) => Some((p, m)),
                    Ok(Err(e)) => {
                        tracing::error!(
                            "outbox file {} is not a message ({e}); moved to outbox/bad",
                            p.display()
                        );
                        self.set_aside(&p, "bad");
                        None
                    }
                    Err(e) => {
                        tracing::error!("cannot read outbox file {}: {e}", p.display());
                        None
                    }
                }
            })
            .collect()
    }

    /// Removes a delivered message.
    pub fn done(&self, path: &Path) {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::error!(
                "cannot remove delivered outbox file {}: {e}; it may be sent again",
                path.display()
            );
        }
    }

    /// Moves a message out of the queue into `outbox/<what>/`, kept for a person to look at.
    pub fn set_aside(&self, path: &Path, what: &str) {
        let dir = self.dir.join(what);
        let moved = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::rename(path, dir.join(path.file_name().unwrap_or_default())));
        if let Err(e) = moved {
            tracing::error!("cannot move {} to {}: {e}", path.display(), dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn messages_come_back_in_order_and_survive_a_new_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut a = Message::test(t);
        a.id = "a".into();
        let mut b = a.clone();
        b.id = "b".into();
        let out = Outbox::new(dir.path());
        out.put("telegram", &a).unwrap();
        out.put("telegram", &b).unwrap();
        // A restart: a new Outbox on the same folder sees both, oldest first.
        let again = Outbox::new(dir.path());
        let pending = again.pending("telegram");
        assert_eq!(
            pending
                .iter()
                .map(|(_, m)| m.id.as_str())
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        again.done(&pending[0].0);
        assert_eq!(again.pending("telegram").len(), 1);
        assert!(again.pending("teams").is_empty());
    }

    #[test]
    fn a_folder_in_the_outbox_is_set_aside_once() {
        // Regression: it was retried forever, with an error at every pass.
        let dir = tempfile::tempdir().unwrap();
        let out = Outbox::new(dir.path());
        std::fs::create_dir_all(dir.path().join("outbox/teams/2-x.json")).unwrap();
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        out.put("teams", &Message::test(t)).unwrap();
        assert_eq!(out.pending("teams").len(), 1, "the message still goes");
        assert!(dir.path().join("outbox/odd/2-x.json").is_dir());
        assert_eq!(
            out.pending("teams").len(),
            1,
            "and the folder is gone from the queue"
        );
    }

    #[test]
    fn a_corrupt_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let out = Outbox::new(dir.path());
        std::fs::create_dir_all(dir.path().join("outbox/teams")).unwrap();
        std::fs::write(dir.path().join("outbox/teams/1-x.json"), b"{").unwrap();
        assert!(out.pending("teams").is_empty());
        assert!(dir.path().join("outbox/bad/1-x.json").exists());
    }
}
