//! The persisted state: the machine's state plus outage rows not yet written,
//! saved atomically (write, fsync, rename, fsync folder).

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
            version: 1,
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
    /// The file exists but is not valid state.
    #[error("state file {} is not valid: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Loads the state in `dir`; a missing file is a fresh start.
pub fn load(dir: &Path) -> Result<Persisted, PersistError> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| PersistError::Corrupt { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Persisted::default()),
        Err(source) => Err(PersistError::Io { path, source }),
    }
}

/// Saves `state` in `dir` atomically, creating the folder if needed.
pub fn save(dir: &Path, state: &Persisted) -> Result<(), PersistError> {
    let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
    write_atomic(dir, STATE_FILE, &bytes).map_err(|source| PersistError::Io {
        path: dir.join(STATE_FILE),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        p.machine.outage = Some(super::super::machine::OpenOutage {
            start: at,
            cause: crate::monitor::Layer::Wan,
            detail: "d".into(),
            cause_changes: Vec::new(),
            gaps: Vec::new(),
            good: None,
            simulated: false,
            maintenance: false,
        });
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
    fn corrupt_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("state.json is not valid"), "{e}");
    }
}
