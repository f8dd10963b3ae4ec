//! ICMP echo through surge-ping: one shared socket per address family.
//!
//! surge-ping tries an unprivileged datagram socket first (allowed by
//! `net.ipv4.ping_group_range`) and falls back to a raw one (needs CAP_NET_RAW).
//! Capability is found by trying, since `ProcSubset=pid` may hide `/proc/sys`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use surge_ping::{Client, Config, PingIdentifier, PingSequence, SurgeError, ICMP};

use super::{Failure, IcmpStats, Outcome, ProbeResult, Rtt};

/// Gap between the echo requests of one probe, so they are not one burst.
const ECHO_SPACING: Duration = Duration::from_millis(20);
const PAYLOAD: [u8; 16] = *b"connectivity-mon";

pub struct Icmp {
    v4: OnceLock<Result<Client, String>>,
    v6: OnceLock<Result<Client, String>>,
    /// Replies are matched by (host, sequence) on datagram sockets, where the
    /// kernel owns the identifier, so sequences are unique across all probes.
    seq: AtomicU16,
    ident: PingIdentifier,
}

impl Icmp {
    pub fn new() -> Icmp {
        Icmp {
            v4: OnceLock::new(),
            v6: OnceLock::new(),
            seq: AtomicU16::new(fastrand::u16(..)),
            ident: PingIdentifier(fastrand::u16(..)),
        }
    }

    /// The shared client of one family, opened on first use (inside the runtime).
    pub fn client(&self, v6: bool) -> Result<&Client, String> {
        let (cell, kind) = if v6 {
            (&self.v6, ICMP::V6)
        } else {
            (&self.v4, ICMP::V4)
        };
        cell.get_or_init(|| {
            Client::new(&Config::builder().kind(kind).build()).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Sends `count` echoes to `addr` and summarises the replies.
    pub async fn probe(
        &self,
        addr: IpAddr,
        scope: u32,
        count: u32,
        timeout: Duration,
    ) -> ProbeResult {
        let client = match self.client(addr.is_ipv6()) {
            Ok(c) => c,
            Err(e) => return with_addr(Outcome::Down(Failure::Io(e)), None, addr),
        };
        let mut rtts = Vec::with_capacity(count as usize);
        let mut last_failure = Failure::Timeout;
        let mut sent = 0;
        let start = tokio::time::Instant::now();
        // Unanswered echoes must give up before the probe's own bound does,
        // or the answered ones would be lost with them.
        let deadline = timeout.mul_f64(0.9);
        if count == 1 {
            // The common case with many targets: no extra task for a single echo.
            let mut p = client.pinger(addr, self.ident).await;
            p.scope_id(scope).timeout(deadline);
            let seq = PingSequence(self.seq.fetch_add(1, Ordering::Relaxed));
            match p.ping(seq, &PAYLOAD).await {
                Ok((_, rtt)) => rtts.push(rtt),
                Err(e) => last_failure = failure(e),
            }
            return summarise(1, &rtts, last_failure, addr);
        }
        let mut pending = tokio::task::JoinSet::new();
        // All echoes go out in the first half of the time, so each has time to come back.
        let spacing = ECHO_SPACING.min(deadline / (2 * count.max(1)));
        for i in 0..count {
            let offset = spacing * i;
            let remaining = deadline.saturating_sub(offset);
            if remaining.is_zero() {
                break;
            }
            let mut p = client.pinger(addr, self.ident).await;
            p.scope_id(scope).timeout(remaining);
            let seq = PingSequence(self.seq.fetch_add(1, Ordering::Relaxed));
            sent += 1;
            pending.spawn(async move {
                tokio::time::sleep_until(start + offset).await;
                p.ping(seq, &PAYLOAD).await.map(|(_, rtt)| rtt)
            });
        }
        while let Some(joined) = pending.join_next().await {
            match joined {
                Ok(Ok(rtt)) => rtts.push(rtt),
                Ok(Err(e)) => last_failure = failure(e),
                Err(e) => last_failure = Failure::Io(e.to_string()),
            }
        }
        summarise(sent, &rtts, last_failure, addr)
    }
}

fn summarise(sent: u32, rtts: &[Duration], last_failure: Failure, addr: IpAddr) -> ProbeResult {
    let stats = stats(sent, rtts);
    let outcome = match stats.avg {
        Some(rtt) => Outcome::Up { rtt },
        None => Outcome::Down(last_failure),
    };
    with_addr(outcome, Some(stats), addr)
}

fn with_addr(outcome: Outcome, icmp: Option<IcmpStats>, addr: IpAddr) -> ProbeResult {
    ProbeResult {
        outcome,
        icmp,
        addr: Some(addr),
    }
}

fn failure(e: SurgeError) -> Failure {
    match e {
        SurgeError::Timeout { .. } => Failure::Timeout,
        SurgeError::IOError(io) => Failure::of_io(&io),
        other => Failure::Io(other.to_string()),
    }
}

/// min/avg/max/mdev as ping(8) computes them.
pub fn stats(sent: u32, rtts: &[Duration]) -> IcmpStats {
    let received = rtts.len() as u32;
    if rtts.is_empty() {
        return IcmpStats {
            sent,
            received,
            min: None,
            avg: None,
            max: None,
            mdev: None,
        };
    }
    let secs: Vec<f64> = rtts.iter().map(Duration::as_secs_f64).collect();
    let n = secs.len() as f64;
    let avg = secs.iter().sum::<f64>() / n;
    let sq = secs.iter().map(|s| s * s).sum::<f64>() / n;
    let mdev = (sq - avg * avg).max(0.0).sqrt();
    let rtt = |s: f64| Some(Rtt(Duration::from_secs_f64(s)));
    IcmpStats {
        sent,
        received,
        min: rtt(secs.iter().copied().fold(f64::INFINITY, f64::min)),
        avg: rtt(avg),
        max: rtt(secs.iter().copied().fold(0.0, f64::max)),
        mdev: rtt(mdev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_ping_formulas() {
        let ms = |m: u64| Duration::from_millis(m);
        let s = stats(4, &[ms(10), ms(20), ms(30)]);
        assert_eq!((s.sent, s.received), (4, 3));
        assert_eq!(s.min.unwrap().0, ms(10));
        assert_eq!(s.max.unwrap().0, ms(30));
        assert!((s.avg.unwrap().as_ms() - 20.0).abs() < 1e-9);
        // sqrt(mean(x^2) - mean(x)^2) = sqrt(466.67 - 400) = 8.165 ms
        assert!((s.mdev.unwrap().as_ms() - 8.164_965).abs() < 1e-3);
    }

    #[test]
    fn no_replies_means_no_rtt() {
        let s = stats(3, &[]);
        assert_eq!(s.received, 0);
        assert!(s.avg.is_none());
    }
}
