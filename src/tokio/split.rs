//! [`WebSocket::into_split`]: a reading half and a writing half that two tasks
//! can own, for the common broadcast shape (a task reads the socket while
//! another writes what a channel brings).

use alloc::sync::Arc;
use core::future::poll_fn;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, ready};
use std::io;
use std::sync::{Mutex, MutexGuard};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;

use super::{Message, WebSocket};
use crate::close::CloseCode;
use crate::connection::{ClosedReason, Event, Sender};

/// What the halves share: the socket, locked only for the length of one
/// poll (never across an `.await`), so neither half waits on the other's
/// I/O.
#[derive(Debug)]
struct Shared<S> {
    socket: Mutex<WebSocket<S>>,
    /// The [`ReadHalf`] was dropped: nobody else reads the peer's answer
    /// to our Close, so [`WriteHalf::close`] does.
    reader_gone: AtomicBool,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, WebSocket<S>> {
        // A panic in a `recv_with` closure poisons the lock; the socket's
        // state is still consistent (nothing is half-updated across user
        // code), so go on.
        self.socket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The receiving half of a [`WebSocket`], from [`WebSocket::into_split`]: a
/// [`Stream`] of [`Message`]s.
///
/// It does what the whole socket's receiving side does: reads, answers
/// Pings and the peer's Close (queued replies are written by whichever half
/// polls next), runs the keepalive and close timers, and finishes the
/// transport at the end. Poll it for the connection to make progress while
/// the writing half is idle, as with the whole socket.
#[derive(Debug)]
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a [`WebSocket`], from [`WebSocket::into_split`]: a
/// [`Sink`] of [`Message`]s, with the socket's `send_*` methods.
///
/// Sending is bounded as on the whole socket: [`send`](Self::send) and
/// `poll_ready` wait while more than
/// [`Options::max_pending`](super::Options::max_pending) bytes wait to be
/// written.
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

/// [`ReadHalf::reunite`] was given the halves of two different sockets.
#[derive(Debug)]
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> core::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the halves come from two different websockets")
    }
}

impl<S: core::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Split into a [`ReadHalf`] and a [`WriteHalf`] that two tasks can
    /// own. They share the socket behind a lock held only during a poll;
    /// costs one allocation. While both halves are polled, each poll locks
    /// once and wakes both tasks on the transport's readiness (see
    /// `wake.rs`), so a reader stalled by backpressure resumes as soon as
    /// the writer drained the queue. [`ReadHalf::reunite`] undoes it.
    ///
    /// Named as tokio's `TcpStream::into_split`, reading half first, so
    /// that it does not hide `futures::StreamExt::split`, which works on
    /// the socket too and returns the sink first, as code written for
    /// tokio-tungstenite or axum expects.
    pub fn into_split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let shared = Arc::new(Shared {
            socket: Mutex::new(self),
            reader_gone: AtomicBool::new(false),
        });
        (
            ReadHalf {
                shared: shared.clone(),
            },
            WriteHalf { shared },
        )
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// The next message, as [`WebSocket::recv`]. Cancel-safe.
    pub async fn recv(&mut self) -> Option<io::Result<Message>> {
        poll_fn(|cx| self.shared.lock().poll_recv(cx)).await
    }

    /// The next event, as [`WebSocket::recv_with`]: `f` may answer through
    /// the [`Sender`] (it runs with the socket locked, so it must not use
    /// the [`WriteHalf`]). Cancel-safe.
    pub async fn recv_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, Sender<'_>) -> R,
    ) -> Option<io::Result<R>> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.shared.lock().poll_event(cx, |event, tx| {
                let f = f
                    .take()
                    .expect("poll_event calls f once, then the future is done");
                f(event, tx)
            })
        })
        .await
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn closed_reason(&self) -> Option<ClosedReason> {
        self.shared.lock().closed_reason()
    }

    /// Put the halves back together; refused (handing them back) if they
    /// come from two sockets.
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WebSocket<S>, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return Err(ReuniteError(self, write));
        }
        let shared = Arc::clone(&self.shared);
        drop((self, write));
        let shared = Arc::try_unwrap(shared)
            .unwrap_or_else(|_| unreachable!("both halves were given, so no other owner is left"));
        Ok(shared
            .socket
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl<S> Drop for ReadHalf<S> {
    fn drop(&mut self) {
        self.shared.reader_gone.store(true, Ordering::Release);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Send a message and write it out, as [`WebSocket::send`].
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_room(cx)).await?;
        self.shared.lock().queue(message)?;
        self.flush().await
    }

    /// Send a whole text message and write it out.
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_room(cx)).await?;
        self.shared.lock().conn.send_text(text)?;
        self.flush().await
    }

    /// Send a whole binary message and write it out.
    pub async fn send_binary(&mut self, data: &[u8]) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_room(cx)).await?;
        self.shared.lock().conn.send_binary(data)?;
        self.flush().await
    }

    /// Send a prepared message and write it out, as
    /// [`WebSocket::send_prepared`].
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_room(cx)).await?;
        self.shared.lock().conn.send_prepared(message)?;
        self.flush().await
    }

    /// Send a Ping (at most 125 bytes) and write it out; its Pong reaches
    /// the [`ReadHalf`].
    pub async fn send_ping(&mut self, payload: &[u8]) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_room(cx)).await?;
        self.shared.lock().conn.send_ping(payload)?;
        self.flush().await
    }

    /// Write out everything queued, as [`WebSocket::flush`]. Cancel-safe.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.shared.lock().poll_flush_out(cx)).await
    }

    /// Start the close handshake with `code` and `reason` (at most 123
    /// bytes) and write the Close out. The [`ReadHalf`] then sees the
    /// peer's answer and the end, as [`WebSocket::close`] would; if it was
    /// dropped, this waits for the end itself, dropping what arrives, up
    /// to [`Config::close_timeout`](crate::Config::close_timeout) and the
    /// drain. A Close already sent is not sent again.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> io::Result<()> {
        self.shared.lock().start_close(code, reason)?;
        poll_fn(|cx| self.poll_close_with_reader(cx)).await
    }

    /// Write our Close out; without a reader, also wait for the end.
    fn poll_close_with_reader(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut socket = self.shared.lock();
        ready!(socket.poll_flush_out(cx))?;
        if self.shared.reader_gone.load(Ordering::Acquire) {
            ready!(socket.poll_closed(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn closed_reason(&self) -> Option<ClosedReason> {
        self.shared.lock().closed_reason()
    }
}

/// As the whole socket's [`Stream`].
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = io::Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.lock().poll_recv(cx)
    }
}

/// As the whole socket's.
impl<S: AsyncRead + AsyncWrite + Unpin> FusedStream for ReadHalf<S> {
    fn is_terminated(&self) -> bool {
        self.shared.lock().is_terminated()
    }
}

/// As the whole socket's [`Sink`], except that `poll_close` also waits
/// for the end when the [`ReadHalf`] was dropped (see
/// [`WriteHalf::close`]).
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WriteHalf<S> {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared.lock().poll_room(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> io::Result<()> {
        self.shared.lock().queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared.lock().poll_flush_out(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.shared.lock().start_close(CloseCode::NORMAL, "")?;
        this.poll_close_with_reader(cx)
    }
}
