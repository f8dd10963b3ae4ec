//! `[push]`: every series of /metrics, with the configured labels and
//! `instance`, sent to a Prometheus remote_write receiver (Prometheus, Mimir,
//! Thanos, VictoriaMetrics, Grafana Cloud), for sites that cannot be scraped.
//!
//! - [`config`]: the section as written and validated.
//! - [`sample`]: a thread writing one sample of every series of the live
//!   view's metrics (the very ones /metrics serves) into the queue every `every`.
//! - [`encode`]: those samples as remote write requests (protobuf, snappy),
//!   in batches of bounded size, with staleness markers.
//! - [`queue`]: the batches on disk in `state_dir/push/`, bounded, oldest first.
//! - [`send`]: the queue to the receiver, with retries and backoff.
//! - [`metrics`]: push's own series.
//!
//! It is a live surface: it reads the view and never holds up a check. A
//! reload that changes `[push]` restarts it; the queue stays on disk.

pub mod config;
pub mod encode;
pub mod metrics;
pub mod queue;
pub mod sample;
pub mod send;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

pub use config::PushConfig;

use super::part::{Background, PartFuture};
use super::surface::{off, Context, Surface};
use sample::Sampler;
use send::{Sender, Shared};

/// Push while it runs.
pub struct Push {
    config: PushConfig,
    /// Dropped to stop the sampler.
    stop: SyncSender<()>,
    sampler: std::thread::JoinHandle<()>,
    sender: Background,
}

/// The folder of the queue.
pub fn queue_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("push")
}

impl Push {
    /// Starts the sampler's thread and the sender. The queue is opened on
    /// that thread (a long queue is thousands of files): nothing here waits
    /// on the disk, and a queue that cannot be opened leaves push off, said
    /// in the journal.
    fn start(p: &PushConfig, ctx: &Context<'_>) -> anyhow::Result<Push> {
        let http = client(p, ctx.http)?;
        let state_dir = ctx.core.monitor.state_dir.clone();
        let config = Arc::new(p.clone());
        let sender = Sender::new(http, Arc::clone(&config));
        let shown = sender.shown();
        let live = Arc::clone(ctx.live);
        let (ready, opened) = tokio::sync::oneshot::channel();
        let (stop, stopped) = sync_channel(0);
        let sampler = std::thread::Builder::new()
            .name("push".into())
            .spawn(move || {
                let Some((shared, own)) = open(&config, &state_dir, &shown) else {
                    return;
                };
                let _ = ready.send(Arc::clone(&shared));
                Sampler::new(config, state_dir, live, own, shared).run(stopped);
            })
            .context("cannot start its thread")?;
        let (live, checks) = (Arc::clone(ctx.live), ctx.checks.clone());
        let sender = Background::spawn(|token| async move {
            let shared = tokio::select! {
                _ = token.cancelled() => return,
                opened = opened => opened,
            };
            if let Ok(shared) = shared {
                send::run(sender, shared, live, checks, token).await;
            }
        });
        Ok(Push {
            config: p.clone(),
            stop,
            sampler,
            sender,
        })
    }

    /// Stops the sampler and the sender; what is queued stays on disk.
    async fn stop(self) {
        drop(self.stop);
        let _ = self.sender.stop().await;
        let sampler = self.sampler;
        let joined = tokio::task::spawn_blocking(move || sampler.join());
        if tokio::time::timeout(sample::STOP_TIMEOUT, joined)
            .await
            .is_err()
        {
            tracing::warn!("push: the sampler did not stop in time; going on without it");
        }
    }
}

/// The queue in `state_dir`, opened, with push's own series; `None`, said
/// in the journal, when it cannot be opened.
fn open(
    p: &PushConfig,
    state_dir: &Path,
    shown: &str,
) -> Option<(Arc<Shared>, prometheus_client::registry::Registry)> {
    let dir = queue_dir(state_dir);
    let queue = match queue::Queue::open(&dir, p.queue_max) {
        Ok(q) => q,
        Err(e) => {
            tracing::error!(
                "push: cannot open the queue in {} ({e}); push is off until a reload fixes it, monitoring goes on",
                dir.display()
            );
            return None;
        }
    };
    let waiting = queue.len();
    tracing::info!(
        "push: every {} to {shown}{}",
        crate::timefmt::spelled(p.every),
        if waiting > 0 {
            format!(", {waiting} batches queued by an earlier run first")
        } else {
            String::new()
        }
    );
    let (metrics, own) = metrics::PushMetrics::new();
    metrics.queue_bytes.set(queue.bytes() as i64);
    let shared = Arc::new(Shared {
        queue: Arc::new(Mutex::new(queue)),
        more: tokio::sync::Notify::new(),
        metrics,
    });
    Some((shared, own))
}

impl Surface for PushConfig {
    type Running = Push;

    const SHOWS: &'static str = "push to the remote_write receiver";

    fn start<'a>(&'a self, ctx: &'a Context<'a>) -> PartFuture<'a, anyhow::Result<Push>> {
        let started = Push::start(self, ctx);
        Box::pin(async move { started })
    }

    /// The same section runs on; another one restarts it.
    fn reload<'a>(
        &'a self,
        running: Push,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, (Option<Push>, Option<String>)> {
        Box::pin(async move {
            if running.config == *self {
                return (Some(running), None);
            }
            running.stop().await;
            match Push::start(self, ctx) {
                Ok(p) => (Some(p), Some("push restarted (its queue stays on disk)".into())),
                Err(e) => (None, Some(off("push", Self::SHOWS, &e))),
            }
        })
    }

    fn stop(running: Push) -> PartFuture<'static, ()> {
        Box::pin(running.stop())
    }


    /// A `ca_file` that cannot be read leaves push off: an error here.
    fn preflight(&self) -> (Vec<String>, Vec<String>) {
        let errors = client(self, &crate::probe::SharedClient::default())
            .err()
            .map(|e| format!("{e:#}; `run` would start without push"));
        (errors.into_iter().collect(), Vec::new())
    }
}

/// The client for `p`: the shared one, or one with its settings that also trusts `ca_file`.
fn client(
    p: &PushConfig,
    shared: &crate::probe::SharedClient,
) -> anyhow::Result<reqwest::Client> {
    let Some(path) = &p.ca_file else {
        return shared.get().map_err(anyhow::Error::msg);
    };
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read push.ca_file {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|c| !c.is_empty())
        .with_context(|| format!("push.ca_file {} holds no PEM certificate", path.display()))?;
    Ok(crate::probe::http_client_trusting(certs)?)
}

#[cfg(test)]
mod tests {
    use crate::daemon::config::Config;

    fn preflight(c: &Config) -> Option<String> {
        c.surfaces.preflight().0.into_iter().next()
    }

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
