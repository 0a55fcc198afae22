//! Streaming mode (`Config::streaming`): data frames are handed out in
//! pieces as they arrive, text cut only at character boundaries. Nothing
//! here touches the whole-message text invariant of the parent module.

use super::{MessageKind, ProtocolError, Range, Receiver, Step, utf8};

impl Receiver {
    /// Streaming mode: hand out each piece of payload as it arrives.
    pub(super) fn streamed_payload(&mut self) -> Result<Step, ProtocolError> {
        let kind = self.msg_kind.unwrap_or(MessageKind::Binary);
        if kind == MessageKind::Text && !self.carry.is_empty() {
            return self.complete_carry();
        }
        let avail = self.available();
        let range = self.consume(avail);
        self.msg_len += avail as u64;
        let ends = self.frame.fin && !self.frame.active;
        let end = if kind == MessageKind::Text {
            // Hand out whole characters; at most 3 bytes of an unfinished
            // one wait in the carry for the next piece.
            let valid = utf8::valid_prefix(&self.buf[range.clone()])
                .map_err(|()| ProtocolError::InvalidUtf8)?;
            self.carry.set(&self.buf[range.start + valid..range.end]);
            if ends && !self.carry.is_empty() {
                return Err(ProtocolError::InvalidUtf8);
            }
            range.start + valid
        } else {
            range.end
        };
        Ok(self.piece_step(kind, range.start..end, ends))
    }

    /// A streamed piece, unless it says nothing (empty and not the end).
    fn piece_step(&mut self, kind: MessageKind, range: Range<usize>, ends: bool) -> Step {
        if ends {
            self.msg_kind = None;
            self.msg_len = 0;
        }
        if !range.is_empty() || ends {
            Step::Piece(kind, range, ends)
        } else if self.frame.active {
            Step::Wait
        } else {
            Step::Continue
        }
    }

    /// Streaming text: finish the carried character with the first bytes of
    /// the payload, taking no more than the character needs.
    fn complete_carry(&mut self) -> Result<Step, ProtocolError> {
        let take = self.carry.missing().min(self.available());
        let range = self.consume(take);
        self.msg_len += take as u64;
        let complete = self
            .carry
            .extend(&self.buf[range])
            .map_err(|()| ProtocolError::InvalidUtf8)?;
        let ends = self.frame.fin && !self.frame.active;
        if complete {
            if ends {
                self.msg_kind = None;
                self.msg_len = 0;
            }
            return Ok(Step::Carried(ends));
        }
        if ends {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(if self.frame.active {
            Step::Wait
        } else {
            Step::Continue
        })
    }
}
