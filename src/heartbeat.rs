//! `[heartbeat]`: an outside witness. The monitor calls `url` every `every`
//! while its last check found the internet reachable, and at once when an
//! outage ends; a service such as healthchecks.io or an Uptime Kuma push
//! monitor raises the alarm when the calls stop, which is what a dead box or
//! a dead line cannot do for itself.
//!
//! A call vouches for a fresh check: when checks stop coming (the monitor is
//! stuck), so do the calls. The URL is a secret (whoever has it can call
//! it): the journal shows only its scheme and host.

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use toml::Spanned;

use crate::config::{Config, Secret, Validator};
use crate::daemon::{Background, Part, PartFuture};
use crate::monitor::{Event, Update};

/// Calls this often unless configured.
const DEFAULT_EVERY: Duration = Duration::from_secs(60);
/// A call's time limit unless configured.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[heartbeat]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeartbeat {
    pub url: Option<Spanned<String>>,
    pub url_file: Option<Spanned<String>>,
    pub every: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
}

/// `[heartbeat]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeartbeatConfig {
    /// What is called (GET); a secret.
    pub url: Secret,
    /// How often, while the internet is reachable.
    #[serde(serialize_with = "ser_duration")]
    pub every: Duration,
    /// One call's time limit.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

impl Validator<'_> {
    /// `[heartbeat]` validated; the URL is checked but never echoed.
    pub fn heartbeat(&mut self, raw: RawHeartbeat) -> Option<HeartbeatConfig> {
        let span = raw.url.as_ref().map(Spanned::span);
        let every = self
            .duration(raw.every.as_ref(), "heartbeat.every")
            .unwrap_or(DEFAULT_EVERY);
        let timeout = self
            .duration(raw.timeout.as_ref(), "heartbeat.timeout")
            .unwrap_or(DEFAULT_TIMEOUT);
        let url = self.secret("heartbeat.url", raw.url, raw.url_file, true)?;
        if url.pending().is_none()
            && !url::Url::parse(url.expose())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        {
            self.problem(
                span,
                "heartbeat.url",
                "(redacted)",
                "must be an http:// or https:// URL",
            );
            return None;
        }
        Some(HeartbeatConfig {
            url,
            every,
            timeout,
        })
    }
}

/// The URL as the journal may show it: scheme and host, the rest elided.
fn shown(url: &Secret) -> String {
    url::Url::parse(url.expose()).map_or_else(
        |_| "(the heartbeat URL)".into(),
        |u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default()),
    )
}

/// What the task runs on: the section and how old a check may be to vouch for the internet.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    heartbeat: HeartbeatConfig,
    fresh_for: Duration,
}

fn settings(config: &Config) -> Option<Settings> {
    let m = &config.monitor;
    config.heartbeat.clone().map(|heartbeat| Settings {
        heartbeat,
        fresh_for: m.interval * 2 + m.timeout,
    })
}

/// The part: one task following the update stream, calling while on.
pub struct Heartbeat {
    settings: watch::Sender<Option<Settings>>,
    task: Background,
}

impl Heartbeat {
    /// Follows `updates`; calls through `http` while `config` has `[heartbeat]`.
    pub fn start(
        config: &Config,
        updates: crate::monitor::Live,
        http: reqwest::Client,
    ) -> Heartbeat {
        let (tx, rx) = watch::channel(settings(config));
        let task = Background::spawn(|token| run(updates, rx, http, token));
        Heartbeat { settings: tx, task }
    }
}

impl Part for Heartbeat {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let new = settings(new);
            let old = self.settings.borrow().clone();
            if old == new {
                return None;
            }
            let note = match (&old, &new) {
                (None, Some(_)) => "heartbeat started",
                (Some(_), None) => "heartbeat stopped",
                _ => "heartbeat follows the new settings",
            };
            self.settings.send_replace(new);
            Some(note.into())
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

/// The last check, as far as the heartbeat cares.
#[derive(Debug, Clone, Copy)]
struct LastCheck {
    at: Instant,
    reachable: bool,
}

/// Follows the updates; calls on every beat the last fresh check allows, and
/// at once when an outage ends.
async fn run(
    mut updates: crate::monitor::Live,
    mut settings: watch::Receiver<Option<Settings>>,
    http: reqwest::Client,
    token: CancellationToken,
) {
    let mut last: Option<LastCheck> = None;
    let mut next = Instant::now();
    let mut caller = Caller::default();
    loop {
        let beat = settings.borrow().clone();
        let due = async {
            match &beat {
                Some(_) => tokio::time::sleep_until(next).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = token.cancelled() => return,
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
                next = Instant::now();
            }
            u = updates.recv() => {
                let Some(u) = u else { return };
                let Update::Check(c) = &*u else { continue };
                let ended = c.events.iter().any(|e| matches!(e, Event::OutageEnded(_)));
                last = Some(LastCheck { at: Instant::now(), reachable: c.diagnosis.targets_up > 0 });
                if let (true, Some(s)) = (ended, &beat) {
                    caller.call(&http, &s.heartbeat, "the outage ended");
                    next = Instant::now() + s.heartbeat.every;
                }
            }
            () = due => {
                let Some(s) = &beat else { continue };
                next += s.heartbeat.every;
                if next <= Instant::now() {
                    next = Instant::now() + s.heartbeat.every;
                }
                match last {
                    Some(l) if l.reachable && l.at.elapsed() <= s.fresh_for => {
                        caller.call(&http, &s.heartbeat, "the internet is reachable");
                    }
                    _ => tracing::debug!("heartbeat: not called: the last check did not find the internet reachable"),
                }
            }
        }
    }
}

/// Makes the calls, one at a time, and says failures once per run.
#[derive(Default)]
struct Caller {
    busy: Option<tokio::task::JoinHandle<()>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Caller {
    fn call(&mut self, http: &reqwest::Client, hb: &HeartbeatConfig, why: &'static str) {
        if self.busy.as_ref().is_some_and(|t| !t.is_finished()) {
            tracing::debug!("heartbeat: the last call is still running; this beat is skipped");
            return;
        }
        let (http, url, timeout) = (http.clone(), hb.url.clone(), hb.timeout);
        let failing = std::sync::Arc::clone(&self.failing);
        self.busy = Some(tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            let result = http.get(url.expose()).timeout(timeout).send().await;
            let error = match result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(crate::util::redact(&crate::util::error_chain(
                    &e.without_url(),
                ))),
            };
            match error {
                None => {
                    tracing::debug!("heartbeat: called {} ({why})", shown(&url));
                    if failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("heartbeat: {} answers again", shown(&url));
                    }
                }
                Some(e) if !failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                    "heartbeat: the call to {} failed ({e}); the next beat tries again",
                    shown(&url)
                ),
                Some(e) => tracing::debug!("heartbeat: the call failed again ({e})"),
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(extra: &str) -> Result<Config, String> {
        let text = format!("[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n{extra}");
        Config::parse(Path::new("/etc/cm.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_url_is_required_checked_and_never_shown() {
        let e = parse("[heartbeat]\nevery = \"30s\"\n").unwrap_err();
        assert!(
            e.ends_with(
                "heartbeat.url = (none): is required: give heartbeat.url or heartbeat.url_file"
            ),
            "{e}"
        );
        let e = parse("[heartbeat]\nurl = \"ftp://hc-ping.com/secret-uuid\"\n").unwrap_err();
        assert!(
            e.ends_with(
                "/etc/cm.toml:5:7: heartbeat.url = (redacted): must be an http:// or https:// URL"
            ),
            "{e}"
        );
        assert!(!e.contains("secret-uuid"));
        let c = parse("[heartbeat]\nurl = \"https://hc-ping.com/secret-uuid\"\n").unwrap();
        let h = c.heartbeat.as_ref().unwrap();
        assert_eq!(h.every, Duration::from_secs(60));
        assert!(!c.to_toml().contains("secret-uuid"), "{}", c.to_toml());
        assert!(!format!("{c:?}").contains("secret-uuid"));
        assert_eq!(shown(&h.url), "https://hc-ping.com/…");
    }

    #[test]
    fn every_is_within_its_range() {
        let e =
            parse("[heartbeat]\nurl = \"https://hc-ping.com/u\"\nevery = \"0s\"\n").unwrap_err();
        assert!(
            e.ends_with("heartbeat.every = \"0s\": must be from 1s to 1d"),
            "{e}"
        );
    }
}
