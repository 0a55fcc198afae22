//! Wakers for a socket polled from two tasks (split halves, or
//! `StreamExt::split`): a reader waiting for messages and a writer waiting
//! for its messages to be written.
//!
//! A transport and a timer keep one waker each per direction, the last one
//! they were polled with. The driver polls the transport's write side from
//! both tasks (the reader writes the Pongs and Close replies it queues; the
//! writer writes its messages) and the timer from both, so the second task
//! to poll would silently take the first one's wake-up: a reader that
//! stopped reading for backpressure would never learn that the writer
//! emptied the queue. While two tasks poll, the driver therefore polls
//! with a waker that wakes both. A socket polled from one task (the common
//! case) uses that task's waker as it is, at no cost.

use alloc::sync::Arc;
use alloc::task::Wake;
use core::task::Waker;
use std::sync::Mutex;

/// Which side of the socket a poll serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// Receiving: `recv`, `Stream::poll_next`.
    Read,
    /// Sending: `flush`, `Sink`'s methods, `close`.
    Write,
}

/// The waker of the last poll, while one task polls; the wakers of both
/// sides once two tasks do. 32 bytes in the socket: every socket pays
/// for it, and most are only ever polled from one task.
#[derive(Debug, Default)]
pub(super) struct Wakers {
    /// One task polls: its waker, and the side it last polled.
    last: Option<(Waker, Side)>,
    /// Two tasks poll (made on the first poll of the other side from
    /// another task): each side's last waker, behind the waker that wakes
    /// both.
    both: Option<Arc<Both>>,
}

/// The wakers the shared waker wakes: the read side's, the write side's.
#[derive(Debug, Default)]
struct Both(Mutex<[Option<Waker>; 2]>);

impl Both {
    fn slots(&self) -> std::sync::MutexGuard<'_, [Option<Waker>; 2]> {
        // Nothing runs under this lock that could panic halfway.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Wake for Both {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Taken out first: a waker may run code that polls again.
        let wakers = self.slots().clone();
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Read => 0,
            Side::Write => 1,
        }
    }
}

impl Wakers {
    /// Record `waker` as `side`'s, and return the waker to poll the
    /// transport and the timer with: `None` to use `waker` itself (one
    /// task polls), else the one that wakes both sides.
    pub(super) fn register(&mut self, side: Side, waker: &Waker) -> Option<Waker> {
        if let Some(both) = &self.both {
            let mut slots = both.slots();
            let slot = &mut slots[side.index()];
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
            drop(slots);
            return Some(Waker::from(both.clone()));
        }
        match &mut self.last {
            // The same task, on either side.
            Some((last, last_side)) if last.will_wake(waker) => {
                *last_side = side;
                None
            }
            // Another task polls the other side: from now on both are
            // woken.
            Some((last, last_side)) if *last_side != side => {
                let mut slots = [None, None];
                slots[last_side.index()] = Some(last.clone());
                slots[side.index()] = Some(waker.clone());
                let both = Arc::new(Both(Mutex::new(slots)));
                self.last = None;
                self.both = Some(both.clone());
                Some(Waker::from(both))
            }
            // The first poll, or the socket moved to another task.
            _ => {
                self.last = Some((waker.clone(), side));
                None
            }
        }
    }

    /// Heap bytes held: the shared waker, once two tasks polled (its
    /// counts and the two wakers it holds).
    pub(super) fn heap_usage(&self) -> usize {
        self.both.as_ref().map_or(0, |_| {
            2 * core::mem::size_of::<usize>() + core::mem::size_of::<Both>()
        })
    }

    /// Wake both sides: the socket's end, which a side waiting on the
    /// transport would not otherwise see.
    pub(super) fn wake_all(&mut self) {
        if let Some((last, _)) = self.last.take() {
            last.wake();
        }
        if let Some(both) = &self.both {
            let wakers = core::mem::take(&mut *both.slots());
            for waker in wakers.into_iter().flatten() {
                waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn one_task_polls_with_its_own_waker() {
        let (_, waker) = counter();
        let mut wakers = Wakers::default();
        assert!(wakers.register(Side::Read, &waker).is_none());
        assert!(wakers.register(Side::Write, &waker).is_none());
        assert!(wakers.register(Side::Read, &waker).is_none());
    }

    #[test]
    fn two_tasks_are_both_woken_whoever_polled_last() {
        let (reader, read_waker) = counter();
        let (writer, write_waker) = counter();
        let mut wakers = Wakers::default();
        assert!(wakers.register(Side::Read, &read_waker).is_none());
        let both = wakers
            .register(Side::Write, &write_waker)
            .expect("two tasks");
        both.wake_by_ref();
        assert_eq!(reader.0.load(Ordering::SeqCst), 1);
        assert_eq!(writer.0.load(Ordering::SeqCst), 1);
        // The reader polls again, with the transport: still both.
        let both = wakers.register(Side::Read, &read_waker).expect("two tasks");
        both.wake();
        assert_eq!(reader.0.load(Ordering::SeqCst), 2);
        assert_eq!(writer.0.load(Ordering::SeqCst), 2);
        wakers.wake_all();
        assert_eq!(reader.0.load(Ordering::SeqCst), 3);
        assert_eq!(writer.0.load(Ordering::SeqCst), 3);
    }
}
