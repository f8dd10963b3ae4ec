//! The live surfaces as one part: the live view (following the update
//! stream, today's availability seeded from the logs) and what shows it, the
//! status page server (`[serve]`) and Home Assistant (`[mqtt]`).
//!
//! A reload compares each section whole: a section added starts its
//! surface, one removed stops it, new credentials for the same address are
//! swapped in place, anything else restarts the surface; new targets are
//! followed by the view, /metrics and Home Assistant. A surface that cannot
//! start (a taken port, an unreadable CA file) is off, loudly; monitoring goes on.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::live::LiveView;
use super::mqtt::{self, Mqtt};
use super::serve::{self, Server};
use super::today::{self, Seed};
use super::{Background, Part, PartFuture};
use crate::config::MqttConfig;

/// How long reading today's logs may take before the figure starts from the checks alone.
const SEED_TIMEOUT: Duration = Duration::from_secs(60);

/// The view and the tasks that keep it.
struct Viewing {
    live: Arc<LiveView>,
    follower: Background,
    seeding: Background,
    /// Changes once per check applied to the view.
    checks: watch::Receiver<u64>,
}

/// The part.
pub struct Surfaces {
    /// The update stream, until a surface asks for the view.
    updates: Option<crate::monitor::LiveReceiver>,
    viewing: Option<Viewing>,
    server: Option<Server>,
    mqtt: Option<Mqtt>,
}

/// What `check-config` must say of the surfaces beyond the file's own rules:
/// (errors, warnings). An error is a surface `run` would leave off.
pub fn preflight(config: &Config) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    if let Some(Err(e)) = config.features.mqtt.as_ref().map(mqtt::tls_ca) {
        errors.push(format!("{e}; `run` would start without Home Assistant"));
    }
    let warnings = config.features.serve.as_ref().and_then(serve::exposure);
    (errors, warnings.into_iter().collect())
}

impl Surfaces {
    /// Starts what `config` asks for; `updates` is held until a surface needs it.
    pub async fn start(config: &Config, updates: crate::monitor::LiveReceiver) -> Surfaces {
        let mut s = Surfaces {
            updates: Some(updates),
            viewing: None,
            server: None,
            mqtt: None,
        };
        s.apply(config).await;
        s
    }

    /// Brings every surface in line with `new`; a few words per change.
    async fn apply(&mut self, new: &Config) -> Vec<String> {
        let Some(live) = self.live(new) else {
            return Vec::new();
        };
        let mut notes = Vec::new();
        notes.extend(self.apply_serve(new, &live).await);
        notes.extend(self.apply_mqtt(new, &live).await);
        notes
    }

    /// The view, started when a surface first needs it, else following `config`.
    fn live(&mut self, config: &Config) -> Option<Arc<LiveView>> {
        if let Some(v) = &self.viewing {
            v.live.configure(config);
            return Some(Arc::clone(&v.live));
        }
        if config.features.serve.is_none() && config.features.mqtt.is_none() {
            return None;
        }
        let updates = self.updates.take()?;
        let start = Utc::now();
        let live = LiveView::new(config, start);
        let (tick, checks) = watch::channel(0);
        let l = Arc::clone(&live);
        let follower = Background::spawn(|token| follow(l, updates, tick, token));
        let (l, dir, interval) = (
            Arc::clone(&live),
            config.monitor.log_dir.clone(),
            config.monitor.interval,
        );
        let seeding = Background::spawn(move |token| seed(l, dir, interval, start, token));
        self.viewing = Some(Viewing {
            live: Arc::clone(&live),
            follower,
            seeding,
            checks,
        });
        Some(live)
    }

    async fn apply_serve(&mut self, new: &Config, live: &Arc<LiveView>) -> Option<String> {
        let log_dir = new.monitor.log_dir.clone();
        let start = |cfg| Server::start(cfg, log_dir.clone(), Arc::clone(live));
        match (self.server.take(), &new.features.serve) {
            (None, None) => None,
            (Some(s), None) => {
                let _ = s.stop().await;
                Some("serve stopped".into())
            }
            (None, Some(cfg)) => Some(match start(cfg).await {
                Ok(s) => {
                    self.server = Some(s);
                    format!("serve started on {}", cfg.listen)
                }
                Err(e) => off("serve", "the status page", &e),
            }),
            (Some(s), Some(cfg)) if s.config() == cfg => {
                self.server = Some(s);
                None
            }
            (Some(mut s), Some(cfg)) if s.config().listen == cfg.listen => {
                s.set_credentials(cfg);
                self.server = Some(s);
                Some("serve: new credentials in force, the old ones refused".into())
            }
            (Some(s), Some(cfg)) => {
                let old = s.config().clone();
                let _ = s.stop().await;
                match start(cfg).await {
                    Ok(s) => {
                        self.server = Some(s);
                        Some(format!("serve moved from {} to {}", old.listen, cfg.listen))
                    }
                    Err(e) => {
                        let note = off("serve", "the status page", &e);
                        self.server = start(&old).await.ok();
                        let still = self.server.as_ref().map_or(String::new(), |_| {
                            format!(" (still serving on {})", old.listen)
                        });
                        Some(note + &still)
                    }
                }
            }
        }
    }

    async fn apply_mqtt(&mut self, new: &Config, live: &Arc<LiveView>) -> Option<String> {
        let checks = self.viewing.as_ref()?.checks.clone();
        let start = |cfg| Mqtt::start(cfg, new, Arc::clone(live), checks.clone());
        match (self.mqtt.take(), &new.features.mqtt) {
            (None, None) => None,
            (Some(m), None) => {
                let _ = m.stop().await;
                Some("mqtt stopped".into())
            }
            (None, Some(cfg)) => Some(match start(cfg) {
                Ok(m) => {
                    self.mqtt = Some(m);
                    "mqtt started".into()
                }
                Err(e) => off("mqtt", "Home Assistant", &e),
            }),
            (Some(m), Some(cfg)) if m.config() == cfg => {
                let followed = m.follow(new);
                self.mqtt = Some(m);
                followed.then(|| "mqtt: Home Assistant's entities follow the targets".into())
            }
            (Some(m), Some(cfg)) => {
                let keys = changed_keys(m.config(), cfg);
                let _ = m.stop().await;
                Some(match start(cfg) {
                    Ok(m) => {
                        self.mqtt = Some(m);
                        format!("mqtt restarted ({keys} changed)")
                    }
                    Err(e) => off("mqtt", "Home Assistant", &e),
                })
            }
        }
    }
}

/// Logs that a surface could not start and says so in a few words.
fn off(section: &str, what: &str, e: &anyhow::Error) -> String {
    tracing::error!("{section}: {e:#}; {what} is off until a reload fixes it, monitoring goes on");
    format!("{section} not started: {e:#}")
}

/// The keys of `[mqtt]` that differ, by name (never a value: one is a password).
fn changed_keys(old: &MqttConfig, new: &MqttConfig) -> String {
    let keys = [
        ("url", old.url != new.url),
        ("username", old.username != new.username),
        ("password", old.password != new.password),
        ("ca_file", old.ca_file != new.ca_file),
        (
            "discovery_prefix",
            old.discovery_prefix != new.discovery_prefix,
        ),
        ("topic_prefix", old.topic_prefix != new.topic_prefix),
    ];
    let changed: Vec<&str> = keys.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
    changed.join(", ")
}

/// Applies every update to the view; a check also moves `tick`.
async fn follow(
    live: Arc<LiveView>,
    mut updates: crate::monitor::LiveReceiver,
    tick: watch::Sender<u64>,
    token: CancellationToken,
) {
    loop {
        let u = tokio::select! {
            _ = token.cancelled() => return,
            u = updates.recv() => u,
        };
        let Some(u) = u else { return };
        live.apply(&u);
        if matches!(&*u, crate::monitor::Update::Check(_)) {
            tick.send_modify(|n| *n += 1);
        }
    }
}

/// Today's availability from the logs before `start`, read on a blocking thread.
async fn seed(
    live: Arc<LiveView>,
    log_dir: std::path::PathBuf,
    interval: Duration,
    start: DateTime<Utc>,
    token: CancellationToken,
) {
    let read =
        tokio::task::spawn_blocking(move || today::seed_from_logs(&log_dir, interval, start));
    let seed = tokio::select! {
        _ = token.cancelled() => return,
        r = tokio::time::timeout(SEED_TIMEOUT, read) => r,
    };
    let why = match seed {
        Ok(Ok(s)) => return live.seed(s),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("not read within {}", crate::timefmt::spelled(SEED_TIMEOUT)),
    };
    tracing::warn!(
        "availability today: the day's logs were {why}; it counts the checks since the start"
    );
    live.seed(Seed {
        day: Some(start.with_timezone(&chrono::Local).date_naive()),
        ..Seed::default()
    });
}

impl Part for Surfaces {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let notes = self.apply(new).await;
            (!notes.is_empty()).then(|| notes.join("; "))
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            if let Some(s) = self.server {
                let _ = s.stop().await;
            }
            if let Some(m) = self.mqtt {
                let _ = m.stop().await;
            }
            if let Some(v) = self.viewing {
                let _ = v.seeding.stop().await;
                let _ = v.follower.stop().await;
            }
            Ok(())
        })
    }
}
