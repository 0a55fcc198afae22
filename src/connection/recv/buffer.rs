//! The input buffer's life: bytes appended as they arrive, payload written
//! straight into the message being assembled, dead bytes reclaimed, and
//! memory that follows the bytes received rather than the bytes a header
//! announced.
//!
//! Sizing follows the connection's activity, not each message: a buffer
//! keeps its capacity while traffic flows (so a steady stream of large
//! messages allocates nothing), the connection's release timer shrinks one
//! that is far larger than what recent traffic needed, and an idle
//! connection gives it back entirely (`release`).

use alloc::vec::Vec;

use super::{HEADROOM, InFrame, Message, MessageKind, Receiver, Settings, TEXT_STEP};
use crate::connection::utf8;
use crate::frame::{FrameHeader, FrameRules, Opcode, Status, copy_masked, rotate_key};

/// The smallest data frame whose header `append` parses itself so that its
/// payload is written straight into the message (see `append_direct`).
/// Smaller frames are cheaper the general way: copied in with their
/// header, parsed and unmasked in place while still in cache.
const DIRECT_MIN: u64 = 1024;

/// A buffer is shrunk by the release timer on a busy connection only when
/// it is over twice what it holds and over this size: below it, the churn
/// of shrinking and growing again would cost more than the memory.
const SHRINK_FLOOR: usize = 64 << 10;

/// The least capacity the input buffer must have reached, through bytes
/// received, before `payload_buffer` lends from it (see
/// `in_large_payload`).
const LEND_FROM: usize = 4096;

/// The least headroom a growth adds: the largest frame header (14 bytes),
/// rounded up, so a reused buffer always has room for the next header.
const MIN_HEADROOM: usize = 16;

impl Receiver {
    /// Give back the buffer, or what live bytes do not need of it: the
    /// connection has been idle (or the application asked). A message
    /// half received keeps room for an eighth more, so the bytes that
    /// trickle in next do not make it grow (and be copied) at once; it is
    /// cut only when that frees at least as much as the copy costs.
    pub(in crate::connection) fn release(&mut self) {
        if self.has_queued() {
            // Queued events borrow from where their bytes are.
            return;
        }
        self.queue.release();
        self.compact();
        if self.end == 0 {
            self.buf = Vec::new();
            return;
        }
        let held = self.held();
        let target = held + held / 8 + MIN_HEADROOM;
        if self.buf.capacity() >= target.saturating_mul(2) {
            self.fit(target);
        }
    }

    /// The release timer found a busy connection: shrink a buffer that is
    /// over four times what it holds (and over [`SHRINK_FLOOR`]), as one
    /// large message leaves behind on a connection that goes on with small
    /// ones. What it keeps (an eighth more than it holds) must grow past
    /// four times its contents before the next cut, which takes at least
    /// as many received bytes as that cut copies: the work stays linear
    /// in the input, however often the timer runs.
    pub(in crate::connection) fn shrink_oversized(&mut self) {
        if self.has_queued() {
            return;
        }
        let held = self.held();
        if self.buf.capacity() > SHRINK_FLOOR.max(held.saturating_mul(4)) {
            self.fit(held + (held / 8).clamp(MIN_HEADROOM, HEADROOM));
        }
    }

    /// Bytes still needed: the message being assembled and what is
    /// unparsed (dead bytes between them included).
    fn held(&self) -> usize {
        self.end - self.live_bounds().0
    }

    /// Move the live bytes to the start and cut the allocation to
    /// `target` bytes (at least what is held). Cheap gaps are closed
    /// first; what still has to move is about to be copied by the
    /// reallocation anyway, which the callers weigh against what it frees.
    /// Both copies count in `bytes_moved`.
    fn fit(&mut self, target: usize) {
        self.compact();
        let (a, b) = self.live_bounds();
        if a > 0 || self.pos > b {
            self.shift_down();
        }
        self.buf.truncate(self.end);
        self.buf.shrink_to(target.max(self.end));
        self.moved += self.end as u64;
    }

    /// Where the bytes still needed start, and where the assembled part ends.
    pub(super) fn live_bounds(&self) -> (usize, usize) {
        if matches!(self.message, Message::Whole(_)) {
            (self.keep, self.fill)
        } else {
            (self.pos, self.pos)
        }
    }

    /// Start over at offset 0 if nothing in the buffer is live; returns
    /// whether it did. Cheap: `compact` calls it before every input. The
    /// allocation is kept: freeing it is the release timer's decision.
    pub(in crate::connection) fn reset_if_drained(&mut self) -> bool {
        if self.has_queued() {
            return false;
        }
        let (a, _) = self.live_bounds();
        if a != self.end {
            return false;
        }
        self.end = 0;
        self.keep = 0;
        self.fill = 0;
        self.pos = 0;
        self.checked = 0;
        true
    }

    /// Reclaim dead bytes where that costs no more than it frees. Runs at the
    /// top of `handle_input` and `input_buffer`, before new bytes need room,
    /// and only once every queued event was handed out: their bytes stay
    /// where the events point.
    pub(in crate::connection) fn compact(&mut self) {
        if self.has_queued() {
            return;
        }
        self.queue.settle();
        if self.reset_if_drained() {
            return;
        }
        let (a, b) = self.live_bounds();
        let assembled = b - a;
        let gap = self.pos - b;
        let unparsed = self.end - self.pos;
        if a >= assembled + unparsed {
            self.shift_down();
        } else if gap > 0 && gap >= unparsed {
            self.close_gap();
        }
    }

    /// Move the live regions to the start of the buffer, closing the gap.
    pub(super) fn shift_down(&mut self) {
        let (a, b) = self.live_bounds();
        let assembled = b - a;
        self.buf.copy_within(a..b, 0);
        let unparsed = self.end - self.pos;
        self.buf.copy_within(self.pos..self.end, assembled);
        self.end = assembled + unparsed;
        self.checked = self.checked.saturating_sub(a);
        self.keep = 0;
        self.fill = assembled;
        self.pos = assembled;
        self.moved += (assembled + unparsed) as u64;
    }

    /// Move the unparsed bytes down onto the end of the assembled message.
    fn close_gap(&mut self) {
        let unparsed = self.end - self.pos;
        self.buf.copy_within(self.pos..self.end, self.fill);
        self.end = self.fill + unparsed;
        self.pos = self.fill;
        self.moved += unparsed as u64;
    }

    /// Take bytes from the transport. Payload of a large whole-mode data
    /// frame goes straight into the message (unmasked on the way, text
    /// checked while in cache); everything else is appended behind what is
    /// there, for the parse that follows in the same input step.
    pub(in crate::connection) fn append(&mut self, input: &[u8], limits: &Settings) {
        let input = self.append_direct(input, limits);
        if input.is_empty() {
            return;
        }
        let need = self.end + input.len();
        if need > self.buf.capacity() {
            self.grow(need, limits);
        }
        if self.buf.len() >= need {
            self.buf[self.end..need].copy_from_slice(input);
        } else {
            self.buf.truncate(self.end);
            self.buf.extend_from_slice(input);
        }
        self.end = need;
    }

    /// The receive fast path, for whole messages: while nothing is left
    /// unparsed, write payload from `input` straight to the end of the
    /// message being assembled, unmasking it in the same pass, and parse
    /// the headers of large data frames here to do the same for them.
    /// Returns what it did not take, which goes the general way.
    ///
    /// It never reports anything: a header it does not like (a control
    /// frame, an error, a small frame, one cut by the read) is left to the
    /// general path, which finds it again; invalid text stops it with
    /// `checked` short of the fault, where the parse that follows finds it
    /// at once. A frame that ends the message stays current with nothing
    /// remaining, so the parse hands the message out before anything
    /// behind it.
    fn append_direct<'i>(&mut self, mut input: &'i [u8], limits: &Settings) -> &'i [u8] {
        loop {
            if input.is_empty()
                || self.pos != self.end
                || limits.streaming
                || self.in_compressed_message()
            {
                return input;
            }
            let frame = match self.frame {
                Some(frame) => frame,
                None => match self.direct_header(input, limits) {
                    Some((frame, n)) => {
                        input = &input[n..];
                        frame
                    }
                    None => return input,
                },
            };
            let Message::Whole(kind) = self.message else {
                return input;
            };
            if frame.remaining == 0 || frame.opcode.is_control() {
                return input;
            }
            let n = usize::try_from(frame.remaining).map_or(input.len(), |r| r.min(input.len()));
            let valid = self.write_payload(&input[..n], kind, limits);
            input = &input[n..];
            if !valid || self.frame.is_some_and(|f| f.remaining > 0) || frame.fin {
                return input;
            }
            // A non-final frame ended: nothing to hand out, on to the next.
            self.frame = None;
        }
    }

    /// Parse a header at the start of `input` if it starts a large data
    /// frame of a whole-mode, uncompressed message, and start that frame;
    /// returns the header's length. Its bytes are never stored: the
    /// payload lands where they would have been consumed.
    fn direct_header(&mut self, input: &[u8], limits: &Settings) -> Option<(InFrame, usize)> {
        let (h, n) = self.check_header(input, limits).ok()?.complete()?;
        if h.opcode.is_control() || h.rsv1 || h.payload_len < DIRECT_MIN {
            return None;
        }
        self.start_frame(&h, limits);
        Some((self.frame?, n))
    }

    /// Unmask `payload` (all of it within the current frame) onto the end
    /// of the message, checking text a step at a time while it is in L1 (as
    /// `whole_payload` does). Returns `false` if the text is invalid; the
    /// bytes are in, the check stopped short of the fault.
    fn write_payload(&mut self, payload: &[u8], kind: MessageKind, limits: &Settings) -> bool {
        // Nothing is unparsed, so the bytes behind `fill` (consumed headers,
        // space lent by `input_buffer`) are dead.
        self.pos = self.fill;
        self.end = self.fill;
        let need = self.fill + payload.len();
        if need > self.buf.capacity() {
            self.grow(need, limits);
        }
        // Written in place, so the copy and the unmasking are one pass;
        // bytes are zeroed the first time the buffer holds them, not for
        // every message (as for `input_buffer`).
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let text = kind == MessageKind::Text;
        let mut valid = true;
        let mut key = self.frame.and_then(|f| f.key);
        for piece in payload.chunks(TEXT_STEP) {
            let dst = &mut self.buf[self.fill..self.fill + piece.len()];
            if let Some(k) = &mut key {
                copy_masked(dst, piece, *k);
                *k = rotate_key(*k, piece.len());
            } else {
                dst.copy_from_slice(piece);
            }
            self.fill += piece.len();
            if text && valid {
                let mut checked = self.checked - self.keep;
                valid = utf8::advance(&self.buf[self.keep..self.fill], &mut checked).is_ok();
                self.checked = self.keep + checked;
            }
        }
        self.pos = need;
        self.end = need;
        self.msg_len += payload.len() as u64;
        if let Some(frame) = &mut self.frame {
            frame.key = key;
            frame.remaining -= payload.len() as u64;
        }
        valid
    }

    /// Check a frame header at the start of `bytes` against the message in
    /// progress and the limits (section 5.4), without starting its frame.
    #[inline]
    pub(super) fn check_header(
        &self,
        bytes: &[u8],
        limits: &Settings,
    ) -> Result<Status<(FrameHeader, usize)>, crate::error::ProtocolError> {
        use crate::error::ProtocolError;
        let rules = FrameRules {
            receiver: limits.role,
            allowed_rsv: self.allowed_rsv,
            max_payload: limits.max_frame,
        };
        let (h, n) = match FrameHeader::parse(bytes, &rules)? {
            Status::Complete(parsed) => parsed,
            Status::Partial => return Ok(Status::Partial),
        };
        match h.opcode {
            Opcode::Continuation if self.message == Message::None => {
                return Err(ProtocolError::UnexpectedContinuation);
            }
            Opcode::Text | Opcode::Binary if self.message != Message::None => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            _ => {}
        }
        // RFC 7692 section 6.1: RSV1 marks the first frame of a compressed
        // message; on a continuation or a control frame it means nothing
        // and is an error (section 6: "MUST fail the connection").
        if h.rsv1 && (h.opcode.is_control() || h.opcode == Opcode::Continuation) {
            return Err(ProtocolError::ReservedBits);
        }
        let compressed = match h.opcode {
            Opcode::Continuation => matches!(self.message, Message::Compressed(_)),
            _ => h.rsv1,
        };
        // A compressed message's limit applies to what it inflates to
        // (counted by the inflater, exactly); its compressed bytes are
        // never buffered, so they need no cap beyond the frame's.
        if !h.opcode.is_control()
            && !compressed
            && self.msg_len.saturating_add(h.payload_len) > limits.max_message
        {
            // Refused at the header: none of this payload is processed.
            return Err(ProtocolError::MessageTooLarge);
        }
        Ok(Status::Complete((h, n)))
    }

    /// Lend the spare end of the buffer for the driver to read into (see
    /// `Connection::input_buffer`): `min` bytes, or what room is left when
    /// that is less, the buffer holds `min` at least, and the rest of the
    /// frame being read fits in it: a buffer grown for a large frame is
    /// filled, not doubled near its end. A buffer smaller than `min` grows
    /// instead, so a buffer sized for a small frame does not cut every
    /// later read short. Bytes are zeroed the first time they are lent,
    /// not on every call.
    pub(in crate::connection) fn input_buffer(
        &mut self,
        min: usize,
        limits: &Settings,
    ) -> &mut [u8] {
        let min = min.max(1);
        let room = self.buf.capacity() - self.end;
        let fill_short =
            self.buf.capacity() >= min && self.frame.is_some_and(|f| f.remaining <= room as u64);
        if room == 0 || (room < min && !fill_short) {
            self.grow(self.end.saturating_add(min), limits);
        }
        let lend_end = self.end.saturating_add(min).min(self.buf.capacity());
        if self.buf.len() < lend_end {
            self.buf.resize(lend_end, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Whether the payload of a large whole-mode data frame is arriving,
    /// with nothing unparsed before it: bytes read into the buffer now
    /// land where the message is assembled (see
    /// `Connection::payload_buffer`).
    pub(in crate::connection) fn in_large_payload(&self) -> bool {
        // Until the message's bytes have grown the buffer to a few KiB,
        // reads go through the caller's shared buffer: lending from a
        // buffer sized for the bytes received would mean tiny reads, and
        // growing it for the read would pin memory nothing sent yet.
        self.buf.capacity() >= LEND_FROM
            && matches!(self.message, Message::Whole(_))
            && self
                .frame
                .is_some_and(|f| !f.opcode.is_control() && f.remaining >= DIRECT_MIN)
            && self.pos == self.end
    }

    /// How much `payload_buffer` may lend for a read of up to `min`: no
    /// more than the frame still needs, and no more than the buffer's size
    /// again (the buffer is at least [`LEND_FROM`] then, grown by bytes
    /// received), so what a read can make it grow follows the bytes
    /// received, not the bytes announced.
    pub(in crate::connection) fn payload_lend(&self, min: usize) -> usize {
        let remaining = self.frame.map_or(0, |f| f.remaining);
        let remaining = usize::try_from(remaining).unwrap_or(usize::MAX);
        let room = self.buf.capacity() - self.end;
        let want = min.min(remaining).max(1);
        if room >= want.min(self.buf.capacity() / 16).max(1) {
            // Lend the room there is; grow only once it is nearly used.
            want.min(room)
        } else {
            want.min(self.buf.capacity() / 2)
        }
    }

    /// `n` bytes were read into the start of what `input_buffer` lent.
    pub(in crate::connection) fn commit(&mut self, n: usize) {
        self.end += n.min(self.buf.len() - self.end);
    }

    /// Where the payload of the data frame being read will end in the
    /// buffer, once all of it has arrived: the most a whole-mode message
    /// needs before its next header.
    fn frame_end(&self) -> Option<usize> {
        let frame = self.frame.filter(|f| !f.opcode.is_control())?;
        let buffered = (self.end - self.pos) as u64;
        let missing = frame.remaining.saturating_sub(buffered);
        usize::try_from(missing)
            .ok()
            .map(|m| self.end.saturating_add(m))
    }

    /// Make room for `need` bytes in all, as bytes arrive (never for what a
    /// header only announced: a peer pins what it sent, not what it
    /// claimed). Growth is geometric, so appends cost amortised linear
    /// work, but it stops at the end of the frame being read and at
    /// `soft_limit` (a little over the message cap) unless `need` itself
    /// is larger: a message at the cap then costs about its size, not
    /// twice it.
    pub(super) fn grow(&mut self, need: usize, limits: &Settings) {
        let cap = self.buf.capacity();
        if need <= cap {
            return;
        }
        let soft_limit = limits.soft_limit();
        let limit = match self.frame_end() {
            Some(frame_end) if need <= frame_end => frame_end.min(soft_limit),
            _ => soft_limit,
        };
        let doubled = cap.saturating_mul(2);
        let target = if need <= limit {
            need.max(doubled.min(limit))
        } else {
            // Past the limit (reads larger than the slack above the cap,
            // or input fed without draining events): keep growth geometric
            // so repeated appends stay linear.
            need.max(doubled.min(need.saturating_add(need / 2)))
        };
        // Headroom for the headers in front of a message: without it, a
        // reused buffer exactly the size of the last message is a few bytes
        // short for the next one of that size, which then has to be moved.
        // An eighth of the buffer, up to 4 KiB: a fixed 4 KiB made a
        // 512-byte chat message cost 4.6 KiB per busy connection.
        let headroom = HEADROOM.min(target / 8).max(MIN_HEADROOM);
        self.buf.reserve_exact(
            target
                .saturating_add(headroom)
                .saturating_sub(self.buf.len()),
        );
    }
}
