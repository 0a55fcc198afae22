//! An in-memory, full-duplex byte stream for the async peers: two ends, each
//! writing into the other's inbox. It implements both tokio's and the
//! futures crate's `AsyncRead + AsyncWrite` (ratchet takes the first,
//! soketto the second), counts the bytes written each way, and is `Send`
//! (ratchet requires it of its stream).
//!
//! Two modes. While the handshake runs (both ends polled together with
//! `join`), a read of an empty inbox is `Pending` and the writer wakes it.
//! Once [`End::strict`] is set, a read of an empty inbox is EOF instead, so
//! a driver that waits for bytes that will never come fails at once rather
//! than hanging: the timed loop is sequential (send, then receive), so
//! everything a reader needs is already in its inbox.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Inbox {
    buf: Vec<u8>,
    /// Bytes of `buf` already read.
    pos: usize,
    /// Bytes ever written into this inbox.
    written: u64,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Shared {
    /// `inbox[0]` is read by end 0 (the client), `inbox[1]` by end 1.
    inbox: [Inbox; 2],
    strict: bool,
}

/// One end of the stream.
pub struct End {
    shared: Arc<Mutex<Shared>>,
    /// The inbox this end reads; it writes into the other one.
    me: usize,
}

/// A connected pair: (client end, server end).
pub fn pair() -> (End, End) {
    let shared = Arc::new(Mutex::new(Shared::default()));
    (
        End {
            shared: shared.clone(),
            me: 0,
        },
        End { shared, me: 1 },
    )
}

/// Counters and mode switch, kept by the harness after the ends are handed
/// to a crate.
#[derive(Clone)]
pub struct Meter(Arc<Mutex<Shared>>);

impl End {
    pub fn meter(&self) -> Meter {
        Meter(self.shared.clone())
    }

    /// Hand up to `max` inbox bytes to `take` (which must use them all).
    fn read_with(&self, max: usize, cx: &mut Context<'_>, take: impl FnOnce(&[u8])) -> Poll<()> {
        let mut s = self.shared.lock().unwrap();
        let strict = s.strict;
        let inbox = &mut s.inbox[self.me];
        let avail = inbox.buf.len() - inbox.pos;
        if avail == 0 && max > 0 {
            if strict {
                // EOF: an empty read.
                take(&[]);
                return Poll::Ready(());
            }
            inbox.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = avail.min(max);
        take(&inbox.buf[inbox.pos..inbox.pos + n]);
        inbox.pos += n;
        if inbox.pos == inbox.buf.len() {
            inbox.buf.clear();
            inbox.pos = 0;
        }
        Poll::Ready(())
    }

    fn write_from(&self, data: &[u8]) -> usize {
        let mut s = self.shared.lock().unwrap();
        let peer = &mut s.inbox[1 - self.me];
        peer.buf.extend_from_slice(data);
        peer.written += data.len() as u64;
        if let Some(w) = peer.waker.take() {
            w.wake();
        }
        data.len()
    }
}

impl Meter {
    /// From now on an empty inbox reads as EOF.
    pub fn strict(&self) {
        self.0.lock().unwrap().strict = true;
    }

    /// Bytes written so far (client to server, server to client).
    pub fn written(&self) -> (u64, u64) {
        let s = self.0.lock().unwrap();
        (s.inbox[1].written, s.inbox[0].written)
    }

    /// Bytes written but not read yet, both ways.
    pub fn unread(&self) -> usize {
        let s = self.0.lock().unwrap();
        s.inbox.iter().map(|i| i.buf.len() - i.pos).sum()
    }
}

impl tokio::io::AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let max = buf.remaining();
        self.read_with(max, cx, |data| buf.put_slice(data)).map(Ok)
    }
}

impl tokio::io::AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.write_from(buf)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        let max = buf.len();
        self.read_with(max, cx, |data| {
            buf[..data.len()].copy_from_slice(data);
            n = data.len();
        })
        .map(|()| Ok(n))
    }
}

impl futures_io::AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.write_from(buf)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
