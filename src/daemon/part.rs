//! What every part of the daemon is ([`Part`]: checked, reloaded and stopped
//! with the config), a part's one task ([`Background`]), and stopping them all.

use std::future::Future;
use std::pin::Pin;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::Config;

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

/// Stops every part in order, each even when an earlier one failed: a part
/// that cannot stop cleanly must not leave the rest running. Every failure is
/// logged, and all of them are returned together.
pub async fn stop_all(parts: Vec<Box<dyn Part>>) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for part in parts {
        if let Err(e) = part.stop().await {
            tracing::error!("stopping: {e:#}");
            failures.push(format!("{e:#}"));
        }
    }
    match failures.len() {
        0 => Ok(()),
        1 => anyhow::bail!("{}", failures[0]),
        n => anyhow::bail!("{n} parts did not stop cleanly: {}", failures.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// A part that notes its stop, and fails it if told to.
    struct Noted {
        name: &'static str,
        fails: bool,
        stopped: Rc<RefCell<Vec<&'static str>>>,
    }

    impl Part for Noted {
        fn reload<'a>(
            &'a mut self,
            _: &'a Config,
            _: &'a Config,
        ) -> PartFuture<'a, Option<String>> {
            Box::pin(async { None })
        }

        fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
            Box::pin(async move {
                self.stopped.borrow_mut().push(self.name);
                if self.fails {
                    anyhow::bail!("{} could not stop", self.name);
                }
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn every_part_stops_though_earlier_ones_fail_and_every_failure_is_said() {
        let stopped = Rc::new(RefCell::new(Vec::new()));
        let part = |name, fails| -> Box<dyn Part> {
            Box::new(Noted {
                name,
                fails,
                stopped: Rc::clone(&stopped),
            })
        };
        let parts = vec![
            part("sensors", true),
            part("pipeline", false),
            part("alerts", true),
            part("status", false),
        ];
        let e = stop_all(parts).await.unwrap_err().to_string();
        assert_eq!(
            *stopped.borrow(),
            ["sensors", "pipeline", "alerts", "status"]
        );
        assert_eq!(
            e,
            "2 parts did not stop cleanly: sensors could not stop; alerts could not stop"
        );
        assert!(stop_all(vec![part("one", false)]).await.is_ok());
    }
}
