//! `[heartbeat]`: an outside witness. The monitor calls `url` every `every`
//! while its last check found the internet reachable, and at once when an
//! outage ends; a service such as healthchecks.io or an Uptime Kuma push
//! monitor raises the alarm when the calls stop, which is what a dead box or
//! a dead line cannot do for itself.
//!
//! A call vouches for a fresh check: when checks stop coming (the monitor is
//! stuck), so do the calls. The URL is a secret (whoever has it can call
//! it): the journal shows only its scheme and host.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::live::LiveView;
use super::part::{Background, PartFuture};
use super::surface::{Context, Surface};
use crate::config::raw::SpannedStr;
use crate::config::{Secret, Table, Validator};

/// Calls this often unless configured.
const DEFAULT_EVERY: Duration = Duration::from_secs(60);
/// A call's time limit unless configured.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[heartbeat]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeartbeat {
    url: Option<SpannedStr>,
    url_file: Option<SpannedStr>,
    every: Option<SpannedStr>,
    timeout: Option<SpannedStr>,
}

/// `[heartbeat]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeartbeatConfig {
    /// What is called (GET); a secret.
    pub url: Secret,
    /// How often, while the internet is reachable.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub every: Duration,
    /// One call's time limit.
    #[serde(serialize_with = "crate::config::ser_duration")]
    pub timeout: Duration,
}

impl Table for HeartbeatConfig {
    type Raw = RawHeartbeat;

    /// The URL is checked but never echoed.
    fn read(raw: RawHeartbeat, v: &mut Validator<'_>, section: &str) -> Option<HeartbeatConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let span = raw.url.as_ref().map(toml::Spanned::span);
        let (every, timeout) = v.period(
            (raw.every.as_ref(), raw.timeout.as_ref()),
            section,
            (DEFAULT_EVERY, DEFAULT_TIMEOUT),
        );
        let url = v.secret(&key("url"), raw.url, raw.url_file, true)?;
        if url.pending().is_none()
            && !url::Url::parse(url.expose())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        {
            let rule = "must be an http:// or https:// URL";
            v.problem(span, &key("url"), "(redacted)", rule);
            return None;
        }
        Some(HeartbeatConfig {
            url,
            every,
            timeout,
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        vec![&self.url]
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

impl Settings {
    fn of(heartbeat: &HeartbeatConfig, ctx: &Context<'_>) -> Settings {
        let m = &ctx.core.monitor;
        Settings {
            heartbeat: heartbeat.clone(),
            fresh_for: m.interval * 2 + m.timeout,
        }
    }
}

/// The heartbeat while it runs: one task following the checks.
pub struct Heartbeat {
    settings: watch::Sender<Settings>,
    task: Background,
}

impl Surface for HeartbeatConfig {
    type Running = Heartbeat;

    const SHOWS: &'static str = "the heartbeat";

    fn start<'a>(&'a self, ctx: &'a Context<'a>) -> PartFuture<'a, anyhow::Result<Heartbeat>> {
        let (tx, rx) = watch::channel(Settings::of(self, ctx));
        let (live, checks, http) = (Arc::clone(ctx.live), ctx.checks.clone(), ctx.http.clone());
        let task = Background::spawn(|token| run(live, checks, rx, http, token));
        tracing::info!(
            "heartbeat: {} every {} while the internet is reachable",
            shown(&self.url),
            crate::timefmt::spelled(self.every)
        );
        Box::pin(async move {
            Ok(Heartbeat {
                settings: tx,
                task,
            })
        })
    }

    /// New settings (or a new interval, which decides what is fresh) are
    /// followed in place.
    fn reload<'a>(
        &'a self,
        running: Heartbeat,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, (Option<Heartbeat>, Option<String>)> {
        let new = Settings::of(self, ctx);
        let note = (*running.settings.borrow() != new).then(|| {
            running.settings.send_replace(new);
            "heartbeat follows the new settings".to_owned()
        });
        Box::pin(async move { (Some(running), note) })
    }

    fn stop(running: Heartbeat) -> PartFuture<'static, ()> {
        Box::pin(async move {
            let _ = running.task.stop().await;
        })
    }

}

/// Follows the checks; calls on every beat the last fresh check allows, and
/// at once when an outage ends.
async fn run(
    live: Arc<LiveView>,
    mut checks: watch::Receiver<u64>,
    mut settings: watch::Receiver<Settings>,
    http: crate::probe::SharedClient,
    token: CancellationToken,
) {
    let mut seen = live.pulse();
    let mut next = Instant::now();
    let mut caller = Caller::default();
    loop {
        let s = settings.borrow_and_update().clone();
        tokio::select! {
            _ = token.cancelled() => return,
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
                next = Instant::now();
            }
            changed = checks.changed() => {
                if changed.is_err() {
                    return;
                }
                let pulse = live.pulse();
                if pulse.outages_ended > seen.outages_ended {
                    caller.call(&http, &s.heartbeat, "the outage ended");
                    next = Instant::now() + s.heartbeat.every;
                }
                seen = pulse;
            }
            () = tokio::time::sleep_until(next) => {
                next += s.heartbeat.every;
                if next <= Instant::now() {
                    next = Instant::now() + s.heartbeat.every;
                }
                let fresh = seen.at.is_some_and(|at| at.elapsed() <= s.fresh_for);
                if seen.reachable && fresh {
                    caller.call(&http, &s.heartbeat, "the internet is reachable");
                } else {
                    tracing::debug!("heartbeat: not called: no fresh check found the internet reachable");
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
    fn call(
        &mut self,
        http: &crate::probe::SharedClient,
        hb: &HeartbeatConfig,
        why: &'static str,
    ) {
        if self.busy.as_ref().is_some_and(|t| !t.is_finished()) {
            tracing::debug!("heartbeat: the last call is still running; this beat is skipped");
            return;
        }
        let (http, url, timeout) = (http.clone(), hb.url.clone(), hb.timeout);
        let failing = std::sync::Arc::clone(&self.failing);
        self.busy = Some(tokio::spawn(async move {
            use std::sync::atomic::Ordering;
            let result = match http.get() {
                Ok(http) => Ok(http.get(url.expose()).timeout(timeout).send().await),
                Err(e) => Err(e),
            };
            let error = match result {
                Ok(Ok(r)) if r.status().is_success() => None,
                Ok(Ok(r)) => Some(format!("HTTP {}", r.status().as_u16())),
                Ok(Err(e)) => Some(crate::util::redact(&crate::util::error_chain(
                    &e.without_url(),
                ))),
                Err(e) => Some(e),
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

/// A call still under way when the heartbeat stops (its section removed,
/// the daemon stopping) is given up: a stopped heartbeat calls no more.
impl Drop for Caller {
    fn drop(&mut self) {
        if let Some(call) = &self.busy {
            call.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use crate::daemon::config::Config;

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
        let h = c.surfaces.heartbeat.as_ref().unwrap();
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
