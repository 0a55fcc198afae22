//! Input: bytes, the end of the transport, and time. The input step
//! parses what arrived (see [`Connection::handle_input`]).

use super::recv::Parsed;
use super::timer::{self, Timer};
use super::{ClosedReason, Connection, State};
use crate::time::Instant;

impl Connection {
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
    /// Cost: work linear in the bytes fed, whatever the read sizes: after
    /// the one copy, bytes moved inside the buffer (compaction, joining a
    /// fragmented message) are at most 3 per input byte
    /// (`tests/linear_work.rs`). The buffer grows geometrically as bytes
    /// arrive, never for a length a header only announces
    /// (`tests/buffers.rs`:
    /// `a_header_announcing_16_mib_pins_only_the_bytes_that_arrived`). A
    /// compressed message is inflated as it arrives, into the inflater's
    /// buffer, not assembled here. One call queues at most 256 events
    /// (`tests/receive_step.rs`:
    /// `a_flood_of_empty_frames_is_queued_a_batch_at_a_time`).
    ///
    /// Refuses: a peer's violation fails the connection with its
    /// [`ProtocolError`](crate::ProtocolError)'s close code. A frame header
    /// announcing more than [`Config::max_frame_size`](crate::Config::max_frame_size),
    /// or taking its message past [`Config::max_message_size`](crate::Config::max_message_size),
    /// is refused with 1009 before any of its payload is buffered
    /// (`tests/memory.rs`: `message_at_cap_plus_one_is_refused_before_it_is_buffered`);
    /// a compressed message is refused with 1009 as soon as it inflates
    /// past that cap, and with 1007 if it does not inflate
    /// (`tests/memory.rs`:
    /// `a_decompression_bomb_closes_with_1009_and_peak_heap_stays_near_the_limit`).
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
    /// idle, and keep this for connections that carry bulk data. Growing
    /// may move the bytes not parsed yet to a new allocation; bytes are
    /// zeroed the first time they are lent, not on every call.
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
    /// as with [`handle_input`](Self::handle_input), at the same cost but
    /// for the copy, and with the same refusals. `n` past the end of that
    /// slice is clamped to it (`tests/input_buffer.rs`:
    /// `a_commit_past_the_lent_slice_is_clamped`).
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
    /// [`Event::Closed`](super::Event::Closed) reports the end. A frame cut short by the end is
    /// dropped. Constant time; nothing is queued to send.
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
    ///
    /// What each does: keepalive queues an empty Ping; its timeout ends the
    /// connection with [`ClosedReason::KeepaliveTimeout`],
    /// and the close deadline with [`ClosedReason::CloseTimeout`]
    /// (cleanly for a client that only waits for the server's EOF), both
    /// sending nothing; the message deadline ends it with
    /// [`ClosedReason::MessageTimeout`]
    /// and a Close with 1008 unless ours is out; the release deadline
    /// frees or shrinks buffers (see
    /// [`Config::buffer_release`](crate::Config::buffer_release)) and
    /// allocates nothing.
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
                    Timer::Message
                        if self.core.receiving() && self.rx.in_progress() && !self.rx.paused() =>
                    {
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
    /// [`Config::buffer_release`](crate::Config::buffer_release). What stays: unparsed input and a message
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
    pub(super) fn receive(&mut self) {
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
}
