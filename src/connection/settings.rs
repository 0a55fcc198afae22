//! [`Config`] folded into what the connection reads on its hot paths,
//! once per connection.

use core::time::Duration;

use crate::config::Config;
use crate::role::Role;
use crate::time::Instant;

/// What the connection reads of its [`Config`], computed once: the
/// receive path's limits, the periods of its deadlines, and its policies.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    /// Section 5.1: a server requires masked frames, a client refuses them.
    pub(super) role: Role,
    pub(super) max_frame: u64,
    pub(super) max_message: u64,
    pub(super) streaming: bool,
    pub(super) auto_pong: bool,
    pub(super) auto_close: bool,
    /// Periods in milliseconds, rounded up so no deadline fires early;
    /// [`OFF`] is "off". Config durations are longer than any deadline
    /// needs: 49 days is the longest kept.
    pub(super) keepalive: u32,
    pub(super) keepalive_timeout: u32,
    pub(super) close_timeout: u32,
    pub(super) message_timeout: u32,
    /// `Config::buffer_release`, never zero.
    pub(super) buffer_release: u32,
    /// 0 is "off".
    pub(super) fragment_size: u32,
}

/// A period that is off.
pub(super) const OFF: u32 = u32::MAX;

fn millis(d: Option<Duration>) -> u32 {
    d.map_or(OFF, |d| {
        let ms = d.as_nanos().div_ceil(1_000_000);
        u32::try_from(ms).unwrap_or(OFF - 1).min(OFF - 1)
    })
}

/// `now` (in nanoseconds) plus `delta` milliseconds, unless `delta` is "off".
pub(super) fn add_millis(now: u64, delta: u32) -> Option<Instant> {
    (delta != OFF).then(|| {
        let at = now.saturating_add(u64::from(delta) * 1_000_000);
        Instant::from_elapsed(Duration::from_nanos(at))
    })
}

impl Settings {
    pub(super) fn new(config: &Config, role: Role) -> Settings {
        Settings {
            role,
            max_frame: config.max_frame_size,
            max_message: config.max_message_size,
            streaming: config.streaming,
            auto_pong: config.auto_pong,
            auto_close: config.auto_close,
            // Zero would re-arm the deadline at the instant it fires,
            // forever: the shortest period is one millisecond.
            buffer_release: millis(config.buffer_release).max(1),
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

    /// Where geometric growth of the buffer stops (see `Receiver::grow`):
    /// the message cap plus an eighth (room for the read that completes a
    /// message at the cap) plus a little for headers. Computed when needed,
    /// on growth paths only, rather than stored.
    pub(super) fn soft_limit(&self) -> usize {
        let cap = usize::try_from(self.max_message.max(self.max_frame)).unwrap_or(usize::MAX);
        cap.saturating_add(cap / 8).saturating_add(4096)
    }
}
