//! The persisted state: the machine's state plus outage rows not yet written,
//! saved atomically (write, fsync, rename, fsync folder).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::machine::{MachineState, OutageRecord};
use crate::util::write_atomic;

/// File name inside `state_dir`.
pub const STATE_FILE: &str = "state.json";

/// Everything that must survive a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persisted {
    /// Format version, for future changes.
    pub version: u32,
    /// The outage machine.
    pub machine: MachineState,
    /// Finished outages whose CSV row could not be written yet.
    pub unwritten: Vec<OutageRecord>,
    /// The open outage's alert progress as versions before alerts.json kept
    /// it here: read once and handed to the alert driver, never written back.
    #[serde(default, rename = "alerting", skip_serializing)]
    pub legacy_alerting: Option<serde_json::Value>,
}

impl Default for Persisted {
    fn default() -> Persisted {
        Persisted {
            version: CURRENT,
            machine: MachineState::default(),
            unwritten: Vec::new(),
            legacy_alerting: None,
        }
    }
}

/// Errors reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// An I/O error on `path`.
    #[error("state file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The path is not a regular file (a FIFO would hang the start-up).
    #[error("state file {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    /// Written by a newer version, in a format this one cannot know.
    #[error("state file {} has format version {found}, newer than this program reads ({CURRENT}); it was written by a newer connectivity-monitor", path.display())]
    Newer { path: PathBuf, found: u32 },
    /// The file exists but is not valid state.
    #[error("state file {} is not valid: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The format version this program writes and reads.
pub const CURRENT: u32 = 1;

/// Loads the state in `dir`; a missing file is a fresh start.
pub fn load(dir: &Path) -> Result<Persisted, PersistError> {
    let path = dir.join(STATE_FILE);
    // The type first, without opening: opening a FIFO would block for ever.
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Persisted::default()),
        Err(source) => return Err(PersistError::Io { path, source }),
        Ok(m) if !m.is_file() => return Err(PersistError::NotAFile { path }),
        Ok(_) => {}
    }
    let bytes = std::fs::read(&path).map_err(|source| PersistError::Io {
        path: path.clone(),
        source,
    })?;
    let p: Persisted = serde_json::from_slice(&bytes).map_err(|source| PersistError::Corrupt {
        path: path.clone(),
        source,
    })?;
    if p.version > CURRENT {
        return Err(PersistError::Newer {
            path,
            found: p.version,
        });
    }
    Ok(p)
}

/// Saves `state` in `dir` atomically, creating the folder if needed.
pub fn save(dir: &Path, state: &Persisted) -> Result<(), PersistError> {
    let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
    write_atomic(dir, STATE_FILE, &bytes).map_err(|source| PersistError::Io {
        path: dir.join(STATE_FILE),
        source,
    })
}

/// The routers proven real, shared by the daemon and `once` (which must not
/// write `state.json` under a running daemon): a JSON list of addresses.
pub const ROUTERS_FILE: &str = "routers.json";

/// The routers `dir` holds as proven; none when the file is missing or unreadable.
pub fn load_routers(dir: &Path) -> BTreeSet<IpAddr> {
    crate::util::read_regular(&dir.join(ROUTERS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Adds `proven` to the routers `dir` holds; writes only when that adds one.
/// Both writers only ever add, so the worst a race can do is drop one
/// addition, which the next proof puts back.
pub fn add_routers(dir: &Path, proven: &BTreeSet<IpAddr>) -> std::io::Result<()> {
    let mut known = load_routers(dir);
    if proven.is_subset(&known) {
        return Ok(());
    }
    known.extend(proven);
    let bytes = serde_json::to_vec(&known).expect("addresses serialise");
    write_atomic(dir, ROUTERS_FILE, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proven_routers_are_only_ever_added() {
        let dir = tempfile::tempdir().unwrap();
        let set =
            |a: &[&str]| -> BTreeSet<IpAddr> { a.iter().map(|s| s.parse().unwrap()).collect() };
        assert!(load_routers(dir.path()).is_empty());
        add_routers(dir.path(), &set(&["10.0.2.2"])).unwrap();
        add_routers(dir.path(), &set(&["10.0.1.1"])).unwrap();
        assert_eq!(load_routers(dir.path()), set(&["10.0.1.1", "10.0.2.2"]));
    }

    #[test]
    fn missing_file_is_fresh_start_and_round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), Persisted::default());
        let mut p = Persisted::default();
        p.machine.last_check = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        save(dir.path(), &p).unwrap();
        assert_eq!(load(dir.path()).unwrap(), p);
    }

    #[test]
    fn causes_are_stored_by_their_documented_names_and_old_names_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut p = Persisted::default();
        p.machine.outage = Some(super::super::machine::OpenOutage::new(
            at,
            crate::monitor::Layer::Wan,
            "d".into(),
            false,
        ));
        save(dir.path(), &p).unwrap();
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(text.contains("\"cause\": \"WAN_DOWN\""), "{text}");
        assert!(!text.contains("\"Wan\""), "{text}");
        // A file written by an earlier version, with the variant name and the
        // outage's alerting beside the machine.
        let old = text.replace("\"WAN_DOWN\"", "\"Wan\"").replacen(
            "\"unwritten\"",
            "\"alerting\": {\"since\": \"2023-11-14T22:13:20Z\", \"raised\": \"Warning\"},\n  \"unwritten\"",
            1,
        );
        std::fs::write(dir.path().join(STATE_FILE), old).unwrap();
        let back = load(dir.path()).unwrap();
        assert_eq!(back.machine, p.machine);
        assert!(
            back.legacy_alerting.is_some(),
            "old alerting is handed on once"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_opening_it() {
        // Regression: a FIFO at state.json hung the start-up with no log and no READY.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.ends_with("state.json is not a regular file"), "{e}");
    }

    #[test]
    fn a_state_from_a_newer_version_is_refused_clearly() {
        // Regression: "version": 99 was accepted silently.
        let dir = tempfile::tempdir().unwrap();
        let p = Persisted {
            version: 99,
            ..Persisted::default()
        };
        save(dir.path(), &p).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("has format version 99, newer than this program reads (1)"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("state.json is not valid"), "{e}");
    }
}
