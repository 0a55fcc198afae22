//! Time as an input: the crate never reads a clock.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time on a clock the caller owns, as the time elapsed since an
/// epoch the caller picks (process start, boot, `UNIX_EPOCH`: any fixed
/// point works, as long as one connection always uses the same one).
///
/// This keeps the crate `no_std`: a std user converts with
/// `Instant::from_elapsed(start.elapsed())`, an embedded user from a tick
/// counter. Tests drive a virtual clock by building instants directly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `elapsed` after the caller's epoch.
    #[must_use]
    pub const fn from_elapsed(elapsed: Duration) -> Instant {
        Instant(elapsed)
    }

    /// The time elapsed since the caller's epoch.
    #[must_use]
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this instant is, or zero if it is not later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates instead of panicking: a deadline far in the future is as
    /// good as "never" for a connection.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}
