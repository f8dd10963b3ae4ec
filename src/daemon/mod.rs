//! The daemon as a composition of parts. Each part starts from the config,
//! applies a new config on reload (it alone decides what a change means for
//! it), and stops in the documented order.
//!
//! - [`pipeline`]: probes → monitor → the update stream, with the durable CSV sinks.
//! - [`alerts`]: the condition driver (outages, log silence), the outbox and channels.
//! - [`status`]: systemd's `STATUS=` line and the health-gated watchdog.
//! - [`path`]: path traces on failures and as a baseline; route changes.
//! - [`sensors`]: disk, memory and SSH sensors reporting to the alert driver.
//! - [`surfaces`]: the live view ([`live`]: state, history, [`today`]'s
//!   availability, [`metrics`]) behind [`serve`] (status page, JSON API with
//!   [`outages`], /metrics; [`conn`] bounds its clients) and [`mqtt`] (Home
//!   Assistant, whose entities [`ha`] describes), started, reloaded and stopped as one.
//!
//! A new surface (status page, metrics, MQTT) or sensor is one more part: it
//! takes a live receiver (or, for one that must not lose anything, a durable
//! queue) from the [`Hub`](crate::monitor::Hub) at start, and is added to the
//! list in `cmd::run`.

pub mod alerts;
pub mod conn;
pub mod exposition;
pub mod ha;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod outages;
pub mod path;
pub mod pipeline;
pub mod sensors;
pub mod serve;
pub mod status;
pub mod surfaces;
pub mod today;

use std::future::Future;
use std::pin::Pin;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// A part's one task, running until its token is cancelled.
pub struct Background {
    token: CancellationToken,
    task: JoinHandle<()>,
}

impl Background {
    /// Spawns the task `run` makes from the token that will stop it.
    pub fn spawn<F>(run: impl FnOnce(CancellationToken) -> F) -> Background
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let token = CancellationToken::new();
        let task = tokio::spawn(run(token.clone()));
        Background { token, task }
    }

    /// Cancels the task and waits for it to finish.
    pub fn stop(self) -> PartFuture<'static, anyhow::Result<()>> {
        self.token.cancel();
        Box::pin(async move {
            let _ = self.task.await;
            Ok(())
        })
    }
}

/// A future that borrows the part; the runtime is single-threaded, so no `Send`.
pub type PartFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One part of the running daemon.
pub trait Part {
    /// Checks that `new` can be applied (sockets it needs, say) without changing anything.
    fn check(&self, _new: &Config) -> anyhow::Result<()> {
        Ok(())
    }

    /// Applies `new` (already checked by every part); returns a few words for
    /// the reload line of the journal, if there is something to say.
    fn reload<'a>(&'a mut self, old: &'a Config, new: &'a Config)
        -> PartFuture<'a, Option<String>>;

    /// Stops, finishing what must be finished (rows written, state saved).
    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>>;
}
