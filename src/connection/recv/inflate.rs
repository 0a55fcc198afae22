//! Compressed messages (RFC 7692 section 7.2.2): their payload goes to the
//! inflater as it arrives, never assembled in the input buffer, and the
//! event borrows the inflated bytes from the inflater.

use super::{Message, MessageKind, ProtocolError, Receiver, Settings, Step, utf8};
use crate::connection::deflate::{InflateError, Inflater};
use crate::frame::apply_mask;

/// In streaming mode, the most inflated bytes handed out as one piece: a
/// small frame that inflates to gigabytes comes out in pieces this size.
const PIECE: usize = 64 << 10;

/// How much masked payload is unmasked on the stack per inflater call in
/// streaming mode (see `feed_pieces`).
const STACK_STEP: usize = 2048;

impl From<InflateError> for ProtocolError {
    fn from(e: InflateError) -> ProtocolError {
        match e {
            InflateError::TooLarge => ProtocolError::MessageTooLarge,
            InflateError::Invalid => ProtocolError::InvalidCompressedData,
        }
    }
}

impl Receiver {
    /// A compressed message's data frame: inflate what has arrived.
    pub(super) fn compressed_payload(
        &mut self,
        kind: MessageKind,
        limits: &Settings,
        inf: &mut Inflater,
    ) -> Result<Step, ProtocolError> {
        let all_used = if limits.streaming {
            self.feed_pieces(limits, inf)?
        } else {
            // Whole mode: unmask in place and inflate everything; only the
            // message limit bounds the output.
            let avail = self.available();
            let range = self.consume(avail);
            inf.inflate(&self.buf[range], limits.max_message, usize::MAX)?;
            true
        };
        // A piece cut short leaves the frame's payload for the next call.
        let over = if all_used { self.end_frame() } else { None };
        if over == Some(true) {
            // Section 7.2.2: append the tail the sender removed. It adds
            // four bytes of input, which may still finish a block.
            inf.finish(limits.max_message)?;
            self.message = Message::None;
            return Ok(Step::Inflated(kind, true));
        }
        if limits.streaming {
            // A piece says something: bytes to hand out, beyond at most an
            // unfinished character (an invalid one is reported by the
            // event). Only here: in whole mode `pending` is the message so
            // far, and looking through it on every read is quadratic.
            let has_piece = match kind {
                MessageKind::Binary => !inf.pending().is_empty(),
                MessageKind::Text => utf8::valid_prefix(inf.pending()).map_or(true, |n| n > 0),
            };
            if !all_used || has_piece {
                return Ok(Step::Inflated(kind, false));
            }
        }
        Ok(if over.is_none() {
            Step::Wait
        } else {
            Step::Continue
        })
    }

    /// Streaming mode: inflate no more than a piece. Masked payload is
    /// unmasked a step at a time into a stack buffer rather than in place,
    /// so the bytes the inflater leaves for the next piece stay as they
    /// were and nothing needs to remember how far unmasking went. Returns
    /// whether all the payload that arrived was used.
    fn feed_pieces(
        &mut self,
        limits: &Settings,
        inf: &mut Inflater,
    ) -> Result<bool, ProtocolError> {
        loop {
            let avail = self.available();
            if avail == 0 {
                return Ok(true);
            }
            let n = avail.min(STACK_STEP);
            let mut step = [0u8; STACK_STEP];
            step[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            if let Some(key) = self.frame.and_then(|f| f.key) {
                apply_mask(&mut step[..n], key, 0);
            }
            let used = inf.inflate(&step[..n], limits.max_message, PIECE)?;
            self.skip(used);
            if used < n {
                return Ok(false);
            }
        }
    }
}

/// How many of the bytes the inflater holds make the next event, checked:
/// the whole message, or a piece (text cut only at character boundaries; an
/// unfinished character waits in the inflater for the next piece).
pub(super) fn check_inflated(
    inf: &Inflater,
    kind: MessageKind,
    fin: bool,
    streaming: bool,
) -> Result<usize, ProtocolError> {
    let pending = inf.pending();
    match kind {
        MessageKind::Text if streaming => {
            let valid = utf8::valid_prefix(pending).map_err(|()| ProtocolError::InvalidUtf8)?;
            if fin && valid != pending.len() {
                return Err(ProtocolError::InvalidUtf8);
            }
            Ok(valid)
        }
        MessageKind::Text => match utf8::as_str(pending) {
            Some(_) => Ok(pending.len()),
            None => Err(ProtocolError::InvalidUtf8),
        },
        MessageKind::Binary => Ok(pending.len()),
    }
}
