//! Where the SSH sensor reads failures: the systemd journal through
//! `journalctl -o json --after-cursor` every two seconds (a child process: it
//! reads only the new entries, survives journal rotation, and needs no
//! `unsafe`), or a log file (`log_file`, e.g. /var/log/auth.log)
//! followed across rotation. Each read is one [`Batch`]; reading and parsing
//! run off the runtime thread, as bytes. A source that cannot be read is said
//! once, at start, with why.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ssh::failure::{parse, Failure};

/// At most this much of a log file is read at once; the rest at the next look.
const MAX_READ: u64 = 8 << 20;
/// Advice when the journal cannot be read.
const INSTEAD: &str = "set sensors.ssh.log_file to read a log file instead";

/// The failures of one read, and the journal cursor after it.
#[derive(Debug, Default)]
pub struct Batch {
    pub cursor: Option<String>,
    pub failures: Vec<Failure>,
}

/// Reads `log_file`, else the journal (entries of the last `window` at
/// first, without a cursor), until `token` is cancelled, sending a batch per read.
pub async fn follow(
    (log_file, window): (Option<PathBuf>, Duration),
    cursor: Option<String>,
    out: mpsc::Sender<Batch>,
    token: CancellationToken,
) {
    match log_file {
        Some(file) => follow_file(file, out, token).await,
        None => follow_journal(cursor, window, out, token).await,
    }
}

/// Why `log_file`, else the journal, cannot be read now, if it cannot
/// (blocking: `once` calls it, the daemon at start off the runtime thread).
pub fn problem(log_file: Option<&Path>) -> Option<String> {
    match log_file {
        Some(file) => problem_of_file(file),
        None => journal_problem(),
    }
}

fn problem_of_file(file: &Path) -> Option<String> {
    match std::fs::metadata(file) {
        Err(e) => Some(format!("cannot read {}: {e}", file.display())),
        Ok(m) if !m.is_file() => Some(format!("{} is not a regular file", file.display())),
        Ok(_) => std::fs::File::open(file)
            .err()
            .map(|e| format!("cannot read {}: {e}", file.display())),
    }
}

fn journal_problem() -> Option<String> {
    let dirs = ["/run/log/journal", "/var/log/journal"];
    let any_dir = dirs.iter().any(|d| Path::new(d).is_dir());
    let run = std::process::Command::new("journalctl")
        .args(["-n", "0", "--no-pager"])
        .stdin(std::process::Stdio::null())
        .output()
        .map(|o| {
            let status = (o.status.success(), o.status.to_string());
            (status, String::from_utf8_lossy(&o.stderr).into_owned())
        })
        .map_err(|e| e.to_string());
    judge_journal(any_dir, run)
}

/// Why the journal cannot be read, from whether a journal folder exists and
/// what `journalctl -n 0` did: ((succeeded, its status), its stderr).
fn judge_journal(any_dir: bool, run: Result<((bool, String), String), String>) -> Option<String> {
    let none_here = "there is no journal here (is systemd-journald running?)";
    if !any_dir {
        return Some(format!(
            "cannot read the journal: {none_here}: neither /run/log/journal nor /var/log/journal exists; {INSTEAD}"
        ));
    }
    let ((ok, status), stderr) = match run {
        Ok(r) => r,
        Err(e) => {
            return Some(format!(
                "cannot read the journal: cannot run journalctl: {e}; {INSTEAD}"
            ))
        }
    };
    let said = stderr.lines().next().unwrap_or_default().trim();
    if !ok {
        return Some(format!(
            "cannot read the journal: journalctl failed ({status}): {said}; {INSTEAD}"
        ));
    }
    if stderr.contains("No journal files") {
        return Some(format!(
            "cannot read the journal: {none_here}: journalctl says \"{said}\"; {INSTEAD}"
        ));
    }
    let blind = ["not seeing messages", "ermission denied"];
    blind.iter().any(|b| stderr.contains(b)).then(|| {
        format!(
            "cannot read the system journal: journalctl says \"{said}\"; the service needs \
             SupplementaryGroups=systemd-journal, or {INSTEAD}"
        )
    })
}

/// sshd's new journal entries every couple of seconds: `journalctl -o json
/// --after-cursor=…` reads only what came after the last entry seen (the last
/// `window` at the first start), never the whole journal, and exits, so there
/// is no output buffer to wait on and journal rotation is journalctl's affair.
async fn follow_journal(
    mut cursor: Option<String>,
    window: Duration,
    out: mpsc::Sender<Batch>,
    token: CancellationToken,
) {
    let first = tokio::task::spawn_blocking(journal_problem)
        .await
        .ok()
        .flatten();
    let mut said = first.is_some();
    if let Some(p) = first {
        tracing::error!("ssh sensor: {p}");
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! { _ = token.cancelled() => return, _ = tick.tick() => {} }
        let output = tokio::select! {
            _ = token.cancelled() => return,
            o = tokio::time::timeout(Duration::from_secs(30), journalctl(cursor.as_deref(), window).output()) => o,
        };
        let output = match output {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                if !said {
                    tracing::error!("ssh sensor: cannot read the journal: cannot run journalctl: {e}; {INSTEAD}");
                    said = true;
                }
                continue;
            }
            Err(_) => continue,
        };
        if !output.status.success() && !said {
            tracing::error!(
                "ssh sensor: journalctl failed ({}): {} (the service needs SupplementaryGroups=systemd-journal)",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            said = true;
        }
        let stdout = output.stdout;
        let Ok(batch) = tokio::task::spawn_blocking(move || parse_journal(&stdout)).await else {
            continue;
        };
        if batch.cursor.is_some() {
            cursor.clone_from(&batch.cursor);
        }
        if (batch.cursor.is_some() || !batch.failures.is_empty()) && out.send(batch).await.is_err()
        {
            return;
        }
    }
}

fn journalctl(cursor: Option<&str>, window: Duration) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("journalctl");
    cmd.args(["-o", "json", "--no-pager", "--quiet"]);
    match cursor {
        Some(c) => cmd.arg(format!("--after-cursor={c}")),
        None => cmd.arg(format!("--since=-{}s", window.as_secs().max(1))),
    };
    cmd.args([
        "SYSLOG_IDENTIFIER=sshd",
        "SYSLOG_IDENTIFIER=sshd-session",
        "+",
        "_COMM=sshd",
        "_COMM=sshd-session",
    ])
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    cmd
}

/// The failures in journalctl's JSON lines, and the last cursor.
fn parse_journal(stdout: &[u8]) -> Batch {
    let mut batch = Batch::default();
    for line in stdout.split(|b| *b == b'\n') {
        let Ok(entry) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let at = entry["__REALTIME_TIMESTAMP"]
            .as_str()
            .and_then(|us| us.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_micros)
            .unwrap_or_else(Utc::now);
        if let Some(c) = entry["__CURSOR"].as_str() {
            batch.cursor = Some(c.to_owned());
        }
        if let Some(f) = message(&entry["MESSAGE"]).and_then(|m| parse(&m, at)) {
            batch.failures.push(f);
        }
    }
    batch
}

/// A journal MESSAGE's bytes: a string, or an array of bytes when it is not UTF-8.
fn message(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Array(a) => Some(
            a.iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect(),
        ),
        _ => None,
    }
}

/// Where the next read of a log file starts: its inode and the offset after
/// the last whole line read.
type Mark = Option<(u64, u64)>;

/// Follows `file` from its end, across rename and copytruncate rotation.
async fn follow_file(file: PathBuf, out: mpsc::Sender<Batch>, token: CancellationToken) {
    let f = file.clone();
    let mut mark: Mark = crate::util::OneAtATime::new("ssh log stat")
        .call(super::LOOK_TIMEOUT, move || {
            std::fs::metadata(&f).ok().map(|m| (m.ino(), m.len()))
        })
        .await
        .flatten();
    if let Some((_, from)) = mark {
        tracing::debug!("ssh sensor: following {} from byte {from}", file.display());
    }
    if mark.is_none() {
        let why =
            problem_of_file(&file).unwrap_or_else(|| format!("cannot read {}", file.display()));
        tracing::error!("ssh sensor: {why}; waiting for it");
    }
    let mut said = mark.is_none();
    // A log on a hung filesystem holds one thread, never the runtime.
    let mut reads = crate::util::OneAtATime::new("ssh log read");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! { _ = token.cancelled() => return, _ = tick.tick() => {} }
        let f = file.clone();
        let read = reads
            .call(super::LOOK_TIMEOUT, move || read_new(&f, mark, Utc::now()))
            .await;
        let (next, failures) = match read {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                if !said {
                    tracing::error!("ssh sensor: cannot read {}: {e}", file.display());
                    said = true;
                }
                continue;
            }
            None => continue,
        };
        if said && next.is_some() {
            tracing::info!("ssh sensor: reading {}", file.display());
            said = false;
        }
        mark = next;
        if !failures.is_empty() {
            let batch = Batch {
                cursor: None,
                failures,
            };
            if out.send(batch).await.is_err() {
                return;
            }
        }
    }
}

/// The failures in the whole lines added to `file` since `mark` (from the
/// start of a new or truncated file), as bytes; a line not yet ended waits
/// for the next read. Blocking.
fn read_new(file: &Path, mark: Mark, at: DateTime<Utc>) -> std::io::Result<(Mark, Vec<Failure>)> {
    use std::io::{Read, Seek, SeekFrom};
    let m = std::fs::metadata(file)?;
    if !m.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let (ino, len) = (m.ino(), m.len());
    let offset = match mark {
        Some((i, o)) if i == ino && o <= len => o,
        _ => 0,
    };
    let mut bytes = Vec::new();
    let mut f = std::fs::File::open(file)?;
    f.seek(SeekFrom::Start(offset))?;
    f.take((len - offset).min(MAX_READ))
        .read_to_end(&mut bytes)?;
    let whole = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => end + 1,
        // One line longer than a whole read is no sshd line: skipped.
        None if bytes.len() as u64 == MAX_READ => bytes.len(),
        None => 0,
    };
    let failures = bytes[..whole]
        .split(|b| *b == b'\n')
        .filter_map(|line| parse(line, at))
        .collect();
    Ok((Some((ino, offset + whole as u64)), failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_that_is_not_utf8_loses_no_failure_and_a_half_line_waits() {
        // Regression: the whole read was dropped when it was not UTF-8.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        let mut text =
            b"x sshd[1]: Failed password for ro\xffot from 192.0.2.1 port 1 ssh2\n".to_vec();
        text.extend_from_slice(
            b"x sshd[1]: Failed password for admin from 192.0.2.2 port 2 ssh2\n",
        );
        text.extend_from_slice(b"x sshd[1]: Failed password for half from 192.0.2.3");
        std::fs::write(&log, &text).unwrap();
        let (mark, got) = read_new(&log, None, Utc::now()).unwrap();
        let users: Vec<&str> = got.iter().map(|f| f.user.as_str()).collect();
        assert_eq!(users, ["ro\\xffot", "admin"]);
        text.extend_from_slice(b" port 3 ssh2\n");
        std::fs::write(&log, &text).unwrap();
        let (_, got) = read_new(&log, mark, Utc::now()).unwrap();
        assert_eq!(got.len(), 1, "the line once ended: {got:?}");
        assert_eq!(got[0].addr, "192.0.2.3");
    }

    #[test]
    fn a_journal_that_cannot_be_read_is_said_with_why() {
        let ran =
            |ok: bool, stderr: &str| Ok(((ok, "exit status: 1".to_owned()), stderr.to_owned()));
        let none = judge_journal(false, ran(true, "")).unwrap();
        assert!(none.contains("there is no journal here"), "{none}");
        let empty = judge_journal(true, ran(true, "No journal files were found.\n")).unwrap();
        assert!(
            empty.contains("journalctl says \"No journal files were found.\""),
            "{empty}"
        );
        let hint = "Hint: You are currently not seeing messages from other users and the system.\n";
        let blind = judge_journal(true, ran(true, hint)).unwrap();
        assert!(
            blind.contains("SupplementaryGroups=systemd-journal"),
            "{blind}"
        );
        let failed = judge_journal(true, ran(false, "Failed to open files\n")).unwrap();
        assert!(
            failed.contains("journalctl failed (exit status: 1): Failed to open files"),
            "{failed}"
        );
        let missing =
            judge_journal(true, Err("No such file or directory (os error 2)".into())).unwrap();
        assert!(
            missing.contains("cannot run journalctl: No such file"),
            "{missing}"
        );
        assert_eq!(judge_journal(true, ran(true, "")), None);
        assert!(none.ends_with("set sensors.ssh.log_file to read a log file instead"));
    }

    #[test]
    fn a_journal_message_of_bytes_is_read() {
        let out = b"{\"__CURSOR\":\"c1\",\"__REALTIME_TIMESTAMP\":\"1700000000000000\",\"MESSAGE\":[70,97,105,108,101,100,32,112,97,115,115,119,111,114,100,32,102,111,114,32,255,32,102,114,111,109,32,49,46,50,46,51,46,52,32,112,111,114,116,32,53]}\nnot json\n";
        let b = parse_journal(out);
        assert_eq!(b.cursor.as_deref(), Some("c1"));
        assert_eq!(b.failures.len(), 1);
        assert_eq!(b.failures[0].user, "\\xff");
        assert_eq!(b.failures[0].addr, "1.2.3.4");
    }
}
