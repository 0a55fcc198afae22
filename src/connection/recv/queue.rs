//! The events an input step parsed, waiting to be handed out.
//!
//! Boxed, and allocated on the first event: the connection pays one
//! pointer for it, and an idle connection gives the allocation back with
//! its other buffers (`release`).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::Range;

use super::Parsed;

/// Parsed events in order, and the control payloads copied aside for them.
#[derive(Debug, Default)]
pub(super) struct Queue(Option<Box<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    /// Not handed out yet: `events[head..]`.
    events: Vec<Parsed>,
    head: usize,
    /// Payloads of control frames that arrived inside a whole-mode message
    /// (see `Receiver::check_control`).
    side: Vec<u8>,
}

impl Queue {
    /// Queue an event; returns how many are queued (handed out or not)
    /// since the queue last started over.
    #[inline]
    pub(super) fn push(&mut self, parsed: Parsed) -> usize {
        let events = &mut self.0.get_or_insert_with(Box::default).events;
        events.push(parsed);
        events.len()
    }

    /// The entry to hand out next, if any.
    #[inline]
    pub(super) fn front_mut(&mut self) -> Option<&mut Parsed> {
        let inner = self.0.as_deref_mut()?;
        inner.events.get_mut(inner.head)
    }

    /// The entry queued last, if not handed out yet.
    #[inline]
    pub(super) fn last_mut(&mut self) -> Option<&mut Parsed> {
        let inner = self.0.as_deref_mut()?;
        if inner.head < inner.events.len() {
            inner.events.last_mut()
        } else {
            None
        }
    }

    /// Move past the front entry (there is one); returns its index.
    #[inline]
    pub(super) fn advance(&mut self) -> usize {
        match self.0.as_deref_mut() {
            Some(inner) => {
                inner.head += 1;
                inner.head - 1
            }
            None => 0,
        }
    }

    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<&Parsed> {
        self.0.as_deref().and_then(|inner| inner.events.get(index))
    }

    /// Whether events wait to be handed out.
    #[inline]
    pub(super) fn has_queued(&self) -> bool {
        self.0
            .as_deref()
            .is_some_and(|inner| inner.head < inner.events.len())
    }

    /// Start over once every event was handed out (and none is borrowed
    /// any more: the caller holds `&mut`). The allocations are kept.
    pub(super) fn settle(&mut self) {
        if let Some(inner) = self.0.as_deref_mut() {
            if inner.head == inner.events.len() && inner.head > 0 {
                inner.events.clear();
                inner.side.clear();
                inner.head = 0;
            }
        }
    }

    /// Free everything, if nothing is queued.
    pub(super) fn release(&mut self) {
        if !self.has_queued() {
            self.0 = None;
        }
    }

    /// Copy `bytes` aside; returns where they are for [`side`](Self::side).
    pub(super) fn copy_aside(&mut self, bytes: &[u8]) -> Range<usize> {
        let side = &mut self.0.get_or_insert_with(Box::default).side;
        let start = side.len();
        side.extend_from_slice(bytes);
        start..side.len()
    }

    /// Bytes [`copy_aside`](Self::copy_aside) stored.
    pub(super) fn side(&self, range: Range<usize>) -> &[u8] {
        self.0.as_deref().map_or(&[], |inner| &inner.side[range])
    }

    /// Heap bytes held.
    pub(super) fn capacity(&self) -> usize {
        self.0.as_deref().map_or(0, |inner| {
            core::mem::size_of::<Inner>()
                + inner.events.capacity() * core::mem::size_of::<Parsed>()
                + inner.side.capacity()
        })
    }
}
