//! TCP connect probes (`tcp:PORT`).

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::num::NonZeroU16;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::hedge::hedged;
use super::kinds::{HostKind, Kind};
use super::{resolve, Failure, Host, Outcome, ProbeResult, Prober, Rtt};

/// A TCP connect to a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect {
    /// Where to.
    pub host: Host,
    /// Which port.
    pub port: u16,
}

impl Kind for Connect {
    fn name(&self) -> String {
        format!("tcp:{}", self.port)
    }

    fn host(&self) -> Option<Host> {
        Some(self.host)
    }

    async fn attempt(&self, _: &Prober, timeout: Duration) -> ProbeResult {
        let Some((addr, scope)) = resolve(self.host) else {
            return ProbeResult::new(Outcome::Down(Failure::NoRoute));
        };
        let port = self.port;
        let mut r = ProbeResult::new(hedged(timeout, move || connect(addr, scope, port)).await);
        r.addr = Some(addr);
        r
    }
}

impl HostKind for Connect {
    const FORM: &'static str = "\"tcp:PORT\" with PORT from 1 to 65535";
    const EXAMPLE: &'static str = "tcp:443";

    fn from_word(word: &str, host: Host, _: u32) -> Option<Connect> {
        let port = word.strip_prefix("tcp:")?.parse::<NonZeroU16>().ok()?;
        Some(Connect {
            host,
            port: port.get(),
        })
    }
}

/// Connects to `addr:port`; the handshake time is the RTT. The caller bounds the time.
pub async fn connect(addr: IpAddr, scope: u32, port: u16) -> Outcome {
    let target = match addr {
        IpAddr::V6(v6) if scope != 0 => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)),
        _ => SocketAddr::new(addr, port),
    };
    let start = Instant::now();
    match TcpStream::connect(target).await {
        Ok(_) => Outcome::Up {
            rtt: Rtt(start.elapsed()),
        },
        Err(e) => Outcome::Down(Failure::of_io(&e)),
    }
}
