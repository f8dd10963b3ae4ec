//! One ICMP socket of one family, for the probes' echoes and the path's
//! traces: echo requests sent (with a chosen TTL, hop limit, for a trace);
//! echo replies read as data; Time Exceeded and Destination Unreachable read
//! from the socket's error queue, where the kernel puts them with the address
//! of the router that sent them and its ICMP type and code (IP_RECVERR).
//!
//! The socket is the unprivileged datagram socket `ping` uses
//! (`ping_group_range`). Where those are not allowed but the process may open
//! a raw ICMP socket (root, CAP_NET_RAW), a raw one does the same job: the
//! echo header is then ours to fill, and other programs' ICMP is told apart
//! by the identifier.

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

/// A Destination Unreachable's code, as traceroute marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// `!N`, `!H`, `!P`, `!A`, …
    pub mark: &'static str,
    /// The same in words, e.g. `network unreachable`.
    pub words: &'static str,
}

impl Unreachable {
    /// ICMPv4 type 3 with `code`.
    pub fn v4(code: u8) -> Unreachable {
        let (mark, words) = match code {
            0 | 6 | 11 => ("!N", "network unreachable"),
            1 | 7 | 12 => ("!H", "host unreachable"),
            2 | 3 => ("!P", "protocol unreachable"),
            4 => ("!F", "fragmentation needed"),
            5 => ("!S", "source route failed"),
            9 | 10 | 13 => ("!A", "administratively prohibited"),
            14 => ("!V", "host precedence violation"),
            15 => ("!C", "precedence cutoff"),
            _ => ("!?", "unreachable"),
        };
        Unreachable { mark, words }
    }

    /// ICMPv6 type 1 with `code`.
    pub fn v6(code: u8) -> Unreachable {
        let (mark, words) = match code {
            0 | 6 => ("!N", "no route"),
            1 | 5 => ("!A", "administratively prohibited"),
            2 => ("!S", "beyond the source's scope"),
            3 => ("!H", "address unreachable"),
            4 => ("!P", "port unreachable"),
            _ => ("!?", "unreachable"),
        };
        Unreachable { mark, words }
    }

    /// The words for a mark read back from a file.
    pub fn words_of(mark: &str) -> &'static str {
        [0, 1, 2, 4, 5, 9, 14, 15]
            .into_iter()
            .map(Unreachable::v4)
            .find(|u| u.mark == mark)
            .map_or("unreachable", |u| u.words)
    }
}

/// What kind of ICMP message answered an echo request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// An echo reply: the address the request was sent to answered.
    Echo,
    /// Time Exceeded: a router on the way.
    TimeExceeded,
    /// Destination Unreachable: a router (or the destination) that cannot deliver.
    Unreachable(Unreachable),
    /// Another ICMP error (parameter problem, packet too big).
    Other,
}

/// What came back for one echo request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The sequence number of the echo it answers.
    pub seq: u16,
    /// Who answered.
    pub from: IpAddr,
    /// When it was read.
    pub at: Instant,
    /// How long it had waited to be read, as the kernel stamped its arrival
    /// (zero when it did not).
    pub waited: Duration,
    /// What it said.
    pub reply: Reply,
}

/// Why a probe could not be sent: the monitor's own network, not a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalError(pub Errno);

/// An ICMP socket.
pub struct IcmpSocket {
    fd: AsyncFd<Socket>,
    v6: bool,
    /// The echo identifier on a raw socket; the kernel's own on a datagram one.
    raw_ident: Option<u16>,
}

impl IcmpSocket {
    /// Opens an ICMP socket of `dest`'s family with the error queue on: a
    /// datagram socket, else a raw one; the datagram socket's error when neither.
    pub fn open(v6: bool) -> std::io::Result<IcmpSocket> {
        let (domain, proto) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let (sock, raw_ident) = match Socket::new(domain, Type::DGRAM, Some(proto)) {
            Ok(s) => (s, None),
            Err(dgram) if is_not_allowed(&dgram) => {
                match Socket::new(domain, Type::RAW, Some(proto)) {
                    Ok(s) => (s, Some(fastrand::u16(..))),
                    Err(_) => return Err(dgram),
                }
            }
            Err(e) => return Err(e),
        };
        sock.set_nonblocking(true)?;
        if v6 {
            setsockopt(&sock, sockopt::Ipv6RecvErr, &true)
        } else {
            setsockopt(&sock, sockopt::Ipv4RecvErr, &true)
        }
        .map_err(std::io::Error::from)?;
        // The kernel stamps each reply as it arrives, so a round trip does not
        // include the time this process took to be scheduled and read it.
        // Where it will not, round trips are timed to the read, as before.
        if let Err(e) = setsockopt(&sock, sockopt::ReceiveTimestampns, &true) {
            tracing::debug!(
                "ICMP socket: no arrival stamps ({e}); round trips are timed when read"
            );
        }
        // Deprecated because a registered fd could be closed behind the
        // reactor's back; here the socket is owned by the AsyncFd and closed
        // only when it is dropped, so the safe constructor is sound (the
        // replacement is `unsafe`, which this crate denies).
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(sock, Interest::READABLE | Interest::ERROR)?;
        Ok(IcmpSocket { fd, v6, raw_ident })
    }

    /// Sends echo request `seq` to `to` with time-to-live `ttl` (see [`IcmpSocket::send`]).
    pub fn send_ttl(&self, to: IpAddr, seq: u16, ttl: u8) -> std::io::Result<Option<LocalError>> {
        let sock = self.fd.get_ref();
        if self.v6 {
            sock.set_unicast_hops_v6(u32::from(ttl))?;
        } else {
            sock.set_ttl_v4(u32::from(ttl))?;
        }
        self.send(SocketAddr::new(to, 0), seq)
    }

    /// Sends echo request `seq` to `to` (an IPv6 one with its scope). `Ok(Some)`:
    /// this host could not send it (no route, link down), which is an answer
    /// of sorts; `Err` is the socket's own fault.
    pub fn send(&self, to: SocketAddr, seq: u16) -> std::io::Result<Option<LocalError>> {
        let sock = self.fd.get_ref();
        let packet = self.echo_request(seq);
        let to = SockAddr::from(to);
        // A send may report an earlier probe's ICMP error instead of sending
        // (the error is then consumed; its details wait in the error queue):
        // send again. An error that stays is this host's own network.
        let mut last = None;
        for _ in 0..8 {
            match sock.send_to(&packet, &to) {
                Ok(_) => return Ok(None),
                Err(e) => match e.raw_os_error().map(Errno::from_raw) {
                    Some(n) if is_network_error(n) => last = Some(LocalError(n)),
                    // The send buffer is full: this probe is lost, not the socket.
                    Some(Errno::EAGAIN) => return Ok(Some(LocalError(Errno::EAGAIN))),
                    _ => return Err(e),
                },
            }
        }
        Ok(last)
    }

    fn echo_request(&self, seq: u16) -> [u8; 24] {
        // Type, code, checksum and identifier are the kernel's to fill on a
        // datagram socket; on a raw one the identifier and (IPv4) checksum are ours.
        let mut packet = [0u8; 24];
        packet[0] = if self.v6 { 128 } else { 8 };
        packet[6..8].copy_from_slice(&seq.to_be_bytes());
        packet[8..].copy_from_slice(b"connectivity-mon");
        if let Some(ident) = self.raw_ident {
            packet[4..6].copy_from_slice(&ident.to_be_bytes());
            if !self.v6 {
                let sum = checksum(&packet);
                packet[2..4].copy_from_slice(&sum.to_be_bytes());
            }
        }
        packet
    }

    /// Waits for the next answers (replies or errors); returns at least one, or an error.
    pub async fn next(&self) -> std::io::Result<Vec<Answer>> {
        let mut out = Vec::new();
        while out.is_empty() {
            self.next_into(&mut out).await?;
        }
        Ok(out)
    }

    /// Waits until answers may have come and adds those that have to `out`
    /// (possibly none): one buffer for all, nothing allocated per answer.
    pub async fn next_into(&self, out: &mut Vec<Answer>) -> std::io::Result<()> {
        tokio::select! {
            guard = self.fd.ready(Interest::READABLE) => {
                let mut guard = guard?;
                self.drain(MsgFlags::MSG_DONTWAIT, out)?;
                guard.clear_ready_matching(tokio::io::Ready::READABLE);
            }
            guard = self.fd.ready(Interest::ERROR) => {
                let mut guard = guard?;
                self.drain(MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT, out)?;
                guard.clear_ready_matching(tokio::io::Ready::ERROR);
            }
        }
        Ok(())
    }

    /// Reads what waits (echo replies as data, on a raw IPv4 socket behind the
    /// IP header; errors from the error queue) into `out`.
    fn drain(&self, flags: MsgFlags, out: &mut Vec<Answer>) -> std::io::Result<()> {
        let reply = if self.v6 { 129 } else { 0 };
        let errors = flags.contains(MsgFlags::MSG_ERRQUEUE);
        let mut data = [0u8; 576];
        while let Some(m) = self.receive(flags, &mut data)? {
            let data = &data[..m.len.min(data.len())];
            let echo = if self.raw_ident.is_some() && !self.v6 && !errors {
                let header = usize::from(data.first().map_or(0, |b| b & 0x0f)) * 4;
                data.get(header..).unwrap_or_default()
            } else {
                data
            };
            if echo.len() < 8 || !self.ours(echo) {
                continue;
            }
            let seq = u16::from_be_bytes([echo[6], echo[7]]);
            let (at, waited) = (Instant::now(), waited(m.stamp));
            // An error's data is the echo request that met it: its sequence is ours.
            match (errors, m.error, m.from) {
                (true, Some(err), _) => out.push(Answer {
                    seq,
                    from: err.from,
                    at,
                    waited,
                    reply: err.reply,
                }),
                (false, _, Some(from)) if echo[0] == reply => out.push(Answer {
                    seq,
                    from,
                    at,
                    waited,
                    reply: Reply::Echo,
                }),
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether an echo header carries our identifier (always, on a datagram socket).
    fn ours(&self, echo: &[u8]) -> bool {
        self.raw_ident
            .is_none_or(|ident| echo.len() >= 6 && echo[4..6] == ident.to_be_bytes())
    }

    /// One message, its data in `data`; `None` when nothing is waiting.
    fn receive(&self, flags: MsgFlags, data: &mut [u8]) -> std::io::Result<Option<Message>> {
        let raw = self.fd.get_ref().as_raw_fd();
        let mut iov = [IoSliceMut::new(data)];
        let mut cmsg = nix::cmsg_space!(
            nix::libc::sock_extended_err,
            nix::libc::sockaddr_in6,
            nix::libc::timespec
        );
        let msg = match recvmsg::<SockaddrStorage>(raw, &mut iov, Some(&mut cmsg), flags) {
            Ok(m) => m,
            Err(Errno::EAGAIN) => return Ok(None),
            // With IP_RECVERR a plain read reports a queued ICMP error once;
            // its details wait in the error queue, read next.
            Err(e) if is_network_error(e) => return Ok(Some(Message::default())),
            Err(e) => return Err(e.into()),
        };
        let from = msg.address.as_ref().and_then(ip_of);
        let mut error = None;
        let mut stamp = None;
        for c in msg.cmsgs().map_err(std::io::Error::from)? {
            match c {
                ControlMessageOwned::ScmTimestampns(t) => {
                    let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
                    let nanos = u32::try_from(t.tv_nsec()).unwrap_or(0);
                    stamp = Some(Duration::new(secs, nanos));
                }
                ControlMessageOwned::Ipv4RecvErr(e, Some(a)) => {
                    let from = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                    error = IcmpError::new(&e, IpAddr::V4(from));
                }
                ControlMessageOwned::Ipv6RecvErr(e, Some(a)) => {
                    let from = Ipv6Addr::from(a.sin6_addr.s6_addr);
                    error = IcmpError::new(&e, IpAddr::V6(from));
                }
                _ => {}
            }
        }
        let len = msg.bytes;
        Ok(Some(Message {
            len,
            from,
            error,
            stamp,
        }))
    }
}

/// How long a message the kernel stamped `stamp` (wall clock, since the
/// epoch) as it arrived has waited to be read: zero if unstamped, or if the
/// wall clock has been set back since.
fn waited(stamp: Option<Duration>) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok();
    stamp
        .zip(now)
        .and_then(|(stamp, now)| now.checked_sub(stamp))
        .unwrap_or_default()
}

impl Answer {
    /// The round trip of the echo request sent at `sent`: until the read,
    /// less the time the answer waited to be read. A wait longer than that
    /// (the wall clock was set forward meanwhile) cannot be: then until the read.
    pub fn rtt_since(&self, sent: Instant) -> Duration {
        let to_read = self.at.saturating_duration_since(sent);
        to_read.checked_sub(self.waited).unwrap_or(to_read)
    }
}

/// One message read from the socket, its data in the caller's buffer.
#[derive(Default)]
struct Message {
    len: usize,
    from: Option<IpAddr>,
    error: Option<IcmpError>,
    /// When the kernel received it, on the wall clock.
    stamp: Option<Duration>,
}

/// An ICMP error from the error queue: who sent it and what it said.
struct IcmpError {
    from: IpAddr,
    reply: Reply,
}

impl IcmpError {
    /// Only errors a router sent (not the host's own, which have no sender).
    fn new(e: &nix::libc::sock_extended_err, from: IpAddr) -> Option<IcmpError> {
        const ORIGIN_ICMP: u8 = 2;
        const ORIGIN_ICMP6: u8 = 3;
        let reply = match (e.ee_origin, e.ee_type) {
            (ORIGIN_ICMP, 11) | (ORIGIN_ICMP6, 3) => Reply::TimeExceeded,
            (ORIGIN_ICMP, 3) => Reply::Unreachable(Unreachable::v4(e.ee_code)),
            (ORIGIN_ICMP6, 1) => Reply::Unreachable(Unreachable::v6(e.ee_code)),
            (ORIGIN_ICMP | ORIGIN_ICMP6, _) => Reply::Other,
            _ => return None,
        };
        Some(IcmpError { from, reply })
    }
}

/// Opening a datagram ICMP socket was refused (not in `ping_group_range`).
fn is_not_allowed(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EACCES | Errno::EPERM | Errno::EPROTONOSUPPORT)
    )
}

/// An error the network caused (and the error queue explains), not the socket.
fn is_network_error(e: Errno) -> bool {
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
            | ENOBUFS
    )
}

/// The Internet checksum (RFC 1071) of an ICMPv4 message.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ip_of(a: &SockaddrStorage) -> Option<IpAddr> {
    a.as_sockaddr_in()
        .map(|s| IpAddr::V4(s.ip()))
        .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_is_until_the_read_less_the_wait_the_kernel_stamped() {
        let sent = Instant::now();
        let answer = |waited_ms| Answer {
            seq: 1,
            from: IpAddr::V4(Ipv4Addr::LOCALHOST),
            at: sent + Duration::from_millis(10),
            waited: Duration::from_millis(waited_ms),
            reply: Reply::Echo,
        };
        assert_eq!(answer(3).rtt_since(sent), Duration::from_millis(7));
        assert_eq!(answer(0).rtt_since(sent), Duration::from_millis(10));
        // Waited longer than since the send: the wall clock was set forward.
        assert_eq!(answer(20).rtt_since(sent), Duration::from_millis(10));
        // A stamp after the wall clock's now (set back since): no wait.
        let later = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
        assert_eq!(waited(Some(later)), Duration::ZERO);
        assert_eq!(waited(None), Duration::ZERO);
    }

    #[test]
    fn the_checksum_of_a_message_with_its_checksum_is_zero() {
        let mut m = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'a', b'b', b'c'];
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&m), 0);
        // RFC 1071's example words.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }
}
