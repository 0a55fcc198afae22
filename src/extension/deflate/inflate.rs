//! The inflater (RFC 7692 section 7.2.2), on miniz_oxide's decoder.
//!
//! Output goes into one buffer laid out as
//!
//! ```text
//! [0, start)    history: bytes already handed out, kept (up to two
//!               windows) for the peer's back-references when it keeps
//!               its context between messages
//! [start, pos)  inflated and not handed out yet: the message (whole
//!               mode) or the next piece (streaming mode)
//! [pos, len)    initialized spare room
//! ```
//!
//! miniz_oxide's non-wrapping mode decodes straight into it, and refuses a
//! distance reaching before the buffer's start, so a message never sees
//! bytes it should not: without context takeover the history is empty.
//! Inflating straight into the buffer the event borrows means each
//! inflated byte is written once; the history slides down by a window at
//! most once per window of output, so that copy is amortized below one
//! byte per byte.
//!
//! Every call is given how many bytes the message may still grow by, and
//! the decoder is handed at most one byte more room than that: a frame
//! that would inflate to gigabytes stops at the limit plus one byte, which
//! is how a message one byte over the limit is told from one at it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY,
    TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{DecompressorOxide, decompress};

/// What the sender's sync flush ended with and section 7.2.1 had it strip;
/// section 7.2.2 appends it back before inflating the message's end.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The farthest back a deflate match may reach (RFC 1951 section 3.2.5).
const MAX_DISTANCE: usize = 32 << 10;

/// Spare room added when the output buffer grows from empty.
const MIN_GROWTH: usize = 4096;

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates past the message size limit (1009).
    TooLarge,
    /// It is not valid deflate data (1007).
    Invalid,
}

/// Inflates the compressed messages of one connection.
pub(crate) struct Inflater {
    /// Boxed: the decoder's tables are about 10 KiB, allocated once, and
    /// freed by `release` when no context is kept.
    state: Option<Box<DecompressorOxide>>,
    out: Vec<u8>,
    start: usize,
    pos: usize,
    /// The peer's window, `2^window_bits` bytes: the history kept.
    window: usize,
    /// The peer keeps its context between messages, so we keep ours.
    takeover: bool,
    /// The decoder reached the end of a final block (BFINAL): more input
    /// starts a new stream, still over the same history (section 7.2.3.3
    /// lets a sender end each message that way).
    stream_done: bool,
    /// Bytes of the current message inflated so far.
    produced: u64,
    /// A message was begun and not finished.
    in_message: bool,
    /// Bytes moved inside `out` by slides so far, for the linear-work
    /// bound (`Connection::bytes_moved`).
    moved: u64,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("window", &self.window)
            .field("takeover", &self.takeover)
            .field("pending", &(self.pos - self.start))
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// An inflater for a peer compressing with a `2^window_bits`-byte
    /// window, keeping its context between messages unless
    /// `no_context_takeover`.
    pub(crate) fn new(window_bits: u8, no_context_takeover: bool) -> Inflater {
        Inflater {
            state: None,
            out: Vec::new(),
            start: 0,
            pos: 0,
            // An agreed 8-bit window keeps 512 bytes: zlib, asked for 8,
            // compresses with 9 (and then reaches at most 250 bytes back,
            // but a peer that reaches 512 costs us 256 bytes to tolerate
            // rather than a 1007 that depends on when history slides).
            window: 1 << window_bits.clamp(9, 15),
            takeover: !no_context_takeover,
            stream_done: false,
            produced: 0,
            in_message: false,
            moved: 0,
        }
    }

    /// Start a new message.
    pub(crate) fn begin(&mut self, retain: usize) {
        self.produced = 0;
        self.settle(retain, false);
        self.in_message = true;
        match &mut self.state {
            None => self.state = Some(Box::default()),
            Some(state) if !self.takeover => state.init(),
            Some(_) => return,
        }
        self.stream_done = false;
    }

    /// The message's last frame was inflated: append the [`TAIL`] the
    /// sender removed (section 7.2.2) and check that the data ends where
    /// section 7.2.1 says it must, at the end of a block. A message cut
    /// inside a block (or inside a match) is invalid, and refusing it is
    /// also what lets the next message start from a decoder that owes no
    /// bytes from the history.
    pub(crate) fn finish(&mut self, limit: u64) -> Result<(), InflateError> {
        // Data that ended with a final block (section 7.2.3.4) is complete;
        // the tail would be bytes past its end, which zlib ignores too.
        let boundary = self.stream_done || self.decode(&TAIL, limit, usize::MAX, true)?.1;
        if !boundary {
            return Err(InflateError::Invalid);
        }
        self.in_message = false;
        Ok(())
    }

    /// Bytes inflated and not handed out yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.out[self.start..self.pos]
    }

    /// The first `n` pending bytes were handed out.
    pub(crate) fn hand_out(&mut self, n: usize) {
        self.start += n.min(self.pos - self.start);
    }

    /// The last `n` bytes handed out.
    pub(crate) fn handed_out(&self, n: usize) -> &[u8] {
        &self.out[self.start - n..self.start]
    }

    /// Inflate `input` (the next bytes of the current message) as far as
    /// `limit` (what the message may hold in all) and `piece` (how many
    /// bytes may wait un-handed-out; `usize::MAX` for no bound) allow.
    /// Returns how many input bytes were used: fewer than given only when
    /// `piece` is reached, and then the caller hands out the piece and
    /// calls again with the rest.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        limit: u64,
        piece: usize,
    ) -> Result<usize, InflateError> {
        self.decode(input, limit, piece, false)
            .map(|(used, _)| used)
    }

    /// The decoding loop; with `boundaries`, also whether the input ended
    /// exactly at the end of a block.
    fn decode(
        &mut self,
        mut input: &[u8],
        limit: u64,
        piece: usize,
        boundaries: bool,
    ) -> Result<(usize, bool), InflateError> {
        let given = input.len();
        let mut flags = TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF | TINFL_FLAG_HAS_MORE_INPUT;
        if boundaries {
            flags |= TINFL_FLAG_STOP_ON_BLOCK_BOUNDARY;
        }
        let mut boundary = false;
        loop {
            if self.stream_done {
                if input.is_empty() {
                    boundary = true;
                    break;
                }
                if let Some(state) = &mut self.state {
                    state.init();
                }
                self.stream_done = false;
            }
            // One byte past what the message may still hold: reaching it
            // proves the message too large without inflating more.
            let allowed = limit.saturating_sub(self.produced).saturating_add(1);
            let budget = usize::try_from(allowed).unwrap_or(usize::MAX);
            let piece_room = piece.saturating_sub(self.pos - self.start);
            if piece_room == 0 {
                break;
            }
            if self.pos == self.out.len() {
                self.make_room(self.pos.saturating_add(budget.min(piece_room)));
            }
            // After `make_room`, which may have slid the buffer down.
            let piece_room = piece.saturating_sub(self.pos - self.start);
            let end = self
                .pos
                .saturating_add(budget.min(piece_room))
                .min(self.out.len());
            // `begin` made it; input without a `begin` would be a caller's
            // bug, which gets a fresh decoder here rather than a panic.
            let state = self.state.get_or_insert_with(Box::default);
            let (status, used, written) =
                decompress(state, input, &mut self.out[..end], self.pos, flags);
            input = &input[used..];
            self.pos += written;
            self.produced += written as u64;
            if self.produced > limit {
                return Err(InflateError::TooLarge);
            }
            boundary = false;
            match status {
                TINFLStatus::NeedsMoreInput => break,
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::BlockBoundary if input.is_empty() => {
                    boundary = true;
                    break;
                }
                TINFLStatus::BlockBoundary => {}
                // The tail completed a final block: the rest of it is past
                // the stream's end.
                TINFLStatus::Done if boundaries => {
                    self.stream_done = true;
                    boundary = true;
                    break;
                }
                TINFLStatus::Done => self.stream_done = true,
                _ => return Err(InflateError::Invalid),
            }
        }
        Ok((given - input.len(), boundary))
    }

    /// Make room past `pos`, writing no further than `end`, the furthest
    /// the next call may write. History the peer can no longer refer to
    /// is dropped first when that frees half the buffer (so each byte
    /// moves at most once, and a stream of small messages over a kept
    /// context lives in two windows); otherwise the buffer grows,
    /// geometrically but never past `end`: the buffer of a message at the
    /// limit is the limit plus the history, not twice the limit.
    fn make_room(&mut self, end: usize) {
        let len = self.out.len();
        let drop = self.droppable();
        if drop > 0 && drop * 2 >= len {
            self.slide(drop);
            return;
        }
        let target = len.saturating_mul(2).max(len + MIN_GROWTH).min(end);
        if target > len {
            self.out.reserve_exact(target - len);
            self.out.resize(target, 0);
        }
    }

    /// Bytes at the front that can go: handed out, and out of reach.
    /// Inside a message the decoder may be in the middle of copying a
    /// match from as far back as deflate allows (32 KiB), whatever window
    /// was negotiated, and miniz_oxide does not check the distance again
    /// when it resumes: so that much stays. Between messages (the data
    /// ended on a block boundary, checked by `finish`) the peer can reach
    /// back only its window with context takeover, and nothing without.
    fn droppable(&self) -> usize {
        let keep = if self.in_message {
            self.window.max(MAX_DISTANCE)
        } else if self.takeover {
            self.window
        } else {
            0
        };
        self.start.min(self.pos.saturating_sub(keep))
    }

    fn slide(&mut self, drop: usize) {
        self.moved += (self.pos - drop) as u64;
        self.out.copy_within(drop..self.pos, 0);
        self.start -= drop;
        self.pos -= drop;
    }

    /// After a message or piece was handed out: start over at the front
    /// when nothing needs keeping, and give back a buffer that grew for a
    /// large message, down to `retain` plus the history it must keep.
    ///
    /// Not while a message is in progress (`mid_message`): a whole-mode
    /// message's buffer is about twice what it holds (it grows
    /// geometrically), so cutting it back to what it holds on every call
    /// would copy the message so far once per read, and grow it again.
    pub(crate) fn settle(&mut self, retain: usize, mid_message: bool) {
        let drop = self.droppable();
        if drop == self.pos {
            self.start = 0;
            self.pos = 0;
        } else if self.out.len() > retain.saturating_add(2 * self.window)
            && drop > 0
            && drop >= self.pos - drop
        {
            // Only when it frees at least what it moves: a slide of the
            // whole window for each few bytes inflated would make the
            // work per byte the window's size (small reads, a buffer
            // just over this bound).
            self.slide(drop);
        }
        let needed = self.pos.max(retain);
        if !mid_message && self.out.len() > needed.saturating_add(2 * self.window) {
            self.out.truncate(needed);
            self.out.shrink_to(needed);
        }
    }

    /// Free the decoder and all of the output buffer but the history the
    /// peer may still refer to (the last `window` bytes handed out, or
    /// none without context takeover), which stays as the buffer's prefix
    /// in an allocation of its exact size: e.g. for an idle connection.
    /// Only `between_messages` (the decoder holds no message's state) and
    /// with nothing pending. The next `begin` starts a fresh decoder over
    /// that prefix; a message ends on a block boundary (`finish`), so a
    /// fresh decoder is where the old one would have been.
    pub(crate) fn release(&mut self, between_messages: bool) {
        if !between_messages || self.in_message || self.start != self.pos {
            return;
        }
        let keep = if self.takeover {
            self.window.min(self.start)
        } else {
            0
        };
        if self.state.is_none() && self.out.capacity() == keep && self.start == keep {
            return; // Released already.
        }
        self.out = self.out[self.start - keep..self.start].to_vec();
        self.start = keep;
        self.pos = keep;
        self.state = None;
    }

    /// Bytes moved inside the output buffer so far.
    pub(crate) fn bytes_moved(&self) -> u64 {
        self.moved
    }

    /// Heap bytes held.
    pub(crate) fn heap_usage(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<DecompressorOxide>())
            + self.out.capacity()
    }
}
