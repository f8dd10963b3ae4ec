//! systemd glue: sd_notify messages, the health-gated watchdog, and logging to
//! journald (with structured fields) or to stderr.

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use sd_notify::NotifyState;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Layer, Registry};

/// Changes the log level of the running daemon (used on reload).
pub type LevelHandle = reload::Handle<Targets, Registry>;

/// Whether stderr is connected to the journal (`JOURNAL_STREAM` names it).
pub fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// The filter: `RUST_LOG` if set, not empty and valid (a level, or `target=level` pairs
/// separated by commas), else `level` from the config, else `info`. Targets and
/// levels only: `EnvFilter`'s span and field matching would link a regex engine
/// into every running daemon for a debugging aid.
pub fn filter(level: Option<&str>) -> Targets {
    if let Some(targets) = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
    {
        return targets;
    }
    let level = level
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    Targets::new().with_default(level)
}

/// Starts logging: to journald with structured fields when started by systemd,
/// else readable lines on stderr.
pub fn init_logging(level: Option<&str>) -> LevelHandle {
    let (filter, handle) = reload::Layer::new(filter(level));
    let journald = stderr_is_journal()
        .then(|| tracing_journald::layer().ok())
        .flatten()
        .map(|l| {
            l.with_field_prefix(None)
                .with_syslog_identifier("connectivity-monitor".into())
        });
    let fmt = journald.is_none().then(|| {
        // The message alone: each line already says what its fields hold,
        // which the journal keeps as separate fields for queries.
        let message_only = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            if field.name() == "message" {
                write!(w, "{value:?}")
            } else {
                Ok(())
            }
        });
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .fmt_fields(message_only)
            .boxed()
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(fmt)
        .init();
    handle
}

/// Sends `states` to the service manager; a no-op when not run by systemd.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("sd_notify failed: {e}");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STATUS=…`
pub fn status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

/// `STOPPING=1`
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as systemd 253+ requires.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}

/// `WATCHDOG=1`
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// The watchdog period the service manager asked for, if any.
pub fn watchdog_period() -> Option<Duration> {
    watchdog_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// The rule of libsystemd's `sd_watchdog_enabled`: `WATCHDOG_USEC` is a
/// positive number of microseconds, and `WATCHDOG_PID`, when set, must name
/// this process; when it is not set the watchdog is this process's (some
/// supervisors other than systemd set only `WATCHDOG_USEC`).
fn watchdog_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    match pid {
        Some(p) if p.trim().parse::<u32>().ok() != Some(me) => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_follows_libsystemd_when_the_pid_is_not_given() {
        let ten = Some(Duration::from_secs(10));
        assert_eq!(
            watchdog_from(Some("10000000"), None, 7),
            ten,
            "no PID: ours"
        );
        assert_eq!(watchdog_from(Some("10000000"), Some("7"), 7), ten);
        assert_eq!(
            watchdog_from(Some("10000000"), Some("8"), 7),
            None,
            "another's"
        );
        assert_eq!(watchdog_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_from(Some("soon"), None, 7), None);
        assert_eq!(watchdog_from(None, Some("7"), 7), None);
    }
}
