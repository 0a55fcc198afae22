//! The driving loop, as poll functions: write what the connection queued,
//! read into the thread's shared buffer (or straight into a large message),
//! hand the bytes and the time to the connection, and sleep until its
//! deadline. The async methods, `Stream`, `Sink` and the split halves are
//! all thin wrappers over [`WebSocket::poll_event`] and
//! [`WebSocket::poll_flush_out`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::Instant as TokioInstant;

use super::fair::Work;
use super::wake::Side;
use super::{Finish, Phase, WebSocket};
use crate::connection::{ClosedReason, Event, Sender};
use crate::time::Instant;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// The next event, handed to `f` with the connection's [`Sender`];
    /// `Ready(None)` once the end was reported. `f` is called only when
    /// this returns `Ready(Some(Ok(_)))`; on `Pending` it is dropped
    /// unused. All state lives in `self`, so a caller may stop polling at
    /// any point and lose nothing (cancel safety).
    pub(super) fn poll_event<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(Event<'_>, Sender<'_>) -> R,
    ) -> Poll<Option<io::Result<R>>> {
        loop {
            match self.phase {
                Phase::Open => {}
                Phase::Ending(reason, _) => {
                    ready!(self.poll_finish(cx));
                    self.phase = Phase::Done(reason);
                    self.wakers.wake_all();
                    return Poll::Ready(reason.to_io_error().map(Err));
                }
                Phase::Failed(Some(kind)) => {
                    // The transport failed under a send: the receiving
                    // side hears of it once too, rather than a `None` that
                    // reads as a clean end.
                    self.phase = Phase::Failed(None);
                    let e = io::Error::new(kind, "websocket: the transport failed while writing");
                    return Poll::Ready(Some(Err(e)));
                }
                Phase::Done(_) | Phase::Failed(None) => return Poll::Ready(None),
            }
            if self.work.spent() {
                // Before taking the event, so a caller that stops polling
                // here loses nothing (module docs, "Fairness").
                self.work = Work::default();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some((event, tx)) = self.conn.poll_event_with_sender() {
                if let Event::Closed(reason) = event {
                    self.end(reason);
                    continue;
                }
                self.work.add(&event);
                return Poll::Ready(Some(Ok(f(event, tx))));
            }
            match self.poll_step(cx, Side::Read) {
                Poll::Pending => {
                    // The reader waits, so its task goes back to the
                    // scheduler: its work bound starts over. Only the
                    // reader's wait counts: a writer's is another task's,
                    // or a `select!` branch beside a ready read, which
                    // yields nothing.
                    self.work = Work::default();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => {
                    self.fail(None);
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }

    /// Write out everything queued and flush the transport, without
    /// reading (so it waits on a peer that does not read either). After
    /// the end, what is left will never be written: `BrokenPipe` at once.
    pub(super) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            self.refill();
            if self.written == self.out.len() && !self.unflushed {
                return Poll::Ready(Ok(()));
            }
            if matches!(self.phase, Phase::Done(_) | Phase::Failed(_)) {
                // The drain gave up on these bytes (or the transport
                // failed): waiting for the peer to read them could last
                // forever, with no timer left to end it.
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the connection ended before everything queued was written",
                )));
            }
            if let Err(e) = ready!(self.poll_step(cx, Side::Write)) {
                // A broken transport ends the connection here too, so the
                // next `recv` reports the end instead of using it again.
                self.fail(Some(e.kind()));
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Wait until at most [`Options::max_pending`](super::Options) bytes
    /// wait to be written: the sending side's backpressure.
    pub(super) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A connection that cannot send any more refuses at once instead
        // of waiting for room it would not use.
        while self.pending_transmit() > self.limits.max_pending()
            && !self.conn.is_closed()
            && !self.conn.close_sent()
        {
            if let Err(e) = ready!(self.poll_step(cx, Side::Write)) {
                self.fail(Some(e.kind()));
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The connection reported its end: finish the transport (see
    /// [`poll_finish`](Self::poll_finish)) within `drain_timeout`.
    fn end(&mut self, reason: ClosedReason) {
        // A peer that timed out is not waited for: it is presumed gone.
        if matches!(
            reason,
            ClosedReason::KeepaliveTimeout
                | ClosedReason::CloseTimeout
                | ClosedReason::MessageTimeout
        ) {
            self.read_eof = true;
        }
        // The connection has no deadline left: its timer is the drain's.
        let deadline = TokioInstant::now() + self.limits.drain_timeout();
        self.armed = None;
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(::tokio::time::sleep_until(deadline))),
        }
        self.phase = Phase::Ending(reason, Finish::Flush);
    }

    /// The transport failed: its error is returned once, and the other
    /// side learns of the end. After the connection's own end it changes
    /// nothing: that end is decided, and `poll_finish`, which meets the
    /// same error, still reports it (within the drain's deadline).
    /// `unreported`: the kind of an error a send returned, which the
    /// receiving side has still to report.
    fn fail(&mut self, unreported: Option<io::ErrorKind>) {
        if self.phase == Phase::Open {
            if !self.conn.is_closed() {
                // Nothing will be read any more: the connection ends too,
                // so it refuses sends as after any end instead of queueing
                // them for a transport that is never written again.
                let now = self.now();
                self.conn.handle_eof(now);
            }
            self.phase = Phase::Failed(unreported);
            self.sleep = None;
            self.armed = None;
        }
        self.wakers.wake_all();
    }

    /// After the end: write out the connection's last bytes (our Close),
    /// shut the transport down, and read until the peer closes its side
    /// (so our last bytes are not lost to a reset), all before the drain
    /// deadline. Errors end it early: the end is already decided.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.wakers.register(Side::Read, cx.waker()) {
            Some(waker) => self.poll_finish_with(&mut Context::from_waker(&waker)),
            None => self.poll_finish_with(cx),
        }
    }

    /// [`poll_finish`](Self::poll_finish), with the waker chosen.
    fn poll_finish_with(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(sleep) = &mut self.sleep {
            if sleep.as_mut().poll(cx).is_ready() {
                self.sleep = None;
                return Poll::Ready(());
            }
        }
        loop {
            let Phase::Ending(reason, stage) = self.phase else {
                return Poll::Ready(());
            };
            let next = match stage {
                Finish::Flush => {
                    self.refill();
                    if self.written == self.out.len() && !self.unflushed {
                        Finish::Shutdown
                    } else {
                        match self.poll_write(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(_)) => break,
                            Poll::Ready(Ok(_)) => continue,
                        }
                    }
                }
                Finish::Shutdown => match Pin::new(&mut self.io).poll_shutdown(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_)) => break,
                    Poll::Ready(Ok(())) => Finish::Drain,
                },
                Finish::Drain if self.read_eof => break,
                Finish::Drain => {
                    // What the peer still sends is read and dropped.
                    let io = &mut self.io;
                    let polled = with_read_buffer(4096, |buf| {
                        let mut buf = ReadBuf::new(buf);
                        Pin::new(io)
                            .poll_read(cx, &mut buf)
                            .map_ok(|()| buf.filled().is_empty())
                    });
                    match polled {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(_)) => break,
                        Poll::Ready(Ok(eof)) => {
                            self.read_eof = eof;
                            continue;
                        }
                    }
                }
            };
            self.phase = Phase::Ending(reason, next);
        }
        self.sleep = None;
        Poll::Ready(())
    }

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

    /// Write out what is queued, then poll until the transport made
    /// progress (a `Read` poll also reads, unless backpressure says not
    /// to) or the deadline passed, and feed what happened to the
    /// connection.
    pub(super) fn poll_step(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<io::Result<()>> {
        self.refill();
        let read = side == Side::Read
            && !self.read_eof
            && self.pending_transmit() <= self.limits.max_pending();
        self.arm_timer();
        if !read && self.written == self.out.len() && !self.unflushed && self.armed.is_none() {
            // Nothing could wake us: a bug, but a hang would hide it.
            return Poll::Ready(Err(io::Error::other("the driver has nothing to wait for")));
        }
        let shared = self.wakers.register(side, cx.waker());
        match &shared {
            Some(waker) => self.poll_io(&mut Context::from_waker(waker), read),
            None => self.poll_io(cx, read),
        }
    }

    /// Point the timer at the connection's next deadline.
    pub(super) fn arm_timer(&mut self) {
        if self.phase != Phase::Open {
            // After the end the timer is the drain's (see `end`).
            return;
        }
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

    /// Write what `out` holds, then flush. `Ready(Ok(true))` if any of it
    /// made progress.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
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
        if progress {
            Poll::Ready(Ok(true))
        } else {
            Poll::Pending
        }
    }

    /// One poll of the transport and the timer; ready once any of them
    /// made progress.
    fn poll_io(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<io::Result<()>> {
        let mut progress = match self.poll_write(cx) {
            Poll::Ready(Ok(progress)) => progress,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => false,
        };
        if read {
            let read = match self.conn.payload_buffer(self.limits.read_size()) {
                Some(_) => self.read_direct(cx),
                None => self.read_shared(cx),
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
            Poll::Pending
        }
    }

    /// A large message is arriving: read where it is assembled
    /// ([`Connection::payload_buffer`](crate::Connection::payload_buffer)).
    fn read_direct(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let epoch = self.epoch;
        let Some(buf) = self.conn.payload_buffer(self.limits.read_size()) else {
            return self.read_shared(cx);
        };
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
    }

    /// Read into this thread's shared buffer and hand the bytes to
    /// [`Connection::handle_input`](crate::Connection::handle_input): the
    /// way to read when no large message is arriving, so that an idle
    /// connection holds no read buffer.
    fn read_shared(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let epoch = self.epoch;
        with_read_buffer(self.limits.read_size(), |buf| {
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
