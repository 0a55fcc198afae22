//! The connection apart from its input buffer: the close handshake
//! (section 7) as states that carry their data, the deadlines and what
//! happens when they pass, and how the connection ends.

use super::event::{ClosedReason, Event};
use super::send::Tx;
use super::settings::{Settings, add_millis};
use super::timer::{Timer, TimerTable, nanos};
use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::role::Role;
use crate::time::Instant;

/// The connection apart from its input buffer.
pub(crate) struct Core {
    pub(super) tx: Tx,
    pub(super) timers: TimerTable,
    pub(super) settings: Settings,
    /// The `now` of the most recent input call, in nanoseconds.
    pub(super) last_now: u64,
    pub(super) state: State,
    /// The connection failed (a violation, a late message) and its Close
    /// goes out once the events received before the failure are drained,
    /// so the application's answers to them come first.
    pub(super) owe_close: bool,
    /// Bytes came in or went out since the release timer last looked.
    pub(super) traffic: bool,
    /// The transport ended while parsing was paused (see
    /// `Connection::receive`): the complete frames behind the pause are
    /// still parsed, for their events only.
    pub(super) eof_backlog: bool,
}

/// The close handshake (section 7), as states that carry their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
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

impl Core {
    pub(super) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }

    /// Whether frames from the peer are still parsed.
    pub(super) fn receiving(&self) -> bool {
        matches!(self.state, State::Open | State::CloseSent)
    }

    /// Record the `now` of an input call: the deadlines it arms count from it.
    pub(super) fn touch(&mut self, now: Instant) {
        self.last_now = nanos(now);
    }

    /// Input arrived: the peer is alive, so the keepalive interval starts
    /// over and any keepalive timeout is off.
    pub(super) fn note_activity(&mut self) {
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
    pub(super) fn update_message_deadline(&mut self, frame_done: bool, in_progress: bool) {
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
    pub(super) fn fail_late_message(&mut self) {
        self.owe_close = !self.tx.sent_close;
        self.finish(ClosedReason::MessageTimeout);
    }

    /// Bytes moved: buffers are in use, so the release timer must run, and
    /// it will see this period as busy. Cheap enough for every input and
    /// every `poll_transmit`: a flag and, once per period, a deadline.
    pub(super) fn note_traffic(&mut self) {
        self.traffic = true;
        if !self.timers.is_set(Timer::Release) {
            self.arm_release();
        }
    }

    pub(super) fn arm_release(&mut self) {
        if self.is_closed() {
            return;
        }
        if let Some(at) = add_millis(self.last_now, self.settings.buffer_release) {
            self.timers.set(Timer::Release, at);
        }
    }

    pub(super) fn arm_keepalive(&mut self) {
        if let Some(at) = add_millis(self.last_now, self.settings.keepalive) {
            self.timers.set(Timer::Keepalive, at);
        }
    }

    pub(super) fn arm_close_timer(&mut self) {
        self.arm_close_timer_from(self.last_now);
    }

    /// The close deadline, `close_timeout` after `now` (in nanoseconds);
    /// keepalive stops, as the peer's answer is awaited.
    pub(super) fn arm_close_timer_from(&mut self, now: u64) {
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::KeepaliveTimeout);
        match add_millis(now, self.settings.close_timeout) {
            Some(at) => self.timers.set(Timer::Close, at),
            None => self.timers.stop(Timer::Close),
        }
    }

    pub(super) fn on_timer(&mut self, timer: Timer) {
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
    pub(super) fn on_close_received(&mut self, code: CloseCode) {
        // Nothing the peer sends after its Close counts (section 5.5.1):
        // no message of its is late any more.
        self.timers.stop(Timer::Message);
        match self.state {
            State::Open => {
                self.timers.stop(Timer::Keepalive);
                self.timers.stop(Timer::KeepaliveTimeout);
                self.state = State::CloseReceived(code);
            }
            State::CloseSent => self.close_handshake_done(code),
            // The transport ended while this Close waited behind a pause:
            // the peer had closed cleanly, and nothing behind it counts.
            State::Closed {
                ref mut reason,
                reported: false,
            } if self.eof_backlog => {
                if *reason == ClosedReason::Eof {
                    *reason = ClosedReason::Clean { code };
                }
                self.eof_backlog = false;
            }
            _ => {}
        }
    }

    /// What `poll_event` reports once the queue is drained: the automatic
    /// Close reply or the Close a failure owes, then the end.
    pub(super) fn after_input(&mut self) -> Option<Event<'static>> {
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
    pub(super) fn close_handshake_done(&mut self, code: CloseCode) {
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
    pub(super) fn finish(&mut self, reason: ClosedReason) {
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
    pub(super) fn fail(&mut self, error: ProtocolError) {
        self.owe_close = !self.tx.sent_close;
        self.finish(ClosedReason::ProtocolError(error));
    }
}
