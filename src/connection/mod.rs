//! The connection state machine (RFC 6455 sections 5 to 7).
//!
//! See [`Connection`] for how to drive it.

mod deflate;
mod event;
mod input;
mod prepared;
mod recv;
mod send;
mod settings;
mod state;
mod timer;
mod utf8;

use alloc::vec::Vec;

pub use event::{ClosedReason, Event, MessageKind};
pub use prepared::PreparedMessage;
pub use send::{AUTO_PONG_BUDGET, MaskSource, Sender};

use crate::close::CloseCode;
use crate::config::Config;
use crate::extension::Extension;
use crate::role::Role;
use crate::time::Instant;
use deflate::Deflate;
use recv::Receiver;
use send::Tx;
use settings::Settings;
use state::{Core, State};
use timer::{TimerTable, nanos};

/// One WebSocket connection after the opening handshake: bytes and time in,
/// events and bytes out. It owns no socket, clock or random source.
///
/// # Driving it
///
/// The methods come in four groups:
///
/// * **getters** on `&self`: [`role`](Self::role), [`is_closed`](Self::is_closed),
///   [`pending_transmit`](Self::pending_transmit), ...
/// * **input**: [`handle_input`](Self::handle_input) with bytes read from the
///   transport (or [`input_buffer`](Self::input_buffer) and
///   [`commit_input`](Self::commit_input) to read into the connection's own
///   buffer and skip that copy), [`handle_eof`](Self::handle_eof) when the transport has no
///   more to read, [`handle_timeout`](Self::handle_timeout) when the deadline
///   from `poll_timeout` has passed (early or repeated calls are harmless).
/// * **commands** from the application: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_in_place`](Self::send_in_place),
///   [`begin_message`](Self::begin_message)
///   and [`send_fragment`](Self::send_fragment), [`send_ping`](Self::send_ping),
///   [`send_pong`](Self::send_pong), [`close`](Self::close). Misuse returns a
///   [`SendError`](crate::SendError) and changes nothing.
/// * **output**: [`poll_event`](Self::poll_event) (or
///   [`poll_event_with_sender`](Self::poll_event_with_sender) to answer from
///   the event's payload without copying it), [`poll_transmit`](Self::poll_transmit),
///   [`poll_timeout`](Self::poll_timeout).
///
/// The input step does the work: `handle_input` parses every complete frame
/// it received, in place, answers Pings (with `auto_pong`), and finds
/// violations, so [`is_closed`](Self::is_closed) is up to date when it
/// returns. The `poll_*` methods only hand out what is there, and their
/// order does not matter, except that what the application sends in
/// answer to an event is written by the next `poll_transmit`. The loop:
///
/// ```text
/// loop {
///     read from the transport   -> handle_input(now, bytes)  (or handle_eof)
///     deadline passed           -> handle_timeout(now)
///     while let Some(event) = poll_event() { answer it (send_*) }
///     while poll_transmit(&mut out) > 0 { write out }
///     wait for the transport or poll_timeout(), whichever comes first
/// }
/// ```
///
/// Two things are left for `poll_event` to parse, each documented where it
/// happens: after a compressed message, whose event borrows the inflater,
/// and after 256 events from one input, so that a read of a flood of empty
/// frames cannot make the queue of events many times the input. When
/// [`Event::Closed`] arrives, write out what `poll_transmit` still holds
/// and close the transport.
///
/// # Time
///
/// Every `now` is an [`Instant`] on a clock the caller owns, and must not
/// go back. Input calls take `now`, and the deadlines they arm count from
/// it. Of the commands only [`close`](Self::close) arms a timer (the wait
/// for the peer's Close), so it is the one that takes `now`: the peer gets
/// the whole `close_timeout` however long the connection was idle before.
/// The other commands arm nothing (a [`send_ping`](Self::send_ping)'s Pong
/// is awaited by no deadline; keepalive's own Pings come from
/// [`handle_timeout`](Self::handle_timeout)). [`Sender::close`] counts
/// from the `now` of the input call whose event it came with.
///
/// # Memory
///
/// Buffers follow the connection's life, not each message. Under traffic
/// the connection holds the input fed and not yet drained through
/// `poll_event` with the queue describing its events (one entry per run of
/// small messages or per other event, 256 entries at most per input step),
/// the message being assembled (capped by
/// [`Config::max_message_size`], and grown as its bytes arrive, never for
/// what a header only announced), and the bytes queued for transmit; the
/// buffers keep their size between messages, so a steady stream allocates
/// nothing. Once the connection has seen no traffic for
/// [`Config::buffer_release`] (1 s by default), the deadline from
/// [`poll_timeout`](Self::poll_timeout) comes, and
/// [`handle_timeout`](Self::handle_timeout) frees them: an idle connection
/// holds no heap (beyond a client's boxed [`MaskSource`], nothing for a
/// zero-sized one, and the deflate history an agreed context takeover
/// needs) and `size_of::<Connection>()` bytes.
/// [`release_buffers`](Self::release_buffers) does the same at once. The
/// README's "Guarantees" section states each bound and the test that
/// checks it.
pub struct Connection {
    /// The input buffer events borrow from.
    rx: Receiver,
    /// Everything else; disjoint from `rx`, so a [`Sender`] can borrow it
    /// while an event borrows `rx`.
    core: Core,
    /// permessage-deflate, when the handshake agreed on it: boxed, so a
    /// connection without it pays one pointer. A compressed message's
    /// event borrows its inflater, and the [`Sender`] its compressor.
    deflate: Option<alloc::boxed::Box<Deflate>>,
}

impl Connection {
    /// A server's connection with no extension, for after an opening
    /// handshake done elsewhere. After this crate's handshake, take the
    /// connection [`Request::accept`](crate::handshake::server::Request::accept)
    /// returns instead: it runs what was agreed (permessage-deflate
    /// included) and has been fed the bytes behind the request head.
    ///
    /// Allocates nothing: a new connection holds no heap until bytes flow
    /// (`tests/memory.rs`: `idle_connection_costs_at_most_296_bytes`).
    #[must_use]
    pub fn server(config: &Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, now, Tx::new(None))
    }

    /// A client's connection with no extension, for after an opening
    /// handshake done elsewhere; after this crate's, take the one
    /// [`Response::open`](crate::handshake::client::Response::open) returns.
    ///
    /// `mask` supplies a masking key for every frame the client sends. Section
    /// 5.3 requires keys the server (and any intermediary) cannot predict:
    /// take them from a cryptographically strong random source, e.g.
    /// `|| { let mut k = [0; 4]; getrandom::fill(&mut k).unwrap(); k }`.
    ///
    /// Allocates only the box that holds `mask`, nothing for a zero-sized
    /// closure like that one (same test as [`server`](Self::server)).
    #[must_use]
    pub fn client(config: &Config, now: Instant, mask: impl MaskSource + 'static) -> Connection {
        Connection::new(
            Role::Client,
            config,
            now,
            Tx::new(Some(alloc::boxed::Box::new(mask))),
        )
    }

    /// A server's connection for what its handshake agreed (`agreed`, the
    /// extensions in use), fed `rest`, the bytes that followed the head.
    /// Only [`Request::accept`](crate::handshake::server::Request::accept)
    /// and its `http` twin call it, which is what keeps the role right.
    pub(crate) fn accepted(
        config: &Config,
        now: Instant,
        agreed: &[Extension],
        rest: &[u8],
    ) -> Connection {
        let mut conn = Connection::server(config, now).with_extensions(config, agreed);
        conn.feed_leftover(now, rest);
        conn
    }

    /// A client's connection for what its handshake agreed, masking with
    /// keys from `mask` as [`client`](Self::client) does, fed `rest`. Only
    /// [`Response::open`](crate::handshake::client::Response::open) calls it.
    pub(crate) fn connected(
        config: &Config,
        now: Instant,
        agreed: &[Extension],
        mask: impl MaskSource + 'static,
        rest: &[u8],
    ) -> Connection {
        let mut conn = Connection::client(config, now, mask).with_extensions(config, agreed);
        conn.feed_leftover(now, rest);
        conn
    }

    /// Run the extensions the handshake agreed on, as the extension layer
    /// builds them. An element it does not know is left alone, and a frame
    /// with the RSV bits it would claim then fails the connection (1002),
    /// as section 5.2 requires.
    fn with_extensions(mut self, config: &Config, agreed: &[Extension]) -> Connection {
        let (codec, rsv) = crate::extension::codec_for(agreed, self.core.settings.role, config);
        self.deflate = codec;
        self.rx.allowed_rsv = rsv;
        self
    }

    /// Feed the bytes a peer sent right behind its handshake head: the one
    /// place the constructors touch the receive path.
    fn feed_leftover(&mut self, now: Instant, rest: &[u8]) {
        self.handle_input(now, rest);
    }

    fn new(role: Role, config: &Config, now: Instant, tx: Tx) -> Connection {
        let mut core = Core {
            tx,
            timers: TimerTable::default(),
            settings: Settings::new(config, role),
            last_now: 0,
            state: State::Open,
            owe_close: false,
            traffic: false,
            eof_backlog: false,
        };
        core.touch(now);
        core.arm_keepalive();
        Connection {
            rx: Receiver::default(),
            core,
            deflate: None,
        }
    }

    // ---- getters ----

    /// This endpoint's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.core.settings.role
    }

    /// Whether the connection has ended: input is ignored from then on,
    /// and [`Event::Closed`] comes after the events received before the
    /// end. True as soon as the input step that found a violation, or
    /// [`handle_eof`](Self::handle_eof), or the deadline that ended it,
    /// returns. Until those events are drained, the application may still
    /// answer them ([`close_sent`](Self::close_sent) says when our Close
    /// is out).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Whether a Close frame was sent (or queued): no data may follow it.
    #[must_use]
    pub fn close_sent(&self) -> bool {
        self.core.tx.sent_close
    }

    /// The number of bytes queued for `poll_transmit`, for backpressure.
    #[must_use]
    pub fn pending_transmit(&self) -> usize {
        self.core.tx.out.len()
    }

    /// Heap bytes the connection's buffers hold now (their capacities), for
    /// monitoring and for tests of the memory bounds. The boxed
    /// [`MaskSource`] is not counted.
    #[must_use]
    pub fn heap_usage(&self) -> usize {
        self.rx.capacity()
            + self.core.tx.out.capacity()
            + self.deflate.as_ref().map_or(0, |d| d.heap_usage())
    }

    /// Bytes the receive path has moved inside its buffer so far, besides
    /// the one copy of each input byte into it (compaction, and joining a
    /// fragmented message's pieces). The tests of the linear-work bound
    /// read it; it is cheap enough to leave on for monitoring.
    #[must_use]
    pub fn bytes_moved(&self) -> u64 {
        self.rx.bytes_moved() + self.deflate.as_ref().map_or(0, |d| d.bytes_moved())
    }

    // ---- output ----

    /// Append the bytes to write to the transport to `buf`, and return how
    /// many were appended.
    ///
    /// Cost: when `buf` is empty its allocation is swapped with the
    /// connection's queue: no copy, whatever the size. Otherwise the queued
    /// bytes are copied once onto the end of `buf`, which grows as a `Vec`
    /// does. Nothing queued: returns 0 and touches nothing.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.core.tx.drain_into(buf);
        if n > 0 {
            self.core.note_traffic();
        }
        n
    }

    /// Hand back a buffer that [`poll_transmit`](Self::poll_transmit)
    /// filled, once its bytes are written: the connection queues its next
    /// frames in that allocation, so a driver keeps no write buffer of its
    /// own between writes, and an idle connection's one buffer is freed by
    /// the release timer (see [`Config::buffer_release`]). The buffer is
    /// cleared first; it is dropped if the connection's queue already holds
    /// frames or a larger allocation. No copy either way.
    pub fn recycle_transmit(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        let out = &mut self.core.tx.out;
        if out.is_empty() && out.capacity() < buf.capacity() {
            *out = buf;
        }
    }

    /// The next event, borrowed from the connection until its next `&mut`
    /// call. `None` when there is nothing more to report for now.
    ///
    /// It only hands out what the input step parsed and checked: the
    /// Pings in it are answered (with `auto_pong`) and a violation in it
    /// has ended the connection already. Every event before a violation is
    /// handed out first, and the application may still answer them: the
    /// Close for the violation is queued once they are drained.
    ///
    /// Cost: no copy. A payload is a view of the input buffer (unmasked in
    /// place by the input step) or, for a compressed message, of the
    /// inflater's output. Where the input step paused (see the type's
    /// docs) this call parses on, doing the input step's work on bytes
    /// already fed, without copying them again.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.poll_event_with_sender().map(|(event, _)| event)
    }

    /// Like [`poll_event`](Self::poll_event), and also the [`Sender`]: the
    /// event borrows only the input buffer, so the application can answer
    /// from its payload without copying it:
    ///
    /// ```
    /// # use wscore::{Config, Connection, Event, Instant};
    /// # let mut conn = Connection::server(&Config::default(), Instant::ZERO);
    /// # conn.handle_input(Instant::ZERO, &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    /// while let Some((event, mut tx)) = conn.poll_event_with_sender() {
    ///     match event {
    ///         Event::Text(text) => tx.send_text(text).unwrap(),
    ///         Event::Binary(data) => tx.send_binary(data).unwrap(),
    ///         _ => {}
    ///     }
    /// }
    /// # let mut out = Vec::new();
    /// # conn.poll_transmit(&mut out);
    /// # assert_eq!(out, [0x81, 2, b'h', b'i']);
    /// ```
    #[inline]
    pub fn poll_event_with_sender(&mut self) -> Option<(Event<'_>, Sender<'_>)> {
        if self.rx.resume_ready() {
            // A compressed message's event was taken: parse what followed it.
            self.rx.resume();
            self.receive();
        }
        let Connection { rx, core, deflate } = self;
        let (inflater, deflate) = match deflate.as_deref_mut().map(Deflate::split) {
            Some((inflater, tx)) => (Some(inflater), Some(tx)),
            None => (None, None),
        };
        if let Some(next) = rx.pop() {
            let event = rx.event(next, inflater.map(|i| &*i));
            return Some((event, Sender { core, deflate }));
        }
        if !core.receiving() && !core.eof_backlog && !rx.is_empty() {
            // Nothing more will be parsed: free the input.
            rx.reset();
        }
        core.after_input()
            .map(|event| (event, Sender { core, deflate }))
    }

    /// The next deadline at which [`handle_timeout`](Self::handle_timeout)
    /// has work to do, if any. A look at the connection's fixed table of
    /// deadlines: constant time, no allocation.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next()
    }

    // ---- commands ----

    /// Send a whole text message. See [`Sender::send_text`].
    #[inline]
    pub fn send_text(&mut self, text: &str) -> Result<(), crate::SendError> {
        self.sender().send_text(text)
    }

    /// Send a whole binary message. See [`Sender::send_binary`].
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), crate::SendError> {
        self.sender().send_binary(data)
    }

    /// Send a message framed and compressed once for many connections.
    /// See [`Sender::send_prepared`].
    #[inline]
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), crate::SendError> {
        self.sender().send_prepared(message)
    }

    /// Send a whole message without compressing it. See
    /// [`Sender::send_uncompressed`].
    pub fn send_uncompressed(
        &mut self,
        kind: MessageKind,
        data: &[u8],
    ) -> Result<(), crate::SendError> {
        self.sender().send_uncompressed(kind, data)
    }

    /// Send a whole message without copying its payload: masked in place,
    /// header returned. See [`Sender::send_in_place`].
    pub fn send_in_place(
        &mut self,
        kind: MessageKind,
        payload: &mut [u8],
    ) -> Result<crate::frame::EncodedHeader, crate::SendError> {
        self.sender().send_in_place(kind, payload)
    }

    /// Start a message to be sent in pieces. See [`Sender::begin_message`].
    pub fn begin_message(&mut self, kind: MessageKind) -> Result<(), crate::SendError> {
        self.sender().begin_message(kind)
    }

    /// Send the next piece of a message. See [`Sender::send_fragment`].
    pub fn send_fragment(&mut self, data: &[u8], fin: bool) -> Result<(), crate::SendError> {
        self.sender().send_fragment(data, fin)
    }

    /// Send a Ping. See [`Sender::send_ping`].
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), crate::SendError> {
        self.sender().send_ping(payload)
    }

    /// Send an unsolicited Pong. See [`Sender::send_pong`].
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), crate::SendError> {
        self.sender().send_pong(payload)
    }

    /// Start (or, after the peer's Close with `auto_close` off, finish) the
    /// close handshake, as [`Sender::close`] does; the peer then has
    /// [`Config::close_timeout`] from `now` to answer.
    pub fn close(
        &mut self,
        now: Instant,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), crate::SendError> {
        self.sender().close_at(nanos(now), code, reason)
    }

    /// The sending half, for commands.
    #[inline]
    fn sender(&mut self) -> Sender<'_> {
        Sender {
            core: &mut self.core,
            deflate: self.deflate.as_deref_mut().map(|d| d.split().1),
        }
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.core.settings.role)
            .field("state", &self.core.state)
            .field("pending_transmit", &self.core.tx.out.len())
            .finish_non_exhaustive()
    }
}
