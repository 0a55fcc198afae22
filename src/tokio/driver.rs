//! The driving loop: write what the connection queued, read into the
//! thread's shared buffer (or straight into a large message), hand the
//! bytes and the time to the connection, and sleep until its deadline.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::Instant as TokioInstant;

use super::WebSocket;
use super::fair::Work;
use crate::connection::ClosedReason;
use crate::time::Instant;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Move what the connection queued into `out`, once `out` is written:
    /// appending behind unwritten bytes would copy them around, and the
    /// connection's queue counts toward the backpressure bound anyway.
    pub(super) fn refill(&mut self) {
        if self.written == self.out.len() {
            self.written = 0;
            if self.conn.pending_transmit() > 0 {
                self.out.clear();
                self.conn.poll_transmit(&mut self.out);
            } else if self.out.capacity() > 0 {
                // Written out: the allocation goes back to the connection,
                // which queues the next frames in it and frees it when idle.
                self.conn.recycle_transmit(core::mem::take(&mut self.out));
            }
        }
    }

    /// Write out what is queued, then wait until the transport made progress
    /// (`read`: also reading, unless backpressure says not to) or the
    /// deadline passed, and feed what happened to the connection.
    pub(super) async fn step(&mut self, read: bool) -> io::Result<()> {
        self.refill();
        let read = read && !self.read_eof && self.pending_transmit() <= self.options.max_pending;
        self.arm_timer();
        if !read && self.written == self.out.len() && !self.unflushed && self.armed.is_none() {
            // Nothing could wake us: a bug, but a hang would hide it.
            return Err(io::Error::other("the driver has nothing to wait for"));
        }
        poll_fn(|cx| self.poll_step(cx, read)).await
    }

    /// Point the timer at the connection's next deadline.
    pub(super) fn arm_timer(&mut self) {
        let Some(at) = self.conn.poll_timeout() else {
            // An idle connection has no deadline: drop the timer too.
            self.armed = None;
            self.sleep = None;
            return;
        };
        if self.armed == Some(at) {
            return;
        }
        // A deadline past what tokio can represent is never.
        let Some(deadline) = self.epoch.checked_add(at.elapsed()) else {
            self.armed = None;
            return;
        };
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(::tokio::time::sleep_until(deadline))),
        }
        self.armed = Some(at);
    }

    /// One poll of the transport and the timer; ready once any of them
    /// made progress.
    pub(super) fn poll_step(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<io::Result<()>> {
        let mut progress = false;
        while self.written < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.unflushed = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        // Flushing matters for buffered transports (TLS); a TcpStream's is free.
        if self.unflushed && self.written == self.out.len() {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.unflushed = false;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if read {
            let epoch = self.epoch;
            let read = if let Some(buf) = self.conn.payload_buffer(self.options.read_size) {
                // A large message is arriving: read where it is assembled.
                let mut buf = ReadBuf::new(buf);
                let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
                if let Poll::Ready(Ok(())) = polled {
                    let n = buf.filled().len();
                    let now = now_since(epoch);
                    if n == 0 {
                        self.read_eof = true;
                        self.conn.handle_eof(now);
                    } else {
                        self.conn.commit_input(now, n);
                    }
                }
                polled
            } else {
                self.read_shared(cx)
            };
            match read {
                Poll::Ready(Ok(())) => progress = true,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                    cx.waker().wake_by_ref();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if self.armed.is_some() {
            if let Some(sleep) = &mut self.sleep {
                if sleep.as_mut().poll(cx).is_ready() {
                    // A fired Sleep stays ready: re-arm it on the next step.
                    self.armed = None;
                    let now = self.now();
                    self.conn.handle_timeout(now);
                    progress = true;
                }
            }
        }
        if progress {
            Poll::Ready(Ok(()))
        } else {
            // The task goes back to the scheduler: its work bound starts
            // over.
            self.work = Work::default();
            Poll::Pending
        }
    }

    /// Read into this thread's shared buffer and hand the bytes to
    /// [`Connection::handle_input`]: the way to read when no large message
    /// is arriving, so that an idle connection holds no read buffer.
    pub(super) fn read_shared(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let epoch = self.epoch;
        with_read_buffer(self.options.read_size, |buf| {
            let mut buf = ReadBuf::new(buf);
            let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
            if let Poll::Ready(Ok(())) = polled {
                let now = now_since(epoch);
                match buf.filled() {
                    [] => {
                        self.read_eof = true;
                        self.conn.handle_eof(now);
                    }
                    bytes => self.conn.handle_input(now, bytes),
                }
            }
            polled
        })
    }

    /// The connection ended: write out its last bytes (our Close), shut the
    /// transport down, and read until the peer closes its side, all within
    /// `drain_timeout`. Errors are dropped: the end is already decided.
    /// A peer that timed out is not waited for: it is presumed gone.
    pub(super) async fn finish(&mut self, reason: ClosedReason) {
        let limit = self.options.drain_timeout;
        if matches!(
            reason,
            ClosedReason::KeepaliveTimeout
                | ClosedReason::CloseTimeout
                | ClosedReason::MessageTimeout
        ) {
            self.read_eof = true;
        }
        let _ = ::tokio::time::timeout(limit, async {
            self.flush().await?;
            poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await?;
            // What the peer still sends is read and dropped.
            while !self.read_eof {
                let io = &mut self.io;
                self.read_eof = poll_fn(|cx| {
                    with_read_buffer(4096, |buf| {
                        let mut buf = ReadBuf::new(buf);
                        Pin::new(&mut *io)
                            .poll_read(cx, &mut buf)
                            .map_ok(|()| buf.filled().is_empty())
                    })
                })
                .await?;
            }
            io::Result::Ok(())
        })
        .await;
    }
}

/// A connection's time for `epoch` (see the module's "Time").
pub(super) fn now_since(epoch: TokioInstant) -> Instant {
    Instant::from_elapsed(TokioInstant::now().saturating_duration_since(epoch))
}

std::thread_local! {
    /// The read buffer every connection driven on this thread reads into:
    /// one per thread instead of one per connection, so thousands of idle
    /// connections hold none. Each read's bytes are handed to the
    /// connection before the next read, so sharing it is safe.
    static READ_BUFFER: core::cell::RefCell<Vec<u8>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Run `f` on this thread's read buffer, at least `size` bytes long. If
/// the buffer is in use (`f` polled another socket's read from inside a
/// read, which the driver never does), a temporary one is used instead of
/// panicking.
fn with_read_buffer<R>(size: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let size = size.max(1);
    READ_BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < size {
                buf.resize(size, 0);
            }
            f(&mut buf[..size])
        }
        Err(_) => f(&mut alloc::vec![0; size]),
    })
}
