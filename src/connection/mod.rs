//! The connection state machine (RFC 6455 sections 5 to 7).
//!
//! See [`Connection`] for how to drive it.

mod event;
mod recv;
mod send;
mod timer;
mod utf8;

use alloc::vec::Vec;
use core::time::Duration;

pub use event::{ClosedReason, Event};
pub use send::MaskSource;

use crate::close::CloseCode;
use crate::config::Config;
use crate::role::Role;
use crate::time::Instant;
use event::Arena;
use recv::Receiver;
use send::Sender;
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
///   transport, [`handle_eof`](Self::handle_eof) when the transport has no
///   more to read, [`handle_timeout`](Self::handle_timeout) when the deadline
///   from `poll_timeout` has passed (early or repeated calls are harmless).
/// * **commands** from the application: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`begin_message`](Self::begin_message)
///   and [`send_fragment`](Self::send_fragment), [`send_ping`](Self::send_ping),
///   [`send_pong`](Self::send_pong), [`close`](Self::close). Misuse returns a
///   [`SendError`](crate::SendError) and changes nothing.
/// * **output**: [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command: drain `poll_transmit` into the transport,
/// drain `poll_event` until it returns `None`, then wait for the transport or
/// for the deadline `poll_timeout` gives, whichever comes first. When
/// [`Event::Closed`] arrives, write out what `poll_transmit` still holds and
/// close the transport.
///
/// # Time
///
/// Every `now` is an [`Instant`] on a clock the caller owns. Deadlines armed
/// by a command (the close handshake deadline) count from the `now` of the
/// most recent input call.
///
/// # Memory
///
/// An idle connection holds no heap (beyond a client's boxed
/// [`MaskSource`], nothing for a zero-sized one) and `size_of::<Connection>()`
/// bytes. Under traffic it holds at most the current message (capped by
/// [`Config::max_message_size`]), the events produced by the last input call
/// and not yet polled, and the bytes queued for transmit. Emptied buffers up
/// to [`Config::retain_buffer`] bytes are kept for reuse;
/// [`release_buffers`](Self::release_buffers) frees them.
pub struct Connection {
    rx: Receiver,
    tx: Sender,
    events: Arena,
    timers: TimerTable,
    settings: Settings,
    /// The `now` of the most recent input call, in nanoseconds.
    last_now: u64,
    state: State,
    role: Role,
}

/// The close handshake (section 7), as states that carry their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Data flows both ways.
    Open,
    /// We sent Close and wait for the peer's.
    CloseSent,
    /// The peer sent Close (with this code, 1005 for none) and it was not
    /// answered yet: with `auto_close`, until `poll_event` hands out the
    /// events before it; without, until the application calls `close`.
    CloseReceived(CloseCode),
    /// A client whose close handshake finished waits for the server to close
    /// the transport first (section 7.1.1).
    AwaitEof(CloseCode),
    /// The peer broke the protocol while events it sent before were still
    /// queued. Input stops at once; the Close goes out when `poll_event` has
    /// handed out those events, so replies to them (an echo) precede it.
    Failing(crate::error::ProtocolError),
    /// The end. `reported` says whether `Event::Closed` was handed out.
    Closed {
        reason: ClosedReason,
        reported: bool,
    },
}

/// [`Config`] folded into what the hot paths read, in fewer bytes.
#[derive(Clone, Copy, Debug)]
struct Settings {
    max_frame: u64,
    max_message: u64,
    /// Milliseconds, rounded up so no deadline fires early; `u32::MAX` is
    /// "off". Milliseconds in a u32 (49 days) rather than nanoseconds in a
    /// u64 keep the connection within its 256-byte budget.
    keepalive: u32,
    keepalive_timeout: u32,
    close_timeout: u32,
    /// 0 is "off".
    fragment_size: u32,
    retain: u32,
    streaming: bool,
    auto_pong: bool,
    auto_close: bool,
}

fn millis(d: Option<Duration>) -> u32 {
    d.map_or(u32::MAX, |d| {
        let ms = d.as_nanos().div_ceil(1_000_000);
        u32::try_from(ms).unwrap_or(u32::MAX - 1)
    })
}

/// `now` (in nanoseconds) plus `delta` milliseconds, unless `delta` is "off".
fn add_millis(now: u64, delta: u32) -> Option<Instant> {
    (delta != u32::MAX).then(|| {
        let at = now.saturating_add(u64::from(delta) * 1_000_000);
        Instant::from_elapsed(Duration::from_nanos(at))
    })
}

impl Settings {
    fn new(config: &Config) -> Settings {
        Settings {
            max_frame: config.max_frame_size,
            max_message: config.max_message_size,
            keepalive: millis(config.keepalive_interval),
            keepalive_timeout: millis(config.keepalive_timeout),
            close_timeout: millis(config.close_timeout),
            fragment_size: config
                .fragment_size
                .map_or(0, |n| u32::try_from(n.max(1)).unwrap_or(u32::MAX)),
            retain: u32::try_from(config.retain_buffer).unwrap_or(u32::MAX),
            streaming: config.streaming,
            auto_pong: config.auto_pong,
            auto_close: config.auto_close,
        }
    }
}

impl Connection {
    /// A server's connection, for after the opening handshake.
    #[must_use]
    pub fn server(config: &Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, now, Sender::new(None))
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
            Sender::new(Some(alloc::boxed::Box::new(mask))),
        )
    }

    fn new(role: Role, config: &Config, now: Instant, tx: Sender) -> Connection {
        let mut conn = Connection {
            rx: Receiver::default(),
            tx,
            events: Arena::default(),
            timers: TimerTable::default(),
            settings: Settings::new(config),
            last_now: 0,
            state: State::Open,
            role,
        };
        conn.touch(now);
        conn
    }

    // ---- getters ----

    /// This endpoint's role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the connection has ended ([`Event::Closed`] is queued or was
    /// handed out). Input is ignored from then on.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }

    /// Whether a Close frame was sent (or queued): no data may follow it.
    #[must_use]
    pub fn close_sent(&self) -> bool {
        self.tx.sent_close
    }

    /// The number of bytes queued for `poll_transmit`, for backpressure.
    #[must_use]
    pub fn pending_transmit(&self) -> usize {
        self.tx.out.len()
    }

    /// Heap bytes the connection's buffers hold now (their capacities), for
    /// monitoring and for tests of the memory bounds. The boxed
    /// [`MaskSource`] is not counted.
    #[must_use]
    pub fn heap_usage(&self) -> usize {
        self.rx.capacity() + self.tx.out.capacity() + self.events.buf.capacity()
    }

    // ---- output ----

    /// Append the bytes to write to the transport to `buf`, and return how
    /// many were appended. When `buf` is empty its allocation is swapped with
    /// the connection's instead of copied.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        self.tx.drain_into(buf, self.settings.retain as usize)
    }

    /// The next event, borrowed from the connection until its next `&mut`
    /// call. `None` when there is nothing more to report for now.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.events.compact(self.settings.retain as usize);
        if self.events.has_pending() {
            return self.events.pop();
        }
        match self.state {
            State::Failing(error) => self.fail_now(error),
            State::CloseReceived(code) if self.settings.auto_close => {
                // Echo the code the peer sent; an empty Close answers an
                // empty one (1005 is never on the wire, so it means "none").
                let echo = (code != CloseCode::NO_STATUS_RECEIVED).then_some(code);
                self.tx.write_close_echo(echo);
                self.arm_close_timer();
                self.close_handshake_done(code);
            }
            _ => {}
        }
        if let State::Closed { reason, reported } = &mut self.state {
            if !*reported {
                *reported = true;
                return Some(Event::Closed(*reason));
            }
        }
        None
    }

    /// The next deadline at which [`handle_timeout`](Self::handle_timeout)
    /// has work to do, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- input ----

    /// The transport has no more bytes to read (the peer shut its side).
    pub fn handle_eof(&mut self, now: Instant) {
        self.touch(now);
        match self.state {
            State::Closed { .. } | State::Failing(_) => {}
            // Section 7.1.1: the server closed the transport after the close
            // handshake, as it should.
            State::AwaitEof(code) => self.finish(ClosedReason::Clean { code }),
            _ => self.finish(ClosedReason::Eof),
        }
    }

    /// Act on every deadline that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.touch(now);
        while let Some(timer) = self.timers.expire(now) {
            match timer {
                Timer::Keepalive => {
                    if self.state == State::Open {
                        self.tx.write_control(crate::frame::Opcode::Ping, b"");
                        if let Some(at) = add_millis(self.last_now, self.settings.keepalive_timeout)
                        {
                            self.timers.set(Timer::KeepaliveTimeout, at);
                        }
                        self.arm_keepalive();
                    }
                }
                Timer::KeepaliveTimeout => self.finish(ClosedReason::KeepaliveTimeout),
                Timer::Close => match self.state {
                    // The handshake finished; only the server's transport
                    // close is missing, and we stop waiting for it.
                    State::AwaitEof(code) => self.finish(ClosedReason::Clean { code }),
                    State::Closed { .. } | State::Failing(_) => {}
                    _ => self.finish(ClosedReason::CloseTimeout),
                },
            }
        }
    }

    /// Free every emptied buffer now, whatever [`Config::retain_buffer`]
    /// says. Useful for connections the application knows will be idle.
    pub fn release_buffers(&mut self) {
        self.events.compact(0);
        if self.events.is_empty() {
            self.events.buf = Vec::new();
        }
        self.rx.release();
        if self.tx.out.is_empty() {
            self.tx.out = Vec::new();
        }
    }

    // ---- shared transitions ----

    /// Record `now` and count it as activity from the peer when it comes
    /// with input.
    fn touch(&mut self, now: Instant) {
        self.last_now = u64::try_from(now.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        if !self.timers.is_set(Timer::Keepalive) && self.state == State::Open {
            self.arm_keepalive();
        }
    }

    /// Input arrived: the peer is alive, so restart the keepalive interval.
    fn note_activity(&mut self) {
        self.timers.stop(Timer::KeepaliveTimeout);
        if self.state == State::Open {
            self.arm_keepalive();
        }
    }

    fn arm_keepalive(&mut self) {
        if let Some(at) = add_millis(self.last_now, self.settings.keepalive) {
            self.timers.set(Timer::Keepalive, at);
        }
    }

    fn arm_close_timer(&mut self) {
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::KeepaliveTimeout);
        match add_millis(self.last_now, self.settings.close_timeout) {
            Some(at) => self.timers.set(Timer::Close, at),
            None => self.timers.stop(Timer::Close),
        }
    }

    /// Both Close frames have been sent. A server is done; a client waits for
    /// the server to close the transport (section 7.1.1).
    fn close_handshake_done(&mut self, code: CloseCode) {
        match self.role {
            Role::Server => self.finish(ClosedReason::Clean { code }),
            Role::Client => {
                self.state = State::AwaitEof(code);
                if !self.timers.is_set(Timer::Close) {
                    self.arm_close_timer();
                }
            }
        }
    }

    /// Enter the terminal state. Completed events stay deliverable.
    fn finish(&mut self, reason: ClosedReason) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed {
            reason,
            reported: false,
        };
        self.timers.stop_all();
        self.events.abandon_partial();
        self.rx.reset();
    }

    /// Fail the connection for a peer's violation (section 7.1.7). Input
    /// stops now; the Close follows once the events received before the
    /// violation are handed out, so nothing the peer sent validly is lost and
    /// the application can still answer it.
    fn fail(&mut self, error: crate::error::ProtocolError) {
        if self.is_closed() || matches!(self.state, State::Failing(_)) {
            return;
        }
        self.events.abandon_partial();
        self.rx.reset();
        if self.events.has_pending() {
            self.timers.stop_all();
            self.state = State::Failing(error);
        } else {
            self.fail_now(error);
        }
    }

    /// Queue the Close with the error's code unless one was sent, and end.
    fn fail_now(&mut self, error: crate::error::ProtocolError) {
        if !self.tx.sent_close {
            self.tx.write_close(error.close_code(), error.reason());
        }
        self.finish(ClosedReason::ProtocolError(error));
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("pending_transmit", &self.tx.out.len())
            .finish_non_exhaustive()
    }
}
