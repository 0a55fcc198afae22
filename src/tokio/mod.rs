//! A tokio driver over [`Connection`]: a [`WebSocket`] over any
//! `AsyncRead + AsyncWrite + Unpin` transport (a `TcpStream`, a TLS stream,
//! an upgraded HTTP connection, a `tokio::io::duplex` pipe).
//!
//! It is thin, the way `quinn` drives `quinn-proto`: it owns the transport,
//! the clock and the buffers, never protocol state. Each call runs one loop:
//! drain [`Connection::poll_event`], write what
//! [`Connection::poll_transmit`] gives, and wait for whichever comes first
//! of the transport and the [`Connection::poll_timeout`] deadline.
//!
//! The ways in: [`WebSocket::accept`] (a server's handshake on a
//! transport), [`connect`] (a URL), [`WebSocket::connect`]
//! (a client's handshake on a transport you opened), and
//! [`WebSocket::from_connection`] (a handshake done elsewhere, e.g. by an
//! HTTP server); with feature `h2`, [`h2::Http2Client::websocket`] (a
//! stream of an HTTP/2 connection, RFC 8441). Then [`recv`](WebSocket::recv) and
//! [`send`](WebSocket::send) of owned [`Message`]s, the same as a
//! [`Stream`](futures_core::Stream) and a [`Sink`](futures_sink::Sink),
//! or [`recv_with`](WebSocket::recv_with), which lends each payload in
//! place:
//!
//! ```no_run
//! # async fn run(stream: tokio::net::TcpStream) -> std::io::Result<()> {
//! use wscore::tokio::{Options, WebSocket};
//! use wscore::{Config, Event};
//!
//! let mut ws = WebSocket::accept(stream, &Config::default(), Options::default()).await?;
//! // Echo from the borrowed payload, without copying it.
//! while let Some(done) = ws
//!     .recv_with(|event, mut tx| match event {
//!         Event::Text(text) => tx.send_text(text),
//!         Event::Binary(data) => tx.send_binary(data),
//!         _ => Ok(()),
//!     })
//!     .await
//! {
//!     // Sending fails only once our Close is out; the end follows.
//!     let _ = done?;
//! }
//! # Ok(()) }
//! ```
//!
//! # Time
//!
//! A [`WebSocket`] keeps the [`tokio::time::Instant`] at which it was made
//! as the epoch of its connection's clock: the `now` it passes is
//! `tokio::time::Instant::now() - epoch`, and a deadline `at` from
//! `poll_timeout` is slept on with `sleep_until(epoch + at)`. Being tokio's
//! clock, it follows `tokio::time::pause`, so tests can run keepalive on
//! virtual time. [`WebSocket::from_connection`] takes the epoch of a
//! connection made elsewhere.
//!
//! # Backpressure
//!
//! While more than [`Options::max_pending`] bytes wait to be written, the
//! driver stops reading: a peer that sends and never reads fills its own
//! socket instead of this process's memory. Each send ([`send`](WebSocket::send),
//! the `send_*` methods, the `Sink`) first waits until no more than
//! `max_pending` bytes wait, then queues its message and writes it out
//! before it returns; so the queue stays within `max_pending` plus one
//! message even when sends are cancelled halfway (a timeout around each).
//! A transport that fails under a send also ends the receiving side: its
//! next `recv` returns that error once, then `None`.
//!
//! # Errors
//!
//! Transport errors are returned as they are. The end of the connection is
//! `None` from [`WebSocket::recv`] after a clean close handshake; any other
//! end is reported once as an `io::Error` first
//! ([`ClosedReason::to_io_error`]), and [`WebSocket::closed_reason`] tells
//! the [`ClosedReason`] either way. The crate's errors convert with the
//! crate's one mapping (the [crate docs' "Errors" table](crate#errors)): a peer's violation is
//! [`InvalidData`](io::ErrorKind::InvalidData), a send after our Close
//! [`BrokenPipe`](io::ErrorKind::BrokenPipe), a server's non-101 answer
//! [`ConnectionRefused`](io::ErrorKind::ConnectionRefused), and so on. The
//! driver adds its own three, listed in the same table: a handshake past
//! [`Options::handshake_timeout`] is [`TimedOut`](io::ErrorKind::TimedOut),
//! one the application rejects
//! [`PermissionDenied`](io::ErrorKind::PermissionDenied), and a transport
//! that ends during it [`UnexpectedEof`](io::ErrorKind::UnexpectedEof).
//!
//! # Cancel safety
//!
//! [`recv`](WebSocket::recv), [`recv_with`](WebSocket::recv_with) and
//! [`flush`](WebSocket::flush) are cancel-safe: all their state lives in
//! the `WebSocket`, so dropping one of their futures (in `tokio::select!`,
//! or `tokio::time::timeout`) loses no message and no written byte, and the
//! next call goes on where it stopped. The `send_*` methods and
//! [`close`](WebSocket::close) queue their frame on the first poll: once
//! polled, a cancelled send has still queued its message, which the next
//! call writes out; [`send`](WebSocket::send) first waits for room, and
//! a send cancelled during that wait queued nothing. The `Stream` and
//! `Sink` methods keep all their state in the socket too.
//! [`WebSocket::accept`] and [`WebSocket::connect`] are not cancel-safe: a
//! handshake cut short leaves the transport unusable.
//!
//! # Two tasks
//!
//! [`WebSocket::into_split`] gives a [`ReadHalf`] and a [`WriteHalf`] that two
//! tasks can own (futures' `StreamExt::split` works too). They share the
//! socket behind a lock taken for one poll at a time. While both are
//! polled, the transport's and the timer's wake-ups go to both tasks: each
//! keeps one waker per direction, and without this a reader that stopped
//! reading for backpressure would sleep through the writer draining the
//! queue. The reading half answers Pings and Closes and runs the timers
//! while it is polled; the writing half's `close` waits for the peer's
//! answer itself once the reading half is gone.
//!
//! # Fairness
//!
//! One read can hold thousands of events (a 64 KiB read of empty Pings
//! is about eleven thousand), and handing out events already read never
//! waits on the transport, so tokio's cooperative budget, which only the
//! transport's own polls consume, would let a flooding connection's task
//! run through all of them while every other task on its thread waits.
//! The driver therefore bounds the work of a task between two returns to
//! the scheduler: once it has handed out 64 events, or events carrying
//! 64 KiB of payload, since receiving last returned `Pending` (a
//! writing half's `Pending` does not count: it yields no reading task),
//! [`recv`](WebSocket::recv) and [`recv_with`](WebSocket::recv_with)
//! return `Pending` once (waking the task at once) before the next event.
//! Nothing is taken from the connection before that yield, so cancel safety
//! is unchanged. However fast its peer sends, a connection's turn on its
//! thread is then at most one read ([`Options::read_size`]) taken in and
//! that many events handed out, plus what the application does with them.

mod connect;
mod driver;
mod fair;
#[cfg(feature = "h2")]
pub mod h2;
mod handshake;
mod message;
mod split;
mod stream;
mod wake;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite};
use ::tokio::time::{Instant as TokioInstant, Sleep};

/// The buffer type of binary payloads, from the `bytes` crate.
pub use bytes::Bytes;
#[cfg(feature = "rustls")]
pub use connect::client_config;
pub use connect::{
    ConnectOptions, Connector, IntoUrl, MaybeTlsStream, RandomMasks, connect, connect_with,
    random_nonce,
};
pub use message::{Message, Utf8Bytes};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
/// The TLS crates `connect` uses (feature `rustls`), re-exported so that
/// root stores, client and server configs are built with the same
/// versions: `wscore::tokio::rustls`, `wscore::tokio::tokio_rustls`.
#[cfg(feature = "rustls")]
pub use {rustls, tokio_rustls};

use driver::now_since;
use fair::Work;
use wake::Wakers;

use crate::close::CloseCode;
use crate::connection::{ClosedReason, Connection, Event, MessageKind, Sender};
use crate::error::SendError;
use crate::time::Instant;

/// How the driver uses its transport, apart from the protocol's
/// [`Config`](crate::Config).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long the peer may take to complete the opening handshake
    /// ([`WebSocket::accept`], [`WebSocket::connect`]). Default: 10 s.
    pub handshake_timeout: Duration,
    /// Stop reading while more than this many bytes wait to be written
    /// (see the module's "Backpressure"). Default: 64 KiB.
    pub max_pending: usize,
    /// Bytes asked of the transport per read. Reads go into one buffer per
    /// thread, shared by every connection the thread drives, and from there
    /// into the connection, so an idle connection holds no read buffer;
    /// while a large message arrives they go straight where it is
    /// assembled ([`Connection::payload_buffer`]). Default: 64 KiB.
    pub read_size: usize,
    /// After the connection ends, how long to spend writing out what is
    /// left, shutting the transport down and reading until the peer closes
    /// its side (so our last bytes are not lost to a reset). Default: 2 s.
    pub drain_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            handshake_timeout: Duration::from_secs(10),
            max_pending: 64 << 10,
            read_size: 64 << 10,
            drain_timeout: Duration::from_secs(2),
        }
    }
}

/// What a socket keeps of its [`Options`] once connected: the handshake's
/// limit is spent, and the rest fits in 12 bytes instead of 48 (every
/// socket carries it, and a task that owns its socket by value holds the
/// socket twice). Sizes past 4 GiB and drains past 49 days saturate; the
/// drain counts whole milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    max_pending: u32,
    read_size: u32,
    drain_ms: u32,
}

impl From<&Options> for Limits {
    fn from(options: &Options) -> Limits {
        let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Limits {
            max_pending: small(options.max_pending),
            read_size: small(options.read_size),
            drain_ms: u32::try_from(options.drain_timeout.as_millis()).unwrap_or(u32::MAX),
        }
    }
}

impl Limits {
    fn max_pending(self) -> usize {
        self.max_pending as usize
    }

    fn read_size(self) -> usize {
        self.read_size as usize
    }

    fn drain_timeout(self) -> Duration {
        Duration::from_millis(self.drain_ms.into())
    }
}

/// Where the driver is in the connection's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Events flow.
    Open,
    /// The connection reported its end; the transport is being finished
    /// (at this stage) before the end is reported.
    Ending(ClosedReason, Finish),
    /// The end was reported (and the transport finished).
    Done(ClosedReason),
    /// The transport failed; its error was returned, by a receive, or by
    /// a send and then (the kind given here) once by a receive.
    Failed(Option<io::ErrorKind>),
}

/// The stages of finishing the transport after the connection's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finish {
    /// Write out the last bytes (our Close).
    Flush,
    /// Shut the write side down.
    Shutdown,
    /// Read and drop until the peer closes its side.
    Drain,
}

/// A WebSocket connection over a tokio transport `S`: a [`Connection`]
/// plus the transport, the write buffer and the connection's timer.
///
/// # Memory
///
/// While messages flow it keeps what they need; once the connection has
/// seen no traffic for [`Config::buffer_release`](crate::Config::buffer_release)
/// (1 s by default) it holds no buffer at all: reads go through a buffer
/// per thread (or, while a large message arrives, into the buffer it is
/// assembled in), the bytes being written are handed back to the connection
/// ([`Connection::recycle_transmit`]) which frees them when idle, and the
/// timer is dropped while no deadline is armed. What is left is this
/// struct, the transport, and the deflate history an agreed context
/// takeover needs ([`heap_usage`](Self::heap_usage) tells).
///
/// See the [module docs](self) for the calling model, errors and cancel
/// safety.
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    /// Bytes taken from `poll_transmit`, written up to `written`.
    out: Vec<u8>,
    written: usize,
    /// Bytes were written since the transport was last flushed.
    unflushed: bool,
    /// The transport returned end of file.
    read_eof: bool,
    /// The connection's clock starts here.
    epoch: TokioInstant,
    /// The timer, made on first use (it needs a runtime), and the deadline
    /// it is set to; `None` when it is not armed.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
    limits: Limits,
    phase: Phase,
    /// Work done since the task last returned `Pending` (module docs,
    /// "Fairness").
    work: Work,
    /// The tasks to wake when the socket is polled from two (see
    /// `wake.rs`).
    wakers: Wakers,
}

impl<S> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .field("unwritten", &(self.out.len() - self.written))
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Drive `conn` over `io`, with `epoch` the [`tokio::time::Instant`]
    /// that `conn`'s clock counts from (see the module's "Time"): for a
    /// connection made after a handshake done elsewhere, e.g. on an HTTP
    /// server's upgraded stream. Feed bytes read past the handshake to
    /// `conn` first.
    pub fn from_connection(
        io: S,
        conn: Connection,
        epoch: TokioInstant,
        options: Options,
    ) -> WebSocket<S> {
        WebSocket {
            io,
            conn,
            out: Vec::new(),
            written: 0,
            unflushed: false,
            read_eof: false,
            epoch,
            sleep: None,
            armed: None,
            limits: Limits::from(&options),
            phase: Phase::Open,
            work: Work::default(),
            wakers: Wakers::default(),
        }
    }

    /// The connection's current time (see the module's "Time").
    #[must_use]
    pub fn now(&self) -> Instant {
        now_since(self.epoch)
    }

    /// The protocol state, for its getters.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The transport.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The transport, e.g. to set socket options. Reading or writing it
    /// directly corrupts the stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Heap bytes this socket's buffers hold now: the connection's
    /// ([`Connection::heap_usage`]), the bytes being written, the timer, and
    /// the shared waker once two tasks polled it.
    /// The transport's own and the per-thread read buffer are not counted.
    #[must_use]
    pub fn heap_usage(&self) -> usize {
        self.conn.heap_usage()
            + self.out.capacity()
            + self
                .sleep
                .as_ref()
                .map_or(0, |_| core::mem::size_of::<Sleep>())
            + self.wakers.heap_usage()
    }

    /// Whether the end was reported: [`recv`](Self::recv) returns `None`
    /// from now on.
    fn is_terminated(&self) -> bool {
        matches!(self.phase, Phase::Done(_) | Phase::Failed(None))
    }

    /// Bytes queued and not yet written to the transport.
    #[must_use]
    pub fn pending_transmit(&self) -> usize {
        self.out.len() - self.written + self.conn.pending_transmit()
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn closed_reason(&self) -> Option<ClosedReason> {
        match self.phase {
            Phase::Ending(reason, _) | Phase::Done(reason) => Some(reason),
            Phase::Open | Phase::Failed(_) => None,
        }
    }

    /// The next message (data, and the Pings, Pongs and Close the
    /// connection already answered), copied out of the connection (one
    /// copy of the payload, into a buffer of its own). `None` once the
    /// connection has ended, after its error if the end was not clean.
    /// Cancel-safe. The socket is also a [`Stream`](futures_core::Stream)
    /// of these.
    pub async fn recv(&mut self) -> Option<io::Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Message>>> {
        loop {
            match ready!(self.poll_event(cx, |event, _| Message::from_event(event))) {
                Some(Ok(Some(message))) => return Poll::Ready(Some(Ok(message))),
                Some(Ok(None)) => continue,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }

    /// The next event, handed to `f` with the connection's [`Sender`]: `f`
    /// may answer from the borrowed payload without copying it (an echo, a
    /// forward); what it sends is written before the driver waits for the
    /// transport again. Returns what `f` returns; `None` once the connection
    /// has ended, after its error if the end was not clean.
    /// [`Event::Closed`] never reaches `f`: the driver finishes the
    /// transport and reports the end itself. Cancel-safe: `f` is called only
    /// when the future completes.
    pub async fn recv_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, Sender<'_>) -> R,
    ) -> Option<io::Result<R>> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.poll_event(cx, |event, tx| {
                let f = f
                    .take()
                    .expect("poll_event calls f once, then the future is done");
                f(event, tx)
            })
        })
        .await
    }

    /// Send a message and write it out: [`Message::Text`] and
    /// [`Message::Binary`] as whole messages, the fragments as the next
    /// piece of a streamed message (the first piece starts it with its
    /// kind), [`Message::Ping`] and [`Message::Pong`] as control frames,
    /// and [`Message::Close`] starts the close handshake (then call
    /// [`recv`](Self::recv) until `None`, or [`close`](Self::close)). The
    /// payload is copied once, into the frame being written (and
    /// compressed if permessage-deflate was agreed). Refused, with nothing
    /// sent, as the connection's `send_*` refuse (the [crate docs' "Errors"
    /// table](crate#errors)): after our Close, [`BrokenPipe`](io::ErrorKind::BrokenPipe).
    /// Like [`SinkExt::send`](https://docs.rs/futures/latest/futures/sink/trait.SinkExt.html#method.send),
    /// it first waits until no more than [`Options::max_pending`] bytes
    /// wait to be written.
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.queue(message)?;
        self.flush().await
    }

    /// Send a whole text message and write it out (see [`send`](Self::send)).
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.conn.send_text(text)?;
        self.flush().await
    }

    /// Send a whole binary message and write it out (see [`send`](Self::send)).
    pub async fn send_binary(&mut self, data: &[u8]) -> io::Result<()> {
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.conn.send_binary(data)?;
        self.flush().await
    }

    /// Send a message framed (and compressed) once for many sockets, and
    /// write it out: a broadcast hands the same
    /// `Arc<`[`PreparedMessage`](crate::PreparedMessage)`>` to every
    /// member's task. Waits for room, refuses and writes out as
    /// [`send`](Self::send); what goes out, and when it falls back to
    /// framing here, is [`Connection::send_prepared`](crate::Connection::send_prepared)'s.
    pub async fn send_prepared(&mut self, message: &crate::PreparedMessage) -> io::Result<()> {
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.conn.send_prepared(message)?;
        self.flush().await
    }

    /// Send a Ping (at most 125 bytes) and write it out. Its Pong comes
    /// back as [`Message::Pong`].
    pub async fn send_ping(&mut self, payload: &[u8]) -> io::Result<()> {
        poll_fn(|cx| self.poll_room(cx)).await?;
        self.conn.send_ping(payload)?;
        self.flush().await
    }

    /// Write out everything queued, and flush the transport. It does not
    /// read, so it waits on a peer that does not read either (see the
    /// module's "Backpressure"). Cancel-safe.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_out(cx)).await
    }

    /// Close: send a Close with `code` and `reason` (at most 123 bytes),
    /// wait for the peer's (messages that arrive meanwhile are dropped), up
    /// to [`Config::close_timeout`](crate::Config::close_timeout), then
    /// flush, shut the transport down and drain it for at most
    /// [`Options::drain_timeout`]. Returns why the connection ended; on a
    /// connection that already ended, returns that at once.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> io::Result<ClosedReason> {
        self.start_close(code, reason)?;
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Queue our Close, unless it went out already or the connection ended.
    fn start_close(&mut self, code: CloseCode, reason: &str) -> io::Result<()> {
        if self.phase == Phase::Open && !self.conn.close_sent() && !self.conn.is_closed() {
            let now = self.now();
            self.conn.close(now, code, reason)?;
        }
        Ok(())
    }

    /// Drop events until the end; return why the connection ended.
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ClosedReason>> {
        loop {
            match ready!(self.poll_event(cx, |_, _| ())) {
                Some(Ok(())) => {}
                // The end, reported as an error: `closed_reason` has it.
                Some(Err(e)) if self.closed_reason().is_none() => return Poll::Ready(Err(e)),
                Some(Err(_)) | None => break,
            }
        }
        Poll::Ready(
            self.closed_reason()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the transport failed")),
        )
    }

    /// Queue `message` on the connection (see [`send`](Self::send)).
    fn queue(&mut self, message: Message) -> io::Result<()> {
        match message {
            Message::Text(text) => self.conn.send_text(&text)?,
            Message::Binary(data) => self.conn.send_binary(&data)?,
            Message::TextFragment { data, fin } => {
                self.queue_fragment(MessageKind::Text, data.as_bytes(), fin)?;
            }
            Message::BinaryFragment { data, fin } => {
                self.queue_fragment(MessageKind::Binary, &data, fin)?;
            }
            Message::Ping(data) => self.conn.send_ping(&data)?,
            Message::Pong(data) => self.conn.send_pong(&data)?,
            Message::Close { code, reason } => {
                let now = self.now();
                self.conn.close(now, code, &reason)?;
            }
        }
        Ok(())
    }

    /// The next piece of the message in progress, or the first of a new
    /// one of `kind`.
    fn queue_fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> io::Result<()> {
        match self.conn.send_fragment(data, fin) {
            Err(SendError::NoMessageStarted) => {
                self.conn.begin_message(kind)?;
                Ok(self.conn.send_fragment(data, fin)?)
            }
            sent => Ok(sent?),
        }
    }
}
