//! Secrets (SMTP password, bot token, webhook URL): given inline, as `KEY_file`,
//! or as a systemd credential name; never logged, never shown by `Debug`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

/// A secret value. `Debug` and `Serialize` show only that it is set.
///
/// Outside systemd a credential name cannot be read; such a secret is kept as
/// the name alone (`pending`), which `check-config` accepts with a note and
/// the commands that would use it refuse, saying how to run them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    pending: Option<String>,
}

impl Secret {
    /// The value itself, for the one place that must send it (empty while pending).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The credential name, while it cannot be read (not under systemd).
    pub fn pending(&self) -> Option<&str> {
        self.pending.as_deref()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pending {
            Some(name) => write!(f, "Secret(credential {name:?}, not loaded)"),
            None => f.write_str("Secret(redacted)"),
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(redacted)")
    }
}

/// Where a `KEY_file` value points: a path (has a `/`), or a credential name
/// looked up in `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`);
/// `None` for a credential name outside systemd.
pub fn secret_path(value: &str) -> Option<PathBuf> {
    if value.contains('/') {
        return Some(PathBuf::from(value));
    }
    std::env::var_os("CREDENTIALS_DIRECTORY").map(|dir| Path::new(&dir).join(value))
}

/// A credential that only the service manager can provide.
pub fn pending(name: &str) -> Secret {
    Secret {
        value: String::new(),
        pending: Some(name.to_owned()),
    }
}

/// Reads a secret file; one trailing newline is not part of the secret.
pub fn read_secret(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(inline(value))
}

/// An inline secret.
pub fn inline(value: &str) -> Secret {
    Secret {
        value: value.to_owned(),
        pending: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_serialize_never_show_the_value() {
        let s = inline("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"(redacted)\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_secret_drops_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "abc:def\n").unwrap();
        assert_eq!(read_secret(&p).unwrap().expose(), "abc:def");
        std::fs::write(&p, "").unwrap();
        assert!(read_secret(&p).unwrap_err().ends_with("is empty"));
    }
}
