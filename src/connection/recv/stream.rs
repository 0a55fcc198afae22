//! Streaming mode (`Config::streaming`): data frames are handed out in
//! pieces as they arrive, text cut only at character boundaries. Nothing
//! here touches the whole-message text invariant of the parent module.

use super::{Message, MessageKind, ProtocolError, Range, Receiver, Step, utf8};

impl Receiver {
    /// Streaming mode: hand out each piece of payload as it arrives.
    pub(super) fn streamed_payload(&mut self, kind: MessageKind) -> Result<Step, ProtocolError> {
        if let Message::Streamed(MessageKind::Text, carry) = self.message {
            if !carry.is_empty() {
                return self.complete_carry(carry);
            }
        }
        let avail = self.available();
        let range = self.consume(avail);
        self.msg_len += avail as u64;
        let over = self.end_frame();
        let ends = over == Some(true);
        let end = if kind == MessageKind::Text {
            // Hand out whole characters; at most 3 bytes of an unfinished
            // one wait in the carry for the next piece.
            let valid = utf8::valid_prefix(&self.buf[range.clone()])
                .map_err(|()| ProtocolError::InvalidUtf8)?;
            let tail = &self.buf[range.start + valid..range.end];
            if ends && !tail.is_empty() {
                return Err(ProtocolError::InvalidUtf8);
            }
            if let Message::Streamed(_, carry) = &mut self.message {
                carry.set(tail);
            }
            range.start + valid
        } else {
            range.end
        };
        Ok(self.piece_step(kind, range.start..end, over))
    }

    /// A streamed piece, unless it says nothing (empty and not the end).
    /// `over`: the frame ended, with its FIN bit.
    fn piece_step(&mut self, kind: MessageKind, range: Range<usize>, over: Option<bool>) -> Step {
        let ends = over == Some(true);
        if ends {
            self.message = Message::None;
            self.msg_len = 0;
        }
        if !range.is_empty() || ends {
            Step::Piece(kind, range, ends)
        } else if over.is_none() {
            Step::Wait
        } else {
            Step::Continue
        }
    }

    /// Streaming text: finish the carried character with the first bytes of
    /// the payload, taking no more than the character needs.
    fn complete_carry(&mut self, mut carry: utf8::Carry) -> Result<Step, ProtocolError> {
        let take = carry.missing().min(self.available());
        let range = self.consume(take);
        self.msg_len += take as u64;
        let complete = carry
            .extend(&self.buf[range])
            .map_err(|()| ProtocolError::InvalidUtf8)?;
        // The frame is over only if the character took all it had left.
        let over = self.end_frame();
        let ends = over == Some(true);
        if complete {
            self.message = if ends {
                self.msg_len = 0;
                Message::None
            } else {
                Message::Streamed(MessageKind::Text, utf8::Carry::default())
            };
            return Ok(Step::Carried(carry, ends));
        }
        if ends {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.message = Message::Streamed(MessageKind::Text, carry);
        Ok(if over.is_none() {
            Step::Wait
        } else {
            Step::Continue
        })
    }
}
