//! The connection's deadlines: one enum, one table, one `poll_timeout`
//! (the shape of quinn-proto's `timer.rs`).

use crate::time::Instant;

/// A deadline the connection may have armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Nothing received for `keepalive_interval`: send a Ping.
    Keepalive = 0,
    /// A keepalive Ping went unanswered for `keepalive_timeout`: the peer is dead.
    KeepaliveTimeout = 1,
    /// Our Close was sent `close_timeout` ago and the handshake (or, for a
    /// client, the server's transport close) has not followed.
    Close = 2,
    /// `buffer_release` passed since the last check: give back buffers an
    /// idle connection does not need (see `Core::on_release_timer`).
    Release = 3,
    /// A frame or message the peer started is not complete after
    /// `message_timeout`: fail the connection (see `Connection::handle_timeout`).
    Message = 4,
}

const COUNT: usize = 5;

/// Armed deadlines, as nanoseconds since the caller's epoch (`u64::MAX` for
/// "not armed"): half the size of `Option<Instant>`s, paid per connection.
/// 2^64 ns is 584 years of uptime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerTable([u64; COUNT]);

const UNSET: u64 = u64::MAX;

/// `t` in nanoseconds since the clock's epoch, saturating short of
/// "not armed".
pub(super) fn nanos(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(UNSET - 1)
}

impl Default for TimerTable {
    fn default() -> Self {
        TimerTable([UNSET; COUNT])
    }
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = nanos(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = UNSET;
    }

    pub(crate) fn stop_all(&mut self) {
        *self = TimerTable::default();
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.0[timer as usize] != UNSET
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        let min = *self.0.iter().min()?;
        (min != UNSET).then(|| Instant::from_elapsed(core::time::Duration::from_nanos(min)))
    }

    /// Disarm `timer` and say so if it is due at `now`.
    pub(crate) fn take_due(&mut self, timer: Timer, now: Instant) -> bool {
        let at = self.0[timer as usize];
        let due = at != UNSET && at <= nanos(now);
        if due {
            self.0[timer as usize] = UNSET;
        }
        due
    }
}

/// Every timer, in the order `handle_timeout` acts on them: each once per
/// call, so the work is bounded whatever the settings.
pub(crate) const ALL: [Timer; COUNT] = [
    Timer::Keepalive,
    Timer::KeepaliveTimeout,
    Timer::Close,
    Timer::Release,
    Timer::Message,
];
