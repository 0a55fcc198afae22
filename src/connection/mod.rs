//! The connection state machine (RFC 6455 sections 5 to 7).
//!
//! See [`Connection`] for how to drive it.

mod deflate;
mod event;
mod recv;
mod send;
mod timer;
mod utf8;

use alloc::vec::Vec;
use core::time::Duration;

pub use event::{ClosedReason, Event};
pub use send::{AUTO_PONG_BUDGET, MaskSource, Sender};

use crate::close::CloseCode;
use crate::config::Config;
use crate::error::ProtocolError;
use crate::handshake::Negotiated;
use crate::role::Role;
use crate::time::Instant;
use deflate::Deflate;
use recv::{Limits, Receiver};
use send::Tx;
use timer::{Timer, TimerTable};

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
/// After every input or command: drain `poll_event` until it returns `None`
/// (parsing happens there, so that is also when Pings are answered and
/// violations found), then drain `poll_transmit` into the transport, then wait
/// for the transport or for the deadline `poll_timeout` gives, whichever
/// comes first. When [`Event::Closed`] arrives, write out what
/// `poll_transmit` still holds and close the transport.
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
    /// The transport ended; reported once the input before it is parsed.
    eof: bool,
    /// Bytes came in or went out since the release timer last looked.
    traffic: bool,
    /// The message deadline passed: the connection fails once the events
    /// complete before it are handed out.
    message_late: bool,
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

/// [`Config`] folded into what the hot paths read, in fewer bytes.
#[derive(Clone, Copy, Debug)]
struct Settings {
    /// What the receive path checks, computed once.
    limits: Limits,
    /// Milliseconds, rounded up so no deadline fires early; `u32::MAX` is
    /// "off". Milliseconds in a u32 (49 days) rather than nanoseconds in a
    /// u64 keep the connection within its 256-byte budget.
    keepalive: u32,
    keepalive_timeout: u32,
    close_timeout: u32,
    message_timeout: u32,
    /// 0 is "off".
    fragment_size: u32,
}

const OFF: u32 = u32::MAX;

fn millis(d: Option<Duration>) -> u32 {
    d.map_or(OFF, |d| {
        let ms = d.as_nanos().div_ceil(1_000_000);
        u32::try_from(ms).unwrap_or(OFF - 1).min(OFF - 1)
    })
}

/// `now` in nanoseconds since the clock's epoch, saturating short of
/// `u64::MAX` (585 years).
fn nanos(now: Instant) -> u64 {
    u64::try_from(now.elapsed().as_nanos()).unwrap_or(u64::MAX - 1)
}

/// `now` (in nanoseconds) plus `delta` milliseconds, unless `delta` is "off".
fn add_millis(now: u64, delta: u32) -> Option<Instant> {
    (delta != OFF).then(|| {
        let at = now.saturating_add(u64::from(delta) * 1_000_000);
        Instant::from_elapsed(Duration::from_nanos(at))
    })
}

impl Settings {
    fn new(config: &Config, role: Role) -> Settings {
        Settings {
            limits: Limits {
                role,
                max_frame: config.max_frame_size,
                max_message: config.max_message_size,
                streaming: config.streaming,
                // Zero would re-arm the deadline at the instant it fires,
                // forever: the shortest period is one millisecond.
                buffer_release: millis(config.buffer_release).max(1),
                auto_pong: config.auto_pong,
                auto_close: config.auto_close,
            },
            // A zero interval would mean "ping continuously": treat it as off.
            keepalive: millis(config.keepalive_interval.filter(|d| !d.is_zero())),
            keepalive_timeout: millis(config.keepalive_timeout),
            close_timeout: millis(config.close_timeout),
            // Zero would fail every frame split across two reads: off.
            message_timeout: millis(config.message_timeout.filter(|d| !d.is_zero())),
            fragment_size: config
                .fragment_size
                .map_or(0, |n| u32::try_from(n.max(1)).unwrap_or(u32::MAX)),
        }
    }
}

impl Connection {
    /// A server's connection, for after the opening handshake.
    #[must_use]
    pub fn server(config: &Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, now, Tx::new(None))
    }

    /// A client's connection, for after the opening handshake.
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

    /// A server's connection for the handshake that
    /// [`Request::accept`](crate::handshake::server::Request::accept)
    /// completed, set up with what it agreed on.
    ///
    /// Taking the [`Negotiated`] result (rather than only a role) is what
    /// lets the connection run the extensions the handshake agreed on: the
    /// subprotocol is the application's business, but an extension such as
    /// permessage-deflate changes how frames are read and written. With
    /// the `deflate` feature (on by default), a `permessage-deflate`
    /// element in `negotiated.extensions` turns it on with the agreed
    /// parameters and `config.deflate`'s preferences; without the feature,
    /// or for any other extension, this is [`server`](Self::server), and a
    /// frame using the extension's RSV bits fails the connection (1002).
    ///
    /// `negotiated` must be the server's (`negotiated.role` is
    /// [`Role::Server`]); debug builds check it.
    ///
    /// ```
    /// use wscore::handshake::client::ClientRequest;
    /// use wscore::handshake::server::{Accept, ServerHandshake};
    /// use wscore::handshake::HandshakeLimits;
    /// use wscore::{Config, Connection, Event, Instant, Status};
    ///
    /// let now = Instant::ZERO;
    /// let config = Config::default();
    ///
    /// // The client writes its request (the nonce comes from its RNG).
    /// let mut to_server = Vec::new();
    /// let mut client_hs = ClientRequest::new("example.com", [7; 16]).write(&mut to_server).unwrap();
    ///
    /// // The server reads the request, accepts it and starts its connection,
    /// // feeding it whatever followed the head in the same read.
    /// let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    /// let Status::Complete((request, used)) = server_hs.handle_input(&to_server).unwrap() else {
    ///     panic!("the request is complete");
    /// };
    /// let mut to_client = Vec::new();
    /// let negotiated = request.accept(&Accept::new(), &mut to_client).unwrap();
    /// let mut server = Connection::from_server_handshake(&config, now, negotiated);
    /// server.handle_input(now, &to_server[used..]);
    ///
    /// // The client checks the 101 and starts its own connection.
    /// let Status::Complete((response, used)) = client_hs.handle_input(&to_client).unwrap() else {
    ///     panic!("the response is complete");
    /// };
    /// let negotiated = response.negotiated().clone();
    /// let mask = || [1, 2, 3, 4]; // use a strong random source (section 5.3)
    /// let mut client = Connection::from_client_handshake(&config, now, negotiated, mask);
    /// client.handle_input(now, &to_client[used..]);
    ///
    /// client.send_text("hi").unwrap();
    /// let mut wire = Vec::new();
    /// client.poll_transmit(&mut wire);
    /// server.handle_input(now, &wire);
    /// assert!(matches!(server.poll_event(), Some(Event::Text("hi"))));
    /// ```
    #[must_use]
    pub fn from_server_handshake(
        config: &Config,
        now: Instant,
        negotiated: Negotiated,
    ) -> Connection {
        debug_assert_eq!(
            negotiated.role,
            Role::Server,
            "a server connection needs the server's handshake result"
        );
        Connection::server(config, now).with_extensions(config, &negotiated)
    }

    /// A client's connection for the handshake that
    /// [`ClientHandshake`](crate::handshake::client::ClientHandshake)
    /// completed, set up with what it agreed on
    /// ([`Response::negotiated`](crate::handshake::client::Response::negotiated)),
    /// masking with keys from `mask` as [`client`](Self::client) does.
    ///
    /// See [`from_server_handshake`](Self::from_server_handshake) for why it
    /// takes the [`Negotiated`] result and for an example.
    /// `negotiated.role` must be [`Role::Client`]; debug builds check it.
    #[must_use]
    pub fn from_client_handshake(
        config: &Config,
        now: Instant,
        negotiated: Negotiated,
        mask: impl MaskSource + 'static,
    ) -> Connection {
        debug_assert_eq!(
            negotiated.role,
            Role::Client,
            "a client connection needs the client's handshake result"
        );
        Connection::client(config, now, mask).with_extensions(config, &negotiated)
    }

    /// Run the extensions the handshake agreed on. permessage-deflate is
    /// the one implemented; an element the connection does not know is
    /// left alone, and a frame with the RSV bits it would claim then fails
    /// the connection (1002), as section 5.2 requires.
    #[allow(unused_variables, unused_mut)]
    fn with_extensions(mut self, config: &Config, negotiated: &Negotiated) -> Connection {
        #[cfg(feature = "deflate")]
        if let Some(params) = crate::deflate::DeflateParams::from_extensions(&negotiated.extensions)
        {
            let role = self.core.settings.limits.role;
            self.deflate = Some(alloc::boxed::Box::new(Deflate::new(
                &params,
                role,
                &config.deflate,
            )));
            self.rx.allowed_rsv = crate::frame::Rsv::RSV1;
        }
        self
    }

    fn new(role: Role, config: &Config, now: Instant, tx: Tx) -> Connection {
        let mut core = Core {
            tx,
            timers: TimerTable::default(),
            settings: Settings::new(config, role),
            last_now: 0,
            state: State::Open,
            eof: false,
            traffic: false,
            message_late: false,
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
        self.core.settings.limits.role
    }

    /// Whether the connection has ended ([`Event::Closed`] is ready or was
    /// handed out). Input is ignored from then on.
    ///
    /// Violations in received bytes, and the end of input after
    /// [`handle_eof`](Self::handle_eof), are found by `poll_event`: until
    /// the events before them are drained this stays `false`.
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
    /// Received bytes are parsed here, one event at a time, in place: Pings
    /// are answered (with `auto_pong`) and violations of the protocol are
    /// found as the parse reaches them, after every event before them was
    /// handed out.
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
        let Connection { rx, core, deflate } = self;
        let (inflater, deflate) = match deflate.as_deref_mut().map(Deflate::split) {
            Some((inflater, tx)) => (Some(inflater), Some(tx)),
            None => (None, None),
        };
        if core.receiving() {
            // The frame handed out last ended outside any message: what
            // follows it (if anything) has its own deadline.
            if rx.take_frame_done() {
                core.restart_message_deadline(rx.in_progress());
            }
            // The common frame first: a small whole data message, parsed
            // without the general machinery (which stays the one place
            // that reports framing errors).
            if let Some((kind, range)) = rx.small_message(&core.settings.limits) {
                let bytes = rx.bytes(range);
                let event = match kind {
                    MessageKind::Binary => Event::Binary(bytes),
                    MessageKind::Text => match utf8::as_str(bytes) {
                        Some(text) => Event::Text(text),
                        None => {
                            core.fail(ProtocolError::InvalidUtf8);
                            return core
                                .after_input()
                                .map(|event| (event, Sender { core, deflate }));
                        }
                    },
                };
                return Some((event, Sender { core, deflate }));
            }
            rx.reset_if_drained();
            // Read before parsing, since the event borrows the receiver. A
            // parse that hands out nothing reaches no frame's end, so it
            // leaves this as it was.
            let in_progress = rx.in_progress();
            match rx.next(&core.settings.limits, inflater) {
                Ok(Some(event)) => {
                    core.on_event(&event);
                    return Some((event, Sender { core, deflate }));
                }
                Ok(None) if core.eof => core.finish(ClosedReason::Eof),
                Ok(None) if core.message_late && in_progress => core.fail_late_message(),
                Ok(None) => {
                    if !in_progress {
                        core.message_late = false;
                        core.timers.stop(Timer::Message);
                    }
                    return None;
                }
                // The receiver is left as it was; it is dropped on the next call.
                Err(error) => core.fail(error),
            }
        } else if !rx.is_empty() {
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
    /// buffer (their one copy) and parsed, in place, by
    /// [`poll_event`](Self::poll_event): drain it before feeding more, or
    /// the buffer grows with what you feed. The payload of a large message
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
        if !self.core.receiving() || self.core.eof {
            if !self.rx.is_empty() && !self.core.receiving() {
                self.rx.reset();
            }
            return;
        }
        self.rx.compact();
        if input.is_empty() {
            return;
        }
        self.core.note_activity();
        self.rx.append(input, &self.core.settings.limits);
        self.core.arm_message_deadline(&self.rx);
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
        if !self.core.receiving() {
            // Input would be ignored: drop what is held and lend scratch.
            if !self.rx.is_empty() {
                self.rx.reset();
            }
        } else if !self.core.eof {
            self.rx.compact();
        }
        // After EOF the frames received before it are still to be handed
        // out; the space lent lies past them, and commit_input ignores it.
        self.rx.input_buffer(min, &self.core.settings.limits)
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
        if !self.core.receiving() || self.core.eof || !self.rx.in_large_payload() {
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
        if !self.core.receiving() || self.core.eof {
            return;
        }
        if n > 0 {
            self.core.note_activity();
            self.rx.commit(n);
            self.core.arm_message_deadline(&self.rx);
        }
    }

    /// The transport has no more bytes to read (the peer shut its side).
    /// Events already received are still handed out first; then
    /// [`Event::Closed`] reports the end.
    pub fn handle_eof(&mut self, now: Instant) {
        self.core.touch(now);
        match self.core.state {
            // Section 7.1.1: the server closed the transport after the close
            // handshake, as it should.
            State::AwaitEof(code) => self.core.finish(ClosedReason::Clean { code }),
            State::Open | State::CloseSent => {
                self.core.eof = true;
                self.core.timers.stop_all();
            }
            State::CloseReceived(_) => self.core.finish(ClosedReason::Eof),
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
        if self.core.tx.sent_close && !self.core.receiving() {
            // Nothing will be compressed or inflated any more.
            self.deflate = None;
        } else if let Some(deflate) = &mut self.deflate {
            deflate.release(self.rx.in_compressed_message(), self.core.tx.sent_close);
        }
        self.core.tx.release();
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

    /// Input arrived: if it started a frame or message, its deadline runs
    /// from now (one already running stands: it counts from the input that
    /// started what is in progress).
    fn arm_message_deadline(&mut self, rx: &Receiver) {
        if !self.timers.is_set(Timer::Message) && rx.in_progress() {
            self.restart_message_deadline(true);
        }
    }

    /// A frame ended outside any message: whatever is in progress now
    /// started with the latest input (in the documented calling order,
    /// events are drained after each input), so its deadline runs from
    /// that input's `now`.
    fn restart_message_deadline(&mut self, in_progress: bool) {
        match add_millis(self.last_now, self.settings.message_timeout) {
            Some(at) if in_progress => self.timers.set(Timer::Message, at),
            _ => self.timers.stop(Timer::Message),
        }
    }

    /// The peer did not finish what it started in time: say so with 1008
    /// (policy violation) unless our Close is out, and end.
    fn fail_late_message(&mut self) {
        if !self.tx.sent_close {
            self.tx
                .write_close(CloseCode::POLICY_VIOLATION, "message timeout");
        }
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
        if let Some(at) = add_millis(self.last_now, self.settings.limits.buffer_release) {
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
            Timer::Keepalive | Timer::Release => {}
            // Acted on by `poll_event`, after the complete events.
            Timer::Message => self.message_late = true,
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

    /// React to a parsed event: answer a Ping, note a Close.
    fn on_event(&mut self, event: &Event<'_>) {
        match *event {
            Event::Ping(payload) if self.settings.limits.auto_pong && !self.tx.sent_close => {
                self.tx.auto_pong(payload);
            }
            Event::Close { code, .. } => self.on_close_received(code),
            _ => {}
        }
    }

    /// The peer's Close arrived (section 5.5.1); input stops here. With
    /// `auto_close` the reply goes out on the next `poll_event`, so what the
    /// application sends in answer to the events before it (an echo), or to
    /// the Close itself, precedes our Close.
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

    /// What `poll_event` reports once there is nothing to parse: the
    /// automatic Close reply, then the end.
    fn after_input(&mut self) -> Option<Event<'static>> {
        if let State::CloseReceived(code) = self.state {
            if self.settings.limits.auto_close {
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
        match self.settings.limits.role {
            Role::Server => self.finish(ClosedReason::Clean { code }),
            // The transport already ended: nothing left to wait for.
            Role::Client if self.eof => self.finish(ClosedReason::Clean { code }),
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

    /// Fail the connection for a peer's violation (section 7.1.7): queue the
    /// Close with the error's code unless one was sent, and end. Every event
    /// before the violation was already handed out, so the application's
    /// answers to them precede this Close.
    fn fail(&mut self, error: ProtocolError) {
        if !self.tx.sent_close {
            self.tx.write_close(error.close_code(), error.reason());
        }
        self.finish(ClosedReason::ProtocolError(error));
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.core.settings.limits.role)
            .field("state", &self.core.state)
            .field("pending_transmit", &self.core.tx.out.len())
            .finish_non_exhaustive()
    }
}
