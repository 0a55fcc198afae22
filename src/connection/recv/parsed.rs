//! The queue between the input step and `poll_event`: each event parsed
//! and checked is described by where its bytes are ([`Parsed`]), and built
//! from that description when it is handed out, without a second look.

use core::ops::Range;

use super::{BATCH, Message, Receiver, checked_str, utf8};
use crate::close::CloseCode;
use crate::connection::deflate::Inflater;
use crate::connection::event::Event;
use crate::connection::event::MessageKind;
use crate::error::ProtocolError;
use crate::frame::Opcode;

/// An event found in the input and checked, waiting to be handed out:
/// where its bytes are. Ranges are into the input buffer, or into the side
/// buffer where the `bool` says so.
#[derive(Clone, Debug)]
pub(in crate::connection) enum Parsed {
    /// Small whole messages back to back in the input buffer, each a
    /// frame with a payload under 126 bytes, unmasked and checked in
    /// place: the frames from `next` to `end`. The most common input takes
    /// one entry however many messages it holds, and handing one out reads
    /// its header again (two bytes, no checks left to make).
    Run {
        next: usize,
        end: usize,
    },
    /// A whole message.
    Message(MessageKind, Range<usize>),
    /// Streaming mode: the next piece of a message (text cut at a
    /// character boundary), and whether it is the last.
    Piece(MessageKind, Range<usize>, bool),
    /// Streaming text: one character cut between two frames.
    Carried(utf8::Carry, bool),
    /// A compressed message, or in streaming mode a piece of one: the last
    /// `len` bytes the inflater handed out. Parsing pauses behind it, so
    /// that nothing is inflated over them before the event is taken.
    Inflated {
        kind: MessageKind,
        fin: bool,
        len: usize,
        piece: bool,
    },
    Ping(Range<usize>, bool),
    Pong(Range<usize>, bool),
    /// The peer's code (1005 for none) and reason.
    Close(CloseCode, Range<usize>, bool),
}

/// What [`Receiver::pop`] hands out: a small message of a run, or the
/// queue entry at an index.
#[derive(Clone, Debug)]
pub(in crate::connection) enum Next {
    Small(MessageKind, Range<usize>),
    Entry(usize),
}

impl Receiver {
    /// Queue an event parsed by [`parse`](Receiver::parse); a small
    /// message right behind a run joins it.
    #[inline]
    pub(in crate::connection) fn push(&mut self, parsed: Parsed) {
        if let Parsed::Run { next, end } = parsed {
            if let Some(Parsed::Run { end: last, .. }) = self.queue.last_mut() {
                if *last == next {
                    *last = end;
                    return;
                }
            }
        }
        if self.queue.push(parsed) >= BATCH {
            self.paused = true;
        }
    }

    /// The next event to hand out, for [`event`](Self::event); `None` once
    /// the queue is drained.
    #[inline]
    pub(in crate::connection) fn pop(&mut self) -> Option<Next> {
        let Some(front) = self.queue.front_mut() else {
            // The last event handed out is no longer borrowed (this is a
            // `&mut` call): the queue and the payloads copied aside start
            // over.
            self.queue.settle();
            return None;
        };
        if let Parsed::Run { next, end } = front {
            // A frame `parse` accepted: its header says all that is left.
            let at = *next;
            let (b0, b1) = (self.buf[at], self.buf[at + 1]);
            let start = at + if b1 & 0x80 != 0 { 6 } else { 2 };
            let range = start..start + usize::from(b1 & 0x7F);
            *next = range.end;
            if *next >= *end {
                self.queue.advance();
            }
            let kind = if b0 & 0x0F == Opcode::Text.as_u8() {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            return Some(Next::Small(kind, range));
        }
        Some(Next::Entry(self.queue.advance()))
    }

    /// Whether parsed events wait to be handed out; their bytes must stay
    /// where they are until then.
    pub(in crate::connection) fn has_queued(&self) -> bool {
        self.queue.has_queued()
    }

    /// Whether parsing waits for the queued events to be taken (behind an
    /// inflated event, see [`Parsed::Inflated`], or a full [`BATCH`]).
    pub(in crate::connection) fn paused(&self) -> bool {
        self.paused
    }

    /// Whether parsing waited for queued events that have now been taken:
    /// the connection parses on.
    pub(in crate::connection) fn resume_ready(&self) -> bool {
        self.paused && !self.has_queued()
    }

    /// Lift the pause once its event was taken.
    pub(in crate::connection) fn resume(&mut self) {
        self.paused = false;
        self.queue.settle();
    }

    /// The payload of a parsed Ping, for the automatic Pong.
    pub(in crate::connection) fn control_bytes(&self, parsed: &Parsed) -> &[u8] {
        match parsed {
            Parsed::Ping(range, side) | Parsed::Pong(range, side) => self.span(range, *side),
            _ => &[],
        }
    }

    fn span(&self, range: &Range<usize>, side: bool) -> &[u8] {
        if side {
            self.queue.side(range.clone())
        } else {
            &self.buf[range.clone()]
        }
    }

    /// The event queued at `index`, borrowed from the input buffer (or the
    /// inflater): what [`parse`](Receiver::parse) checked, without a second
    /// look.
    #[inline]
    pub(in crate::connection) fn event<'a>(
        &'a self,
        next: Next,
        inflater: Option<&'a Inflater>,
    ) -> Event<'a> {
        let index = match next {
            Next::Small(MessageKind::Text, range) => {
                return Event::Text(checked_str(&self.buf[range]));
            }
            Next::Small(MessageKind::Binary, range) => return Event::Binary(&self.buf[range]),
            Next::Entry(index) => index,
        };
        let Some(parsed) = self.queue.get(index) else {
            return Event::Binary(&[]);
        };
        match parsed {
            Parsed::Run { .. } => Event::Binary(&[]),
            Parsed::Message(MessageKind::Binary, range) => Event::Binary(&self.buf[range.clone()]),
            Parsed::Message(MessageKind::Text, range) => {
                Event::Text(checked_str(&self.buf[range.clone()]))
            }
            Parsed::Piece(MessageKind::Binary, range, fin) => Event::BinaryFragment {
                data: &self.buf[range.clone()],
                fin: *fin,
            },
            Parsed::Piece(MessageKind::Text, range, fin) => Event::TextFragment {
                data: checked_str(&self.buf[range.clone()]),
                fin: *fin,
            },
            Parsed::Carried(carry, fin) => Event::TextFragment {
                data: checked_str(carry.as_slice()),
                fin: *fin,
            },
            Parsed::Inflated {
                kind,
                fin,
                len,
                piece,
            } => {
                let data = inflater.map_or(&[][..], |inf| inf.handed_out(*len));
                match (kind, piece) {
                    (MessageKind::Binary, false) => Event::Binary(data),
                    (MessageKind::Binary, true) => Event::BinaryFragment { data, fin: *fin },
                    (MessageKind::Text, false) => Event::Text(checked_str(data)),
                    (MessageKind::Text, true) => Event::TextFragment {
                        data: checked_str(data),
                        fin: *fin,
                    },
                }
            }
            Parsed::Ping(range, side) => Event::Ping(self.span(range, *side)),
            Parsed::Pong(range, side) => Event::Pong(self.span(range, *side)),
            Parsed::Close(code, range, side) => Event::Close {
                code: *code,
                reason: checked_str(self.span(range, *side)),
            },
        }
    }

    /// A whole message's text is checked at the input step: only the bytes
    /// that came with the message's end are left to check; the rest was
    /// checked as it arrived.
    pub(super) fn check_message(
        &mut self,
        kind: MessageKind,
        range: Range<usize>,
    ) -> Result<Parsed, ProtocolError> {
        if kind == MessageKind::Text {
            let done = self.checked.clamp(range.start, range.end);
            utf8::as_str(&self.buf[done..range.end]).ok_or(ProtocolError::InvalidUtf8)?;
        }
        Ok(Parsed::Message(kind, range))
    }

    /// A control frame, checked (sections 5.5.1 and 7.4: an empty Close, or
    /// a code that may be sent plus a UTF-8 reason). Inside a whole-mode
    /// message the frame sits in the gap that the next fragment's payload
    /// is moved over, so its payload is copied aside while its event waits:
    /// at most 125 bytes a frame, never more than the input held.
    pub(super) fn check_control(
        &mut self,
        opcode: Opcode,
        range: Range<usize>,
    ) -> Result<Parsed, ProtocolError> {
        let (range, side) = if matches!(self.message, Message::Whole(_)) {
            (self.queue.copy_aside(&self.buf[range]), true)
        } else {
            (range, false)
        };
        Ok(match opcode {
            Opcode::Ping => Parsed::Ping(range, side),
            Opcode::Pong => Parsed::Pong(range, side),
            _ => match *self.span(&range, side) {
                [] => Parsed::Close(CloseCode::NO_STATUS_RECEIVED, range, side),
                [_] => return Err(ProtocolError::InvalidCloseLength),
                [hi, lo, ref reason @ ..] => {
                    let code = CloseCode(u16::from_be_bytes([hi, lo]));
                    if !code.is_allowed_on_wire() {
                        return Err(ProtocolError::InvalidCloseCode(code.0));
                    }
                    core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                    Parsed::Close(code, range.start + 2..range.end, side)
                }
            },
        })
    }
}
