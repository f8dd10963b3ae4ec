//! Sending the queue to the receiver, oldest batch first, one at a time so
//! that a receiver that refuses out-of-order samples takes them all.
//!
//! A batch the receiver took leaves the queue. A 429, a 5xx or no answer at
//! all keeps it for another try after a backoff (the receiver's
//! `Retry-After` if it gave one; at once when the internet comes back after
//! an outage). Any other answer refuses it for good: it is dropped and
//! counted, and a run of such refusals is said in one journal line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::config::{Auth, PushConfig};
use super::encode::Batch;
use super::metrics::PushMetrics;
use super::queue::Queue;
use crate::daemon::live::LiveView;
use crate::util::Backoff;

/// The first wait after a failed try; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What the receiver made of one batch.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Taken (2xx).
    Taken,
    /// Try again later: a 429, a 5xx, or no answer; `wait` if the receiver said.
    Later { wait: Option<Duration>, why: String },
    /// Refused for good (a 4xx other than 429, or a redirect).
    Refused { status: u16, why: String },
}

/// Where and how batches are sent.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    config: Arc<PushConfig>,
}

impl Sender {
    /// Sends through `http` as `config` says.
    pub fn new(http: reqwest::Client, config: Arc<PushConfig>) -> Sender {
        Sender { http, config }
    }

    /// The receiver's URL as the journal may show it.
    pub fn shown(&self) -> String {
        crate::util::redact_url(&self.config.remote_write_url)
    }

    /// POSTs one batch as the remote write protocol (1.0) asks.
    pub async fn send(&self, batch: Batch) -> Answer {
        let mut req = self
            .http
            .post(self.config.remote_write_url.clone())
            .header(CONTENT_ENCODING, "snappy")
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(
                "X-Prometheus-Remote-Write-Version",
                HeaderValue::from_static("0.1.0"),
            )
            .timeout(self.config.timeout)
            .body(batch.body);
        req = match &self.config.auth {
            Auth::None {} => req,
            Auth::Basic {
                basic_auth_user,
                basic_auth_password,
            } => req.basic_auth(basic_auth_user, Some(basic_auth_password.expose())),
            Auth::Bearer { bearer_token } => req.bearer_auth(bearer_token.expose()),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let why = crate::util::redact(&crate::util::error_chain(&e.without_url()));
                return Answer::Later { wait: None, why };
            }
        };
        let status = resp.status();
        let wait = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp.bytes().await.unwrap_or_default();
        let excerpt: String = String::from_utf8_lossy(&text).chars().take(200).collect();
        let why = format!("HTTP {}: {}", status.as_u16(), excerpt.trim());
        if status.is_success() {
            Answer::Taken
        } else if status.as_u16() == 429 || status.is_server_error() {
            Answer::Later { wait, why }
        } else {
            Answer::Refused {
                status: status.as_u16(),
                why,
            }
        }
    }
}

/// What the sending task shares with the sampler.
pub struct Shared {
    pub queue: Arc<Mutex<Queue>>,
    /// A batch was queued.
    pub more: Notify,
    pub metrics: PushMetrics,
}

/// The journal's memory of what it said, so that a run of failures is one line.
#[derive(Default)]
struct Said {
    /// Since when tries fail, and why the first did.
    failing: Option<(chrono::DateTime<chrono::Utc>, String)>,
    /// A run of refusals: the status, batches and samples dropped.
    refused: Option<(u16, u64, u64)>,
}

/// Sends the queue until `token` is cancelled; `live` and its `checks` tell
/// when the internet comes back.
pub async fn run(
    sender: Sender,
    shared: Arc<Shared>,
    live: Arc<LiveView>,
    mut checks: watch::Receiver<u64>,
    token: CancellationToken,
) {
    let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_MAX);
    let mut said = Said::default();
    let mut was_down = false;
    // The queue's front (a batch, or none) as taken with the last batch's
    // end. None waits for `more`: a batch queued since has left its permit.
    let mut next = None;
    loop {
        let more = shared.more.notified();
        let front = match next.take() {
            Some(front) => front,
            None => with_queue(&shared, Queue::front).await,
        };
        let Some((seq, batch)) = front else {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = more => continue,
            }
        };
        let (samples, at_ms) = (batch.samples, batch.at_ms);
        let answer = tokio::select! {
            _ = token.cancelled() => {
                with_queue(&shared, Queue::release).await;
                return;
            }
            a = sender.send(batch) => a,
        };
        match answer {
            Answer::Taken => {
                // The next batch in the same trip to the blocking pool: a
                // sample is some 16 batches, sent one after another.
                let front = with_queue(&shared, move |q| {
                    q.done(seq);
                    q.front()
                })
                .await;
                next = Some(front);
                shared.metrics.sent.inc_by(u64::from(samples));
                backoff.succeeded();
                was_down = false;
                tracing::debug!("push: sent {samples} samples taken at {}", shown_ms(at_ms));
                said.taken(&sender);
            }
            Answer::Refused { status, why } => {
                with_queue(&shared, move |q| q.done(seq)).await;
                shared.metrics.dropped("refused", u64::from(samples));
                said.refused(&sender, status, &why, samples, at_ms);
            }
            Answer::Later { wait, why } => {
                with_queue(&shared, Queue::release).await;
                said.failed(&sender, &why);
                let delay = backoff.failed(wait);
                tracing::debug!("push: next try in {}", crate::timefmt::spelled(delay));
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                    () = internet_back(|| live.pulse().reachable, &mut checks, &mut was_down) => {}
                }
            }
        }
    }
}

/// Waits for a check that finds the internet `reachable` after one that did
/// not: the receiver is worth a try at once, whatever the backoff says.
/// `was_down` outlives one wait: a check that found the internet down while
/// a try was under way, or during an earlier wait, still counts.
async fn internet_back(
    reachable: impl Fn() -> bool,
    checks: &mut watch::Receiver<u64>,
    was_down: &mut bool,
) {
    loop {
        // The last check, which may have come while no one was waiting.
        *was_down |= !reachable();
        if checks.changed().await.is_err() {
            return std::future::pending().await;
        }
        if reachable() && *was_down {
            *was_down = false;
            return;
        }
    }
}

impl Said {
    fn taken(&mut self, sender: &Sender) {
        if let Some((since, _)) = self.failing.take() {
            tracing::info!(
                "push: {} takes samples again (unreachable since {}); the queued ones follow, oldest first",
                sender.shown(),
                crate::timefmt::rfc3339_local(since)
            );
        }
        if let Some((status, batches, samples)) = self.refused.take() {
            tracing::info!(
                "push: {} takes samples again; before, it refused {batches} batches ({samples} samples) with HTTP {status}, dropped",
                sender.shown()
            );
        }
    }

    fn refused(&mut self, sender: &Sender, status: u16, why: &str, samples: u32, at_ms: i64) {
        self.failing = None;
        match &mut self.refused {
            Some((s, batches, n)) if *s == status => {
                *batches += 1;
                *n += u64::from(samples);
            }
            _ => {
                tracing::error!(
                    "push: {} refused {samples} samples taken at {} ({why}); they are dropped, not sent again, \
                     and further refusals are counted in connectivity_monitor_push_samples_dropped_total{{reason=\"refused\"}}",
                    sender.shown(),
                    shown_ms(at_ms)
                );
                self.refused = Some((status, 1, u64::from(samples)));
            }
        }
    }

    fn failed(&mut self, sender: &Sender, why: &str) {
        if self.failing.is_none() {
            tracing::warn!(
                "push: cannot deliver to {} ({why}); samples wait in the queue on disk and are sent once it answers",
                sender.shown()
            );
            self.failing = Some((chrono::Utc::now(), why.to_owned()));
        } else {
            tracing::debug!("push: still cannot deliver ({why})");
        }
    }
}

/// Runs `f` on the queue on a blocking thread (the queue reads and writes
/// files), and gives its size to the metrics while it is still locked, so
/// that a size the sampler gave meanwhile is never overwritten by an older one.
async fn with_queue<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut Queue) -> T + Send + 'static,
) -> T {
    let s = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let mut queue = s.queue.lock().expect("queue lock");
        let out = f(&mut queue);
        s.metrics.queue_bytes.set(queue.bytes() as i64);
        out
    })
    .await
    .expect("a queue operation does not panic")
}

/// A sample time for the journal.
fn shown_ms(at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .map_or_else(|| at_ms.to_string(), crate::timefmt::rfc3339_local)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Whether `internet_back` returns at once, without a further check.
    async fn wakes(
        up: &AtomicBool,
        checks: &mut watch::Receiver<u64>,
        was_down: &mut bool,
    ) -> bool {
        let back = internet_back(|| up.load(Ordering::SeqCst), checks, was_down);
        tokio::time::timeout(Duration::from_millis(50), back)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn the_internet_back_wakes_the_sender_though_the_cut_was_seen_outside_the_wait() {
        let up = AtomicBool::new(true);
        let (tick, mut checks) = watch::channel(0u64);
        let mut was_down = false;
        let check = |reachable: bool| {
            up.store(reachable, Ordering::SeqCst);
            tick.send_modify(|n| *n += 1);
        };
        // The receiver alone is down: good checks are no reason to hurry.
        check(true);
        assert!(!wakes(&up, &mut checks, &mut was_down).await);
        // The line went down during a wait; it comes back while a try is under way.
        check(false);
        assert!(!wakes(&up, &mut checks, &mut was_down).await);
        check(true);
        assert!(wakes(&up, &mut checks, &mut was_down).await, "back during a try");
        // Down when the try failed (seen by no wait), back at the next check.
        up.store(false, Ordering::SeqCst);
        checks.borrow_and_update();
        let waiting = internet_back(|| up.load(Ordering::SeqCst), &mut checks, &mut was_down);
        let (woke, ()) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(5), waiting),
            async { check(true) }
        );
        assert!(woke.is_ok(), "the first good check after a bad one");
        assert!(!was_down, "said once");
    }
}
