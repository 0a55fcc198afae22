//! Fairness (see the module's "Fairness"): a [`WebSocket`] yields to the
//! scheduler after handing out a bounded amount of work.

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
