//! Hedged attempts: one lost packet must not fail a probe whose timeout leaves
//! room to try again.

use std::time::Duration;

use super::{Failure, Outcome};

/// Attempts per probe at most: a new one starts every `timeout / HEDGES` while none has answered.
const HEDGES: u32 = 4;

/// Runs `attempt` and, while no answer has come, starts another every
/// `timeout / HEDGES`; the first answer wins and the rest are dropped.
///
/// One lost packet (a SYN, a DNS query) must not fail a check whose timeout
/// leaves room to try again: TCP itself would retry a SYN only after 1 s.
/// On a healthy line the first attempt answers and no other is sent.
pub async fn hedged<F, Fut>(timeout: Duration, attempt: F) -> Outcome
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let spacing = timeout / HEDGES;
    let mut set = tokio::task::JoinSet::new();
    let mut last;
    let mut next = tokio::time::Instant::now();
    let mut started = 0;
    loop {
        if started < HEDGES && tokio::time::Instant::now() >= next {
            set.spawn(attempt());
            started += 1;
            next += spacing;
        }
        tokio::select! {
            Some(joined) = set.join_next() => {
                match joined {
                    Ok(o) if is_answer(&o) => return o,
                    Ok(o) => last = o,
                    Err(e) => last = Outcome::Down(Failure::Io(e.to_string())),
                }
                if set.is_empty() && started == HEDGES {
                    return last;
                }
            }
            _ = tokio::time::sleep_until(next), if started < HEDGES => {}
        }
    }
}

/// An outcome that another attempt would not change: a good answer, or one
/// the far end gave on purpose (a refusal, a DNS error code, an HTTP status).
fn is_answer(o: &Outcome) -> bool {
    match o {
        Outcome::Up { .. } => true,
        Outcome::Down(f) => matches!(
            f,
            Failure::Refused
                | Failure::DnsServFail
                | Failure::DnsNxDomain
                | Failure::DnsRefused
                | Failure::DnsOther(_)
                | Failure::HttpStatus(_)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use tokio::time::Instant;

    use super::*;
    use crate::probe::Rtt;

    /// An attempt that answers `after` its start (or never), counting starts.
    fn attempt(
        starts: &Arc<AtomicU32>,
        after: Option<Duration>,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>> {
        let starts = Arc::clone(starts);
        move || {
            starts.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match after {
                    Some(d) => {
                        tokio::time::sleep(d).await;
                        Outcome::Up { rtt: Rtt(d) }
                    }
                    None => std::future::pending().await,
                }
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_prompt_answer_sends_one_attempt() {
        let starts = Arc::new(AtomicU32::new(0));
        let o = hedged(
            Duration::from_millis(400),
            attempt(&starts, Some(Duration::from_millis(50))),
        )
        .await;
        assert!(matches!(o, Outcome::Up { .. }));
        assert_eq!(starts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn silence_starts_an_attempt_every_quarter_timeout_and_no_more() {
        let starts = Arc::new(AtomicU32::new(0));
        let t0 = Instant::now();
        let bounded = tokio::time::timeout(
            Duration::from_millis(400),
            hedged(Duration::from_millis(400), attempt(&starts, None)),
        );
        tokio::pin!(bounded);
        for (at_ms, expect) in [(1, 1), (101, 2), (201, 3), (301, 4)] {
            tokio::time::sleep_until(t0 + Duration::from_millis(at_ms)).await;
            tokio::select! {
                biased;
                _ = &mut bounded => panic!("ended early"),
                _ = std::future::ready(()) => {}
            }
            assert_eq!(starts.load(Ordering::SeqCst), expect, "at {at_ms} ms");
        }
        assert!(bounded.await.is_err(), "the caller's timeout ends it");
        assert_eq!(starts.load(Ordering::SeqCst), HEDGES);
    }
}
