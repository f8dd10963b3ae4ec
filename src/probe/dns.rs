//! DNS probes (`dns`, `dns:aaaa`): one A or AAAA query sent straight to a server over UDP, not through the
//! system resolver, so that each server's answer is seen as it is.
//!
//! hickory-proto builds and parses the messages; only the socket is ours.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::hedge::hedged;
use super::kinds::Kind;
use super::{Failure, Host, Outcome, ProbeResult, Prober, Rtt};
use crate::config::{DnsType, Family};

/// A DNS query sent straight to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The server.
    pub server: SocketAddr,
    /// The name.
    pub name: String,
    /// The question: A or AAAA.
    pub qtype: DnsType,
}

impl Kind for Query {
    fn name(&self) -> String {
        match self.qtype {
            DnsType::A => "dns".into(),
            DnsType::Aaaa => "dns:aaaa".into(),
        }
    }

    fn host(&self) -> Option<Host> {
        None
    }

    fn family(&self) -> Option<Family> {
        Some(Family::of(self.server.ip()))
    }

    fn global_ipv6(&self) -> bool {
        !self.server.ip().is_loopback()
    }

    async fn attempt(&self, _: &Prober, timeout: Duration) -> ProbeResult {
        let (server, name, qtype) = (self.server, Arc::new(self.name.clone()), self.qtype);
        ProbeResult::new(hedged(timeout, move || query(server, Arc::clone(&name), qtype)).await)
    }
}

/// Asks `server` for `name`'s records of `qtype`. The caller bounds the time.
pub async fn query(server: SocketAddr, name: Arc<String>, qtype: DnsType) -> Outcome {
    match try_query(server, &name, qtype).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Down(Failure::of_io(&e)),
    }
}

async fn try_query(server: SocketAddr, name: &str, qtype: DnsType) -> std::io::Result<Outcome> {
    let fqdn = match Name::from_str(name) {
        Ok(mut n) => {
            n.set_fqdn(true);
            n
        }
        Err(e) => return Ok(Outcome::Down(Failure::DnsOther(e.to_string()))),
    };
    let id: u16 = fastrand::u16(..);
    let mut msg = Message::new();
    msg.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Question::query(
            fqdn,
            match qtype {
                DnsType::A => RecordType::A,
                DnsType::Aaaa => RecordType::AAAA,
            },
        ));
    let bytes = msg
        .to_vec()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(server).await?;
    let start = Instant::now();
    sock.send(&bytes).await?;
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await?;
        let Ok(reply) = Message::from_vec(&buf[..n]) else {
            continue; // not a DNS message; keep waiting for ours
        };
        if reply.id() != id || reply.message_type() != MessageType::Response {
            continue;
        }
        let rtt = Rtt(start.elapsed());
        return Ok(match reply.response_code() {
            ResponseCode::NoError => Outcome::Up { rtt },
            ResponseCode::ServFail => Outcome::Down(Failure::DnsServFail),
            ResponseCode::NXDomain => Outcome::Down(Failure::DnsNxDomain),
            ResponseCode::Refused => Outcome::Down(Failure::DnsRefused),
            other => Outcome::Down(Failure::DnsOther(other.to_string())),
        });
    }
}
