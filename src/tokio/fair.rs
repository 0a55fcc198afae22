//! Fairness (see the module's "Fairness"): a [`WebSocket`] yields to the
//! scheduler after handing out a bounded amount of work.

use core::future::poll_fn;
use core::task::Poll;

use super::WebSocket;
use crate::connection::Event;

/// Events a [`WebSocket`] hands out before it yields to the scheduler (see
/// the module's "Fairness"): few enough that a flooded task gives way
/// within tens of microseconds, many enough that the yield costs nothing
/// next to the events.
pub(super) const YIELD_EVENTS: u32 = 64;

/// Payload bytes a [`WebSocket`] hands out before it yields to the
/// scheduler (see the module's "Fairness"): one read's worth by default.
pub(super) const YIELD_BYTES: usize = 64 << 10;

/// What a [`WebSocket`] handed out since its task last yielded.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Work {
    events: u32,
    bytes: usize,
}

impl Work {
    pub(super) fn add(&mut self, event: &Event<'_>) {
        self.events += 1;
        self.bytes = self.bytes.saturating_add(payload_len(event));
    }

    pub(super) fn spent(&self) -> bool {
        self.events >= YIELD_EVENTS || self.bytes >= YIELD_BYTES
    }
}

/// The payload bytes `event` hands out.
fn payload_len(event: &Event<'_>) -> usize {
    match event {
        Event::Text(data) | Event::TextFragment { data, .. } => data.len(),
        Event::Binary(data)
        | Event::BinaryFragment { data, .. }
        | Event::Ping(data)
        | Event::Pong(data) => data.len(),
        Event::Close { reason, .. } => reason.len(),
        Event::Closed(_) => 0,
    }
}

impl<S> WebSocket<S> {
    /// Return `Pending` once, waking the task at once: the scheduler runs
    /// the other ready tasks before this one goes on. Tokio's `yield_now`
    /// would do, but it needs the `rt` feature, which a driver over tokio's
    /// I/O traits and timer has no other use for.
    pub(super) async fn yield_once(&mut self) {
        let mut yielded = false;
        poll_fn(|cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            self.work = Work::default();
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
    }
}
