//! `[push]`: every series of /metrics, with the configured labels and
//! `instance`, sent to a Prometheus remote_write receiver (Prometheus, Mimir,
//! Thanos, VictoriaMetrics, Grafana Cloud), for sites that cannot be scraped.
//!
//! - [`config`]: the section as written and validated.
//! - [`sample`]: a thread keeping push's copy of the metrics, writing one
//!   sample of every series into the queue every `every`.
//! - [`encode`]: those samples as remote write requests (protobuf, snappy),
//!   in batches of bounded size, with staleness markers.
//! - [`queue`]: the batches on disk in `state_dir/push/`, bounded, oldest first.
//! - [`send`]: the queue to the receiver, with retries and backoff.
//! - [`metrics`]: push's own series.
//!
//! The part: a follower task always reads the update stream (so that a
//! reload can turn push on); while push is on, it hands each update to the
//! sampler without ever waiting, and a sending task drains the queue. A
//! reload that changes `[push]` restarts both; the queue stays on disk.

pub mod config;
pub mod encode;
pub mod metrics;
pub mod queue;
pub mod sample;
pub mod send;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

pub use config::{PushConfig, RawPush};

use crate::config::Config;
use crate::daemon::{Background, Part, PartFuture};
use sample::{Msg, Sampler};
use send::{Sender, Shared};

/// Updates the sampler may be behind by before the follower drops some.
const SAMPLER_BACKLOG: usize = 64;

/// Where the sampler's channel is, while push is on.
type Handoff = Arc<Mutex<Option<SyncSender<Msg>>>>;

/// Push while it is on.
struct Running {
    config: PushConfig,
    sampler: std::thread::JoinHandle<()>,
    sender: Background,
}

/// The part.
pub struct Push {
    http: reqwest::Client,
    state_dir: PathBuf,
    handoff: Handoff,
    follower: Background,
    running: Option<Running>,
}

/// The folder of the queue.
pub fn queue_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("push")
}

impl Push {
    /// Follows `updates`, and starts pushing if `config` has `[push]`.
    pub fn start(config: &Config, updates: crate::monitor::Live, http: reqwest::Client) -> Push {
        let handoff: Handoff = Arc::default();
        let h = Arc::clone(&handoff);
        let follower = Background::spawn(|token| follow(updates, h, token));
        let mut push = Push {
            http,
            state_dir: config.monitor.state_dir.clone(),
            handoff,
            follower,
            running: None,
        };
        if let Some(p) = &config.push {
            push.running = push.begin(p, config);
        }
        push
    }

    /// Starts the sampler and the sender; `None` (said loudly) if push cannot run.
    fn begin(&self, p: &PushConfig, config: &Config) -> Option<Running> {
        let fail = |e: &dyn std::fmt::Display| {
            tracing::error!("push: {e}; push is off until a reload fixes it, monitoring goes on");
        };
        let http = match client(p, &self.http) {
            Ok(c) => c,
            Err(e) => {
                fail(&format!("{e:#}"));
                return None;
            }
        };
        let dir = queue_dir(&self.state_dir);
        let queue = match queue::Queue::open(&dir, p.queue_max) {
            Ok(q) => q,
            Err(e) => {
                fail(&format!("cannot open the queue in {}: {e}", dir.display()));
                return None;
            }
        };
        let waiting = queue.len();
        let (metrics, own) = metrics::PushMetrics::new();
        metrics.queue_bytes.set(queue.bytes() as i64);
        let shared = Arc::new(Shared {
            queue: Arc::new(Mutex::new(queue)),
            more: tokio::sync::Notify::new(),
            back: tokio::sync::Notify::new(),
            metrics,
        });
        let shared_config = Arc::new(p.clone());
        let sender = Sender::new(http, Arc::clone(&shared_config));
        tracing::info!(
            "push: every {} to {}{}",
            crate::timefmt::spelled(p.every),
            sender.shown(),
            if waiting > 0 {
                format!(", {waiting} batches queued by an earlier run first")
            } else {
                String::new()
            }
        );
        let sampler = Sampler::new(
            shared_config,
            self.state_dir.clone(),
            own,
            Arc::clone(&shared),
            channels(config),
        );
        let (tx, rx) = sync_channel(SAMPLER_BACKLOG);
        let thread = std::thread::Builder::new()
            .name("push".into())
            .spawn(move || sampler.run(rx));
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                fail(&format!("cannot start its thread: {e}"));
                return None;
            }
        };
        *self.handoff.lock().expect("handoff lock") = Some(tx);
        let sender = Background::spawn(|token| send::run(sender, shared, token));
        Some(Running {
            config: p.clone(),
            sampler: thread,
            sender,
        })
    }

    /// Stops the sampler and the sender; what is queued stays on disk.
    async fn end(&mut self) {
        let Some(r) = self.running.take() else { return };
        // Dropping the channel ends the sampler's loop.
        self.handoff.lock().expect("handoff lock").take();
        let _ = r.sender.stop().await;
        let joined = tokio::task::spawn_blocking(move || r.sampler.join());
        if tokio::time::timeout(sample::STOP_TIMEOUT, joined)
            .await
            .is_err()
        {
            tracing::warn!("push: the sampler did not stop in time; going on without it");
        }
    }
}

/// What `check-config` must refuse beyond the file's own rules: a `[push]`
/// that `run` would leave off.
pub fn preflight(config: &Config) -> Option<String> {
    let p = config.push.as_ref()?;
    let http = crate::probe::http_client().ok()?;
    client(p, &http)
        .err()
        .map(|e| format!("{e:#}; `run` would start without push"))
}

/// The client for `p`: the shared one, or one that also trusts `ca_file`.
fn client(p: &PushConfig, shared: &reqwest::Client) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context;
    let Some(path) = &p.ca_file else {
        return Ok(shared.clone());
    };
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read push.ca_file {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|c| !c.is_empty())
        .with_context(|| format!("push.ca_file {} holds no PEM certificate", path.display()))?;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("connectivity-monitor/", env!("CARGO_PKG_VERSION")))
        .tls_certs_merge(certs)
        .build()
        .context("cannot build the HTTP client for push")
}

/// The channels `config` has, by name.
fn channels(config: &Config) -> Vec<&'static str> {
    crate::alert::Channel::all(&config.notify)
        .iter()
        .map(crate::alert::Channel::name)
        .collect()
}

/// Reads the update stream for as long as the daemon runs; hands each update
/// to the sampler while push is on, dropping (and counting) what it cannot take.
async fn follow(mut updates: crate::monitor::Live, handoff: Handoff, token: CancellationToken) {
    let mut skipped = 0u64;
    loop {
        let u = tokio::select! {
            _ = token.cancelled() => return,
            u = updates.recv() => u,
        };
        let Some(u) = u else { return };
        let guard = handoff.lock().expect("handoff lock");
        let Some(tx) = guard.as_ref() else { continue };
        if let Err(TrySendError::Full(_)) = tx.try_send(Msg::Update(u)) {
            skipped += 1;
            tracing::debug!("push: the sampler is behind; {skipped} updates skipped so far");
        }
    }
}

impl Part for Push {
    fn check(&self, new: &Config) -> anyhow::Result<()> {
        match &new.push {
            Some(p) => client(p, &self.http).map(drop),
            None => Ok(()),
        }
    }

    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let same = self.running.as_ref().map(|r| &r.config) == new.push.as_ref();
            if same {
                if let Some(tx) = self.handoff.lock().expect("handoff lock").as_ref() {
                    let _ = tx.try_send(Msg::Channels(channels(new)));
                }
                return None;
            }
            let was_on = self.running.is_some();
            self.end().await;
            let Some(p) = &new.push else {
                return Some("push stopped (its queue stays on disk)".into());
            };
            self.running = self.begin(p, new);
            Some(match (was_on, self.running.is_some()) {
                (_, false) => "push not started (see the error above)".into(),
                (false, true) => "push started".into(),
                (true, true) => "push restarted".into(),
            })
        })
    }

    fn stop(mut self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            self.end().await;
            self.follower.stop().await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_config_refuses_a_ca_file_that_push_could_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = |ca: &str| {
            format!(
                "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n[push]\nremote_write_url = \"https://m.example.org/w\"\nca_file = \"{ca}\"\n"
            )
        };
        let missing = dir.path().join("missing.pem");
        let c = Config::parse(
            &dir.path().join("c.toml"),
            &text(&missing.display().to_string()),
        )
        .unwrap();
        let e = preflight(&c).expect("refused");
        assert!(
            e.starts_with(&format!("cannot read push.ca_file {}", missing.display()))
                && e.ends_with("`run` would start without push"),
            "{e}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let c = Config::parse(
            &dir.path().join("c.toml"),
            &text(&junk.display().to_string()),
        )
        .unwrap();
        assert!(preflight(&c)
            .expect("refused")
            .contains("holds no PEM certificate"));
    }
}
