//! Small helpers shared by every layer: atomic file replacement and error chains.

use std::io::Write;
use std::path::Path;

/// Writes `dir/name` so that it is either the old file or the whole new one,
/// even across a crash: write a temporary file, fsync, rename, fsync the folder.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

/// Whether this user can write `dir`, creating it first if it is missing;
/// creates nothing: a missing folder is judged by its nearest existing parent.
/// The error says which folder and why.
pub fn check_writable(dir: &Path) -> Result<(), String> {
    let mut existing = dir;
    while !existing.exists() {
        existing = existing
            .parent()
            .ok_or_else(|| format!("{}: no parent folder exists", dir.display()))?;
    }
    if !existing.is_dir() {
        return Err(format!("{} is not a folder", existing.display()));
    }
    let probe = existing.join(format!(
        ".connectivity-monitor-probe-{}",
        std::process::id()
    ));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => Err(format!("{} cannot be written: {e}", dir.display())),
        Err(e) => Err(format!(
            "{} cannot be created: {} cannot be written: {e}",
            dir.display(),
            existing.display()
        )),
    }
}

/// An error with its causes, `a: b: c`, skipping a cause whose text the
/// message already holds (lettre and hyper repeat their source in their own).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error, &'static str);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_chain_adds_causes_once() {
        let inner = || std::io::Error::other("no route");
        assert_eq!(
            error_chain(&Outer(inner(), "connect failed")),
            "connect failed: no route"
        );
        assert_eq!(
            error_chain(&Outer(inner(), "connect failed: no route")),
            "connect failed: no route"
        );
    }
}
