//! The live surfaces as one part: the live view (following the update
//! stream, today's availability seeded from the logs) and what shows it,
//! each surface of the list in `daemon/mod.rs` in a slot of its own.
//!
//! A reload compares each section whole: a section added starts its
//! surface, one removed stops it, and a changed one is brought in line by
//! the surface itself (new credentials swapped in place, anything else by a
//! restart); new targets are followed by the view, /metrics and Home
//! Assistant. A surface that cannot start (a taken port, an unreadable CA
//! file) is off, loudly; monitoring goes on.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::live::LiveView;
use super::part::{Background, Part, PartFuture};
use super::surface::{Context, Slot};
use super::today::{self, Seed};
use super::SurfacesConfig;
use crate::config::Section;
use crate::monitor::LiveSender;

/// How long reading today's logs may take before the figure starts from the checks alone.
const SEED_TIMEOUT: Duration = Duration::from_secs(60);

/// What the surfaces show: the view, and its ticks.
#[derive(Clone)]
struct Shown {
    live: Arc<LiveView>,
    /// Changes once per check applied to the view.
    checks: watch::Receiver<u64>,
}

/// The view and the tasks that keep it.
struct Viewing {
    shown: Shown,
    follower: Background,
    /// Today's figure from the logs, once the page's parts are kept.
    seeding: Option<Background>,
}

/// The part.
pub struct Surfaces {
    /// Where the view subscribes to the updates when a surface first asks
    /// for it. Not a receiver held from the start: until read, that would
    /// keep the last few checks (a result per probe each) for no one.
    updates: LiveSender,
    viewing: Option<Viewing>,
    slots: Vec<Box<dyn Slot>>,
    /// The daemon's one HTTP client, for the surfaces that send.
    http: crate::probe::SharedClient,
}

impl Surfaces {
    /// Starts what `config` asks for; the view follows `updates` once a surface needs it.
    pub async fn start(
        config: &Config,
        updates: LiveSender,
        http: crate::probe::SharedClient,
    ) -> Surfaces {
        let mut s = Surfaces {
            updates,
            viewing: None,
            slots: SurfacesConfig::slots(),
            http,
        };
        s.apply(config).await;
        s
    }

    /// Brings every surface in line with `new`; a few words per change.
    async fn apply(&mut self, new: &Config) -> Vec<String> {
        let Some(shown) = self.shown(new) else {
            return Vec::new();
        };
        let ctx = Context {
            live: &shown.live,
            checks: &shown.checks,
            core: &new.core,
            log_dir: &new.monitor.log_dir,
            http: &self.http,
        };
        let mut notes = Vec::new();
        for slot in &mut self.slots {
            notes.extend(slot.apply(&new.surfaces, &ctx).await);
        }
        notes
    }

    /// The view, started when a surface first needs it, else following
    /// `config`; with the page's parts once a surface shows them.
    fn shown(&mut self, config: &Config) -> Option<Shown> {
        let page = config.surfaces.serve.is_some() || config.surfaces.mqtt.is_some();
        let start = Utc::now();
        if let Some(v) = &mut self.viewing {
            let live = &v.shown.live;
            live.configure(&config.core, &config.features.notify);
            if page && live.keep_page(config.monitor.interval, start) {
                v.seeding = Some(seeding(live, config, start));
            }
            return Some(v.shown.clone());
        }
        if config.surfaces.is_absent() {
            return None;
        }
        let updates = self.updates.subscribe();
        let live = LiveView::new(&config.core, &config.features.notify, start, page);
        let (tick, checks) = watch::channel(0);
        let l = Arc::clone(&live);
        let follower = Background::spawn(|token| follow(l, updates, tick, token));
        let seeding = page.then(|| seeding(&live, config, start));
        let shown = Shown { live, checks };
        self.viewing = Some(Viewing {
            shown: shown.clone(),
            follower,
            seeding,
        });
        Some(shown)
    }
}

/// Seeds today's figure of `live` from the logs before `start`.
fn seeding(live: &Arc<LiveView>, config: &Config, start: DateTime<Utc>) -> Background {
    let (l, dir, interval) = (
        Arc::clone(live),
        config.monitor.log_dir.clone(),
        config.monitor.interval,
    );
    Background::spawn(move |token| seed(l, dir, interval, start, token))
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
            for slot in self.slots {
                slot.stop().await;
            }
            if let Some(v) = self.viewing {
                if let Some(seeding) = v.seeding {
                    let _ = seeding.stop().await;
                }
                let _ = v.follower.stop().await;
            }
            Ok(())
        })
    }
}
