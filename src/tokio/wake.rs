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

/// The last waker of each side, and the waker that wakes both.
#[derive(Debug, Default)]
pub(super) struct Wakers {
    read: Option<Waker>,
    write: Option<Waker>,
    /// Made the first time two different tasks poll.
    both: Option<(Arc<Both>, Waker)>,
}

/// The wakers [`Wakers::both`] wakes.
#[derive(Debug, Default)]
struct Both(Mutex<[Option<Waker>; 2]>);

impl Wake for Both {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Taken out first: a waker may run code that polls again.
        let wakers = match self.0.lock() {
            Ok(slots) => slots.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl Wakers {
    /// Record `waker` as `side`'s, and return the waker to poll the
    /// transport and the timer with: `None` to use `waker` itself (one
    /// task polls), else the one that wakes both sides.
    pub(super) fn register(&mut self, side: Side, waker: &Waker) -> Option<Waker> {
        let (mine, other) = match side {
            Side::Read => (&mut self.read, &self.write),
            Side::Write => (&mut self.write, &self.read),
        };
        if !mine.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *mine = Some(waker.clone());
        }
        match other {
            Some(other) if !other.will_wake(waker) => {}
            _ => return None,
        }
        let (both, both_waker) = self.both.get_or_insert_with(|| {
            let both = Arc::new(Both::default());
            let waker = Waker::from(both.clone());
            (both, waker)
        });
        let mut slots = both
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots[0].clone_from(&self.read);
        slots[1].clone_from(&self.write);
        Some(both_waker.clone())
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
        for waker in [self.read.take(), self.write.take()].into_iter().flatten() {
            waker.wake();
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
