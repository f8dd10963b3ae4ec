//! What one HTTP client may hold of the status-page server: a few connections
//! of the total, and a connection whose replies it stops reading is cut off.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Open connections per client address and in total.
pub struct Clients {
    per_client: usize,
    total: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection admitted; its place is given back when it is dropped.
pub struct Admitted {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    /// At most `per_client` connections from one address and `total` from all.
    pub fn new(per_client: usize, total: usize) -> Arc<Clients> {
        Arc::new(Clients {
            per_client,
            total,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for a connection from `ip`, if it has one left and so does the server.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let mut open = self.open.lock().expect("clients lock");
        let all: usize = open.values().sum();
        let mine = open.entry(ip).or_default();
        if *mine >= self.per_client || all >= self.total {
            return None;
        }
        *mine += 1;
        Some(Admitted {
            clients: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().expect("clients lock");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A stream whose writes fail once they have made no progress for `stall`:
/// a client that stops reading its reply loses the connection instead of
/// holding it, and its reply, for as long as it likes.
pub struct StallGuard<T> {
    io: T,
    stall: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    /// Wraps `io`.
    pub fn new(io: T, stall: Duration) -> StallGuard<T> {
        StallGuard {
            io,
            stall,
            waiting: None,
        }
    }

    /// The outcome of a write-side poll: progress clears the clock; no
    /// progress starts it, and once it runs out the write fails.
    fn watch<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.waiting = None;
            return r;
        }
        let stall = self.stall;
        let timer = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_cannot_take_the_places_of_the_others() {
        let clients = Clients::new(2, 3);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let first = clients.admit(a).unwrap();
        let _second = clients.admit(a).unwrap();
        assert!(clients.admit(a).is_none(), "a third from one client");
        let _other = clients.admit(b).unwrap();
        assert!(clients.admit(b).is_none(), "the total is reached");
        drop(first);
        assert!(
            clients.admit(b).is_some(),
            "a place given back is free again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_makes_no_progress_fails_after_the_stall() {
        use tokio::io::AsyncWriteExt;
        // A pipe whose reader never reads: writes block once its buffer is full.
        let (w, _r) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(w, Duration::from_secs(10));
        let e = guarded.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
