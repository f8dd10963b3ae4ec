//! TCP connect probe.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Failure, Outcome, Rtt};

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
