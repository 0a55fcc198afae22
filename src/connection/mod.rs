//! The connection state machine (RFC 6455 sections 5 to 7).
//!
//! See [`Connection`] for how to drive it.

mod deflate;
mod event;
mod recv;
mod send;
mod settings;
mod timer;
mod utf8;

use alloc::vec::Vec;

pub use event::{ClosedReason, Event};
pub use send::{AUTO_PONG_BUDGET, MaskSource, Sender};

use crate::close::CloseCode;
use crate::config::Config;
use crate::error::ProtocolError;
use crate::extension::Extension;
use crate::role::Role;
use crate::time::Instant;
use deflate::Deflate;
use recv::{Parsed, Receiver};
use send::Tx;
use settings::{Settings, add_millis};
use timer::{Timer, TimerTable, nanos};

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

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
/// `poll_event`, the message being assembled (capped by
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

/// The connection apart from its input buffer.
pub(crate) struct Core {
    tx: Tx,
    timers: TimerTable,
    settings: Settings,
    /// The `now` of the most recent input call, in nanoseconds.
    last_now: u64,
    state: State,
    /// The connection failed (a violation, a late message) and its Close
    /// goes out once the events received before the failure are drained,
    /// so the application's answers to them come first.
    owe_close: bool,
    /// Bytes came in or went out since the release timer last looked.
    traffic: bool,
    /// The transport ended while parsing was paused (see
    /// `Connection::receive`): the complete frames behind the pause are
    /// still parsed, for their events only.
    eof_backlog: bool,
}

/// The close handshake (section 7), as states that carry their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Data flows both ways.
    Open,
    /// We sent Close and wait for the peer's.
    CloseSent,
    /// The peer sent Close (with this code, 1005 for none) and it was not
    /// answered yet: with `auto_close`, until the next `poll_event` after
    /// the one that handed it out; without, until the application calls
    /// `close`.
    CloseReceived(CloseCode),
    /// A client whose close handshake finished waits for the server to close
    /// the transport first (section 7.1.1).
    AwaitEof(CloseCode),
    /// The end. `reported` says whether `Event::Closed` was handed out.
    Closed {
        reason: ClosedReason,
        reported: bool,
    },
}

impl Connection {
    /// A server's connection with no extension, for after an opening
    /// handshake done elsewhere. After this crate's handshake, take the
    /// connection [`Request::accept`](crate::handshake::server::Request::accept)
    /// returns instead: it runs what was agreed (permessage-deflate
    /// included) and has been fed the bytes behind the request head.
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
    /// `|| { let mut k = [0; 4]; getrandom::getrandom(&mut k).unwrap(); k }`.
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
    /// many were appended. When `buf` is empty its allocation is swapped with
    /// the connection's instead of copied.
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
    /// frames or a larger allocation.
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
        if let Some(index) = rx.pop() {
            let event = rx.event(index, inflater.map(|i| &*i));
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
    /// has work to do, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next()
    }

    // ---- input ----

    /// Take bytes read from the transport. They are copied into the input
    /// buffer (their one copy) and parsed there, in place: every complete
    /// frame is checked, Pings are answered and violations found before
    /// this returns, and the events wait for
    /// [`poll_event`](Self::poll_event). Drain them before feeding more:
    /// their bytes stay where they are until then, so the buffer grows with
    /// what you feed. The payload of a large message
    /// is unmasked on its way in and written straight where the message is
    /// assembled, so reading into one buffer shared by many connections
    /// and calling this costs no more than
    /// [`input_buffer`](Self::input_buffer), and idle connections hold no
    /// read buffer.
    ///
    /// Input after the peer's Close, or after the connection ended, is
    /// ignored (section 5.5.1: Close is the last frame).
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) {
        self.core.touch(now);
        if !self.core.receiving() {
            return;
        }
        self.rx.compact();
        if input.is_empty() {
            return;
        }
        self.core.note_activity();
        self.rx.append(input, &self.core.settings);
        self.receive();
    }

    /// Space inside the connection's input buffer to read transport bytes
    /// into directly: `min` bytes long, longer when bytes lent before are
    /// free again, and shorter (never empty) when the buffer has less room
    /// left, as when it was sized for a large frame that is nearly in: a
    /// short read then fills it instead of making it grow. Read into its
    /// start, then call
    /// [`commit_input`](Self::commit_input) with the count: the same as
    /// [`handle_input`](Self::handle_input) without its copy.
    ///
    /// ```
    /// # use wscore::{Config, Connection, Instant};
    /// # let mut conn = Connection::server(&Config::default(), Instant::ZERO);
    /// # let mut socket: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    /// use std::io::Read;
    /// let n = socket.read(conn.input_buffer(64 << 10)).unwrap();
    /// conn.commit_input(Instant::ZERO, n);
    /// assert_eq!(conn.poll_event(), Some(wscore::Event::Text("hi")));
    /// ```
    ///
    /// When the buffer is full it grows (geometrically, and not past the
    /// message cap plus an eighth unless `min` needs it), so the caps still
    /// bound it by the message size plus one read. The buffer lent is the
    /// connection's own, so it is held while the driver waits on the
    /// transport: prefer [`handle_input`](Self::handle_input) from a buffer
    /// shared by many connections (a per-thread one) where connections sit
    /// idle, and keep this for connections that carry bulk data.
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        if self.core.receiving() {
            self.rx.compact();
        }
        // Input after the end is ignored: the space lent then lies past
        // what queued events point at, and commit_input ignores it.
        self.rx.input_buffer(min, &self.core.settings)
    }

    /// [`input_buffer`](Self::input_buffer), but only while the payload of
    /// a large data frame is arriving (whole messages, not compressed):
    /// then the bytes read there land where the message is assembled,
    /// saving the copy [`handle_input`](Self::handle_input) makes, in a
    /// buffer the connection holds anyway until the message is complete.
    /// `None` otherwise: read into a buffer of your own, shared by many
    /// connections, and call `handle_input`, so that an idle connection
    /// holds no read buffer. The tokio driver reads this way:
    ///
    /// ```
    /// # use wscore::{Config, Connection, Instant};
    /// # let mut conn = Connection::server(&Config::default(), Instant::ZERO);
    /// # let mut socket: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    /// use std::io::Read;
    /// let mut shared = vec![0; 64 << 10]; // one per thread
    /// if let Some(buf) = conn.payload_buffer(64 << 10) {
    ///     let n = socket.read(buf).unwrap();
    ///     conn.commit_input(Instant::ZERO, n);
    /// } else {
    ///     let n = socket.read(&mut shared).unwrap();
    ///     conn.handle_input(Instant::ZERO, &shared[..n]);
    /// }
    /// assert_eq!(conn.poll_event(), Some(wscore::Event::Text("hi")));
    /// ```
    ///
    /// What it lends follows the bytes received, not the frame's announced
    /// length: the spare room the buffer has, or, when that is short,
    /// twice the buffer's size (at least 4 KiB, at most `min`): a peer
    /// that announces 16 MiB and sends 10 bytes gets a few KiB lent.
    pub fn payload_buffer(&mut self, min: usize) -> Option<&mut [u8]> {
        if !self.core.receiving() || !self.rx.in_large_payload() {
            return None;
        }
        let lend = self.rx.payload_lend(min);
        Some(self.input_buffer(lend))
    }

    /// `n` bytes were read into the start of the slice
    /// [`input_buffer`](Self::input_buffer) returned; they count as input,
    /// as with [`handle_input`](Self::handle_input). `n` past the end of
    /// that slice is clamped to it.
    pub fn commit_input(&mut self, now: Instant, n: usize) {
        self.core.touch(now);
        if !self.core.receiving() || n == 0 {
            return;
        }
        self.core.note_activity();
        self.rx.commit(n);
        self.receive();
    }

    /// The transport has no more bytes to read (the peer shut its side).
    /// The connection ends here ([`is_closed`](Self::is_closed)); the
    /// events received before are still handed out first, then
    /// [`Event::Closed`] reports the end. A frame cut short by the end is
    /// dropped.
    pub fn handle_eof(&mut self, now: Instant) {
        self.core.touch(now);
        match self.core.state {
            // Section 7.1.1: the server closed the transport after the close
            // handshake, as it should.
            // The peer's Close came before the end: it finished its part of
            // the handshake, and our answer has no transport left to take.
            State::AwaitEof(code) | State::CloseReceived(code) => {
                self.core.finish(ClosedReason::Clean { code });
            }
            State::Open | State::CloseSent => {
                self.core.finish(ClosedReason::Eof);
                // Frames that arrived whole but wait behind a pause are
                // still the application's: parsed as the queue drains.
                self.core.eof_backlog = self.rx.paused();
            }
            State::Closed { .. } => {}
        }
    }

    /// Act on every deadline that is due at `now`. Each deadline is acted on
    /// at most once per call, so the work is bounded; early or repeated calls
    /// do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.touch(now);
        for timer in timer::ALL {
            if self.core.timers.take_due(timer, now) {
                match timer {
                    Timer::Release => self.on_release_timer(),
                    // Every message complete before the deadline is queued
                    // already (and handed out before the end is reported);
                    // a pause behind a compressed message is the
                    // application's wait, not the peer's, and the deadline
                    // is armed again when parsing goes on.
                    Timer::Message if self.rx.in_progress() && !self.rx.paused() => {
                        self.core.fail_late_message();
                    }
                    _ => self.core.on_timer(timer),
                }
            }
        }
    }

    /// The release timer: a connection without traffic for a whole period
    /// gives back its buffers (and is not looked at again until traffic
    /// comes); a busy one only shrinks buffers far larger than they need
    /// to be, and is looked at again a period later.
    fn on_release_timer(&mut self) {
        if core::mem::take(&mut self.core.traffic) {
            self.rx.shrink_oversized();
            self.core.tx.shrink_oversized();
            self.core.arm_release();
        } else {
            self.release_buffers();
        }
    }

    /// Free every buffer that holds nothing still needed, now, as the
    /// release timer does once the connection has been idle for
    /// [`Config::buffer_release`]. What stays: unparsed input and a message
    /// half received (cut to their size), unsent frames, and the deflate
    /// history the agreed context takeover needs.
    pub fn release_buffers(&mut self) {
        self.rx.release();
        if self.rx.paused() {
            // A queued event borrows the inflater's output.
            self.core.tx.release();
            return;
        }
        if self.core.tx.sent_close && !self.core.receiving() {
            // Nothing will be compressed or inflated any more.
            self.deflate = None;
        } else if let Some(deflate) = &mut self.deflate {
            deflate.release(self.rx.in_compressed_message(), self.core.tx.sent_close);
        }
        self.core.tx.release();
    }

    /// The input step's parse: every complete frame received is parsed,
    /// checked and queued, Pings are answered, a Close ends the input, and
    /// a violation ends the connection. It stops early behind a compressed
    /// message, whose event borrows the inflater, and after a batch of
    /// events (`recv::BATCH`, 256): [`poll_event`](Self::poll_event) parses
    /// on once those are taken.
    fn receive(&mut self) {
        let Connection { rx, core, deflate } = self;
        let mut inflater = deflate.as_deref_mut().map(|d| d.split().0);
        let mut frame_done = false;
        while (core.receiving() || core.eof_backlog) && !rx.paused() {
            let parsed = match rx.parse(&core.settings, inflater.as_deref_mut()) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => break,
                // After the end, the input before it only yields its events:
                // there is no transport left to fail.
                Err(_) if core.eof_backlog => break,
                Err(error) => {
                    core.fail(error);
                    return;
                }
            };
            frame_done |= rx.take_frame_done();
            match parsed {
                Parsed::Ping(..)
                    if core.settings.auto_pong && core.receiving() && !core.tx.sent_close =>
                {
                    core.tx.auto_pong(rx.control_bytes(&parsed));
                }
                Parsed::Close(code, ..) => core.on_close_received(code),
                _ => {}
            }
            rx.push(parsed);
        }
        if !rx.paused() {
            core.eof_backlog = false;
            if core.receiving() {
                core.update_message_deadline(frame_done, rx.in_progress());
            }
        }
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

impl Core {
    fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }

    /// Whether frames from the peer are still parsed.
    fn receiving(&self) -> bool {
        matches!(self.state, State::Open | State::CloseSent)
    }

    /// Record the `now` of an input call: the deadlines it arms count from it.
    fn touch(&mut self, now: Instant) {
        self.last_now = nanos(now);
    }

    /// Input arrived: the peer is alive, so the keepalive interval starts
    /// over and any keepalive timeout is off.
    fn note_activity(&mut self) {
        self.note_traffic();
        self.timers.stop(Timer::KeepaliveTimeout);
        if self.state == State::Open {
            self.arm_keepalive();
        }
    }

    /// The input step parsed what arrived: the message deadline covers
    /// whatever is left in progress. If a frame ended outside any message,
    /// what is in progress now started with this input, so its deadline
    /// runs from now; otherwise one already running stands (it counts from
    /// the input that started what is in progress).
    fn update_message_deadline(&mut self, frame_done: bool, in_progress: bool) {
        if !in_progress {
            self.timers.stop(Timer::Message);
        } else if frame_done || !self.timers.is_set(Timer::Message) {
            match add_millis(self.last_now, self.settings.message_timeout) {
                Some(at) => self.timers.set(Timer::Message, at),
                None => self.timers.stop(Timer::Message),
            }
        }
    }

    /// The peer did not finish what it started in time: say so with 1008
    /// (policy violation) unless our Close is out, and end.
    fn fail_late_message(&mut self) {
        self.owe_close = !self.tx.sent_close;
        self.finish(ClosedReason::MessageTimeout);
    }

    /// Bytes moved: buffers are in use, so the release timer must run, and
    /// it will see this period as busy. Cheap enough for every input and
    /// every `poll_transmit`: a flag and, once per period, a deadline.
    fn note_traffic(&mut self) {
        self.traffic = true;
        if !self.timers.is_set(Timer::Release) {
            self.arm_release();
        }
    }

    fn arm_release(&mut self) {
        if self.is_closed() {
            return;
        }
        if let Some(at) = add_millis(self.last_now, self.settings.buffer_release) {
            self.timers.set(Timer::Release, at);
        }
    }

    fn arm_keepalive(&mut self) {
        if let Some(at) = add_millis(self.last_now, self.settings.keepalive) {
            self.timers.set(Timer::Keepalive, at);
        }
    }

    fn arm_close_timer(&mut self) {
        self.arm_close_timer_from(self.last_now);
    }

    /// The close deadline, `close_timeout` after `now` (in nanoseconds);
    /// keepalive stops, as the peer's answer is awaited.
    fn arm_close_timer_from(&mut self, now: u64) {
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::KeepaliveTimeout);
        match add_millis(now, self.settings.close_timeout) {
            Some(at) => self.timers.set(Timer::Close, at),
            None => self.timers.stop(Timer::Close),
        }
    }

    fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Keepalive if self.state == State::Open => {
                self.tx.write_control(crate::frame::Opcode::Ping, b"");
                match add_millis(self.last_now, self.settings.keepalive_timeout) {
                    // One deadline per silence: it is set by the first Ping
                    // after the last input and never pushed back, so a
                    // silent peer is dead by interval + timeout.
                    Some(at) => {
                        if !self.timers.is_set(Timer::KeepaliveTimeout) {
                            self.timers.set(Timer::KeepaliveTimeout, at);
                        }
                    }
                    // No timeout: keep pinging every interval (a heartbeat
                    // that keeps intermediaries from dropping the connection).
                    None => self.arm_keepalive(),
                }
            }
            Timer::Keepalive | Timer::Release | Timer::Message => {}
            Timer::KeepaliveTimeout => self.finish(ClosedReason::KeepaliveTimeout),
            Timer::Close => match self.state {
                // The handshake finished; only the server's transport close
                // is missing, and we stop waiting for it.
                State::AwaitEof(code) => self.finish(ClosedReason::Clean { code }),
                State::Closed { .. } => {}
                _ => self.finish(ClosedReason::CloseTimeout),
            },
        }
    }

    /// The peer's Close arrived (section 5.5.1); input stops here. With
    /// `auto_close` the reply goes out once `poll_event` has handed out
    /// every event up to the Close, so what the application sends in answer
    /// to them (an echo), or to the Close itself, precedes our Close.
    fn on_close_received(&mut self, code: CloseCode) {
        match self.state {
            State::Open => {
                self.timers.stop(Timer::Keepalive);
                self.timers.stop(Timer::KeepaliveTimeout);
                self.state = State::CloseReceived(code);
            }
            State::CloseSent => self.close_handshake_done(code),
            _ => {}
        }
    }

    /// What `poll_event` reports once the queue is drained: the automatic
    /// Close reply or the Close a failure owes, then the end.
    fn after_input(&mut self) -> Option<Event<'static>> {
        if core::mem::take(&mut self.owe_close) {
            if let State::Closed { reason, .. } = self.state {
                let (code, why) = match reason {
                    ClosedReason::ProtocolError(e) => (e.close_code(), e.reason()),
                    _ => (CloseCode::POLICY_VIOLATION, "message timeout"),
                };
                self.tx.write_close(code, why);
            }
        }
        if let State::CloseReceived(code) = self.state {
            if self.settings.auto_close {
                // Echo the code the peer sent; an empty Close answers an
                // empty one (1005 is never on the wire, so it means "none").
                let echo = (code != CloseCode::NO_STATUS_RECEIVED).then_some(code);
                self.tx.write_close_echo(echo);
                self.arm_close_timer();
                self.close_handshake_done(code);
            }
        }
        match &mut self.state {
            State::Closed { reason, reported } if !*reported => {
                *reported = true;
                Some(Event::Closed(*reason))
            }
            _ => None,
        }
    }

    /// Both Close frames have been sent. A server is done; a client waits for
    /// the server to close the transport (section 7.1.1).
    fn close_handshake_done(&mut self, code: CloseCode) {
        match self.settings.role {
            Role::Server => self.finish(ClosedReason::Clean { code }),
            // The transport already ended: nothing left to wait for.
            Role::Client => {
                self.state = State::AwaitEof(code);
                if !self.timers.is_set(Timer::Close) {
                    self.arm_close_timer();
                }
            }
        }
    }

    /// Enter the terminal state. The input buffer is dropped by the next
    /// `&mut` call on the connection.
    fn finish(&mut self, reason: ClosedReason) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed {
            reason,
            reported: false,
        };
        self.timers.stop_all();
    }

    /// Fail the connection for a peer's violation (section 7.1.7): end now,
    /// and owe the Close with the error's code unless one was sent. It is
    /// queued once the events before the violation are handed out, so the
    /// application's answers to them precede it.
    fn fail(&mut self, error: ProtocolError) {
        self.owe_close = !self.tx.sent_close;
        self.finish(ClosedReason::ProtocolError(error));
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
