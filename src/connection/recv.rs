//! Receiving: frame headers, payloads, message assembly, control frames
//! (RFC 6455 sections 5.2 to 5.6).

use alloc::vec::Vec;

use super::event::{RECORD_HEADER, Tag};
use super::utf8::{self, Carry};
use super::{Connection, MessageKind, State};
use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, FrameRules, MAX_HEADER_LEN, Opcode, Rsv, Status, apply_mask};
use crate::time::Instant;

/// Receive-side state: the only bytes copied out of the input are a partial
/// header (at most 14), the payload of the message being assembled, and
/// control payloads (into the event arena).
#[derive(Debug, Default)]
pub(super) struct Receiver {
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    frame: Option<InFrame>,
    /// The data message in progress, if any.
    msg_kind: Option<MessageKind>,
    /// Payload bytes of the message in progress so far.
    msg_len: u64,
    /// Whole-message mode: the message being assembled, after a placeholder
    /// record header so it can become an event record without a copy.
    msg: Vec<u8>,
    /// Whole-message mode: `msg[..utf8_checked]` is known to be valid UTF-8.
    utf8_checked: usize,
    /// Streaming mode: a character cut between two delivered text pieces.
    carry: Carry,
    /// RSV bits negotiated extensions claim.
    pub(super) allowed_rsv: Rsv,
}

/// The frame whose payload is arriving.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    opcode: Opcode,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes seen so far, modulo 4: where the mask key stands.
    phase: u8,
}

impl Receiver {
    /// Drop the message in progress (the connection ended).
    pub(super) fn reset(&mut self) {
        self.frame = None;
        self.head_len = 0;
        self.msg_kind = None;
        self.msg_len = 0;
        self.msg = Vec::new();
        self.carry = Carry::default();
    }

    pub(super) fn capacity(&self) -> usize {
        self.msg.capacity()
    }

    /// Free the assembly buffer if no message is in progress.
    pub(super) fn release(&mut self) {
        if self.msg_kind.is_none() {
            self.msg = Vec::new();
        }
    }
}

/// Append `piece` to `dst`, unmasking it in place at `phase` if it is masked.
fn append_payload(dst: &mut Vec<u8>, piece: &[u8], mask: Option<[u8; 4]>, phase: u8) {
    let start = dst.len();
    dst.extend_from_slice(piece);
    if let Some(key) = mask {
        apply_mask(&mut dst[start..], key, phase as usize);
    }
}

impl Connection {
    /// Process bytes read from the transport. All of `input` is consumed:
    /// a partial frame header is kept (at most 14 bytes), and payload bytes
    /// are copied once, into the message or event they belong to.
    ///
    /// Input after the peer's Close, or after the connection ended, is
    /// ignored (section 5.5.1: Close is the last frame).
    pub fn handle_input(&mut self, now: Instant, mut input: &[u8]) {
        self.touch(now);
        self.events.compact(self.settings.retain as usize);
        if input.is_empty() || !matches!(self.state, State::Open | State::CloseSent) {
            return;
        }
        self.note_activity();
        while !input.is_empty() && matches!(self.state, State::Open | State::CloseSent) {
            let step = if self.rx.frame.is_none() {
                self.read_header(input)
            } else {
                self.read_payload(input)
            };
            match step {
                Ok(n) => input = &input[n..],
                Err(e) => return self.fail(e),
            }
        }
    }

    /// Parse (the rest of) a frame header from `input` and start its frame.
    /// Returns the bytes of `input` consumed.
    fn read_header(&mut self, input: &[u8]) -> Result<usize, ProtocolError> {
        let rules = FrameRules {
            receiver: self.role,
            allowed_rsv: self.rx.allowed_rsv,
            max_payload: self.settings.max_frame,
        };
        let held = self.rx.head_len as usize;
        let (parsed, consumed) = if held == 0 {
            // Fast path: the header is read straight from the input.
            match FrameHeader::parse(input, &rules)? {
                Status::Complete((header, n)) => (header, n),
                Status::Partial => {
                    // Partial means fewer than 14 bytes.
                    self.rx.head[..input.len()].copy_from_slice(input);
                    self.rx.head_len = input.len() as u8;
                    return Ok(input.len());
                }
            }
        } else {
            let add = (MAX_HEADER_LEN - held).min(input.len());
            self.rx.head[held..held + add].copy_from_slice(&input[..add]);
            match FrameHeader::parse(&self.rx.head[..held + add], &rules)? {
                Status::Complete((header, n)) => (header, n - held),
                Status::Partial => {
                    self.rx.head_len = (held + add) as u8;
                    return Ok(add);
                }
            }
        };
        self.rx.head_len = 0;
        self.start_frame(parsed)?;
        Ok(consumed)
    }

    /// Check a new frame against the message in progress and the limits, and
    /// get ready for its payload (section 5.4).
    fn start_frame(&mut self, h: FrameHeader) -> Result<(), ProtocolError> {
        match h.opcode {
            Opcode::Continuation if self.rx.msg_kind.is_none() => {
                return Err(ProtocolError::UnexpectedContinuation);
            }
            Opcode::Text | Opcode::Binary if self.rx.msg_kind.is_some() => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            Opcode::Text | Opcode::Binary => {
                self.rx.msg_kind = Some(if h.opcode == Opcode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                });
                self.rx.msg_len = 0;
                self.rx.carry = Carry::default();
                if !self.settings.streaming {
                    self.rx.msg.clear();
                    self.rx.msg.resize(RECORD_HEADER, 0);
                    self.rx.utf8_checked = RECORD_HEADER;
                }
            }
            Opcode::Continuation => {}
            Opcode::Close | Opcode::Ping | Opcode::Pong => {
                let tag = match h.opcode {
                    Opcode::Close => Tag::Close,
                    Opcode::Ping => Tag::Ping,
                    _ => Tag::Pong,
                };
                // The record stays partial (invisible to poll_event) until the
                // frame ends; its start is the arena's `complete` mark.
                let _ = self.events.begin(tag);
            }
        }
        if !h.opcode.is_control()
            && self.rx.msg_len.saturating_add(h.payload_len) > self.settings.max_message
        {
            // Refused at the header: none of this payload is buffered.
            return Err(ProtocolError::MessageTooLarge);
        }
        self.rx.frame = Some(InFrame {
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            phase: 0,
        });
        if h.payload_len == 0 {
            self.payload_piece(&[])?;
        }
        Ok(())
    }

    /// Take as much of the current frame's payload as `input` holds.
    fn read_payload(&mut self, input: &[u8]) -> Result<usize, ProtocolError> {
        let remaining = self.rx.frame.map_or(0, |f| f.remaining);
        let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
        self.payload_piece(&input[..take])?;
        Ok(take)
    }

    /// Route one piece of the current frame's payload, and end the frame if
    /// the piece was its last.
    fn payload_piece(&mut self, piece: &[u8]) -> Result<(), ProtocolError> {
        let Some(mut f) = self.rx.frame else {
            return Ok(());
        };
        f.remaining -= piece.len() as u64;
        let last = f.remaining == 0;
        if f.opcode.is_control() {
            append_payload(&mut self.events.buf, piece, f.mask, f.phase);
        } else {
            self.rx.msg_len += piece.len() as u64;
            if self.settings.streaming {
                self.stream_piece(piece, &f, f.fin && last)?;
            } else {
                append_payload(&mut self.rx.msg, piece, f.mask, f.phase);
                if self.rx.msg_kind == Some(MessageKind::Text) {
                    utf8::advance(&self.rx.msg, &mut self.rx.utf8_checked)
                        .map_err(|()| ProtocolError::InvalidUtf8)?;
                }
            }
        }
        f.phase = ((f.phase as usize + piece.len()) % 4) as u8;
        self.rx.frame = Some(f);
        if last {
            self.rx.frame = None;
            self.end_frame(&f)?;
        }
        Ok(())
    }

    /// Streaming mode: deliver a piece of a data frame as its own event.
    fn stream_piece(&mut self, piece: &[u8], f: &InFrame, fin: bool) -> Result<(), ProtocolError> {
        let text = self.rx.msg_kind == Some(MessageKind::Text);
        let tag = match (text, fin) {
            (true, false) => Tag::TextPiece,
            (true, true) => Tag::TextPieceFin,
            (false, false) => Tag::BinaryPiece,
            (false, true) => Tag::BinaryPieceFin,
        };
        let start = self.events.begin(tag);
        let body = start + RECORD_HEADER;
        if text {
            self.events.buf.extend_from_slice(self.rx.carry.as_slice());
            append_payload(&mut self.events.buf, piece, f.mask, f.phase);
            self.rx
                .carry
                .settle(&mut self.events.buf, body)
                .map_err(|()| ProtocolError::InvalidUtf8)?;
            if fin && !self.rx.carry.is_empty() {
                return Err(ProtocolError::InvalidUtf8);
            }
        } else {
            append_payload(&mut self.events.buf, piece, f.mask, f.phase);
        }
        if self.events.buf.len() == body && !fin {
            // Nothing to say yet (an empty frame, or bytes of one character).
            self.events.abandon(start);
        } else {
            self.events.finish(start);
        }
        Ok(())
    }

    /// A frame's payload is complete.
    fn end_frame(&mut self, f: &InFrame) -> Result<(), ProtocolError> {
        match f.opcode {
            Opcode::Ping => {
                let start = self.events.partial_start();
                self.events.finish(start);
                if self.settings.auto_pong && !self.tx.sent_close {
                    let payload = &self.events.buf[start + RECORD_HEADER..];
                    self.tx.write_control(Opcode::Pong, payload);
                }
            }
            Opcode::Pong => {
                let start = self.events.partial_start();
                self.events.finish(start);
            }
            Opcode::Close => {
                let start = self.events.partial_start();
                let code = validate_close(&self.events.buf[start + RECORD_HEADER..])?;
                self.events.finish(start);
                self.on_close_received(code);
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if f.fin {
                    self.end_message()?;
                }
            }
        }
        Ok(())
    }

    fn end_message(&mut self) -> Result<(), ProtocolError> {
        let kind = self.rx.msg_kind.take();
        self.rx.msg_len = 0;
        if self.settings.streaming {
            // The last piece was delivered with `fin` and its UTF-8 checked.
            return Ok(());
        }
        if kind == Some(MessageKind::Text) && self.rx.utf8_checked != self.rx.msg.len() {
            // The message ends inside a character.
            return Err(ProtocolError::InvalidUtf8);
        }
        let tag = if kind == Some(MessageKind::Text) {
            Tag::Text
        } else {
            Tag::Binary
        };
        let len = (self.rx.msg.len() - RECORD_HEADER) as u64;
        self.rx.msg[0] = tag as u8;
        self.rx.msg[1..RECORD_HEADER].copy_from_slice(&len.to_le_bytes());
        let msg = core::mem::take(&mut self.rx.msg);
        let mut spare = self.events.push_assembled(msg);
        if spare.capacity() > self.settings.retain as usize {
            spare = Vec::new();
        }
        self.rx.msg = spare;
        Ok(())
    }

    /// The peer's Close arrived (section 5.5.1). Input stops here; with
    /// `auto_close` the reply goes out once `poll_event` has handed out the
    /// events up to this Close, so the application's replies to messages
    /// that came before it (an echo) precede our Close.
    fn on_close_received(&mut self, code: Option<CloseCode>) {
        let reported = code.unwrap_or(CloseCode::NO_STATUS_RECEIVED);
        match self.state {
            State::Open => {
                self.timers.stop(super::timer::Timer::Keepalive);
                self.timers.stop(super::timer::Timer::KeepaliveTimeout);
                self.state = State::CloseReceived(reported);
            }
            State::CloseSent => self.close_handshake_done(reported),
            _ => {}
        }
    }
}

/// Check a Close payload (section 5.5.1 and 7.4) and return its code.
fn validate_close(payload: &[u8]) -> Result<Option<CloseCode>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::InvalidCloseLength),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_allowed_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(code))
        }
    }
}
