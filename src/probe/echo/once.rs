//! One round of echoes for `once`: the engine driven by hand until every
//! probe has its report.

use std::time::Duration;

use tokio::time::Instant;

use super::{EchoProbe, Engine};
use crate::probe::schedule::Timing;
use crate::probe::{Failure, Host, Outcome, ProbeResult};

/// One round of `probes` (`count` echoes each to `host`), all at once, for
/// `once`: the results in the order given.
pub async fn one_round(probes: &[(Host, u32)], timeout: Duration) -> Vec<ProbeResult> {
    let timing = Timing::new(Instant::now(), timeout * 2, timeout, 1);
    let mut engine = Engine::new(timing);
    let mut out: Vec<ProbeResult> =
        vec![ProbeResult::new(Outcome::Down(Failure::Timeout)); probes.len()];
    for (host, _) in probes {
        if let Err(e) = engine.open(host.family()) {
            return vec![ProbeResult::new(Outcome::Down(Failure::Io(e.to_string()))); probes.len()];
        }
    }
    let echo = probes
        .iter()
        .enumerate()
        .map(|(i, (host, count))| EchoProbe {
            id: i as u64,
            host: *host,
            count: *count,
            offset: Duration::ZERO,
            first_round: 0,
        })
        .collect();
    engine.set(echo, timing);
    let mut done = Vec::new();
    let mut left = probes.len();
    while left > 0 {
        engine.run_due(Instant::now(), &mut done);
        for r in done.drain(..).filter(|r| r.round == 0) {
            out[r.id as usize] = r.result;
            left -= 1;
        }
        let until = engine.next_due();
        if engine.wait(until).await.is_err() {
            break;
        }
        engine.answered();
    }
    out
}
