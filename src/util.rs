//! Small helpers shared by every layer: atomic file replacement, setting a bad
//! file aside, backoff, blocking calls off the runtime ([`OneAtATime`]), error
//! chains, and the allocator's footprint ([`release_free_memory`], [`two_heaps`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes `dir/name` so that it is either the old file or the whole new one,
/// even across a crash: write a temporary file, fsync, rename, fsync the folder.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, dir.join(name)));
    if let Err(e) = written {
        // A full disk must not keep what little is left in a torn temporary file.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

/// Reads `path` only if it is a regular file: opening a FIFO would block for
/// ever, and a directory or device is no state file.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    std::fs::read(path)
}

/// Moves `path` aside to `path.WHY-YYYYMMDDTHHMMSS` (local time), never over an
/// earlier one: a second file set aside within the same second gets `-2`, `-3`…
/// Returns where it went. A file set aside is kept for a person to look at.
pub fn set_aside(path: &Path, why: &str) -> std::io::Result<PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S");
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{why}-{stamp}"));
    let first = path.with_file_name(&name);
    let mut aside = first.clone();
    let mut n = 1;
    while std::fs::symlink_metadata(&aside).is_ok() {
        n += 1;
        let mut numbered = name.clone();
        numbered.push(format!("-{n}"));
        aside = path.with_file_name(numbered);
    }
    std::fs::rename(path, &aside)?;
    Ok(aside)
}

/// The wait before the next try of something that failed: doubling from
/// `first` up to `max`, unless the other side said how long; reset by a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `first`, doubles up to `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait after a failure: `told` if the other side said, else the next doubling.
    pub fn failed(&mut self, told: Option<Duration>) -> Duration {
        let wait = told.unwrap_or(self.next);
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// A success: the next failure waits `first` again.
    pub fn succeeded(&mut self) {
        self.next = self.first;
    }
}

/// A blocking call that runs on a detached thread of its own and may outlive
/// one wait: while it has not answered, a new call waits for the old one
/// rather than starting another, so a path that hangs holds one thread, not
/// one per look.
#[derive(Debug)]
pub struct OneAtATime<T> {
    name: &'static str,
    waiting: Option<tokio::sync::oneshot::Receiver<T>>,
}

impl<T: Send + 'static> OneAtATime<T> {
    /// Calls named `name` in thread names and errors.
    pub fn new(name: &'static str) -> OneAtATime<T> {
        OneAtATime {
            name,
            waiting: None,
        }
    }

    /// The result of `f` (or of the earlier call still running, `f` then
    /// unused), or `None` if it has not returned within `limit`.
    pub async fn call(
        &mut self,
        limit: Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let rx = match self.waiting.take() {
            Some(rx) => rx,
            None => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let spawned = std::thread::Builder::new()
                    .name(self.name.to_owned())
                    .spawn(move || {
                        let _ = tx.send(f());
                    });
                if let Err(e) = spawned {
                    tracing::error!("cannot start a thread for {}: {e}", self.name);
                    return None;
                }
                rx
            }
        };
        let mut rx = rx;
        match tokio::time::timeout(limit, &mut rx).await {
            Ok(r) => r.ok(),
            Err(_) => {
                self.waiting = Some(rx);
                None
            }
        }
    }
}

/// Appends `bytes` to `file` whole or not at all: a write or fsync that fails
/// part-way (a full disk) is cut back to the length before, so that a retry
/// neither leaves a torn line nor writes one twice.
pub fn append_whole(file: &mut std::fs::File, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let before = file.metadata()?.len();
    let written = file
        .write_all(bytes)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
    if let Err(e) = written {
        if let Err(cut) = file.set_len(before) {
            tracing::error!("cannot cut a failed write back to {before} bytes: {cut}");
        }
        return Err(e);
    }
    Ok(())
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

/// `url` fit to show anywhere: a user name, password and every query value
/// replaced by `redacted` (they can be credentials: `https://u:p@host/?token=…`).
pub fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() {
        let _ = u.set_username("redacted");
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("redacted"));
    }
    if u.query().is_some() {
        let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        u.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|k| (k.as_str(), "redacted")));
    }
    u.to_string()
}

/// `text` with every URL in it redacted as [`redact_url`] does: for error
/// messages and anything else that may quote a URL. The one place where URL
/// secrets are taken out, used by every output.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The URL starts at its scheme: the letters just before "://".
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '`'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        let candidate = &rest[start..end];
        match url::Url::parse(candidate) {
            Ok(u) if start < at => out.push_str(&redact_url(&u)),
            _ => out.push_str(candidate),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// This machine's name, as messages and MQTT topics show it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into())
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

/// Gives the free pages glibc's allocator holds back to the system, in the
/// heap of every thread. glibc returns memory only from the top of a heap,
/// and keeps the heap of a thread that ended, as it is, for the next thread
/// started: the config file's parse tree (2.3 MB at its peak with a
/// thousand targets, parsed on a scratch thread) stayed resident in whichever
/// long-lived thread came next. Called after each load of the config and
/// once the daemon has started. It takes each thread's heap lock in turn,
/// detection's too: a short pause of that thread, at start and at a reload.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() {
    // SAFETY: malloc_trim takes no pointer and changes only the allocator's
    // own state, under the allocator's locks; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators give free memory back themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {
    // Nothing held to give back.
}

/// Caps glibc's allocator at two heaps for all threads. By default it gives
/// threads heaps of their own as they meet on its lock (up to eight per
/// core), and each keeps the pages its thread freed for that thread alone:
/// the daemon's seven threads, most asleep, held about half a megabyte so.
/// One heap for all is worse: the config's parse tree, built on a scratch
/// thread and freed, then leaves holes among what lives on (peak RSS at
/// 1,000 targets 9.2 MiB against 7.9 with two). Each thread keeps a small
/// cache of freed blocks of its own, so the lock is rarely taken; no thread
/// here allocates in a hot loop. Called first thing, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn two_heaps() {
    // One who set the allocator's own variable knows better.
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt takes no pointer and changes only the allocator's own
    // settings, under its lock; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Other allocators choose their heaps themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn two_heaps() {
    // Nothing to set.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_regular_refuses_a_fifo_and_a_folder_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ssh.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(read_regular(&fifo).is_err(), "a FIFO");
        assert!(read_regular(dir.path()).is_err(), "a folder");
        let file = dir.path().join("alerts.json");
        std::fs::write(&file, b"{}").unwrap();
        assert_eq!(read_regular(&file).unwrap(), b"{}");
    }

    #[test]
    fn set_aside_keeps_every_earlier_copy() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alerts.json");
        let mut aside = Vec::new();
        for body in ["one", "two", "three"] {
            std::fs::write(&file, body).unwrap();
            aside.push(set_aside(&file, "bad").unwrap());
        }
        assert!(!file.exists());
        let kept: Vec<String> = aside
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(kept, ["one", "two", "three"], "none overwritten: {aside:?}");
        let name = aside[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("alerts.json.bad-20"), "{name}");
    }

    #[test]
    fn backoff_doubles_to_its_cap_honours_the_other_side_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(300));
        let waits: Vec<u64> = (0..10).map(|_| b.failed(None).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(
            b.failed(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        b.succeeded();
        assert_eq!(b.failed(None), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_call_that_hangs_holds_one_thread_not_the_caller() {
        let (release, hang) = std::sync::mpsc::channel::<u32>();
        let mut call = OneAtATime::new("hangs");
        let started = std::time::Instant::now();
        let limit = Duration::from_millis(100);
        assert_eq!(call.call(limit, move || hang.recv().unwrap()).await, None);
        // Asked again while it hangs: no second thread, the new call unused.
        assert_eq!(call.call(limit, || unreachable!("not started")).await, None);
        assert!(started.elapsed() < Duration::from_secs(2));
        release.send(7).unwrap();
        assert_eq!(
            call.call(Duration::from_secs(5), || 0).await,
            Some(7),
            "the old answer"
        );
        assert_eq!(
            call.call(Duration::from_secs(5), || 8).await,
            Some(8),
            "then afresh"
        );
    }

    #[test]
    fn urls_lose_their_credentials_wherever_they_stand() {
        let u = url::Url::parse("https://bob:hunter2@example.com/p?token=abc&x=1#f").unwrap();
        assert_eq!(
            redact_url(&u),
            "https://redacted:redacted@example.com/p?token=redacted&x=redacted#f"
        );
        assert_eq!(
            redact("error sending request for url (http://u:pw@10.0.0.1:81/?token=s3cret): refused"),
            "error sending request for url (http://redacted:redacted@10.0.0.1:81/?token=redacted): refused"
        );
        assert_eq!(redact("no url here: a://"), "no url here: a://");
        assert_eq!(
            redact("plain https://example.com/ ok"),
            "plain https://example.com/ ok"
        );
    }

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
