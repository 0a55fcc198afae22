//! Receiving: one input buffer, parsed in place (RFC 6455 sections 5.2 to
//! 5.6).
//!
//! `handle_input` copies the transport's bytes into `buf`: the one copy a
//! payload gets on its way in. The same input step parses every complete
//! frame where it lies, unmasks its payload in place, checks it, and queues
//! a description of its event (`Parsed`: where its bytes are, not the
//! bytes); `poll_event` only builds the event from that description and
//! hands out a view borrowed from `buf`. When nothing is left unparsed and
//! a large whole-mode data frame is being read, the copy unmasks too and
//! writes straight to the end of the message being assembled
//! (`buffer::append_direct`), so a large payload is never moved inside
//! `buf` afterwards. Nothing is copied in between, so what a peer can make
//! the connection hold is the input the application fed and has not
//! drained (plus a queue entry per event in it), and the message being
//! assembled, which the limits cap; room is made as bytes arrive, never
//! for what a header only announced.
//!
//! The buffer's regions, in order (offsets into `buf`):
//!
//! ```text
//! [0, keep)     frames parsed: dead once their events were handed out,
//!               the bytes of queued events until then
//! [keep, fill)  the whole-mode message assembled so far (payload only)
//! [fill, pos)   dead: headers and control frames consumed inside that
//!               message (a queued control frame's payload is copied to
//!               `side` first)
//! [pos, end)    not parsed yet
//! [end, len)    spare bytes, initialized once, that `input_buffer` lends
//!               to the driver to read into
//! ```
//!
//! Outside a whole-mode message only `pos` matters. A fragment's payload is
//! moved left over the dead gap as it is parsed (or, if the message so far is
//! smaller, the message is moved right), so the message stays contiguous.
//! Compaction moves live bytes only when that costs no more than the dead
//! bytes it frees, and never while events are queued, so every byte is
//! moved a bounded number of times and the work stays linear in the input,
//! whatever the read sizes.
//!
//! Text is checked once, at the input step. Whole-message text is checked
//! as it arrives (to fail fast), and `buf[keep..checked]` is always valid
//! UTF-8, so finishing the message checks only its last bytes; the event
//! is then built without a second pass. That is the crate's one `unsafe`
//! block (`checked_str`), kept in the module whose bookkeeping it relies
//! on; the benchmark that justifies it is W3a in BENCHMARKS.md, and debug
//! builds, the tests, the fuzz targets and Miri re-check it.
#![allow(unsafe_code)]

use alloc::vec::Vec;
use core::ops::Range;

use super::deflate::Inflater;
use super::event::MessageKind;
use super::settings::Settings;
use super::utf8;
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, FrameRules, Opcode, Rsv, Status, apply_mask, rotate_key};

/// How much text is unmasked before it is checked (see `whole_payload`):
/// small enough that the check finds it in L1.
const TEXT_STEP: usize = 16 << 10;

/// The most events one input step queues: a read of a flood of empty
/// frames (2 to 6 bytes each) would otherwise cost a queue entry (24
/// bytes) per frame, several times the input. Past it, parsing pauses and
/// goes on as the application drains the events, a batch at a time.
pub(super) const BATCH: usize = 256;

/// Bytes of slack every growth of the input buffer adds (see `grow`).
const HEADROOM: usize = 4096;

/// The frame whose header was parsed and whose end was not reached yet.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    opcode: Opcode,
    fin: bool,
    /// The masking key rotated to the next payload byte; `None` for an
    /// unmasked frame.
    key: Option<[u8; 4]>,
    /// Payload bytes not consumed yet. A frame whose payload is all in
    /// (zero remaining) stays current until its parse step ends it.
    remaining: u64,
}

/// The data message in progress (section 5.4), by how its payload is
/// received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Message {
    /// Between messages.
    #[default]
    None,
    /// Assembled whole in `buf[keep..fill]`, text checked up to `checked`.
    Whole(MessageKind),
    /// Streaming mode: handed out in pieces as it arrives; the carry holds
    /// a character cut between two pieces.
    Streamed(MessageKind, utf8::Carry),
    /// Compressed (RSV1 on its first frame, RFC 7692 section 6): the
    /// payload goes to the inflater, never to `buf`'s message region.
    Compressed(MessageKind),
}

/// Receive-side state.
#[derive(Debug, Default)]
pub(super) struct Receiver {
    buf: Vec<u8>,
    keep: usize,
    fill: usize,
    pos: usize,
    /// The end of the received bytes; `buf.len()` is how much of the
    /// allocation is initialized, which may be more.
    end: usize,
    /// Whole-mode text: `buf[keep..checked]` is known to be valid UTF-8.
    checked: usize,
    /// Payload bytes of the message in progress so far.
    msg_len: u64,
    /// `None` between frames, where the next header is parsed.
    frame: Option<InFrame>,
    message: Message,
    /// RSV bits negotiated extensions claim.
    pub(super) allowed_rsv: Rsv,
    /// The frame behind the last event handed out ended outside any data
    /// message (a whole message's last frame, or a control frame between
    /// messages): the message deadline restarts for what follows.
    frame_done: bool,
    /// Bytes moved inside `buf` so far (compaction and fragment assembly),
    /// for the linear-work bound; the copy in from the input is not counted.
    moved: u64,
    /// Events parsed and checked, not handed out yet.
    queue: queue::Queue,
    /// Parsing waits until the queued events are taken: an inflated event
    /// borrows the inflater's output, or a whole batch is queued.
    paused: bool,
}

/// Text that [`Receiver::parse`] checked, as a `str` without a second
/// pass over it.
#[inline]
fn checked_str(bytes: &[u8]) -> &str {
    debug_assert!(
        core::str::from_utf8(bytes).is_ok(),
        "queued text changed after it was checked"
    );
    // SAFETY: every range this is called on is the text of a queued event,
    // checked by `parse` before it was queued: a whole message through
    // `checked` (which only advances over bytes `utf8::advance` accepted,
    // so `buf[keep..checked]` is valid UTF-8 ending on a character
    // boundary) plus `check_message`'s look at the rest; a streamed piece
    // cut at `utf8::valid_prefix`; a carried character `Carry::extend`
    // completed; a Close reason; inflated text `check_inflated` looked at.
    // Those bytes are not written again while the event is queued:
    // compaction, shrinking and resetting wait until the queue is drained
    // (`has_queued`), payload is unmasked and written only at or past
    // `pos`/`fill` (beyond every queued range), a fragment joins only the
    // message in progress (which starts after every queued range), the
    // side buffer is only appended to, and the inflater inflates nothing
    // while an inflated event is queued (`paused`). Reallocation copies the
    // bytes intact.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

impl Receiver {
    /// Bytes moved inside the buffer so far.
    pub(super) fn bytes_moved(&self) -> u64 {
        self.moved
    }

    /// Whether a compressed message is half received.
    pub(super) fn in_compressed_message(&self) -> bool {
        matches!(self.message, Message::Compressed(_))
    }

    /// Whether a frame or message the peer started is unfinished: bytes
    /// not parsed yet, a frame being read, or fragments of a message.
    pub(super) fn in_progress(&self) -> bool {
        self.pos != self.end || self.frame.is_some() || self.message != Message::None
    }

    /// Whether the frame behind the last event ended outside any message;
    /// clears it.
    pub(super) fn take_frame_done(&mut self) -> bool {
        core::mem::take(&mut self.frame_done)
    }

    /// Heap bytes held.
    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity() + self.queue.capacity()
    }

    /// Drop the input and any message in progress.
    pub(super) fn reset(&mut self) {
        let (allowed_rsv, moved) = (self.allowed_rsv, self.moved);
        *self = Receiver {
            allowed_rsv,
            moved,
            ..Receiver::default()
        };
    }

    /// Whether nothing is stored.
    pub(super) fn is_empty(&self) -> bool {
        self.capacity() == 0
    }

    /// Parse up to the next event and check it: `Ok(None)` when more
    /// input is needed. On `Err` the receiver's state is meaningless and
    /// the connection ends. `inflater` is there when permessage-deflate
    /// was agreed. The event is described by where its bytes are, so the
    /// queue it joins borrows nothing; [`event`](Self::event) builds it
    /// when it is handed out.
    #[inline]
    pub(super) fn parse(
        &mut self,
        limits: &Settings,
        inflater: Option<&mut Inflater>,
    ) -> Result<Option<Parsed>, ProtocolError> {
        // The common frame first: a small whole data message, parsed
        // without the general machinery (which stays the one place that
        // reports framing errors), inline in the input step's loop.
        let start = self.pos;
        loop {
            let at = self.pos;
            let Some((kind, range)) = self.small_message(limits) else {
                break;
            };
            if kind == MessageKind::Text && utf8::as_str(&self.buf[range.clone()]).is_none() {
                if at == start {
                    return Err(ProtocolError::InvalidUtf8);
                }
                // The messages before it are handed out first: put it
                // back, and the next call finds it again and fails.
                self.put_back_small(at, range);
                break;
            }
        }
        if self.pos > start {
            return Ok(Some(Parsed::Run {
                next: start,
                end: self.pos,
            }));
        }
        self.parse_general(limits, inflater)
    }

    /// [`parse`](Self::parse) for every other frame.
    #[inline(never)]
    fn parse_general(
        &mut self,
        limits: &Settings,
        mut inflater: Option<&mut Inflater>,
    ) -> Result<Option<Parsed>, ProtocolError> {
        if let Some(inf) = inflater.as_deref_mut() {
            // Buffers follow the connection's activity: kept while busy,
            // released by the connection's release timer.
            inf.settle(usize::MAX, self.in_compressed_message());
        }
        let step = loop {
            let opcode = match self.frame {
                Some(frame) => frame.opcode,
                None => {
                    let Some(opcode) = self.read_header(limits)? else {
                        return Ok(None);
                    };
                    if let (Opcode::Text | Opcode::Binary, Message::Compressed(_)) =
                        (opcode, self.message)
                    {
                        let inf = inflater.as_deref_mut().ok_or(ProtocolError::ReservedBits)?;
                        inf.begin(usize::MAX);
                    }
                    opcode
                }
            };
            let step = match self.message {
                _ if opcode.is_control() => self.control_payload(opcode),
                Message::Compressed(kind) => {
                    let inf = inflater.as_deref_mut().ok_or(ProtocolError::ReservedBits)?;
                    self.compressed_payload(kind, limits, inf)?
                }
                Message::Streamed(kind, _) => self.streamed_payload(kind)?,
                Message::Whole(kind) => self.whole_payload(kind)?,
                // `check_header` refuses a continuation outside a message.
                Message::None => return Err(ProtocolError::UnexpectedContinuation),
            };
            match step {
                Step::Wait => return Ok(None),
                Step::Continue => {}
                step => break step,
            }
        };
        self.frame_done = self.message == Message::None;
        let parsed = match step {
            Step::Message(kind, range) => self.check_message(kind, range)?,
            // `streamed_payload` cut text at a character boundary with
            // `valid_prefix`, which checked it.
            Step::Piece(kind, range, fin) => Parsed::Piece(kind, range, fin),
            Step::Carried(carry, fin) => Parsed::Carried(carry, fin),
            Step::Control(opcode, range) => self.check_control(opcode, range)?,
            Step::Inflated(kind, fin) => {
                let inf = inflater.ok_or(ProtocolError::ReservedBits)?;
                let n = check_inflated(inf, kind, fin, limits.streaming)?;
                inf.hand_out(n);
                // The event borrows what the inflater just handed out, so
                // nothing more is inflated until it has been taken.
                self.paused = true;
                Parsed::Inflated {
                    kind,
                    fin,
                    len: n,
                    piece: limits.streaming,
                }
            }
            Step::Wait | Step::Continue => return Ok(None),
        };
        Ok(Some(parsed))
    }

    /// The fast path for the most common frame: a whole unfragmented text or
    /// binary message of at most 125 bytes, all of it in the buffer, with
    /// no message in progress, unmasked in place at once. The header goes
    /// through the one parser (`check_header`); anything else (or anything
    /// wrong) returns `None` and goes the general way, which stays the one
    /// place that reports errors.
    #[inline]
    fn small_message(&mut self, limits: &Settings) -> Option<(MessageKind, Range<usize>)> {
        // Streaming mode reports every data frame as pieces, so the fast
        // path's whole-message events are not for it.
        if self.frame.is_some() || self.message != Message::None || limits.streaming {
            return None;
        }
        let rest = &self.buf[self.pos..self.end];
        // Between messages, a Text or Binary header with no RSV bit needs
        // no check beyond the frame rules and the message cap (see
        // `check_header`).
        let rules = FrameRules {
            receiver: limits.role,
            allowed_rsv: Rsv::NONE,
            max_payload: limits.max_frame.min(limits.max_message),
        };
        let (h, n) = FrameHeader::parse(rest, &rules).ok()?.complete()?;
        let kind = match h.opcode {
            Opcode::Text => MessageKind::Text,
            Opcode::Binary => MessageKind::Binary,
            _ => return None,
        };
        if !h.fin || h.payload_len > 125 {
            return None;
        }
        let len = h.payload_len as usize;
        if rest.len() < n + len {
            return None;
        }
        let range = self.pos + n..self.pos + n + len;
        if let Some(key) = h.mask {
            apply_mask(&mut self.buf[range.clone()], key, 0);
        }
        self.pos = range.end;
        self.frame_done = true;
        Some((kind, range))
    }

    /// Undo the [`small_message`](Self::small_message) that parsed the
    /// frame at `at` (payload at `payload`): mask the payload again and
    /// move `pos` back to the header.
    fn put_back_small(&mut self, at: usize, payload: Range<usize>) {
        if self.buf[at + 1] & 0x80 != 0 {
            let key = [
                self.buf[at + 2],
                self.buf[at + 3],
                self.buf[at + 4],
                self.buf[at + 5],
            ];
            apply_mask(&mut self.buf[payload], key, 0);
        }
        self.pos = at;
    }

    /// Parse a frame header at `pos`, check it against the message in
    /// progress and the limits (section 5.4), and start its frame. Returns
    /// its opcode, or `None` if the header is not complete yet.
    fn read_header(&mut self, limits: &Settings) -> Result<Option<Opcode>, ProtocolError> {
        let (h, n) = match self.check_header(&self.buf[self.pos..self.end], limits)? {
            Status::Complete(parsed) => parsed,
            Status::Partial => return Ok(None),
        };
        self.pos += n;
        self.start_frame(&h, limits);
        Ok(Some(h.opcode))
    }

    /// Start the frame whose header `check_header` accepted, its payload
    /// at `pos`.
    fn start_frame(&mut self, h: &FrameHeader, limits: &Settings) {
        let kind = match h.opcode {
            Opcode::Text => Some(MessageKind::Text),
            Opcode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(kind) = kind {
            self.msg_len = 0;
            self.message = if h.rsv1 {
                Message::Compressed(kind)
            } else if limits.streaming {
                Message::Streamed(kind, utf8::Carry::default())
            } else {
                self.keep = self.pos;
                self.fill = self.pos;
                self.checked = self.pos;
                Message::Whole(kind)
            };
        } else if h.opcode == Opcode::Continuation && matches!(self.message, Message::Whole(_)) {
            self.join_assembled(h.payload_len);
        }
        self.frame = Some(InFrame {
            opcode: h.opcode,
            fin: h.fin,
            key: h.mask,
            remaining: h.payload_len,
        });
    }

    /// A continuation frame's payload starts at `pos`, after a gap of dead
    /// bytes behind the message so far. When the message so far is no larger
    /// than this payload, move it right, up against the payload (cost: the
    /// smaller side); otherwise the payload is moved left as it arrives.
    fn join_assembled(&mut self, payload_len: u64) {
        let assembled = self.fill - self.keep;
        if self.fill != self.pos && (assembled as u64) <= payload_len {
            let to = self.pos - assembled;
            self.buf.copy_within(self.keep..self.fill, to);
            self.moved += assembled as u64;
            self.checked += to - self.keep;
            self.keep = to;
            self.fill = self.pos;
        }
    }

    /// Consume `n` payload bytes at `pos`, unmasking them in place.
    fn consume(&mut self, n: usize) -> Range<usize> {
        let range = self.pos..self.pos + n;
        self.pos += n;
        if let Some(frame) = &mut self.frame {
            if let Some(key) = &mut frame.key {
                apply_mask(&mut self.buf[range.clone()], *key, 0);
                *key = rotate_key(*key, n);
            }
            frame.remaining -= n as u64;
        }
        range
    }

    /// Pass over `n` payload bytes that were used from a copy.
    fn skip(&mut self, n: usize) {
        self.pos += n;
        if let Some(frame) = &mut self.frame {
            if let Some(key) = &mut frame.key {
                *key = rotate_key(*key, n);
            }
            frame.remaining -= n as u64;
        }
    }

    /// Payload bytes of the current frame that have arrived.
    fn available(&self) -> usize {
        let avail = self.end - self.pos;
        let remaining = self.frame.map_or(0, |f| f.remaining);
        usize::try_from(remaining).map_or(avail, |r| r.min(avail))
    }

    /// End the current frame if all its payload was consumed; returns its
    /// FIN bit then, `None` while payload is still to come.
    fn end_frame(&mut self) -> Option<bool> {
        let frame = self.frame.filter(|f| f.remaining == 0)?;
        self.frame = None;
        Some(frame.fin)
    }

    /// A control frame is handed out whole, once all of it (at most 125
    /// bytes, so the wait is bounded) has arrived.
    fn control_payload(&mut self, opcode: Opcode) -> Step {
        let len = self.available();
        if self.frame.is_some_and(|f| f.remaining > len as u64) {
            return Step::Wait;
        }
        let range = self.consume(len);
        self.frame = None;
        Step::Control(opcode, range)
    }

    /// Whole-message mode: gather the payload into `buf[keep..fill]`.
    fn whole_payload(&mut self, kind: MessageKind) -> Result<Step, ProtocolError> {
        let text = kind == MessageKind::Text;
        // Text is unmasked and checked a step at a time, so the check reads
        // bytes the unmasking just wrote while they are still in L1; it
        // also fails fast, as soon as the bytes prove the text invalid
        // (section 8.1; Autobahn 6.4.x grades this). `message` then checks
        // only what is left after the last complete character.
        let mut left = self.available();
        let step = if text { TEXT_STEP } else { left.max(1) };
        loop {
            let n = left.min(step);
            let range = self.consume(n);
            if self.fill != range.start {
                self.buf.copy_within(range, self.fill);
                self.moved += n as u64;
            }
            self.fill += n;
            self.msg_len += n as u64;
            left -= n;
            if text {
                let mut checked = self.checked - self.keep;
                utf8::advance(&self.buf[self.keep..self.fill], &mut checked)
                    .map_err(|()| ProtocolError::InvalidUtf8)?;
                self.checked = self.keep + checked;
            }
            if left == 0 {
                break;
            }
        }
        match self.end_frame() {
            // Room for the rest is made as it arrives (see `grow`), so a
            // header alone pins no memory.
            None => Ok(Step::Wait),
            Some(false) => Ok(Step::Continue),
            Some(true) => {
                self.message = Message::None;
                self.msg_len = 0;
                Ok(Step::Message(kind, self.keep..self.fill))
            }
        }
    }
}

/// What one parsing step produced.
enum Step {
    /// More input is needed.
    Wait,
    /// Nothing to hand out from this frame; parse on.
    Continue,
    Message(MessageKind, Range<usize>),
    Piece(MessageKind, Range<usize>, bool),
    /// The carried character is complete; `fin` as for `Piece`.
    Carried(utf8::Carry, bool),
    /// The inflater holds a compressed message's bytes to hand out: the
    /// whole message, or in streaming mode a piece (`true`: the last).
    Inflated(MessageKind, bool),
    Control(Opcode, Range<usize>),
}

mod buffer;
mod inflate;
mod parsed;
mod queue;
mod stream;

use inflate::check_inflated;
pub(super) use parsed::Parsed;
#[cfg(test)]
mod tests;
