//! One ICMP datagram socket for one trace: echo requests sent with a chosen
//! TTL (hop limit); echo replies read as data; Time Exceeded and Unreachable
//! read from the socket's error queue, where the kernel puts them with the
//! address of the router that sent them (IP_RECVERR), so no capability is
//! needed: the same unprivileged socket `ping` uses (`ping_group_range`).

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

/// What came back for one echo request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The sequence number of the echo it answers.
    pub seq: u16,
    /// Who answered: a router on the way, or the destination.
    pub from: IpAddr,
    /// When it arrived.
    pub at: Instant,
    /// The destination itself answered (an echo reply).
    pub reached: bool,
}

/// The socket of one trace.
pub struct TraceSocket {
    fd: AsyncFd<Socket>,
    dest: IpAddr,
}

impl TraceSocket {
    /// Opens a datagram ICMP socket towards `dest` with the error queue on.
    pub fn open(dest: IpAddr) -> std::io::Result<TraceSocket> {
        let (domain, proto) = match dest {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let sock = Socket::new(domain, Type::DGRAM, Some(proto))?;
        sock.set_nonblocking(true)?;
        match dest {
            IpAddr::V4(_) => setsockopt(&sock, sockopt::Ipv4RecvErr, &true),
            IpAddr::V6(_) => setsockopt(&sock, sockopt::Ipv6RecvErr, &true),
        }
        .map_err(std::io::Error::from)?;
        // Deprecated because a registered fd could be closed behind the
        // reactor's back; here the socket is owned by the AsyncFd and closed
        // only when it is dropped, so the safe constructor is sound (the
        // replacement is `unsafe`, which this crate forbids).
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(sock, Interest::READABLE | Interest::ERROR)?;
        Ok(TraceSocket { fd, dest })
    }

    /// Sends echo request `seq` with time-to-live `ttl`.
    pub fn send(&self, seq: u16, ttl: u8) -> std::io::Result<()> {
        let sock = self.fd.get_ref();
        match self.dest {
            IpAddr::V4(_) => sock.set_ttl_v4(u32::from(ttl))?,
            IpAddr::V6(_) => sock.set_unicast_hops_v6(u32::from(ttl))?,
        }
        let kind = if self.dest.is_ipv6() { 128 } else { 8 };
        // Type, code, checksum and identifier are the kernel's to fill on a
        // datagram socket; the sequence number is ours.
        let mut packet = [0u8; 24];
        packet[0] = kind;
        packet[6..8].copy_from_slice(&seq.to_be_bytes());
        packet[8..].copy_from_slice(b"cm-path-trace-\0\0");
        let to = SockAddr::from(SocketAddr::new(self.dest, 0));
        // A send reports an earlier probe's ICMP error instead of sending (the
        // error is then consumed; its details wait in the error queue): send again.
        for _ in 0..8 {
            match sock.send_to(&packet, &to) {
                Err(e)
                    if e.raw_os_error()
                        .is_some_and(|n| is_network_error(nix::errno::Errno::from_raw(n))) =>
                {
                    continue
                }
                r => return r.map(drop),
            }
        }
        Ok(())
    }

    /// Waits for the next answers (replies or errors); returns at least one, or an error.
    pub async fn next(&self) -> std::io::Result<Vec<Answer>> {
        loop {
            tokio::select! {
                guard = self.fd.ready(Interest::READABLE) => {
                    let mut guard = guard?;
                    let got = self.drain_replies()?;
                    guard.clear_ready_matching(tokio::io::Ready::READABLE);
                    if !got.is_empty() {
                        return Ok(got);
                    }
                }
                guard = self.fd.ready(Interest::ERROR) => {
                    let mut guard = guard?;
                    let got = self.drain_errors()?;
                    guard.clear_ready_matching(tokio::io::Ready::ERROR);
                    if !got.is_empty() {
                        return Ok(got);
                    }
                }
            }
        }
    }

    /// Echo replies waiting as data.
    fn drain_replies(&self) -> std::io::Result<Vec<Answer>> {
        let reply = if self.dest.is_ipv6() { 129 } else { 0 };
        let mut out = Vec::new();
        while let Some((data, from, _)) = self.receive(MsgFlags::MSG_DONTWAIT)? {
            if let (Some(from), true) = (from, data.len() >= 8 && data[0] == reply) {
                out.push(Answer {
                    seq: u16::from_be_bytes([data[6], data[7]]),
                    from,
                    at: Instant::now(),
                    reached: true,
                });
            }
        }
        Ok(out)
    }

    /// Time Exceeded and Unreachable messages from the error queue.
    fn drain_errors(&self) -> std::io::Result<Vec<Answer>> {
        let mut out = Vec::new();
        let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
        while let Some((data, _, offender)) = self.receive(flags)? {
            // The data is the echo request that met the error: its sequence is ours.
            if let (Some(from), true) = (offender, data.len() >= 8) {
                out.push(Answer {
                    seq: u16::from_be_bytes([data[6], data[7]]),
                    from,
                    at: Instant::now(),
                    reached: from == self.dest,
                });
            }
        }
        Ok(out)
    }

    /// One message: its data, its sender, and the offender of an error-queue
    /// message; `None` when nothing is waiting.
    #[allow(clippy::type_complexity)]
    fn receive(
        &self,
        flags: MsgFlags,
    ) -> std::io::Result<Option<(Vec<u8>, Option<IpAddr>, Option<IpAddr>)>> {
        let raw = self.fd.get_ref().as_raw_fd();
        let mut data = [0u8; 512];
        let mut iov = [IoSliceMut::new(&mut data)];
        let mut cmsg = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in6);
        let msg = match recvmsg::<SockaddrStorage>(raw, &mut iov, Some(&mut cmsg), flags) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            // With IP_RECVERR a plain read reports a queued ICMP error once;
            // its details wait in the error queue, read next.
            Err(e) if is_network_error(e) => return Ok(Some((Vec::new(), None, None))),
            Err(e) => return Err(e.into()),
        };
        let from = msg.address.as_ref().and_then(ip_of);
        let mut offender = None;
        for c in msg.cmsgs().map_err(std::io::Error::from)? {
            match c {
                ControlMessageOwned::Ipv4RecvErr(_, Some(a)) => {
                    offender = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))));
                }
                ControlMessageOwned::Ipv6RecvErr(_, Some(a)) => {
                    offender = Some(IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        let n = msg.bytes;
        Ok(Some((data[..n.min(data.len())].to_vec(), from, offender)))
    }
}

/// An error the network caused (and the error queue explains), not the socket.
fn is_network_error(e: nix::errno::Errno) -> bool {
    use nix::errno::Errno::*;
    matches!(
        e,
        EHOSTUNREACH
            | ENETUNREACH
            | EHOSTDOWN
            | ENETDOWN
            | ECONNREFUSED
            | EMSGSIZE
            | ETIMEDOUT
            | EPROTO
    )
}

fn ip_of(a: &SockaddrStorage) -> Option<IpAddr> {
    a.as_sockaddr_in()
        .map(|s| IpAddr::V4(s.ip()))
        .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
}
